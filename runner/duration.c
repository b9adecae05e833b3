/*
 * duration.c: "30s", "5m", "15h", "2d", "1h30m" and bare seconds.
 */
#include "runner/duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int
duration_parse(const char *s, int64_t *seconds, char *err, size_t errlen)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty duration");
		return -1;
	}
	while (*p != '\0') {
		int64_t v = 0, unit;

		if (!isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "bad duration '%s': expected a number at '%s' "
			    "(write e.g. 30s, 5m, 15h, 2d)", s, p);
			return -1;
		}
		while (isdigit((unsigned char)*p)) {
			if (v > (INT64_MAX - 9) / 10) {
				snprintf(err, errlen, "duration '%s' is too large", s);
				return -1;
			}
			v = v * 10 + (*p++ - '0');
		}
		switch (*p) {
		case '\0':
			if (p - s != (long)strlen(s) || total != 0) {
				snprintf(err, errlen, "bad duration '%s': a number needs a unit "
				    "(s, m, h, d) after another part", s);
				return -1;
			}
			unit = 1;
			break;
		case 's': unit = 1; p++; break;
		case 'm': unit = 60; p++; break;
		case 'h': unit = 3600; p++; break;
		case 'd': unit = 86400; p++; break;
		default:
			snprintf(err, errlen, "bad duration '%s': unknown unit '%c' "
			    "(use s, m, h or d)", s, *p);
			return -1;
		}
		if (v > (INT64_MAX - total) / unit) {
			snprintf(err, errlen, "duration '%s' is too large", s);
			return -1;
		}
		total += v * unit;
	}
	*seconds = total;
	return 0;
}

void
duration_format(int64_t seconds, char *out, size_t outlen)
{
	static const struct { int64_t n; char u; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t used = 0;

	if (seconds <= 0) {
		snprintf(out, outlen, "0s");
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int64_t q = seconds / units[i].n;

		if (q == 0)
			continue;
		seconds -= q * units[i].n;
		int n = snprintf(out + used, outlen > used ? outlen - used : 0, "%lld%c",
		    (long long)q, units[i].u);
		if (n > 0)
			used += (size_t)n;
	}
}
