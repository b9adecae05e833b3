/*
 * fsutil.c: recursive mkdir, whole-file reads, atomic writes.
 */
#include "lib/fsutil.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
fs_mkdir_p(const char *path)
{
	char *p;
	int rc = 0;

	/* Most often only the last folder is missing, or none. */
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	p = xstrdup(path);
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

int
fs_read_chunks(const char *path, int (*fn)(void *arg, const char *data, size_t len), void *arg)
{
	char chunk[65536];
	ssize_t n;
	int fd, saved, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (rc = fn(arg, chunk, (size_t)n)) != 0)
			break;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : rc;
}

static int
buf_chunk(void *arg, const char *data, size_t len)
{
	buf_append(arg, data, len);
	return 0;
}

int
fs_read_file(const char *path, char **out, size_t *len)
{
	struct buf b = {0};

	if (fs_read_chunks(path, buf_chunk, &b) != 0) {
		buf_free(&b);
		return -1;
	}
	if (len != NULL)
		*len = b.len;
	*out = buf_detach(&b);
	return 0;
}

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

char *
fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
fs_write_atomic(const char *path, const void *data, size_t len, int do_fsync)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, saved, rc = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	if (write_all(fd, data, len) != 0 || (do_fsync && fsync(fd) != 0)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto out;
	}
	if (do_fsync) {
		char *dir = fs_dirname(path);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		free(dir);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

int
fs_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}
