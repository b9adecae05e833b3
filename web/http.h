/*
 * http.h: what the server (server.c) shares with the handlers (api_*.c,
 * logs.c, analytics.c, metrics.c): the server state, one request, the
 * replies, and the handler functions the route table names.  Internal to
 * web/; other modules use web.h.
 */
#ifndef STA_WEB_HTTP_H
#define STA_WEB_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>
#include <microhttpd.h>
#include <sqlite3.h>

#include "lib/util.h"
#include "runner/dag.h"
#include "runner/store.h"
#include "web/auth.h"
#include "web/web.h"

/* Request bodies larger than this get 413. */
#define WEB_BODY_MAX (1024 * 1024)

struct dagcache;
struct log_stream;
struct web_job;

struct web {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	ev_io io;                   /* MHD's epoll fd */
	ev_timer timer;             /* MHD's next timeout */
	ev_check check;             /* runs MHD after every poll */
	ev_async async;             /* a worker thread finished a job */
	ev_timer tick;              /* wakes suspended log streams */
	char *home;
	char *dags_folder;
	char *analytics_db;
	char *static_dir;           /* NULL when no UI files were found */
	struct strv static_files;   /* the names that may be served */
	int port;
	int auth_required;
	int loopback;               /* bound to a loopback address */
	int in_scheduler;
	sqlite3 *db;                /* reads, and the users/tokens/sessions tables */
	struct store *store;        /* writes, through runner/ops.h */
	struct dagcache *dags;
	struct web_stmt *stmts;     /* prepared statements on db, by SQL text */
	struct log_stream *streams; /* log responses that follow a running try */
	pthread_mutex_t jobs_lock;
	struct web_job *jobs_done;  /* finished in a thread, not yet delivered */
	int jobs_running;
	int logins_running;         /* of jobs_running */
	pthread_t *threads;         /* running workers, joined at stop */
	size_t n_threads;
	uint64_t responses[6];      /* by status class: [2] = 2xx ... [5] = 5xx */
	int64_t started_ms;
};

/* One HTTP request, from its headers to its completion. */
struct web_req {
	struct web *w;
	struct MHD_Connection *conn;
	const char *method;         /* MHD's; "HEAD" is routed as "GET" */
	char **seg;                 /* decoded path segments */
	size_t nseg;
	struct buf body;
	int body_too_large;
	int dispatched;
	int suspended;
	/* who: set before the handler runs (for public routes, may be none) */
	struct auth_user user;
	int cookie_auth;            /* authenticated by session cookie */
	char *actor;                /* "api:USER", for the audit log */
	/* the reply */
	unsigned status;
	struct MHD_Response *resp;
	struct strv decoded;        /* query values handed out, freed at the end */
};

/* A piece of work for a worker thread (password hashing, which would
 * otherwise stall the loop for a tenth of a second).  work runs in the
 * thread and touches only the job; done runs on the loop afterwards and
 * must set the request's reply.  The job belongs to the server from
 * web_defer on and is freed (with free_fn for arg) after done. */
struct web_job {
	struct web_req *req;
	void (*work)(struct web_job *j);
	void (*done)(struct web_job *j);
	void (*free_fn)(void *arg);
	void *arg;
	int result;
	int login;                  /* a login: counted in its own pool */
	pthread_t thread;
	struct web_job *next;
};

/* Suspends the request and runs j->work in a thread.  Returns 0, or -1
 * when too many jobs run already (the caller replies 503 and frees j). */
int web_defer(struct web_req *r, struct web_job *j);

/* Replies.  Each sets the request's response once; a later call on the
 * same request is ignored.  json and text bodies are copied or owned as
 * stated. */
