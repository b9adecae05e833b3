/*
 * sched.c: the scheduling loop (see sched.h).
 *
 * Model: the store is the truth; this file keeps a cache of the active
 * part of it (queued and running runs with their task instances) and
 * writes through.  Every decision touches only that active part, so its
 * cost does not grow with history.  State changes made in one loop
 * iteration are committed together in the prepare watcher, before the
 * processes they decide on are started (an iteration that starts none
 * leaves them for at most COMMIT_DELAY, to be committed with later
 * ones): a crash can lose a decision, never a fact.  Commits are synced
 * to the disk together (group commit): at most SYNC_DELAY after each,
 * before the executor creates or deletes a pod, and when the store
 * closes.  A local try starts without waiting for the sync: a power loss
 * that could undo its record stops the try too.  Executors keep tries
 * recoverable across a crash; on start the scheduler adopts every try the
 * store says is running.
 *
 * Other processes (the CLI, later the API) change the store and send
 * SIGUSR1; the loop then re-reads the active state and reconciles.
 */
#include "runner/sched.h"
#include "web/web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <ev.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runner/dag.h"
#include "runner/executor.h"
#include "runner/rules.h"
#include "runner/store.h"
#include "runner/template.h"

#define DEFAULT_PARALLELISM 32
#define DEFAULT_RESCAN 30
#define POOL_BLOCKED_POPS 64

/* One version of a DAG file; runs keep the version they started with. */
struct dver {
	struct dag *dag;
	size_t *topo_pos;       /* task index -> position in dag->topo */
	int refs;
};

struct sched;
struct srun;

/* A DAG known to this scheduler. */
struct sdag {
	char *dag_id;
	struct dver *cur;       /* NULL when its file is gone or broken */
	int paused;
	int n_active_runs;      /* queued + running runs */
	int n_running_runs;
	int n_active_tis;       /* running tries, for max_active_tasks */
	int create_pending;     /* a run ended: maybe create the next one */
	struct ready_heap {
		struct ready_item { struct srun *run; size_t task; } *v;
		size_t n, cap;
	} ready;
	ev_periodic due;        /* next scheduled run */
	struct sched *s;
	struct sdag *next;
};

struct sti {
	int64_t pk;
	enum ti_state state;
	int try_number;
	int max_tries;
	sta_time next_try_at;
	int64_t start_ms, end_ms;
	int64_t try_pk;         /* the running try, 0 when none */
	char *log_path;         /* of the running try */
	int kill_sent;
	int64_t due_ms;         /* when it last became scheduled (latency) */
	struct upstream_counts up;      /* its upstream task instances' states */
};

struct srun {
	int64_t pk;
	char *run_id;
	char *run_type;
	enum run_state state;
	sta_time logical_date, interval_start, interval_end;
	cJSON *params;          /* DAG params merged with the run's conf */
	struct sdag *sd;
	struct dver *ver;
	struct sti *tis;        /* ver->dag->n_tasks of them, NULL while queued */
	size_t n_unfinished;
	int seen;               /* reconcile mark */
	int reap;               /* finished: freed by the prepare watcher */
	struct srun *next;
};

struct pool {
	char *name;
	int slots;              /* -1: no such pool */
	int used;
	struct pool *next;
};

/* A try being run: its run and task (for executor callbacks) and the slots
 * it holds (parallelism, its DAG's max_active_tasks, its pool) from the
 * moment it is recorded until it reports its end, whatever happens to its
 * task instance meanwhile.
 *
 * A try handed ahead (queued) is bound to a running local try of its DAG
 * and pool, its holder: the supervisor starts it the moment the holder
 * ends, and it takes the holder's slots then.  Until that it holds none.
 * A holder has at most one try bound to it, which may have one of its
 * own, EXECUTOR_HAND_AHEAD deep at most.  A try of a task whose one
 * unfinished upstream task is its holder's starts only if the holder
 * succeeds (if_success); else the supervisor drops it and its task
 * instance is decided again. */
struct running_try {
	struct sched *s;
	int64_t try_pk;
	struct srun *run;       /* NULL once the run has left memory */
	size_t task;
	struct sdag *sd;
	char *pool;
	int pool_slots;
	struct running_try *holder;     /* set while handed ahead */
	struct running_try *successor;  /* handed ahead behind this one */
	int if_success;                 /* starts only if its holder succeeds */
	int ahead_checked;              /* its downstream tasks were looked at */
	int64_t sent_ms;                /* when it went to the executor; 0: it is
					 * recorded, to be started after the commit */
	struct running_try *next;
};

struct sched {
	const struct sched_opts *opts;
	struct ev_loop *loop;
	struct store *store;
	struct executor *local;
	struct executor *kube;
	struct executor_host host;
	struct sdag *dags;
	struct srun *runs;
	struct pool *pools;
	struct running_try *running;
	int n_running;
	int txn_open;
	int dirty;
	int reload;             /* SIGUSR1 seen: re-read the store */
	int stopping;
	int failed_runs;        /* foreground mode result */
	char *self_exe;
	char hostname[256];
	ev_prepare prepare;
	ev_idle idle;
	ev_timer commit_timer;  /* active while a pass's changes wait */
	ev_timer sync_timer;    /* active while a commit waits for its sync */
	ev_periodic retry_timer;
	ev_timer rescan;
	ev_signal sig_usr1, sig_term, sig_int, sig_hup;
};

/* The longest the changes of a pass that starts no try wait to be
 * committed. */
#define COMMIT_DELAY 0.002

/* Tries are handed ahead again once a chain has fewer than this many
 * waiting in it; then up to EXECUTOR_HAND_AHEAD. */
#define HAND_AHEAD_REFILL 2

/* The longest a commit waits to be synced to the disk: about 500 syncs
 * for 10,000 short tries instead of 6,000 or more, each an fdatasync that
 * on a disk with a journal takes 0.3-0.5 ms and 0.2-0.3 ms of CPU in the
 * kernel (README, benchmarks). */
#define SYNC_DELAY 0.010

static void run_evaluate(struct sched *s, struct srun *r, size_t task);
static void run_finish_if_done(struct sched *s, struct srun *r);

/* ---------------------------------------------------------------- store */

/* Opens the batch transaction of this loop iteration if needed. */
static void
txn(struct sched *s)
{
	if (s->txn_open)
		return;
	if (store_begin(s->store) != 0) {
		log_error("scheduler: cannot begin a store transaction");
		return;
	}
	s->txn_open = 1;
}

static int
txn_commit(struct sched *s)
{
	if (!s->txn_open)
		return 0;
	s->txn_open = 0;
	if (store_commit(s->store) != 0) {
		log_error("scheduler: commit failed; stopping so the store stays the truth");
		store_rollback(s->store);
		ev_break(s->loop, EVBREAK_ALL);
		return -1;
	}
	return 0;
}

/* The changes a pass left waiting are committed now. */
static void
commit_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	txn_commit(w->data);
}

/* store_sync_batched: a commit is being made. */
static void
sync_soon(void *arg)
{
	struct sched *s = arg;

	if (!ev_is_active(&s->sync_timer)) {
		ev_timer_set(&s->sync_timer, SYNC_DELAY, 0.);
		ev_timer_start(s->loop, &s->sync_timer);
	}
}

static void
sync_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sched *s = w->data;

	(void)revents;
	if (store_sync(s->store) != 0) {
		log_error("scheduler: cannot sync the store; stopping so the store stays the truth");
		ev_break(loop, EVBREAK_ALL);
	}
}

/* Syncs the commits not synced yet now, not when due: also when the
 * timer has fired but its callback waits behind this one's (a fired
 * timer is no longer active, only pending; stopping it clears that). */
static void
sync_now(struct sched *s)
{
	if (ev_is_active(&s->sync_timer) || ev_is_pending(&s->sync_timer)) {
		ev_timer_stop(s->loop, &s->sync_timer);
		sync_cb(s->loop, &s->sync_timer, 0);
	}
}

static void
mark_dirty(struct sched *s)
{
	s->dirty = 1;
	if (!ev_is_active(&s->idle))
		ev_idle_start(s->loop, &s->idle);
}

static const char *
run_dag_id(const struct srun *r)
{
	return r->sd->dag_id;
}

static void
audit_ti(struct sched *s, struct srun *r, size_t task, enum ti_state st,
    const char *reason)
{
	cJSON *o = NULL;
	char plain[64], *json = plain;

	/* a state name needs no escaping: most entries are built without a tree */
	if (reason == NULL) {
		snprintf(plain, sizeof(plain), "{\"state\":\"%s\"}", ti_state_name(st));
	} else {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "state", ti_state_name(st));
		cJSON_AddStringToObject(o, "reason", reason);
		json = cJSON_PrintUnformatted(o);
	}
	store_audit(s->store, "scheduler", "ti_state", run_dag_id(r), r->run_id,
	    r->ver->dag->tasks[task].task_id, r->tis[task].try_number, json);
	if (o != NULL) {
		free(json);
		cJSON_Delete(o);
	}
}

/* Writes a task instance's state (and the fields that go with it). */
static void
ti_store(struct sched *s, struct srun *r, size_t task, const char *reason)
{
	struct sti *t = &r->tis[task];
	struct store_ti row = {
		.pk = t->pk, .run_pk = r->pk,
		.task_id = r->ver->dag->tasks[task].task_id,
		.state = t->state, .try_number = t->try_number,
		.max_tries = t->max_tries, .next_try_at = t->next_try_at,
		.start_ms = t->start_ms, .end_ms = t->end_ms,
	};

	txn(s);
	store_ti_update(s->store, &row);
	audit_ti(s, r, task, t->state, reason);
}

