/*
 * s3.h: a small Amazon S3 client on libcurl: PutObject (multipart above
 * 64 MiB), GetObject, HeadObject, DeleteObject and ListObjectsV2 on one
 * bucket, signed with libcurl's SigV4 (CURLOPT_AWS_SIGV4).
 *
 * Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optionally
 * AWS_SESSION_TOKEN; without keys, AWS_WEB_IDENTITY_TOKEN_FILE and
 * AWS_ROLE_ARN (EKS IRSA) are exchanged at STS (AssumeRoleWithWebIdentity)
 * for temporary credentials, renewed before they expire.  Region from
 * AWS_REGION or AWS_DEFAULT_REGION (us-east-1).  AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL points at an S3-compatible store (path-style addressing);
 * against AWS, virtual-hosted style unless STA_S3_PATH_STYLE=1.
 *
 * Every request is retried on transport errors, HTTP 5xx, 429 and S3's
 * RequestTimeout with exponential backoff and jitter (STA_S3_RETRIES,
 * default 5 retries; STA_S3_BACKOFF_MS, first delay, default 200).
 * STA_S3_LIST_PAGE sets ListObjectsV2's max-keys (tests use it to make
 * continuation tokens appear with few keys).
 *
 * Keys here are whole object keys.  Errors are printed once, naming the
 * s3:// URI, the operation and S3's error Code and Message.
 */
#ifndef STA_S3_H
#define STA_S3_H

#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

#define S3_NOT_FOUND 1

/* Objects above this size go up in parts of S3_PART_SIZE. */
#define S3_MULTIPART_THRESHOLD ((uint64_t)64 << 20)
#define S3_PART_SIZE ((uint64_t)16 << 20)

struct s3;

/* A client for one bucket, configured from the environment (see above);
 * NULL after printing why (no credentials, STS refused, bad endpoint). */
struct s3 *s3_open(const char *bucket);
void s3_close(struct s3 *s);

/* "s3://bucket/key"; caller frees. */
char *s3_uri(const struct s3 *s, const char *key);

/* Stores len bytes as key.  0 or -1. */
int s3_put_mem(struct s3 *s, const char *key, const void *data, size_t len);
/* Stores size bytes read from fd (from offset 0, with pread) as key; a
 * source that ends early fails the upload.  0 or -1. */
int s3_put_fd(struct s3 *s, const char *key, int fd, uint64_t size);
/* Writes the object into fd (truncated first, and again before a retry);
 * 0, S3_NOT_FOUND or -1. */
int s3_get_fd(struct s3 *s, const char *key, int fd);
/* The object into memory, NUL-terminated (caller frees *data); 0,
 * S3_NOT_FOUND or -1. */
int s3_get_mem(struct s3 *s, const char *key, char **data, size_t *len);
/* 1 the object exists, 0 not, -1 error. */
int s3_head(struct s3 *s, const char *key);
/* Appends every key starting with prefix to keys, in S3's order.  0 or -1. */
int s3_list(struct s3 *s, const char *prefix, struct strv *keys);
/* Deletes key (no error when it does not exist).  0 or -1. */
int s3_delete(struct s3 *s, const char *key);

/* Helpers exposed for unit tests. */

/* The text of the first <tag>...</tag> at or after *pos, XML entities
 * decoded; advances *pos past it.  NULL when there is none.  Caller frees. */
char *s3_xml_next(const char **pos, const char *tag);
/* AWS URI encoding: every byte but A-Z a-z 0-9 - _ . ~ (and '/' when
 * keep_slash) as %XX with upper-case hex.  Caller frees. */
char *s3_uri_encode(const char *s, int keep_slash);

#endif
