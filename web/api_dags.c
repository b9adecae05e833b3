/*
 * api_dags.c: /api/v1/dags: the list (with last runs and next run), one
 * DAG with its graph, pause/unpause, and the grid of runs x tasks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/timeutil.h"
#include "runner/ops.h"
#include "web/http.h"

#define RECENT_RUNS 5
#define GRID_DEFAULT 25
#define GRID_MAX 500

static const char SQL_DAG_ROW[] =
    "SELECT is_paused, is_active FROM dags WHERE dag_id = ?1";
static const char SQL_DAG_ROWS[] =
    "SELECT dag_id, description, schedule, is_paused FROM dags ORDER BY dag_id";
static const char SQL_RECENT[] =
    "SELECT run_id, state, logical_date, run_type, start_ms, end_ms FROM dag_runs"
    " WHERE dag_id = ?1 ORDER BY logical_date DESC LIMIT ?2";
static const char SQL_LAST_SCHED[] =
    "SELECT data_interval_start, data_interval_end FROM dag_runs"
    " WHERE dag_id = ?1 AND run_type = 'scheduled' ORDER BY logical_date DESC LIMIT 1";
static const char SQL_ACTIVE[] =
    "SELECT count(*) FROM dag_runs INDEXED BY dag_runs_active"
    " WHERE dag_id = ?1 AND state IN ('queued', 'running')";
static const char SQL_GRID_RUNS[] =
    "SELECT id, run_id, run_type, state, logical_date, start_ms, end_ms FROM dag_runs"
    " WHERE dag_id = ?1 AND logical_date < ?2 ORDER BY logical_date DESC LIMIT ?3";
static const char SQL_GRID_TIS[] =
    "SELECT run_pk, task_id, state, try_number FROM task_instances WHERE run_pk IN"
    " (SELECT id FROM dag_runs WHERE dag_id = ?1 AND logical_date < ?2"
    "  ORDER BY logical_date DESC LIMIT ?3)";

const struct dag *
web_dag_arg(struct web_req *r, size_t i)
{
	const struct dag *dag = dagcache_find(r->w->dags, r->seg[i]);

	if (dag == NULL)
		web_reply_error(r, 404, "no DAG '%s' in the DAG folder", r->seg[i]);
	return dag;
}

/* The base name of a DAG file: the folder is the server's business. */
static const char *
file_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static void
dag_row(struct web *w, const char *dag_id, int *paused, int *known)
{
	sqlite3_stmt *st = web_stmt(w, SQL_DAG_ROW);

	*paused = 0;
	*known = 0;
	if (st == NULL)
		return;
	web_bind_text(st, 1, dag_id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*paused = sqlite3_column_int(st, 0);
		*known = 1;
	}
	sqlite3_reset(st);
}

static cJSON *
next_run_json(struct web *w, const struct dag *dag)
{
	sqlite3_stmt *st;
	struct interval last, next;
	int have_last = 0;
	cJSON *o;

	if (dag->schedule == NULL)
		return cJSON_CreateNull();
	st = web_stmt(w, SQL_LAST_SCHED);
	if (st != NULL) {
		web_bind_text(st, 1, dag->dag_id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			last.start = sqlite3_column_int64(st, 0);
			last.end = sqlite3_column_int64(st, 1);
			have_last = 1;
		}
		sqlite3_reset(st);
	}
	if (!schedule_next_interval(dag->schedule, have_last ? &last : NULL, dag->start_date,
	    dag->has_end_date, dag->end_date, dag->catchup, time_now(), &next))
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "logical_date", web_json_time(next.start));
	cJSON_AddItemToObject(o, "data_interval_start", web_json_time(next.start));
	cJSON_AddItemToObject(o, "data_interval_end", web_json_time(next.end));
	/* a run is created once its interval has ended */
	cJSON_AddItemToObject(o, "due", web_json_time(next.end));
	return o;
}

static cJSON *
recent_runs_json(struct web *w, const char *dag_id, int limit)
{
	sqlite3_stmt *st = web_stmt(w, SQL_RECENT);
	cJSON *a = cJSON_CreateArray();

	if (st == NULL)
		return a;
	web_bind_text(st, 1, dag_id);
	sqlite3_bind_int(st, 2, limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "run_id", web_col_string(st, 0));
		cJSON_AddItemToObject(o, "state", web_col_string(st, 1));
		cJSON_AddItemToObject(o, "logical_date", web_json_time(sqlite3_column_int64(st, 2)));
		cJSON_AddItemToObject(o, "run_type", web_col_string(st, 3));
		cJSON_AddItemToObject(o, "start", web_json_ms(sqlite3_column_int64(st, 4)));
		cJSON_AddItemToObject(o, "end", web_json_ms(sqlite3_column_int64(st, 5)));
		cJSON_AddItemToArray(a, o);
	}
	sqlite3_reset(st);
	return a;
}

