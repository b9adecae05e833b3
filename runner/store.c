/*
 * store.c: the SQLite state store (see store.h).  This file is the one
 * place that knows the tables' columns.  Statements are prepared once per
 * connection and reused; every scheduler lookup goes through an index over
 * active rows, so its cost does not grow with history.
 */
#include "runner/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/util.h"

/* Each migration is applied once, in order, in its own transaction. */
static const char *const migrations[] = {
	/* 1: the initial schema */
	"CREATE TABLE dags ("
	"  dag_id TEXT PRIMARY KEY, fileloc TEXT NOT NULL, file_hash TEXT NOT NULL,"
	"  description TEXT, schedule TEXT, is_paused INTEGER NOT NULL DEFAULT 0,"
	"  is_active INTEGER NOT NULL DEFAULT 1, last_parsed_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE import_errors (fileloc TEXT PRIMARY KEY, message TEXT NOT NULL,"
	"  ts_ms INTEGER NOT NULL);"
	"CREATE TABLE dag_runs ("
	"  id INTEGER PRIMARY KEY, dag_id TEXT NOT NULL, run_id TEXT NOT NULL,"
	"  run_type TEXT NOT NULL, logical_date INTEGER NOT NULL,"
	"  data_interval_start INTEGER NOT NULL, data_interval_end INTEGER NOT NULL,"
	"  state TEXT NOT NULL, conf TEXT, created_ms INTEGER NOT NULL DEFAULT 0,"
	"  start_ms INTEGER NOT NULL DEFAULT 0, end_ms INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (dag_id, run_id), UNIQUE (dag_id, logical_date));"
	"CREATE INDEX dag_runs_active ON dag_runs (dag_id, logical_date)"
	"  WHERE state IN ('queued', 'running');"
	"CREATE INDEX dag_runs_by_type ON dag_runs (dag_id, run_type, logical_date);"
	"CREATE TABLE task_instances ("
	"  id INTEGER PRIMARY KEY, run_pk INTEGER NOT NULL REFERENCES dag_runs (id),"
	"  task_id TEXT NOT NULL, state TEXT NOT NULL, try_number INTEGER NOT NULL DEFAULT 0,"
	"  max_tries INTEGER NOT NULL DEFAULT 1, next_try_at INTEGER NOT NULL DEFAULT 0,"
	"  start_ms INTEGER NOT NULL DEFAULT 0, end_ms INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (run_pk, task_id));"
	"CREATE TABLE task_tries ("
	"  id INTEGER PRIMARY KEY, ti_pk INTEGER NOT NULL REFERENCES task_instances (id),"
	"  try_number INTEGER NOT NULL, state TEXT NOT NULL, executor TEXT NOT NULL,"
	"  handle TEXT, hostname TEXT, log_path TEXT NOT NULL,"
	"  start_ms INTEGER NOT NULL DEFAULT 0, end_ms INTEGER NOT NULL DEFAULT 0,"
	"  exit_code INTEGER, signal INTEGER NOT NULL DEFAULT 0, result TEXT, reason TEXT,"
	"  UNIQUE (ti_pk, try_number));"
	"CREATE INDEX task_tries_running ON task_tries (id) WHERE state = 'running';"
	"CREATE TABLE pools (name TEXT PRIMARY KEY, slots INTEGER NOT NULL, description TEXT);"
	"INSERT INTO pools VALUES ('default_pool', 128, 'Default pool');"
	"CREATE TABLE variables (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
	"  is_secret INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE audit_log ("
	"  id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
	"  action TEXT NOT NULL, dag_id TEXT, run_id TEXT, task_id TEXT,"
	"  try_number INTEGER NOT NULL DEFAULT 0, detail TEXT);"
	"CREATE INDEX audit_log_by_dag ON audit_log (dag_id, id);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
	/* 2: users, API tokens and sessions of the web server (web/auth.c
	 * knows their columns); tokens and session ids only as SHA-256 */
	"CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),"
	"  password_hash TEXT NOT NULL, created_ms INTEGER NOT NULL);"
	"CREATE TABLE api_tokens (id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
	"  name TEXT, token_sha256 TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);"
	"CREATE INDEX api_tokens_by_user ON api_tokens (user_id);"
	"CREATE TABLE sessions (id_sha256 TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
	"  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
	"CREATE INDEX sessions_by_user ON sessions (user_id);",
};

