/*
 * store.h: the state store, SQLite in WAL mode (design.md section 5).  It
 * is the single source of truth: DAGs (file hash, paused flag), DAG runs,
 * task instances, every try, pools, variables and an append-only audit
 * log.  One place knows each table's columns: store.c.
 *
 * Conventions: functions return 0 on success, STORE_NOT_FOUND or
 * STORE_EXISTS where stated, and -1 on an SQLite error (logged once with
 * the statement that failed).  Mutating functions do not open transactions
 * themselves: callers wrap a unit of work in store_begin/store_commit so a
 * batch of state changes is one durable commit.  Strings in the structs
 * below are owned by the struct: release with the matching *_clear.
 * Times: *_ms are Unix milliseconds (0 = unset); logical dates and data
 * intervals are Unix seconds.
 */
#ifndef STA_STORE_H
#define STA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/timeutil.h"

#define STORE_NOT_FOUND 1
#define STORE_EXISTS 2

enum run_state { RUN_QUEUED, RUN_RUNNING, RUN_SUCCESS, RUN_FAILED };

enum ti_state {
	TI_NONE,            /* not yet considered */
	TI_SCHEDULED,       /* dependencies met, waiting for a slot */
	TI_QUEUED,          /* handed to an executor */
	TI_RUNNING,
	TI_SUCCESS,
	TI_FAILED,
	TI_SKIPPED,
	TI_UPSTREAM_FAILED,
	TI_UP_FOR_RETRY,    /* failed, waits for next_try_at */
	TI_REMOVED,         /* its task left the DAG file */
};

const char *run_state_name(enum run_state s);
int run_state_parse(const char *name, enum run_state *out);
const char *ti_state_name(enum ti_state s);
int ti_state_parse(const char *name, enum ti_state *out);
/* success, failed, skipped, upstream_failed, removed */
int ti_state_finished(enum ti_state s);

struct store;

struct store_dag {
	char *dag_id;
	char *fileloc;
	char *file_hash;
	char *description;
	char *schedule;         /* text, or NULL for manual only */
	int is_paused;
	int is_active;          /* its file is present in the DAG folder */
	int64_t last_parsed_ms;
};

struct store_run {
	int64_t pk;
	char *dag_id;
	char *run_id;
	char *run_type;         /* scheduled | manual | backfill | test */
	sta_time logical_date;
	sta_time data_interval_start;
	sta_time data_interval_end;
	enum run_state state;
	char *conf;             /* JSON object text, or NULL */
	int64_t created_ms, start_ms, end_ms;
};

struct store_ti {
	int64_t pk;
	int64_t run_pk;
	char *task_id;
	enum ti_state state;
	int try_number;         /* tries started so far */
	int max_tries;          /* retries + 1 */
	sta_time next_try_at;   /* for up_for_retry; 0 otherwise */
	int64_t start_ms, end_ms;
};

struct store_try {
	int64_t pk;
	int64_t ti_pk;
	int try_number;         /* 1-based */
	enum ti_state state;    /* running, success, failed, skipped */
	char *executor;         /* local | kubernetes */
	char *handle;           /* pid or pod name, or NULL */
	char *hostname;
	char *log_path;
	int64_t start_ms, end_ms;
	int has_exit_code;
	int exit_code;
	int signal;
	char *result;           /* STA_RESULT JSON, or NULL */
	char *reason;           /* why it ended as it did, or NULL */
};

struct store_audit {
	int64_t pk;
	int64_t ts_ms;
	char *actor;            /* "scheduler", "cli:USER", "api:USER" */
	char *action;           /* "trigger", "ti_state", "pause", ... */
	char *dag_id, *run_id, *task_id;
	int try_number;         /* 0 when not about a try */
	char *detail;           /* JSON, or NULL */
};

void store_dag_clear(struct store_dag *d);
void store_run_clear(struct store_run *r);
void store_ti_clear(struct store_ti *t);
void store_try_clear(struct store_try *t);
void store_audit_clear(struct store_audit *a);

/* Opens (creating folder and file as needed) and migrates the database.
 * WAL mode, foreign keys on, busy timeout so CLI and scheduler can share
 * it.  Returns NULL with the reason logged (naming the path). */
struct store *store_open(const char *path);
void store_close(struct store *s);
/* The schema version after migrations. */
int store_schema_version(struct store *s);

int store_begin(struct store *s);       /* BEGIN IMMEDIATE */
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Group commit, for the scheduler's connection: its commits are no longer
 * synced one by one (synchronous=NORMAL: a commit survives a crash of the
 * process at once, a power loss once synced); on_commit is called at each
 * commit (before it completes) and the caller syncs them all with
 * store_sync (store_close syncs the last ones).  0; 1 when STA_DB_SYNC asks otherwise (full: every commit
 * synced; normal: none) and nothing changed; -1 on an error. */
int store_sync_batched(struct store *s, void (*on_commit)(void *arg), void *arg);
/* Syncs the write-ahead log: every commit made so far survives a power
 * loss.  0, or -1 (logged). */
