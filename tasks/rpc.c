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

#include "lib/jsonmem.h"
#include "lib/log.h"
#include "lib/util.h"

#define BACKOFF_CAP_MS 30000

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
	cJSON *response;	/* JOB_DONE: the parsed array, in region */
	struct json_region region;
	cJSON **results;	/* JOB_DONE: results[k] answers id k */
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
	struct rpc_stats stats;
	unsigned int seed;
	char *scratch;		/* job_new's: one request printed */
	struct buf spare_in;	/* a receive buffer between jobs */
	size_t scratch_cap;
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
	if (r->multi)
		curl_multi_cleanup(r->multi);
	curl_slist_free_all(r->headers);
	for (size_t i = 0; i < r->nprov; i++) {
		free(r->prov[i].uri);
		free(r->prov[i].ipc_path);
	}
	free(r->prov);
	free(r->scratch);
	buf_free(&r->spare_in);
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

/* Whether body (valid JSON) holds a NUL character, raw or as a \u0000
 * escape.  cJSON ends a string there, so a value holding one would be
 * read cut short ("0xf4\u0000240" as "0xf4").  Escapes are walked from
 * backslash to backslash (memchr: answers of hex strings have none), so
 * an escaped backslash before "u0000" is not taken for one. */
static int
body_has_nul(const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	if (memchr(body, '\0', len) != NULL)
		return 1;
	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
			return 1;
		p += end - p >= 2 ? 2 : 1;      /* past the escaped character */
	}
	return 0;
}

/* Validates a response body against job j.  Returns 0 when trusted (the
 * job holds the results), 1 to retry (*why set), -1 when a retry cannot
 * help (*why set). */
static int
job_accept(const struct rpc_work *w, struct job *j, const char *body, size_t len, char **why)
{
	cJSON *resp;
	cJSON **res = NULL;
	const cJSON *item;
	int rc = 1;

	*why = NULL;
	json_region_free(&j->region);
	json_region_begin(&j->region);
	resp = cJSON_ParseWithLength(body, len);
	json_region_end();
	if (resp == NULL) {
		*why = xasprintf("response is not valid JSON (%zu bytes)", len);
		goto out;
	}
	if (body_has_nul(body, len)) {
		*why = xstrdup("response has a string with a NUL character (\\u0000)");
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
	json_region_free(&j->region);	/* resp */
	return rc;
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

/* Gives j's receive buffer back for the next job (growing a fresh one
 * through reallocs and page faults for every answer cost CPU). */
static void
job_drop_input(struct rpc *r, struct job *j)
{
	if (j->in.cap > r->spare_in.cap) {
		struct buf old = r->spare_in;

		r->spare_in = j->in;
		j->in = old;
	}
	buf_free(&j->in);
}

/* Judges a finished attempt: accepted, retried, or fatal (-1). */
static int
job_finish_attempt(struct rpc *r, const struct rpc_work *w, struct job *j, char *transport_err)
{
	char *why = transport_err;
	int rc;

	r->stats.requests++;
	r->stats.bytes_in += j->in.len;
	if (why == NULL) {
		rc = job_accept(w, j, j->in.data ? j->in.data : "", j->in.len, &why);
		if (rc == 0) {
			j->state = JOB_DONE;
			job_drop_input(r, j);
			return 0;
		}
		if (rc < 0) {
			log_error("%s: %s from %s", j->label, why,
			    r->prov[j->provider].uri ? r->prov[j->provider].uri : r->prov[j->provider].ipc_path);
			free(why);
			return -1;
		}
	}
	job_drop_input(r, j);
	if (j->attempts > r->max_retries) {
		log_error("%s: giving up after %d attempts: %s", j->label, j->attempts, why);
		free(why);
		return -1;
	}
	job_fail_attempt(r, j, why);
	return 0;
}

static int
job_start(struct rpc *r, const struct rpc_work *w, struct job *j)
{
	j->provider = pick_provider(r, j);
	j->attempts++;
	j->state = JOB_RUNNING;
	if (j->in.data == NULL) {
		j->in = r->spare_in;
		r->spare_in = (struct buf){0};
	}
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
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->label);
	free(j->body);
	free(j->last_error);
	free(j->results);
	json_region_free(&j->region);	/* j->response */
	buf_free(&j->in);
	free(j);
}

/* Serialises the requests of a new job with ids 0..n-1: each request as
 * cJSON prints it, into one reused buffer, behind the members the client
 * adds ({"jsonrpc":"2.0","id":K,...}); adding them to every tree and
 * printing the id numbers through cJSON cost more than the rest of a
 * receipts batch's request. */
static struct job *
job_new(struct rpc *r, const struct rpc_work *w, size_t index)
{
	struct job *j = xcalloc(1, sizeof(*j));
	cJSON *reqs = w->make(w->ctx, index, &j->label);
	struct buf body = {0};
	const cJSON *q;
	size_t k = 0;

	if (j->label == NULL)
		j->label = xasprintf("request batch %zu", index);
	buf_putc(&body, '[');
	cJSON_ArrayForEach(q, reqs) {
		while (r->scratch == NULL ||
		    !cJSON_PrintPreallocated((cJSON *)q, r->scratch, (int)r->scratch_cap, 0)) {
			r->scratch_cap = r->scratch_cap ? r->scratch_cap * 2 : 256;
			r->scratch = xrealloc(r->scratch, r->scratch_cap);
		}
		buf_printf(&body, "%s{\"jsonrpc\":\"2.0\",\"id\":%zu", k ? "," : "", k);
		if (r->scratch[1] != '}')
			buf_putc(&body, ',');
		buf_puts(&body, r->scratch + 1);	/* past its '{' */
		k++;
	}
	buf_putc(&body, ']');
	j->index = index;
	j->nreq = k;
	j->body = buf_detach(&body);
	cJSON_Delete(reqs);
	return j;
}

/* The jobs of rpc_run between the oldest undelivered and the newest. */
struct run {
	struct rpc *r;
	const struct rpc_work *w;
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

int
rpc_run(struct rpc *r, const struct rpc_work *w)
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

			if (w->done(w->ctx, j->index, j->results, j->nreq) < 0)
				rc = -1;
			job_free(j);
			u.live[u.delivered++ % u.window] = NULL;
			if (rc)
				break;
		}
		if (rc || u.delivered == w->njobs)
			break;
		while (u.started < w->njobs && u.started < u.delivered + u.window) {
			u.live[u.started % u.window] = job_new(u.r, w, u.started);
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
		job_free(j);
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
