/*
 * fsutil.h: file helpers: recursive mkdir, whole-file reads and atomic
 * writes (temporary file in the same folder, then rename), so a killed
 * process never leaves a half-written file under the final name.
 */
#ifndef STA_FSUTIL_H
#define STA_FSUTIL_H

#include <stddef.h>

/* Creates path and its parents (mode 0755); 0 or -1 with errno set. */
int fs_mkdir_p(const char *path);
/* Reads a whole file into a NUL-terminated buffer; caller frees *out.
 * Returns 0, or -1 with errno set. */
int fs_read_file(const char *path, char **out, size_t *len);
/* Reads a file 64 kB at a time, passing each piece to fn, which returns 0
 * to go on.  Returns 0, fn's non-zero answer, or -1 with errno set when
 * the file cannot be read. */
int fs_read_chunks(const char *path, int (*fn)(void *arg, const char *data, size_t len),
    void *arg);
/* Writes data to path atomically; with do_fsync also syncs file and folder.
 * Returns 0, or -1 with errno set (the temporary file is removed). */
int fs_write_atomic(const char *path, const void *data, size_t len, int do_fsync);
/* Returns the folder part of path (caller frees); "." when there is none. */
char *fs_dirname(const char *path);
int fs_exists(const char *path);

#endif
