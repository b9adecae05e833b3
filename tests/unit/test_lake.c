/*
 * test_lake.c: the local-folder lake: put/get/list/exists/delete with
 * partition keys ("block_date=...") in nested folders, atomic writes (a
 * source that fails or shrinks part-way leaves the old object, or none,
 * and no temporary file), keys that would escape the root, URI forms; and
 * the S3 client's XML reading and AWS URI encoding against hand-worked
 * examples.
 *
 * The test binary is linked with --wrap=read so a test can make read()
 * fail, or shrink the source file, after the first chunk.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/lake.h"
#include "lib/s3.h"
#include "lib/util.h"

/* ---- read() fault injection ---- */

enum wrap_mode { WRAP_OFF, WRAP_EIO, WRAP_SHRINK };
static enum wrap_mode wrap_mode;
static int wrap_reads;
static const char *wrap_path;	/* WRAP_SHRINK: the file to cut in half */

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	if (wrap_mode != WRAP_OFF && wrap_reads++ > 0) {
		if (wrap_mode == WRAP_EIO) {
			errno = EIO;
			return -1;
		}
		if (wrap_mode == WRAP_SHRINK && wrap_path != NULL) {
			struct stat st;

			if (stat(wrap_path, &st) == 0)
				assert_int_equal(truncate(wrap_path, st.st_size / 2), 0);
			wrap_path = NULL;
		}
	}
	return __real_read(fd, buf, n);
}

static void
wrap_arm(enum wrap_mode mode, const char *path)
{
	wrap_mode = mode;
	wrap_reads = 0;
	wrap_path = path;
}

/* ---- helpers ---- */

struct fixture {
	char dir[256];		/* the test's folder */
	char root[300];		/* the lake root inside it */
	struct lake *lake;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	const char *t = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/sta-lake-XXXXXX", t != NULL && *t ? t : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/lake", f->dir);
	f->lake = lake_open(f->root);
	*state = f;
	return f->lake == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	int rc = system(cmd);

	free(cmd);
	lake_close(f->lake);
	free(f);
	wrap_arm(WRAP_OFF, NULL);
	return rc == 0 ? 0 : -1;
}

/* Reads a file with stdio (not the code under test); NULL if absent. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct buf b = {0};
	char chunk[4096];
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	buf_puts(&b, "");
	if (len != NULL)
		*len = b.len;
	return buf_detach(&b);
}

static void
spit(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static char *
in_root(const struct fixture *f, const char *rel)
{
	return xasprintf("%s/%s", f->root, rel);
}

/* Number of entries in a folder whose name starts with ".sta-tmp-". */
static int
temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, ".sta-tmp-", 9) == 0;
	closedir(d);
	return n;
}