enum stmt_id {
	S_DAG_SYNC, S_DAG_INACTIVE_ALL, S_DAG_ACTIVE, S_DAG_GET, S_DAG_PAUSE, S_DAG_LIST,
	S_IMPERR_SET, S_IMPERR_DEL,
	S_RUN_INSERT, S_RUN_STATE, S_RUN_GET, S_RUN_GET_PK, S_RUN_LAST_SCHED,
	S_RUNS_ACTIVE, S_RUNS_ACTIVE_DAG, S_RUNS_LIST,
	S_TI_INSERT, S_TI_UPDATE, S_TI_GET, S_TIS_OF_RUN,
	S_TRY_INSERT, S_TRY_UPDATE, S_TRY_DELETE, S_TRIES_OF_TI, S_TRIES_RUNNING,
	S_POOL_SET, S_POOL_GET, S_POOL_DEL, S_POOLS_LIST,
	S_VAR_GET, S_VAR_SET, S_VAR_DEL, S_VARS_LIST,
	S_AUDIT, S_AUDIT_LIST, S_AUDIT_LIST_DAG,
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_COUNT
};

#define RUN_COLS "id, dag_id, run_id, run_type, logical_date, data_interval_start," \
	" data_interval_end, state, conf, created_ms, start_ms, end_ms"
#define TI_COLS "id, run_pk, task_id, state, try_number, max_tries, next_try_at, start_ms, end_ms"
#define TRY_COLS "id, ti_pk, try_number, state, executor, handle, hostname, log_path," \
	" start_ms, end_ms, exit_code, signal, result, reason"
#define DAG_COLS "dag_id, fileloc, file_hash, description, schedule, is_paused, is_active," \
	" last_parsed_ms"

static const char *const stmt_sql[S_COUNT] = {
	[S_DAG_SYNC] = "INSERT INTO dags (dag_id, fileloc, file_hash, description, schedule,"
	    " is_active, last_parsed_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (dag_id) DO UPDATE SET fileloc = ?2, file_hash = ?3,"
	    " description = ?4, schedule = ?5, is_active = ?6, last_parsed_ms = ?7",
	[S_DAG_INACTIVE_ALL] = "UPDATE dags SET is_active = 0",
	[S_DAG_ACTIVE] = "UPDATE dags SET is_active = 1 WHERE dag_id = ?1",
	[S_DAG_GET] = "SELECT " DAG_COLS " FROM dags WHERE dag_id = ?1",
	[S_DAG_PAUSE] = "UPDATE dags SET is_paused = ?2 WHERE dag_id = ?1",
	[S_DAG_LIST] = "SELECT " DAG_COLS " FROM dags ORDER BY dag_id",
	[S_IMPERR_SET] = "INSERT INTO import_errors VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (fileloc) DO UPDATE SET message = ?2, ts_ms = ?3",
	[S_IMPERR_DEL] = "DELETE FROM import_errors WHERE fileloc = ?1",
	[S_RUN_INSERT] = "INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date,"
	    " data_interval_start, data_interval_end, state, conf, created_ms)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_RUN_STATE] = "UPDATE dag_runs SET state = ?2,"
	    " start_ms = CASE WHEN ?2 = 'running' AND start_ms = 0 THEN ?3"
	    "   WHEN ?2 = 'queued' THEN 0 ELSE start_ms END,"
	    " end_ms = CASE WHEN ?2 IN ('success', 'failed') THEN ?3 ELSE 0 END"
	    " WHERE id = ?1",
	[S_RUN_GET] = "SELECT " RUN_COLS " FROM dag_runs WHERE dag_id = ?1 AND run_id = ?2",
	[S_RUN_GET_PK] = "SELECT " RUN_COLS " FROM dag_runs WHERE id = ?1",
	[S_RUN_LAST_SCHED] = "SELECT " RUN_COLS " FROM dag_runs WHERE dag_id = ?1"
	    " AND run_type = 'scheduled' ORDER BY logical_date DESC LIMIT 1",
	[S_RUNS_ACTIVE] = "SELECT " RUN_COLS " FROM dag_runs INDEXED BY dag_runs_active"
	    " WHERE state IN ('queued', 'running') ORDER BY logical_date, id",
	[S_RUNS_ACTIVE_DAG] = "SELECT " RUN_COLS " FROM dag_runs INDEXED BY dag_runs_active"
	    " WHERE dag_id = ?1 AND state IN ('queued', 'running') ORDER BY logical_date",
	[S_RUNS_LIST] = "SELECT " RUN_COLS " FROM dag_runs"
	    " WHERE (?1 IS NULL OR dag_id = ?1) AND (?2 IS NULL OR state = ?2)"
	    " ORDER BY logical_date DESC, id DESC LIMIT ?3 OFFSET ?4",
	[S_TI_INSERT] = "INSERT INTO task_instances (run_pk, task_id, state, try_number,"
	    " max_tries, next_try_at, start_ms, end_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_TI_UPDATE] = "UPDATE task_instances SET state = ?2, try_number = ?3, max_tries = ?4,"
	    " next_try_at = ?5, start_ms = ?6, end_ms = ?7 WHERE id = ?1",
	[S_TI_GET] = "SELECT " TI_COLS " FROM task_instances WHERE run_pk = ?1 AND task_id = ?2",
	[S_TIS_OF_RUN] = "SELECT " TI_COLS " FROM task_instances WHERE run_pk = ?1 ORDER BY id",
	[S_TRY_INSERT] = "INSERT INTO task_tries (ti_pk, try_number, state, executor, handle,"
	    " hostname, log_path, start_ms, end_ms, exit_code, signal, result, reason)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[S_TRY_UPDATE] = "UPDATE task_tries SET state = ?2, handle = coalesce(?3, handle),"
	    " end_ms = ?4, exit_code = ?5, signal = ?6, result = ?7, reason = ?8,"
	    " start_ms = CASE WHEN ?9 > 0 THEN ?9 ELSE start_ms END WHERE id = ?1",
	[S_TRY_DELETE] = "DELETE FROM task_tries WHERE id = ?1 AND state IN ('queued', 'running') AND end_ms = 0",
	[S_TRIES_OF_TI] = "SELECT " TRY_COLS " FROM task_tries WHERE ti_pk = ?1 ORDER BY try_number",
	[S_TRIES_RUNNING] = "SELECT " TRY_COLS " FROM task_tries INDEXED BY task_tries_running"
	    " WHERE state = 'running'",
	[S_POOL_SET] = "INSERT INTO pools VALUES (?1, ?2, ?3) ON CONFLICT (name)"
	    " DO UPDATE SET slots = ?2, description = coalesce(?3, description)",
	[S_POOL_GET] = "SELECT slots FROM pools WHERE name = ?1",
	[S_POOL_DEL] = "DELETE FROM pools WHERE name = ?1",
	[S_POOLS_LIST] = "SELECT name, slots, description FROM pools ORDER BY name",
	[S_VAR_GET] = "SELECT value FROM variables WHERE key = ?1",
	[S_VAR_SET] = "INSERT INTO variables VALUES (?1, ?2, ?3) ON CONFLICT (key)"
	    " DO UPDATE SET value = ?2, is_secret = ?3",
	[S_VAR_DEL] = "DELETE FROM variables WHERE key = ?1",
	[S_VARS_LIST] = "SELECT key, value, is_secret FROM variables ORDER BY key",
	[S_AUDIT] = "INSERT INTO audit_log (ts_ms, actor, action, dag_id, run_id, task_id,"
	    " try_number, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_AUDIT_LIST] = "SELECT id, ts_ms, actor, action, dag_id, run_id, task_id, try_number,"
	    " detail FROM audit_log ORDER BY id DESC LIMIT ?1",
	[S_AUDIT_LIST_DAG] = "SELECT id, ts_ms, actor, action, dag_id, run_id, task_id,"
	    " try_number, detail FROM audit_log WHERE dag_id = ?2 ORDER BY id DESC LIMIT ?1",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
};

