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

#include <cjson/cJSON.h>

struct rpc;

/* Opens a client; NULL after printing why (bad URI list). */
struct rpc *rpc_open(const char *provider_uris, int max_workers);
void rpc_close(struct rpc *r);

/* Called to create job i: returns a cJSON array of request objects (method
 * and params; "jsonrpc" and "id" are added by the client) that rpc_run owns, and sets
 * *label to a description used in messages ("blocks 100-199"; caller of
 * make allocates it, rpc_run frees it). */
typedef cJSON *(*rpc_make_fn)(void *ctx, size_t job, char **label);
/* Checks result k of job i; returns 0 to accept or -1 with *why set (an
 * allocated message) to distrust the response and retry. */
typedef int (*rpc_check_fn)(void *ctx, size_t job, size_t k, const cJSON *result, char **why);
/* Receives the results of job i in job order: results[k] answers request
 * k.  They live until the callback returns (their memory is the job's,
 * lib/jsonmem.h): cJSON_Duplicate what must outlive it.  Returns 0, or -1
 * to stop (it printed why). */
typedef int (*rpc_done_fn)(void *ctx, size_t job, cJSON *results[], size_t n);

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