static void
assert_content(const char *path, const char *want)
{
	char *got = slurp(path, NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* ---- tests ---- */

#define BLOCKS "export/blocks/block_date=2024-03-01/blocks.csv"

static void
test_put_get(void **state)
{
	struct fixture *f = *state;
	const char *csv = "number,hash\n1,0xab\n";
	char *path = in_root(f, BLOCKS), *data = NULL, *out;
	size_t len = 0;

	assert_int_equal(lake_put(f->lake, BLOCKS, csv, strlen(csv)), 0);
	assert_content(path, csv);
	assert_int_equal(lake_exists(f->lake, BLOCKS), 1);
	assert_int_equal(lake_get(f->lake, BLOCKS, &data, &len), 0);
	assert_int_equal(len, strlen(csv));
	assert_memory_equal(data, csv, len);
	free(data);

	/* get_file creates the folder and leaves no temporary file. */
	out = xasprintf("%s/out/sub/b.csv", f->dir);
	assert_int_equal(lake_get_file(f->lake, BLOCKS, out), 0);
	assert_content(out, csv);
	free(out);
	out = xasprintf("%s/out/sub", f->dir);
	assert_int_equal(temp_files(out), 0);
	free(out);

	/* Replacing an object. */
	assert_int_equal(lake_put(f->lake, BLOCKS, "new\n", 4), 0);
	assert_content(path, "new\n");
	/* Empty objects are objects. */
	assert_int_equal(lake_put(f->lake, "empty.csv", "", 0), 0);
	assert_int_equal(lake_get(f->lake, "empty.csv", &data, &len), 0);
	assert_int_equal(len, 0);
	free(data);
	free(path);
}

static void
test_put_file(void **state)
{
	struct fixture *f = *state;
	char *src = xasprintf("%s/src.bin", f->dir), *path = in_root(f, "a/b/c/d.bin"), *got;
	size_t n = 300000, len = 0;
	char *data = xmalloc(n);

	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 + i / 251);
	spit(src, data, n);
	assert_int_equal(lake_put_file(f->lake, "a/b/c/d.bin", src), 0);
	got = slurp(path, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	free(got);
	free(data);
	free(src);
	free(path);
}

static void
test_not_found(void **state)
{
	struct fixture *f = *state;
	char *data = NULL, *out = xasprintf("%s/x.csv", f->dir);

	assert_int_equal(lake_exists(f->lake, "nope/x.csv"), 0);
	assert_int_equal(lake_get(f->lake, "nope/x.csv", &data, NULL), LAKE_NOT_FOUND);
	assert_null(data);
	assert_int_equal(lake_get_file(f->lake, "nope/x.csv", out), LAKE_NOT_FOUND);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(temp_files(f->dir), 0);
	/* A folder is not an object. */
	assert_int_equal(lake_put(f->lake, "d/x", "1", 1), 0);
	assert_int_equal(lake_exists(f->lake, "d"), 0);
	assert_int_equal(lake_get(f->lake, "d", &data, NULL), LAKE_NOT_FOUND);
	/* An existing local file is left alone when the object is missing. */
	spit(out, "keep", 4);
	assert_int_equal(lake_get_file(f->lake, "nope/x.csv", out), LAKE_NOT_FOUND);
	assert_content(out, "keep");
	free(out);
}

static void
test_list(void **state)
{
	struct fixture *f = *state;
	static const char *const keys[] = {
		"export/blocks/block_date=2024-03-02/blocks.csv",
		"export/blocks/block_date=2024-03-01/blocks.csv",
		"export/transactions/block_date=2024-03-01/transactions.csv",
		"export/blocksx.csv",
		"manifest.json",
	};
	/* strcmp order, written out by hand. */
	static const char *const all[] = {
		"export/blocks/block_date=2024-03-01/blocks.csv",
		"export/blocks/block_date=2024-03-02/blocks.csv",
		"export/blocksx.csv",
		"export/transactions/block_date=2024-03-01/transactions.csv",
		"manifest.json",
	};
	struct strv got = {0};
	char *stray;

	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		assert_int_equal(lake_put(f->lake, keys[i], keys[i], strlen(keys[i])), 0);
	/* A writer's temporary file in flight is not listed. */
	stray = in_root(f, "export/blocks/.sta-tmp-blocks.csv.abc123");
	spit(stray, "partial", 7);
	free(stray);

	assert_int_equal(lake_list(f->lake, "", &got), 0);
	assert_int_equal(got.n, ARRAY_LEN(all));
	for (size_t i = 0; i < got.n; i++)
		assert_string_equal(got.v[i], all[i]);
	strv_free(&got);

	assert_int_equal(lake_list(f->lake, "export/blocks/", &got), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.v[0], all[0]);
	assert_string_equal(got.v[1], all[1]);
	strv_free(&got);

	/* A prefix is a string prefix, as in S3. */
	assert_int_equal(lake_list(f->lake, "export/blocks", &got), 0);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.v[2], "export/blocksx.csv");
	strv_free(&got);

	assert_int_equal(lake_list(f->lake, "export/blocks/block_date=2024-03-02/", &got), 0);
	assert_int_equal(got.n, 1);
	strv_free(&got);

	assert_int_equal(lake_list(f->lake, "nothing/", &got), 0);
	assert_int_equal(got.n, 0);
	strv_free(&got);
}

static void
test_list_missing_root(void **state)
{
	struct fixture *f = *state;
	char *root = xasprintf("%s/not-yet", f->dir);
	struct lake *l = lake_open(root);
	struct strv got = {0};

	assert_non_null(l);
	assert_int_equal(lake_list(l, "", &got), 0);
	assert_int_equal(got.n, 0);
	lake_close(l);
	free(root);
}

static void
test_delete(void **state)
{
	struct fixture *f = *state;
	char *folder = in_root(f, "export/blocks/block_date=2024-03-01"), *other;
	struct stat st;

	assert_int_equal(lake_put(f->lake, BLOCKS, "x", 1), 0);
	assert_int_equal(lake_put(f->lake, "export/keep.csv", "y", 1), 0);
	assert_int_equal(lake_delete(f->lake, BLOCKS), 0);
	assert_int_equal(lake_exists(f->lake, BLOCKS), 0);
	/* Folders left empty go; the root and folders still used stay. */
	assert_int_equal(stat(folder, &st), -1);
	other = in_root(f, "export/blocks");
	assert_int_equal(stat(other, &st), -1);
	free(other);
	assert_int_equal(lake_exists(f->lake, "export/keep.csv"), 1);
	assert_int_equal(lake_delete(f->lake, "export/keep.csv"), 0);
	assert_int_equal(stat(f->root, &st), 0);
	/* Deleting what is not there is fine (S3 does the same). */
	assert_int_equal(lake_delete(f->lake, BLOCKS), 0);
	free(folder);
}

static void
test_bad_keys(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"../escape.csv", "export/../../escape.csv", "a/..", "..", "/etc/passwd",
		"a//b", "a/", "", ".", "a/./b", ".sta-tmp-x", "a/.sta-tmp-y/b", "a\nb",
	};
	struct strv got = {0};
	char *escaped = xasprintf("%s/escape.csv", f->dir), *data = NULL;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(lake_put(f->lake, bad[i], "x", 1), -1);
		assert_int_equal(lake_exists(f->lake, bad[i]), -1);
		assert_int_equal(lake_get(f->lake, bad[i], &data, NULL), -1);
		assert_int_equal(lake_delete(f->lake, bad[i]), -1);
	}
	assert_int_equal(access(escaped, F_OK), -1);
	assert_int_equal(lake_list(f->lake, "../", &got), -1);
	assert_int_equal(lake_list(f->lake, "a/../", &got), -1);
	assert_int_equal(got.n, 0);
	/* Names that only look odd are fine. */
	assert_int_equal(lake_put(f->lake, "a/..b/c..", "x", 1), 0);
	assert_int_equal(lake_put(f->lake, "x/block_date=2024-03-01/a b+c~.csv", "x", 1), 0);
	assert_int_equal(lake_exists(f->lake, "x/block_date=2024-03-01/a b+c~.csv"), 1);
	free(escaped);
}

