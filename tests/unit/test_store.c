/*
 * test_store.c: the state store: migrations, round trips of every record,
 * STORE_EXISTS / STORE_NOT_FOUND, active-only listings, the append-only
 * audit log, transactions, that the scheduler's lookups stay index
 * searches with a large finished history (EXPLAIN QUERY PLAN), and group
 * commit: which commits sync the write-ahead log (fdatasync is
 * interposed here: SQLite, a shared library, calls ours).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "lib/util.h"
#include "runner/store.h"

static char path[300];

/* fdatasync calls on a write-ahead log ("...-wal") so far. */
static int wal_syncs;

int
fdatasync(int fd)
{
	char link[64], target[512];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 4 && memcmp(target + n - 4, "-wal", 4) == 0)
		wal_syncs++;
	return (int)syscall(SYS_fdatasync, fd);
}

static int
setup(void **state)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/sta-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/sta.db", dir);
	*state = store_open(path);
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *cmd;
	int rc;

	store_close(*state);
	cmd = xasprintf("rm -rf \"$(dirname '%s')\"", path);
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int64_t
add_run(struct store *s, const char *dag, const char *run_id, const char *type,
    sta_time ld, enum run_state st)
{
	struct store_run r = {
		.dag_id = (char *)dag, .run_id = (char *)run_id, .run_type = (char *)type,
		.logical_date = ld, .data_interval_start = ld, .data_interval_end = ld + 86400,
		.state = st,
	};

	assert_int_equal(store_run_insert(s, &r), 0);
	return r.pk;
}

static int
collect_run(void *arg, const struct store_run *r)
{
	struct buf *b = arg;

	buf_printf(b, "%s:%s ", r->run_id, run_state_name(r->state));
	return 0;
}

static void
test_runs(void **state)
{
	struct store *s = *state;
	struct store_run r = {0}, dup = {
		.dag_id = "d", .run_id = "other", .run_type = "manual",
		.logical_date = 100, .state = RUN_QUEUED,
	};
	struct buf b = {0};
	int64_t pk;

	assert_int_equal(store_schema_version(s), 2);
	assert_int_equal(store_begin(s), 0);
	pk = add_run(s, "d", "r1", "scheduled", 100, RUN_SUCCESS);
	add_run(s, "d", "r2", "scheduled", 200, RUN_RUNNING);
	add_run(s, "d", "r0", "manual", 50, RUN_QUEUED);
	add_run(s, "d", "m9", "manual", 900, RUN_FAILED);
	assert_int_equal(store_commit(s), 0);
	/* a second run for logical date 100 is refused */
	assert_int_equal(store_run_insert(s, &dup), STORE_EXISTS);
	assert_int_equal(store_run_get(s, "d", "r1", &r), 0);
	assert_int_equal(r.pk, pk);
	assert_string_equal(r.run_type, "scheduled");
	assert_int_equal(r.data_interval_end, 100 + 86400);
	assert_int_equal(r.state, RUN_SUCCESS);
	store_run_clear(&r);
	assert_int_equal(store_run_get(s, "d", "nope", &r), STORE_NOT_FOUND);
	/* latest scheduled ignores manual runs */
	assert_int_equal(store_run_last_scheduled(s, "d", &r), 0);
	assert_string_equal(r.run_id, "r2");
	store_run_clear(&r);
	/* active runs: queued and running only, oldest first */
	assert_int_equal(store_runs_active(s, NULL, collect_run, &b), 0);
	assert_string_equal(b.data, "r0:queued r2:running ");
	buf_reset(&b);
	assert_int_equal(store_runs_list(s, "d", -1, 2, 0, collect_run, &b), 0);
	assert_string_equal(b.data, "m9:failed r2:running ");
	buf_reset(&b);
	assert_int_equal(store_runs_list(s, NULL, RUN_SUCCESS, 0, 0, collect_run, &b), 0);
	assert_string_equal(b.data, "r1:success ");
	buf_free(&b);
	/* state changes set start and end times */
	assert_int_equal(store_run_set_state(s, pk, RUN_RUNNING, 1000), 0);
	assert_int_equal(store_run_set_state(s, pk, RUN_FAILED, 2000), 0);
	assert_int_equal(store_run_get_pk(s, pk, &r), 0);
	assert_int_equal(r.state, RUN_FAILED);
	assert_int_equal(r.end_ms, 2000);
	store_run_clear(&r);
}

