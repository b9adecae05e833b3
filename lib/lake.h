/*
 * lake.h: the data lake: files addressed by key under a root URI.
 *
 * Roots: "file:///abs/path" or a plain path (a folder), or
 * "s3://bucket/prefix" (see s3.h for credentials and endpoints).  Keys are
 * relative paths such as "export/blocks/block_date=2024-03-01/blocks.csv":
 * no leading or trailing '/', no empty, "." or ".." segment, no control
 * characters; anything else is rejected with a message.
 *
 * Writes are atomic: a reader sees the old object or the whole new one,
 * never part of one.  Every function prints its own errors, naming the
 * URI; LAKE_NOT_FOUND is not printed.
 */
#ifndef STA_LAKE_H
#define STA_LAKE_H

#include <stddef.h>

#include "lib/util.h"

#define LAKE_NOT_FOUND 1

struct lake;

/* uri: "file:///abs/path", a plain path, or "s3://bucket/prefix".  NULL
 * after printing why. */
struct lake *lake_open(const char *uri);
void lake_close(struct lake *l);
/* Full URI of key, for messages and manifests (caller frees). */
char *lake_uri(const struct lake *l, const char *key);
/* Stores a local file under key.  file: copy to a temporary name in the
 * target folder, fsync, rename.  s3: PutObject, or a multipart upload
 * (parts of 16 MiB, aborted on failure) above 64 MiB.  0 or -1. */
int lake_put_file(struct lake *l, const char *key, const char *local_path);
/* Same from memory. */
int lake_put(struct lake *l, const char *key, const void *data, size_t len);
/* Fetches key into local_path (atomically, creating its folder); 0,
 * LAKE_NOT_FOUND, or -1. */
int lake_get_file(struct lake *l, const char *key, const char *local_path);
/* Fetches key into memory, NUL-terminated (caller frees *data); 0,
 * LAKE_NOT_FOUND, -1. */
int lake_get(struct lake *l, const char *key, char **data, size_t *len);
/* 1 exists, 0 not, -1 error. */
int lake_exists(struct lake *l, const char *key);
/* Appends every key starting with prefix ("" for all, "export/" for a
 * folder), recursively, sorted, to keys.  0 or -1. */
int lake_list(struct lake *l, const char *prefix, struct strv *keys);
/* Removes key; a key that does not exist is not an error.  0 or -1. */
int lake_delete(struct lake *l, const char *key);

/* Splits the URI of one object into a root lake_open accepts and a key:
 * s3://bucket/a/b.csv -> "s3://bucket", "a/b.csv"; a file URI or path ->
 * its folder and file name.  0 (caller frees both) or -1 (printed: no
 * key, or an S3 key lake functions would refuse). */
int lake_split_uri(const char *uri, char **root, char **key);

/* The fingerprint manifests record: sha256 of len bytes at data, in
 * lowercase hex. */
void lake_sha256(const void *data, size_t len, char hex[65]);
/* The same of a local file, and its size into *bytes (may be NULL): 0, or
 * -1 when it cannot be read whole. */
int lake_sha256_file(const char *path, char hex[65], long long *bytes);

#endif
