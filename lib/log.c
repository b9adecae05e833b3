/*
 * log.c: leveled logging to stderr.  One line per message, written with a
 * single write so lines from concurrent processes do not interleave.
 */
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min = LOG_INFO;
static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void
log_set_level(enum log_level level)
{
	log_min = level;
}

void
log_init_from_env(void)
{
	const char *v = getenv("STA_LOG_LEVEL");

	if (v == NULL)
		return;
	for (size_t i = 0; i < ARRAY_LEN(level_names); i++)
		if (strcasecmp(v, level_names[i]) == 0)
			log_min = (enum log_level)i;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	struct buf b = {0};
	struct timeval tv;
	struct tm tm;
	char ts[32];
	va_list ap;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(&b, "[%s.%03ldZ] %s ", ts, (long)(tv.tv_usec / 1000),
	    level_names[level]);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_putc(&b, '\n');
	if (write(STDERR_FILENO, b.data, b.len) < 0) {
		/* nowhere left to report a failed log write */
	}
	buf_free(&b);
}