/* ---------------------------------------------------------------- DAGs */

static void
dver_unref(struct dver *v)
{
	if (v == NULL || --v->refs > 0)
		return;
	dag_free(v->dag);
	free(v->topo_pos);
	free(v);
}

static struct dver *
dver_new(struct dag *dag)
{
	struct dver *v = xcalloc(1, sizeof(*v));

	v->dag = dag;
	v->refs = 1;
	v->topo_pos = xcalloc(dag->n_tasks ? dag->n_tasks : 1, sizeof(size_t));
	for (size_t i = 0; i < dag->n_tasks; i++)
		v->topo_pos[dag->topo[i]] = i;
	return v;
}

static struct sdag *
sdag_find(struct sched *s, const char *dag_id)
{
	for (struct sdag *d = s->dags; d != NULL; d = d->next)
		if (strcmp(d->dag_id, dag_id) == 0)
			return d;
	return NULL;
}

static void due_cb(struct ev_loop *loop, ev_periodic *w, int revents);

static struct sdag *
sdag_get(struct sched *s, const char *dag_id)
{
	struct sdag *d = sdag_find(s, dag_id);

	if (d != NULL)
		return d;
	d = xcalloc(1, sizeof(*d));
	d->dag_id = xstrdup(dag_id);
	d->s = s;
	ev_periodic_init(&d->due, due_cb, 0, 0, NULL);
	d->due.data = d;
	d->next = s->dags;
	s->dags = d;
	return d;
}

/* ------------------------------------------------------------ ready heap */

/* Higher priority first, then older logical date, then topological order. */
static int
ready_before(const struct ready_item *a, const struct ready_item *b)
{
	int pa = a->run->ver->dag->tasks[a->task].args.priority_weight;
	int pb = b->run->ver->dag->tasks[b->task].args.priority_weight;

	if (pa != pb)
		return pa > pb;
	if (a->run->logical_date != b->run->logical_date)
		return a->run->logical_date < b->run->logical_date;
	if (a->run != b->run)
		return a->run->pk < b->run->pk;
	return a->run->ver->topo_pos[a->task] < b->run->ver->topo_pos[b->task];
}

static void
ready_push(struct ready_heap *h, struct srun *run, size_t task)
{
	size_t i;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	i = h->n++;
	h->v[i].run = run;
	h->v[i].task = task;
	while (i > 0 && ready_before(&h->v[i], &h->v[(i - 1) / 2])) {
		struct ready_item tmp = h->v[i];

		h->v[i] = h->v[(i - 1) / 2];
		h->v[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static struct ready_item
ready_pop(struct ready_heap *h)
{
	struct ready_item top = h->v[0];
	size_t i = 0;

	h->v[0] = h->v[--h->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->n && ready_before(&h->v[l], &h->v[m]))
			m = l;
		if (r < h->n && ready_before(&h->v[r], &h->v[m]))
			m = r;
		if (m == i)
			break;
		struct ready_item tmp = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = tmp;
		i = m;
	}
	return top;
}

/* Drops a run's entries (when the run leaves memory). */
static void
ready_remove_run(struct ready_heap *h, const struct srun *run)
{
	struct ready_heap keep = {0};

	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].run != run)
			ready_push(&keep, h->v[i].run, h->v[i].task);
	free(h->v);
	*h = keep;
}

/* ---------------------------------------------------------------- pools */

static struct pool *
pool_get(struct sched *s, const char *name)
{
	struct pool *p;

	for (p = s->pools; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	if (store_pool_get(s->store, name, &p->slots) != 0) {
		log_warn("pool '%s' does not exist: its tasks wait (sta pools set %s SLOTS)",
		    name, name);
		p->slots = -1;
	}
	p->next = s->pools;
	s->pools = p;
	return p;
}

/* Re-reads pool sizes (after SIGUSR1: `sta pools set` may have run). */
static void
pools_refresh(struct sched *s)
{
	for (struct pool *p = s->pools; p != NULL; p = p->next)
		if (store_pool_get(s->store, p->name, &p->slots) != 0)
			p->slots = -1;
}

/* ----------------------------------------------------------------- runs */

static struct srun *
run_find(struct sched *s, int64_t pk)
{
	for (struct srun *r = s->runs; r != NULL; r = r->next)
		if (r->pk == pk && !r->reap)
			return r;
	return NULL;
}

static int
foreground(const struct sched *s)
{
	return s->opts->n_only_runs > 0;
}

/* A paused DAG starts nothing, except in the foreground: a backfill or a
 * test runs what it was asked to, as Airflow's do. */
static int
sdag_held(const struct sched *s, const struct sdag *sd)
{
	return sd->paused && !foreground(s);
}

static int
run_wanted(const struct sched *s, const struct store_run *r)
{
	if (!foreground(s))
		return strcmp(r->run_type, "test") != 0;
	for (size_t i = 0; i < s->opts->n_only_runs; i++)
		if (s->opts->only_runs[i] == r->pk)
			return 1;
	return 0;
}

static cJSON *
merge_params(const struct dag *dag, const char *conf)
{
	cJSON *p = cJSON_Duplicate(dag->params, 1);
	cJSON *c = conf != NULL ? cJSON_Parse(conf) : NULL;

	if (p == NULL)
		p = cJSON_CreateObject();
	if (cJSON_IsObject(c)) {
		cJSON *it;

		cJSON_ArrayForEach(it, c) {
			cJSON_DeleteItemFromObjectCaseSensitive(p, it->string);
			cJSON_AddItemToObject(p, it->string, cJSON_Duplicate(it, 1));
		}
	}
	cJSON_Delete(c);
	return p;
}

/* Takes (n = 1) or gives back (n = -1) the slots of a try. */
static void
running_slots(struct sched *s, struct running_try *rt, int n)
{
	s->n_running += n;
	rt->sd->n_active_tis += n;
	pool_get(s, rt->pool)->used += n * rt->pool_slots;
}

/* Takes a try handed ahead out of its chain, with the tries behind it up
 * to last: the one after last moves up behind its holder. */
static void
chain_cut(struct running_try *rt, struct running_try *last)
{
	rt->holder->successor = last->successor;
	if (last->successor != NULL)
		last->successor->holder = rt->holder;
	rt->holder = last->successor = NULL;
}

/* Forgets a try that ended and gives back its slots. */
static void
running_remove(struct sched *s, int64_t try_pk)
{
	for (struct running_try **pp = &s->running; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->try_pk == try_pk) {
			struct running_try *rt = *pp;

			*pp = rt->next;
			if (rt->holder != NULL)
				chain_cut(rt, rt);      /* ended before it started */
			else if (rt->successor != NULL)
				rt->successor->holder = NULL;   /* takes our slots */
			else
				running_slots(s, rt, -1);
			free(rt->pool);
			free(rt);
			return;
		}
	}
}

static struct running_try *
running_find(struct sched *s, int64_t try_pk)
{
	for (struct running_try *rt = s->running; rt != NULL; rt = rt->next)
		if (rt->try_pk == try_pk)
			return rt;
	return NULL;
}

