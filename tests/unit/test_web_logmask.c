/*
 * test_web_logmask.c: secret values are masked in a log stream however
 * it is cut into reads: every split point, one byte at a time, a secret
 * begun but not completed, secrets that begin one another.  Expected
 * texts are written out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "web/logmask.h"

static const char *const SECRETS[] = { "s3cr3t-Value-42", "abc", NULL };

/* Feeds text cut at the given points (ascending, 0 < cut < len). */
static char *
run(const char *const *secrets, size_t n, const char *text, const size_t *cuts, size_t ncuts)
{
	struct logmask *m = logmask_new(secrets, n);
	struct buf out = {0};
	size_t from = 0, len = strlen(text);

	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		logmask_feed(m, text + from, to - from, &out);
		from = to;
	}
	logmask_flush(m, &out);
	logmask_free(m);
	return buf_detach(&out);
}

static void
test_every_split(void **state)
{
	const char *in = "key=s3cr3t-Value-42 and again s3cr3t-Value-42.\n";
	const char *want = "key=*** and again ***.\n";
	size_t len = strlen(in);

	(void)state;
	for (size_t cut = 1; cut < len; cut++) {
		char *got = run(SECRETS, 3, in, &cut, 1);

		assert_string_equal(got, want);
		free(got);
	}
	for (size_t a = 1; a < len; a++) {
		for (size_t b = a + 1; b < len; b++) {
			size_t cuts[2] = { a, b };
			char *got = run(SECRETS, 3, in, cuts, 2);

			assert_string_equal(got, want);
			free(got);
		}
	}
}

static void
test_byte_at_a_time(void **state)
{
	const char *in = "xs3cr3t-Value-42s3cr3t-Value-42y s3cr3t-Value-4";
	size_t len = strlen(in), *cuts = calloc(len, sizeof(size_t));
	char *got;

	(void)state;
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	got = run(SECRETS, 3, in, cuts, len - 1);
	/* the last one never completes: shown as it is at the end */
	assert_string_equal(got, "x******y s3cr3t-Value-4");
	free(got);
	free(cuts);
}

static void
test_nothing_of_a_secret_leaks_early(void **state)
{
	struct logmask *m = logmask_new(SECRETS, 3);
	struct buf out = {0};

	(void)state;
	logmask_feed(m, "first\nkey=s3cr3t-", 17, &out);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.data, "first\nkey=", 10);
	assert_int_equal(logmask_pending(m), 7);
	logmask_feed(m, "Val", 3, &out);
	assert_int_equal(out.len, 10);
	/* disproved: released as it was */
	logmask_feed(m, "X\n", 2, &out);
	assert_string_equal(out.data, "first\nkey=s3cr3t-ValX\n");
	assert_int_equal(logmask_pending(m), 0);
	logmask_free(m);
	buf_free(&out);
}

static void
test_overlapping_and_short(void **state)
{
	const char *const sec[] = { "abcd", "abcdef", "xy" };
	size_t cut = 3;
	char *got;

	(void)state;
	got = run(sec, 3, "abcdefg abcdx xy", &cut, 1);
	assert_string_equal(got, "***g ***x xy");   /* "xy" is too short to mask */
	free(got);
	got = run(NULL, 0, "abc s3cr3t-Value-42", NULL, 0);
	assert_string_equal(got, "abc s3cr3t-Value-42");
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_nothing_of_a_secret_leaks_early),
		cmocka_unit_test(test_overlapping_and_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
