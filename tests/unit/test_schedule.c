/*
 * test_schedule.c: cron fire times and Airflow's data intervals.  Expected
 * epoch values were computed with `date -u -d ... +%s` (and weekdays with
 * +%a), not with the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runner/schedule.h"

#define JAN01 1704067200LL      /* 2024-01-01 Mon */
#define JAN02 1704153600LL
#define JAN03 1704240000LL
#define JAN04 1704326400LL
#define JAN05 1704412800LL      /* Fri */
#define JAN07 1704585600LL      /* Sun */
#define DAY 86400LL

static struct schedule *
parse(const char *expr)
{
	char err[256];
	struct schedule *s = schedule_parse(expr, err, sizeof(err));

	if (s == NULL)
		fail_msg("%s: %s", expr, err);
	return s;
}

static sta_time
next(const char *expr, sta_time t)
{
	struct schedule *s = parse(expr);
	sta_time out = -1;

	assert_int_equal(schedule_next(s, t, &out), 0);
	schedule_free(s);
	return out;
}

static void
test_next(void **state)
{
	(void)state;
	assert_int_equal(next("@daily", 1704067140), JAN01);        /* 2023-12-31 23:59 */
	assert_int_equal(next("@daily", JAN01), JAN02);             /* strictly after */
	assert_int_equal(next("*/15 * * * *", 1704067500), 1704068100); /* 00:05 -> 00:15 */
	assert_int_equal(next("0 0 * * sun", JAN01), JAN07);
	assert_int_equal(next("0 0 * * 7", JAN01), JAN07);          /* 7 is Sunday too */
	assert_int_equal(next("0 0 * * fri", JAN01), JAN05);
	assert_int_equal(next("0 12 * * 1-5", 1704103200), 1704110400); /* Mon 10:00 -> 12:00 */
	/* both day fields restricted: either matches (Fri the 5th before Mon the 8th) */
	assert_int_equal(next("0 0 5 * mon", JAN01), JAN05);
	/* leap day: from 2024-03-01 the next Feb 29 is in 2028 */
	assert_int_equal(next("0 0 29 2 *", 1709251200), 1835395200);
	assert_int_equal(next("@hourly", JAN01), 1704070800);
	assert_int_equal(next("@monthly", JAN01), JAN01 + 31 * DAY);
	assert_int_equal(next("@yearly", JAN01), 1735689600);       /* 2025-01-01 */
	assert_int_equal(next("0 0 1 jan,jul *", JAN01), 1719792000); /* 2024-07-01 */
	/* "a-a/n" is the range a-a, only a; "a/n" alone runs a-max/n, also in
	 * a list after a star (both found by test_fuzz) */
	assert_int_equal(next("51-51/7 * * * *", JAN01 + 51 * 60), JAN01 + 3600 + 51 * 60);
	assert_int_equal(next("*/30,10/25 * * * *", JAN01 + 30 * 60), JAN01 + 35 * 60);
}

static void
test_prev(void **state)
{
	struct schedule *s = parse("@daily");
	sta_time out;

	(void)state;
	assert_int_equal(schedule_prev(s, 1704103200, &out), 0);    /* Mon 10:00 */
	assert_int_equal(out, JAN01);
	assert_int_equal(schedule_prev(s, JAN01, &out), 0);         /* at or before */
	assert_int_equal(out, JAN01);
	assert_int_equal(schedule_prev(s, JAN01 - 1, &out), 0);
	assert_int_equal(out, JAN01 - DAY);
	schedule_free(s);
	s = parse("0 0 29 2 *");
	assert_int_equal(schedule_prev(s, 1835395200 - 1, &out), 0);
	assert_int_equal(out, 1709164800);                          /* 2024-02-29 */
	schedule_free(s);
}

