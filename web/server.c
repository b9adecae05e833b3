/*
 * server.c: the HTTP server.  libmicrohttpd parses HTTP; this file drives
 * it from a libev loop, applies the limits (header memory, body size,
 * connection count, idle timeout), routes requests, checks who is asking
 * and what their role allows, and builds the replies every handler uses.
 *
 * Loop integration: MHD runs in its "external" mode on an epoll set of
 * its own.  One ev_io watches that set, one ev_timer follows
 * MHD_get_timeout, and MHD_run is called from an ev_check watcher of the
 * highest priority, i.e. right after each poll and before any other
 * callback of that loop iteration.  This matters when the scheduler shares
 * the loop: the scheduler batches its state changes of one iteration in a
 * transaction that its prepare watcher commits, so at check time no
 * transaction of the scheduler is open and a write from the API (which
 * takes the database's write lock through a second connection) cannot wait
 * on a lock held by its own thread.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "runner/sched.h"
#include "web/http.h"

#define MAX_CONNECTIONS 256
/* Worker threads: logins (Argon2id, 64 MB each) have their own pool, so
 * a burst of them never leaves metrics or analytics without a thread. */
#define MAX_LOGINS 4
#define MAX_OTHER_JOBS 4
#define HEADER_MEMORY (64 * 1024)
#define DEFAULT_TIMEOUT 15
#define DEFAULT_PER_IP 16

#ifndef STA_PKGDATADIR
#define STA_PKGDATADIR "/usr/local/share/sta"
#endif

/* Route flags. */
enum {
	R_PUBLIC = 1,       /* no credentials needed */
	R_PAGE = 2,         /* a UI page: without credentials, redirect to /login */
	R_FORM = 4,         /* an HTML form's target: its body is not JSON */
};

struct route {
	const char *method;
	const char *path;       /* segments; "*" matches any one */
	enum auth_role role;
	int flags;
	void (*fn)(struct web_req *r);
};

static void ui_index(struct web_req *r);
static void ui_static(struct web_req *r);

static const struct route routes[] = {
	{ "GET", "healthz", AUTH_NONE, R_PUBLIC, api_health },
	{ "GET", "readyz", AUTH_NONE, R_PUBLIC, api_ready },
	{ "GET", "metrics", AUTH_VIEWER, 0, api_metrics },
	{ "GET", "login", AUTH_NONE, R_PUBLIC, ui_login_page },
	{ "POST", "login", AUTH_NONE, R_PUBLIC | R_FORM, ui_login_post },
	{ "GET", "", AUTH_VIEWER, R_PAGE, ui_index },
	{ "GET", "static/style.css", AUTH_NONE, R_PUBLIC, ui_static },
	{ "GET", "static/*", AUTH_VIEWER, R_PAGE, ui_static },
	{ "GET", "api/v1/session", AUTH_NONE, R_PUBLIC, api_session },
	{ "POST", "api/v1/login", AUTH_NONE, R_PUBLIC, api_login },
	{ "POST", "api/v1/logout", AUTH_VIEWER, 0, api_logout },
	{ "GET", "api/v1/dags", AUTH_VIEWER, 0, api_dags_list },
	{ "GET", "api/v1/dags/*", AUTH_VIEWER, 0, api_dag_get },
	{ "PATCH", "api/v1/dags/*", AUTH_OPERATOR, 0, api_dag_patch },
	{ "GET", "api/v1/dags/*/grid", AUTH_VIEWER, 0, api_dag_grid },
	{ "GET", "api/v1/dags/*/runs", AUTH_VIEWER, 0, api_runs_list },
	{ "POST", "api/v1/dags/*/runs", AUTH_OPERATOR, 0, api_run_trigger },
	{ "GET", "api/v1/dags/*/runs/*", AUTH_VIEWER, 0, api_run_get },
	{ "POST", "api/v1/dags/*/runs/*/clear", AUTH_OPERATOR, 0, api_run_clear },
	{ "GET", "api/v1/dags/*/runs/*/tasks/*", AUTH_VIEWER, 0, api_ti_get },
	{ "PATCH", "api/v1/dags/*/runs/*/tasks/*", AUTH_OPERATOR, 0, api_ti_patch },
	{ "GET", "api/v1/dags/*/runs/*/tasks/*/tries/*/log", AUTH_VIEWER, 0, api_try_log },
	{ "GET", "api/v1/pools", AUTH_VIEWER, 0, api_pools },
	{ "GET", "api/v1/variables", AUTH_VIEWER, 0, api_variables },
	{ "GET", "api/v1/audit", AUTH_VIEWER, 0, api_audit },
	{ "GET", "api/v1/analytics", AUTH_VIEWER, 0, api_analytics_list },
	{ "GET", "api/v1/analytics/*", AUTH_VIEWER, 0, api_analytics_table },
	{ "GET", "api/v1/users", AUTH_ADMIN, 0, api_users_list },
	{ "POST", "api/v1/users", AUTH_ADMIN, 0, api_users_create },
	{ "DELETE", "api/v1/users/*", AUTH_ADMIN, 0, api_users_delete },
	{ "GET", "api/v1/tokens", AUTH_ADMIN, 0, api_tokens_list },
	{ "POST", "api/v1/tokens", AUTH_ADMIN, 0, api_tokens_create },
	{ "DELETE", "api/v1/tokens/*", AUTH_ADMIN, 0, api_tokens_delete },
};