void web_reply(struct web_req *r, unsigned status, struct MHD_Response *resp);
void web_reply_json(struct web_req *r, unsigned status, cJSON *v);     /* frees v */
void web_reply_error(struct web_req *r, unsigned status, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
void web_reply_text(struct web_req *r, unsigned status, const char *ctype,
    const char *text, size_t len);                                    /* copies */
void web_reply_redirect(struct web_req *r, const char *location);

/* The decoded value of query parameter key, or NULL.  Valid until the
 * request ends. */
const char *web_query(struct web_req *r, const char *key);
/* Adds the challenge (WWW-Authenticate) every 401 answer carries; call
 * after the reply. */
void web_challenge(struct web_req *r);
/* A request header, or NULL. */
const char *web_header(struct web_req *r, const char *name);
/* Parses the body as a JSON object whose members are among fields (a
 * NULL-terminated list), each at most once.  On failure replies 415 (not
 * JSON) or 400 (malformed, not UTF-8, not an object, an unknown or
 * repeated field, named) and returns NULL.  Caller frees. */
cJSON *web_body_json(struct web_req *r, const char *const *fields);
/* Reads query parameter key as an integer in [min, max]; absent: def.
 * Returns 0, or -1 after replying 400. */
int web_query_int(struct web_req *r, const char *key, int64_t def, int64_t min,
    int64_t max, int64_t *out);
/* Decodes %XX escapes (and '+' as space when plus) in place; returns -1
 * for a malformed escape or an encoded NUL. */
int web_unescape(char *s, int plus);

/* A read-only connection of its own to the database at path, for a
 * worker thread (caller closes).  NULL with the reason logged. */
sqlite3 *web_db_open_ro(const char *path);
/* A cached prepared statement on w->db for this SQL text (reset, with no
 * bindings), or NULL with the error logged. */
sqlite3_stmt *web_stmt(struct web *w, const char *sql);
void web_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Column i as a JSON string (or null), and as an ISO time from Unix ms
 * (null when 0) or Unix seconds. */
cJSON *web_col_string(sqlite3_stmt *st, int i);
cJSON *web_json_ms(int64_t ms);
cJSON *web_json_time(sta_time t);
/* Formats Unix ms as "YYYY-MM-DDTHH:MM:SS.mmm+00:00" into out[40]. */
void web_format_ms(int64_t ms, char *out);

/* The DAG folder, cached and re-read when its files change.  The
 * returned DAGs stay valid until the next dagcache_* call. */
struct dagcache *dagcache_new(const char *folder);
void dagcache_free(struct dagcache *c);
void dagcache_get(struct dagcache *c, struct dag *const **dags, size_t *n,
    const struct strv **errors);
const struct dag *dagcache_find(struct dagcache *c, const char *dag_id);

/* The loaded DAG named by segment i, or NULL after replying 404. */
const struct dag *web_dag_arg(struct web_req *r, size_t i);
/* The run of dag named by segment i (caller clears), or -1 after
 * replying 404/500. */
int web_run_arg(struct web_req *r, const struct dag *dag, size_t i, struct store_run *out);

/* Paging by cursor: the next_cursor of the page before (older runs
 * follow); INT64_MAX without one.  Returns 0, or -1 after replying 400. */
int web_cursor_arg(struct web_req *r, int64_t *before);
/* A run as the API shows it.  Caller frees. */
cJSON *web_run_json(const struct store_run *run);

/* Tells a running scheduler to re-read the store (sched_notify). */
void web_notify_scheduler(struct web *w);

/* Log streams (logs.c). */
/* A masker for the values of the secret variables now in the store
 * (web/logmask.h).  Caller frees with logmask_free. */
struct logmask *logs_secret_mask(struct web *w);
void logs_tick(struct web *w);
void logs_stop_all(struct web *w);

/* Handlers, one per route (server.c holds the table). */
void api_health(struct web_req *r);
void api_ready(struct web_req *r);
void api_metrics(struct web_req *r);
void api_dags_list(struct web_req *r);
void api_dag_get(struct web_req *r);
void api_dag_patch(struct web_req *r);
void api_dag_grid(struct web_req *r);
void api_runs_list(struct web_req *r);
void api_run_trigger(struct web_req *r);
void api_run_get(struct web_req *r);
void api_run_clear(struct web_req *r);
void api_ti_get(struct web_req *r);
void api_ti_patch(struct web_req *r);
void api_try_log(struct web_req *r);
void api_pools(struct web_req *r);
void api_variables(struct web_req *r);
void api_audit(struct web_req *r);
void api_analytics_list(struct web_req *r);
void api_analytics_table(struct web_req *r);
void api_session(struct web_req *r);
void api_login(struct web_req *r);
void api_logout(struct web_req *r);
void api_users_list(struct web_req *r);
void api_users_create(struct web_req *r);
void api_users_delete(struct web_req *r);
void api_tokens_list(struct web_req *r);
void api_tokens_create(struct web_req *r);
void api_tokens_delete(struct web_req *r);
void ui_login_page(struct web_req *r);
void ui_login_post(struct web_req *r);

#endif