static void
run_free(struct sched *s, struct srun *r)
{
	for (struct srun **pp = &s->runs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	ready_remove_run(&r->sd->ready, r);
	/* Tries still running keep reporting; their callbacks find no run. */
	for (struct running_try *rt = s->running; rt != NULL; rt = rt->next)
		if (rt->run == r)
			rt->run = NULL;
	if (r->tis != NULL)
		for (size_t i = 0; i < r->ver->dag->n_tasks; i++)
			free(r->tis[i].log_path);
	free(r->tis);
	cJSON_Delete(r->params);
	dver_unref(r->ver);
	free(r->run_id);
	free(r->run_type);
	free(r);
}

static void
run_set_state(struct sched *s, struct srun *r, enum run_state st)
{
	char detail[64];

	if (r->state == st)
		return;
	if (r->state == RUN_RUNNING)
		r->sd->n_running_runs--;
	if (st == RUN_RUNNING)
		r->sd->n_running_runs++;
	if (st == RUN_SUCCESS || st == RUN_FAILED)
		r->sd->n_active_runs--;
	r->state = st;
	txn(s);
	store_run_set_state(s->store, r->pk, st, time_now_ms());
	snprintf(detail, sizeof(detail), "{\"state\":\"%s\"}", run_state_name(st));
	store_audit(s->store, "scheduler", "run_state", run_dag_id(r), r->run_id,
	    NULL, 0, detail);
	log_info("run %s %s: %s", run_dag_id(r), r->run_id, run_state_name(st));
}

struct ti_load {
	struct sched *s;
	struct srun *r;
};

static int
ti_load_cb(void *arg, const struct store_ti *row)
{
	struct ti_load *tl = arg;
	ssize_t i = dag_task_index(tl->r->ver->dag, row->task_id);
	struct sti *t;

	if (i < 0)
		return 0;       /* task no longer in this DAG version */
	t = &tl->r->tis[i];
	t->pk = row->pk;
	t->state = row->state;
	t->try_number = row->try_number;
	t->max_tries = row->max_tries;
	t->next_try_at = row->next_try_at;
	t->start_ms = row->start_ms;
	t->end_ms = row->end_ms;
	return 0;
}

/* Creates (first start) or loads the task instances of a running run. */
static int
run_load_tis(struct sched *s, struct srun *r)
{
	const struct dag *dag = r->ver->dag;
	struct ti_load tl = { s, r };

	r->tis = xcalloc(dag->n_tasks ? dag->n_tasks : 1, sizeof(*r->tis));
	if (store_tis_of_run(s->store, r->pk, ti_load_cb, &tl) != 0)
		return -1;
	r->n_unfinished = 0;
	for (size_t i = 0; i < dag->n_tasks; i++) {
		struct sti *t = &r->tis[i];

		if (t->pk == 0) {
			struct store_ti row = {
				.run_pk = r->pk, .task_id = dag->tasks[i].task_id,
				.state = TI_NONE,
				.max_tries = dag->tasks[i].args.retries + 1,
			};

			txn(s);
			if (store_ti_insert(s->store, &row) != 0)
				return -1;
			t->pk = row.pk;
			t->state = TI_NONE;
			t->max_tries = row.max_tries;
		}
		if (!ti_state_finished(t->state))
			r->n_unfinished++;
	}
	for (size_t i = 0; i < dag->n_tasks; i++)
		for (size_t d = 0; d < dag->tasks[i].n_downstream; d++)
			upstream_counts_add(&r->tis[dag->tasks[i].downstream[d]].up, r->tis[i].state);
	return 0;
}

static void schedule_retry_timer(struct sched *s);
static void try_adopt(struct sched *s, struct srun *r, size_t task);

/* Puts every undecided task instance of a running run where it belongs:
 * evaluated, ready, waiting for a retry, or adopted when running. */
static void
run_activate(struct sched *s, struct srun *r)
{
	const struct dag *dag = r->ver->dag;

	for (size_t k = 0; k < dag->n_tasks; k++) {
		size_t i = dag->topo[k];

		switch (r->tis[i].state) {
		case TI_NONE:
			run_evaluate(s, r, i);
			break;
		case TI_SCHEDULED:
			ready_push(&r->sd->ready, r, i);
			break;
		case TI_QUEUED:         /* handed ahead: maybe started since */
		case TI_RUNNING:
			try_adopt(s, r, i);
			break;
		default:
			break;
		}
	}
	schedule_retry_timer(s);
	run_finish_if_done(s, r);
}

/* Adds a store run to memory (queued or running).  The run may finish and
 * leave memory at once (nothing left to do), so nothing is returned. */
static void
run_add(struct sched *s, const struct store_run *row)
{
	struct sdag *sd = sdag_get(s, row->dag_id);
	struct srun *r;

	if (sd->cur == NULL) {
		log_warn("run %s %s: DAG file missing or invalid; the run waits",
		    row->dag_id, row->run_id);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->pk = row->pk;
	r->run_id = xstrdup(row->run_id);
	r->run_type = xstrdup(row->run_type);
	r->state = RUN_QUEUED;
	r->logical_date = row->logical_date;
	r->interval_start = row->data_interval_start;
	r->interval_end = row->data_interval_end;
	r->sd = sd;
	r->ver = sd->cur;
	r->ver->refs++;
	r->params = merge_params(r->ver->dag, row->conf);
	r->next = s->runs;
	s->runs = r;
	sd->n_active_runs++;
	if (row->state == RUN_RUNNING) {
		r->state = RUN_RUNNING;
		sd->n_running_runs++;
		if (run_load_tis(s, r) == 0)
			run_activate(s, r);
	}
}

/* Starts queued runs while the DAG is under max_active_runs. */
static void
runs_start_queued(struct sched *s)
{
	struct srun *queued[64];
	size_t nq;

	do {
		nq = 0;
		for (struct srun *r = s->runs; r != NULL && nq < ARRAY_LEN(queued); r = r->next) {
			if (r->state != RUN_QUEUED || sdag_held(s, r->sd) ||
			    r->sd->n_running_runs >= r->ver->dag->max_active_runs)
				continue;
			/* oldest logical date first */
			size_t j = nq++;
			while (j > 0 && queued[j - 1]->logical_date > r->logical_date) {
				queued[j] = queued[j - 1];
				j--;
			}
			queued[j] = r;
		}
		size_t started = 0;
		for (size_t i = 0; i < nq; i++) {
			struct srun *r = queued[i];

			if (r->sd->n_running_runs >= r->ver->dag->max_active_runs)
				continue;
			run_set_state(s, r, RUN_RUNNING);
			if (run_load_tis(s, r) == 0)
				run_activate(s, r);
			started++;
		}
		if (started == 0)
			break;
	} while (nq == ARRAY_LEN(queued));
}

/* ----------------------------------------------------------- evaluation */

/* Changes the state of a task instance in memory, and the counts that
 * follow it: the run's unfinished ones, its downstream tasks' upstream
 * states. */
static void
ti_state_put(struct srun *r, size_t task, enum ti_state st)
{
	const struct dag_task *dt = &r->ver->dag->tasks[task];
	struct sti *t = &r->tis[task];

	if (ti_state_finished(t->state) && !ti_state_finished(st))
		r->n_unfinished++;
	else if (!ti_state_finished(t->state) && ti_state_finished(st))
		r->n_unfinished--;
	for (size_t d = 0; d < dt->n_downstream; d++)
		upstream_counts_move(&r->tis[dt->downstream[d]].up, t->state, st);
	t->state = st;
}

/* Sets and records a task instance's state; a finished one ends at
 * ended_ms (its try's end), or now when that is 0. */
static void
ti_set_state_at(struct sched *s, struct srun *r, size_t task, enum ti_state st,
    const char *reason, int64_t ended_ms)
{
	struct sti *t = &r->tis[task];

	if (st == TI_SCHEDULED)
		t->due_ms = time_now_ms();
	if (ti_state_finished(st) && (t->end_ms == 0 || !ti_state_finished(t->state)))
		t->end_ms = ended_ms != 0 ? ended_ms : time_now_ms();
	ti_state_put(r, task, st);
	ti_store(s, r, task, reason);
}

static void
ti_set_state(struct sched *s, struct srun *r, size_t task, enum ti_state st,
    const char *reason)
{
	ti_set_state_at(s, r, task, st, reason, 0);
}

static struct running_try *running_find(struct sched *s, int64_t try_pk);

/* One upstream task of task is left unfinished: if it runs, its
 * downstream tasks are looked at again (its success alone may make task
 * ready, to be handed ahead behind it). */
static void
ahead_recheck(struct sched *s, struct srun *r, size_t task)
{
	const struct dag_task *dt = &r->ver->dag->tasks[task];

	for (size_t i = 0; i < dt->n_upstream; i++) {
		const struct sti *u = &r->tis[dt->upstream[i]];
		struct running_try *rt;

		if (!ti_state_finished(u->state)) {
			if (u->try_pk != 0 && (rt = running_find(s, u->try_pk)) != NULL)
				rt->ahead_checked = 0;
			return;
		}
	}
}

/* Decides a task instance that has not run yet from its upstream states;
 * finished verdicts propagate downstream at once. */
static void
run_evaluate(struct sched *s, struct srun *r, size_t task)
{
	const struct dag_task *dt = &r->ver->dag->tasks[task];

	if (r->tis[task].state != TI_NONE)
		return;
	switch (rules_evaluate(dt->trigger_rule, &r->tis[task].up)) {
	case RULE_WAIT:
		if (r->tis[task].up.total - r->tis[task].up.done == 1)
			ahead_recheck(s, r, task);
		return;
	case RULE_RUN:
		ti_set_state(s, r, task, TI_SCHEDULED, NULL);
		ready_push(&r->sd->ready, r, task);
		mark_dirty(s);
		return;
	case RULE_SKIP:
		ti_set_state(s, r, task, TI_SKIPPED, "trigger rule");
		break;
	case RULE_UPSTREAM_FAILED:
		ti_set_state(s, r, task, TI_UPSTREAM_FAILED, "upstream failed");
		break;
	}
	for (size_t d = 0; d < dt->n_downstream; d++)
		run_evaluate(s, r, dt->downstream[d]);
}

/* A run ends when every task instance has; it failed when a leaf did. */
static void
run_finish_if_done(struct sched *s, struct srun *r)
{
	const struct dag *dag = r->ver->dag;
	int failed = 0;

	if (r->state != RUN_RUNNING || r->n_unfinished > 0)
		return;
	for (size_t i = 0; i < dag->n_tasks; i++)
		if (dag->tasks[i].n_downstream == 0 &&
		    (r->tis[i].state == TI_FAILED || r->tis[i].state == TI_UPSTREAM_FAILED))
			failed = 1;
	run_set_state(s, r, failed ? RUN_FAILED : RUN_SUCCESS);
	if (failed)
		s->failed_runs++;
	r->sd->create_pending = 1;
	/* Callers may still be walking this run: free it from the loop. */
	r->reap = 1;
	mark_dirty(s);
}

/* ------------------------------------------------------------- launching */

static int
var_get(void *arg, const char *key, char **value)
{
	return store_var_get(arg, key, value) == 0 ? 0 : -1;
}

/* One folder per run, not per task instance: a folder costs a block and
 * an inode, and on ext4 its mkdir was a quarter of the scheduler's time
 * with 10,000 short tasks. */
static char *
try_log_path(struct sched *s, const struct srun *r, const char *task_id, int try_number)
{
	return xasprintf("%s/logs/dag_id=%s/run_id=%s/task_id=%s.attempt=%d.log",
	    s->opts->home, run_dag_id(r), r->run_id, task_id, try_number);
}

/* The rendered argv and env of a task instance. */
struct rendered {
	struct strv argv;
	struct strv env;
};

static int
render_task(struct sched *s, struct srun *r, size_t task, struct rendered *out,
    char *err, size_t errlen)
{
	const struct dag_task *dt = &r->ver->dag->tasks[task];
	struct template_ctx ctx = {
		.dag_id = run_dag_id(r), .task_id = dt->task_id, .run_id = r->run_id,
		.logical_date = r->logical_date,
		.data_interval_start = r->interval_start,
		.data_interval_end = r->interval_end,
		.params = r->params, .var_get = var_get, .var_arg = s->store,
	};
	char *v;

	for (size_t i = 0; i < dt->command.n; i++) {
		if (template_render(dt->command.v[i], &ctx, &v, err, errlen) != 0)
			return -1;
		/* `sta` runs this very binary, wherever it is installed. */
		if (i == 0 && strcmp(v, "sta") == 0 && s->self_exe != NULL) {
			free(v);
			v = xstrdup(s->self_exe);
		}
		strv_push_take(&out->argv, v);
	}
	for (size_t i = 0; i < dt->args.n_env; i++) {
		if (template_render(dt->args.env[i].value, &ctx, &v, err, errlen) != 0)
			return -1;
		strv_push_take(&out->env, xasprintf("%s=%s", dt->args.env[i].key, v));
		free(v);
	}
	if (out->argv.n == 0) {
		snprintf(err, errlen, "empty command");
		return -1;
	}
	return 0;
}

static void
rendered_free(struct rendered *rd)
{
	strv_free(&rd->argv);
	strv_free(&rd->env);
}

static void try_done(void *arg, const struct try_outcome *out);
static void try_dropped(struct running_try *rt, const char *why);

/* Registers a try as running and takes its slots; or, bound to holder,
 * as handed ahead (it takes the holder's slots when the holder ends). */
static struct running_try *
running_add_after(struct sched *s, int64_t try_pk, struct srun *r, size_t task,
    struct running_try *holder, int if_success)
{
	const struct dag_task *dt = &r->ver->dag->tasks[task];
	struct running_try *rt = xcalloc(1, sizeof(*rt));

	rt->s = s;
	rt->try_pk = try_pk;
	rt->run = r;
	rt->task = task;
	rt->sd = r->sd;
	rt->pool = xstrdup(dt->args.pool);
	rt->pool_slots = dt->args.pool_slots;
	rt->next = s->running;
	s->running = rt;
	if (holder != NULL) {
		rt->holder = holder;
		rt->if_success = if_success;
		holder->successor = rt;
		return rt;
	}
	running_slots(s, rt, 1);
	return rt;
}

static struct running_try *
running_add(struct sched *s, int64_t try_pk, struct srun *r, size_t task)
{
	return running_add_after(s, try_pk, r, task, NULL, 0);
}

static struct executor *executor_instance(struct sched *s, const struct executor_ops *ex);

/* How many tries wait before rt in its chain (0: it runs). */
static int
chain_depth(const struct running_try *rt)
{
	int depth = 0;

	for (const struct running_try *h = rt->holder; h != NULL; h = h->holder)
		depth++;
	return depth;
}

/* Whether a try of dt may be handed ahead behind rt, a try of sd: rt is
 * the last of a chain at most EXECUTOR_HAND_AHEAD deep, run by dt's
 * executor (which takes tries handed ahead), holds the pool slots dt
 * needs, and is not being stopped. */
static int
holder_takes(struct sched *s, const struct running_try *rt, const struct sdag *sd,
    const struct dag_task *dt)
{
	const struct sti *t = rt->run != NULL ? &rt->run->tis[rt->task] : NULL;
	const struct executor_ops *ex;
	struct executor *inst;

	/* (a queued try without a holder waits for its drop: its holder
	 * ended without the success it needed) */
	if (rt->sd != sd || rt->successor != NULL || t == NULL ||
	    t->try_pk != rt->try_pk || t->kill_sent ||
	    (t->state != TI_RUNNING && (t->state != TI_QUEUED || rt->holder == NULL)) ||
	    rt->pool_slots != dt->args.pool_slots || strcmp(rt->pool, dt->args.pool) != 0 ||
	    strcmp(rt->run->ver->dag->tasks[rt->task].args.executor, dt->args.executor) != 0)
		return 0;
	ex = executor_find(dt->args.executor);
	inst = executor_instance(s, ex);
	/* a try to be started in this pass goes to the executor first */
	return chain_depth(rt) < EXECUTOR_HAND_AHEAD && inst != NULL && ex->can_follow != NULL &&
	    (rt->sent_ms == 0 || ex->can_follow(inst, rt));
}

/* A try of sd that a try of dt may be handed ahead behind, with fewer
 * than below tries waiting in its chain (EXECUTOR_HAND_AHEAD: any that
 * takes one), or NULL.  Below HAND_AHEAD_REFILL: the chains are low, and
 * are filled again, several tries in one pass (one commit). */
static struct running_try *
holder_find(struct sched *s, struct sdag *sd, const struct dag_task *dt, int below)
{
	for (struct running_try *rt = s->running; rt != NULL; rt = rt->next)
		if (holder_takes(s, rt, sd, dt) && chain_depth(rt) < below)
			return rt;
	return NULL;
}

static void
spec_fill(struct try_spec *spec, const struct srun *r, const struct dag_task *dt,
    int try_number, const struct rendered *rd, const char *log_path)
{
	memset(spec, 0, sizeof(*spec));
	spec->dag_id = run_dag_id(r);
	spec->run_id = r->run_id;
	spec->task_id = dt->task_id;
	spec->try_number = try_number;
	spec->logical_date = r->logical_date;
	spec->data_interval_start = r->interval_start;
	spec->data_interval_end = r->interval_end;
	spec->argv = rd->argv.v;
	spec->env = rd->env.v;
	spec->timeout = dt->args.execution_timeout;
	spec->log_path = log_path;
	spec->image = dt->args.image;
	spec->pool = dt->args.pool;
	spec->resources = dt->args.resources;
	spec->kubernetes = dt->args.kubernetes;
}

/* The scheduler's instance of an executor, or NULL. */
static struct executor *
executor_instance(struct sched *s, const struct executor_ops *ex)
{
	if (ex == &executor_local)
		return s->local;
	if (ex == &executor_kubernetes)
		return s->kube;
	return NULL;
}

/* Fails a try that could not be started; no retry can help. */
static void
try_fail_to_start(struct sched *s, struct srun *r, size_t task, const char *reason)
{
	struct sti *t = &r->tis[task];
	struct try_outcome out = {
		.end = TRY_START_FAILED, .exit_code = -1,
		.reason = (char *)reason,
		.started_ms = time_now_ms(), .ended_ms = time_now_ms(),
	};
	struct running_try *rt = running_find(s, t->try_pk);

	if (rt == NULL)
		rt = running_add(s, t->try_pk, r, task);
	try_done(rt, &out);
}

/* Records the handle (pid, pod) of the running try of a task instance. */
static void
try_store_handle(struct sched *s, struct srun *r, size_t task, const char *handle)
{
	struct sti *t = &r->tis[task];
	struct store_try row = {
		.pk = t->try_pk, .ti_pk = t->pk, .try_number = t->try_number,
		.state = TI_RUNNING, .executor = r->ver->dag->tasks[task].args.executor,
		.handle = (char *)handle, .hostname = s->hostname,
		.log_path = t->log_path, .start_ms = t->start_ms,
	};

	txn(s);
	store_try_update(s->store, &row);
}

/* executor_host: a try started without a handle has one now. */
static void
try_started(void *arg, const char *handle)
{
	struct running_try *rt = arg;

	if (rt->run != NULL && rt->run->tis[rt->task].try_pk == rt->try_pk &&
	    rt->run->tis[rt->task].state == TI_RUNNING)
		try_store_handle(rt->s, rt->run, rt->task, handle);
}

/* Due to started, for /metrics (sta scheduler --web). */
static void
latency_metric(const struct sti *t, int64_t started_ms)
{
	if (t->due_ms > 0)
		web_metrics_set(WEB_METRIC_SCHEDULING_LATENCY,
		    (double)(started_ms - t->due_ms) / 1000.0);
}

/* A try handed ahead has started, at now_ms (its holder's end, or later
 * when it was sent later): the task instance runs. */
static void
try_promote(struct sched *s, struct running_try *rt, int64_t now_ms)
{
	struct srun *r = rt->run;
	struct sti *t = r != NULL ? &r->tis[rt->task] : NULL;
	struct store_try row = {0};

	if (t == NULL || t->try_pk != rt->try_pk || t->state != TI_QUEUED)
		return;         /* cleared or marked meanwhile: it is being stopped */
	if (rt->if_success)
		t->due_ms = now_ms;     /* ready the moment its holder succeeded */
	t->start_ms = now_ms;
	latency_metric(t, now_ms);
	ti_set_state(s, r, rt->task, TI_RUNNING, NULL);
	row.pk = t->try_pk;
	row.state = TI_RUNNING;
	row.start_ms = now_ms;
	store_try_update(s->store, &row);
}

/* The try of sd handed ahead longest ago that may start in a slot that
 * freed elsewhere (its pool has room, it is not being stopped), or NULL. */
static struct running_try *
queued_oldest(struct sched *s, struct sdag *sd)
{
	struct running_try *found = NULL;

	/* the list is newest first */
	for (struct running_try *rt = s->running; rt != NULL; rt = rt->next) {
		const struct pool *p;

		if (rt->sd != sd || rt->holder == NULL || rt->if_success || rt->run == NULL ||
		    rt->run->tis[rt->task].kill_sent)
			continue;
		p = pool_get(s, rt->pool);
		if (p->slots >= 0 && p->used + rt->pool_slots <= p->slots)
			found = rt;
	}
	return found;
}

/* Starts a try handed ahead at once in a free slot, instead of after its
 * holder (which may run long): a slot never idles while a try waits.  The
 * tries behind it that wait for its success stay behind it. */
static void
queued_release(struct sched *s, struct running_try *rt)
{
	struct sti *t = &rt->run->tis[rt->task];
	const struct executor_ops *ex = executor_find(rt->run->ver->dag->tasks[rt->task].args.executor);
	struct running_try *last = rt;

	while (last->successor != NULL && last->successor->if_success)
		last = last->successor;
	chain_cut(rt, last);
	running_slots(s, rt, 1);
	ex->release(executor_instance(s, ex), t->log_path);
	try_promote(s, rt, time_now_ms());
}

/* A try handed ahead that never started (its scheduler was restarted, or
 * the try it followed did not succeed): the task instance is decided
 * again from its upstream tasks, and runs as the same try number. */
static void
queued_return(struct sched *s, struct srun *r, size_t task, const char *why)
{
	struct sti *t = &r->tis[task];

	txn(s);
	running_remove(s, t->try_pk);
	store_try_delete_unstarted(s->store, t->try_pk);
	t->try_pk = 0;
	t->try_number--;
	free(t->log_path);
	t->log_path = NULL;
	ti_set_state(s, r, task, TI_NONE, why);
	run_evaluate(s, r, task);
	run_finish_if_done(s, r);
	mark_dirty(s);
}

/* Starts (or, after a restart, re-starts) the recorded try of a running
 * task instance. */
static void
try_start(struct sched *s, struct srun *r, size_t task, int adopting)
{
	const struct dag_task *dt = &r->ver->dag->tasks[task];
	struct sti *t = &r->tis[task];
	const struct executor_ops *ex = executor_find(dt->args.executor);
	struct executor *inst = executor_instance(s, ex);
	struct rendered rd = {0};
	struct try_spec spec;
	struct running_try *rt;
	char err[512], *handle = NULL;
	enum adopt_result ar = ADOPT_NOT_STARTED;

	if (inst == NULL) {
		snprintf(err, sizeof(err), "executor '%s' is not available in this build",
		    dt->args.executor);
		try_fail_to_start(s, r, task, err);
		return;
	}
	if (render_task(s, r, task, &rd, err, sizeof(err)) != 0) {
		try_fail_to_start(s, r, task, err);
		rendered_free(&rd);
		return;
	}
	spec_fill(&spec, r, dt, t->try_number, &rd, t->log_path);
	if ((rt = running_find(s, t->try_pk)) == NULL)
		rt = running_add(s, t->try_pk, r, task);
	spec.after = rt->holder;
	spec.after_success = rt->if_success;
	rt->sent_ms = time_now_ms();
	if (!adopting && rt->if_success && rt->holder == NULL && t->state == TI_QUEUED) {
		/* what it was to follow ended without success before it went */
		rendered_free(&rd);
		try_dropped(rt, NULL);
		return;
	}
	if (adopting)
		ar = ex->adopt(inst, &spec, try_done, rt, &handle);
	if (adopting && ar == ADOPT_NOT_STARTED && t->state == TI_QUEUED) {
		/* handed ahead before a restart and never started: it waits
		 * for a slot again, as the same try (if its old supervisor
		 * starts it after all, the claim makes ours follow that one) */
		rendered_free(&rd);
		queued_return(s, r, task, "handed to the executor before a restart, never started");
		return;
	}
	if (ar != ADOPT_NOT_STARTED && t->state == TI_QUEUED)
		try_promote(s, rt, time_now_ms());
	if (ar == ADOPT_NOT_STARTED && ex->start(inst, &spec, try_done, rt, &handle) != 0) {
		rendered_free(&rd);
		try_fail_to_start(s, r, task, "the executor could not start it (see the scheduler log)");
		return;
	}
	if (handle != NULL)
		try_store_handle(s, r, task, handle);
	free(handle);
	rendered_free(&rd);
}

/* Records a new try as running, before it is started; or, with a holder,
 * as queued behind it (if_success: to start only if the holder succeeds).
 * Returns the try, or NULL. */
static struct running_try *
try_record(struct sched *s, struct srun *r, size_t task, struct running_try *holder,
    int if_success)
{
	const struct dag_task *dt = &r->ver->dag->tasks[task];
	struct sti *t = &r->tis[task];
	struct store_try row = {0};

	t->try_number++;
	t->start_ms = holder != NULL ? 0 : time_now_ms();
	t->end_ms = 0;
	t->next_try_at = 0;
	t->kill_sent = 0;
	free(t->log_path);
	t->log_path = try_log_path(s, r, dt->task_id, t->try_number);
	ti_set_state(s, r, task, holder != NULL ? TI_QUEUED : TI_RUNNING, NULL);
	row.ti_pk = t->pk;
	row.try_number = t->try_number;
	row.state = t->state;
	row.executor = dt->args.executor;
	row.hostname = s->hostname;
	row.log_path = t->log_path;
	row.start_ms = t->start_ms;
	if (store_try_insert(s->store, &row) != 0)
		return NULL;
	t->try_pk = row.pk;
	return running_add_after(s, t->try_pk, r, task, holder, if_success);
}

struct launches {
	struct launch {
		struct srun *run;
		size_t task;
	} *v;
	size_t n, cap;
};

static void
launch_push(struct launches *l, struct srun *r, size_t task)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].run = r;
	l->v[l->n].task = task;
	l->n++;
}