struct web_stmt {
	const char *sql;            /* the handler's static text: compared by address */
	sqlite3_stmt *st;
	struct web_stmt *next;
};

/* ------------------------------------------------------------- replies */

static void
add_common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
}

void
web_reply(struct web_req *r, unsigned status, struct MHD_Response *resp)
{
	if (r->resp != NULL) {
		MHD_destroy_response(resp);
		return;
	}
	add_common_headers(resp);
	r->status = status;
	r->resp = resp;
}

void
web_reply_text(struct web_req *r, unsigned status, const char *ctype, const char *text,
    size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)text,
	    MHD_RESPMEM_MUST_COPY);

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	web_reply(r, status, resp);
}

void
web_reply_json(struct web_req *r, unsigned status, cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	struct MHD_Response *resp;

	cJSON_Delete(v);
	if (s == NULL) {
		web_reply_text(r, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
		return;
	}
	resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	web_reply(r, status, resp);
}

void
web_challenge(struct web_req *r)
{
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"sta\"");
}

void
web_reply_error(struct web_req *r, unsigned status, const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	struct buf b = {0}, shown = {0};
	va_list ap;
	size_t k;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	/* Ids from the path are quoted as sent: bytes that are not UTF-8
	 * become U+FFFD, so the answer stays valid JSON. */
	for (size_t i = 0; i < b.len; i += k) {
		k = utf8_seq((const unsigned char *)b.data + i, b.len - i);
		if (k == 0)
			buf_puts(&shown, "\xEF\xBF\xBD");
		else
			buf_append(&shown, b.data + i, k);
		k = k > 0 ? k : 1;
	}
	cJSON_AddStringToObject(o, "error", shown.data != NULL ? shown.data : "");
	cJSON_AddNumberToObject(o, "status", status);
	buf_free(&shown);
	buf_free(&b);
	web_reply_json(r, status, o);
}

void
web_reply_redirect(struct web_req *r, const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"",
	    MHD_RESPMEM_PERSISTENT);

	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	web_reply(r, 303, resp);
}

/* ------------------------------------------------------- request input */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
web_unescape(char *s, int plus)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*out++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*out++ = plus && *s == '+' ? ' ' : *s;
		}
	}
	*out = '\0';
	return 0;
}

/* MHD would decode %2F in the path before we split it into segments;
 * leave the text as sent and decode each segment ourselves. */
static size_t
unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