int store_sync(struct store *s);

/* DAGs: sync inserts or updates everything but is_paused; a new DAG starts
 * unpaused.  Callers pass the DAGs found in the folder; store_dags_mark
 * _inactive flags the others. */
int store_dag_sync(struct store *s, const struct store_dag *d);
int store_dags_mark_inactive(struct store *s, const char *const *present, size_t n);
int store_dag_get(struct store *s, const char *dag_id, struct store_dag *out); /* or NOT_FOUND */
int store_dag_set_paused(struct store *s, const char *dag_id, int paused);    /* or NOT_FOUND */
typedef int (*store_dag_fn)(void *arg, const struct store_dag *d);
int store_dags_list(struct store *s, store_dag_fn fn, void *arg);

/* Import errors: the last parse result per file (message NULL clears). */
int store_import_error_set(struct store *s, const char *fileloc, const char *message);

/* Runs.  insert sets r->pk; STORE_EXISTS when the DAG already has a run
 * with that run_id or that logical date. */
int store_run_insert(struct store *s, struct store_run *r);
/* Sets state; start_ms when it becomes running (if unset), end_ms when it
 * finishes, cleared when it goes back to queued/running. */
int store_run_set_state(struct store *s, int64_t pk, enum run_state st, int64_t now_ms);
int store_run_get(struct store *s, const char *dag_id, const char *run_id,
    struct store_run *out);                                 /* or NOT_FOUND */
int store_run_get_pk(struct store *s, int64_t pk, struct store_run *out);
/* The scheduled run with the latest logical date, or NOT_FOUND. */
int store_run_last_scheduled(struct store *s, const char *dag_id, struct store_run *out);
typedef int (*store_run_fn)(void *arg, const struct store_run *r);
/* Queued and running runs (all DAGs when dag_id is NULL), oldest logical
 * date first.  Uses an index over active runs only: cost does not grow
 * with finished history. */
int store_runs_active(struct store *s, const char *dag_id, store_run_fn fn, void *arg);
/* Newest logical date first; state < 0 for any; limit <= 0 for no limit. */
int store_runs_list(struct store *s, const char *dag_id, int state, int limit,
    int offset, store_run_fn fn, void *arg);

/* Task instances.  insert sets ti->pk; update writes state, try_number,
 * max_tries, next_try_at, start_ms, end_ms. */
int store_ti_insert(struct store *s, struct store_ti *ti);
int store_ti_update(struct store *s, const struct store_ti *ti);
int store_ti_get(struct store *s, int64_t run_pk, const char *task_id,
    struct store_ti *out);                                  /* or NOT_FOUND */
typedef int (*store_ti_fn)(void *arg, const struct store_ti *ti);
int store_tis_of_run(struct store *s, int64_t run_pk, store_ti_fn fn, void *arg);

/* Tries.  insert sets t->pk; finish writes state, handle, end_ms, exit
 * code, signal, result, reason. */
int store_try_insert(struct store *s, struct store_try *t);
int store_try_update(struct store *s, const struct store_try *t);
/* Removes a try that has not ended ('queued' or 'running') when its
 * executor never started it. */
int store_try_delete_unstarted(struct store *s, int64_t pk);
typedef int (*store_try_fn)(void *arg, const struct store_try *t);
int store_tries_of_ti(struct store *s, int64_t ti_pk, store_try_fn fn, void *arg);
/* Tries in state running, across all runs (for adoption after restart). */
int store_tries_running(struct store *s, store_try_fn fn, void *arg);

/* Pools.  "default_pool" exists from the first migration with 128 slots. */
int store_pool_set(struct store *s, const char *name, int slots, const char *description);
int store_pool_get(struct store *s, const char *name, int *slots); /* or NOT_FOUND */
int store_pool_delete(struct store *s, const char *name);         /* or NOT_FOUND */
typedef int (*store_pool_fn)(void *arg, const char *name, int slots, const char *description);
int store_pools_list(struct store *s, store_pool_fn fn, void *arg);

/* Variables (var.value.X in templates).  get: caller frees *value. */
int store_var_get(struct store *s, const char *key, char **value); /* or NOT_FOUND */
int store_var_set(struct store *s, const char *key, const char *value, int is_secret);
int store_var_delete(struct store *s, const char *key);           /* or NOT_FOUND */
typedef int (*store_var_fn)(void *arg, const char *key, const char *value, int is_secret);
int store_vars_list(struct store *s, store_var_fn fn, void *arg);

/* Audit log: append only.  ts_ms is set by the store. */
int store_audit(struct store *s, const char *actor, const char *action,
    const char *dag_id, const char *run_id, const char *task_id,
    int try_number, const char *detail_json);
typedef int (*store_audit_fn)(void *arg, const struct store_audit *a);
/* Newest first; dag_id NULL for all; limit <= 0 for no limit. */
int store_audit_list(struct store *s, const char *dag_id, int limit,
    store_audit_fn fn, void *arg);

#endif