/* Whether task of r, not decided yet, runs the moment its one unfinished
 * upstream task succeeds. */
static int
ready_after_success(const struct srun *r, size_t task)
{
	struct upstream_counts c = r->tis[task].up;

	if (r->tis[task].state != TI_NONE || c.total - c.done != 1)
		return 0;
	c.success++;
	c.done++;
	return rules_evaluate(r->ver->dag->tasks[task].trigger_rule, &c) == RULE_RUN;
}

/* Whether a task's command or environment reads a variable (var.value.X),
 * which its upstream task may set: it is rendered only once it is ready.
 * (A plain mention of the text counts too: it only keeps the task from
 * being handed ahead early.) */
static int
task_reads_variables(const struct dag_task *dt)
{
	for (size_t i = 0; i < dt->command.n; i++)
		if (strstr(dt->command.v[i], "var.value.") != NULL)
			return 1;
	for (size_t i = 0; i < dt->args.n_env; i++)
		if (strstr(dt->args.env[i].value, "var.value.") != NULL)
			return 1;
	return 0;
}

/* Hands ahead, behind each running try of sd whose downstream tasks were
 * not looked at yet, one that the try's success alone makes ready: the
 * supervisor starts it the moment that try succeeds, without waiting for
 * the scheduler to record the success (a commit).  Then behind that one,
 * as deep as a chain may be. */