const char *
web_header(struct web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
web_query(struct web_req *r, const char *key)
{
	const char *raw = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
	char *v;

	if (raw == NULL)
		return NULL;
	v = xstrdup(raw);
	/* MHD has turned '+' into ' ' already; %2B stays a '+'.  dispatch
	 * has refused requests with a malformed value, so this cannot fail. */
	if (web_unescape(v, 0) != 0) {
		free(v);
		return NULL;
	}
	strv_push_take(&r->decoded, v);
	return v;
}

int
web_query_int(struct web_req *r, const char *key, int64_t def, int64_t min, int64_t max,
    int64_t *out)
{
	const char *v = web_query(r, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (parse_int64(v, out) != 0 || *out < min || *out > max) {
		web_reply_error(r, 400, "query parameter %s must be an integer from %lld to %lld",
		    key, (long long)min, (long long)max);
		return -1;
	}
	return 0;
}

/* Whether the request says its body is JSON.  Cross-site HTML forms
 * cannot send this type without a CORS preflight, which we never grant. */
static int
is_json_type(struct web_req *r)
{
	const char *ct = web_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

	return ct != NULL && strncasecmp(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* What cJSON lets through but must not reach the store: bytes that are
 * not UTF-8 (every later answer showing them would be invalid JSON),
 * control characters in strings, and \u0000, which would cut a C string
 * short.  Returns NULL, or the reason with *at set to its byte. */
static const char *
json_text_bad(const char *text, size_t len, size_t *at)
{
	const unsigned char *s = (const unsigned char *)text;
	int in_string = 0;
	size_t i = 0, k;

	while (i < len) {
		*at = i;
		if ((k = utf8_seq(s + i, len - i)) == 0)
			return "is not valid UTF-8";
		if (in_string && s[i] < 0x20)
			return "has a control character in a string (escape it)";
		if (in_string && s[i] == '\\') {
			if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
				return "has \\u0000 in a string";
			k = i + 1 < len && s[i + 1] < 0x80 ? 2 : 1;
		} else if (s[i] == '"') {
			in_string = !in_string;
		}
		i += k;
	}
	return NULL;
}

/* A misspelt field must not be ignored, nor one given twice be read one
 * way by a proxy and another by us.  Returns 0, or -1 after a 400 naming
 * the member of obj that is not among fields (NULL-terminated). */
static int
body_fields_check(struct web_req *r, const cJSON *obj, const char *const *fields)
{
	const cJSON *item;
	struct buf names = {0};
	size_t i;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; fields[i] != NULL && strcmp(fields[i], item->string) != 0; i++)
			;
		if (fields[i] == NULL) {
			for (i = 0; fields[i] != NULL; i++)
				buf_printf(&names, "%s%s", i > 0 ? ", " : "", fields[i]);
			web_reply_error(r, 400, "unknown field '%s' (fields: %s)", item->string,
			    names.data != NULL ? names.data : "none");
			buf_free(&names);
			return -1;
		}
		if (cJSON_GetObjectItemCaseSensitive(obj, item->string) != item) {
			web_reply_error(r, 400, "field '%s' is given twice", item->string);
			return -1;
		}
	}
	return 0;
}

cJSON *
web_body_json(struct web_req *r, const char *const *fields)
{
	const char *end = NULL, *why;
	size_t at = 0, n;
	cJSON *v;

	if (!is_json_type(r)) {
		web_reply_error(r, 415, "the body must be JSON (Content-Type: application/json)");
		return NULL;
	}
	if (r->body.len == 0) {
		web_reply_error(r, 400, "the request needs a JSON object body");
		return NULL;
	}
	if ((why = json_text_bad(r->body.data, r->body.len, &at)) != NULL) {
		web_reply_error(r, 400, "the JSON body %s (byte %zu)", why, at);
		return NULL;
	}
	v = cJSON_ParseWithLengthOpts(r->body.data, r->body.len, &end, 0);
	if (v == NULL) {
		at = end != NULL && end >= r->body.data ? (size_t)(end - r->body.data) : 0;
		web_reply_error(r, 400, "malformed JSON body near byte %zu", at);
		return NULL;
	}
	/* cJSON stops after the first value: anything but space after it
	 * would be dropped unseen. */
	n = (size_t)(end - r->body.data) + strspn(end, " \t\r\n");    /* the buf ends in NUL */
	if (n < r->body.len) {
		cJSON_Delete(v);
		web_reply_error(r, 400, "malformed JSON body: more after the value at byte %zu", n);
		return NULL;
	}
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		web_reply_error(r, 400, "the JSON body must be an object");
		return NULL;
	}
	if (body_fields_check(r, v, fields) != 0) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* ------------------------------------------------------------ database */

sqlite3 *
web_db_open_ro(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		log_warn("web: %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

sqlite3_stmt *
web_stmt(struct web *w, const char *sql)
{
	struct web_stmt *s;

	for (s = w->stmts; s != NULL; s = s->next)
		if (s->sql == sql)
			break;
	if (s == NULL) {
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
		    NULL) != SQLITE_OK) {
			log_error("web: %s: %s", sql, sqlite3_errmsg(w->db));
			return NULL;
		}
		s = xcalloc(1, sizeof(*s));
		s->sql = sql;
		s->st = st;
		s->next = w->stmts;
		w->stmts = s;
	}
	sqlite3_reset(s->st);
	sqlite3_clear_bindings(s->st);
	return s->st;
}

void
web_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

cJSON *
web_col_string(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v != NULL ? cJSON_CreateString((const char *)v) : cJSON_CreateNull();
}

void
web_format_ms(int64_t ms, char *out)
{
	char iso[TIME_ISO_LEN];

	time_format_iso(ms / 1000, iso);
	/* "YYYY-MM-DDTHH:MM:SS+00:00": put the milliseconds before the offset */
	snprintf(out, 40, "%.19s.%03d%s", iso, (int)(ms % 1000), iso + 19);
}

cJSON *
web_json_ms(int64_t ms)
{
	char s[40];

	if (ms <= 0)
		return cJSON_CreateNull();
	web_format_ms(ms, s);
	return cJSON_CreateString(s);
}

cJSON *
web_json_time(sta_time t)
{
	char iso[TIME_ISO_LEN];

	time_format_iso(t, iso);
	return cJSON_CreateString(iso);
}

void
web_notify_scheduler(struct web *w)
{
	if (w->in_scheduler)
		kill(getpid(), SIGUSR1);
	else
		sched_notify(w->home);
}

/* ------------------------------------------------------- worker threads */

static void *
job_thread(void *arg)
{
	struct web_job *j = arg;
	struct web *w = j->req->w;

	j->work(j);
	pthread_mutex_lock(&w->jobs_lock);
	j->next = w->jobs_done;
	w->jobs_done = j;
	pthread_mutex_unlock(&w->jobs_lock);
	ev_async_send(w->loop, &w->async);
	return NULL;
}

int
web_defer(struct web_req *r, struct web_job *j)
{
	struct web *w = r->w;

	if (j->login ? w->logins_running >= MAX_LOGINS :
	    w->jobs_running - w->logins_running >= MAX_OTHER_JOBS)
		return -1;
	j->req = r;
	MHD_suspend_connection(r->conn);
	r->suspended = 1;
	if (pthread_create(&j->thread, NULL, job_thread, j) != 0) {
		log_error("web: cannot start a worker thread: %s", strerror(errno));
		MHD_resume_connection(r->conn);
		r->suspended = 0;
		return -1;
	}
	w->jobs_running++;
	w->logins_running += j->login;
	return 0;
}

/* Delivers finished jobs: their done callback replies (it may write to
 * the database, hence from the check watcher, see the top of this file)
 * and the connection resumes, so MHD calls the request handler again to
 * send the reply. */
static void
jobs_deliver(struct web *w)
{
	struct web_job *list;

	pthread_mutex_lock(&w->jobs_lock);
	list = w->jobs_done;
	w->jobs_done = NULL;
	pthread_mutex_unlock(&w->jobs_lock);
	while (list != NULL) {
		struct web_job *j = list;

		list = j->next;
		pthread_join(j->thread, NULL);
		w->jobs_running--;
		w->logins_running -= j->login;
		j->done(j);
		j->req->suspended = 0;
		MHD_resume_connection(j->req->conn);
		if (j->free_fn != NULL)
			j->free_fn(j->arg);
		free(j);
	}
}

static void
async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop;
	(void)a;
	(void)revents;          /* woke the loop: the check watcher delivers */
}

/* -------------------------------------------------------- static files */

static int
static_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < 128 && name[0] != '.' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* The UI folder: the option, $STA_WEB_STATIC, the installed copy, then
 * the source tree this binary was built from.  NULL when none has an
 * index.html. */
static char *
static_dir_find(const char *opt)
{
	const char *env = getenv("STA_WEB_STATIC");
	char *cands[4] = {
		opt != NULL ? xstrdup(opt) : NULL,
		env != NULL && env[0] != '\0' ? xstrdup(env) : NULL,
		xstrdup(STA_PKGDATADIR "/static"),
#ifdef STA_ABS_SRCDIR
		xstrdup(STA_ABS_SRCDIR "/web/static"),
#else
		NULL,
#endif
	};
	char *found = NULL;

	for (size_t i = 0; i < ARRAY_LEN(cands); i++) {
		if (cands[i] != NULL && found == NULL) {
			char *index = xasprintf("%s/index.html", cands[i]);

			if (fs_exists(index))
				found = cands[i];
			else if (i < 2)
				log_warn("web: %s has no index.html", cands[i]);
			free(index);
		}
		if (cands[i] != found)
			free(cands[i]);
	}
	return found;
}

static void
static_scan(struct web *w)
{
	DIR *d = w->static_dir ? opendir(w->static_dir) : NULL;
	struct dirent *e;

	if (d == NULL) {
		log_warn("web: no UI files found (set STA_WEB_STATIC); the API works without them");
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (static_name_ok(e->d_name))
			strv_push(&w->static_files, e->d_name);
	closedir(d);
}

static const char *
content_type(const char *name)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};

	for (size_t i = 0; i < ARRAY_LEN(types); i++)
		if (str_has_suffix(name, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

/* Serves a file of the UI folder by name; only names seen in the folder
 * at start are served, so no request can reach another file. */
static void
serve_static(struct web_req *r, const char *name)
{
	struct web *w = r->w;
	struct MHD_Response *resp;
	struct stat sb;
	char *path;
	int fd, known = 0;

	for (size_t i = 0; i < w->static_files.n && !known; i++)
		known = strcmp(w->static_files.v[i], name) == 0;
	if (!known) {
		web_reply_error(r, 404, "no such file");
		return;
	}
	path = xasprintf("%s/%s", w->static_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		web_reply_error(r, 404, "no such file");
		return;
	}
	resp = MHD_create_response_from_fd64((uint64_t)sb.st_size, fd);
	if (resp == NULL) {
		close(fd);
		web_reply_error(r, 500, "cannot send the file");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(name));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	if (str_has_suffix(name, ".html"))
		MHD_add_response_header(resp, "Content-Security-Policy",
		    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
		    " frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
	web_reply(r, 200, resp);
}

static void
ui_index(struct web_req *r)
{
	serve_static(r, "index.html");
}

static void
ui_static(struct web_req *r)
{
	serve_static(r, r->seg[1]);
}

/* ------------------------------------------------------------- routing */

static int
route_match(const struct route *rt, struct web_req *r)
{
	const char *p = rt->path;
	size_t i = 0;

	if (*p == '\0')
		return r->nseg == 0;
	while (*p != '\0') {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (i >= r->nseg)
			return 0;
		if (!(len == 1 && p[0] == '*') &&
		    (strlen(r->seg[i]) != len || strncmp(r->seg[i], p, len) != 0))
			return 0;
		i++;
		p += len + (slash != NULL);
	}
	return i == r->nseg;
}

/* Splits the path into decoded segments (empty ones dropped).  Returns -1
 * for a malformed escape. */
static int
split_path(struct web_req *r, const char *url)
{
	char *copy = xstrdup(url), *p = copy;
	int rc = 0;

	while (*p != '\0') {
		char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len > 0) {
			char *s = xstrndup(p, len);

			if (web_unescape(s, 0) != 0) {
				free(s);
				rc = -1;
				break;
			}
			r->seg = xreallocarray(r->seg, r->nseg + 1, sizeof(*r->seg));
			r->seg[r->nseg++] = s;
		}
		p += len + (slash != NULL);
	}
	free(copy);
	return rc;
}

/* Sets r->user from the request's credentials.  Returns 0, or -1 when
 * none are valid (the reason in *why). */
static int
identify(struct web_req *r, const char **why)
{
	struct web *w = r->w;
	const char *authz, *cookie;
	int rc;

	if (!w->auth_required) {
		r->user.name = xstrdup("local");
		r->user.role = AUTH_ADMIN;
		return 0;
	}
	authz = web_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	if (authz != NULL) {
		if (strncasecmp(authz, "Bearer ", 7) != 0) {
			*why = "the Authorization header must be 'Bearer TOKEN'";
			return -1;
		}
		rc = auth_token_lookup(w->db, authz + 7, &r->user);
		if (rc != 0) {
			*why = rc == STORE_NOT_FOUND ? "unknown or revoked API token" :
			    "cannot check the API token";
			return -1;
		}
		return 0;
	}
	cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "sta_session");
	if (cookie != NULL) {
		rc = auth_session_lookup(w->db, cookie, &r->user);
		if (rc == 0) {
			r->cookie_auth = 1;
			return 0;
		}
		*why = "the session has ended: log in again";
		return -1;
	}
	*why = "authentication required: an API token (Authorization: Bearer) or a session";
	return -1;
}

/* Cookie-authenticated writes must carry the session's CSRF token. */
static int
csrf_ok(struct web_req *r)
{
	const char *cookie, *sent;
	char want[65];

	if (!r->cookie_auth)
		return 1;
	cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "sta_session");
	sent = web_header(r, "X-CSRF-Token");
	if (cookie == NULL || sent == NULL || strlen(sent) != 64)
		return 0;
	auth_csrf_token(cookie, want);
	return sodium_memcmp(want, sent, 64) == 0;
}

/* Whether a Host header names this machine by a loopback name:
 * 127.x.x.x, [::1] or localhost, each with an optional port. */
static int
host_is_loopback(const char *host)
{
	const char *end, *port;
	char *name;
	struct in_addr a4;
	struct in6_addr a6;
	int ok;

	if (host[0] == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			return 0;
		port = end + 1;
		name = xstrndup(host + 1, (size_t)(end - host - 1));
	} else {
		end = strchr(host, ':');
		port = end != NULL ? end : host + strlen(host);
		name = xstrndup(host, (size_t)(port - host));
	}
	if (*port == ':' && (port[1] == '\0' || strlen(port + 1) > 5 ||
	    strspn(port + 1, "0123456789") != strlen(port + 1)))
		ok = 0;
	else if (*port != ':' && *port != '\0')
		ok = 0;
	else if (host[0] == '[')
		ok = inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	else
		ok = strcasecmp(name, "localhost") == 0 ||
		    (inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127);
	free(name);
	return ok;
}

/* Without a login every request is the admin "local", so only a page of
 * this server may ask: a foreign Host is a DNS-rebinding page, and a
 * write from another origin is a cross-site request.  Returns 0, or -1
 * after replying 403. */
static int
loopback_guard(struct web_req *r, int safe)
{
	const char *host = web_header(r, MHD_HTTP_HEADER_HOST);
	const char *origin, *site;

	if (host != NULL && !host_is_loopback(host)) {
		web_reply_error(r, 403, "without a login this server answers only requests "
		    "for 127.0.0.1, [::1] or localhost (the Host header names another host)");
		return -1;
	}
	if (safe)
		return 0;
	origin = web_header(r, "Origin");
	if (origin != NULL && (host == NULL || strncmp(origin, "http://", 7) != 0 ||
	    strcasecmp(origin + 7, host) != 0)) {
		web_reply_error(r, 403, "cross-origin writes are refused (Origin is not this server)");
		return -1;
	}
	site = web_header(r, "Sec-Fetch-Site");
	if (site != NULL && strcasecmp(site, "cross-site") == 0) {
		web_reply_error(r, 403, "cross-site writes are refused (Sec-Fetch-Site: cross-site)");
		return -1;
	}
	return 0;
}

/* Replies 405 with the Allow header listing the path's methods. */
static void
reply_405(struct web_req *r)
{
	struct buf allow = {0};

	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		if (!route_match(&routes[i], r))
			continue;
		buf_printf(&allow, "%s%s", allow.len > 0 ? ", " : "", routes[i].method);
		if (strcmp(routes[i].method, "GET") == 0)
			buf_printf(&allow, ", HEAD");
	}
	web_reply_error(r, 405, "method %s not allowed here (allowed: %s)", r->method,
	    allow.data);
	if (r->resp != NULL)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ALLOW, allow.data);
	buf_free(&allow);
}