static void
test_parse_errors(void **state)
{
	static const struct { const char *expr, *msg; } bad[] = {
		{ "61 * * * *", "minute field: 61 out of range 0-59" },
		{ "0 24 * * *", "hour field: 24 out of range 0-23" },
		{ "0 0 0 * *", "day-of-month field: 0 out of range 1-31" },
		{ "0 0 * 13 *", "month field: 13 out of range 1-12" },
		{ "0 0 * * 8", "day-of-week field: 8 out of range 0-7" },
		{ "0 0 * foo *", "month field: unknown name 'foo'" },
		{ "* * *", "cron expression '* * *' has 3 fields, expected 5" },
		{ "@sometimes", "unknown schedule preset '@sometimes'" },
		{ "0 0 31 2 *", "cron expression '0 0 31 2 *' never fires" },
		{ "5-1 * * * *", "minute field: range 5-1 is backwards" },
		{ "*/0 * * * *", "minute field: bad step" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct schedule *s = schedule_parse(bad[i].expr, err, sizeof(err));

		if (s != NULL)
			fail_msg("%s parsed", bad[i].expr);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("%s: got '%s', want '%s'", bad[i].expr, err, bad[i].msg);
	}
}

static void
test_next_interval(void **state)
{
	struct schedule *d = parse("@daily"), *once = parse("@once");
	struct interval iv, last;

	(void)state;
	/* first run: aligned start_date, due at its end */
	assert_int_equal(schedule_next_interval(d, NULL, JAN01, 0, 0, 1, JAN05, &iv), 1);
	assert_int_equal(iv.start, JAN01);
	assert_int_equal(iv.end, JAN02);
	/* start_date between fire times aligns up */
	assert_int_equal(schedule_next_interval(d, NULL, 1704103200, 0, 0, 1, JAN05, &iv), 1);
	assert_int_equal(iv.start, JAN02);
	/* after a run: the next interval */
	last.start = JAN01;
	last.end = JAN02;
	assert_int_equal(schedule_next_interval(d, &last, JAN01, 0, 0, 1, JAN05, &iv), 1);
	assert_int_equal(iv.start, JAN02);
	assert_int_equal(iv.end, JAN03);
	/* no catchup at Jan 5 10:00: the latest complete interval, Jan 4 */
	assert_int_equal(schedule_next_interval(d, &last, JAN01, 0, 0, 0, JAN05 + 36000, &iv), 1);
	assert_int_equal(iv.start, JAN04);
	assert_int_equal(iv.end, JAN05);
	/* end_date: no interval starting after it */
	last.start = JAN02;
	last.end = JAN03;
	assert_int_equal(schedule_next_interval(d, &last, JAN01, 1, JAN02, 1, JAN05, &iv), 0);
	assert_int_equal(schedule_next_interval(d, &last, JAN01, 1, JAN03, 1, JAN05, &iv), 1);
	/* @once: one run at start_date */
	assert_int_equal(schedule_next_interval(once, NULL, JAN03, 0, 0, 1, JAN05, &iv), 1);
	assert_int_equal(iv.start, JAN03);
	assert_int_equal(iv.end, JAN03);
	assert_int_equal(schedule_next_interval(once, &iv, JAN03, 0, 0, 1, JAN05, &last), 0);
	schedule_free(d);
	schedule_free(once);
}

static void
test_manual_and_backfill(void **state)
{
	struct schedule *d = parse("@daily");
	struct interval iv, *v = NULL;
	size_t n = 0;

	(void)state;
	/* Airflow's infer_manual_data_interval: the last complete interval */
	schedule_manual_interval(d, JAN05, &iv);
	assert_int_equal(iv.start, JAN04);
	assert_int_equal(iv.end, JAN05);
	schedule_manual_interval(d, JAN05 + 36000, &iv);
	assert_int_equal(iv.start, JAN04);
	assert_int_equal(iv.end, JAN05);
	schedule_manual_interval(NULL, JAN05 + 7, &iv);
	assert_int_equal(iv.start, JAN05 + 7);
	assert_int_equal(iv.end, JAN05 + 7);
	/* backfill: every interval starting in [from, to] */
	assert_int_equal(schedule_intervals_between(d, JAN01, JAN03, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].start, JAN01);
	assert_int_equal(v[2].start, JAN03);
	assert_int_equal(v[2].end, JAN04);
	free(v);
	schedule_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_prev),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_next_interval),
		cmocka_unit_test(test_manual_and_backfill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