static void
hand_ahead_downstream(struct sched *s, struct sdag *sd, struct launches *l)
{
	for (struct running_try *rt = s->running; rt != NULL; rt = rt->next) {
		struct running_try *h = rt;

		while (h != NULL && h->sd == sd && !h->ahead_checked && h->run != NULL &&
		    h->run->state == RUN_RUNNING) {
			struct srun *r = h->run;
			const struct dag_task *ut = &r->ver->dag->tasks[h->task];
			size_t i = 0, d;

			while (i < ut->n_downstream && (!ready_after_success(r, ut->downstream[i]) ||
			    task_reads_variables(&r->ver->dag->tasks[ut->downstream[i]])))
				i++;
			if (i == ut->n_downstream) {
				h->ahead_checked = 1;
				break;
			}
			d = ut->downstream[i];
			if (!holder_takes(s, h, sd, &r->ver->dag->tasks[d]))
				break;          /* maybe later: looked at again then */
			h->ahead_checked = 1;
			if ((h = try_record(s, r, d, h, 1)) != NULL)
				launch_push(l, r, d);
		}
	}
}

static void
pick_launches(struct sched *s, struct launches *l)
{
	int parallelism = s->opts->parallelism > 0 ? s->opts->parallelism : DEFAULT_PARALLELISM;

	if (s->opts->before_launch != NULL)
		s->opts->before_launch(s->opts->before_launch_arg);
	for (struct sdag *sd = s->dags; sd != NULL; sd = sd->next) {
		struct ready_heap parked = {0};
		struct running_try *q;
		int blocked = 0, refill = 0;

		/* tries handed ahead first: they were ready before the rest */
		while (!sdag_held(s, sd) && s->n_running < parallelism &&
		    (q = queued_oldest(s, sd)) != NULL &&
		    sd->n_active_tis < q->run->ver->dag->max_active_tasks)
			queued_release(s, q);
		while (sd->ready.n > 0 && blocked < POOL_BLOCKED_POPS) {
			struct ready_item it = sd->ready.v[0];
			const struct dag *dag = it.run->ver->dag;
			const struct dag_task *dt = &dag->tasks[it.task];
			struct running_try *holder = NULL;
			struct pool *p;

			if (sdag_held(s, sd))
				break;
			/* no slot: handed ahead behind a running try when the
			 * chains are low, or it waits */
			if ((s->n_running >= parallelism || sd->n_active_tis >= dag->max_active_tasks) &&
			    (!(refill = refill || holder_find(s, sd, dt, HAND_AHEAD_REFILL) != NULL) ||
			    (holder = holder_find(s, sd, dt, EXECUTOR_HAND_AHEAD)) == NULL))
				break;
			ready_pop(&sd->ready);
			if (it.run->tis[it.task].state != TI_SCHEDULED)
				continue;       /* cleared or marked meanwhile */
			p = pool_get(s, dt->args.pool);
			if (holder == NULL && (p->slots < 0 || p->used + dt->args.pool_slots > p->slots) &&
			    (p->slots < 0 || (holder = holder_find(s, sd, dt, EXECUTOR_HAND_AHEAD)) == NULL)) {
				ready_push(&parked, it.run, it.task);
				blocked++;
				continue;
			}
			if (try_record(s, it.run, it.task, holder, 0) == NULL)
				continue;
			if (holder == NULL)
				latency_metric(&it.run->tis[it.task], time_now_ms());
			launch_push(l, it.run, it.task);
		}
		for (size_t i = 0; i < parked.n; i++)
			ready_push(&sd->ready, parked.v[i].run, parked.v[i].task);
		free(parked.v);
		/* then tasks one running try's success makes ready, while no
		 * ready task waits (they keep their priority) */
		if (sd->ready.n == 0 && !sdag_held(s, sd))
			hand_ahead_downstream(s, sd, l);
	}
}