static enum MHD_Result
query_check(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **bad = cls;
	char *v;
	int rc;

	(void)kind;
	if (value == NULL)
		return MHD_YES;
	v = xstrdup(value);
	rc = web_unescape(v, 0);
	free(v);
	if (rc != 0) {
		*bad = key;
		return MHD_NO;
	}
	return MHD_YES;
}

static void
dispatch(struct web_req *r)
{
	const struct route *rt = NULL;
	int path_known = 0;
	const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
	const char *why = NULL, *bad = NULL;
	int safe = strcmp(method, "GET") == 0;

	if (!r->w->auth_required && loopback_guard(r, safe) != 0)
		return;
	for (size_t i = 0; i < ARRAY_LEN(routes) && rt == NULL; i++) {
		if (!route_match(&routes[i], r))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, method) == 0)
			rt = &routes[i];
	}
	if (rt == NULL) {
		if (path_known)
			reply_405(r);
		else
			web_reply_error(r, 404, "no such resource");
		return;
	}
	/* A filter that cannot be decoded must not be dropped silently. */
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_check, &bad);
	if (bad != NULL) {
		web_reply_error(r, 400, "query parameter %s has a malformed %%-escape", bad);
		return;
	}
	/* Empty writes too: an HTML form elsewhere can post an empty body. */
	if (!r->w->auth_required && !safe && !(rt->flags & R_FORM) && !is_json_type(r)) {
		web_reply_error(r, 415, "writes must be sent with Content-Type: application/json "
		    "(even with no body)");
		return;
	}
	if (!(rt->flags & R_PUBLIC) || r->w->auth_required == 0) {
		if (identify(r, &why) != 0) {
			if (rt->flags & R_PAGE) {
				web_reply_redirect(r, "/login");
			} else {
				web_reply_error(r, 401, "%s", why);
				web_challenge(r);
			}
			return;
		}
	} else {
		/* A public route still learns who asks when it can. */
		if (identify(r, &why) != 0)
			auth_user_clear(&r->user);
	}
	if (!(rt->flags & R_PUBLIC) && r->user.role < rt->role) {
		web_reply_error(r, 403, "user %s has role %s; this needs %s", r->user.name,
		    auth_role_name(r->user.role), auth_role_name(rt->role));
		return;
	}
	if (!safe && !(rt->flags & R_PUBLIC) && !csrf_ok(r)) {
		web_reply_error(r, 403, "missing or wrong X-CSRF-Token for a session request");
		return;
	}
	if (r->user.name != NULL)
		r->actor = xasprintf("api:%s", r->user.name);
	rt->fn(r);
	if (r->resp == NULL && !r->suspended)
		web_reply_error(r, 500, "the handler gave no reply");
}

