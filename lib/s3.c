/*
 * s3.c: the S3 client (see s3.h).  One easy handle per client, so
 * connections are kept alive between requests; one request at a time.
 *
 * Signing is libcurl's (CURLOPT_AWS_SIGV4).  libcurl 7.88 signs the
 * request path and query exactly as given and every header set with
 * CURLOPT_HTTPHEADER, and takes the payload hash from an
 * x-amz-content-sha256 header when there is one.  So this file (1) builds
 * paths and queries already in AWS's canonical form (AWS URI encoding,
 * parameters sorted, "name=" for a parameter without value), (2) hashes
 * every payload itself with libsodium and sends the hash, and (3) never
 * sets a header it does not send (an empty "Expect:" would be signed but
 * not sent), so the signature covers what goes on the wire.
 */
#include "config.h"

#include "lib/s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define BACKOFF_CAP_MS 20000
#define CREDS_RENEW_S 300	/* renew web identity credentials this early */
#define MAX_PARTS 10000		/* S3's limit on parts of one upload */
#define HASH_CHUNK (1 << 20)

struct s3 {
	char *bucket;
	char *region;
	char *base;		/* URL up to the '/' before the key */
	char *sigv4;		/* "aws:amz:REGION:s3" */
	char *key_id;
	char *secret;
	char *token;		/* session token or NULL */
	/* web identity (EKS IRSA): where credentials come from, and when
	 * the current ones end */
	char *token_file;
	char *role_arn;
	char *sts_url;
	sta_time expires;
	CURL *curl;
	int retries;
	long backoff_ms;
	long list_page;
};

/* One request: what to send and where the answer goes. */
struct req {
	const char *op;		/* "PutObject", for messages */
	const char *method;	/* GET HEAD PUT POST DELETE */
	const char *key;	/* object key; NULL for the bucket */
	const char *name;	/* key shown in messages when key is NULL */
	const char *query;	/* canonical query, or NULL */
	const char *url;	/* a whole URL instead (STS) */
	int anonymous;		/* not signed (STS web identity) */
	const char *content_type;
	/* body: mem[0..len), or fd from off for len bytes */
	int has_body;
	const char *mem;
	int fd;
	uint64_t off;
	uint64_t len;
	char sha[crypto_hash_sha256_BYTES * 2 + 1];
	/* answer: a 2xx body into sink_fd when >= 0, anything else in resp */
	int sink_fd;
	struct buf resp;
	char *etag;
	long status;
	/* transfer state of the current attempt */
	CURL *curl;
	uint64_t pos;
	int source_short;
	int sink_errno;
};

static void
req_init(struct req *r, const char *op, const char *method, const char *key)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->method = method;
	r->key = key;
	r->fd = -1;
	r->sink_fd = -1;
}

static void
req_free(struct req *r)
{
	buf_free(&r->resp);
	free(r->etag);
	r->etag = NULL;
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static long
env_long(const char *name, long def, long min, long max)
{
	const char *s = env_nonempty(name);
	int64_t v;

	if (s == NULL)
		return def;
	if (parse_int64(s, &v) < 0 || v < min || v > max) {
		log_warn("%s=%s is not a number in %ld..%ld; using %ld", name, s, min, max, def);
		return def;
	}
	return (long)v;
}

char *
s3_uri_encode(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = {0};

	buf_puts(&b, "");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~' || (keep_slash && *p == '/')) {
			buf_putc(&b, (char)*p);
		} else {
			buf_putc(&b, '%');
			buf_putc(&b, hex[*p >> 4]);
			buf_putc(&b, hex[*p & 15]);
		}
	}
	return buf_detach(&b);
}