/* --------------------------------------------------------------- retries */

static void
retry_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct sched *s = w->data;

	(void)loop;
	(void)revents;
	schedule_retry_timer(s);
}

/* Moves due retries to the ready queue and arms the timer for the next. */
static void
schedule_retry_timer(struct sched *s)
{
	sta_time now = time_now(), next = 0;

	for (struct srun *r = s->runs; r != NULL; r = r->next) {
		if (r->tis == NULL)
			continue;
		for (size_t i = 0; i < r->ver->dag->n_tasks; i++) {
			struct sti *t = &r->tis[i];

			if (t->state != TI_UP_FOR_RETRY)
				continue;
			if (t->next_try_at <= now) {
				ti_set_state(s, r, i, TI_SCHEDULED, "retry due");
				ready_push(&r->sd->ready, r, i);
				mark_dirty(s);
			} else if (next == 0 || t->next_try_at < next) {
				next = t->next_try_at;
			}
		}
	}
	ev_periodic_stop(s->loop, &s->retry_timer);
	if (next != 0) {
		ev_periodic_set(&s->retry_timer, (ev_tstamp)next, 0, NULL);
		ev_periodic_start(s->loop, &s->retry_timer);
	}
}

/* ----------------------------------------------------------- completion */

static enum ti_state
outcome_state(const struct try_outcome *out, int *retryable)
{
	*retryable = 0;
	switch (out->end) {
	case TRY_EXITED:
		if (out->signal != 0) {
			*retryable = 1;
			return TI_FAILED;
		}
		switch (rules_exit_status(out->exit_code)) {
		case EXIT_VERDICT_SUCCESS:
			return TI_SUCCESS;
		case EXIT_VERDICT_SKIPPED:
			return TI_SKIPPED;
		case EXIT_VERDICT_FAIL_RETRY:
			*retryable = 1;
			return TI_FAILED;
		case EXIT_VERDICT_FAIL_FINAL:
			return TI_FAILED;
		}
		break;
	case TRY_TIMED_OUT:
	case TRY_LOST:
		*retryable = 1;
		return TI_FAILED;
	case TRY_START_FAILED:
	case TRY_DROPPED:
		return TI_FAILED;
	}
	return TI_FAILED;
}

static char *
outcome_reason(const struct try_outcome *out)
{
	if (out->reason != NULL)
		return xstrdup(out->reason);
	switch (out->end) {
	case TRY_EXITED:
		if (out->signal != 0)
			return xasprintf("killed by signal %d", out->signal);
		if (rules_exit_status(out->exit_code) == EXIT_VERDICT_FAIL_FINAL)
			return xasprintf("exit status %d: not retried (a retry cannot help)",
			    out->exit_code);
		return xasprintf("exit status %d", out->exit_code);
	case TRY_TIMED_OUT:
		return xstrdup("execution_timeout reached: process group killed");
	case TRY_LOST:
		return xstrdup("supervisor lost: outcome unknown");
	case TRY_START_FAILED:
		return xstrdup("could not start");
	case TRY_DROPPED:
		return xstrdup("not started");
	}
	return NULL;
}

static uint64_t
retry_seed(const struct srun *r, size_t task)
{
	/* FNV-1a of dag and task, from a basis one digit short of FNV's:
	 * kept, so that every retry waits as it did before */
	uint64_t h = 1469598103934665603ULL;
	const char *parts[] = { run_dag_id(r), r->ver->dag->tasks[task].task_id };

	for (size_t i = 0; i < ARRAY_LEN(parts); i++)
		h = fnv1a(h, parts[i], strlen(parts[i]));
	return h ^ (uint64_t)r->logical_date;
}

/* A try handed ahead was dropped, never started: what it followed did not
 * succeed, or its supervisor ended first.  Its task instance is decided
 * again (unless cleared or marked meanwhile). */
static void
try_dropped(struct running_try *rt, const char *why)
{
	struct sched *s = rt->s;
	struct srun *r = rt->run;
	struct sti *t = r != NULL ? &r->tis[rt->task] : NULL;
	struct running_try *next = rt->holder == NULL ? rt->successor : NULL;
	char *reason = why != NULL ? xasprintf("not started: %s", why) :
	    xstrdup("handed ahead, not started: the task it followed did not succeed");

	/* one holding slots (its holder ended) passes them on */
	if (next != NULL && !next->if_success)
		try_promote(s, next, time_now_ms());
	if (t != NULL && t->try_pk == rt->try_pk &&
	    (t->state == TI_QUEUED || t->state == TI_RUNNING)) {
		queued_return(s, r, rt->task, reason);
	} else {
		store_try_delete_unstarted(s->store, rt->try_pk);
		running_remove(s, rt->try_pk);
		mark_dirty(s);
	}
	free(reason);
}

/* An executor reports the end of a try. */
static void
try_done(void *arg, const struct try_outcome *out)
{
	struct running_try *rt = arg;
	struct sched *s = rt->s;
	struct srun *r = rt->run;
	size_t task = rt->task;
	int64_t try_pk = rt->try_pk;
	struct running_try *next;
	int retryable;
	enum ti_state st = outcome_state(out, &retryable);
	char *reason = outcome_reason(out);
	struct store_try row = {
		.pk = try_pk, .state = st == TI_SKIPPED ? TI_SKIPPED : st,
		.end_ms = out->ended_ms ? out->ended_ms : time_now_ms(),
		.start_ms = out->started_ms,
		.has_exit_code = out->end == TRY_EXITED && out->signal == 0,
		.exit_code = out->exit_code, .signal = out->signal,
		.result = out->result_json, .reason = reason, .handle = out->handle,
	};

	txn(s);
	if (out->end == TRY_DROPPED) {
		try_dropped(rt, out->reason);
		free(reason);
		return;
	}
	if (r != NULL) {
		struct sti *t = &r->tis[task];

		row.ti_pk = t->pk;
		row.try_number = t->try_number;
		row.log_path = t->log_path;
		row.executor = r->ver->dag->tasks[task].args.executor;
		row.hostname = s->hostname;
		if (t->start_ms != 0)
			row.start_ms = t->start_ms;
	}
	store_try_update(s->store, &row);
	/* a try handed ahead behind this one has started: it runs now, from
	 * this end or from when it was sent, if later (one to start only
	 * after a success waits for its drop, holding the slots, when there
	 * was none) */
	if ((next = rt->holder == NULL ? rt->successor : NULL) != NULL &&
	    (!next->if_success || executor_outcome_succeeded(out)))
		try_promote(s, next, row.end_ms > next->sent_ms ? row.end_ms : next->sent_ms);
	running_remove(s, try_pk);
	if (r == NULL) {
		free(reason);
		return;     /* its run left memory (cleared or marked meanwhile) */
	}

	struct sti *t = &r->tis[task];
	if (t->try_pk != try_pk || (t->state != TI_RUNNING && t->state != TI_QUEUED)) {
		/* Marked or cleared while running: the try is recorded, the
		 * task instance keeps the state it was given. */
		free(reason);
		mark_dirty(s);
		return;
	}
	t->try_pk = 0;
	free(t->log_path);      /* the store has it; a 10,000-task run held them all */
	t->log_path = NULL;
	if (st == TI_FAILED && retryable && t->try_number < t->max_tries) {
		int64_t delay = rules_retry_delay(&r->ver->dag->tasks[task].args,
		    t->try_number, retry_seed(r, task));

		/* rounded up: never sooner than retry_delay after the failure */
		t->next_try_at = (time_now_ms() + delay * 1000 + 999) / 1000;
		log_info("%s %s %s: try %d failed, retry in %llds",
		    run_dag_id(r), r->run_id, r->ver->dag->tasks[task].task_id,
		    t->try_number, (long long)delay);
		ti_set_state(s, r, task, TI_UP_FOR_RETRY, row.reason);
		schedule_retry_timer(s);
	} else {
		const struct dag_task *dt = &r->ver->dag->tasks[task];

		ti_set_state_at(s, r, task, st, NULL, row.end_ms);
		if (st != TI_SUCCESS)
			log_info("%s %s %s: %s", run_dag_id(r), r->run_id,
			    dt->task_id, ti_state_name(st));
		for (size_t d = 0; d < dt->n_downstream; d++)
			run_evaluate(s, r, dt->downstream[d]);
		run_finish_if_done(s, r);
	}
	free(reason);
	mark_dirty(s);
}

struct try_find {
	int64_t try_pk;
	int try_number;
	char *log_path;
	int64_t start_ms;
};

static int
last_try_cb(void *arg, const struct store_try *t)
{
	struct try_find *f = arg;

	if (t->try_number >= f->try_number) {
		f->try_pk = t->pk;
		f->try_number = t->try_number;
		free(f->log_path);
		f->log_path = xstrdup(t->log_path);
		f->start_ms = t->start_ms;
	}
	return 0;
}

