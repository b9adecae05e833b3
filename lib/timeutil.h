/*
 * timeutil.h: UTC time as int64 seconds since the Unix epoch, and its text
 * forms.  Every time in sta is UTC; these are the only conversions.
 *
 *   ISO form  "2024-01-31T00:00:00+00:00"  (Airflow's ts / logical_date)
 *   date      "2024-01-31"                  (ds)
 */
#ifndef STA_TIMEUTIL_H
#define STA_TIMEUTIL_H

#include <stdint.h>

#define TIME_ISO_LEN 32

typedef int64_t sta_time;    /* seconds since 1970-01-01T00:00:00Z */

/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" with optional "Z" or
 * "+00:00"/"+HH:MM"/"-HH:MM" offset (a space may replace the T).
 * Returns 0, or -1 when s is not such a time. */
int time_parse(const char *s, sta_time *out);
/* Writes the ISO form with "+00:00" into out (at least TIME_ISO_LEN). */
void time_format_iso(sta_time t, char *out);
/* Writes "YYYY-MM-DD" into out (at least 11 bytes). */
void time_format_date(sta_time t, char *out);
/* Writes "YYYYMMDD" into out (at least 9 bytes). */
void time_format_date_nodash(sta_time t, char *out);
/* Current time. */
sta_time time_now(void);
/* Current time in milliseconds, for durations and latency figures. */
int64_t time_now_ms(void);
/* Converts a broken-down UTC time (month 1-12) to seconds. */
sta_time time_from_utc(int year, int month, int day, int hour, int min, int sec);

#endif
