/*
 * util.h: allocation wrappers, a growable string buffer and small string
 * helpers used by every module.
 *
 * The x* allocators never return NULL: on exhaustion they print the request
 * size and abort, so callers need no check.  Functions that return allocated
 * memory say so; the caller frees it.
 */
#ifndef STA_UTIL_H
#define STA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define UNUSED __attribute__((unused))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; caller frees. */
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* A growable NUL-terminated byte buffer. Zero-initialise before use. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
/* Returns the buffer's string (never NULL) and empties b; caller frees. */
char *buf_detach(struct buf *b);
void buf_free(struct buf *b);

/* Parses a whole decimal string (digits, a leading '-' at most) into
 * *out; 0 on success, -1 otherwise (also out of int64's range). */
int parse_int64(const char *s, int64_t *out);
/* Length of the UTF-8 sequence at s (n > 0 bytes left), or 0 when it is
 * not one as RFC 3629 (and Python's and JSON decoders) define it:
 * overlong forms, surrogates and code points past U+10FFFF are not. */
size_t utf8_seq(const unsigned char *s, size_t n);
/* Whether the n bytes at p are UTF-8 text, by utf8_seq. */
int utf8_valid(const void *p, size_t n);
int str_has_prefix(const char *s, const char *prefix);
int str_has_suffix(const char *s, const char *suffix);

/* n bytes at p as lowercase hex into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(const void *p, size_t n, char *out);

/* FNV-1a: h (FNV1A_BASIS to begin) with n bytes at p hashed in. */
#define FNV1A_BASIS 14695981039346656037ULL
uint64_t fnv1a(uint64_t h, const void *p, size_t n);

/* A NULL-terminated growable vector of strings it owns. */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};
void strv_push(struct strv *sv, const char *s);      /* copies s */
void strv_push_take(struct strv *sv, char *s);       /* takes s */
void strv_free(struct strv *sv);
/* The index of the first entry equal to s, or -1. */
long strv_index(const struct strv *sv, const char *s);

#endif