/* A task instance the store says is running: re-attach to its try. */
static void
try_adopt(struct sched *s, struct srun *r, size_t task)
{
	struct sti *t = &r->tis[task];
	struct try_find f = {0};

	store_tries_of_ti(s->store, t->pk, last_try_cb, &f);
	if (f.try_pk == 0 || f.try_number != t->try_number) {
		/* Crashed between recording the state and the try: start over. */
		free(f.log_path);
		t->try_number = f.try_number;
		ti_set_state(s, r, task, TI_SCHEDULED, "no try recorded");
		ready_push(&r->sd->ready, r, task);
		mark_dirty(s);
		return;
	}
	t->try_pk = f.try_pk;
	free(t->log_path);
	t->log_path = f.log_path;
	t->start_ms = f.start_ms;
	log_info("adopting %s %s %s try %d", run_dag_id(r), r->run_id,
	    r->ver->dag->tasks[task].task_id, t->try_number);
	try_start(s, r, task, 1);
}

/* --------------------------------------------------------- run creation */

static void
run_id_for(char *out, size_t outlen, const char *type, sta_time logical)
{
	char iso[TIME_ISO_LEN];

	time_format_iso(logical, iso);
	snprintf(out, outlen, "%s__%s", type, iso);
}

/* Creates the scheduled runs that are due, oldest first, while the DAG is
 * under max_active_runs; arms the timer for the next one. */
static void
sdag_create_due_runs(struct sched *s, struct sdag *sd)
{
	const struct dag *dag;
	struct store_run last = {0};
	struct interval iv, prev;
	int have_last;

	ev_periodic_stop(s->loop, &sd->due);
	if (foreground(s) || sd->cur == NULL || sd->paused || sd->cur->dag->schedule == NULL)
		return;
	dag = sd->cur->dag;
	have_last = store_run_last_scheduled(s->store, sd->dag_id, &last) == 0;
	prev.start = last.data_interval_start;
	prev.end = last.data_interval_end;
	store_run_clear(&last);
	while (sd->n_active_runs < dag->max_active_runs) {
		sta_time now = time_now();
		struct store_run row = {0};
		char run_id[96];

		if (!schedule_next_interval(dag->schedule, have_last ? &prev : NULL,
		    dag->start_date, dag->has_end_date, dag->end_date, dag->catchup,
		    now, &iv))
			return;
		if (iv.end > now) {
			ev_periodic_set(&sd->due, (ev_tstamp)iv.end, 0, NULL);
			ev_periodic_start(s->loop, &sd->due);
			return;
		}
		run_id_for(run_id, sizeof(run_id), "scheduled", iv.start);
		row.dag_id = sd->dag_id;
		row.run_id = run_id;
		row.run_type = "scheduled";
		row.logical_date = iv.start;
		row.data_interval_start = iv.start;
		row.data_interval_end = iv.end;
		row.state = RUN_QUEUED;
		txn(s);
		int rc = store_run_insert(s->store, &row);
		if (rc == STORE_EXISTS) {
			/* a manual run holds that date: the interval is taken */
			have_last = 1;
			prev = iv;
			continue;
		}
		if (rc != 0)
			return;
		store_audit(s->store, "scheduler", "run_create", sd->dag_id, run_id,
		    NULL, 0, "{\"run_type\":\"scheduled\"}");
		log_info("run %s %s: created", sd->dag_id, run_id);
		run_add(s, &row);
		have_last = 1;
		prev = iv;
		mark_dirty(s);
	}
}

static void
due_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	struct sdag *sd = w->data;

	(void)loop;
	(void)revents;
	sdag_create_due_runs(sd->s, sd);
	mark_dirty(sd->s);
}

/* ------------------------------------------------------------ DAG folder */

static void
dag_sync_store(struct sched *s, const struct dag *dag)
{
	struct store_dag row = {
		.dag_id = dag->dag_id, .fileloc = dag->fileloc,
		.file_hash = (char *)dag->file_hash, .description = dag->description,
		.schedule = dag->schedule ? (char *)schedule_text(dag->schedule) : NULL,
		.is_active = 1, .last_parsed_ms = time_now_ms(),
	};

	txn(s);
	store_dag_sync(s->store, &row);
	store_import_error_set(s->store, dag->fileloc, NULL);
}

/* Reads the DAG folder: new and changed files get a new version (runs in
 * flight keep theirs), broken files are reported and keep nothing new. */
static void
dags_scan(struct sched *s)
{
	struct dag_errors errs = {0};
	struct dag **dags = NULL;
	size_t n = 0;
	const char **present;

	if (dag_load_folder(s->opts->dags_folder, &dags, &n, &errs) != 0) {
		for (size_t i = 0; i < errs.msgs.n; i++)
			log_error("%s", errs.msgs.v[i]);
		dag_errors_free(&errs);
		return;
	}
	for (size_t i = 0; i < errs.msgs.n; i++) {
		const char *m = errs.msgs.v[i];
		const char *colon = strchr(m, ':');
		char *file = colon ? xstrndup(m, (size_t)(colon - m)) : xstrdup(m);

		log_error("%s", m);
		txn(s);
		store_import_error_set(s->store, file, m);
		free(file);
	}
	present = xcalloc(n ? n : 1, sizeof(*present));
	for (size_t i = 0; i < n; i++) {
		struct sdag *sd = sdag_get(s, dags[i]->dag_id);
		struct store_dag row = {0};

		present[i] = sd->dag_id;
		if (sd->cur != NULL && strcmp(sd->cur->dag->file_hash, dags[i]->file_hash) == 0) {
			dag_free(dags[i]);
			continue;
		}
		if (sd->cur != NULL)
			log_info("DAG %s: file changed, new runs use the new version", sd->dag_id);
		dver_unref(sd->cur);
		sd->cur = dver_new(dags[i]);
		dag_sync_store(s, sd->cur->dag);
		if (store_dag_get(s->store, sd->dag_id, &row) == 0)
			sd->paused = row.is_paused;
		store_dag_clear(&row);
		sdag_create_due_runs(s, sd);
	}
	txn(s);
	store_dags_mark_inactive(s->store, present, n);
	free(present);
	free(dags);
	dag_errors_free(&errs);
	mark_dirty(s);
}

static void
rescan_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	dags_scan(w->data);
}

/* ------------------------------------------------------------- reconcile */

static int
reconcile_run_cb(void *arg, const struct store_run *row)
{
	struct sched *s = arg;
	struct srun *r;

	if (!run_wanted(s, row))
		return 0;
	r = run_find(s, row->pk);
	if (r == NULL) {
		run_add(s, row);
		return 0;
	}
	r->seen = 1;
	return 0;
}

struct ti_sync {
	struct sched *s;
	struct srun *r;
};

/* Applies a task instance state changed by someone else (clear, mark). */
static int
ti_sync_cb(void *arg, const struct store_ti *row)
{
	struct ti_sync *ts = arg;
	struct sched *s = ts->s;
	struct srun *r = ts->r;
	ssize_t i = dag_task_index(r->ver->dag, row->task_id);
	struct sti *t;

	if (i < 0)
		return 0;
	t = &r->tis[i];
	if (t->state == row->state && t->try_number == row->try_number)
		return 0;
	if ((t->state == TI_RUNNING || t->state == TI_QUEUED) && t->try_pk != 0 && !t->kill_sent) {
		const struct executor_ops *ex = executor_find(r->ver->dag->tasks[i].args.executor);

		log_info("%s %s %s: changed to %s while running: stopping the try",
		    run_dag_id(r), r->run_id, row->task_id, ti_state_name(row->state));
		if (executor_instance(s, ex) != NULL)
			ex->kill(executor_instance(s, ex), t->log_path);
		t->kill_sent = 1;
	}
	ti_state_put(r, (size_t)i, row->state);
	t->try_number = row->try_number;
	t->max_tries = row->max_tries;
	t->next_try_at = row->next_try_at;
	if (t->state == TI_SCHEDULED)
		ready_push(&r->sd->ready, r, (size_t)i);
	return 0;
}

/* Re-reads pause flags, pools, active runs and their task instances after
 * another process changed the store. */
static void
reconcile(struct sched *s)
{
	struct srun *next;

	s->reload = 0;
	pools_refresh(s);
	for (struct sdag *sd = s->dags; sd != NULL; sd = sd->next) {
		struct store_dag row = {0};

		if (store_dag_get(s->store, sd->dag_id, &row) == 0 && row.is_paused != sd->paused) {
			sd->paused = row.is_paused;
			log_info("DAG %s %s", sd->dag_id, sd->paused ? "paused" : "unpaused");
			sdag_create_due_runs(s, sd);
		}
		store_dag_clear(&row);
	}
	for (struct srun *r = s->runs; r != NULL; r = r->next)
		r->seen = 0;
	store_runs_active(s->store, NULL, reconcile_run_cb, s);
	for (struct srun *r = s->runs; r != NULL; r = next) {
		next = r->next;
		if (!r->seen)
			continue;   /* just added, or gone (handled below) */
		if (r->tis != NULL) {
			struct ti_sync ts = { s, r };

			store_tis_of_run(s->store, r->pk, ti_sync_cb, &ts);
			for (size_t k = 0; k < r->ver->dag->n_tasks; k++)
				run_evaluate(s, r, r->ver->dag->topo[k]);
			schedule_retry_timer(s);
			run_finish_if_done(s, r);
		}
	}
	mark_dirty(s);
}

