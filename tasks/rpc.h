/*
 * rpc.h: the JSON-RPC client of `sta etl`.
 *
 * Work is a sequence of jobs; each job is one JSON-RPC batch.  rpc_run keeps
 * up to max_workers batches in flight over libcurl's multi interface
 * (connections are reused), spreads jobs over the provider URIs round-robin
 * and fails over to the next one when a provider errs, retries transport
 * errors, HTTP 429/5xx, timeouts, malformed or incomplete responses and
 * transient JSON-RPC errors with exponential backoff and jitter, and hands
 * the results to the caller in job order, so output is the same whatever
 * the timing.  A response is trusted only when it is a JSON array answering
 * every request id exactly once and the caller's check accepts each result;
 * anything else is retried, and after the last retry rpc_run fails with a
 * message naming the job.
 *
 * Provider URIs: http://, https:// and IPC sockets (file:///path/geth.ipc or
 * a plain path), several separated by commas.
 *
 * Environment: STA_RPC_TIMEOUT (seconds per request, default 60),
 * STA_RPC_RETRIES (retries per job, default 8), STA_RPC_BACKOFF_MS (first
 * retry delay, default 500; doubles up to 30 s).
 */
#ifndef STA_RPC_H
#define STA_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct rpc;

/* A JSON value of a response, parsed in place.  The values of a document
 * lie in one array in document order, each container followed by its
 * members: the first member of a container v is v + 1, and the value
 * after v and everything in it (its next sibling) is v + v->skip.
 * Strings are unescaped and NUL-terminated in the response's own buffer;
 * cJSON would have given the same text. */
enum rpc_val_type { RPC_NULL, RPC_FALSE, RPC_TRUE, RPC_NUMBER, RPC_STRING, RPC_ARRAY,
	RPC_OBJECT };

struct rpc_val {
	const char *key;	/* a member of an object: its name; else NULL */
	const char *s;		/* string, number: the text (NUL-terminated) */
	const char *text;	/* the value's JSON text, text_len bytes (while the */
	uint32_t text_len;	/* document is not finished: see rpc_doc_finish) */
	uint32_t klen;		/* bytes of key */
	uint32_t len;		/* string, number: bytes of s; array, object: members */
	uint32_t skip;		/* values in this one, itself included */
	uint8_t type;		/* enum rpc_val_type */
	uint8_t esc;		/* escapes not yet decoded: 1 in the key, 2 in s */
	uint8_t nul;		/* string: s holds a NUL (from \u0000) */
};

/* Member key of object obj, the first one if repeated (as cJSON); NULL
 * when absent or obj is not an object. */
const struct rpc_val *rpc_val_get(const struct rpc_val *obj, const char *key);
/* Several members of obj in one pass: out[i] is what rpc_val_get(obj,
 * keys[i].name) returns.  Tables of keys are written with RPC_KEY. */
struct rpc_key {
	const char *name;
	size_t len;
};
#define RPC_KEY(s) {s, sizeof(s) - 1}
void rpc_val_pick(const struct rpc_val *obj, const struct rpc_key keys[], size_t n,
    const struct rpc_val *out[]);
/* Every member m of container v (array or object), i counting them. */
#define RPC_VAL_FOREACH(m, i, v) \
	for ((i) = 0, (m) = (v) + 1; (i) < (v)->len; (i)++, (m) += (m)->skip)

/* A parsed document: its values, v[0] the whole; reused across parses. */
struct rpc_doc {
	struct rpc_val *v;
	size_t n, cap;
};
/* Parses text[0..len) (strict RFC 8259: one value, whitespace around it,
 * nesting at most 512 deep) into d; text[len] must be writable (a
 * struct buf's NUL).  Checks and records only; nothing is written to text
 * until rpc_doc_finish.  0, or -1 if text is not JSON. */
int rpc_doc_parse(struct rpc_doc *d, char *text, size_t len);
/* Decodes the strings in place and NUL-terminates strings and numbers;
 * the raw text of the values is no longer JSON after it. */
void rpc_doc_finish(struct rpc_doc *d);
void rpc_doc_free(struct rpc_doc *d);

/* A batch of requests written as text (rpc_work.write). */
struct rpc_batch;
/* Adds the request {method, params} to the batch: method needs no JSON
 * escaping, params is the JSON text of the parameters ("[\"0x..\"]"). */
void rpc_batch_add(struct rpc_batch *b, const char *method, const char *params);

/* Opens a client; NULL after printing why (bad URI list). */
struct rpc *rpc_open(const char *provider_uris, int max_workers);
void rpc_close(struct rpc *r);

/* Called to create job i: returns a cJSON array of request objects (method
 * and params; ids are assigned by the client) that rpc_run owns, and sets
 * *label to a description used in messages ("blocks 100-199"; caller of
 * make allocates it, rpc_run frees it). */
typedef cJSON *(*rpc_make_fn)(void *ctx, size_t job, char **label);
/* Checks result k of job i; returns 0 to accept or -1 with *why set (an
 * allocated message) to distrust the response and retry. */
typedef int (*rpc_check_fn)(void *ctx, size_t job, size_t k, const cJSON *result, char **why);
/* Receives the results of job i in job order: results[k] answers request
 * k; the callee may detach items.  Returns 0, or -1 to stop (it printed
 * why). */
typedef int (*rpc_done_fn)(void *ctx, size_t job, cJSON *results[], size_t n);
/* For rpc_run_vals, instead of make: adds job i's requests to b with
 * rpc_batch_add, and sets *label as make does. */
typedef void (*rpc_write_fn)(void *ctx, size_t job, struct rpc_batch *b, char **label);
/* For rpc_run_vals, instead of check and done: the results as values
 * parsed in place, valid until done returns. */
typedef int (*rpc_check_val_fn)(void *ctx, size_t job, size_t k, const struct rpc_val *result,
    char **why);
typedef int (*rpc_done_val_fn)(void *ctx, size_t job, const struct rpc_val *const results[],
    size_t n);

struct rpc_work {
	size_t njobs;
	rpc_make_fn make;
	rpc_check_fn check;	/* may be NULL: any non-error result is accepted */
	rpc_done_fn done;
	void *ctx;
	/* eth_call: an answer that is a revert error ("execution reverted",
	 * code 3) is a result, handed over as the error object itself,
	 * instead of a failure to retry. */
	int reverts_are_results;
};

/* Runs the jobs; 0 when all were delivered, -1 after printing why. */
int rpc_run(struct rpc *r, const struct rpc_work *w);

/* The same work without cJSON: requests written as text, results handed
 * over as values parsed in place (check may be NULL). */
struct rpc_vwork {
	size_t njobs;
	rpc_write_fn write;
	rpc_check_val_fn check;
	rpc_done_val_fn done;
	void *ctx;
};
int rpc_run_vals(struct rpc *r, const struct rpc_vwork *w);

/* One request, for sequential lookups: returns the result (caller frees
 * with cJSON_Delete), NULL after printing why.  check may be NULL. */
cJSON *rpc_call(struct rpc *r, const char *method, cJSON *params,
    rpc_check_fn check, void *ctx);

/* Counters for logs and benchmarks. */
struct rpc_stats {
	unsigned long long requests;	/* HTTP/IPC exchanges */
	unsigned long long retries;
	unsigned long long bytes_in;
};
void rpc_get_stats(const struct rpc *r, struct rpc_stats *out);

#endif