static int
collect_try(void *arg, const struct store_try *t)
{
	struct buf *b = arg;

	buf_printf(b, "%d:%s:%d:%s ", t->try_number, ti_state_name(t->state),
	    t->has_exit_code ? t->exit_code : -999, t->result ? t->result : "-");
	return 0;
}

static void
test_tis_and_tries(void **state)
{
	struct store *s = *state;
	int64_t run = add_run(s, "d", "r", "manual", 10, RUN_RUNNING);
	struct store_ti ti = { .run_pk = run, .task_id = "t", .state = TI_NONE, .max_tries = 3 }, got = {0};
	struct store_try tr = { .try_number = 1, .state = TI_RUNNING, .executor = "local",
		.log_path = "x.log", .start_ms = 5 };
	struct buf b = {0};

	assert_int_equal(store_ti_insert(s, &ti), 0);
	assert_int_equal(store_ti_insert(s, &ti), STORE_EXISTS);
	ti.state = TI_UP_FOR_RETRY;
	ti.try_number = 1;
	ti.next_try_at = 77;
	assert_int_equal(store_ti_update(s, &ti), 0);
	assert_int_equal(store_ti_get(s, run, "t", &got), 0);
	assert_int_equal(got.state, TI_UP_FOR_RETRY);
	assert_int_equal(got.next_try_at, 77);
	assert_int_equal(got.max_tries, 3);
	store_ti_clear(&got);
	tr.ti_pk = ti.pk;
	assert_int_equal(store_try_insert(s, &tr), 0);
	tr.state = TI_FAILED;
	tr.has_exit_code = 1;
	tr.exit_code = 3;
	tr.result = "{\"rows\":1}";
	tr.end_ms = 9;
	assert_int_equal(store_try_update(s, &tr), 0);
	assert_int_equal(store_tries_running(s, collect_try, &b), 0);
	assert_string_equal(b.data != NULL ? b.data : "", "");
	assert_int_equal(store_tries_of_ti(s, ti.pk, collect_try, &b), 0);
	assert_string_equal(b.data, "1:failed:3:{\"rows\":1} ");
	buf_free(&b);
}

static void
test_pools_vars_dags(void **state)
{
	struct store *s = *state;
	struct store_dag d = { .dag_id = "x", .fileloc = "x.yaml", .file_hash = "h", .is_active = 1 };
	struct store_dag got = {0};
	char *v = NULL;
	int slots = 0;
	const char *present[] = { "y" };

	assert_int_equal(store_pool_get(s, "default_pool", &slots), 0);
	assert_int_equal(slots, 128);
	assert_int_equal(store_pool_set(s, "p", 4, "four"), 0);
	assert_int_equal(store_pool_get(s, "p", &slots), 0);
	assert_int_equal(slots, 4);
	assert_int_equal(store_pool_delete(s, "p"), 0);
	assert_int_equal(store_pool_get(s, "p", &slots), STORE_NOT_FOUND);
	assert_int_equal(store_var_set(s, "k", "v1", 0), 0);
	assert_int_equal(store_var_set(s, "k", "v2", 1), 0);
	assert_int_equal(store_var_get(s, "k", &v), 0);
	assert_string_equal(v, "v2");
	free(v);
	assert_int_equal(store_var_delete(s, "k"), 0);
	assert_int_equal(store_var_delete(s, "k"), STORE_NOT_FOUND);
	assert_int_equal(store_dag_sync(s, &d), 0);
	assert_int_equal(store_dag_set_paused(s, "x", 1), 0);
	d.file_hash = "h2";
	assert_int_equal(store_dag_sync(s, &d), 0);     /* keeps the paused flag */
	assert_int_equal(store_dags_mark_inactive(s, present, 1), 0);
	assert_int_equal(store_dag_get(s, "x", &got), 0);
	assert_int_equal(got.is_paused, 1);
	assert_int_equal(got.is_active, 0);
	assert_string_equal(got.file_hash, "h2");
	store_dag_clear(&got);
	assert_int_equal(store_dag_set_paused(s, "nope", 1), STORE_NOT_FOUND);
}

