/*
 * rules.h: the scheduler's pure decisions, kept apart from its I/O so they
 * are tested alone: what a task's trigger rule says given its upstream
 * states (Airflow's trigger-rule semantics, with upstream failures
 * propagated), how an exit status is judged, and how long to wait before a
 * retry.
 */
#ifndef STA_RULES_H
#define STA_RULES_H

#include <stdint.h>

#include "runner/dag.h"
#include "runner/store.h"

/* Counts of a task's direct upstream task instances by state. */
struct upstream_counts {
	int total;
	int success;
	int skipped;
	int failed;
	int upstream_failed;
	int done;           /* finished in any way (the four above, removed) */
};

enum rule_verdict {
	RULE_WAIT,              /* not decided yet */
	RULE_RUN,               /* the task may run */
	RULE_SKIP,              /* the task is skipped */
	RULE_UPSTREAM_FAILED,   /* the task cannot run: upstream failed */
};

void upstream_counts_add(struct upstream_counts *c, enum ti_state st);
/* One of the counted task instances went from state from to state to. */
void upstream_counts_move(struct upstream_counts *c, enum ti_state from, enum ti_state to);
enum rule_verdict rules_evaluate(enum trigger_rule rule, const struct upstream_counts *c);

/* Task exit statuses (design.md section 4). */
#define EXIT_SKIPPED 99

enum exit_verdict {
	EXIT_VERDICT_SUCCESS,
	EXIT_VERDICT_SKIPPED,
	EXIT_VERDICT_FAIL_RETRY,    /* retried while tries remain */
	EXIT_VERDICT_FAIL_FINAL,    /* 64, 65, 78: a retry cannot help */
};

enum exit_verdict rules_exit_status(int exit_code);

/* Seconds to wait after the failure of try `failed_try` (1-based):
 * retry_delay, or with exponential backoff retry_delay * 2^(failed_try-1)
 * stretched by a deterministic jitter of up to 100 % (from `seed`, so a
 * restarted scheduler computes the same), capped by max_retry_delay when
 * it is set. */
int64_t rules_retry_delay(const struct task_args *args, int failed_try, uint64_t seed);

#endif