static int
active_runs(struct web *w, const char *dag_id)
{
	sqlite3_stmt *st = web_stmt(w, SQL_ACTIVE);
	int n = 0;

	if (st == NULL)
		return 0;
	web_bind_text(st, 1, dag_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return n;
}

static cJSON *
strv_json(const struct strv *sv)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < sv->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}

/* What the list shows for one DAG; the detail adds to it. */
static cJSON *
dag_summary(struct web *w, const struct dag *dag)
{
	cJSON *o = cJSON_CreateObject(), *recent;
	int paused, known;

	dag_row(w, dag->dag_id, &paused, &known);
	cJSON_AddStringToObject(o, "dag_id", dag->dag_id);
	cJSON_AddItemToObject(o, "description", dag->description ?
	    cJSON_CreateString(dag->description) : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "fileloc", file_name(dag->fileloc));
	cJSON_AddItemToObject(o, "schedule", dag->schedule ?
	    cJSON_CreateString(schedule_text(dag->schedule)) : cJSON_CreateNull());
	cJSON_AddBoolToObject(o, "is_paused", paused);
	cJSON_AddBoolToObject(o, "is_active", 1);
	cJSON_AddItemToObject(o, "tags", strv_json(&dag->tags));
	cJSON_AddNumberToObject(o, "tasks", (double)dag->n_tasks);
	recent = recent_runs_json(w, dag->dag_id, RECENT_RUNS);
	cJSON_AddItemToObject(o, "last_run", cJSON_GetArraySize(recent) > 0 ?
	    cJSON_Duplicate(cJSON_GetArrayItem(recent, 0), 1) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "recent_runs", recent);
	cJSON_AddNumberToObject(o, "active_runs", active_runs(w, dag->dag_id));
	cJSON_AddItemToObject(o, "next_run", next_run_json(w, dag));
	return o;
}

void
api_dags_list(struct web_req *r)
{
	struct dag *const *dags;
	const struct strv *errors;
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
	sqlite3_stmt *st;
	size_t n;

	dagcache_get(r->w->dags, &dags, &n, &errors);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, dag_summary(r->w, dags[i]));
	/* DAGs the store knows whose file is gone: listed, marked inactive. */
	st = web_stmt(r->w, SQL_DAG_ROWS);
	while (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		int found = 0;
		cJSON *d;

		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(dags[i]->dag_id, id) == 0;
		if (found)
			continue;
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "dag_id", id);
		cJSON_AddItemToObject(d, "description", web_col_string(st, 1));
		cJSON_AddItemToObject(d, "schedule", web_col_string(st, 2));
		cJSON_AddBoolToObject(d, "is_paused", sqlite3_column_int(st, 3));
		cJSON_AddBoolToObject(d, "is_active", 0);
		cJSON_AddItemToArray(a, d);
	}
	if (st != NULL)
		sqlite3_reset(st);
	cJSON_AddNumberToObject(o, "total_entries", cJSON_GetArraySize(a));
	cJSON_AddItemToObject(o, "dags", a);
	cJSON_AddItemToObject(o, "import_errors", strv_json(errors));
	web_reply_json(r, 200, o);
}

/* A task as the detail shows it.  Environment values may be templates
 * that read secret variables, or secrets written into the file: only
 * their names are shown. */
static cJSON *
task_json(const struct dag *dag, const struct dag_task *t)
{
	cJSON *o = cJSON_CreateObject(), *up = cJSON_CreateArray(),
	    *down = cJSON_CreateArray(), *env = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "task_id", t->task_id);
	for (size_t u = 0; u < t->n_upstream; u++)
		cJSON_AddItemToArray(up, cJSON_CreateString(dag->tasks[t->upstream[u]].task_id));
	for (size_t d = 0; d < t->n_downstream; d++)
		cJSON_AddItemToArray(down, cJSON_CreateString(dag->tasks[t->downstream[d]].task_id));
	cJSON_AddItemToObject(o, "upstream", up);
	cJSON_AddItemToObject(o, "downstream", down);
	cJSON_AddItemToObject(o, "command", strv_json(&t->command));
	cJSON_AddStringToObject(o, "trigger_rule", trigger_rule_name(t->trigger_rule));
	cJSON_AddNumberToObject(o, "retries", t->args.retries);
	cJSON_AddNumberToObject(o, "retry_delay", (double)t->args.retry_delay);
	cJSON_AddNumberToObject(o, "execution_timeout", (double)t->args.execution_timeout);
	cJSON_AddStringToObject(o, "executor", t->args.executor);
	if (t->args.image != NULL)
		cJSON_AddStringToObject(o, "image", t->args.image);
	cJSON_AddStringToObject(o, "pool", t->args.pool);
	cJSON_AddNumberToObject(o, "pool_slots", t->args.pool_slots);
	cJSON_AddNumberToObject(o, "priority_weight", t->args.priority_weight);
	for (size_t i = 0; i < t->args.n_env; i++)
		cJSON_AddItemToArray(env, cJSON_CreateString(t->args.env[i].key));
	cJSON_AddItemToObject(o, "env", env);
	return o;
}