static int
collect_audit(void *arg, const struct store_audit *a)
{
	buf_printf(arg, "%s/%s ", a->action, a->dag_id ? a->dag_id : "-");
	return 0;
}

static void
test_audit_and_transactions(void **state)
{
	struct store *s = *state;
	struct buf b = {0};
	sqlite3 *db;

	assert_int_equal(store_audit(s, "cli:u", "pause", "a", NULL, NULL, 0, NULL), 0);
	assert_int_equal(store_audit(s, "cli:u", "trigger", "b", "r", NULL, 0, "{}"), 0);
	assert_int_equal(store_audit(s, "scheduler", "ti_state", "a", "r", "t", 1, NULL), 0);
	assert_int_equal(store_audit_list(s, NULL, 0, collect_audit, &b), 0);
	assert_string_equal(b.data, "ti_state/a trigger/b pause/a ");
	buf_reset(&b);
	assert_int_equal(store_audit_list(s, "a", 1, collect_audit, &b), 0);
	assert_string_equal(b.data, "ti_state/a ");
	buf_free(&b);
	/* append-only, even for another connection */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit_log", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit_log SET actor = 'x'", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	/* rollback discards */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_pool_set(s, "gone", 1, NULL), 0);
	store_rollback(s);
	int slots;
	assert_int_equal(store_pool_get(s, "gone", &slots), STORE_NOT_FOUND);
}

static void
count_commit(void *arg)
{
	(*(int *)arg)++;
}

/* n commits of one audit row each */
static void
commit_n(struct store *s, int n)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal(store_begin(s), 0);
		assert_int_equal(store_audit(s, "scheduler", "ti_state", "a", "r", "t", i, NULL), 0);
		assert_int_equal(store_commit(s), 0);
	}
}

/* Syncs of the write-ahead log while a new connection makes two commits,
 * with STA_DB_SYNC=mode (NULL: unset), batched when asked and allowed
 * (store_sync_batched refuses when mode is set); at_close: the syncs as
 * it closes. */
static int
commits_synced(const char *mode, int batch, int *at_close)
{
	struct store *c;
	int commits = 0, before, n;

	if (mode != NULL)
		setenv("STA_DB_SYNC", mode, 1);
	c = store_open(path);
	assert_non_null(c);
	if (batch)
		assert_int_equal(store_sync_batched(c, count_commit, &commits), mode != NULL);
	before = wal_syncs;
	commit_n(c, 2);
	assert_int_equal(commits, batch && mode == NULL ? 2 : 0);
	n = wal_syncs - before;
	before = wal_syncs;
	store_close(c);
	if (at_close != NULL)
		*at_close = wal_syncs - before;
	unsetenv("STA_DB_SYNC");
	return n;
}

/* The scheduler's connection syncs its commits in batches, other
 * connections (STA_DB_SYNC unset or full) each commit; normal, none. */
