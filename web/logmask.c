/*
 * logmask.c: masking secret values in a stream of log bytes (see
 * logmask.h).  Longer secrets are tried first, so a secret that begins
 * another is not left half shown.
 */
#include "web/logmask.h"

#include <stdlib.h>
#include <string.h>

struct logmask {
	struct strv secrets;        /* longest first */
	struct buf carry;           /* received, not yet decided */
};

static int
longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

struct logmask *
logmask_new(const char *const *secrets, size_t n)
{
	struct logmask *m = xcalloc(1, sizeof(*m));

	for (size_t i = 0; i < n; i++)
		if (secrets[i] != NULL && strlen(secrets[i]) >= LOGMASK_MIN)
			strv_push(&m->secrets, secrets[i]);
	if (m->secrets.n > 1)
		qsort(m->secrets.v, m->secrets.n, sizeof(char *), longer_first);
	return m;
}

void
logmask_free(struct logmask *m)
{
	if (m == NULL)
		return;
	strv_free(&m->secrets);
	buf_free(&m->carry);
	free(m);
}

size_t
logmask_pending(const struct logmask *m)
{
	return m->carry.len;
}

/* The length of the longest end of carry that is the beginning (not the
 * whole) of some secret. */
static size_t
held_back(const struct logmask *m)
{
	const struct buf *c = &m->carry;
	size_t keep = 0;

	for (size_t k = 0; k < m->secrets.n; k++) {
		const char *sec = m->secrets.v[k];
		size_t len = strlen(sec);

		for (size_t l = len - 1 < c->len ? len - 1 : c->len; l > keep; l--) {
			if (memcmp(c->data + c->len - l, sec, l) == 0) {
				keep = l;
				break;
			}
		}
	}
	return keep;
}

/* Moves carry to out with secrets masked, except (unless final) an end
 * that may begin a secret.  A secret that starts before that end lies
 * whole inside carry, so it is found here. */
static void
drain(struct logmask *m, int final, struct buf *out)
{
	struct buf *c = &m->carry;
	size_t limit, i = 0;

	if (c->len == 0)
		return;
	limit = c->len - (final ? 0 : held_back(m));
	while (i < limit) {
		size_t hit = 0;

		for (size_t k = 0; k < m->secrets.n && hit == 0; k++) {
			size_t len = strlen(m->secrets.v[k]);

			if (i + len <= c->len && memcmp(c->data + i, m->secrets.v[k], len) == 0)
				hit = len;
		}
		if (hit > 0) {
			buf_puts(out, LOGMASK_TEXT);
			i += hit;
		} else {
			buf_putc(out, c->data[i++]);
		}
	}
	memmove(c->data, c->data + i, c->len - i);
	c->len -= i;
}

void
logmask_feed(struct logmask *m, const void *data, size_t len, struct buf *out)
{
	if (m->secrets.n == 0) {
		buf_append(out, data, len);
		return;
	}
	buf_append(&m->carry, data, len);
	drain(m, 0, out);
}

void
logmask_flush(struct logmask *m, struct buf *out)
{
	drain(m, 1, out);
}

char *
logmask_string(struct logmask *m, const char *s)
{
	struct buf out = {0};

	logmask_feed(m, s, strlen(s), &out);
	logmask_flush(m, &out);
	return out.data != NULL ? out.data : xstrdup("");
}
