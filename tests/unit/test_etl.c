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
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/keccak.h"
#include "tasks/bytecode.h"
#include "tasks/decimal.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tasks/itemout.h"
#include "tasks/rpc.h"

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
		row_str(&r, 0, "caf\xc3\xa9 \xf0\x9f\x98\x80 \x01");
		assert_int_equal(itemout_write(o, &r), 0);
		/* nothing under the final name before the commit */
		assert_false(fs_exists(pass ? json : csv));
		assert_int_equal(itemout_commit(o), 0);
	}
	/* Python: csv.writer(f).writerows(...) with the excel dialect */
	got = slurp(csv);
	assert_string_equal(got, "a,b,c,d,e\r\n"
	    "plain,\"has,comma \"\"and\"\" quote\nline\",123456789012345678901234567890,False,\"0x1,0x2\"\r\n"
	    "caf\xc3\xa9 \xf0\x9f\x98\x80 \x01,,,,\r\n");
	free(got);
	/* Python: json.dumps(dict) with default separators and ensure_ascii */
	got = slurp(json);
	assert_string_equal(got,
	    "{\"a\": \"plain\", \"b\": \"has,comma \\\"and\\\" quote\\nline\", "
	    "\"c\": 123456789012345678901234567890, \"d\": true, \"e\": [\"0x1\", \"0x2\"]}\n"
	    "{\"a\": \"caf\\u00e9 \\ud83d\\ude00 \\u0001\", \"b\": null, \"c\": null, \"d\": null, "
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

/* Parses text with rpc_doc_parse (from a writable copy); 0 or -1. */
static int
doc_parse(struct rpc_doc *d, struct buf *b, const char *text)
{
	buf_reset(b);
	buf_puts(b, text);
	return rpc_doc_parse(d, b->data, b->len);
}

/* The in-place JSON parser: RFC 8259's grammar, strictly (cJSON, which it
 * replaced on the receipts path, accepts some of what is refused here:
 * leading zeros, trailing text); expected values from Python's json. */
static void
test_doc_grammar(void **state)
{
	static const char *const good[] = {
		"[]", "{}", " \t\r\n[ ] ", "0", "-0", "\"\"", "null",
		"[1, -0, 0.5e+3, -1E-2, 10, true, false, null, \"x\"]",
		"{\"a\": {\"b\": [[], {}, [1, [2]]]}, \"c\": \"\\u12aB\"}",
		"[\"\\ud83d\\ude00\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
	};
	static const char *const bad[] = {
		"", " ", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "{\"a\"}",
		"[01]", "[1.]", "[.5]", "[+1]", "[1e]", "[1e+]", "[-]", "[0x1]", "[nul]", "[True]",
		"[true false]", "[1] x", "[1][2]", "\"abc", "[\"\\x\"]", "[\"\\u12\"]",
		"[\"\\u12g4\"]", "[\"\\ud800\"]", "[\"\\ud800\\u0041\"]", "[\"\\udc00\"]",
		"[\"a\tb\"]", "{\"a\nb\": 1}", "[\"\\\"]", "[1}", "{\"a\":1]", "[NaN]",
	};
	struct rpc_doc d = {0};
	struct buf b = {0}, deep = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		if (doc_parse(&d, &b, good[i]) != 0)
			fail_msg("refused: %s", good[i]);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (doc_parse(&d, &b, bad[i]) == 0)
			fail_msg("accepted: %s", bad[i]);
	/* a NUL byte is not whitespace */
	buf_reset(&b);
	buf_append(&b, "[1]\0", 4);
	assert_int_equal(rpc_doc_parse(&d, b.data, b.len), -1);
	/* nesting: 512 deep is read, 513 is not */
	for (int i = 0; i < 512; i++)
		buf_putc(&deep, '[');
	for (int i = 0; i < 512; i++)
		buf_putc(&deep, ']');
	assert_int_equal(doc_parse(&d, &b, deep.data), 0);
	assert_int_equal(d.n, 512);
	buf_reset(&deep);
	for (int i = 0; i < 513; i++)
		buf_putc(&deep, '[');
	for (int i = 0; i < 513; i++)
		buf_putc(&deep, ']');
	assert_int_equal(doc_parse(&d, &b, deep.data), -1);
	buf_free(&deep);
	buf_free(&b);
	rpc_doc_free(&d);
}

/* Strings are scanned 16 and 8 bytes at a time, then byte by byte: a
 * control character, quote or backslash is found at every position. */
static void
test_doc_string_scan(void **state)
{
	struct rpc_doc d = {0};
	struct buf b = {0}, t = {0};

	(void)state;
	for (int pos = 0; pos < 40; pos++) {
		for (int tail = 0; tail < 20; tail += 7) {
			buf_reset(&t);
			buf_puts(&t, "[\"");
			for (int i = 0; i < pos; i++)
				buf_putc(&t, (char)('a' + i % 26));
			buf_puts(&t, "\x1f");
			for (int i = 0; i < tail; i++)
				buf_putc(&t, '\xc3');	/* bytes above 0x7f are text */
			buf_puts(&t, "\"]");
			assert_int_equal(doc_parse(&d, &b, t.data), -1);
			/* the same with an escape where the control byte was */
			t.data[2 + pos] = '\\';
			buf_reset(&b);
			buf_append(&b, t.data, 3 + (size_t)pos);
			buf_putc(&b, 'n');
			buf_puts(&b, t.data + 3 + pos);
			assert_int_equal(rpc_doc_parse(&d, b.data, b.len), 0);
			rpc_doc_finish(&d);
			assert_int_equal(d.v[1].type, RPC_STRING);
			assert_int_equal(d.v[1].len, (uint32_t)(pos + 1 + tail));
			assert_int_equal(d.v[1].s[pos], '\n');
			/* a quote ends the string early: what follows is not JSON */
			t.data[2 + pos] = '"';
			assert_int_equal(doc_parse(&d, &b, t.data), -1);
		}
	}
	buf_free(&t);
	buf_free(&b);
	rpc_doc_free(&d);
}

static void
test_doc_values(void **state)
{
	/* json.loads: the string is b'a"\\/\x08\x0c\n\r\t\xc3\xa9\xf0\x9f\x98\x80' */
	static const char text[] = "{\"s\": \"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", "
	    "\"\\u0069d\": 7, \"n\": -12.5e3, \"a\": [1, {\"x\": null}, [true]], \"s\": \"second\", "
	    "\"z\": \"nul\\u0000here\", \"e\": {}}";
	static const struct rpc_key keys[] = {RPC_KEY("a"), RPC_KEY("id"), RPC_KEY("s"),
		RPC_KEY("missing"), RPC_KEY("z")};
	struct rpc_doc d = {0};
	struct buf b = {0};
	const struct rpc_val *top, *v, *m, *picked[ARRAY_LEN(keys)];
	uint32_t i, n = 0;

	(void)state;
	assert_int_equal(doc_parse(&d, &b, text), 0);
	top = d.v;
	/* keys are compared with their escapes decoded, before finishing */
	v = rpc_val_get(top, "id");
	assert_non_null(v);
	assert_int_equal(v->type, RPC_NUMBER);
	rpc_doc_finish(&d);
	assert_int_equal(top->type, RPC_OBJECT);
	assert_int_equal(top->len, 7);
	assert_int_equal(top->skip, d.n);
	v = rpc_val_get(top, "s");	/* the first of a repeated key */
	assert_int_equal(v->len, 15);
	assert_memory_equal(v->s, "a\"\\/\x08\x0c\n\r\t\xc3\xa9\xf0\x9f\x98\x80", 16);
	assert_false(v->nul);
	assert_string_equal(rpc_val_get(top, "id")->s, "7");
	assert_string_equal(rpc_val_get(top, "n")->s, "-12.5e3");
	v = rpc_val_get(top, "a");
	assert_int_equal(v->type, RPC_ARRAY);
	assert_int_equal(v->len, 3);
	assert_int_equal(v->skip, 6);	/* a, 1, {x}, null, [true], true */
	RPC_VAL_FOREACH(m, i, v)
		n += m->type;
	assert_int_equal(n, RPC_NUMBER + RPC_OBJECT + RPC_ARRAY);
	assert_int_equal(rpc_val_get(v + 2, "x")->type, RPC_NULL);
	assert_null(rpc_val_get(v, "x"));	/* not an object */
	v = rpc_val_get(top, "z");
	assert_true(v->nul);
	assert_int_equal(v->len, 8);
	assert_int_equal(rpc_val_get(top, "e")->len, 0);
	rpc_val_pick(top, keys, ARRAY_LEN(keys), picked);
	for (size_t k = 0; k < ARRAY_LEN(keys); k++)
		assert_ptr_equal(picked[k], rpc_val_get(top, keys[k].name));
	assert_null(picked[3]);
	buf_free(&b);
	rpc_doc_free(&d);
}

/* ---- rpc_run_vals against a scripted node on an IPC socket ---- */

/* A node that answers its n connections with replies[0..n), one each,
 * saving each request as DIR/req.I; it is a child process, returned. */
static pid_t
script_node(const char *dir, const char *const *replies, int n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/node.ipc", dir);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		close(lfd);
		return pid;
	}
	for (int i = 0; i < n; i++) {
		int fd = accept(lfd, NULL, NULL);
		char req[4096], path[256];
		size_t len = 0;
		ssize_t got;
		FILE *f;

		if (fd < 0)
			_exit(1);
		/* the batch is one array: read up to its closing bracket */
		while (len == 0 || req[len - 1] != ']') {
			got = read(fd, req + len, sizeof(req) - len);
			if (got <= 0)
				_exit(1);
			len += (size_t)got;
		}
		snprintf(path, sizeof(path), "%s/req.%d", dir, i);
		if ((f = fopen(path, "w")) == NULL)
			_exit(1);
		fwrite(req, 1, len, f);
		fclose(f);
		if (write(fd, replies[i], strlen(replies[i])) < 0)
			_exit(1);
		close(fd);
	}
	_exit(0);
}