void
api_dag_get(struct web_req *r)
{
	const struct dag *dag = web_dag_arg(r, 3);
	cJSON *o, *tasks, *edges, *order;

	if (dag == NULL)
		return;
	o = dag_summary(r->w, dag);
	cJSON_AddItemToObject(o, "start_date", web_json_time(dag->start_date));
	cJSON_AddItemToObject(o, "end_date", dag->has_end_date ?
	    web_json_time(dag->end_date) : cJSON_CreateNull());
	cJSON_AddBoolToObject(o, "catchup", dag->catchup);
	cJSON_AddNumberToObject(o, "max_active_runs", dag->max_active_runs);
	cJSON_AddNumberToObject(o, "max_active_tasks", dag->max_active_tasks);
	cJSON_AddItemToObject(o, "params", cJSON_Duplicate(dag->params, 1));
	tasks = cJSON_AddArrayToObject(o, "tasks");
	edges = cJSON_AddArrayToObject(o, "edges");
	order = cJSON_AddArrayToObject(o, "order");
	for (size_t i = 0; i < dag->n_tasks; i++) {
		const struct dag_task *t = &dag->tasks[i];

		cJSON_AddItemToArray(tasks, task_json(dag, t));
		for (size_t u = 0; u < t->n_upstream; u++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "source", dag->tasks[t->upstream[u]].task_id);
			cJSON_AddStringToObject(e, "target", t->task_id);
			cJSON_AddItemToArray(edges, e);
		}
		cJSON_AddItemToArray(order, cJSON_CreateString(dag->tasks[dag->topo[i]].task_id));
	}
	web_reply_json(r, 200, o);
}

/* The CLI does this too: a DAG no scheduler has recorded yet gets its
 * row before it can be paused. */
static int
ensure_dag_row(struct web *w, const struct dag *dag)
{
	struct store_dag row = {0};
	int rc;

	if (store_begin(w->store) != 0)
		return -1;
	rc = store_dag_get(w->store, dag->dag_id, &row);
	if (rc == STORE_NOT_FOUND) {
		struct store_dag nd = {
			.dag_id = dag->dag_id, .fileloc = dag->fileloc,
			.file_hash = (char *)dag->file_hash, .description = dag->description,
			.schedule = dag->schedule ? (char *)schedule_text(dag->schedule) : NULL,
			.is_active = 1, .last_parsed_ms = time_now_ms(),
		};
		rc = store_dag_sync(w->store, &nd);
	}
	store_dag_clear(&row);
	if (rc != 0) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store);
}

void
api_dag_patch(struct web_req *r)
{
	static const char *const fields[] = { "is_paused", NULL };
	const struct dag *dag = web_dag_arg(r, 3);
	cJSON *body, *p, *o;
	int paused;

	if (dag == NULL || (body = web_body_json(r, fields)) == NULL)
		return;
	p = cJSON_GetObjectItemCaseSensitive(body, "is_paused");
	if (!cJSON_IsBool(p) || cJSON_GetArraySize(body) != 1) {
		cJSON_Delete(body);
		web_reply_error(r, 400, "expected {\"is_paused\": true|false}");
		return;
	}
	paused = cJSON_IsTrue(p);
	cJSON_Delete(body);
	if (ensure_dag_row(r->w, dag) != 0 || ops_pause(r->w->store, dag->dag_id, paused,
	    r->actor) != 0) {
		web_reply_error(r, 503, "could not record the change in the state store");
		return;
	}
	web_notify_scheduler(r->w);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "dag_id", dag->dag_id);
	cJSON_AddBoolToObject(o, "is_paused", paused);
	web_reply_json(r, 200, o);
}

/* ------------------------------------------------------------------ grid */

/* Paging by cursor: the logical date (Unix seconds) of the last run
 * shown; the next page holds older runs.  Returns 0 or -1 after a 400. */
int
web_cursor_arg(struct web_req *r, int64_t *before)
{
	const char *c = web_query(r, "cursor");

	*before = INT64_MAX;
	if (c != NULL && (parse_int64(c, before) != 0)) {
		web_reply_error(r, 400, "cursor must be a next_cursor value from an earlier page");
		return -1;
	}
	return 0;
}

struct grid_col {
	int64_t pk;
	cJSON *tis;
};

/* Runs of one page as grid columns (newest first); *more when an older
 * page exists.  Returns the number of columns, or -1. */
