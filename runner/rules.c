/*
 * rules.c: trigger rules, exit-status verdicts and retry delays.
 */
#include "runner/rules.h"

#include <sysexits.h>

/* Counts n task instances in state st (n = -1: takes them out). */
static void
upstream_counts_step(struct upstream_counts *c, enum ti_state st, int n)
{
	switch (st) {
	case TI_SUCCESS:
		c->success += n;
		break;
	case TI_SKIPPED:
		c->skipped += n;
		break;
	case TI_FAILED:
		c->failed += n;
		break;
	case TI_UPSTREAM_FAILED:
		c->upstream_failed += n;
		break;
	case TI_REMOVED:
		break;
	default:
		return;
	}
	c->done += n;
}

void
upstream_counts_add(struct upstream_counts *c, enum ti_state st)
{
	c->total++;
	upstream_counts_step(c, st, 1);
}

void
upstream_counts_move(struct upstream_counts *c, enum ti_state from, enum ti_state to)
{
	upstream_counts_step(c, from, -1);
	upstream_counts_step(c, to, 1);
}

/*
 * As Airflow's TriggerRuleDep with flag_upstream_failed: a verdict other
 * than RUN is reached as soon as it is certain, even before every upstream
 * task has finished (an all_success task is upstream_failed the moment
 * one parent fails).
 */
enum rule_verdict
rules_evaluate(enum trigger_rule rule, const struct upstream_counts *c)
{
	int all_done = c->done == c->total;
	int failures = c->failed + c->upstream_failed;

	if (c->total == 0)
		return RULE_RUN;
	switch (rule) {
	case TRIGGER_ALL_SUCCESS:
		if (failures > 0)
			return RULE_UPSTREAM_FAILED;
		if (c->skipped > 0)
			return RULE_SKIP;
		return c->success == c->total ? RULE_RUN : RULE_WAIT;
	case TRIGGER_ALL_FAILED:
		if (c->success > 0 || c->skipped > 0)
			return RULE_SKIP;
		return failures == c->total ? RULE_RUN : RULE_WAIT;
	case TRIGGER_ALL_DONE:
		return all_done ? RULE_RUN : RULE_WAIT;
	case TRIGGER_ONE_SUCCESS:
		if (c->success > 0)
			return RULE_RUN;
		if (!all_done)
			return RULE_WAIT;
		return c->skipped == c->done ? RULE_SKIP : RULE_UPSTREAM_FAILED;
	case TRIGGER_ONE_FAILED:
		if (failures > 0)
			return RULE_RUN;
		return all_done ? RULE_SKIP : RULE_WAIT;
	case TRIGGER_NONE_FAILED:
		if (failures > 0)
			return RULE_UPSTREAM_FAILED;
		return all_done ? RULE_RUN : RULE_WAIT;
	case TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS:
		if (failures > 0)
			return RULE_UPSTREAM_FAILED;
		if (!all_done)
			return RULE_WAIT;
		return c->skipped == c->total ? RULE_SKIP : RULE_RUN;
	case TRIGGER_NONE_SKIPPED:
		if (c->skipped > 0)
			return RULE_SKIP;
		return all_done ? RULE_RUN : RULE_WAIT;
	case TRIGGER_ALWAYS:
		return RULE_RUN;
	}
	return RULE_WAIT;
}

enum exit_verdict
rules_exit_status(int exit_code)
{
	switch (exit_code) {
	case 0:
		return EXIT_VERDICT_SUCCESS;
	case EXIT_SKIPPED:
		return EXIT_VERDICT_SKIPPED;
	case EX_USAGE:
	case EX_DATAERR:
	case EX_CONFIG:
		return EXIT_VERDICT_FAIL_FINAL;
	default:
		return EXIT_VERDICT_FAIL_RETRY;
	}
}

/* splitmix64: a well-mixed 64-bit value from the seed. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int64_t
rules_retry_delay(const struct task_args *args, int failed_try, uint64_t seed)
{
	int64_t delay = args->retry_delay;

	if (args->retry_exponential_backoff && delay > 0) {
		int shift = failed_try > 1 ? failed_try - 1 : 0;

		/* Saturate instead of overflowing: the cap below applies. */
		if (shift >= 40 || delay > (INT64_MAX >> 2) >> shift)
			delay = INT64_MAX >> 2;
		else
			delay <<= shift;
		delay += (int64_t)(mix64(seed ^ (uint64_t)failed_try) % (uint64_t)delay);
	}
	if (args->max_retry_delay > 0 && delay > args->max_retry_delay)
		delay = args->max_retry_delay;
	return delay;
}
