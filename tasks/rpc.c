/*
 * rpc.c: JSON-RPC batches over libcurl multi and IPC sockets, with
 * retries, failover and in-order delivery (see rpc.h).
 */
#include "config.h"

#include "tasks/rpc.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "lib/log.h"
#include "lib/util.h"

#define BACKOFF_CAP_MS 30000
#define SPARE_MAX 16
/* libcurl's receive buffer: a batch answer of 100 receipts is ~110 kB. */
#define RECV_BUFFER (256 * 1024L)

/* ---- JSON parsed in place (struct rpc_doc) ---- */

#define DOC_MAX_DEPTH 512

struct parser {
	char *p, *end;
	struct rpc_doc *d;
	int depth;
};

static size_t
doc_push(struct rpc_doc *d)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 256;
		d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
	}
	memset(&d->v[d->n], 0, sizeof(d->v[0]));
	return d->n++;
}

static int
hex4(const char *p, const char *end, unsigned int *out)
{
	unsigned int v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | (unsigned int)d;
	}
	*out = v;
	return 0;
}

/* Checks the string whose opening quote is at ps->p and moves past it;
 * *len is the bytes between the quotes, *esc whether any is escaped.
 * Surrogates must pair up, as cJSON requires. */
/* The first byte of p..end that is a quote, a backslash or below 0x20
 * (end if none): 16 bytes at a time with SSE2, then 8 with the bit tricks
 * of "Bit Twiddling Hacks" (a byte is zero, or below n, exactly when its
 * top bit is set in (x - n) & ~x; the lowest such byte is always right,
 * so on a little-endian machine it is the first in memory). */
static const char *
find_special(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* v <= 0x1f, unsigned: max(v, 0x1f) == 0x1f */
		__m128i x = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
		    _mm_cmpeq_epi8(v, bslash)), _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
		unsigned int m = (unsigned int)_mm_movemask_epi8(x);

		if (m != 0)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 8) {
		const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
		uint64_t x, q, b, m;

		memcpy(&x, p, 8);
		q = x ^ (ones * '"');
		b = x ^ (ones * '\\');
		m = (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
		if (m != 0)
			return p + __builtin_ctzll(m) / 8;
		p += 8;
	}
#endif
	while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
		p++;
	return p;
}

/* Checks the string whose opening quote is at ps->p and moves past it;
 * *len is the bytes between the quotes, *esc whether any is escaped.
 * Surrogates must pair up, as cJSON requires. */
static int
scan_string(struct parser *ps, uint32_t *len, int *esc)
{
	char *start = ps->p + 1, *p = start, *end = ps->end;

	*esc = 0;
	for (;;) {
		unsigned int u, lo;

		p = (char *)find_special(p, end);
		if (p >= end || (unsigned char)*p < 0x20)
			return -1;
		if (*p == '"')
			break;
		/* a backslash */
		*esc = 1;
		if (++p >= end)
			return -1;
		if (*p != '\0' && strchr("\"\\/bfnrt", *p) != NULL) {
			p++;
			continue;
		}
		if (*p != 'u' || hex4(p + 1, end, &u) < 0)
			return -1;
		p += 5;
		if (u >= 0xdc00 && u <= 0xdfff)
			return -1;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return -1;
			p += 6;
		}
	}
	*len = (uint32_t)(p - start);
	ps->p = p + 1;
	return 0;
}

static int
is_digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static int
scan_number(struct parser *ps)
{
	char *p = ps->p, *end = ps->end;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (is_digit(p, end))
		while (is_digit(p, end))
			p++;
	else
		return -1;
	if (p < end && *p == '.') {
		if (!is_digit(++p, end))
			return -1;
		while (is_digit(p, end))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, end))
			return -1;
		while (is_digit(p, end))
			p++;
	}
	ps->p = p;
	return 0;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' ||
	    *ps->p == '\t'))
		ps->p++;
}

static int parse_value(struct parser *ps, size_t at);

/* The members of the array or object whose bracket is at ps->p. */
static int
parse_container(struct parser *ps, size_t at, char close)
{
	uint32_t n = 0;

	if (++ps->depth > DOC_MAX_DEPTH)
		return -1;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		size_t m = doc_push(ps->d);

		if (close == '}') {
			uint32_t klen;
			int esc;

			if (ps->p >= ps->end || *ps->p != '"')
				return -1;
			ps->d->v[m].key = ps->p + 1;
			if (scan_string(ps, &klen, &esc) < 0)
				return -1;
			ps->d->v[m].klen = klen;
			ps->d->v[m].esc = (uint8_t)esc;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return -1;
			ps->p++;
			skip_ws(ps);
		}
		if (parse_value(ps, m) < 0)
			return -1;
		n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			skip_ws(ps);
			continue;
		}
		if (ps->p < ps->end && *ps->p == close)
			break;
		return -1;
	}
	ps->p++;
	ps->depth--;
	ps->d->v[at].len = n;
	return 0;
}

