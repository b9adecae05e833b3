/*
 * lake.c: the data lake (see lake.h).  Two backends behind one table of
 * functions: a local folder, and S3 through lib/s3.c.  This file owns key
 * checking, the URI forms, and the temporary-file-then-rename dance both
 * backends use for files written on this machine.
 *
 * Temporary files are named ".sta-tmp-*" in the folder of their final
 * name (so the rename is atomic); listings skip them and keys may not use
 * that name.
 */
#include "config.h"

#include "lib/lake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/s3.h"

#define TMP_PREFIX ".sta-tmp-"
#define KEY_MAX 1024
#define COPY_CHUNK 65536

struct lake_ops {
	int (*put_file)(struct lake *l, const char *key, const char *path);
	int (*put)(struct lake *l, const char *key, const void *data, size_t len);
	/* Writes the object into a fresh temporary file. */
	int (*get_fd)(struct lake *l, const char *key, int fd);
	int (*get)(struct lake *l, const char *key, char **data, size_t *len);
	int (*exists)(struct lake *l, const char *key);
	/* Appends matching keys, unsorted. */
	int (*list)(struct lake *l, const char *prefix, struct strv *keys);
	int (*del)(struct lake *l, const char *key);
	char *(*uri)(const struct lake *l, const char *key);
};

struct lake {
	const struct lake_ops *ops;
	char *root;		/* file: absolute folder; s3: key prefix or "" */
	struct s3 *s3;
};

/* ---- shared helpers ---- */

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates a temporary file in the folder of path (and that folder if
 * need be); *tmp gets its name (caller frees).  fd or -1 with errno. */
static int
tmp_beside(const char *path, char **tmp)
{
	char *dir = fs_dirname(path);
	const char *base = strrchr(path, '/');
	int fd = -1;

	base = base != NULL ? base + 1 : path;
	*tmp = NULL;
	if (fs_mkdir_p(dir) == 0) {
		/* Short enough for NAME_MAX whatever the final name. */
		*tmp = xasprintf("%s/" TMP_PREFIX "%.64s.XXXXXX", dir, base);
		fd = mkostemp(*tmp, O_CLOEXEC);
		if (fd < 0) {
			free(*tmp);
			*tmp = NULL;
		}
	}
	free(dir);
	return fd;
}

/* Makes the temporary file durable and gives it its final name; closes
 * fd.  0, or -1 with errno (the temporary file is removed). */
static int
tmp_commit(int fd, char *tmp, const char *path)
{
	char *dir;
	int dfd, saved;

	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		goto fail;
	}
	dir = fs_dirname(path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	unlink(tmp);
	errno = saved;
	return -1;
}

static void
tmp_discard(int fd, const char *tmp)
{
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
}

/* Copies src to dst until EOF.  When src is a regular file, a copy that
 * does not end at its size (it shrank or grew meanwhile) fails with
 * EAGAIN.  *src_err tells whether a failure was reading (1) or writing. */