static void
put_utf8(struct buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_putc(b, (char)(0xc0 | (cp >> 6)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_putc(b, (char)(0xe0 | (cp >> 12)));
		buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_putc(b, (char)(0xf0 | (cp >> 18)));
		buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Decodes one entity at p (just after '&'); returns its length up to and
 * including ';', or 0 when it is not one we know (copied literally). */
static size_t
xml_entity(const char *p, const char *end, struct buf *out)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	const char *semi = memchr(p, ';', (size_t)(end - p));
	unsigned long cp = 0;

	if (semi == NULL)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(named); i++) {
		size_t n = strlen(named[i].name);

		if ((size_t)(semi + 1 - p) == n && memcmp(p, named[i].name, n) == 0) {
			buf_putc(out, named[i].c);
			return n;
		}
	}
	if (*p != '#' || semi - p < 2)
		return 0;
	int hexa = p[1] == 'x' || p[1] == 'X';
	const char *d = p + 1 + hexa;

	if (d == semi)
		return 0;
	for (; d < semi; d++) {
		int v;

		if (*d >= '0' && *d <= '9')
			v = *d - '0';
		else if (hexa && *d >= 'a' && *d <= 'f')
			v = *d - 'a' + 10;
		else if (hexa && *d >= 'A' && *d <= 'F')
			v = *d - 'A' + 10;
		else
			return 0;
		cp = cp * (hexa ? 16 : 10) + (unsigned long)v;
		if (cp > 0x10ffff)
			return 0;
	}
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	put_utf8(out, cp);
	return (size_t)(semi + 1 - p);
}

char *
s3_xml_next(const char **pos, const char *tag)
{
	char *open = xasprintf("<%s>", tag), *close = xasprintf("</%s>", tag);
	const char *a, *b;
	struct buf out = {0};
	char *res = NULL;

	a = strstr(*pos, open);
	if (a == NULL)
		goto out;
	a += strlen(open);
	b = strstr(a, close);
	if (b == NULL)
		goto out;
	*pos = b + strlen(close);
	buf_puts(&out, "");
	for (const char *p = a; p < b; p++) {
		size_t n = *p == '&' ? xml_entity(p + 1, b, &out) : 0;

		if (n > 0)
			p += n;
		else
			buf_putc(&out, *p);
	}
	res = buf_detach(&out);
out:
	free(open);
	free(close);
	return res;
}

/* The first <tag> of a whole document; caller frees. */
static char *
xml_get(const char *doc, const char *tag)
{
	const char *p = doc != NULL ? doc : "";

	return s3_xml_next(&p, tag);
}

static void
xml_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		default: buf_putc(b, *s); break;
		}
	}
}

char *
s3_uri(const struct s3 *s, const char *key)
{
	return xasprintf("s3://%s/%s", s->bucket, key != NULL ? key : "");
}


/* Sets r->sha to the payload's sha256.  -1 (printed) when the source
 * cannot be read to its announced length. */
static int
req_hash_body(const struct s3 *s, struct req *r)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	char *chunk = NULL, *uri;
	uint64_t done = 0;

	if (!r->has_body || r->len == 0) {
		memcpy(r->sha, EMPTY_SHA256, sizeof(r->sha));
		return 0;
	}
	if (r->mem != NULL) {
		crypto_hash_sha256(h, (const unsigned char *)r->mem, (unsigned long long)r->len);
		hex_encode(h, sizeof(h), r->sha);
		return 0;
	}
	crypto_hash_sha256_init(&st);
	chunk = xmalloc(HASH_CHUNK);
	while (done < r->len) {
		size_t want = r->len - done < HASH_CHUNK ? (size_t)(r->len - done) : HASH_CHUNK;
		ssize_t n = pread(r->fd, chunk, want, (off_t)(r->off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			uri = s3_uri(s, r->key);
			if (n == 0)
				log_error("%s: %s: the source file ended at byte %llu of %llu "
				    "(changed while uploading?)", uri, r->op,
				    (unsigned long long)(r->off + done),
				    (unsigned long long)(r->off + r->len));
			else
				log_error("%s: %s: reading the source: %s", uri, r->op, strerror(errno));
			free(uri);
			free(chunk);
			return -1;
		}
		crypto_hash_sha256_update(&st, (const unsigned char *)chunk, (unsigned long long)n);
		done += (uint64_t)n;
	}
	free(chunk);
	crypto_hash_sha256_final(&st, h);
	hex_encode(h, sizeof(h), r->sha);
	return 0;
}

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	uint64_t left = r->len - r->pos;
	size_t want = size * n;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (r->mem != NULL) {
		memcpy(p, r->mem + r->pos, want);
	} else {
		ssize_t got;

		do
			got = pread(r->fd, p, want, (off_t)(r->off + r->pos));
		while (got < 0 && errno == EINTR);
		if (got <= 0) {
			r->source_short = 1;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)got;
	}
	r->pos += want;
	return want;
}