/* The value at ps->p, into d->v[at] (its key, if any, already set). */
static int
parse_value(struct parser *ps, size_t at)
{
	char *start = ps->p;
	struct rpc_val *v;
	uint32_t len = 0;
	int esc = 0, rc = 0;
	uint8_t type;

	if (ps->p >= ps->end)
		return -1;
	switch (*ps->p) {
	case '{':
	case '[':
		type = *ps->p == '{' ? RPC_OBJECT : RPC_ARRAY;
		rc = parse_container(ps, at, *ps->p == '{' ? '}' : ']');
		break;
	case '"':
		type = RPC_STRING;
		rc = scan_string(ps, &len, &esc);
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = {"null", "false", "true"};
		int i = *ps->p == 'n' ? 0 : *ps->p == 'f' ? 1 : 2;
		size_t ll = strlen(lit[i]);

		type = (uint8_t)(RPC_NULL + i);
		if ((size_t)(ps->end - ps->p) < ll || memcmp(ps->p, lit[i], ll) != 0)
			return -1;
		ps->p += ll;
		break;
	}
	default:
		type = RPC_NUMBER;
		rc = scan_number(ps);
		len = (uint32_t)(ps->p - start);
		break;
	}
	if (rc < 0)
		return -1;
	v = &ps->d->v[at];	/* the array may have moved */
	v->type = type;
	v->text = start;
	v->text_len = (uint32_t)(ps->p - start);
	v->skip = (uint32_t)(ps->d->n - at);
	if (type == RPC_STRING || type == RPC_NUMBER) {
		v->s = type == RPC_STRING ? start + 1 : start;
		v->len = len;
		v->esc |= (uint8_t)(esc ? 2 : 0);
	}
	return 0;
}

int
rpc_doc_parse(struct rpc_doc *d, char *text, size_t len)
{
	struct parser ps = {text, text + len, d, 0};

	d->n = 0;
	if (len >= UINT32_MAX)
		return -1;
	skip_ws(&ps);
	if (parse_value(&ps, doc_push(d)) < 0)
		return -1;
	skip_ws(&ps);
	return ps.p == ps.end ? 0 : -1;
}

