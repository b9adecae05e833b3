/*
 * sched.h: the scheduling loop.  One process, one libev loop: it creates
 * runs from schedules (with catchup), decides which task instances may run
 * (trigger rules, max_active_runs, max_active_tasks, pools, priority),
 * hands them to executors, records every state change durably in the store
 * before acting on it, retries with delays, and on start adopts whatever an
 * earlier (killed) scheduler process left running.
 *
 * The same loop serves `sta scheduler` (all DAGs, forever or until idle),
 * `sta dags test` and a foreground `sta dags backfill` (a fixed set of
 * runs, until they finish).
 */
#ifndef STA_SCHED_H
#define STA_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct sched_opts {
	const char *home;
	const char *dags_folder;
	int exit_when_idle;     /* stop once nothing runs and nothing is due */
	int parallelism;        /* running tries at most; default 32 */
	int64_t rescan_seconds; /* DAG folder re-read period; default 30 */
	/* Foreground mode: only these runs, no scheduled run creation; the
	 * loop ends when all of them have finished. */
	const int64_t *only_runs;
	size_t n_only_runs;
	/* When set, called before tries are started; it does not return
	 * when this process may no longer schedule (a lost leader lease). */
	void (*before_launch)(void *arg);
	void *before_launch_arg;
};

/* Runs the loop.  Returns 0 when it ended normally (and, in foreground
 * mode, every run succeeded), 1 when a foreground run failed, or a
 * sysexits code when it could not start (reason logged). */
int sched_main(const struct sched_opts *opts);

/* The scheduler lock, $STA_HOME/scheduler.lock: one active scheduler per
 * home.  acquire returns the lock fd (kept open for the process life), or
 * -1 with *holder set to the holding pid when another process holds it. */
int sched_lock_acquire(const char *home, long *holder);
/* Tells a running scheduler that the store changed (a trigger, clear,
 * mark or pause): signals it to re-read active state.  No-op when no
 * scheduler runs. */
void sched_notify(const char *home);

#endif