/* ------------------------------------------------------- MHD callbacks */

static void
req_free(struct web_req *r)
{
	for (size_t i = 0; i < r->nseg; i++)
		free(r->seg[i]);
	free(r->seg);
	buf_free(&r->body);
	auth_user_clear(&r->user);
	free(r->actor);
	strv_free(&r->decoded);
	if (r->resp != NULL)
		MHD_destroy_response(r->resp);
	free(r);
}

static enum MHD_Result
queue_reply(struct web_req *r)
{
	enum MHD_Result rc;
	unsigned cls = r->status / 100;

	if (cls < ARRAY_LEN(r->w->responses))
		r->w->responses[cls]++;
	rc = MHD_queue_response(r->conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	log_debug("web: %s %u", r->method, r->status);
	return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct web *w = cls;
	struct web_req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		const char *cl;
		int64_t len;

		r = xcalloc(1, sizeof(*r));
		r->w = w;
		r->conn = conn;
		r->method = method;
		*con_cls = r;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && (parse_int64(cl, &len) != 0 || len < 0)) {
			web_reply_error(r, 400, "malformed Content-Length");
			return queue_reply(r);
		}
		if (cl != NULL && len > WEB_BODY_MAX) {
			/* Refused before a byte of it is read; MHD closes the
			 * connection after this reply. */
			web_reply_error(r, 413, "request body larger than %d bytes", WEB_BODY_MAX);
			return queue_reply(r);
		}
		if (split_path(r, url) != 0) {
			r->dispatched = 1;
			web_reply_error(r, 400, "malformed %%-escape in the path");
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (r->body.len + *upload_size > WEB_BODY_MAX)
			r->body_too_large = 1;
		else if (!r->body_too_large && !r->dispatched)
			buf_append(&r->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (!r->dispatched) {
		r->dispatched = 1;
		if (r->body_too_large)
			web_reply_error(r, 413, "request body larger than %d bytes", WEB_BODY_MAX);
		else
			dispatch(r);
	}
	if (r->suspended)
		return MHD_YES;
	if (r->resp == NULL)
		return MHD_NO;
	return queue_reply(r);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls != NULL)
		req_free(*con_cls);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct buf b = {0};

	(void)cls;
	buf_vprintf(&b, fmt, ap);
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	log_warn("web: %s", b.data != NULL ? b.data : "");
	buf_free(&b);
}

/* ------------------------------------------------------------ the loop */

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)io;
	(void)revents;          /* the check watcher runs MHD */
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;          /* the check watcher runs MHD */
}