struct store {
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *stmts[S_COUNT];
	void (*on_commit)(void *arg);   /* store_sync_batched */
	void *on_commit_arg;
};

/* ------------------------------------------------------------ states */

static const char *const run_names[] = { "queued", "running", "success", "failed" };
static const char *const ti_names[] = { "none", "scheduled", "queued", "running",
	"success", "failed", "skipped", "upstream_failed", "up_for_retry", "removed" };

const char *
run_state_name(enum run_state s)
{
	return (size_t)s < ARRAY_LEN(run_names) ? run_names[s] : "?";
}

int
run_state_parse(const char *name, enum run_state *out)
{
	for (size_t i = 0; i < ARRAY_LEN(run_names); i++)
		if (strcmp(name, run_names[i]) == 0) {
			*out = (enum run_state)i;
			return 0;
		}
	return -1;
}

const char *
ti_state_name(enum ti_state s)
{
	return (size_t)s < ARRAY_LEN(ti_names) ? ti_names[s] : "?";
}

int
ti_state_parse(const char *name, enum ti_state *out)
{
	for (size_t i = 0; i < ARRAY_LEN(ti_names); i++)
		if (strcmp(name, ti_names[i]) == 0) {
			*out = (enum ti_state)i;
			return 0;
		}
	return -1;
}

int
ti_state_finished(enum ti_state s)
{
	return s == TI_SUCCESS || s == TI_FAILED || s == TI_SKIPPED ||
	    s == TI_UPSTREAM_FAILED || s == TI_REMOVED;
}

/* ------------------------------------------------------------ plumbing */