struct vcall {
	int checks, done, reject;
	char got[2][64];
};

static void
vcall_write(void *ctx, size_t job, struct rpc_batch *b, char **label)
{
	(void)ctx;
	(void)job;
	rpc_batch_add(b, "m", "[1]");
	rpc_batch_add(b, "eth_x", "[\"0xab\", true]");
	*label = xstrdup("the test batch");
}

static int
vcall_check(void *ctx, size_t job, size_t k, const struct rpc_val *v, char **why)
{
	struct vcall *c = ctx;

	(void)job;
	c->checks++;
	assert_int_equal(v->type, k == 0 ? RPC_STRING : RPC_OBJECT);
	if (c->reject && k == 1) {
		c->reject--;
		*why = xstrdup("rejected by the check");
		return -1;
	}
	return 0;
}

static int
vcall_done(void *ctx, size_t job, const struct rpc_val *const results[], size_t n)
{
	struct vcall *c = ctx;

	(void)job;
	assert_int_equal(n, 2);
	c->done++;
	snprintf(c->got[0], sizeof(c->got[0]), "%s", results[0]->s);
	snprintf(c->got[1], sizeof(c->got[1]), "%s",
	    rpc_val_get(results[1], "a") ? rpc_val_get(results[1], "a")->s : "?");
	return 0;
}