static void
check_cb(struct ev_loop *loop, ev_check *c, int revents)
{
	struct web *w = c->data;
	MHD_UNSIGNED_LONG_LONG ms;

	(void)revents;
	/* Connections resume here, right before MHD_run: MHD handles a
	 * resumption on its next run, and a resume from another callback
	 * might wait for an unrelated wake-up. */
	if (w->jobs_running > 0)
		jobs_deliver(w);
	if (ev_is_pending(&w->tick)) {
		ev_clear_pending(loop, &w->tick);
		logs_tick(w);
	}
	MHD_run(w->mhd);
	ev_timer_stop(loop, &w->timer);
	if (MHD_get_timeout(w->mhd, &ms) == MHD_YES) {
		ev_timer_set(&w->timer, (ev_tstamp)ms / 1000.0, 0.);
		ev_timer_start(loop, &w->timer);
	}
}

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	logs_tick(t->data);
}

/* --------------------------------------------------------------- start */

/* Parses "[ADDR:]PORT" (ADDR: IPv4, [IPv6], localhost, or empty for all
 * IPv4 addresses).  Returns 0, or -1 with the reason logged. */
static int
parse_bind(const char *bind, struct sockaddr_storage *ss, int *loopback)
{
	const char *colon = strrchr(bind, ':');
	char *host = colon ? xstrndup(bind, (size_t)(colon - bind)) : xstrdup("127.0.0.1");
	const char *port_s = colon ? colon + 1 : bind;
	int64_t port;
	int rc = -1;

	memset(ss, 0, sizeof(*ss));
	if (parse_int64(port_s, &port) != 0 || port < 0 || port > 65535) {
		log_error("web: '%s': the port must be a number from 0 to 65535", bind);
		goto out;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
			log_error("web: '%s': not an IPv6 address", bind);
			goto out;
		}
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (host[0] == '\0' || strcmp(host, "*") == 0)
			a4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (strcmp(host, "localhost") == 0)
			a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
			log_error("web: '%s': not an IPv4 address (use [ADDR] for IPv6)", bind);
			goto out;
		}
		*loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	rc = 0;