static int
fail(struct store *s, const char *what)
{
	log_error("state store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return -1;
}

/* Returns the reset, cleared statement for id (prepared on first use). */
static sqlite3_stmt *
stmt(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->stmts[id];

	if (st == NULL) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		    &st, NULL) != SQLITE_OK) {
			fail(s, stmt_sql[id]);
			return NULL;
		}
		s->stmts[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v != NULL ? xstrdup((const char *)v) : NULL;
}

/* Steps a statement that returns no rows. */
static int
exec_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	if (rc != SQLITE_DONE)
		return fail(s, what);
	return 0;
}

static int
migrate(struct store *s)
{
	sqlite3_stmt *st;
	int known = (int)ARRAY_LEN(migrations);

	if (sqlite3_exec(s->db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)", NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, "creating schema_migrations");
	if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
	    -1, &st, NULL) != SQLITE_OK)
		return fail(s, "reading the schema version");
	s->version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (s->version > known) {
		log_error("state store %s: schema version %d is newer than this sta knows (%d): "
		    "use a newer sta", s->path, s->version, known);
		return -1;
	}
	for (int v = s->version + 1; v <= known; v++) {
		char *rec = xasprintf("INSERT INTO schema_migrations VALUES (%d, %lld)", v,
		    (long long)time_now_ms());
		int ok = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
		    sqlite3_exec(s->db, migrations[v - 1], NULL, NULL, NULL) == SQLITE_OK &&
		    sqlite3_exec(s->db, rec, NULL, NULL, NULL) == SQLITE_OK &&
		    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;

		free(rec);
		if (!ok) {
			fail(s, "applying a schema migration");
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		s->version = v;
	}
	return 0;
}

struct store *
store_open(const char *path)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char *dir = fs_dirname(path);
	const char *sync = getenv("STA_DB_SYNC");
	char *pragmas;

	if (sync != NULL && *sync != '\0' && strcmp(sync, "full") != 0 &&
	    strcmp(sync, "normal") != 0) {
		log_error("STA_DB_SYNC is '%s': it is full, normal, or unset", sync);
		free(dir);
		free(s);
		return NULL;
	}
	s->path = xstrdup(path);
	fs_mkdir_p(dir);
	free(dir);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fail(s, "cannot open");
		store_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* synchronous=FULL: a commit survives power loss; NORMAL (STA_DB_SYNC=
	 * normal) still survives a process crash, which is what kill -9 tests.
	 * The scheduler's connection syncs its commits in batches
	 * (store_sync_batched). */
	pragmas = xasprintf("PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
	    " PRAGMA foreign_keys=ON;", sync != NULL && strcmp(sync, "normal") == 0 ? "NORMAL" : "FULL");
	if (sqlite3_exec(s->db, pragmas, NULL, NULL, NULL) != SQLITE_OK || migrate(s) != 0) {
		free(pragmas);
		if (s->db != NULL)
			fail(s, "cannot initialise");
		store_close(s);
		return NULL;
	}
	free(pragmas);
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->on_commit != NULL)
		store_sync(s);  /* batched: the last commits */
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

int
store_schema_version(struct store *s)
{
	return s->version;
}

static int
commit_hook(void *arg)
{
	struct store *s = arg;

	s->on_commit(s->on_commit_arg);
	return 0;       /* the commit goes on */
}

int
store_sync_batched(struct store *s, void (*on_commit)(void *arg), void *arg)
{
	const char *sync = getenv("STA_DB_SYNC");

	if (sync != NULL && *sync != '\0')
		return 1;       /* full: every commit synced; normal: none */
	if (sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) != SQLITE_OK) {
		fail(s, "cannot set synchronous=NORMAL");
		return -1;
	}
	s->on_commit = on_commit;
	s->on_commit_arg = arg;
	sqlite3_commit_hook(s->db, commit_hook, s);
	return 0;
}

