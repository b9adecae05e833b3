/*
 * schedule.h: DAG schedules (5-field cron or a preset) with Airflow's
 * data-interval semantics: the run for interval [start, end) is due at
 * `end`; its logical date is `start`; all times UTC.
 */
#ifndef STA_SCHEDULE_H
#define STA_SCHEDULE_H

#include <stddef.h>

#include "lib/timeutil.h"

struct schedule;    /* opaque */

struct interval {
	sta_time start;
	sta_time end;
};

/* Parses "m h dom mon dow" (numbers, names jan-dec/sun-sat, *, ranges,
 * lists, steps; dow 0 and 7 are Sunday; dom/dow combine as in cron and
 * Airflow's croniter: when both are restricted a day matching either runs)
 * or a preset: @once @hourly @daily @midnight @weekly @monthly @yearly
 * @annually.  Returns NULL on error with a message in err naming the bad
 * field, e.g. "minute field: 61 out of range 0-59". Caller frees. */
struct schedule *schedule_parse(const char *expr, char *err, size_t errlen);
void schedule_free(struct schedule *s);
int schedule_is_once(const struct schedule *s);
/* The canonical text it was parsed from. */
const char *schedule_text(const struct schedule *s);

/* First fire time strictly after t.  Returns 0, -1 if there is none. */
int schedule_next(const struct schedule *s, sta_time t, sta_time *out);
/* Last fire time at or before t.  Returns 0, -1 if there is none. */
int schedule_prev(const struct schedule *s, sta_time t, sta_time *out);

/* The next interval a scheduler creates a run for, as Airflow's timetables
 * do (CronDataIntervalTimetable.next_dagrun_info, OnceTimetable):
 * - last: the data interval of the latest scheduled run, or NULL;
 * - start_date aligns up to the first fire time at or after it;
 * - has_end_date/end_date: no interval whose start is after end_date;
 * - catchup false: skip to the latest interval that is complete at `now`.
 * Returns 1 with *out set (due when out->end <= now), 0 when no further
 * run exists. */
int schedule_next_interval(const struct schedule *s, const struct interval *last,
    sta_time start_date, int has_end_date, sta_time end_date, int catchup,
    sta_time now, struct interval *out);

/* The data interval of a manual run whose logical date is t, as Airflow's
 * infer_manual_data_interval: the last complete interval before t, i.e.
 * [prev(e), e) with e the last fire time at or before t (a daily DAG
 * triggered for 2024-01-05 gets [2024-01-04, 2024-01-05)); @once and
 * manual-only DAGs (s == NULL) get [t, t]. */
void schedule_manual_interval(const struct schedule *s, sta_time t,
    struct interval *out);

/* Backfill: every interval whose start lies in [from, to], in order.
 * *out is allocated (caller frees), *n its length.  Returns 0, -1 when s
 * has no regular intervals (@once or NULL). */
int schedule_intervals_between(const struct schedule *s, sta_time from,
    sta_time to, struct interval **out, size_t *n);

#endif
