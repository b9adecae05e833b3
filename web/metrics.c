/*
 * metrics.c: /metrics in the Prometheus text format: runs and tries by
 * state and the queue depth, counted in the state store at scrape time;
 * the figures only the scheduler knows (scheduling latency, pod launches
 * and back-offs), which it sets through web_metrics_set; and the
 * server's own response counts.
 */
#include <stdio.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lib/timeutil.h"
#include "web/http.h"

static const char SQL_RUNS[] = "SELECT state, count(*) FROM dag_runs GROUP BY state";
static const char SQL_TRIES[] = "SELECT state, count(*) FROM task_tries GROUP BY state";
/* Waiting task instances of active runs: the work the scheduler has in
 * front of it.  Through the index of active runs, so it costs what is
 * active, not what is history. */
static const char SQL_QUEUE[] =
    "SELECT ti.state, count(*) FROM dag_runs r INDEXED BY dag_runs_active"
    " JOIN task_instances ti ON ti.run_pk = r.id"
    " WHERE r.state IN ('queued', 'running')"
    " AND ti.state IN ('scheduled', 'queued', 'up_for_retry') GROUP BY ti.state";

/* Stored as the bits of a double so the scheduler may set them from any
 * thread without a lock. */
static _Atomic uint64_t gauges[WEB_METRIC_COUNT];

static const struct {
	const char *name;
	const char *help;
} gauge_info[WEB_METRIC_COUNT] = {
	[WEB_METRIC_SCHEDULING_LATENCY] = { "sta_scheduling_latency_seconds",
	    "Time from a task instance becoming due to its try starting (last try)." },
	[WEB_METRIC_POD_LAUNCHES] = { "sta_pod_launches",
	    "Pods the Kubernetes executor created since the scheduler started." },
	[WEB_METRIC_POD_BACKOFFS] = { "sta_pod_backoffs",
	    "Pods seen in image-pull or crash-loop back-off since the scheduler started." },
};

static double
bits_to_double(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static uint64_t
double_to_bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

void
web_metrics_set(enum web_metric m, double value)
{
	if ((unsigned)m < WEB_METRIC_COUNT)
		atomic_store(&gauges[m], double_to_bits(value));
}

void
web_metrics_add(enum web_metric m, double delta)
{
	uint64_t old, new;

	if ((unsigned)m >= WEB_METRIC_COUNT)
		return;
	old = atomic_load(&gauges[m]);
	do
		new = double_to_bits(bits_to_double(old) + delta);
	while (!atomic_compare_exchange_weak(&gauges[m], &old, new));
}

double
web_metrics_get(enum web_metric m)
{
	return (unsigned)m < WEB_METRIC_COUNT ? bits_to_double(atomic_load(&gauges[m])) : 0;
}

/* Writes one gauge family with a sample per state, 0 for states without
 * rows, so series do not vanish when a state empties. */
static int
by_state(sqlite3 *db, struct buf *b, const char *sql, const char *name,
    const char *help, const char *const *states, size_t n)
{
	sqlite3_stmt *st = NULL;
	int64_t *count;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	count = xcalloc(n, sizeof(*count));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);

		for (size_t i = 0; i < n; i++)
			if (s != NULL && strcmp(s, states[i]) == 0)
				count[i] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s{state=\"%s\"} %lld\n", name, states[i], (long long)count[i]);
	free(count);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The counts scan whole tables (a second or so with millions of tries),
 * so they run in a worker thread on a connection of its own: the loop,
 * which the scheduler may share, does not wait for them. */
struct scrape {
	char *db_path;
	struct buf text;
};

static void
scrape_free(void *arg)
{
	struct scrape *sc = arg;

	buf_free(&sc->text);
	free(sc->db_path);
	free(sc);
}

static void
scrape_work(struct web_job *j)
{
	static const char *const run_states[] = { "queued", "running", "success", "failed" };
	static const char *const try_states[] = { "running", "success", "failed", "skipped" };
	static const char *const queue_states[] = { "scheduled", "queued", "up_for_retry" };
	struct scrape *sc = j->arg;
	sqlite3 *db = web_db_open_ro(sc->db_path);
	int rc = db != NULL ? 0 : -1;

	rc = rc == 0 ? by_state(db, &sc->text, SQL_RUNS, "sta_dag_runs", "DAG runs by state.",
	    run_states, ARRAY_LEN(run_states)) : rc;
	rc = rc == 0 ? by_state(db, &sc->text, SQL_TRIES, "sta_task_tries", "Task tries by state.",
	    try_states, ARRAY_LEN(try_states)) : rc;
	rc = rc == 0 ? by_state(db, &sc->text, SQL_QUEUE, "sta_queue_depth",
	    "Task instances of active runs waiting to run, by state.",
	    queue_states, ARRAY_LEN(queue_states)) : rc;
	sqlite3_close(db);
	j->result = rc;
}

static void
scrape_done(struct web_job *j)
{
	static const char *const classes[] = { "", "1xx", "2xx", "3xx", "4xx", "5xx" };
	struct scrape *sc = j->arg;
	struct web *w = j->req->w;
	struct buf *b = &sc->text;

	if (j->result != 0) {
		web_reply_error(j->req, 503, "cannot read the state store");
		return;
	}
	for (int m = 0; m < WEB_METRIC_COUNT; m++) {
		double v = web_metrics_get((enum web_metric)m);

		buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", gauge_info[m].name,
		    gauge_info[m].help, gauge_info[m].name, gauge_info[m].name,
		    isfinite(v) ? v : 0.0);
	}
	buf_printf(b, "# HELP sta_http_responses_total HTTP responses sent, by status class.\n"
	    "# TYPE sta_http_responses_total counter\n");
	for (size_t c = 1; c < ARRAY_LEN(classes); c++)
		buf_printf(b, "sta_http_responses_total{class=\"%s\"} %llu\n", classes[c],
		    (unsigned long long)w->responses[c]);
	buf_printf(b, "# HELP sta_web_start_time_seconds When the server started.\n"
	    "# TYPE sta_web_start_time_seconds gauge\nsta_web_start_time_seconds %lld\n",
	    (long long)(w->started_ms / 1000));
	web_reply_text(j->req, 200, "text/plain; version=0.0.4; charset=utf-8", b->data, b->len);
}

void
api_metrics(struct web_req *r)
{
	struct scrape *sc = xcalloc(1, sizeof(*sc));
	struct web_job *j = xcalloc(1, sizeof(*j));

	sc->db_path = xasprintf("%s/sta.db", r->w->home);
	j->work = scrape_work;
	j->done = scrape_done;
	j->free_fn = scrape_free;
	j->arg = sc;
	if (web_defer(r, j) != 0) {
		scrape_free(sc);
		free(j);
		web_reply_error(r, 503, "busy: try again");
	}
}
