/*
 * log.h: leveled logging to stderr with a UTC timestamp.  Messages name the
 * file, field or request at fault; log_debug is off unless STA_LOG_LEVEL or
 * log_set_level asks for it.
 */
#ifndef STA_LOG_H
#define STA_LOG_H

#include "lib/util.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Reads STA_LOG_LEVEL (debug|info|warn|error) if set. */
void log_init_from_env(void);
void log_msg(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
