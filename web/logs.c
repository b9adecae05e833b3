/*
 * logs.c: the log of one try, looked up by its ids in the store (never by
 * a path from the client), sent as a chunked response that follows the
 * growing file while the try runs and ends when the try has ended and the
 * file is read to its end.
 *
 * A stream with nothing to send suspends its connection; a 250 ms timer
 * (w->tick) re-checks the try's state and resumes the waiting streams, so
 * a following client costs nothing between checks and the loop never
 * blocks on a file.  Values of secret variables are replaced by "***" on
 * the way out; bytes that might begin a secret are held back until the
 * next read shows whether they do.
 */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "web/http.h"
#include "web/logmask.h"

#define READ_CHUNK (64 * 1024)

struct log_stream {
	struct web *w;
	struct MHD_Connection *conn;
	int64_t try_pk;
	char *path;
	int fd;                     /* -1 until the file exists */
	int running;                /* the try was running at the last check */
	int follow;
	int suspended;
	struct buf out;             /* masked, ready to send */
	size_t out_pos;
	struct logmask *mask;       /* holds back what may begin a secret */
	struct log_stream *next;
};

static const char SQL_TRY_STATE[] = "SELECT state FROM task_tries WHERE id = ?1";

static int
try_running(struct web *w, int64_t pk)
{
	sqlite3_stmt *st = web_stmt(w, SQL_TRY_STATE);
	int running = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, pk);
	if (sqlite3_step(st) == SQLITE_ROW)
		running = strcmp((const char *)sqlite3_column_text(st, 0), "running") == 0;
	sqlite3_reset(st);
	return running;
}

/* ------------------------------------------------------------ masking */

static int
secret_cb(void *arg, const char *key, const char *value, int is_secret)
{
	struct strv *sv = arg;

	(void)key;
	if (is_secret && value != NULL)
		strv_push(sv, value);
	return 0;
}

struct logmask *
logs_secret_mask(struct web *w)
{
	struct strv sv = {0};
	struct logmask *m;

	store_vars_list(w->store, secret_cb, &sv);
	m = logmask_new((const char *const *)sv.v, sv.n);
	strv_free(&sv);
	return m;
}

/* ------------------------------------------------------------ reading */

/* Reads what the file has beyond what was read into out, masked.
 * Returns bytes read, 0 at its end (or while it does not exist yet), -1
 * on an error. */
static ssize_t
read_more(struct log_stream *s)
{
	char chunk[READ_CHUNK];
	ssize_t n;

	if (s->fd < 0) {
		s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return errno == ENOENT ? 0 : -1;
	}
	do
		n = read(s->fd, chunk, sizeof(chunk));
	while (n < 0 && errno == EINTR);
	if (n > 0)
		logmask_feed(s->mask, chunk, (size_t)n, &s->out);
	return n;
}

static void
stream_wait(struct log_stream *s)
{
	MHD_suspend_connection(s->conn);
	s->suspended = 1;
	if (!ev_is_active(&s->w->tick)) {
		ev_timer_again(s->w->loop, &s->w->tick);
	}
}

static ssize_t
reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *s = cls;
	ssize_t n;

	(void)pos;
	for (;;) {
		if (s->out_pos < s->out.len) {
			size_t k = s->out.len - s->out_pos;

			k = k < max ? k : max;
			memcpy(buf, s->out.data + s->out_pos, k);
			s->out_pos += k;
			return (ssize_t)k;
		}
		s->out.len = s->out_pos = 0;
		n = read_more(s);
		if (n > 0)
			continue;
		if (n < 0) {
			log_warn("web: reading %s: %s", s->path, strerror(errno));
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (s->follow && s->running) {
			stream_wait(s);
			return 0;
		}
		if (logmask_pending(s->mask) > 0) {
			logmask_flush(s->mask, &s->out);
			continue;
		}
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void
stream_free(void *cls)
{
	struct log_stream *s = cls;

	for (struct log_stream **p = &s->w->streams; *p != NULL; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	if (s->fd >= 0)
		close(s->fd);
	buf_free(&s->out);
	logmask_free(s->mask);
	free(s->path);
	free(s);
}

void
logs_tick(struct web *w)
{
	int waiting = 0;

	for (struct log_stream *s = w->streams; s != NULL; s = s->next) {
		if (!s->suspended)
			continue;
		if (s->running)
			s->running = try_running(w, s->try_pk);
		s->suspended = 0;
		MHD_resume_connection(s->conn);
		waiting = 1;
	}
	if (!waiting)
		ev_timer_stop(w->loop, &w->tick);
}

void
logs_stop_all(struct web *w)
{
	for (struct log_stream *s = w->streams; s != NULL; s = s->next) {
		s->follow = 0;
		if (s->suspended) {
			s->suspended = 0;
			MHD_resume_connection(s->conn);
		}
	}
}

/* ------------------------------------------------------------ handler */

struct find_try {
	int number;
	struct store_try *out;
	int found;
};

static int
find_try_cb(void *arg, const struct store_try *t)
{
	struct find_try *f = arg;

	if (f->found || t->try_number != f->number)
		return 0;
	f->found = 1;
	f->out->pk = t->pk;
	f->out->state = t->state;
	f->out->log_path = xstrdup(t->log_path);
	return 0;
}

void
api_try_log(struct web_req *r)
{
	struct store_run run = {0};
	struct store_ti ti = {0};
	struct store_try t = {0};
	struct find_try f = { 0, &t, 0 };
	struct MHD_Response *resp;
	struct log_stream *s;
	const char *follow = web_query(r, "follow");
	int64_t n;

	/* Only ids, looked up in the store; the DAG file need not exist. */
	if (store_run_get(r->w->store, r->seg[3], r->seg[5], &run) != 0) {
		web_reply_error(r, 404, "DAG %s has no run '%s'", r->seg[3], r->seg[5]);
		goto out;
	}
	if (store_ti_get(r->w->store, run.pk, r->seg[7], &ti) != 0) {
		web_reply_error(r, 404, "run %s has no task instance '%s'", run.run_id, r->seg[7]);
		goto out;
	}
	if (parse_int64(r->seg[9], &n) != 0 || n < 1 || n > ti.try_number) {
		web_reply_error(r, 404, "task instance %s has no try '%s' (tries: %d)", r->seg[7],
		    r->seg[9], ti.try_number);
		goto out;
	}
	f.number = (int)n;
	if (store_tries_of_ti(r->w->store, ti.pk, find_try_cb, &f) != 0 || !f.found) {
		web_reply_error(r, 404, "task instance %s has no try %lld", r->seg[7], (long long)n);
		goto out;
	}
	s = xcalloc(1, sizeof(*s));
	s->w = r->w;
	s->conn = r->conn;
	s->try_pk = t.pk;
	s->path = t.log_path;
	t.log_path = NULL;
	s->running = t.state == TI_RUNNING;
	s->follow = follow == NULL || (strcmp(follow, "false") != 0 && strcmp(follow, "0") != 0);
	s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 && !s->running) {
		web_reply_error(r, 404, "the log of try %lld of %s is gone", (long long)n, r->seg[7]);
		stream_free(s);
		goto out;
	}
	s->mask = logs_secret_mask(r->w);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, s,
	    stream_free);
	if (resp == NULL) {
		stream_free(s);
		web_reply_error(r, 500, "out of memory");
		goto out;
	}
	s->next = r->w->streams;
	r->w->streams = s;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Sta-Try-State", ti_state_name(t.state));
	web_reply(r, 200, resp);
out:
	store_try_clear(&t);
	store_ti_clear(&ti);
	store_run_clear(&run);
}