/* Runs the test batch against replies; returns rpc_run_vals' result and
 * the number of requests the node saw in *nreq. */
static int
run_vals(const char *const *replies, int n, const char *retries, struct vcall *c, int *nreq)
{
	char dir[] = "/tmp/test_rpc.XXXXXX", *uri, path[256];
	struct rpc_vwork w = {1, vcall_write, vcall_check, vcall_done, c};
	struct rpc *r;
	pid_t pid;
	int rc, st;

	assert_non_null(mkdtemp(dir));
	pid = script_node(dir, replies, n);
	setenv("STA_RPC_RETRIES", retries, 1);
	setenv("STA_RPC_BACKOFF_MS", "1", 1);
	setenv("STA_RPC_TIMEOUT", "5", 1);
	uri = xasprintf("%s/node.ipc", dir);
	r = rpc_open(uri, 1);
	assert_non_null(r);
	rc = rpc_run_vals(r, &w);
	rpc_close(r);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	*nreq = 0;
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/req.%d", dir, i);
		if (i == 0) {
			char *req = slurp(path);

			/* the request as written, ids 0 and 1 */
			assert_string_equal(req, "[{\"method\":\"m\",\"params\":[1],\"jsonrpc\":\"2.0\",\"id\":0},"
			    "{\"method\":\"eth_x\",\"params\":[\"0xab\", true],\"jsonrpc\":\"2.0\",\"id\":1}]");
			free(req);
		}
		*nreq += unlink(path) == 0;
	}
	unlink(uri);
	free(uri);
	rmdir(dir);
	unsetenv("STA_RPC_RETRIES");
	unsetenv("STA_RPC_BACKOFF_MS");
	unsetenv("STA_RPC_TIMEOUT");
	return rc;
}