static int
copy_fd(int src, int dst, int *src_err)
{
	char *chunk = xmalloc(COPY_CHUNK);
	struct stat before, after;
	uint64_t done = 0;
	int rc = -1, regular;

	*src_err = 1;
	if (fstat(src, &before) != 0)
		goto out;
	regular = S_ISREG(before.st_mode);
	for (;;) {
		ssize_t n = read(src, chunk, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		*src_err = 0;
		if (write_all(dst, chunk, (size_t)n) != 0)
			goto out;
		*src_err = 1;
		done += (uint64_t)n;
	}
	if (regular && (fstat(src, &after) != 0 || done != (uint64_t)before.st_size ||
	    after.st_size != before.st_size)) {
		errno = EAGAIN;
		goto out;
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

static const char *
copy_error(void)
{
	return errno == EAGAIN ? "the file changed while it was copied" : strerror(errno);
}

/* Percent-decodes %XX in s; NULL on a malformed escape.  Caller frees. */
static char *
pct_decode(const char *s)
{
	struct buf b = {0};

	buf_puts(&b, "");
	for (; *s; s++) {
		unsigned v = 0;

		if (*s != '%') {
			buf_putc(&b, *s);
			continue;
		}
		for (int i = 1; i <= 2; i++) {
			char c = s[i];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else {
				buf_free(&b);
				return NULL;
			}
		}
		if (v == 0) {
			buf_free(&b);
			return NULL;
		}
		buf_putc(&b, (char)v);
		s += 2;
	}
	return buf_detach(&b);
}

/* A path as a file:// URI, escaping what would not read back. */
static char *
file_uri_of(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = {0};

	buf_puts(&b, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '%' || *p == '#' || *p == '?') {
			buf_putc(&b, '%');
			buf_putc(&b, hex[*p >> 4]);
			buf_putc(&b, hex[*p & 15]);
		} else {
			buf_putc(&b, (char)*p);
		}
	}
	return buf_detach(&b);
}

/* Checks a key (or, with is_prefix, a listing prefix: may be empty, may
 * end with '/' or in the middle of a segment).  NULL when fine. */
static const char *
key_problem(const char *key, int is_prefix)
{
	size_t len = strlen(key);

	if (len == 0)
		return is_prefix ? NULL : "it is empty";
	if (len > KEY_MAX)
		return "it is longer than 1024 bytes";
	if (key[0] == '/')
		return "it starts with '/'";
	if (key[len - 1] == '/' && !is_prefix)
		return "it ends with '/'";
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "it has a control character";
	for (const char *seg = key; *seg;) {
		const char *end = strchr(seg, '/');
		size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);

		if (n == 0)
			return "it has an empty segment ('//')";
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "it has a '.' or '..' segment";
		if (n >= strlen(TMP_PREFIX) && strncmp(seg, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
			return "names starting with " TMP_PREFIX " are reserved";
		if (end == NULL)
			break;
		seg = end + 1;
	}
	return NULL;
}

static int
key_check(const struct lake *l, const char *key, int is_prefix)
{
	const char *why = key != NULL ? key_problem(key, is_prefix) : "it is missing";
	char *root, *shown;

	if (why == NULL)
		return 0;
	/* Control characters shown as '?', to keep the message one line. */
	shown = xstrdup(key != NULL ? key : "");
	for (char *p = shown; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	root = l->ops->uri(l, "");
	log_error("%s: bad %s '%s': %s", root, is_prefix ? "prefix" : "key", shown, why);
	free(root);
	free(shown);
	return -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- local folder ---- */

static char *
file_path(const struct lake *l, const char *key)
{
	if (*key == '\0')
		return xstrdup(l->root);
	return xasprintf("%s%s%s", l->root, str_has_suffix(l->root, "/") ? "" : "/", key);
}

static char *
file_uri(const struct lake *l, const char *key)
{
	char *path = file_path(l, key), *uri = file_uri_of(path);

	free(path);
	return uri;
}

static int
file_put_fd(struct lake *l, const char *key, int src, const char *src_name,
    const void *data, size_t len)
{
	char *path = file_path(l, key), *uri = file_uri(l, key), *tmp = NULL;
	int fd, src_err = 0, rc = -1;

	fd = tmp_beside(path, &tmp);
	if (fd < 0) {
		log_error("%s: creating a temporary file beside it: %s", uri, strerror(errno));
		goto out;
	}
	if (src >= 0 ? copy_fd(src, fd, &src_err) != 0 : write_all(fd, data, len) != 0) {
		if (src_err)
			log_error("%s: reading %s: %s", uri, src_name, copy_error());
		else
			log_error("%s: writing %s: %s", uri, tmp, strerror(errno));
		tmp_discard(fd, tmp);
		goto out;
	}
	if (tmp_commit(fd, tmp, path) != 0) {
		log_error("%s: %s", uri, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(path);
	free(uri);
	return rc;
}

static int
file_put_file(struct lake *l, const char *key, const char *local)
{
	int src = open(local, O_RDONLY | O_CLOEXEC), rc;

	if (src < 0) {
		char *uri = file_uri(l, key);

		log_error("%s: reading %s: %s", uri, local, strerror(errno));
		free(uri);
		return -1;
	}
	rc = file_put_fd(l, key, src, local, NULL, 0);
	close(src);
	return rc;
}

static int
file_put(struct lake *l, const char *key, const void *data, size_t len)
{
	return file_put_fd(l, key, -1, NULL, data, len);
}

/* Opens the object for reading: fd, -2 when there is none, or -1
 * (printed). */
static int
file_open_object(const struct lake *l, const char *key)
{
	char *path = file_path(l, key);
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		fd = -2;
	} else if (fd < 0) {
		char *uri = file_uri(l, key);

		log_error("%s: %s", uri, strerror(errno));
		free(uri);
	} else if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		/* A folder is not an object, as an S3 "prefix" is not. */
		close(fd);
		fd = -2;
	}
	free(path);
	return fd;
}

static int
file_get_fd(struct lake *l, const char *key, int dst)
{
	int src = file_open_object(l, key), src_err, rc = 0;

	if (src < 0)
		return src == -2 ? LAKE_NOT_FOUND : -1;
	if (copy_fd(src, dst, &src_err) != 0) {
		char *uri = file_uri(l, key);

		log_error("%s: %s: %s", uri, src_err ? "reading" : "writing the copy", copy_error());
		free(uri);
		rc = -1;
	}
	close(src);
	return rc;
}

static int
file_get(struct lake *l, const char *key, char **data, size_t *len)
{
	struct buf b = {0};
	char chunk[COPY_CHUNK];
	int src = file_open_object(l, key), rc = 0;

	if (src < 0)
		return src == -2 ? LAKE_NOT_FOUND : -1;
	for (;;) {
		ssize_t n = read(src, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			char *uri = file_uri(l, key);

			log_error("%s: %s", uri, strerror(errno));
			free(uri);
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		buf_append(&b, chunk, (size_t)n);
	}
	close(src);
	if (rc == 0) {
		buf_puts(&b, "");
		if (len != NULL)
			*len = b.len;
		*data = buf_detach(&b);
	}
	buf_free(&b);
	return rc;
}

static int
file_exists(struct lake *l, const char *key)
{
	char *path = file_path(l, key);
	struct stat st;
	int rc;

	if (stat(path, &st) == 0) {
		rc = S_ISDIR(st.st_mode) ? 0 : 1;
	} else if (errno == ENOENT || errno == ENOTDIR) {
		rc = 0;
	} else {
		char *uri = file_uri(l, key);

		log_error("%s: %s", uri, strerror(errno));
		free(uri);
		rc = -1;
	}
	free(path);
	return rc;
}

/* Walks folder rel (relative to the root) for keys starting with prefix,
 * descending only into folders that can hold such keys. */
static int
file_walk(const struct lake *l, const char *rel, const char *prefix, struct strv *keys)
{
	char *dir = file_path(l, rel);
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL) {
		if (errno != ENOENT && errno != ENOTDIR) {
			log_error("%s: %s", dir, strerror(errno));
			rc = -1;
		}
		free(dir);
		return rc;
	}
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		char *child, *as_dir;
		struct stat st;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    str_has_prefix(name, TMP_PREFIX))
			continue;
		child = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
		as_dir = xasprintf("%s/", child);
		if (fstatat(dirfd(d), name, &st, 0) != 0) {
			/* Gone since readdir, or a dangling link: not an object. */
		} else if (S_ISDIR(st.st_mode)) {
			if (str_has_prefix(as_dir, prefix) || str_has_prefix(prefix, as_dir))
				rc = file_walk(l, child, prefix, keys);
		} else if (S_ISREG(st.st_mode) && str_has_prefix(child, prefix) &&
		    key_problem(child, 0) == NULL) {
			strv_push(keys, child);
		}
		free(as_dir);
		free(child);
	}
	if (rc == 0 && errno != 0) {
		log_error("%s: %s", dir, strerror(errno));
		rc = -1;
	}
	closedir(d);
	free(dir);
	return rc;
}

static int
file_list(struct lake *l, const char *prefix, struct strv *keys)
{
	return file_walk(l, "", prefix, keys);
}

static int
file_del(struct lake *l, const char *key)
{
	char *path = file_path(l, key);
	int rc = 0;

	if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
		char *uri = file_uri(l, key);

		log_error("%s: %s", uri, strerror(errno));
		free(uri);
		rc = -1;
	}
	/* Folders exist only for their objects, as in S3: remove the ones
	 * left empty, up to the root. */
	for (char *slash = strrchr(path, '/'); rc == 0 && slash != NULL; slash = strrchr(path, '/')) {
		*slash = '\0';
		if (strlen(path) <= strlen(l->root) || rmdir(path) != 0)
			break;
	}
	free(path);
	return rc;
}

static const struct lake_ops file_ops = {
	file_put_file, file_put, file_get_fd, file_get, file_exists, file_list,
	file_del, file_uri,
};

/* ---- S3 ---- */

/* The object key of a lake key; caller frees. */
static char *
s3_key(const struct lake *l, const char *key)
{
	if (*l->root == '\0')
		return xstrdup(key);
	return xasprintf("%s/%s", l->root, key);
}

static char *
s3l_uri(const struct lake *l, const char *key)
{
	char *k = s3_key(l, key), *uri = s3_uri(l->s3, k);

	free(k);
	return uri;
}

static int
s3l_put_file(struct lake *l, const char *key, const char *local)
{
	char *k = s3_key(l, key);
	struct stat st;
	int fd = open(local, O_RDONLY | O_CLOEXEC), rc = -1;

	const char *why = NULL;

	if (fd < 0 || fstat(fd, &st) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	if (why != NULL) {
		char *uri = s3_uri(l->s3, k);

		log_error("%s: reading %s: %s", uri, local, why);
		free(uri);
		goto out;
	}
	rc = s3_put_fd(l->s3, k, fd, (uint64_t)st.st_size);
out:
	if (fd >= 0)
		close(fd);
	free(k);
	return rc;
}

static int
s3l_put(struct lake *l, const char *key, const void *data, size_t len)
{
	char *k = s3_key(l, key);
	int rc = s3_put_mem(l->s3, k, data, len);

	free(k);
	return rc;
}

static int
s3l_get_fd(struct lake *l, const char *key, int fd)
{
	char *k = s3_key(l, key);
	int rc = s3_get_fd(l->s3, k, fd);

	free(k);
	return rc == S3_NOT_FOUND ? LAKE_NOT_FOUND : rc;
}

static int
s3l_get(struct lake *l, const char *key, char **data, size_t *len)
{
	char *k = s3_key(l, key);
	int rc = s3_get_mem(l->s3, k, data, len);

	free(k);
	return rc == S3_NOT_FOUND ? LAKE_NOT_FOUND : rc;
}

static int
s3l_exists(struct lake *l, const char *key)
{
	char *k = s3_key(l, key);
	int rc = s3_head(l->s3, k);

	free(k);
	return rc;
}

static int
s3l_list(struct lake *l, const char *prefix, struct strv *keys)
{
	struct strv all = {0};
	char *p = s3_key(l, prefix);
	size_t skip = *l->root ? strlen(l->root) + 1 : 0;
	int rc = s3_list(l->s3, p, &all);

	for (size_t i = 0; rc == 0 && i < all.n; i++) {
		const char *k = all.v[i];

		/* Skip "folder/" markers and keys no lake could have written. */
		if (strlen(k) > skip && strncmp(k, p, strlen(p)) == 0 &&
		    key_problem(k + skip, 0) == NULL)
			strv_push(keys, k + skip);
	}
	strv_free(&all);
	free(p);
	return rc;
}

static int
s3l_del(struct lake *l, const char *key)
{
	char *k = s3_key(l, key);
	int rc = s3_delete(l->s3, k);

	free(k);
	return rc;
}

static const struct lake_ops s3_ops = {
	s3l_put_file, s3l_put, s3l_get_fd, s3l_get, s3l_exists, s3l_list,
	s3l_del, s3l_uri,
};

/* ---- opening ---- */

static struct lake *
open_s3(const char *uri)
{
	const char *rest = uri + strlen("s3://"), *slash = strchr(rest, '/');
	char *bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	char *prefix = xstrdup(slash ? slash + 1 : "");
	size_t n = strlen(prefix);
	struct lake *l = NULL;
	const char *why;

	while (n > 0 && prefix[n - 1] == '/')
		prefix[--n] = '\0';
	if (*bucket == '\0') {
		log_error("%s: no bucket name (expected s3://bucket/prefix)", uri);
		goto out;
	}
	if ((why = key_problem(prefix, 1)) != NULL) {
		log_error("%s: bad prefix: %s", uri, why);
		goto out;
	}
	l = xcalloc(1, sizeof(*l));
	l->ops = &s3_ops;
	l->root = prefix;
	prefix = NULL;
	l->s3 = s3_open(bucket);
	if (l->s3 == NULL) {
		lake_close(l);
		l = NULL;
	}
out:
	free(bucket);
	free(prefix);
	return l;
}

/* The folder of a file:// URI or plain path, absolute, decoded. */
static char *
folder_of(const char *uri)
{
	char *path, *abs;
	size_t n;

	if (str_has_prefix(uri, "file://")) {
		const char *p = uri + strlen("file://");

		if (str_has_prefix(p, "localhost/"))
			p += strlen("localhost");
		if (*p != '/') {
			log_error("%s: expected file:///absolute/path", uri);
			return NULL;
		}
		path = pct_decode(p);
		if (path == NULL) {
			log_error("%s: bad %%-escape", uri);
			return NULL;
		}
	} else if (strstr(uri, "://") != NULL) {
		log_error("%s: unknown lake URI scheme (expected file:// or s3://)", uri);
		return NULL;
	} else if (*uri == '\0') {
		log_error("empty lake path");
		return NULL;
	} else {
		path = xstrdup(uri);
	}
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	if (path[0] == '/')
		return path;
	abs = getcwd(NULL, 0);
	if (abs == NULL) {
		log_error("%s: the current folder: %s", uri, strerror(errno));
		free(path);
		return NULL;
	}
	char *joined = xasprintf("%s/%s", abs, strcmp(path, ".") == 0 ? "" : path);

	n = strlen(joined);
	if (n > 1 && joined[n - 1] == '/')
		joined[n - 1] = '\0';
	free(abs);
	free(path);
	return joined;
}

struct lake *
lake_open(const char *uri)
{
	struct lake *l;
	struct stat st;
	char *root;

	if (uri == NULL) {
		log_error("no lake URI");
		return NULL;
	}
	if (str_has_prefix(uri, "s3://"))
		return open_s3(uri);
	root = folder_of(uri);
	if (root == NULL)
		return NULL;
	if (stat(root, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char *u = file_uri_of(root);

		log_error("%s: not a folder", u);
		free(u);
		free(root);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->ops = &file_ops;
	l->root = root;
	return l;
}

void
lake_close(struct lake *l)
{
	if (l == NULL)
		return;
	s3_close(l->s3);
	free(l->root);
	free(l);
}

char *
lake_uri(const struct lake *l, const char *key)
{
	return l->ops->uri(l, key != NULL ? key : "");
}

int
lake_put_file(struct lake *l, const char *key, const char *local_path)
{
	if (key_check(l, key, 0) < 0)
		return -1;
	return l->ops->put_file(l, key, local_path);
}

int
lake_put(struct lake *l, const char *key, const void *data, size_t len)
{
	if (key_check(l, key, 0) < 0)
		return -1;
	return l->ops->put(l, key, data != NULL ? data : "", len);
}

int
lake_get_file(struct lake *l, const char *key, const char *local_path)
{
	char *tmp = NULL;
	int fd, rc;

	if (key_check(l, key, 0) < 0)
		return -1;
	fd = tmp_beside(local_path, &tmp);
	if (fd < 0) {
		log_error("%s: creating a temporary file beside it: %s", local_path, strerror(errno));
		return -1;
	}
	rc = l->ops->get_fd(l, key, fd);
	if (rc != 0) {
		tmp_discard(fd, tmp);
	} else if (tmp_commit(fd, tmp, local_path) != 0) {
		log_error("%s: %s", local_path, strerror(errno));
		rc = -1;
	}
	free(tmp);
	return rc;
}

int
lake_get(struct lake *l, const char *key, char **data, size_t *len)
{
	if (key_check(l, key, 0) < 0)
		return -1;
	return l->ops->get(l, key, data, len);
}

int
lake_exists(struct lake *l, const char *key)
{
	if (key_check(l, key, 0) < 0)
		return -1;
	return l->ops->exists(l, key);
}

int
lake_list(struct lake *l, const char *prefix, struct strv *keys)
{
	struct strv found = {0};
	int rc;

	prefix = prefix != NULL ? prefix : "";
	if (key_check(l, prefix, 1) < 0)
		return -1;
	rc = l->ops->list(l, prefix, &found);
	if (rc == 0 && found.n > 0) {
		qsort(found.v, found.n, sizeof(*found.v), cmp_str);
		for (size_t i = 0; i < found.n; i++) {
			strv_push_take(keys, found.v[i]);
			found.v[i] = NULL;
		}
	}
	strv_free(&found);
	return rc;
}

int
lake_delete(struct lake *l, const char *key)
{
	if (key_check(l, key, 0) < 0)
		return -1;
	return l->ops->del(l, key);
}

int
lake_split_uri(const char *uri, char **root, char **key)
{
	const char *slash, *why;
	char *path;

	*root = *key = NULL;
	if (str_has_prefix(uri, "s3://")) {
		slash = strchr(uri + strlen("s3://"), '/');
		if (slash == NULL || slash[1] == '\0') {
			log_error("%s: names a bucket, not an object", uri);
			return -1;
		}
		if ((why = key_problem(slash + 1, 0)) != NULL) {
			log_error("%s: bad key: %s", uri, why);
			return -1;
		}
		*root = xstrndup(uri, (size_t)(slash - uri));
		*key = xstrdup(slash + 1);
		return 0;
	}
	if (str_has_suffix(uri, "/")) {
		log_error("%s: names a folder, not a file", uri);
		return -1;
	}
	path = folder_of(uri);
	if (path == NULL)
		return -1;
	slash = strrchr(path, '/');
	*key = xstrdup(slash + 1);
	*root = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	free(path);
	return 0;
}

void
lake_sha256(const void *data, size_t len, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	hex_encode(h, sizeof(h), hex);
}

int
lake_sha256_file(const char *path, char hex[65], long long *bytes)
{
	FILE *f = fopen(path, "rb");
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES], chunk[65536];
	long long total = 0;
	size_t n;
	int err;

	if (f == NULL)
		return -1;
	crypto_hash_sha256_init(&st);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		crypto_hash_sha256_update(&st, chunk, n);
		total += (long long)n;
	}
	err = ferror(f);
	fclose(f);
	if (err)
		return -1;
	crypto_hash_sha256_final(&st, h);
	hex_encode(h, sizeof(h), hex);
	if (bytes != NULL)
		*bytes = total;
	return 0;
}