out:
	free(host);
	return rc;
}

static unsigned
conn_timeout(void)
{
	const char *v = getenv("STA_WEB_TIMEOUT");
	int64_t s;

	if (v != NULL && parse_int64(v, &s) == 0 && s > 0 && s <= 3600)
		return (unsigned)s;
	return DEFAULT_TIMEOUT;
}

/* Connections one client address may hold: a client trickling its
 * headers keeps its connections until the idle timeout, so without this
 * one address could take all MAX_CONNECTIONS. */
static unsigned
per_ip_limit(void)
{
	const char *v = getenv("STA_WEB_MAX_CONNECTIONS_PER_IP");
	int64_t n;

	if (v != NULL && parse_int64(v, &n) == 0 && n > 0 && n <= MAX_CONNECTIONS)
		return (unsigned)n;
	return DEFAULT_PER_IP;
}

static int
open_databases(struct web *w)
{
	char *db = xasprintf("%s/sta.db", w->home);

	w->db = auth_db_open(db);       /* migrates first */
	if (w->db != NULL)
		w->store = store_open(db);
	free(db);
	return w->db != NULL && w->store != NULL ? 0 : -1;
}

struct web *
web_start(struct ev_loop *loop, const struct web_opts *o)
{
	struct web *w = xcalloc(1, sizeof(*w));
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	const char *adb = getenv("STA_ANALYTICS_DB");
	int loopback = 0;

	w->loop = loop;
	w->started_ms = time_now_ms();
	w->home = xstrdup(o->home);
	w->dags_folder = xstrdup(o->dags_folder);
	w->analytics_db = o->analytics_db ? xstrdup(o->analytics_db) :
	    adb && adb[0] ? xstrdup(adb) : xasprintf("%s/analytics.db", o->home);
	pthread_mutex_init(&w->jobs_lock, NULL);
	if (parse_bind(o->bind ? o->bind : "127.0.0.1:8080", &ss, &loopback) != 0 ||
	    open_databases(w) != 0)
		goto fail;
	w->auth_required = o->require_auth || !loopback;
	w->loopback = loopback;
	w->in_scheduler = o->in_scheduler;
	w->static_dir = static_dir_find(o->static_dir);
	static_scan(w);
	w->dags = dagcache_new(w->dags_folder);
	w->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, on_request, w,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit(),
	    MHD_OPTION_CONNECTION_TIMEOUT, conn_timeout(),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
	    MHD_OPTION_END);
	if (w->mhd == NULL) {
		log_error("web: cannot listen on %s (address in use or not ours?)",
		    o->bind ? o->bind : "127.0.0.1:8080");
		goto fail;
	}
	info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_BIND_PORT);
	w->port = info != NULL ? info->port : 0;
	info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL) {
		log_error("web: libmicrohttpd has no epoll support");
		goto fail;
	}
	ev_io_init(&w->io, io_cb, info->epoll_fd, EV_READ);
	ev_io_start(loop, &w->io);
	ev_timer_init(&w->timer, timer_cb, 0., 0.);
	ev_init(&w->tick, tick_cb);
	w->tick.repeat = 0.25;
	w->tick.data = w;
	ev_check_init(&w->check, check_cb);
	w->check.data = w;
	ev_set_priority(&w->check, EV_MAXPRI);
	ev_check_start(loop, &w->check);
	ev_async_init(&w->async, async_cb);
	w->async.data = w;
	ev_async_start(loop, &w->async);
	log_info("web: listening on %s, port %d (%s)", o->bind ? o->bind : "127.0.0.1:8080",
	    w->port, w->auth_required ? "login required" : "loopback, no login");
	return w;