static int64_t
grid_runs(struct web *w, const struct dag *dag, int64_t before, int64_t limit,
    cJSON *runs, struct grid_col *cols, int64_t *last, int *more)
{
	sqlite3_stmt *st = web_stmt(w, SQL_GRID_RUNS);
	int64_t n = 0;

	*more = 0;
	if (st == NULL)
		return -1;
	web_bind_text(st, 1, dag->dag_id);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int64(st, 3, limit + 1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *ro, *tis;

		if (n == limit) {
			*more = 1;
			break;
		}
		ro = cJSON_CreateObject();
		cols[n].pk = sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 4);
		cJSON_AddItemToObject(ro, "run_id", web_col_string(st, 1));
		cJSON_AddItemToObject(ro, "run_type", web_col_string(st, 2));
		cJSON_AddItemToObject(ro, "state", web_col_string(st, 3));
		cJSON_AddItemToObject(ro, "logical_date", web_json_time(*last));
		cJSON_AddItemToObject(ro, "start", web_json_ms(sqlite3_column_int64(st, 5)));
		cJSON_AddItemToObject(ro, "end", web_json_ms(sqlite3_column_int64(st, 6)));
		tis = cJSON_AddArrayToObject(ro, "tis");
		for (size_t k = 0; k < dag->n_tasks; k++)
			cJSON_AddItemToArray(tis, cJSON_CreateNull());
		cols[n++].tis = tis;
		cJSON_AddItemToArray(runs, ro);
	}
	sqlite3_reset(st);
	return n;
}

/* Fills the cells of the columns with their task instances. */
static int
grid_cells(struct web *w, const struct dag *dag, int64_t before, int64_t limit,
    const size_t *pos, struct grid_col *cols, int64_t n)
{
	sqlite3_stmt *st = web_stmt(w, SQL_GRID_TIS);
	int64_t c = 0;

	if (st == NULL)
		return -1;
	web_bind_text(st, 1, dag->dag_id);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int64(st, 3, limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t pk = sqlite3_column_int64(st, 0);
		ssize_t t = dag_task_index(dag, (const char *)sqlite3_column_text(st, 1));
		cJSON *cell;

		if (t < 0)
			continue;   /* a task no longer in the file */
		/* rows come grouped by run: look from the last column found */
		for (int64_t k = 0; k < n && cols[c].pk != pk; k++)
			c = (c + 1) % n;
		if (cols[c].pk != pk)
			continue;
		cell = cJSON_CreateObject();
		cJSON_AddItemToObject(cell, "state", web_col_string(st, 2));
		cJSON_AddNumberToObject(cell, "try_number", sqlite3_column_int(st, 3));
		cJSON_ReplaceItemInArray(cols[c].tis, (int)pos[t], cell);
	}
	sqlite3_reset(st);
	return 0;
}

void
api_dag_grid(struct web_req *r)
{
	const struct dag *dag = web_dag_arg(r, 3);
	int64_t limit, before, last = 0, n;
	struct grid_col *cols;
	cJSON *o, *tasks, *runs;
	size_t *pos;
	int more;

	if (dag == NULL || web_query_int(r, "limit", GRID_DEFAULT, 1, GRID_MAX, &limit) != 0 ||
	    web_cursor_arg(r, &before) != 0)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "dag_id", dag->dag_id);
	tasks = cJSON_AddArrayToObject(o, "tasks");
	runs = cJSON_AddArrayToObject(o, "runs");
	/* rows in dependency order; pos maps a task index to its row */
	pos = xcalloc(dag->n_tasks ? dag->n_tasks : 1, sizeof(*pos));
	for (size_t k = 0; k < dag->n_tasks; k++) {
		const struct dag_task *t = &dag->tasks[dag->topo[k]];
		cJSON *to = cJSON_CreateObject(), *up = cJSON_AddArrayToObject(to, "upstream");

		pos[dag->topo[k]] = k;
		cJSON_AddStringToObject(to, "task_id", t->task_id);
		for (size_t u = 0; u < t->n_upstream; u++)
			cJSON_AddItemToArray(up, cJSON_CreateString(dag->tasks[t->upstream[u]].task_id));
		cJSON_AddItemToArray(tasks, to);
	}
	cols = xcalloc((size_t)limit + 1, sizeof(*cols));
	n = grid_runs(r->w, dag, before, limit, runs, cols, &last, &more);
	if (n < 0 || grid_cells(r->w, dag, before, limit, pos, cols, n) != 0) {
		free(cols);
		free(pos);
		cJSON_Delete(o);
		web_reply_error(r, 500, "cannot read the state store");
		return;
	}
	if (more) {
		char c[24];

		snprintf(c, sizeof(c), "%lld", (long long)last);
		cJSON_AddStringToObject(o, "next_cursor", c);
	} else {
		cJSON_AddNullToObject(o, "next_cursor");
	}
	free(cols);
	free(pos);
	web_reply_json(r, 200, o);
}
