/*
 * schedule.c: 5-field cron expressions and presets, their fire times, and
 * Airflow's data-interval rules (CronDataIntervalTimetable, OnceTimetable).
 *
 * Fire times are found by skipping whole months, days and hours that
 * cannot match, so even rare schedules ("0 0 29 2 *") take a few hundred
 * steps at most.
 */
#include "runner/schedule.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/util.h"

#define MAX_STEPS 200000

struct schedule {
	char *text;
	int once;
	uint64_t minute;        /* bit n: minute n matches */
	uint32_t hour;
	uint32_t dom;           /* bits 1..31 */
	uint16_t month;         /* bits 1..12 */
	uint8_t dow;            /* bits 0..6, Sunday 0 */
	int dom_star, dow_star; /* field starts with '*': unrestricted */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

struct field_def {
	const char *name;
	int lo, hi;
	const char *const *names;   /* names for lo.. */
};

static const struct field_def fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, month_names },
	{ "day-of-week", 0, 7, dow_names },
};

static int
parse_value(const struct field_def *f, const char **p, int *out, char *err, size_t errlen)
{
	const char *s = *p;
	long v;

	if (isdigit((unsigned char)*s)) {
		char *end;

		v = strtol(s, &end, 10);
		*p = end;
	} else if (f->names != NULL && isalpha((unsigned char)*s)) {
		size_t n = 0;

		while (isalpha((unsigned char)s[n]))
			n++;
		for (v = 0; v < 7 + (f->names == month_names ? 5 : 0); v++)
			if (n == 3 && strncasecmp(s, f->names[v], 3) == 0)
				break;
		if (v == (f->names == month_names ? 12 : 7)) {
			snprintf(err, errlen, "%s field: unknown name '%.*s'", f->name, (int)n, s);
			return -1;
		}
		v += f->names == month_names ? 1 : 0;
		*p = s + n;
	} else {
		snprintf(err, errlen, "%s field: expected a number at '%s'", f->name, s);
		return -1;
	}
	if (v < f->lo || v > f->hi) {
		snprintf(err, errlen, "%s field: %ld out of range %d-%d", f->name, v, f->lo, f->hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Parses one field (star, star-slash-n, a, a-b, a-b/n, lists) into bits. */
static int
parse_field(const struct field_def *f, const char *text, uint64_t *bits, int *star,
    char *err, size_t errlen)
{
	const char *p = text;

	*bits = 0;
	*star = text[0] == '*';
	for (;;) {
		int lo, hi, step = 1, single = 0;

		if (*p == '*') {
			lo = f->lo;
			hi = f->hi == 7 ? 6 : f->hi;
			p++;
		} else {
			if (parse_value(f, &p, &lo, err, errlen) != 0)
				return -1;
			hi = lo;
			single = *p != '-';
			if (*p == '-') {
				p++;
				if (parse_value(f, &p, &hi, err, errlen) != 0)
					return -1;
				if (hi < lo) {
					snprintf(err, errlen, "%s field: range %d-%d is backwards",
					    f->name, lo, hi);
					return -1;
				}
			}
		}
		if (*p == '/') {
			char *end;
			long st;

			p++;
			st = strtol(p, &end, 10);
			if (end == p || st < 1 || st > f->hi) {
				snprintf(err, errlen, "%s field: bad step in '%s'", f->name, text);
				return -1;
			}
			step = (int)st;
			p = end;
			if (single)
				hi = f->hi == 7 ? 6 : f->hi;   /* "a/n" means a-max/n */
		}
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << (f->hi == 7 && v == 7 ? 0 : v);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != '\0') {
			snprintf(err, errlen, "%s field: unexpected '%s'", f->name, p);
			return -1;
		}
		return 0;
	}
}

static const struct {
	const char *name;
	const char *expr;
} presets[] = {
	{ "@hourly", "0 * * * *" }, { "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" }, { "@weekly", "0 0 * * 0" },
	{ "@monthly", "0 0 1 * *" }, { "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

struct schedule *
schedule_parse(const char *expr, char *err, size_t errlen)
{
	struct schedule *s = xcalloc(1, sizeof(*s));
	const char *text = expr;
	char *copy = NULL, *part[5];
	uint64_t bits[5];
	int stars[5], n = 0;
	sta_time probe;

	s->text = xstrdup(expr);
	if (strcmp(expr, "@once") == 0) {
		s->once = 1;
		return s;
	}
	if (expr[0] == '@') {
		text = NULL;
		for (size_t i = 0; i < ARRAY_LEN(presets); i++)
			if (strcmp(expr, presets[i].name) == 0)
				text = presets[i].expr;
		if (text == NULL) {
			snprintf(err, errlen, "unknown schedule preset '%s' (use @once, @hourly, "
			    "@daily, @weekly, @monthly or @yearly, or a 5-field cron expression)", expr);
			goto fail;
		}
	}
	copy = xstrdup(text);
	for (char *p = copy; *p != '\0';) {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == 5) {
			snprintf(err, errlen, "cron expression '%s' has more than 5 fields", expr);
			goto fail;
		}
		part[n++] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
	}
	if (n != 5) {
		snprintf(err, errlen, "cron expression '%s' has %d field%s, expected 5 "
		    "(minute hour day-of-month month day-of-week)", expr, n, n == 1 ? "" : "s");
		goto fail;
	}
	for (int i = 0; i < 5; i++)
		if (parse_field(&fields[i], part[i], &bits[i], &stars[i], err, errlen) != 0)
			goto fail;
	s->minute = bits[0];
	s->hour = (uint32_t)bits[1];
	s->dom = (uint32_t)bits[2];
	s->month = (uint16_t)bits[3];
	s->dow = (uint8_t)bits[4];
	s->dom_star = stars[2];
	s->dow_star = stars[4];
	free(copy);
	if (schedule_next(s, 0, &probe) != 0) {
		snprintf(err, errlen, "cron expression '%s' never fires", expr);
		schedule_free(s);
		return NULL;
	}
	return s;
fail:
	free(copy);
	schedule_free(s);
	return NULL;
}

void
schedule_free(struct schedule *s)
{
	if (s == NULL)
		return;
	free(s->text);
	free(s);
}

int
schedule_is_once(const struct schedule *s)
{
	return s->once;
}

const char *
schedule_text(const struct schedule *s)
{
	return s->text;
}

/* Day matches: with both day fields restricted, either may match (cron). */
static int
day_ok(const struct schedule *s, const struct tm *tm)
{
	int dom = (s->dom >> tm->tm_mday) & 1, dow = (s->dow >> tm->tm_wday) & 1;

	if (!s->dom_star && !s->dow_star)
		return dom || dow;
	return dom && dow;
}

static sta_time
tm_time(struct tm *tm)
{
	return (sta_time)timegm(tm);
}

int
schedule_next(const struct schedule *s, sta_time t, sta_time *out)
{
	time_t tt;
	struct tm tm;

	if (s->once)
		return -1;
	tt = (time_t)(t - ((t % 60) + 60) % 60 + 60);
	gmtime_r(&tt, &tm);
	for (int step = 0; step < MAX_STEPS; step++) {
		if (!((s->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_ok(s, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!((s->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!((s->minute >> tm.tm_min) & 1)) {
			tm.tm_min++;
		} else {
			*out = tm_time(&tm);
			return 0;
		}
		tt = (time_t)tm_time(&tm);      /* normalise overflowing fields */
		gmtime_r(&tt, &tm);
	}
	return -1;
}

int
schedule_prev(const struct schedule *s, sta_time t, sta_time *out)
{
	time_t tt;
	struct tm tm;

	if (s->once)
		return -1;
	tt = (time_t)(t - ((t % 60) + 60) % 60);
	gmtime_r(&tt, &tm);
	for (int step = 0; step < MAX_STEPS; step++) {
		if (!((s->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mday = 1;         /* last minute of the month before */
			tm.tm_hour = tm.tm_min = 0;
			tt = (time_t)tm_time(&tm) - 60;
		} else if (!day_ok(s, &tm)) {
			tm.tm_hour = tm.tm_min = 0;
			tt = (time_t)tm_time(&tm) - 60;
		} else if (!((s->hour >> tm.tm_hour) & 1)) {
			tm.tm_min = 0;
			tt = (time_t)tm_time(&tm) - 60;
		} else if (!((s->minute >> tm.tm_min) & 1)) {
			tt = (time_t)tm_time(&tm) - 60;
		} else {
			*out = tm_time(&tm);
			return 0;
		}
		gmtime_r(&tt, &tm);
	}
	return -1;
}

/* Airflow's _align_to_next: t itself when it is a fire time. */
static int
align_next(const struct schedule *s, sta_time t, sta_time *out)
{
	return schedule_next(s, t - 1, out);
}

int
schedule_next_interval(const struct schedule *s, const struct interval *last,
    sta_time start_date, int has_end_date, sta_time end_date, int catchup,
    sta_time now, struct interval *out)
{
	sta_time start, e, latest;

	if (s->once) {
		if (last != NULL || (has_end_date && start_date > end_date))
			return 0;
		out->start = out->end = start_date;
		return 1;
	}
	if (last != NULL)
		start = last->end;
	else if (align_next(s, start_date, &start) != 0)
		return 0;
	if (!catchup && schedule_prev(s, now, &e) == 0 && schedule_prev(s, e - 1, &latest) == 0) {
		/* the latest interval that is complete at now */
		if (latest > start)
			start = latest;
	}
	if (has_end_date && start > end_date)
		return 0;
	if (schedule_next(s, start, &e) != 0)
		return 0;
	out->start = start;
	out->end = e;
	return 1;
}

void
schedule_manual_interval(const struct schedule *s, sta_time t, struct interval *out)
{
	sta_time end, start;

	/* Airflow's infer_manual_data_interval: the last complete interval
	 * before t, i.e. [prev(align_prev(t)), align_prev(t)). */
	if (s == NULL || s->once || schedule_prev(s, t, &end) != 0 ||
	    schedule_prev(s, end - 1, &start) != 0) {
		out->start = out->end = t;
		return;
	}
	out->start = start;
	out->end = end;
}

int
schedule_intervals_between(const struct schedule *s, sta_time from, sta_time to,
    struct interval **out, size_t *n)
{
	struct interval *v = NULL;
	size_t cap = 0;
	sta_time start, end;

	*out = NULL;
	*n = 0;
	if (s == NULL || s->once || align_next(s, from, &start) != 0)
		return -1;
	while (start <= to && schedule_next(s, start, &end) == 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[*n].start = start;
		v[*n].end = end;
		(*n)++;
		start = end;
	}
	*out = v;
	return 0;
}
