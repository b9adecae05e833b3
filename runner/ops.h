/*
 * ops.h: what a user can do to the state: trigger, backfill, clear, mark,
 * pause.  Each is one transaction with its audit record, shared by the CLI
 * and the REST API; the caller then wakes the scheduler (sched_notify).
 */
#ifndef STA_OPS_H
#define STA_OPS_H

#include "runner/dag.h"
#include "runner/store.h"

/* Creates a queued run.  run_id NULL: "<run_type>__<logical date ISO>".
 * conf: a JSON object text or NULL.  On success *out holds the run
 * (caller clears).  Returns 0, STORE_EXISTS (a run with that id or date
 * exists; message in err), OPS_BAD_CONF (message in err), or -1 (message
 * in err). */
#define OPS_BAD_CONF (-2)
/* A run's conf: a JSON object without integers of 2^53 or more (JSON's
 * doubles would not keep them exactly; check before printing a parsed
 * conf, as cJSON writes some of them rounded to 15 digits).  0, or
 * OPS_BAD_CONF with why in err. */
int ops_conf_check(const cJSON *c, char *err, size_t errlen);
int ops_trigger(struct store *st, const struct dag *dag, const char *run_type,
    const char *run_id, sta_time logical_date, const char *conf,
    const char *actor, struct store_run *out, char *err, size_t errlen);

int ops_pause(struct store *st, const char *dag_id, int paused, const char *actor);

/* Resets the given task instances of a run (and, with downstream, every
 * task downstream of them) to be run again with a fresh set of retries;
 * a finished run goes back to queued.  tasks: a flag per DAG task.
 * Returns the number of task instances cleared, or -1. */
int ops_clear(struct store *st, const struct dag *dag, const struct store_run *run,
    const int *tasks, int downstream, const char *actor);

/* Sets one task instance's state to success or failed (by a user); a
 * finished run goes back to queued so its state is decided again.
 * Returns 0, STORE_NOT_FOUND, or -1. */
int ops_mark(struct store *st, const struct dag *dag, const struct store_run *run,
    size_t task, enum ti_state st_to, const char *actor);

/* The audit actor for this process: "cli:$USER". Static storage. */
const char *ops_cli_actor(void);

#endif
