/*
 * test_timeutil.c: UTC parsing and formatting, checked against values
 * computed independently (date -u -d ... +%s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/timeutil.h"

static void
test_parse_forms(void **state)
{
	sta_time t;

	(void)state;
	assert_int_equal(time_parse("2015-07-30", &t), 0);
	assert_int_equal(t, 1438214400);     /* date -u -d 2015-07-30 +%s */
	assert_int_equal(time_parse("2024-02-29T13:45:10Z", &t), 0);
	assert_int_equal(t, 1709214310);
	assert_int_equal(time_parse("2024-02-29T13:45:10+02:00", &t), 0);
	assert_int_equal(t, 1709214310 - 7200);
	assert_int_equal(time_parse("2024-02-29 13:45", &t), 0);
	assert_int_equal(t, 1709214300);
	assert_int_equal(time_parse("1969-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, -1);
}

static void
test_parse_rejects(void **state)
{
	sta_time t;

	(void)state;
	assert_int_equal(time_parse("2023-02-29", &t), -1);
	assert_int_equal(time_parse("2024-13-01", &t), -1);
	assert_int_equal(time_parse("2024-01-01T24:00", &t), -1);
	assert_int_equal(time_parse("2024-01-01x", &t), -1);
	assert_int_equal(time_parse("", &t), -1);
	assert_int_equal(time_parse("24-01-01", &t), -1);
}

static void
test_format(void **state)
{
	char iso[TIME_ISO_LEN], d[11], dn[9];

	(void)state;
	time_format_iso(1709214310, iso);
	assert_string_equal(iso, "2024-02-29T13:45:10+00:00");
	time_format_date(1709214310, d);
	assert_string_equal(d, "2024-02-29");
	time_format_date_nodash(1709214310, dn);
	assert_string_equal(dn, "20240229");
	time_format_iso(-1, iso);
	assert_string_equal(iso, "1969-12-31T23:59:59+00:00");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