int
store_sync(struct store *s)
{
	sqlite3_file *wal = NULL;

	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK) {
		fail(s, "cannot find the write-ahead log");
		return -1;
	}
	if (wal == NULL || wal->pMethods == NULL)
		return 0;       /* not open: nothing written through it */
	if (wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
		log_error("state store %s: cannot sync the write-ahead log: %s", s->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
store_begin(struct store *s)
{
	return exec_done(s, stmt(s, S_BEGIN), "begin");
}

int
store_commit(struct store *s)
{
	return exec_done(s, stmt(s, S_COMMIT), "commit");
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec_done(s, stmt(s, S_ROLLBACK), "rollback");
}

/* ----------------------------------------------------------- clearing */

void
store_dag_clear(struct store_dag *d)
{
	free(d->dag_id);
	free(d->fileloc);
	free(d->file_hash);
	free(d->description);
	free(d->schedule);
	memset(d, 0, sizeof(*d));
}

void
store_run_clear(struct store_run *r)
{
	free(r->dag_id);
	free(r->run_id);
	free(r->run_type);
	free(r->conf);
	memset(r, 0, sizeof(*r));
}

void
store_ti_clear(struct store_ti *t)
{
	free(t->task_id);
	memset(t, 0, sizeof(*t));
}

void
store_try_clear(struct store_try *t)
{
	free(t->executor);
	free(t->handle);
	free(t->hostname);
	free(t->log_path);
	free(t->result);
	free(t->reason);
	memset(t, 0, sizeof(*t));
}

void
store_audit_clear(struct store_audit *a)
{
	free(a->actor);
	free(a->action);
	free(a->dag_id);
	free(a->run_id);
	free(a->task_id);
	free(a->detail);
	memset(a, 0, sizeof(*a));
}

/* ---------------------------------------------------------------- DAGs */

static void
read_dag(sqlite3_stmt *st, struct store_dag *d)
{
	d->dag_id = col_text(st, 0);
	d->fileloc = col_text(st, 1);
	d->file_hash = col_text(st, 2);
	d->description = col_text(st, 3);
	d->schedule = col_text(st, 4);
	d->is_paused = sqlite3_column_int(st, 5);
	d->is_active = sqlite3_column_int(st, 6);
	d->last_parsed_ms = sqlite3_column_int64(st, 7);
}

int
store_dag_sync(struct store *s, const struct store_dag *d)
{
	sqlite3_stmt *st = stmt(s, S_DAG_SYNC);

	if (st == NULL)
		return -1;
	bind_text(st, 1, d->dag_id);
	bind_text(st, 2, d->fileloc);
	bind_text(st, 3, d->file_hash);
	bind_text(st, 4, d->description);
	bind_text(st, 5, d->schedule);
	sqlite3_bind_int(st, 6, d->is_active);
	sqlite3_bind_int64(st, 7, d->last_parsed_ms);
	return exec_done(s, st, "recording a DAG");
}

int
store_dags_mark_inactive(struct store *s, const char *const *present, size_t n)
{
	if (exec_done(s, stmt(s, S_DAG_INACTIVE_ALL), "marking DAGs inactive") != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = stmt(s, S_DAG_ACTIVE);

		if (st == NULL)
			return -1;
		bind_text(st, 1, present[i]);
		if (exec_done(s, st, "marking a DAG active") != 0)
			return -1;
	}
	return 0;
}

int
store_dag_get(struct store *s, const char *dag_id, struct store_dag *out)
{
	sqlite3_stmt *st = stmt(s, S_DAG_GET);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, dag_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_dag(st, out);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? STORE_NOT_FOUND : fail(s, "reading a DAG");
}

int
store_dag_set_paused(struct store *s, const char *dag_id, int paused)
{
	sqlite3_stmt *st = stmt(s, S_DAG_PAUSE);

	if (st == NULL)
		return -1;
	bind_text(st, 1, dag_id);
	sqlite3_bind_int(st, 2, paused != 0);
	if (exec_done(s, st, "pausing a DAG") != 0)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : 0;
}

int
store_dags_list(struct store *s, store_dag_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_DAG_LIST);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_dag d = {0};

		read_dag(st, &d);
		rc = fn(arg, &d);
		store_dag_clear(&d);
		if (rc != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == 0 ? 0 : rc == SQLITE_ROW ? 0 : fail(s, "listing DAGs");
}

int
store_import_error_set(struct store *s, const char *fileloc, const char *message)
{
	sqlite3_stmt *st = stmt(s, message != NULL ? S_IMPERR_SET : S_IMPERR_DEL);

	if (st == NULL)
		return -1;
	bind_text(st, 1, fileloc);
	if (message != NULL) {
		bind_text(st, 2, message);
		sqlite3_bind_int64(st, 3, time_now_ms());
	}
	return exec_done(s, st, "recording an import error");
}

/* ---------------------------------------------------------------- runs */

static void
read_run(sqlite3_stmt *st, struct store_run *r)
{
	const char *state = (const char *)sqlite3_column_text(st, 7);

	r->pk = sqlite3_column_int64(st, 0);
	r->dag_id = col_text(st, 1);
	r->run_id = col_text(st, 2);
	r->run_type = col_text(st, 3);
	r->logical_date = sqlite3_column_int64(st, 4);
	r->data_interval_start = sqlite3_column_int64(st, 5);
	r->data_interval_end = sqlite3_column_int64(st, 6);
	if (state == NULL || run_state_parse(state, &r->state) != 0)
		r->state = RUN_FAILED;
	r->conf = col_text(st, 8);
	r->created_ms = sqlite3_column_int64(st, 9);
	r->start_ms = sqlite3_column_int64(st, 10);
	r->end_ms = sqlite3_column_int64(st, 11);
}

int
store_run_insert(struct store *s, struct store_run *r)
{
	sqlite3_stmt *st = stmt(s, S_RUN_INSERT);
	int rc;

	if (st == NULL)
		return -1;
	r->created_ms = time_now_ms();
	bind_text(st, 1, r->dag_id);
	bind_text(st, 2, r->run_id);
	bind_text(st, 3, r->run_type);
	sqlite3_bind_int64(st, 4, r->logical_date);
	sqlite3_bind_int64(st, 5, r->data_interval_start);
	sqlite3_bind_int64(st, 6, r->data_interval_end);
	bind_text(st, 7, run_state_name(r->state));
	bind_text(st, 8, r->conf);
	sqlite3_bind_int64(st, 9, r->created_ms);
	rc = exec_done(s, st, "creating a run");
	if (rc == 0)
		r->pk = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_run_set_state(struct store *s, int64_t pk, enum run_state state, int64_t now_ms)
{
	sqlite3_stmt *st = stmt(s, S_RUN_STATE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pk);
	bind_text(st, 2, run_state_name(state));
	sqlite3_bind_int64(st, 3, now_ms);
	return exec_done(s, st, "setting a run's state");
}

/* Steps st for one run row. */
static int
one_run(struct store *s, sqlite3_stmt *st, struct store_run *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		read_run(st, out);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? STORE_NOT_FOUND : fail(s, "reading a run");
}

int
store_run_get(struct store *s, const char *dag_id, const char *run_id, struct store_run *out)
{
	sqlite3_stmt *st = stmt(s, S_RUN_GET);

	if (st == NULL)
		return -1;
	bind_text(st, 1, dag_id);
	bind_text(st, 2, run_id);
	return one_run(s, st, out);
}

int
store_run_get_pk(struct store *s, int64_t pk, struct store_run *out)
{
	sqlite3_stmt *st = stmt(s, S_RUN_GET_PK);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pk);
	return one_run(s, st, out);
}

int
store_run_last_scheduled(struct store *s, const char *dag_id, struct store_run *out)
{
	sqlite3_stmt *st = stmt(s, S_RUN_LAST_SCHED);

	if (st == NULL)
		return -1;
	bind_text(st, 1, dag_id);
	return one_run(s, st, out);
}

/* Calls fn for every row of a run query.  The statement is stepped to the
 * end first into a list, so fn may use the store itself. */
static int
each_run(struct store *s, sqlite3_stmt *st, store_run_fn fn, void *arg)
{
	struct store_run *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			rows = xreallocarray(rows, cap, sizeof(*rows));
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		read_run(st, &rows[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		fail(s, "listing runs");
	for (size_t i = 0; i < n; i++) {
		if (rc == SQLITE_DONE && fn(arg, &rows[i]) != 0)
			rc = SQLITE_OK;     /* stop calling */
		store_run_clear(&rows[i]);
	}
	free(rows);
	return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : -1;
}

int
store_runs_active(struct store *s, const char *dag_id, store_run_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, dag_id != NULL ? S_RUNS_ACTIVE_DAG : S_RUNS_ACTIVE);

	if (st == NULL)
		return -1;
	if (dag_id != NULL)
		bind_text(st, 1, dag_id);
	return each_run(s, st, fn, arg);
}

int
store_runs_list(struct store *s, const char *dag_id, int state, int limit, int offset,
    store_run_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_RUNS_LIST);

	if (st == NULL)
		return -1;
	bind_text(st, 1, dag_id);
	bind_text(st, 2, state >= 0 ? run_state_name((enum run_state)state) : NULL);
	sqlite3_bind_int(st, 3, limit > 0 ? limit : -1);
	sqlite3_bind_int(st, 4, offset > 0 ? offset : 0);
	return each_run(s, st, fn, arg);
}

/* ------------------------------------------------------ task instances */

static void
read_ti(sqlite3_stmt *st, struct store_ti *t)
{
	const char *state = (const char *)sqlite3_column_text(st, 3);

	t->pk = sqlite3_column_int64(st, 0);
	t->run_pk = sqlite3_column_int64(st, 1);
	t->task_id = col_text(st, 2);
	if (state == NULL || ti_state_parse(state, &t->state) != 0)
		t->state = TI_NONE;
	t->try_number = sqlite3_column_int(st, 4);
	t->max_tries = sqlite3_column_int(st, 5);
	t->next_try_at = sqlite3_column_int64(st, 6);
	t->start_ms = sqlite3_column_int64(st, 7);
	t->end_ms = sqlite3_column_int64(st, 8);
}

int
store_ti_insert(struct store *s, struct store_ti *ti)
{
	sqlite3_stmt *st = stmt(s, S_TI_INSERT);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, ti->run_pk);
	bind_text(st, 2, ti->task_id);
	bind_text(st, 3, ti_state_name(ti->state));
	sqlite3_bind_int(st, 4, ti->try_number);
	sqlite3_bind_int(st, 5, ti->max_tries);
	sqlite3_bind_int64(st, 6, ti->next_try_at);
	sqlite3_bind_int64(st, 7, ti->start_ms);
	sqlite3_bind_int64(st, 8, ti->end_ms);
	rc = exec_done(s, st, "creating a task instance");
	if (rc == 0)
		ti->pk = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_ti_update(struct store *s, const struct store_ti *ti)
{
	sqlite3_stmt *st = stmt(s, S_TI_UPDATE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, ti->pk);
	bind_text(st, 2, ti_state_name(ti->state));
	sqlite3_bind_int(st, 3, ti->try_number);
	sqlite3_bind_int(st, 4, ti->max_tries);
	sqlite3_bind_int64(st, 5, ti->next_try_at);
	sqlite3_bind_int64(st, 6, ti->start_ms);
	sqlite3_bind_int64(st, 7, ti->end_ms);
	return exec_done(s, st, "updating a task instance");
}

int
store_ti_get(struct store *s, int64_t run_pk, const char *task_id, struct store_ti *out)
{
	sqlite3_stmt *st = stmt(s, S_TI_GET);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run_pk);
	bind_text(st, 2, task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_ti(st, out);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? STORE_NOT_FOUND :
	    fail(s, "reading a task instance");
}

int
store_tis_of_run(struct store *s, int64_t run_pk, store_ti_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_TIS_OF_RUN);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run_pk);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_ti t = {0};

		read_ti(st, &t);
		rc = fn(arg, &t);
		store_ti_clear(&t);
		if (rc != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == 0 ? 0 : -1;
}

/* --------------------------------------------------------------- tries */

static void
read_try(sqlite3_stmt *st, struct store_try *t)
{
	const char *state = (const char *)sqlite3_column_text(st, 3);

	t->pk = sqlite3_column_int64(st, 0);
	t->ti_pk = sqlite3_column_int64(st, 1);
	t->try_number = sqlite3_column_int(st, 2);
	if (state == NULL || ti_state_parse(state, &t->state) != 0)
		t->state = TI_FAILED;
	t->executor = col_text(st, 4);
	t->handle = col_text(st, 5);
	t->hostname = col_text(st, 6);
	t->log_path = col_text(st, 7);
	t->start_ms = sqlite3_column_int64(st, 8);
	t->end_ms = sqlite3_column_int64(st, 9);
	t->has_exit_code = sqlite3_column_type(st, 10) != SQLITE_NULL;
	t->exit_code = sqlite3_column_int(st, 10);
	t->signal = sqlite3_column_int(st, 11);
	t->result = col_text(st, 12);
	t->reason = col_text(st, 13);
}

int
store_try_insert(struct store *s, struct store_try *t)
{
	sqlite3_stmt *st = stmt(s, S_TRY_INSERT);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, t->ti_pk);
	sqlite3_bind_int(st, 2, t->try_number);
	bind_text(st, 3, ti_state_name(t->state));
	bind_text(st, 4, t->executor ? t->executor : "local");
	bind_text(st, 5, t->handle);
	bind_text(st, 6, t->hostname);
	bind_text(st, 7, t->log_path ? t->log_path : "");
	sqlite3_bind_int64(st, 8, t->start_ms);
	sqlite3_bind_int64(st, 9, t->end_ms);
	if (t->has_exit_code)
		sqlite3_bind_int(st, 10, t->exit_code);
	sqlite3_bind_int(st, 11, t->signal);
	bind_text(st, 12, t->result);
	bind_text(st, 13, t->reason);
	rc = exec_done(s, st, "recording a try");
	if (rc == 0)
		t->pk = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_try_update(struct store *s, const struct store_try *t)
{
	sqlite3_stmt *st = stmt(s, S_TRY_UPDATE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, t->pk);
	bind_text(st, 2, ti_state_name(t->state));
	bind_text(st, 3, t->handle);
	sqlite3_bind_int64(st, 4, t->end_ms);
	if (t->has_exit_code)
		sqlite3_bind_int(st, 5, t->exit_code);
	sqlite3_bind_int(st, 6, t->signal);
	bind_text(st, 7, t->result);
	bind_text(st, 8, t->reason);
	sqlite3_bind_int64(st, 9, t->start_ms);
	return exec_done(s, st, "updating a try");
}

int
store_try_delete_unstarted(struct store *s, int64_t pk)
{
	sqlite3_stmt *st = stmt(s, S_TRY_DELETE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pk);
	return exec_done(s, st, "removing a try that never started");
}

static int
each_try(struct store *s, sqlite3_stmt *st, store_try_fn fn, void *arg)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_try t = {0};

		read_try(st, &t);
		rc = fn(arg, &t);
		store_try_clear(&t);
		if (rc != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == 0 ? 0 : fail(s, "listing tries");
}

int
store_tries_of_ti(struct store *s, int64_t ti_pk, store_try_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_TRIES_OF_TI);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, ti_pk);
	return each_try(s, st, fn, arg);
}