static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct req *r = arg;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = size * n, done = 0;
	long code = 0;

	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
	if (r->sink_fd < 0 || code < 200 || code >= 300) {
		buf_append(&r->resp, p, len);
		return len;
	}
	while (done < len) {
		ssize_t w = write(r->sink_fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r->sink_errno = errno;
			return 0;
		}
		done += (size_t)w;
	}
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t len = size * n;

	if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		const char *v = p + 5, *end = p + len;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		free(r->etag);
		r->etag = xstrndup(v, (size_t)(end - v));
	}
	return len;
}

static char *
req_url(const struct s3 *s, const struct req *r)
{
	char *k, *url;

	if (r->url != NULL)
		return xstrdup(r->url);
	k = s3_uri_encode(r->key != NULL ? r->key : "", 1);
	url = xasprintf("%s/%s%s%s", s->base, k, r->query ? "?" : "", r->query ? r->query : "");
	free(k);
	return url;
}

/* One HTTP exchange; sets r->status.  Returns curl's code. */
static CURLcode
req_send(struct s3 *s, struct req *r, const char *url, char *errbuf)
{
	CURL *c = s->curl;
	struct curl_slist *h = NULL;
	char *hv;
	CURLcode cc;

	curl_easy_reset(c);
	r->curl = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sta/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	/* No total timeout (parts are large): give up on a stalled transfer. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (!r->anonymous) {
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, s->key_id);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
		hv = xasprintf("x-amz-content-sha256: %s", r->sha);
		h = curl_slist_append(h, hv);
		free(hv);
		if (s->token != NULL) {
			hv = xasprintf("x-amz-security-token: %s", s->token);
			h = curl_slist_append(h, hv);
			free(hv);
		}
	}
	if (r->content_type != NULL) {
		hv = xasprintf("Content-Type: %s", r->content_type);
		h = curl_slist_append(h, hv);
		free(hv);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->mem != NULL ? r->mem : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	} else if (strcmp(r->method, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	cc = curl_easy_perform(c);
	r->status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	/* The handle keeps pointers into h and errbuf: clear them. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(h);
	return cc;
}

static int
curl_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
	case CURLE_WRITE_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_LOGIN_DENIED:
		return 0;
	default:
		return 1;
	}
}

static int
status_transient(const struct req *r)
{
	char *code;
	int transient;

	if (r->status >= 500 || r->status == 429)
		return 1;
	if (r->status != 400)
		return 0;
	code = xml_get(r->resp.data, "Code");
	transient = code != NULL && strcmp(code, "RequestTimeout") == 0;
	free(code);
	return transient;
}

/* Full jitter in [d/2, d] on a delay doubling from backoff_ms. */
static long
backoff_delay(const struct s3 *s, int attempt)
{
	long d = s->backoff_ms;

	for (int i = 0; i < attempt && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	return d / 2 + (long)randombytes_uniform((uint32_t)(d - d / 2 + 1));
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static char *
req_label(const struct s3 *s, const struct req *r)
{
	if (r->url != NULL)
		return xstrdup(r->url);
	return s3_uri(s, r->key != NULL ? r->key : r->name);
}

/* Prints why a request failed, with S3's Code and Message if any. */
static void
req_report(const struct s3 *s, const struct req *r)
{
	char *label = req_label(s, r);
	char *code = xml_get(r->resp.data, "Code"), *msg = xml_get(r->resp.data, "Message");

	log_error("%s: %s: HTTP %ld%s%s%s%s", label, r->op, r->status,
	    code != NULL ? " " : "", code != NULL ? code : "",
	    msg != NULL ? ": " : "", msg != NULL ? msg : "");
	free(code);
	free(msg);
	free(label);
}

static int sts_assume(struct s3 *s);

/* Makes a request, retrying what may pass on a second try.  Returns 0 on
 * a 2xx answer, the HTTP status of any other final answer (its body in
 * r->resp, nothing printed), or -1 after printing why no answer came. */
static int
req_perform(struct s3 *s, struct req *r)
{
	char *url = NULL, *label = req_label(s, r);
	char errbuf[CURL_ERROR_SIZE];
	int rc = -1;

	if (req_hash_body(s, r) < 0)
		goto out;
	url = req_url(s, r);
	for (int attempt = 0;; attempt++) {
		CURLcode cc;
		char *why;

		if (!r->anonymous && s->token_file != NULL &&
		    time_now() >= s->expires - CREDS_RENEW_S && sts_assume(s) < 0)
			goto out;
		r->pos = 0;
		r->source_short = 0;
		r->sink_errno = 0;
		buf_reset(&r->resp);
		free(r->etag);
		r->etag = NULL;
		if (r->sink_fd >= 0 && (ftruncate(r->sink_fd, 0) != 0 ||
		    lseek(r->sink_fd, 0, SEEK_SET) != 0)) {
			log_error("%s: %s: truncating the output file: %s", label, r->op, strerror(errno));
			goto out;
		}
		errbuf[0] = '\0';
		cc = req_send(s, r, url, errbuf);
		if (cc == CURLE_OK && r->status >= 200 && r->status < 300) {
			rc = 0;
			break;
		}
		if (r->source_short) {
			log_error("%s: %s: the source file ended early (changed while uploading?)",
			    label, r->op);
			goto out;
		}
		if (r->sink_errno != 0) {
			log_error("%s: %s: writing the output file: %s", label, r->op,
			    strerror(r->sink_errno));
			goto out;
		}
		if (cc == CURLE_OK && !status_transient(r)) {
			rc = (int)r->status;
			break;
		}
		if (cc != CURLE_OK) {
			why = xstrdup(errbuf[0] ? errbuf : curl_easy_strerror(cc));
		} else {
			char *code = xml_get(r->resp.data, "Code");

			why = xasprintf("HTTP %ld%s%s", r->status, code ? " " : "", code ? code : "");
			free(code);
		}
		if (cc != CURLE_OK && !curl_transient(cc)) {
			log_error("%s: %s: %s", label, r->op, why);
			free(why);
			goto out;
		}
		if (attempt >= s->retries) {
			if (cc == CURLE_OK) {
				rc = (int)r->status;
			} else {
				log_error("%s: %s: %s (gave up after %d attempts)", label, r->op,
				    why, attempt + 1);
			}
			free(why);
			break;
		}
		long delay = backoff_delay(s, attempt);

		log_warn("%s: %s: %s; retry %d of %d in %ld ms", label, r->op, why,
		    attempt + 1, s->retries, delay);
		free(why);
		sleep_ms(delay);
	}
out:
	free(url);
	free(label);
	return rc;
}

/* req_perform, and a printed error for any answer but 2xx.  0 or -1. */
static int
req_must(struct s3 *s, struct req *r)
{
	int rc = req_perform(s, r);

	if (rc > 0)
		req_report(s, r);
	return rc == 0 ? 0 : -1;
}

/* Exchanges the web identity token for temporary credentials at STS. */
static int
sts_assume(struct s3 *s)
{
	struct req r;
	struct buf body = {0};
	char *jwt = NULL, *arn = NULL, *sess = NULL, *tok = NULL, *exp = NULL;
	char *id = NULL, *secret = NULL, *token = NULL;
	const char *sn = env_nonempty("AWS_ROLE_SESSION_NAME");
	char *session = sn != NULL ? xstrdup(sn) : xasprintf("sta-%ld", (long)getpid());
	size_t len;
	int rc = -1;

	if (fs_read_file(s->token_file, &jwt, &len) != 0) {
		log_error("AWS_WEB_IDENTITY_TOKEN_FILE %s: %s", s->token_file, strerror(errno));
		goto out;
	}
	while (len > 0 && strchr(" \t\r\n", jwt[len - 1]) != NULL)
		jwt[--len] = '\0';
	arn = s3_uri_encode(s->role_arn, 0);
	sess = s3_uri_encode(session, 0);
	tok = s3_uri_encode(jwt, 0);
	buf_printf(&body, "Action=AssumeRoleWithWebIdentity&RoleArn=%s&RoleSessionName=%s"
	    "&Version=2011-06-15&WebIdentityToken=%s", arn, sess, tok);
	req_init(&r, "AssumeRoleWithWebIdentity", "POST", NULL);
	r.url = s->sts_url;
	r.anonymous = 1;
	r.content_type = "application/x-www-form-urlencoded";
	r.has_body = 1;
	r.mem = body.data;
	r.len = body.len;
	if (req_must(s, &r) < 0)
		goto out_req;
	id = xml_get(r.resp.data, "AccessKeyId");
	secret = xml_get(r.resp.data, "SecretAccessKey");
	token = xml_get(r.resp.data, "SessionToken");
	exp = xml_get(r.resp.data, "Expiration");
	if (id == NULL || secret == NULL || token == NULL) {
		log_error("%s: AssumeRoleWithWebIdentity: no credentials in the answer", s->sts_url);
		goto out_req;
	}
	free(s->key_id);
	free(s->secret);
	free(s->token);
	s->key_id = id;
	s->secret = secret;
	s->token = token;
	id = secret = token = NULL;
	/* "2024-03-01T12:00:00Z", maybe with fractions of a second. */
	char *dot = exp != NULL ? strchr(exp, '.') : NULL;

	if (dot != NULL) {
		dot[0] = 'Z';	/* the fraction is at least one digit long */
		dot[1] = '\0';
	}
	if (exp == NULL || time_parse(exp, &s->expires) != 0)
		s->expires = time_now() + 900;	/* STS's shortest duration */
	log_debug("s3: credentials for %s from STS until %s", s->role_arn, exp ? exp : "?");
	rc = 0;
out_req:
	req_free(&r);
out:
	free(id);
	free(secret);
	free(token);
	free(exp);
	free(jwt);
	free(arn);
	free(sess);
	free(tok);
	free(session);
	buf_free(&body);
	return rc;
}

static int
creds_init(struct s3 *s)
{
	const char *id = env_nonempty("AWS_ACCESS_KEY_ID");
	const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
	const char *tf = env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *arn = env_nonempty("AWS_ROLE_ARN");
	const char *sts;

	if (id != NULL && secret != NULL) {
		s->key_id = xstrdup(id);
		s->secret = xstrdup(secret);
		if (env_nonempty("AWS_SESSION_TOKEN") != NULL)
			s->token = xstrdup(getenv("AWS_SESSION_TOKEN"));
		return 0;
	}
	if (id != NULL || secret != NULL) {
		log_error("s3://%s: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
		    s->bucket);
		return -1;
	}
	if (tf == NULL || arn == NULL) {
		log_error("s3://%s: no AWS credentials: set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or "
		    "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN", s->bucket);
		return -1;
	}
	s->token_file = xstrdup(tf);
	s->role_arn = xstrdup(arn);
	sts = env_nonempty("AWS_ENDPOINT_URL_STS");
	sts = sts != NULL ? sts : env_nonempty("AWS_ENDPOINT_URL");
	if (sts != NULL)
		s->sts_url = xasprintf("%.*s/", (int)(strlen(sts) - (sts[strlen(sts) - 1] == '/')), sts);
	else
		s->sts_url = xasprintf("https://sts.%s.amazonaws.com/", s->region);
	return sts_assume(s);
}

static int
name_ok(const char *s, const char *extra)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

/* Sets the region, the signing scope and the base URL. */
static int
endpoint_init(struct s3 *s)
{
	const char *region = env_nonempty("AWS_REGION");
	const char *ep = env_nonempty("AWS_ENDPOINT_URL_S3");
	const char *ps = env_nonempty("STA_S3_PATH_STYLE");

	region = region != NULL ? region : env_nonempty("AWS_DEFAULT_REGION");
	region = region != NULL ? region : "us-east-1";
	if (!name_ok(region, "-")) {
		log_error("s3://%s: bad AWS region '%s'", s->bucket, region);
		return -1;
	}
	s->region = xstrdup(region);
	s->sigv4 = xasprintf("aws:amz:%s:s3", region);
	ep = ep != NULL ? ep : env_nonempty("AWS_ENDPOINT_URL");
	if (ep != NULL) {
		size_t n = strlen(ep);

		if (!str_has_prefix(ep, "http://") && !str_has_prefix(ep, "https://")) {
			log_error("S3 endpoint %s: expected an http:// or https:// URL", ep);
			return -1;
		}
		while (n > 0 && ep[n - 1] == '/')
			n--;
		s->base = xasprintf("%.*s/%s", (int)n, ep, s->bucket);
	} else if ((ps != NULL && strcmp(ps, "1") == 0) || strchr(s->bucket, '.') != NULL) {
		/* Dotted names do not match the *.s3 wildcard certificate. */
		s->base = xasprintf("https://s3.%s.amazonaws.com/%s", region, s->bucket);
	} else {
		s->base = xasprintf("https://%s.s3.%s.amazonaws.com", s->bucket, region);
	}
	return 0;
}

struct s3 *
s3_open(const char *bucket)
{
	struct s3 *s = xcalloc(1, sizeof(*s));

	s->bucket = xstrdup(bucket);
	if (!name_ok(bucket, ".-_")) {
		log_error("s3://%s: not a bucket name", bucket);
		goto fail;
	}
	if (sodium_init() < 0) {
		log_error("s3: libsodium failed to initialise");
		goto fail;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->curl = curl_easy_init();
	if (s->curl == NULL) {
		log_error("s3: curl_easy_init failed");
		goto fail;
	}
	s->retries = (int)env_long("STA_S3_RETRIES", 5, 0, 100);
	s->backoff_ms = env_long("STA_S3_BACKOFF_MS", 200, 1, BACKOFF_CAP_MS);
	s->list_page = env_long("STA_S3_LIST_PAGE", 0, 1, 1000);
	if (endpoint_init(s) < 0 || creds_init(s) < 0)
		goto fail;
	return s;
fail:
	s3_close(s);
	return NULL;
}

void
s3_close(struct s3 *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	free(s->bucket);
	free(s->region);
	free(s->base);
	free(s->sigv4);
	free(s->key_id);
	if (s->secret != NULL)
		sodium_memzero(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->token);
	free(s->token_file);
	free(s->role_arn);
	free(s->sts_url);
	free(s);
}

/* PutObject of one body (mem, or fd from 0). */
static int
put_single(struct s3 *s, const char *key, const char *mem, int fd, uint64_t size)
{
	struct req r;
	int rc;

	req_init(&r, "PutObject", "PUT", key);
	r.has_body = 1;
	r.mem = mem;
	r.fd = fd;
	r.len = size;
	rc = req_must(s, &r);
	req_free(&r);
	return rc;
}

static void
multipart_abort(struct s3 *s, const char *key, const char *qid)
{
	struct req r;
	char *q = xasprintf("uploadId=%s", qid);

	req_init(&r, "AbortMultipartUpload", "DELETE", key);
	r.query = q;
	if (req_must(s, &r) < 0)
		log_warn("s3: the unfinished upload of %s stays until a lifecycle rule removes it", key);
	req_free(&r);
	free(q);
}

/* Uploads part n (from 1) and appends it to the completion document. */
static int
multipart_part(struct s3 *s, const char *key, const char *qid, const char *mem, int fd,
    uint64_t size, uint64_t n, struct buf *done)
{
	struct req r;
	uint64_t off = (n - 1) * S3_PART_SIZE;
	char *q = xasprintf("partNumber=%llu&uploadId=%s", (unsigned long long)n, qid);
	int rc = -1;

	req_init(&r, "UploadPart", "PUT", key);
	r.query = q;
	r.has_body = 1;
	r.mem = mem != NULL ? mem + off : NULL;
	r.fd = fd;
	r.off = mem != NULL ? 0 : off;
	r.len = size - off < S3_PART_SIZE ? size - off : S3_PART_SIZE;
	if (req_must(s, &r) < 0)
		goto out;
	if (r.etag == NULL) {
		char *uri = s3_uri(s, key);

		log_error("%s: UploadPart %llu: no ETag in the answer", uri, (unsigned long long)n);
		free(uri);
		goto out;
	}
	buf_printf(done, "<Part><PartNumber>%llu</PartNumber><ETag>", (unsigned long long)n);
	xml_escape(done, r.etag);
	buf_puts(done, "</ETag></Part>");
	rc = 0;
out:
	req_free(&r);
	free(q);
	return rc;
}

static int
put_multipart(struct s3 *s, const char *key, const char *mem, int fd, uint64_t size)
{
	struct req r;
	struct buf done = {0};
	char *id = NULL, *qid = NULL, *q = NULL, *err = NULL;
	uint64_t parts = (size + S3_PART_SIZE - 1) / S3_PART_SIZE;
	int rc = -1;

	req_init(&r, "CreateMultipartUpload", "POST", key);
	if (parts > MAX_PARTS) {
		char *uri = s3_uri(s, key);

		log_error("%s: %llu bytes is more than %d parts of %llu", uri,
		    (unsigned long long)size, MAX_PARTS, (unsigned long long)S3_PART_SIZE);
		free(uri);
		goto out;
	}
	r.query = "uploads=";
	r.content_type = "application/octet-stream";
	r.has_body = 1;
	if (req_must(s, &r) < 0)
		goto out;
	id = xml_get(r.resp.data, "UploadId");
	if (id == NULL) {
		char *uri = s3_uri(s, key);

		log_error("%s: CreateMultipartUpload: no UploadId in the answer", uri);
		free(uri);
		goto out;
	}
	qid = s3_uri_encode(id, 0);
	buf_puts(&done, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (uint64_t n = 1; n <= parts; n++)
		if (multipart_part(s, key, qid, mem, fd, size, n, &done) < 0)
			goto abort;
	buf_puts(&done, "</CompleteMultipartUpload>");
	req_free(&r);
	q = xasprintf("uploadId=%s", qid);
	req_init(&r, "CompleteMultipartUpload", "POST", key);
	r.query = q;
	r.content_type = "application/xml";
	r.has_body = 1;
	r.mem = done.data;
	r.len = done.len;
	if (req_must(s, &r) < 0)
		goto abort;
	/* S3 may answer 200 and report the failure in the body. */
	err = xml_get(r.resp.data, "Code");
	if (err != NULL || strstr(r.resp.data ? r.resp.data : "", "<Error>") != NULL) {
		req_report(s, &r);
		goto abort;
	}
	rc = 0;
	goto out;
abort:
	multipart_abort(s, key, qid);
out:
	req_free(&r);
	buf_free(&done);
	free(id);
	free(qid);
	free(q);
	free(err);
	return rc;
}

int
s3_put_mem(struct s3 *s, const char *key, const void *data, size_t len)
{
	const char *mem = len > 0 ? data : "";

	if ((uint64_t)len > S3_MULTIPART_THRESHOLD)
		return put_multipart(s, key, mem, -1, len);
	return put_single(s, key, mem, -1, len);
}

int
s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t size)
{
	if (size > S3_MULTIPART_THRESHOLD)
		return put_multipart(s, key, NULL, fd, size);
	return put_single(s, key, NULL, fd, size);
}

/* A 404 that means "no such key" (and not, say, "no such bucket"). */
static int
is_no_such_key(const struct req *r)
{
	char *code;
	int yes;

	if (r->status != 404)
		return 0;
	code = xml_get(r->resp.data, "Code");
	yes = code == NULL || strcmp(code, "NoSuchKey") == 0;
	free(code);
	return yes;
}

static int
get_object(struct s3 *s, const char *key, int fd, char **data, size_t *len)
{
	struct req r;
	int rc;

	req_init(&r, "GetObject", "GET", key);
	r.sink_fd = fd;
	rc = req_perform(s, &r);
	if (rc == 0 && data != NULL) {
		if (len != NULL)
			*len = r.resp.len;
		*data = buf_detach(&r.resp);
	} else if (rc > 0 && is_no_such_key(&r)) {
		rc = S3_NOT_FOUND;
	} else if (rc > 0) {
		req_report(s, &r);
		rc = -1;
	}
	req_free(&r);
	return rc;
}

int
s3_get_fd(struct s3 *s, const char *key, int fd)
{
	return get_object(s, key, fd, NULL, NULL);
}

int
s3_get_mem(struct s3 *s, const char *key, char **data, size_t *len)
{
	return get_object(s, key, -1, data, len);
}

int
s3_head(struct s3 *s, const char *key)
{
	struct req r;
	int rc;

	req_init(&r, "HeadObject", "HEAD", key);
	rc = req_perform(s, &r);
	if (rc == 0) {
		rc = 1;
	} else if (rc == 404) {
		rc = 0;
	} else if (rc > 0) {
		req_report(s, &r);
		rc = -1;
	}
	req_free(&r);
	return rc;
}

int
s3_delete(struct s3 *s, const char *key)
{
	struct req r;
	int rc;

	req_init(&r, "DeleteObject", "DELETE", key);
	rc = req_perform(s, &r);
	if (rc > 0 && is_no_such_key(&r)) {
		rc = 0;
	} else if (rc > 0) {
		req_report(s, &r);
		rc = -1;
	}
	req_free(&r);
	return rc;
}

/* One page of ListObjectsV2; *token is the next page's token or NULL. */
static int
list_page(struct s3 *s, const char *prefix, char **token, struct strv *keys)
{
	struct req r;
	struct buf q = {0};
	char *p = s3_uri_encode(prefix, 0), *trunc = NULL, *k;
	const char *pos;
	int rc = -1;

	/* Parameters in AWS's canonical (sorted) order. */
	if (*token != NULL) {
		char *t = s3_uri_encode(*token, 0);

		buf_printf(&q, "continuation-token=%s&", t);
		free(t);
	}
	buf_puts(&q, "list-type=2");
	if (s->list_page > 0)
		buf_printf(&q, "&max-keys=%ld", s->list_page);
	buf_printf(&q, "&prefix=%s", p);
	req_init(&r, "ListObjectsV2", "GET", NULL);
	r.name = prefix;
	r.query = q.data;
	free(*token);
	*token = NULL;
	if (req_must(s, &r) < 0)
		goto out;
	pos = r.resp.data != NULL ? r.resp.data : "";
	while ((k = s3_xml_next(&pos, "Key")) != NULL)
		strv_push_take(keys, k);
	trunc = xml_get(r.resp.data, "IsTruncated");
	if (trunc != NULL && strcmp(trunc, "true") == 0) {
		*token = xml_get(r.resp.data, "NextContinuationToken");
		if (*token == NULL) {
			char *uri = s3_uri(s, prefix);

			log_error("%s: ListObjectsV2: truncated answer without NextContinuationToken", uri);
			free(uri);
			goto out;
		}
	}
	rc = 0;
out:
	req_free(&r);
	buf_free(&q);
	free(p);
	free(trunc);
	return rc;
}

int
s3_list(struct s3 *s, const char *prefix, struct strv *keys)
{
	char *token = NULL;

	do {
		if (list_page(s, prefix, &token, keys) < 0)
			return -1;
	} while (token != NULL);
	return 0;
}
