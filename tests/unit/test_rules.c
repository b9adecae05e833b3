/*
 * test_rules.c: trigger rules, exit-status verdicts and retry delays.
 * Expected verdicts follow Airflow's documented trigger-rule semantics
 * (with upstream failures propagated as soon as they are certain).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runner/rules.h"

/* Builds counts from a list of upstream states, ending with -1. */
static struct upstream_counts
counts(int first, ...)
{
	struct upstream_counts c = {0};
	va_list ap;

	va_start(ap, first);
	for (int st = first; st >= 0; st = va_arg(ap, int))
		upstream_counts_add(&c, (enum ti_state)st);
	va_end(ap);
	return c;
}

#define S TI_SUCCESS
#define F TI_FAILED
#define K TI_SKIPPED
#define U TI_UPSTREAM_FAILED
#define R TI_RUNNING
#define N TI_NONE

static void
test_all_success(void **state)
{
	struct upstream_counts c;

	(void)state;
	c = counts(S, S, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_SUCCESS, &c), RULE_RUN);
	c = counts(S, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_SUCCESS, &c), RULE_WAIT);
	c = counts(F, R, -1);    /* decided before the other finishes */
	assert_int_equal(rules_evaluate(TRIGGER_ALL_SUCCESS, &c), RULE_UPSTREAM_FAILED);
	c = counts(U, S, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_SUCCESS, &c), RULE_UPSTREAM_FAILED);
	c = counts(K, S, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_SUCCESS, &c), RULE_SKIP);
	c = counts(-1);          /* no upstream: runs at once */
	assert_int_equal(rules_evaluate(TRIGGER_ALL_SUCCESS, &c), RULE_RUN);
}

/* Counts kept up to date as states change equal counts made afresh. */
static void
test_counts_move(void **state)
{
	(void)state;
	for (int from = TI_NONE; from <= TI_REMOVED; from++) {
		for (int to = TI_NONE; to <= TI_REMOVED; to++) {
			struct upstream_counts c = counts(from, S, F, -1);
			struct upstream_counts want = counts(to, S, F, -1);

			upstream_counts_move(&c, (enum ti_state)from, (enum ti_state)to);
			assert_memory_equal(&c, &want, sizeof(c));
		}
	}
}

static void
test_all_failed_all_done(void **state)
{
	struct upstream_counts c;

	(void)state;
	c = counts(F, U, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_FAILED, &c), RULE_RUN);
	c = counts(F, S, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_FAILED, &c), RULE_SKIP);
	c = counts(F, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_FAILED, &c), RULE_WAIT);
	c = counts(F, S, K, U, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_DONE, &c), RULE_RUN);
	c = counts(F, N, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALL_DONE, &c), RULE_WAIT);
}

static void
test_one_success_one_failed(void **state)
{
	struct upstream_counts c;

	(void)state;
	c = counts(S, R, -1);    /* does not wait for the rest */
	assert_int_equal(rules_evaluate(TRIGGER_ONE_SUCCESS, &c), RULE_RUN);
	c = counts(F, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ONE_SUCCESS, &c), RULE_WAIT);
	c = counts(F, K, -1);    /* all done, none succeeded */
	assert_int_equal(rules_evaluate(TRIGGER_ONE_SUCCESS, &c), RULE_UPSTREAM_FAILED);
	c = counts(K, K, -1);    /* all skipped */
	assert_int_equal(rules_evaluate(TRIGGER_ONE_SUCCESS, &c), RULE_SKIP);
	c = counts(F, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ONE_FAILED, &c), RULE_RUN);
	c = counts(U, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ONE_FAILED, &c), RULE_RUN);
	c = counts(S, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ONE_FAILED, &c), RULE_WAIT);
	c = counts(S, K, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ONE_FAILED, &c), RULE_SKIP);
}

static void
test_none_rules_and_always(void **state)
{
	struct upstream_counts c;

	(void)state;
	c = counts(S, K, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_FAILED, &c), RULE_RUN);
	c = counts(S, F, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_FAILED, &c), RULE_UPSTREAM_FAILED);
	c = counts(S, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_FAILED, &c), RULE_WAIT);
	c = counts(K, K, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_FAILED, &c), RULE_RUN);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, &c), RULE_SKIP);
	c = counts(K, S, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, &c), RULE_RUN);
	c = counts(U, S, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS, &c), RULE_UPSTREAM_FAILED);
	c = counts(S, F, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_SKIPPED, &c), RULE_RUN);
	c = counts(K, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_SKIPPED, &c), RULE_SKIP);
	c = counts(S, R, -1);
	assert_int_equal(rules_evaluate(TRIGGER_NONE_SKIPPED, &c), RULE_WAIT);
	c = counts(R, N, F, -1);
	assert_int_equal(rules_evaluate(TRIGGER_ALWAYS, &c), RULE_RUN);
}

static void
test_exit_status(void **state)
{
	(void)state;
	assert_int_equal(rules_exit_status(0), EXIT_VERDICT_SUCCESS);
	assert_int_equal(rules_exit_status(99), EXIT_VERDICT_SKIPPED);
	assert_int_equal(rules_exit_status(64), EXIT_VERDICT_FAIL_FINAL);
	assert_int_equal(rules_exit_status(65), EXIT_VERDICT_FAIL_FINAL);
	assert_int_equal(rules_exit_status(78), EXIT_VERDICT_FAIL_FINAL);
	assert_int_equal(rules_exit_status(1), EXIT_VERDICT_FAIL_RETRY);
	assert_int_equal(rules_exit_status(2), EXIT_VERDICT_FAIL_RETRY);
	assert_int_equal(rules_exit_status(66), EXIT_VERDICT_FAIL_RETRY);
	assert_int_equal(rules_exit_status(137), EXIT_VERDICT_FAIL_RETRY);
}

static void
test_retry_delay(void **state)
{
	struct task_args a = { .retry_delay = 60 };

	(void)state;
	/* fixed delay */
	assert_int_equal(rules_retry_delay(&a, 1, 7), 60);
	assert_int_equal(rules_retry_delay(&a, 5, 7), 60);
	a.max_retry_delay = 30;
	assert_int_equal(rules_retry_delay(&a, 1, 7), 30);
	/* exponential: in [d*2^(n-1), 2*d*2^(n-1)), deterministic per seed */
	a.max_retry_delay = 0;
	a.retry_exponential_backoff = 1;
	for (int n = 1; n <= 6; n++) {
		int64_t base = 60LL << (n - 1);
		int64_t d = rules_retry_delay(&a, n, 12345);

		assert_true(d >= base);
		assert_true(d < 2 * base);
		assert_int_equal(d, rules_retry_delay(&a, n, 12345));
	}
	/* capped, and no overflow for absurd try numbers */
	a.max_retry_delay = 3600;
	assert_int_equal(rules_retry_delay(&a, 10, 1), 3600);
	assert_int_equal(rules_retry_delay(&a, 1000, 1), 3600);
	a.max_retry_delay = 0;
	assert_true(rules_retry_delay(&a, 1000, 1) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_success),
		cmocka_unit_test(test_counts_move),
		cmocka_unit_test(test_all_failed_all_done),
		cmocka_unit_test(test_one_success_one_failed),
		cmocka_unit_test(test_none_rules_and_always),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_retry_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