static void
test_rpc_vals(void **state)
{
	static const char good[] = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"y\\u00e9\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":\"x\"}]";
	const char *const answered[] = {good};
	const char *const wrong_id[] = {
		"[{\"id\":0,\"result\":\"x\"},{\"id\":0,\"result\":{}}]",
		"[{\"id\":0,\"result\":\"x\"},{\"id\":2,\"result\":{}}]",
		"[{\"id\":0,\"result\":\"x\"},{\"id\":1.5,\"result\":{}}]",
		"[{\"id\":0,\"result\":\"x\"},{\"id\":\"1\",\"result\":{}}]",
		"[{\"id\":0,\"result\":\"x\"}]",
		"[{\"id\":0,\"result\":\"x\"},{\"id\":1}]",
		good,
	};
	const char *const permanent[] = {
		"[{\"id\":0,\"result\":\"x\"},{\"id\":1,\"error\":{\"code\":-32601,\"message\":\"no\"}}]",
		good,
	};
	const char *const transient[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32005,\"message\":\"limit\"}}",
		"[{\"id\":0,\"result\":\"x\"},{\"id\":1,\"error\":{\"code\":-32000,\"message\":\"busy\"}}]",
		good,
	};
	/* cJSON reads these; the parser does not (trailing text, a leading
	 * zero): distrusted and asked again */
	const char *const strict[] = {
		"[{\"id\":0,\"result\":\"x\"},{\"id\":1,\"result\":{}}] junk",
		"[{\"id\":0,\"result\":\"x\"},{\"id\":01,\"result\":{}}]",
		good,
	};
	const char *const twice[] = {good, good};
	struct vcall c;
	int nreq;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(run_vals(answered, 1, "0", &c, &nreq), 0);
	assert_int_equal(nreq, 1);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.checks, 2);
	assert_string_equal(c.got[0], "x");
	assert_string_equal(c.got[1], "y\xc3\xa9");

	memset(&c, 0, sizeof(c));
	assert_int_equal(run_vals(wrong_id, 7, "6", &c, &nreq), 0);
	assert_int_equal(nreq, 7);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.checks, 2);	/* only the trusted answer was checked */

	memset(&c, 0, sizeof(c));
	assert_int_equal(run_vals(wrong_id, 7, "5", &c, &nreq), -1);
	assert_int_equal(c.done, 0);

	memset(&c, 0, sizeof(c));
	assert_int_equal(run_vals(permanent, 2, "5", &c, &nreq), -1);
	assert_int_equal(nreq, 1);	/* method not found: not asked again */
	assert_int_equal(c.done, 0);

	memset(&c, 0, sizeof(c));
	assert_int_equal(run_vals(transient, 3, "2", &c, &nreq), 0);
	assert_int_equal(nreq, 3);
	assert_int_equal(c.done, 1);

	memset(&c, 0, sizeof(c));
	assert_int_equal(run_vals(strict, 3, "2", &c, &nreq), 0);
	assert_int_equal(nreq, 3);
	assert_int_equal(c.done, 1);

	/* the caller's check distrusts the first answer: asked again */
	memset(&c, 0, sizeof(c));
	c.reject = 1;
	assert_int_equal(run_vals(twice, 1, "0", &c, &nreq), -1);
	assert_int_equal(c.done, 0);
	memset(&c, 0, sizeof(c));
	c.reject = 1;
	assert_int_equal(run_vals(twice, 2, "1", &c, &nreq), 0);
	assert_int_equal(nreq, 2);
	assert_int_equal(c.checks, 4);
	assert_int_equal(c.done, 1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_to_dec),
		cmocka_unit_test(test_hex_digits),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_py_float),
		cmocka_unit_test(test_keccak),
		cmocka_unit_test(test_push4),
		cmocka_unit_test(test_csv_and_json_out),
		cmocka_unit_test(test_cursor_out),
		cmocka_unit_test(test_doc_grammar),
		cmocka_unit_test(test_doc_string_scan),
		cmocka_unit_test(test_doc_values),
		cmocka_unit_test(test_rpc_vals),
		cmocka_unit_test(test_csv_in),
		cmocka_unit_test(test_decimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