static size_t
put_utf8(char *w, unsigned int cp)
{
	if (cp < 0x80) {
		w[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		w[0] = (char)(0xc0 | cp >> 6);
		w[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		w[0] = (char)(0xe0 | cp >> 12);
		w[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		w[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	w[0] = (char)(0xf0 | cp >> 18);
	w[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	w[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	w[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the escapes of s[0..len) (checked by scan_string) in place and
 * returns the new length: never longer, as every escape is at least as
 * long as the UTF-8 it stands for.  Into out when out is not NULL (then
 * it must hold len bytes). */
static uint32_t
unescape(const char *s, uint32_t len, char *out)
{
	const char *r = s, *end = s + len;
	char *w = out;

	while (r < end) {
		unsigned int cp, lo;

		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		r++;
		switch (*r++) {
		case 'b': *w++ = '\b'; continue;
		case 'f': *w++ = '\f'; continue;
		case 'n': *w++ = '\n'; continue;
		case 'r': *w++ = '\r'; continue;
		case 't': *w++ = '\t'; continue;
		case 'u': break;
		default: *w++ = r[-1]; continue;	/* " \ / */
		}
		hex4(r, end, &cp);
		r += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			hex4(r + 2, end, &lo);
			r += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		w += put_utf8(w, cp);
	}
	return (uint32_t)(w - out);
}

void
rpc_doc_finish(struct rpc_doc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct rpc_val *v = &d->v[i];

		if (v->key != NULL) {
			if (v->esc & 1)
				v->klen = unescape(v->key, v->klen, (char *)v->key);
			((char *)v->key)[v->klen] = '\0';
		}
		if (v->type == RPC_STRING && (v->esc & 2)) {
			v->len = unescape(v->s, v->len, (char *)v->s);
			v->nul = memchr(v->s, '\0', v->len) != NULL;
		}
		if (v->type == RPC_STRING || v->type == RPC_NUMBER)
			((char *)v->s)[v->len] = '\0';
		v->esc = 0;
	}
}

void
rpc_doc_free(struct rpc_doc *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Whether the key of v is name, escapes decoded. */
static int
key_is(const struct rpc_val *v, const char *name, size_t nlen)
{
	char tmp[64];

	if (!(v->esc & 1))
		return v->klen == nlen && memcmp(v->key, name, nlen) == 0;
	if (v->klen > sizeof(tmp))
		return 0;
	return unescape(v->key, v->klen, tmp) == nlen && memcmp(tmp, name, nlen) == 0;
}

const struct rpc_val *
rpc_val_get(const struct rpc_val *obj, const char *key)
{
	const struct rpc_val *m;
	size_t nlen = strlen(key);
	uint32_t i;

	if (obj == NULL || obj->type != RPC_OBJECT)
		return NULL;
	RPC_VAL_FOREACH(m, i, obj)
		if (key_is(m, key, nlen))
			return m;
	return NULL;
}

void
rpc_val_pick(const struct rpc_val *obj, const struct rpc_key keys[], size_t n,
    const struct rpc_val *out[])
{
	const struct rpc_val *m;
	size_t left = n;
	uint32_t i;

	for (size_t k = 0; k < n; k++)
		out[k] = NULL;
	if (obj == NULL || obj->type != RPC_OBJECT)
		return;
	RPC_VAL_FOREACH(m, i, obj) {
		for (size_t k = 0; k < n; k++) {
			if (out[k] == NULL && key_is(m, keys[k].name, keys[k].len)) {
				out[k] = m;
				/* the first of a repeated key, as cJSON */
				if (--left == 0)
					return;
				break;
			}
		}
	}
}

/* ---- requests written as text ---- */

struct rpc_batch {
	struct buf body;
	size_t n;
};

void
rpc_batch_add(struct rpc_batch *b, const char *method, const char *params)
{
	static const char head[] = ",{\"method\":\"", mid[] = "\",\"params\":",
	    tail[] = ",\"jsonrpc\":\"2.0\",\"id\":";
	char id[24];
	size_t n = b->n, at = sizeof(id);

	id[--at] = '}';
	do {
		id[--at] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	/* the comma only between requests */
	buf_append(&b->body, head + (b->n == 0), sizeof(head) - 1 - (b->n == 0));
	buf_puts(&b->body, method);
	buf_append(&b->body, mid, sizeof(mid) - 1);
	buf_puts(&b->body, params);
	buf_append(&b->body, tail, sizeof(tail) - 1);
	buf_append(&b->body, id + at, sizeof(id) - at);
	b->n++;
}

struct provider {
	char *uri;		/* http(s) URL, or NULL for IPC */
	char *ipc_path;
	int64_t down_until_ms;
};

/* RECEIVED: the HTTP exchange ended, the answer is not judged yet. */
enum job_state { JOB_WAITING, JOB_RUNNING, JOB_RECEIVED, JOB_DONE };

struct job {
	size_t index;
	enum job_state state;
	char *label;
	char *body;		/* the serialised batch */
	size_t nreq;
	int attempts;
	size_t provider;
	int64_t not_before_ms;
	char *last_error;
	char *recv_error;	/* JOB_RECEIVED: the transport error, if any */
	cJSON *response;	/* JOB_DONE, rpc_run: the parsed array */
	cJSON **results;	/* JOB_DONE, rpc_run: results[k] answers id k */
	struct rpc_doc doc;	/* rpc_run_vals: the response, parsed in `in` */
	const struct rpc_val **vals;	/* JOB_DONE, rpc_run_vals: the same in doc */
	/* JOB_RUNNING over HTTP */
	CURL *easy;
	struct buf in;
	char errbuf[CURL_ERROR_SIZE];
};

struct rpc {
	struct provider *prov;
	size_t nprov;
	size_t next_prov;
	int max_workers;
	long timeout_s;
	int max_retries;
	long backoff_ms;
	CURLM *multi;
	struct curl_slist *headers;
	CURL **idle;		/* easy handles kept for connection reuse */
	size_t nidle;
	/* Response buffers and parsed documents of finished jobs, for the
	 * next ones: no regrowing (and page faults) for every batch. */
	struct spare {
		struct buf in;
		struct rpc_doc doc;
	} *spare;
	size_t nspare;
	struct rpc_stats stats;
	unsigned int seed;
};

/* What rpc_run and rpc_run_vals were given: either make, check and done
 * (cJSON) or write, check_val and done_val (values in place). */
struct work {
	size_t njobs;
	void *ctx;
	rpc_make_fn make;
	rpc_check_fn check;
	rpc_done_fn done;
	int reverts_are_results;
	rpc_write_fn write;
	rpc_check_val_fn check_val;
	rpc_done_val_fn done_val;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long
env_long(const char *name, long def, long min, long max)
{
	const char *s = getenv(name);
	int64_t v;

	if (s == NULL || *s == '\0')
		return def;
	if (parse_int64(s, &v) < 0 || v < min || v > max) {
		log_warn("%s=%s is not a number in %ld..%ld; using %ld", name, s, min, max, def);
		return def;
	}
	return (long)v;
}

static int
add_provider(struct rpc *r, const char *uri)
{
	struct provider p = {0};

	if (str_has_prefix(uri, "http://") || str_has_prefix(uri, "https://")) {
		p.uri = xstrdup(uri);
	} else if (str_has_prefix(uri, "file://")) {
		p.ipc_path = xstrdup(uri + strlen("file://"));
	} else if (uri[0] == '/' || str_has_suffix(uri, ".ipc")) {
		p.ipc_path = xstrdup(uri);
	} else {
		log_error("provider URI %s: expected http://, https://, file:// or an IPC socket path", uri);
		return -1;
	}
	r->prov = xreallocarray(r->prov, r->nprov + 1, sizeof(*r->prov));
	r->prov[r->nprov++] = p;
	return 0;
}

struct rpc *
rpc_open(const char *provider_uris, int max_workers)
{
	struct rpc *r = xcalloc(1, sizeof(*r));
	char *list = xstrdup(provider_uris ? provider_uris : "");
	char *save = NULL;

	for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		while (*u == ' ')
			u++;
		if (*u && add_provider(r, u) < 0)
			goto fail;
	}
	if (r->nprov == 0) {
		log_error("no provider URI given (-p/--provider-uri)");
		goto fail;
	}
	free(list);
	r->max_workers = max_workers > 0 ? max_workers : 1;
	r->timeout_s = env_long("STA_RPC_TIMEOUT", 60, 1, 86400);
	r->max_retries = (int)env_long("STA_RPC_RETRIES", 8, 0, 1000);
	r->backoff_ms = env_long("STA_RPC_BACKOFF_MS", 500, 1, BACKOFF_CAP_MS);
	r->seed = (unsigned int)(now_ms() ^ getpid());
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r->multi = curl_multi_init();
	curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)r->max_workers);
	r->headers = curl_slist_append(NULL, "Content-Type: application/json");
	r->idle = xcalloc((size_t)r->max_workers, sizeof(*r->idle));
	r->spare = xcalloc(SPARE_MAX, sizeof(*r->spare));
	return r;
fail:
	free(list);
	rpc_close(r);
	return NULL;
}

void
rpc_close(struct rpc *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nidle; i++)
		curl_easy_cleanup(r->idle[i]);
	free(r->idle);
	for (size_t i = 0; i < r->nspare; i++) {
		buf_free(&r->spare[i].in);
		rpc_doc_free(&r->spare[i].doc);
	}
	free(r->spare);
	if (r->multi)
		curl_multi_cleanup(r->multi);
	curl_slist_free_all(r->headers);
	for (size_t i = 0; i < r->nprov; i++) {
		free(r->prov[i].uri);
		free(r->prov[i].ipc_path);
	}
	free(r->prov);
	free(r);
}

void
rpc_get_stats(const struct rpc *r, struct rpc_stats *out)
{
	*out = r->stats;
}

/* Picks the provider for a job's next attempt: round-robin for a first
 * attempt, the one after the failed one for a retry, skipping providers
 * that failed recently while another is up. */
static size_t
pick_provider(struct rpc *r, struct job *j)
{
	size_t start = j->attempts == 0 ? r->next_prov++ % r->nprov : (j->provider + 1) % r->nprov;
	int64_t now = now_ms();

	for (size_t k = 0; k < r->nprov; k++) {
		size_t p = (start + k) % r->nprov;

		if (r->prov[p].down_until_ms <= now)
			return p;
	}
	return start;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *userdata)
{
	struct job *j = userdata;

	buf_append(&j->in, data, size * n);
	return size * n;
}

static void
job_fail_attempt(struct rpc *r, struct job *j, char *why)
{
	long delay = r->backoff_ms;

	free(j->last_error);
	j->last_error = why;
	r->prov[j->provider].down_until_ms = now_ms() + r->backoff_ms;
	for (int i = 1; i < j->attempts && delay < BACKOFF_CAP_MS; i++)
		delay *= 2;
	if (delay > BACKOFF_CAP_MS)
		delay = BACKOFF_CAP_MS;
	/* Full jitter in [delay/2, delay): spread retries of many workers. */
	delay = delay / 2 + (long)(rand_r(&r->seed) % (unsigned)(delay / 2 + 1));
	j->not_before_ms = now_ms() + delay;
	j->state = JOB_WAITING;
	r->stats.retries++;
	log_debug("rpc: %s: attempt %d failed: %s; retrying in %ld ms", j->label, j->attempts,
	    why, delay);
}

/* JSON-RPC error codes a retry cannot fix: the request itself is wrong. */
static int
error_is_permanent(const cJSON *err)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");

	if (!cJSON_IsNumber(code))
		return 0;
	return code->valueint == -32700 || code->valueint == -32600 ||
	    code->valueint == -32601 || code->valueint == -32602;
}

/* An eth_call that reverted: the answer is final, not a transient error. */
static int
error_is_revert(const cJSON *err)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");

	if (cJSON_IsNumber(code) && code->valueint == 3)
		return 1;
	return cJSON_IsString(msg) && strcasestr(msg->valuestring, "revert") != NULL;
}

static char *
error_text(const cJSON *err)
{
	char *s = cJSON_PrintUnformatted(err);
	char *out = xasprintf("JSON-RPC error %s", s ? s : "?");

	free(s);
	return out;
}

/* rpc_run: validates a response body against job j with cJSON.  Returns 0
 * when trusted (the job holds the results), 1 to retry (*why set), -1 when
 * a retry cannot help (*why set). */
static int
job_accept_cjson(const struct work *w, struct job *j, const char *body, size_t len, char **why)
{
	cJSON *resp = cJSON_ParseWithLength(body, len);
	cJSON **res = NULL;
	const cJSON *item;
	int rc = 1;

	*why = NULL;
	if (resp == NULL) {
		*why = xasprintf("response is not valid JSON (%zu bytes)", len);
		goto out;
	}
	if (cJSON_IsObject(resp)) {
		item = cJSON_GetObjectItemCaseSensitive(resp, "error");
		*why = item ? error_text(item) : xstrdup("response to a batch is not an array");
		if (item && error_is_permanent(item))
			rc = -1;
		goto out;
	}
	if (!cJSON_IsArray(resp) || (size_t)cJSON_GetArraySize(resp) != j->nreq) {
		*why = xasprintf("batch response has %d answers for %zu requests",
		    cJSON_IsArray(resp) ? cJSON_GetArraySize(resp) : -1, j->nreq);
		goto out;
	}
	res = xcalloc(j->nreq, sizeof(*res));
	cJSON_ArrayForEach(item, resp) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
		cJSON *result = cJSON_GetObjectItemCaseSensitive(item, "result");
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(item, "error");
		double k = cJSON_IsNumber(id) ? id->valuedouble : -1;

		if (k < 0 || k >= (double)j->nreq || k != (double)(size_t)k || res[(size_t)k]) {
			*why = xstrdup("batch response has a missing, unknown or repeated id");
			goto out;
		}
		if (err != NULL && !cJSON_IsNull(err) && w->reverts_are_results &&
		    error_is_revert(err)) {
			res[(size_t)k] = (cJSON *)err;
			continue;
		}
		if (err != NULL && !cJSON_IsNull(err)) {
			*why = error_text(err);
			if (error_is_permanent(err))
				rc = -1;
			goto out;
		}
		if (result == NULL) {
			*why = xasprintf("answer %d has neither result nor error", (int)k);
			goto out;
		}
		res[(size_t)k] = result;
	}
	for (size_t k = 0; k < j->nreq; k++)
		if (w->check && w->check(w->ctx, j->index, k, res[k], why) < 0)
			goto out;
	j->response = resp;
	j->results = res;
	return 0;
out:
	free(res);
	cJSON_Delete(resp);
	return rc;
}

/* Judges one answer's error member: 0 when there is none (absent or
 * null), else -1 with *why set and *permanent whether a retry cannot fix
 * it. */
static int
answer_error(const struct rpc_val *err, char **why, int *permanent)
{
	cJSON *e;

	if (err == NULL || err->type == RPC_NULL)
		return 0;
	/* rare: the messages and codes are read as rpc_run reads them */
	e = cJSON_ParseWithLength(err->text, err->text_len);
	if (e == NULL) {
		*why = xstrdup("batch response has an unreadable error");
		return -1;
	}
	*why = error_text(e);
	*permanent = error_is_permanent(e);
	cJSON_Delete(e);
	return -1;
}

/* Matches the answers of a parsed batch response to the requests of job j:
 * res[k] answers id k.  Returns 0, 1 to retry (*why set), -1 when a retry
 * cannot help. */
static int
match_answers(struct job *j, const struct rpc_val **res, char **why)
{
	const struct rpc_val *top = j->doc.v, *item;
	uint32_t i;
	int permanent = 0;

	if (top->type == RPC_OBJECT) {
		if (answer_error(rpc_val_get(top, "error"), why, &permanent) == 0)
			*why = xstrdup("response to a batch is not an array");
		return permanent ? -1 : 1;
	}
	if (top->type != RPC_ARRAY || top->len != j->nreq) {
		*why = xasprintf("batch response has %d answers for %zu requests",
		    top->type == RPC_ARRAY ? (int)top->len : -1, j->nreq);
		return 1;
	}
	RPC_VAL_FOREACH(item, i, top) {
		const struct rpc_val *id = rpc_val_get(item, "id");
		const struct rpc_val *result = rpc_val_get(item, "result");
		double k = id && id->type == RPC_NUMBER ? strtod(id->text, NULL) : -1;

		if (k < 0 || k >= (double)j->nreq || k != (double)(size_t)k || res[(size_t)k]) {
			*why = xstrdup("batch response has a missing, unknown or repeated id");
			return 1;
		}
		if (answer_error(rpc_val_get(item, "error"), why, &permanent) < 0)
			return permanent ? -1 : 1;
		if (result == NULL) {
			*why = xasprintf("answer %d has neither result nor error", (int)k);
			return 1;
		}
		res[(size_t)k] = result;
	}
	return 0;
}

/* rpc_run_vals: validates the response body (in j->in) against job j,
 * parsing it in place.  Returns 0 when trusted (j->vals holds the
 * results), 1 to retry (*why set), -1 when a retry cannot help. */
static int
job_accept_vals(const struct work *w, struct job *j, char **why)
{
	const struct rpc_val **res;
	char empty[1] = "";
	int rc;

	*why = NULL;
	if (rpc_doc_parse(&j->doc, j->in.data ? j->in.data : empty, j->in.len) < 0) {
		*why = xasprintf("response is not valid JSON (%zu bytes)", j->in.len);
		return 1;
	}
	res = xcalloc(j->nreq ? j->nreq : 1, sizeof(*res));
	rc = match_answers(j, res, why);
	if (rc == 0) {
		rpc_doc_finish(&j->doc);
		for (size_t k = 0; k < j->nreq && rc == 0; k++)
			if (w->check_val && w->check_val(w->ctx, j->index, k, res[k], why) < 0)
				rc = 1;
	}
	if (rc != 0) {
		free(res);
		return rc;
	}
	j->vals = res;
	return 0;
}

/* One blocking exchange over an IPC socket: write the batch, read until
 * the bytes parse as one JSON value. */
static int
ipc_exchange(struct rpc *r, const char *path, const char *body, struct buf *in, char **why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = -1, rc = -1;
	int64_t deadline = now_ms() + r->timeout_s * 1000;
	size_t off = 0, len = strlen(body);

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*why = xasprintf("IPC path %s is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		*why = xasprintf("IPC %s: %s", path, strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t n = send(fd, body + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno != EINTR) {
			*why = xasprintf("IPC %s: write: %s", path, strerror(errno));
			goto out;
		}
		off += n > 0 ? (size_t)n : 0;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		char chunk[65536];
		int64_t left = deadline - now_ms();
		ssize_t n;
		cJSON *probe;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			*why = xasprintf("IPC %s: timed out after %ld s", path, r->timeout_s);
			goto out;
		}
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*why = xasprintf("IPC %s: connection closed mid-response", path);
			goto out;
		}
		buf_append(in, chunk, (size_t)n);
		probe = cJSON_ParseWithLength(in->data, in->len);
		if (probe) {
			cJSON_Delete(probe);
			rc = 0;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static void
job_start_http(struct rpc *r, struct job *j)
{
	CURL *e = r->nidle > 0 ? r->idle[--r->nidle] : curl_easy_init();

	j->easy = e;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, r->prov[j->provider].uri);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, r->timeout_s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, r->timeout_s < 10 ? r->timeout_s : 10L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, RECV_BUFFER);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sta-etl/" PACKAGE_VERSION);
	j->errbuf[0] = '\0';
	curl_multi_add_handle(r->multi, e);
}

static void
job_release_easy(struct rpc *r, struct job *j)
{
	curl_multi_remove_handle(r->multi, j->easy);
	if (r->nidle < (size_t)r->max_workers)
		r->idle[r->nidle++] = j->easy;
	else
		curl_easy_cleanup(j->easy);
	j->easy = NULL;
}

/* Judges a finished attempt: accepted, retried, or fatal (-1). */
static int
job_finish_attempt(struct rpc *r, const struct work *w, struct job *j, char *transport_err)
{
	char *why = transport_err;
	int rc;

	r->stats.requests++;
	r->stats.bytes_in += j->in.len;
	if (why == NULL) {
		rc = w->done_val ? job_accept_vals(w, j, &why) :
		    job_accept_cjson(w, j, j->in.data ? j->in.data : "", j->in.len, &why);
		if (rc == 0) {
			j->state = JOB_DONE;
			return 0;
		}
		if (rc < 0) {
			log_error("%s: %s from %s", j->label, why,
			    r->prov[j->provider].uri ? r->prov[j->provider].uri : r->prov[j->provider].ipc_path);
			free(why);
			return -1;
		}
	}
	buf_reset(&j->in);
	if (j->attempts > r->max_retries) {
		log_error("%s: giving up after %d attempts: %s", j->label, j->attempts, why);
		free(why);
		return -1;
	}
	job_fail_attempt(r, j, why);
	return 0;
}

static int
job_start(struct rpc *r, const struct work *w, struct job *j)
{
	j->provider = pick_provider(r, j);
	j->attempts++;
	j->state = JOB_RUNNING;
	buf_reset(&j->in);
	if (r->prov[j->provider].ipc_path) {
		char *why = NULL;

		ipc_exchange(r, r->prov[j->provider].ipc_path, j->body, &j->in, &why);
		return job_finish_attempt(r, w, j, why);
	}
	job_start_http(r, j);
	return 0;
}

static int
on_http_done(struct rpc *r, CURLMsg *msg)
{
	struct job *j = NULL;
	long status = 0;
	char *why = NULL;

	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
	curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
	if (msg->data.result != CURLE_OK) {
		why = xasprintf("%s: %s", r->prov[j->provider].uri,
		    j->errbuf[0] ? j->errbuf : curl_easy_strerror(msg->data.result));
	} else if (status == 429 || status >= 500) {
		why = xasprintf("%s: HTTP %ld", r->prov[j->provider].uri, status);
	} else if (status != 200) {
		log_error("%s: %s answered HTTP %ld: %.200s", j->label, r->prov[j->provider].uri,
		    status, j->in.data ? j->in.data : "");
		job_release_easy(r, j);
		return -1;
	}
	job_release_easy(r, j);
	j->state = JOB_RECEIVED;
	j->recv_error = why;
	return 0;
}

static void
job_free(struct rpc *r, struct job *j)
{
	if (j == NULL)
		return;
	free(j->label);
	free(j->body);
	free(j->last_error);
	free(j->results);
	cJSON_Delete(j->response);
	free(j->vals);
	if (r->nspare < SPARE_MAX) {
		buf_reset(&j->in);
		r->spare[r->nspare++] = (struct spare){j->in, j->doc};
	} else {
		rpc_doc_free(&j->doc);
		buf_free(&j->in);
	}
	free(j);
}

/* Serialises the requests of a new job with ids 0..n-1. */
static struct job *
job_new(struct rpc *r, const struct work *w, size_t index)
{
	struct job *j = xcalloc(1, sizeof(*j));
	cJSON *reqs, *q;
	size_t k = 0;

	if (r->nspare > 0) {
		r->nspare--;
		j->in = r->spare[r->nspare].in;
		j->doc = r->spare[r->nspare].doc;
	}

	j->index = index;
	if (w->write) {
		struct rpc_batch b = {0};

		buf_putc(&b.body, '[');
		w->write(w->ctx, index, &b, &j->label);
		buf_putc(&b.body, ']');
		if (j->label == NULL)
			j->label = xasprintf("request batch %zu", index);
		j->nreq = b.n;
		j->body = buf_detach(&b.body);
		return j;
	}
	reqs = w->make(w->ctx, index, &j->label);
	if (j->label == NULL)
		j->label = xasprintf("request batch %zu", index);
	cJSON_ArrayForEach(q, reqs) {
		cJSON_DeleteItemFromObjectCaseSensitive(q, "id");
		cJSON_DeleteItemFromObjectCaseSensitive(q, "jsonrpc");
		cJSON_AddStringToObject(q, "jsonrpc", "2.0");
		cJSON_AddNumberToObject(q, "id", (double)k++);
	}
	j->nreq = k;
	j->body = cJSON_PrintUnformatted(reqs);
	cJSON_Delete(reqs);
	return j;
}

/* The jobs of rpc_run between the oldest undelivered and the newest. */
struct run {
	struct rpc *r;
	const struct work *w;
	struct job **live;
	size_t window, delivered, started;
	int running;
};

/* Starts waiting jobs whose backoff has passed, oldest first, while
 * workers are free; lowers *wait_ms to the next backoff deadline. */
static int
start_waiting(struct run *u, int64_t *wait_ms)
{
	int64_t now = now_ms();

	for (size_t i = u->delivered; i < u->started && u->running < u->r->max_workers; i++) {
		struct job *j = u->live[i % u->window];

		if (j->state != JOB_WAITING)
			continue;
		if (j->not_before_ms > now) {
			if (j->not_before_ms - now < *wait_ms)
				*wait_ms = j->not_before_ms - now;
			continue;
		}
		if (job_start(u->r, u->w, j) < 0)
			return -1;
		if (j->state == JOB_RUNNING)
			u->running++;
		else
			*wait_ms = 0;	/* IPC finished at once */
	}
	return 0;
}

static int run(struct rpc *r, const struct work *w);

int
rpc_run(struct rpc *r, const struct rpc_work *rw)
{
	struct work w = {.njobs = rw->njobs, .ctx = rw->ctx, .make = rw->make, .check = rw->check,
	    .done = rw->done, .reverts_are_results = rw->reverts_are_results};

	return run(r, &w);
}

int
rpc_run_vals(struct rpc *r, const struct rpc_vwork *vw)
{
	struct work w = {.njobs = vw->njobs, .ctx = vw->ctx, .write = vw->write,
	    .check_val = vw->check, .done_val = vw->done};

	return run(r, &w);
}

static int
run(struct rpc *r, const struct work *w)
{
	/* Jobs [delivered, started) are live; the window bounds how far
	 * ahead of the oldest undelivered job new ones may start. */
	struct run u = {r, w, NULL, (size_t)r->max_workers * 2 + 2, 0, 0, 0};
	int rc = 0;

	u.live = xcalloc(u.window, sizeof(*u.live));
	while (u.delivered < w->njobs && rc == 0) {
		int64_t wait_ms = 1000;
		int still = 0, received = 0;
		CURLMsg *msg;

		/* Deliver finished jobs in order. */
		while (u.delivered < u.started && u.live[u.delivered % u.window]->state == JOB_DONE) {
			struct job *j = u.live[u.delivered % u.window];

			if (w->done_val ? w->done_val(w->ctx, j->index, j->vals, j->nreq) < 0 :
			    w->done(w->ctx, j->index, j->results, j->nreq) < 0)
				rc = -1;
			job_free(r, j);
			u.live[u.delivered++ % u.window] = NULL;
			if (rc)
				break;
		}
		if (rc || u.delivered == w->njobs)
			break;
		while (u.started < w->njobs && u.started < u.delivered + u.window) {
			u.live[u.started % u.window] = job_new(r, w, u.started);
			u.started++;
		}
		if (start_waiting(&u, &wait_ms) < 0)
			break;
		curl_multi_perform(r->multi, &still);
		while ((msg = curl_multi_info_read(r->multi, &still)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			u.running--;
			received++;
			if (on_http_done(r, msg) < 0)
				rc = -1;
		}
		if (rc)
			break;
		if (received) {
			/* Keep the node busy: send the next requests before
			 * spending time on the answers that came in. */
			if (start_waiting(&u, &wait_ms) < 0)
				break;
			curl_multi_perform(r->multi, &still);
			for (size_t i = u.delivered; i < u.started && rc == 0; i++) {
				struct job *j = u.live[i % u.window];

				if (j->state != JOB_RECEIVED)
					continue;
				rc = job_finish_attempt(r, w, j, j->recv_error);
				j->recv_error = NULL;
			}
			continue;
		}
		if (wait_ms > 0)
			curl_multi_poll(r->multi, NULL, 0, (int)wait_ms, NULL);
	}
	if (rc == 0 && u.delivered < w->njobs)
		rc = -1;
	for (size_t i = u.delivered; i < u.started; i++) {
		struct job *j = u.live[i % u.window];

		if (j && j->easy)
			job_release_easy(r, j);
		if (j)
			free(j->recv_error);
		job_free(r, j);
	}
	free(u.live);
	return rc;
}

struct one_call {
	const char *method;
	cJSON *params;
	rpc_check_fn check;
	void *ctx;
	cJSON *result;
};

static cJSON *
one_make(void *ctx, size_t job, char **label)
{
	struct one_call *c = ctx;
	cJSON *arr = cJSON_CreateArray();
	cJSON *q = cJSON_CreateObject();
	char *p = cJSON_PrintUnformatted(c->params);

	(void)job;
	cJSON_AddStringToObject(q, "method", c->method);
	cJSON_AddItemToObject(q, "params", cJSON_Duplicate(c->params, 1));
	cJSON_AddItemToArray(arr, q);
	*label = xasprintf("%s %s", c->method, p ? p : "");
	free(p);
	return arr;
}

static int
one_check(void *ctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct one_call *c = ctx;

	return c->check ? c->check(c->ctx, job, k, result, why) : 0;
}

static int
one_done(void *ctx, size_t job, cJSON *results[], size_t n)
{
	struct one_call *c = ctx;

	(void)job;
	(void)n;
	c->result = cJSON_Duplicate(results[0], 1);
	return 0;
}

cJSON *
rpc_call(struct rpc *r, const char *method, cJSON *params, rpc_check_fn check, void *ctx)
{
	struct one_call c = {method, params, check, ctx, NULL};
	struct rpc_work w = {1, one_make, one_check, one_done, &c, 0};

	if (rpc_run(r, &w) < 0) {
		cJSON_Delete(c.result);
		return NULL;
	}
	return c.result;
}
