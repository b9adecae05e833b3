/*
 * cmd_lake.c: `sta lake ls|get|put|exists|rm`: the data lake from the
 * command line,
 * for people and scripts looking at what the pipeline stored.
 *
 * Object URIs: s3://bucket/key (the bucket is the host, the key everything
 * after it), or file:///path and plain paths (the folder and the file
 * name).  Exit status: 0, 1 (failure; an object that is not there), 64
 * (usage, bad URI or key), 69 (the lake could not be reached: S3
 * credentials, endpoint or an S3 error).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/lake.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runner/cmd.h"

static int
is_s3(const char *uri)
{
	return str_has_prefix(uri, "s3://");
}

/* The status for a lake function's -1. */
static int
fail_status(const char *uri)
{
	return is_s3(uri) ? EX_UNAVAILABLE : 1;
}

static int
open_status(const char *uri)
{
	return is_s3(uri) ? EX_UNAVAILABLE : EX_USAGE;
}

static int
lake_ls(const struct cli_env *env UNUSED, int argc, char **argv)
{
	struct strv keys = {0};
	struct lake *l;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: sta lake ls URI\n");
		return EX_USAGE;
	}
	l = lake_open(argv[1]);
	if (l == NULL)
		return open_status(argv[1]);
	if (lake_list(l, "", &keys) != 0) {
		rc = fail_status(argv[1]);
	} else {
		for (size_t i = 0; i < keys.n; i++) {
			char *uri = lake_uri(l, keys.v[i]);

			printf("%s\n", uri);
			free(uri);
		}
	}
	strv_free(&keys);
	lake_close(l);
	return rc;
}

/* Copies a file to stdout; 0 or -1 (printed). */
static int
cat_file(const char *path)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		fprintf(stderr, "sta lake get: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		if (fwrite(chunk, 1, (size_t)n, stdout) != (size_t)n) {
			rc = -1;
			break;
		}
	}
	close(fd);
	if (fflush(stdout) != 0 || rc != 0) {
		fprintf(stderr, "sta lake get: writing the output: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Opens the lake of one object URI; the status to return, or 0 with *l
 * and *key set (caller frees both). */
static int
open_object(const char *uri, struct lake **l, char **key)
{
	char *root;

	*l = NULL;
	if (lake_split_uri(uri, &root, key) != 0)
		return EX_USAGE;
	*l = lake_open(root);
	free(root);
	if (*l == NULL) {
		free(*key);
		*key = NULL;
		return open_status(uri);
	}
	return 0;
}

static int
lake_get_cmd(const struct cli_env *env UNUSED, int argc, char **argv)
{
	struct lake *l;
	char *key, *out = NULL, *tmpdir = NULL;
	int rc, to_stdout;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: sta lake get URI [FILE|-]\n");
		return EX_USAGE;
	}
	rc = open_object(argv[1], &l, &key);
	if (rc != 0)
		return rc;
	to_stdout = argc == 3 && strcmp(argv[2], "-") == 0;
	if (to_stdout) {
		/* Through a file, so a retried download never sends bytes twice. */
		const char *t = getenv("TMPDIR");

		tmpdir = xasprintf("%s/sta-lake-XXXXXX", t != NULL && *t ? t : "/tmp");
		if (mkdtemp(tmpdir) == NULL) {
			fprintf(stderr, "sta lake get: %s: %s\n", tmpdir, strerror(errno));
			rc = 1;
			goto out;
		}
		out = xasprintf("%s/object", tmpdir);
	} else {
		const char *base = strrchr(key, '/');

		out = xstrdup(argc == 3 ? argv[2] : base != NULL ? base + 1 : key);
	}
	switch (lake_get_file(l, key, out)) {
	case 0:
		rc = to_stdout && cat_file(out) != 0 ? 1 : 0;
		break;
	case LAKE_NOT_FOUND:
		fprintf(stderr, "sta lake get: %s: no such object\n", argv[1]);
		rc = 1;
		break;
	default:
		rc = fail_status(argv[1]);
		break;
	}
out:
	if (tmpdir != NULL) {
		if (out != NULL)
			unlink(out);
		rmdir(tmpdir);
	}
	free(tmpdir);
	free(out);
	free(key);
	lake_close(l);
	return rc;
}

static int
lake_put_cmd(const struct cli_env *env UNUSED, int argc, char **argv)
{
	struct lake *l;
	char *key;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: sta lake put FILE URI\n");
		return EX_USAGE;
	}
	if (access(argv[1], R_OK) != 0) {
		fprintf(stderr, "sta lake put: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rc = open_object(argv[2], &l, &key);
	if (rc != 0)
		return rc;
	if (lake_put_file(l, key, argv[1]) != 0)
		rc = fail_status(argv[2]);
	free(key);
	lake_close(l);
	return rc;
}

/* exists and rm: one object URI, one lake call. */
static int
lake_one(int argc, char **argv, const char *usage, int (*fn)(struct lake *, const char *))
{
	struct lake *l;
	char *key;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: sta lake %s\n", usage);
		return EX_USAGE;
	}
	rc = open_object(argv[1], &l, &key);
	if (rc != 0)
		return rc;
	rc = fn(l, key);
	free(key);
	lake_close(l);
	return rc < 0 ? fail_status(argv[1]) : rc;
}

/* 0 when the object exists, 1 when not. */
static int
exists_status(struct lake *l, const char *key)
{
	int rc = lake_exists(l, key);

	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

static int
lake_exists_cmd(const struct cli_env *env UNUSED, int argc, char **argv)
{
	return lake_one(argc, argv, "exists URI", exists_status);
}

static int
lake_rm_cmd(const struct cli_env *env UNUSED, int argc, char **argv)
{
	return lake_one(argc, argv, "rm URI", lake_delete);
}

static const struct cli_cmd c_ls = { "lake", "ls", "URI",
	"list every object under a lake URI (file:///path, PATH or s3://bucket/prefix)", lake_ls };
static const struct cli_cmd c_get = { "lake", "get", "URI [FILE|-]",
	"download one object to FILE (default: its name here) or stdout", lake_get_cmd };
static const struct cli_cmd c_put = { "lake", "put", "FILE URI",
	"store a local file as the object URI (atomically)", lake_put_cmd };

static const struct cli_cmd c_exists = { "lake", "exists", "URI",
	"exit 0 when the object exists, 1 when it does not", lake_exists_cmd };
static const struct cli_cmd c_rm = { "lake", "rm", "URI",
	"delete one object (no error when it is not there)", lake_rm_cmd };

const struct cli_cmd *const cmd_lake_table[] = {
	&c_ls, &c_get, &c_put, &c_exists, &c_rm, NULL,
};