fail:
	web_stop(w);
	return NULL;
}

int
web_port(const struct web *w)
{
	return w->port;
}

int
web_auth_required(const struct web *w)
{
	return w->auth_required;
}

void
web_stop(struct web *w)
{
	if (w == NULL)
		return;
	if (w->mhd != NULL) {
		/* Workers finish first: their requests are suspended, and MHD
		 * must have every connection resumed before it stops. */
		while (w->jobs_running > 0) {
			usleep(10000);
			jobs_deliver(w);
		}
		logs_stop_all(w);
		MHD_run(w->mhd);
		ev_io_stop(w->loop, &w->io);
		ev_timer_stop(w->loop, &w->timer);
		ev_timer_stop(w->loop, &w->tick);
		ev_check_stop(w->loop, &w->check);
		ev_async_stop(w->loop, &w->async);
		MHD_stop_daemon(w->mhd);
	}
	while (w->stmts != NULL) {
		struct web_stmt *s = w->stmts;

		w->stmts = s->next;
		sqlite3_finalize(s->st);
		free(s);
	}
	sqlite3_close(w->db);
	store_close(w->store);
	dagcache_free(w->dags);
	strv_free(&w->static_files);
	pthread_mutex_destroy(&w->jobs_lock);
	free(w->static_dir);
	free(w->analytics_db);
	free(w->dags_folder);
	free(w->home);
	free(w);
}