int
store_tries_running(struct store *s, store_try_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_TRIES_RUNNING);

	return st == NULL ? -1 : each_try(s, st, fn, arg);
}

/* --------------------------------------------------- pools, variables */

int
store_pool_set(struct store *s, const char *name, int slots, const char *description)
{
	sqlite3_stmt *st = stmt(s, S_POOL_SET);

	if (st == NULL)
		return -1;
	bind_text(st, 1, name);
	sqlite3_bind_int(st, 2, slots);
	bind_text(st, 3, description);
	return exec_done(s, st, "setting a pool");
}

int
store_pool_get(struct store *s, const char *name, int *slots)
{
	sqlite3_stmt *st = stmt(s, S_POOL_GET);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*slots = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? STORE_NOT_FOUND : fail(s, "reading a pool");
}

/* Deletes by key with one of the DELETE statements. */
static int
delete_by_key(struct store *s, enum stmt_id id, const char *key)
{
	sqlite3_stmt *st = stmt(s, id);

	if (st == NULL)
		return -1;
	bind_text(st, 1, key);
	if (exec_done(s, st, "deleting") != 0)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : 0;
}

int
store_pool_delete(struct store *s, const char *name)
{
	return delete_by_key(s, S_POOL_DEL, name);
}

int
store_pools_list(struct store *s, store_pool_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_POOLS_LIST);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
		    (const char *)sqlite3_column_text(st, 2)) != 0)
			break;
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(s, "listing pools");
}

