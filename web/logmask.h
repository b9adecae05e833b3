/*
 * logmask.h: replaces the values of secret variables in a byte stream by
 * "***", for logs sent to the API.  The stream arrives in pieces of any
 * size: an end of a piece that could begin a secret is held back until
 * the next piece shows whether it does, so a secret split across two
 * reads is still masked and no part of one is ever let out.
 */
#ifndef STA_WEB_LOGMASK_H
#define STA_WEB_LOGMASK_H

#include <stddef.h>

#include "lib/util.h"

/* Values shorter than this are not masked: they would hide ordinary text. */
#define LOGMASK_MIN 4
#define LOGMASK_TEXT "***"

struct logmask;

/* A masker for these values (copied; shorter ones ignored).  Caller frees
 * with logmask_free. */
struct logmask *logmask_new(const char *const *secrets, size_t n);
void logmask_free(struct logmask *m);
/* Takes the next piece and appends what may be sent to out. */
void logmask_feed(struct logmask *m, const void *data, size_t len, struct buf *out);
/* At the end of the stream: appends what was held back. */
void logmask_flush(struct logmask *m, struct buf *out);
/* Bytes held back now. */
size_t logmask_pending(const struct logmask *m);
/* A whole string, masked: a copy the caller frees.  m must hold nothing
 * back (a stream fed to it has been flushed); it holds nothing after. */
char *logmask_string(struct logmask *m, const char *s);

#endif