/* ----------------------------------------------------------------- loop */

/* Nothing runs, no run can start (runs of paused DAGs wait), and no
 * scheduled run is due. */
static int
sched_idle(const struct sched *s)
{
	if (s->n_running > 0)
		return 0;
	for (const struct srun *r = s->runs; r != NULL; r = r->next)
		if (!sdag_held(s, r->sd))
			return 0;
	for (const struct sdag *sd = s->dags; sd != NULL; sd = sd->next)
		if (ev_is_active(&sd->due) && ev_periodic_at(&sd->due) <= (ev_tstamp)time_now())
			return 0;
	return 1;
}

/* Frees the runs that finished since the last iteration. */
static void
runs_reap(struct sched *s)
{
	struct srun *next;

	for (struct srun *r = s->runs; r != NULL; r = next) {
		next = r->next;
		if (r->reap)
			run_free(s, r);
	}
}

static void
prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct sched *s = w->data;
	struct launches l = {0};

	(void)revents;
	runs_reap(s);
	if (s->reload)
		reconcile(s);
	if (s->dirty && !s->stopping) {
		s->dirty = 0;
		for (struct sdag *sd = s->dags; sd != NULL; sd = sd->next) {
			if (sd->create_pending) {
				sd->create_pending = 0;
				sdag_create_due_runs(s, sd);
			}
		}
		runs_start_queued(s);
		pick_launches(s, &l);
	}
	/* A pass that starts nothing leaves its changes uncommitted, at most
	 * COMMIT_DELAY (then the timer commits them, unless a pass that
	 * starts a try did): with short tasks one commit records several
	 * ends. */
	if (l.n == 0 && s->txn_open && !s->stopping) {
		if (!ev_is_active(&s->commit_timer)) {
			ev_timer_set(&s->commit_timer, COMMIT_DELAY, 0.);
			ev_timer_start(loop, &s->commit_timer);
		}
	} else {
		ev_timer_stop(loop, &s->commit_timer);
		if (txn_commit(s) != 0) {
			free(l.v);
			return;
		}
		/* Recorded: now start them.  Starting a local try writes
		 * nothing (its pid comes later); what else starting writes
		 * (pod names, the ends of tries that could not start) is
		 * committed at once. */
		for (size_t i = 0; i < l.n; i++)
			try_start(s, l.v[i].run, l.v[i].task, 0);
		free(l.v);
		txn_commit(s);
	}
	runs_reap(s);
	if (!s->dirty && ev_is_active(&s->idle))
		ev_idle_stop(loop, &s->idle);
	if (foreground(s) && s->runs == NULL && s->n_running == 0)
		ev_break(loop, EVBREAK_ALL);
	else if (s->opts->exit_when_idle && sched_idle(s) && !s->dirty)
		ev_break(loop, EVBREAK_ALL);
	if (s->stopping)
		ev_break(loop, EVBREAK_ALL);
}

static void
idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;      /* keeps the loop from blocking while dirty */
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sched *s = w->data;

	(void)revents;
	if (w->signum == SIGUSR1) {
		s->reload = 1;
	} else if (w->signum == SIGHUP) {
		dags_scan(s);
	} else {
		log_info("scheduler: signal %d, stopping; running tries continue and "
		    "will be adopted by the next scheduler", w->signum);
		s->stopping = 1;
	}
	ev_feed_event(loop, &s->idle, EV_IDLE);
	mark_dirty(s);
}

/* Adopts and resumes whatever the store says is active. */
static int
recover_run_cb(void *arg, const struct store_run *row)
{
	struct sched *s = arg;

	if (run_wanted(s, row) && run_find(s, row->pk) == NULL)
		run_add(s, row);
	return 0;
}

/* The lock is a POSIX record lock, so a holder can be found with F_GETLK
 * without taking the lock (a probe that took it, even briefly, could make a
 * scheduler starting at that moment fail). */
static int
lock_open(const char *home)
{
	char *path = xasprintf("%s/scheduler.lock", home);
	int fd;

	fs_mkdir_p(home);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	return fd;
}

static long
lock_holder(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK)
		return 0;
	return (long)fl.l_pid;
}

int
sched_lock_acquire(const char *home, long *holder)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char pid[32];
	int fd = lock_open(home);

	*holder = 0;
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		*holder = lock_holder(fd);
		close(fd);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		log_warn("scheduler lock: cannot record pid");
	return fd;
}

void
sched_notify(const char *home)
{
	int fd = lock_open(home);
	long holder;

	if (fd < 0)
		return;
	holder = lock_holder(fd);
	close(fd);
	if (holder > 0)
		kill((pid_t)holder, SIGUSR1);
}

static void
sched_free(struct sched *s)
{
	while (s->runs != NULL)
		run_free(s, s->runs);
	while (s->running != NULL) {
		struct running_try *rt = s->running;

		s->running = rt->next;
		free(rt->pool);
		free(rt);
	}
	while (s->dags != NULL) {
		struct sdag *sd = s->dags;

		s->dags = sd->next;
		dver_unref(sd->cur);
		free(sd->ready.v);
		free(sd->dag_id);
		free(sd);
	}
	while (s->pools != NULL) {
		struct pool *p = s->pools;

		s->pools = p->next;
		free(p->name);
		free(p);
	}
	if (s->local != NULL)
		executor_local.destroy(s->local);
	if (s->kube != NULL)
		executor_kubernetes.destroy(s->kube);
	store_close(s->store);
	free(s->self_exe);
}

/* executor_host: the running tries of an executor, as the store has them. */
struct running_logs {
	const char *executor;
	struct strv *out;
};

static int
running_log_of(void *arg, const struct store_try *t)
{
	struct running_logs *rl = arg;

	if (t->executor != NULL && strcmp(t->executor, rl->executor) == 0 && t->log_path != NULL)
		strv_push(rl->out, t->log_path);
	return 0;
}

static int
running_tries(void *arg, const char *executor, struct strv *out)
{
	struct sched *s = arg;
	struct running_logs rl = {executor, out};

	return store_tries_running(s->store, running_log_of, &rl);
}

static void
before_act(void *arg)
{
	struct sched *s = arg;

	if (s->opts->before_launch != NULL)
		s->opts->before_launch(s->opts->before_launch_arg);
	sync_now(s);    /* a pod outlives this host: what it acts on is on disk */
}

int
sched_main(const struct sched_opts *opts)
{
	struct sched s = { .opts = opts };
	char *db = xasprintf("%s/sta.db", opts->home);
	char exe[PATH_MAX];
	ssize_t n;
	int rc;

	s.loop = ev_default_loop(EVFLAG_AUTO);
	s.store = store_open(db);
	free(db);
	if (s.store == NULL)
		return EX_UNAVAILABLE;
	ev_timer_init(&s.commit_timer, commit_cb, COMMIT_DELAY, 0.);
	s.commit_timer.data = &s;
	ev_timer_init(&s.sync_timer, sync_cb, SYNC_DELAY, 0.);
	s.sync_timer.data = &s;
	if (store_sync_batched(s.store, sync_soon, &s) < 0) {
		store_close(s.store);
		return EX_UNAVAILABLE;
	}
	s.host = (struct executor_host){
		.running_tries = running_tries, .before_act = before_act,
		.started = try_started, .arg = &s,
	};
	s.local = executor_local.create(s.loop, &s.host);
	if (s.local == NULL) {
		store_close(s.store);
		return EX_OSERR;
	}
	s.kube = executor_kubernetes.create(s.loop, &s.host);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		s.self_exe = xstrdup(exe);
	}
	if (gethostname(s.hostname, sizeof(s.hostname) - 1) != 0)
		snprintf(s.hostname, sizeof(s.hostname), "localhost");

	ev_prepare_init(&s.prepare, prepare_cb);
	s.prepare.data = &s;
	ev_prepare_start(s.loop, &s.prepare);
	ev_idle_init(&s.idle, idle_cb);
	ev_periodic_init(&s.retry_timer, retry_cb, 0, 0, NULL);
	s.retry_timer.data = &s;
	ev_timer_init(&s.rescan, rescan_cb,
	    (ev_tstamp)(opts->rescan_seconds > 0 ? opts->rescan_seconds : DEFAULT_RESCAN),
	    (ev_tstamp)(opts->rescan_seconds > 0 ? opts->rescan_seconds : DEFAULT_RESCAN));
	s.rescan.data = &s;
	if (!foreground(&s))
		ev_timer_start(s.loop, &s.rescan);      /* a test or backfill runs one version */
	ev_signal_init(&s.sig_usr1, signal_cb, SIGUSR1);
	ev_signal_init(&s.sig_term, signal_cb, SIGTERM);
	ev_signal_init(&s.sig_int, signal_cb, SIGINT);
	ev_signal_init(&s.sig_hup, signal_cb, SIGHUP);
	s.sig_usr1.data = s.sig_term.data = s.sig_int.data = s.sig_hup.data = &s;
	ev_signal_start(s.loop, &s.sig_usr1);
	ev_signal_start(s.loop, &s.sig_term);
	ev_signal_start(s.loop, &s.sig_int);
	ev_signal_start(s.loop, &s.sig_hup);

	dags_scan(&s);
	store_runs_active(s.store, NULL, recover_run_cb, &s);
	mark_dirty(&s);
	ev_run(s.loop, 0);
	txn_commit(&s);         /* synced when the store closes */
	rc = foreground(&s) && s.failed_runs > 0 ? 1 : 0;
	ev_timer_stop(s.loop, &s.rescan);
	sched_free(&s);
	return rc;
}