int
store_var_get(struct store *s, const char *key, char **value)
{
	sqlite3_stmt *st = stmt(s, S_VAR_GET);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = col_text(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? STORE_NOT_FOUND :
	    fail(s, "reading a variable");
}

int
store_var_set(struct store *s, const char *key, const char *value, int is_secret)
{
	sqlite3_stmt *st = stmt(s, S_VAR_SET);

	if (st == NULL)
		return -1;
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	sqlite3_bind_int(st, 3, is_secret != 0);
	return exec_done(s, st, "setting a variable");
}

int
store_var_delete(struct store *s, const char *key)
{
	return delete_by_key(s, S_VAR_DEL, key);
}

int
store_vars_list(struct store *s, store_var_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_VARS_LIST);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2)) != 0)
			break;
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(s, "listing variables");
}

/* --------------------------------------------------------------- audit */

int
store_audit(struct store *s, const char *actor, const char *action, const char *dag_id,
    const char *run_id, const char *task_id, int try_number, const char *detail_json)
{
	sqlite3_stmt *st = stmt(s, S_AUDIT);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, time_now_ms());
	bind_text(st, 2, actor);
	bind_text(st, 3, action);
	bind_text(st, 4, dag_id);
	bind_text(st, 5, run_id);
	bind_text(st, 6, task_id);
	sqlite3_bind_int(st, 7, try_number);
	bind_text(st, 8, detail_json);
	return exec_done(s, st, "appending to the audit log");
}

int
store_audit_list(struct store *s, const char *dag_id, int limit, store_audit_fn fn, void *arg)
{
	sqlite3_stmt *st = stmt(s, dag_id != NULL ? S_AUDIT_LIST_DAG : S_AUDIT_LIST);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, limit > 0 ? limit : -1);
	if (dag_id != NULL)
		bind_text(st, 2, dag_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_audit a = {
			.pk = sqlite3_column_int64(st, 0), .ts_ms = sqlite3_column_int64(st, 1),
			.actor = col_text(st, 2), .action = col_text(st, 3),
			.dag_id = col_text(st, 4), .run_id = col_text(st, 5),
			.task_id = col_text(st, 6), .try_number = sqlite3_column_int(st, 7),
			.detail = col_text(st, 8),
		};

		rc = fn(arg, &a);
		store_audit_clear(&a);
		if (rc != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == 0 ? 0 : fail(s, "listing the audit log");
}
