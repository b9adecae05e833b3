/*
 * test_etl.c: the pieces of `sta etl` that decide output bytes, checked
 * against values computed independently: Python (int(), repr(), csv and
 * json modules' rules) and `cast keccak` from Foundry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/jsonmem.h"
#include "lib/keccak.h"
#include "tasks/bytecode.h"
#include "tasks/decimal.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tasks/itemout.h"

static void
check_dec(const char *hex, const char *want)
{
	char *got = ethval_dec(hex);

	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_hex_to_dec(void **state)
{
	(void)state;
	check_dec("0x0", "0");
	check_dec("0x00", "0");
	check_dec("0x3b9aca00", "1000000000");
	check_dec("0xDE0B6B3A7640000", "1000000000000000000");
	/* python3 -c "print(int('f'*64, 16))" */
	check_dec("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    "115792089237316195423570985008687907853269984665640564039457584007913129639935");
	check_dec("0x", NULL);
	check_dec("12", NULL);
	check_dec("0x1g", NULL);
	check_dec(NULL, NULL);
	/* around the 64-bit fast path: python3 -c "print(int('...', 16))" */
	check_dec("0xffffffffffffffff", "18446744073709551615");
	check_dec("0x10000000000000000", "18446744073709551616");
	check_dec("0x123456789abcdef01", "20988295479420645121");
	check_dec("0X00000000000000000000ffffffffffffffff", "18446744073709551615");
	check_dec("0x000000000000000000000000000000010000000000000000", "18446744073709551616");
	check_dec("0x0000000000000000000000000", "0");
	check_dec("0x1000000000000000g", NULL);
	check_dec("0x10000000000000000000g", NULL);
	check_dec("0x-1", NULL);
	/* wider than 256 bits: no JSON-RPC quantity is */
	check_dec("0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", NULL);
	check_dec("0x00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	    "115792089237316195423570985008687907853269984665640564039457584007913129639935");
}

/* JSON values written back as Python's json.dumps(json.loads(text))
 * writes them (expected text from Python 3.11). */
static void
test_json_dump_py(void **state)
{
	cJSON *v = cJSON_Parse("[1e300, 0.1, 12, -3, 1e999, 2.5e-05, 123456789012.5, "
	    "{\"a\": [true, null]}]");
	struct buf b = {0};

	(void)state;
	json_dump_py(&b, v);
	assert_string_equal(b.data,
	    "[1e+300, 0.1, 12, -3, Infinity, 2.5e-05, 123456789012.5, {\"a\": [true, null]}]");
	buf_free(&b);
	cJSON_Delete(v);
}

/* Every byte after "0x" is a hex digit exactly when the C library's
 * isxdigit says so. */
static void
test_hex_digits(void **state)
{
	(void)state;
	for (int c = 1; c < 256; c++) {
		char s[4] = {'0', 'x', (char)c, '\0'};
		int want = isxdigit(c) ? 0 : -1;
		struct buf b = {0};

		assert_int_equal(ethval_is_quantity(s), want);
		assert_int_equal(ethval_hex_to_dec(&b, s) < 0 ? -1 : 0, want);
		buf_free(&b);
	}
}

static void
test_values(void **state)
{
	uint64_t v;
	char *a;
	struct strv w = {0};

	(void)state;
	assert_int_equal(ethval_u64("0xffffffffffffffff", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(ethval_u64("0x10000000000000000", &v), -1);
	assert_int_equal(ethval_u64("0x0000000000000000000001", &v), 0);
	assert_true(v == 1);
	a = ethval_address("0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
	assert_string_equal(a, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
	free(a);
	assert_null(ethval_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb9226"));
	a = ethval_word_to_address("0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
	assert_string_equal(a, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
	free(a);
	assert_int_equal(ethval_is_data("0x"), 0);
	assert_int_equal(ethval_is_data("0xabc"), -1);
	/* 64 + 4 hex digits: a whole word and a partial one, as split_to_words */
	assert_int_equal(ethval_split_words("0x00000000000000000000000000000000000000000000000000000000000000ffabcd", &w), 2);
	assert_string_equal(w.v[1], "0xabcd");
	strv_free(&w);
}

static void
check_float(const char *in, const char *want)
{
	char *got = ethval_py_float(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_py_float(void **state)
{
	(void)state;
	/* python3 -c "print(repr(0.684), repr(1.0), repr(1e-05), repr(1e16),
	 *   repr(123456789.0), repr(2.5e-07))" */
	check_float("0.684", "0.684");
	check_float("1", "1.0");
	check_float("0.00001", "1e-05");
	check_float("1e16", "1e+16");
	check_float("123456789", "123456789.0");
	check_float("0.00000025", "2.5e-07");
	assert_null(ethval_py_float("abc"));
	/* float() takes no hex; strtod would read 0x10 as 16 */
	assert_null(ethval_py_float("0x10"));
	assert_null(ethval_py_float("0x1p3"));
}

static void
test_keccak(void **state)
{
	char hex[67], sel[11], *big = xmalloc(301);

	(void)state;
	/* cast keccak "" / "Transfer(address,address,uint256)" / 136 x 'a' /
	 * 300 x 'b'; cast sig "totalSupply()" */
	keccak256_hex("", hex);
	assert_string_equal(hex, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	keccak256_hex("Transfer(address,address,uint256)", hex);
	assert_string_equal(hex, "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
	memset(big, 'a', 136);
	big[136] = '\0';
	keccak256_hex(big, hex);
	assert_string_equal(hex, "0xa6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
	memset(big, 'b', 300);
	big[300] = '\0';
	keccak256_hex(big, hex);
	assert_string_equal(hex, "0xfc7c8aa717dd9bb0958a45e6949f281d17b04ff68481626642fcf9daf36db4e8");
	keccak_selector("totalSupply()", sel);
	assert_string_equal(sel, "0x18160ddd");
	free(big);
}

static void
test_push4(void **state)
{
	/* An old-style dispatcher: PUSH4 0xffffffff mask, two selectors, then
	 * a JUMPDEST and a PUSH4 after it; a PUSH32 whose data holds 0x63
	 * (PUSH4) bytes that must not count. */
	static const unsigned char code[] = {
		0x60, 0x60, 0x60, 0x40, 0x52,                   /* PUSH1 PUSH1 MSTORE */
		0x63, 0xff, 0xff, 0xff, 0xff,                   /* PUSH4 ffffffff */
		0x7f, 0x63, 0x11, 0x11, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* PUSH32 with 63 inside */
		0x80, 0x63, 0x18, 0x16, 0x0d, 0xdd, 0x14,       /* DUP1 PUSH4 EQ */
		0x80, 0x63, 0x06, 0xfd, 0xde, 0x03, 0x14,
		0x80, 0x63, 0x18, 0x16, 0x0d, 0xdd, 0x14,       /* repeated */
		0x5b,                                           /* JUMPDEST */
		0x63, 0xa9, 0x05, 0x9c, 0xbb,
		0x63, 0x01, 0x02,                               /* truncated PUSH4 */
	};
	struct strv first = {0}, all = {0};

	(void)state;
	bytecode_push4(code, sizeof(code), 1, &first);
	assert_int_equal(first.n, 3);
	assert_string_equal(first.v[0], "0x06fdde03");
	assert_string_equal(first.v[1], "0x18160ddd");
	assert_string_equal(first.v[2], "0xffffffff");
	bytecode_push4(code, sizeof(code), 0, &all);
	assert_int_equal(all.n, 4);
	assert_string_equal(all.v[2], "0xa9059cbb");
	strv_free(&first);
	strv_free(&all);
}

static char *
slurp(const char *path)
{
	char *data;
	size_t len;

	assert_int_equal(fs_read_file(path, &data, &len), 0);
	return data;
}

static void
test_csv_and_json_out(void **state)
{
	static const char *const cols[] = {"a", "b", "c", "d", "e"};
	char dir[] = "/tmp/test_etl.XXXXXX", *csv, *json, *got;
	struct itemout *o;
	struct row r;
	struct strv list = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	csv = xasprintf("%s/x.csv", dir);
	json = xasprintf("%s/sub/x.json", dir);
	row_init(&r, 5);
	for (int pass = 0; pass < 2; pass++) {
		o = itemout_open(pass ? json : csv, cols, 5);
		assert_non_null(o);
		row_str(&r, 0, "plain");
		row_str(&r, 1, "has,comma \"and\" quote\nline");
		row_num(&r, 2, "123456789012345678901234567890");
		row_bool(&r, 3, pass);
		strv_push(&list, "0x1");
		strv_push(&list, "0x2");
		row_list(&r, 4, &list, 0);
		assert_int_equal(itemout_write(o, &r), 0);
		row_clear(&r);
		row_str(&r, 0, "caf\xc3\xa9 \xf0\x9f\x98\x80 \x01\x7f");
		assert_int_equal(itemout_write(o, &r), 0);
		/* nothing under the final name before the commit */
		assert_false(fs_exists(pass ? json : csv));
		assert_int_equal(itemout_commit(o), 0);
	}
	/* Python: csv.writer(f).writerows(...) with the excel dialect */
	got = slurp(csv);
	assert_string_equal(got, "a,b,c,d,e\r\n"
	    "plain,\"has,comma \"\"and\"\" quote\nline\",123456789012345678901234567890,False,\"0x1,0x2\"\r\n"
	    "caf\xc3\xa9 \xf0\x9f\x98\x80 \x01\x7f,,,,\r\n");
	free(got);
	/* Python: json.dumps(dict) with default separators and ensure_ascii */
	got = slurp(json);
	assert_string_equal(got,
	    "{\"a\": \"plain\", \"b\": \"has,comma \\\"and\\\" quote\\nline\", "
	    "\"c\": 123456789012345678901234567890, \"d\": true, \"e\": [\"0x1\", \"0x2\"]}\n"
	    "{\"a\": \"caf\\u00e9 \\ud83d\\ude00 \\u0001\\u007f\", \"b\": null, \"c\": null, \"d\": null, "
	    "\"e\": null}\n");
	free(got);
	/* an aborted writer leaves nothing */
	o = itemout_open(csv, cols, 5);
	assert_int_equal(itemout_write(o, &r), 0);
	itemout_abort(o);
	got = slurp(csv);
	assert_non_null(strstr(got, "plain"));	/* the committed file is untouched */
	free(got);
	row_free(&r);
	unlink(csv);
	unlink(json);
	got = xasprintf("%s/sub", dir);
	rmdir(got);
	free(got);
	rmdir(dir);
	free(csv);
	free(json);
}

/* Rows rendered cell by cell with a cursor, lists in particular (CSV
 * joins them into one field, quoted when it needs to be). */
static void
test_cursor_out(void **state)
{
	static const char *const cols[] = {"a", "b", "c", "d"};
	char dir[] = "/tmp/test_etl.XXXXXX", *path;
	struct itemout_cursor c;
	struct buf b = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int json = 0; json < 2; json++) {
		struct itemout *o;

		path = xasprintf("%s/x.%s", dir, json ? "json" : "csv");
		o = itemout_open(path, cols, 4);
		assert_non_null(o);
		buf_reset(&b);
		itemout_row_begin(o, &b, &c);
		itemout_put_num(&c, "42");
		itemout_list_begin(&c, 0);
		itemout_list_item(&c, "0xab");
		itemout_list_end(&c);
		itemout_list_begin(&c, 0);
		itemout_list_end(&c);
		itemout_list_begin(&c, 0);
		itemout_list_item(&c, "x\"y");
		itemout_list_item(&c, "z");
		itemout_list_end(&c);
		itemout_row_end(&c);
		itemout_row_begin(o, &b, &c);
		itemout_put_str(&c, "q\"");
		itemout_list_begin(&c, 1);
		itemout_list_item(&c, "1");
		itemout_list_item(&c, "2");
		itemout_list_end(&c);
		itemout_row_end(&c);	/* c and d: null */
		/* plain text is written as put_str and put_num write it */
		itemout_row_begin(o, &b, &c);
		itemout_put_plain(&c, "0xAb", 4, 0);
		itemout_put_plain(&c, "120", 3, 1);
		itemout_put_str(&c, "0xAb");
		itemout_put_num(&c, "120");
		itemout_row_end(&c);
		/* Python: csv.writer(f).writerow([42, "0xab", "", 'x"y,z']),
		 * writerow(['q"', "1,2", None, None]); json.dumps of the dicts */
		if (json)
			assert_string_equal(b.data,
			    "{\"a\": 42, \"b\": [\"0xab\"], \"c\": [], \"d\": [\"x\\\"y\", \"z\"]}\n"
			    "{\"a\": \"q\\\"\", \"b\": [1, 2], \"c\": null, \"d\": null}\n"
			    "{\"a\": \"0xAb\", \"b\": 120, \"c\": \"0xAb\", \"d\": 120}\n");
		else
			assert_string_equal(b.data, "42,0xab,,\"x\"\"y,z\"\r\n\"q\"\"\",\"1,2\",,\r\n"
			    "0xAb,120,0xAb,120\r\n");
		itemout_abort(o);
		free(path);
	}
	buf_free(&b);
	rmdir(dir);
}

static void
test_csv_in(void **state)
{
	char path[] = "/tmp/test_etl_in.XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = "x,y\r\n1,\"a,b\"\r\n2,\"multi\nline \"\"q\"\"\"\r\n\r\n3,\r\n4\r\n";
	struct itemin *in;
	cJSON *it;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	in = itemin_open(path);
	assert_non_null(in);
	assert_int_equal(itemin_next(in, &it), 1);
	assert_string_equal(cJSON_GetObjectItem(it, "y")->valuestring, "a,b");
	cJSON_Delete(it);
	assert_int_equal(itemin_next(in, &it), 1);
	assert_string_equal(cJSON_GetObjectItem(it, "y")->valuestring, "multi\nline \"q\"");
	cJSON_Delete(it);
	assert_int_equal(itemin_next(in, &it), 1);
	assert_string_equal(cJSON_GetObjectItem(it, "x")->valuestring, "3");
	assert_string_equal(cJSON_GetObjectItem(it, "y")->valuestring, "");
	cJSON_Delete(it);
	/* a short row is an error naming its line */
	assert_int_equal(itemin_next(in, &it), -1);
	assert_int_equal(itemin_line(in), 7);
	itemin_close(in);
	unlink(path);
}

static void
check_div(const char *a, const char *b, int scale, const char *want)
{
	char *got = dec_div(a, b, scale);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_decimal(void **state)
{
	char *s;

	(void)state;
	s = dec_add("99999999999999999999", "1");
	assert_string_equal(s, "100000000000000000000");
	free(s);
	s = dec_add("0", "0");
	assert_string_equal(s, "0");
	free(s);
	assert_true(dec_cmp("0010", "9") > 0);
	assert_true(dec_cmp("123", "123") == 0);
	assert_true(dec_cmp("122", "123") < 0);
	/* Python: (Decimal(a) / Decimal(b)).quantize(..., ROUND_HALF_UP) */
	check_div("1500000000000000000", "1000000000000000000", 6, "1.500000");
	check_div("1", "3", 6, "0.333333");
	check_div("2", "3", 6, "0.666667");
	check_div("999999999", "1000000000", 6, "1.000000");
	check_div("5", "2", 0, "3");
	check_div("7", "2", 0, "4");
	check_div("0", "7", 6, "0.000000");
	check_div("10", "4", 0, "3");
	check_div("9999995", "1000000000000", 6, "0.000010");
	check_div("115792089237316195423570985008687907853269984665640564039457584007913129639935",
	    "1000000000000000000", 6,
	    "115792089237316195423570985008687907853269984665640564039457.584008");
	assert_null(dec_div("1", "0", 2));
	assert_true(dec_valid("012") && !dec_valid("") && !dec_valid("1.5") && !dec_valid("-1"));
}

/* Trees parsed in a region: intact while it lives, deleting them is
 * harmless, and what cJSON allocates outside a region (a copy, printed
 * text) is ordinary memory that outlives the region (ASan checks the
 * frees). */
static void
test_json_region(void **state)
{
	struct json_region a = {0}, b = {0};
	cJSON *ta, *tb, *copy;
	char *text, big[200000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_region_begin(&a);
	ta = cJSON_Parse("[{\"k\": \"0x1\"}, 2, null]");
	json_region_end();
	json_region_begin(&b);
	tb = cJSON_CreateString(big);	/* larger than a block */
	json_region_end();
	assert_non_null(ta);
	assert_non_null(tb);
	copy = cJSON_Duplicate(ta, 1);
	text = cJSON_PrintUnformatted(ta);
	cJSON_Delete(ta);		/* does nothing: still readable */
	assert_string_equal(cJSON_GetArrayItem(ta, 0)->child->valuestring, "0x1");
	json_region_free(&a);
	assert_string_equal(tb->valuestring, big);	/* b lives on */
	json_region_free(&b);
	json_region_begin(&a);		/* a region is used again */
	ta = cJSON_Parse("{\"again\": true}");
	json_region_end();
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ta, "again")));
	json_region_free(&a);
	assert_string_equal(text, "[{\"k\":\"0x1\"},2,null]");
	assert_string_equal(cJSON_GetArrayItem(copy, 0)->child->valuestring, "0x1");
	free(text);
	cJSON_Delete(copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_to_dec),
		cmocka_unit_test(test_json_dump_py),
		cmocka_unit_test(test_hex_digits),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_py_float),
		cmocka_unit_test(test_keccak),
		cmocka_unit_test(test_push4),
		cmocka_unit_test(test_csv_and_json_out),
		cmocka_unit_test(test_cursor_out),
		cmocka_unit_test(test_json_region),
		cmocka_unit_test(test_csv_in),
		cmocka_unit_test(test_decimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