/* A source whose read fails part-way: the old object stays, no
 * temporary file is left, a new key gets nothing. */
static void
test_atomic_read_error(void **state)
{
	struct fixture *f = *state;
	char *src = xasprintf("%s/big.bin", f->dir), *path = in_root(f, BLOCKS);
	char *folder = in_root(f, "export/blocks/block_date=2024-03-01"), *got;
	size_t n = 1 << 20, len = 0;
	char *data = xcalloc(1, n);

	memset(data, 'z', n);
	spit(src, data, n);
	assert_int_equal(lake_put(f->lake, BLOCKS, "old\n", 4), 0);
	wrap_arm(WRAP_EIO, NULL);
	assert_int_equal(lake_put_file(f->lake, BLOCKS, src), -1);
	wrap_arm(WRAP_OFF, NULL);
	assert_content(path, "old\n");
	assert_int_equal(temp_files(folder), 0);

	wrap_arm(WRAP_EIO, NULL);
	assert_int_equal(lake_put_file(f->lake, "fresh/new.bin", src), -1);
	wrap_arm(WRAP_OFF, NULL);
	assert_int_equal(lake_exists(f->lake, "fresh/new.bin"), 0);
	free(folder);
	folder = in_root(f, "fresh");
	assert_int_equal(temp_files(folder), 0);

	/* The same source copies whole once reads work. */
	assert_int_equal(lake_put_file(f->lake, BLOCKS, src), 0);
	got = slurp(path, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	free(got);
	free(data);
	free(src);
	free(folder);
	free(path);
}

/* A source cut short while it is copied (another process truncating
 * it): the copy is refused rather than stored short. */
static void
test_atomic_shrink(void **state)
{
	struct fixture *f = *state;
	char *src = xasprintf("%s/big.bin", f->dir);
	char *folder = in_root(f, "export/blocks/block_date=2024-03-01");
	size_t n = 1 << 20;
	char *data = xcalloc(1, n);

	spit(src, data, n);
	wrap_arm(WRAP_SHRINK, src);
	assert_int_equal(lake_put_file(f->lake, BLOCKS, src), -1);
	wrap_arm(WRAP_OFF, NULL);
	assert_int_equal(lake_exists(f->lake, BLOCKS), 0);
	assert_int_equal(temp_files(folder), 0);
	free(data);
	free(src);
	free(folder);
}

/* A source that is gone, or a folder, stores nothing. */
static void
test_missing_source(void **state)
{
	struct fixture *f = *state;
	char *src = xasprintf("%s/absent.csv", f->dir);

	assert_int_equal(lake_put_file(f->lake, BLOCKS, src), -1);
	assert_int_equal(lake_put_file(f->lake, BLOCKS, f->dir), -1);
	assert_int_equal(lake_exists(f->lake, BLOCKS), 0);
	free(src);
}

static void
test_uris(void **state)
{
	struct fixture *f = *state;
	char *want = xasprintf("file://%s/export/a%%20b.csv", f->root);
	char *got = lake_uri(f->lake, "export/a b.csv"), *uri, *root, *key, *data = NULL;
	struct lake *l;

	assert_string_equal(got, want);
	free(got);
	free(want);

	/* The same lake through a file:// URI (escaped) and with a slash. */
	assert_int_equal(lake_put(f->lake, "k.csv", "v", 1), 0);
	uri = xasprintf("file://%s/", f->root);
	l = lake_open(uri);
	assert_non_null(l);
	assert_int_equal(lake_get(l, "k.csv", &data, NULL), 0);
	assert_string_equal(data, "v");
	free(data);
	lake_close(l);
	free(uri);

	assert_null(lake_open("ftp://host/x"));
	assert_null(lake_open("file://relative/x"));
	assert_null(lake_open("s3:///prefix"));
	assert_null(lake_open("s3://bucket/a/../b"));
	uri = in_root(f, "k.csv");
	assert_null(lake_open(uri));	/* a file, not a folder */
	free(uri);

	assert_int_equal(lake_split_uri("s3://bucket/pre/export/x.csv", &root, &key), 0);
	assert_string_equal(root, "s3://bucket");
	assert_string_equal(key, "pre/export/x.csv");
	free(root);
	free(key);
	assert_int_equal(lake_split_uri("s3://bucket/", &root, &key), -1);
	assert_int_equal(lake_split_uri("s3://bucket", &root, &key), -1);
	assert_int_equal(lake_split_uri("s3://bucket/a/../b.csv", &root, &key), -1);
	assert_int_equal(lake_split_uri("/x/y/z.csv", &root, &key), 0);
	assert_string_equal(root, "/x/y");
	assert_string_equal(key, "z.csv");
	free(root);
	free(key);
	assert_int_equal(lake_split_uri("file:///x/a%20b.csv", &root, &key), 0);
	assert_string_equal(root, "/x");
	assert_string_equal(key, "a b.csv");
	free(root);
	free(key);
	assert_int_equal(lake_split_uri("file:///top.csv", &root, &key), 0);
	assert_string_equal(root, "/");
	assert_string_equal(key, "top.csv");
	free(root);
	free(key);
}

static void
test_xml(void **state)
{
	const char *doc = "<ListBucketResult><IsTruncated>true</IsTruncated>"
	    "<Contents><Key>a&amp;b&lt;c&gt;&quot;&apos;</Key><Size>1</Size></Contents>"
	    "<Contents><Key>&#x41;&#66;&#233;&#x20AC;</Key></Contents>"
	    "<Contents><Key>&bogus; &#0; &#xD800; &</Key></Contents>"
	    "<KeyCount>3</KeyCount><NextContinuationToken>1/a+b=</NextContinuationToken>"
	    "</ListBucketResult>";
	const char *pos = doc;
	char *v;

	(void)state;
	v = s3_xml_next(&pos, "Key");
	assert_string_equal(v, "a&b<c>\"'");
	free(v);
	v = s3_xml_next(&pos, "Key");
	assert_string_equal(v, "AB\xc3\xa9\xe2\x82\xac");	/* é is C3 A9, € is E2 82 AC */
	free(v);
	v = s3_xml_next(&pos, "Key");
	assert_string_equal(v, "&bogus; &#0; &#xD800; &");
	free(v);
	assert_null(s3_xml_next(&pos, "Key"));	/* <KeyCount> is another tag */
	pos = doc;
	v = s3_xml_next(&pos, "NextContinuationToken");
	assert_string_equal(v, "1/a+b=");
	free(v);
	pos = "<Code>Unterminated";
	assert_null(s3_xml_next(&pos, "Code"));
}

static void
test_uri_encode(void **state)
{
	char *v;

	(void)state;
	/* AWS: unreserved characters stay, everything else %XX upper case. */
	v = s3_uri_encode("export/block_date=2024-03-01/a b+c~.csv", 1);
	assert_string_equal(v, "export/block_date%3D2024-03-01/a%20b%2Bc~.csv");
	free(v);
	v = s3_uri_encode("1/a+b=\xc3\xa9", 0);
	assert_string_equal(v, "1%2Fa%2Bb%3D%C3%A9");
	free(v);
	v = s3_uri_encode("", 0);
	assert_string_equal(v, "");
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_missing_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_read_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_shrink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uris, setup, teardown),
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_uri_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