static void
test_group_commit(void **state)
{
	struct store *s = *state;
	int commits = 0, before, at_close;

	/* a plain connection: every commit synced */
	before = wal_syncs;
	commit_n(s, 3);
	assert_true(wal_syncs - before >= 3);
	/* batched: commits reported, none synced, until store_sync */
	assert_int_equal(store_sync_batched(s, count_commit, &commits), 0);
	before = wal_syncs;
	commit_n(s, 5);
	assert_int_equal(commits, 5);
	assert_int_equal(wal_syncs - before, 0);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(wal_syncs - before, 1);
	/* a rolled-back transaction makes no commit */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_pool_set(s, "gone", 1, NULL), 0);
	store_rollback(s);
	assert_int_equal(commits, 5);
	/* other connections to the same database: each commit synced, unless
	 * batched, and then synced when closed */
	assert_true(commits_synced(NULL, 0, NULL) >= 2);
	assert_int_equal(commits_synced(NULL, 1, &at_close), 0);
	assert_true(at_close >= 1);
	/* STA_DB_SYNC=full: batching refused, every commit synced; normal:
	 * none */
	assert_true(commits_synced("full", 1, NULL) >= 2);
	assert_int_equal(commits_synced("normal", 1, NULL), 0);
	/* anything else: refused at open */
	setenv("STA_DB_SYNC", "fast", 1);
	assert_null(store_open(path));
	unsetenv("STA_DB_SYNC");
}

/* Every step of the plan of sql must go through an index: a SEARCH, or a
 * SCAN of a partial index that holds only active rows; never a plain scan
 * of a table. */
static void
assert_index_plan(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	struct buf plan = {0};
	int bad = 0;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *step = (const char *)sqlite3_column_text(st, 3);

		buf_printf(&plan, "%s; ", step);
		if (str_has_prefix(step, "SCAN ") && strstr(step, "USING") == NULL)
			bad = 1;
		if (str_has_prefix(step, "SCAN ") && strstr(step, "_active") == NULL &&
		    strstr(step, "_running") == NULL)
			bad = 1;
	}
	sqlite3_finalize(st);
	if (bad)
		fail_msg("%s: plan %s", sql, plan.data);
	buf_free(&plan);
}

static void
test_scale_plans(void **state)
{
	struct store *s = *state;
	sqlite3 *db;

	/* 2,000 finished runs of 100 task instances and tries each */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "BEGIN;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
	    " INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date, data_interval_start,"
	    " data_interval_end, state) SELECT 'h', 'r' || i, 'scheduled', i * 86400, i * 86400,"
	    " (i + 1) * 86400, 'success' FROM n;"
	    "WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 100)"
	    " INSERT INTO task_instances (run_pk, task_id, state) SELECT id, 't' || j, 'success'"
	    " FROM dag_runs, k;"
	    "INSERT INTO task_tries (ti_pk, try_number, state, executor, log_path)"
	    " SELECT id, 1, 'success', 'local', 'x' FROM task_instances;"
	    "COMMIT; ANALYZE;", NULL, NULL, NULL), SQLITE_OK);
	add_run(s, "h", "active", "manual", 1, RUN_RUNNING);
	assert_index_plan(db, "EXPLAIN QUERY PLAN SELECT * FROM dag_runs INDEXED BY dag_runs_active"
	    " WHERE state IN ('queued', 'running') ORDER BY logical_date, id");
	assert_index_plan(db, "EXPLAIN QUERY PLAN SELECT * FROM dag_runs WHERE dag_id = 'h'"
	    " AND run_type = 'scheduled' ORDER BY logical_date DESC LIMIT 1");
	assert_index_plan(db, "EXPLAIN QUERY PLAN SELECT * FROM task_tries INDEXED BY"
	    " task_tries_running WHERE state = 'running'");
	assert_index_plan(db, "EXPLAIN QUERY PLAN SELECT * FROM task_instances WHERE run_pk = 5"
	    " ORDER BY id");
	assert_index_plan(db, "EXPLAIN QUERY PLAN SELECT * FROM task_instances WHERE run_pk = 5"
	    " AND task_id = 't1'");
	assert_index_plan(db, "EXPLAIN QUERY PLAN SELECT * FROM task_tries WHERE ti_pk = 5"
	    " ORDER BY try_number");
	sqlite3_close(db);
	/* and the store's own query returns just the active run */
	struct buf b = {0};
	assert_int_equal(store_runs_active(s, NULL, collect_run, &b), 0);
	assert_string_equal(b.data, "active:running ");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tis_and_tries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pools_vars_dags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_and_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
