/*
 * etl.h: `sta etl COMMAND [OPTIONS]`, ethereum-etl's commands with its
 * option names, and what the commands share: option parsing, block-range
 * batching, progress reporting and the STA_RESULT line.
 */
#ifndef STA_ETL_H
#define STA_ETL_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "tasks/itemout.h"
#include "tasks/rpc.h"

/* Entry point from main(): argv[0] is "etl". Returns the exit status. */
int etl_main(int argc, char **argv);

/* OPT_LIST: may be repeated; the values are joined with commas. */
enum etl_opt_kind { OPT_STR, OPT_INT, OPT_FLAG, OPT_LIST };

struct etl_opt {
	const char *name;	/* long name without "--" */
	char short_name;	/* 0 for none */
	enum etl_opt_kind kind;
	const char *def;	/* default value, NULL for none */
	const char *help;
};

#define ETL_MAX_OPTS 24

struct etl_args {
	const struct etl_cmd *cmd;
	const char *val[ETL_MAX_OPTS];
	char *owned[ETL_MAX_OPTS];	/* joined OPT_LIST values */
};

struct etl_cmd {
	const char *name;
	const char *help;
	const struct etl_opt *opts;	/* terminated by a NULL name */
	int (*run)(struct etl_args *a);
};

/* Option values by long name: the string (NULL if unset and no default),
 * the integer (range-checked by the parser), the flag. */
const char *etl_str(const struct etl_args *a, const char *name);
int64_t etl_int(const struct etl_args *a, const char *name);
int etl_flag(const struct etl_args *a, const char *name);
/* Prints "sta etl CMD: message" and returns EX_USAGE. */
int etl_usage_error(const struct etl_args *a, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Opens the JSON-RPC client from -p/--provider-uri and -w/--max-workers. */
struct rpc *etl_rpc_open(const struct etl_args *a);

/* Checks -s/-e/-b: 0, or EX_USAGE after printing why. */
int etl_block_range(const struct etl_args *a, uint64_t *start, uint64_t *end, uint64_t *batch);

/* The first and last block of a UTC date, as get_block_range_for_date
 * finds them.  0, or an exit status after printing why. */
int etl_date_range(struct rpc *r, const char *date, uint64_t *start, uint64_t *end);

/* A JSON-RPC request object {method, params}. */
cJSON *etl_request(const char *method, cJSON *params);
/* "0x..." for n, as JSON-RPC block numbers are written. */
cJSON *etl_hex_number(uint64_t n);

/* Progress of a long export: a line on a terminal, a log line every 10 s
 * otherwise, and a summary at the end. */
struct progress;
struct progress *progress_start(const char *what, uint64_t total);
void progress_add(struct progress *p, uint64_t n);
void progress_end(struct progress *p);

/* Prints the task's STA_RESULT line for the runner: rows written per
 * output and the output paths. */
void etl_result(const char *const *names, const unsigned long long *rows,
    const char *const *paths, size_t n);

/* Commits every open writer of outs (NULL entries are skipped), storing
 * each one's row count in rows[] and clearing outs[]; after a failure the
 * remaining writers are aborted.  Returns 0 or -1 (printed). */
int etl_commit_all(struct itemout **outs, unsigned long long *rows, size_t n);

/* Rows rendered while a response is checked, kept until its job is
 * delivered in order, so each answer is mapped once. */
#define ETL_MAX_OUTS 2
struct rendered {
	struct buf text[ETL_MAX_OUTS];
	unsigned long long rows[ETL_MAX_OUTS];
};
struct pending {
	size_t *jobs;
	struct rendered *r;
	size_t n, cap;
};
/* The rendered rows of a job, emptied when reset is set (the first result
 * of each attempt).  The pointer is valid until the next call.  Buffers
 * are kept for later jobs once a job's rows are written. */
struct rendered *pending_at(struct pending *p, size_t job, int reset);
/* Renders r for output i of the job's rows. */
void pending_row(struct rendered *rd, size_t i, const struct itemout *o, const struct row *r);
/* Writes a job's rows to outs[] (NULL entries skipped) and forgets them. */
int pending_flush(struct pending *p, size_t job, struct itemout *const *outs, size_t nouts);
void pending_free(struct pending *p);

/* An export over JSON-RPC, the part every such command shares: opens the
 * outputs (out[i] for the callbacks; NULL where paths[i] is NULL) and the
 * client, shows progress, runs the jobs, commits the outputs and prints
 * the result, then closes everything.  Returns 0 or an exit status. */
struct etl_export {
	size_t nout;
	const char *names[ETL_MAX_OUTS];
	const char *paths[ETL_MAX_OUTS];
	const char *const *cols[ETL_MAX_OUTS];
	size_t ncols[ETL_MAX_OUTS];
	struct itemout *out[ETL_MAX_OUTS];
	const char *what;		/* progress unit: "blocks" */
	uint64_t total;
	struct progress *progress;
	struct rpc_work work;		/* njobs, callbacks, ctx */
};
int etl_export(struct etl_args *a, struct etl_export *e);

/* An extract command: every item of inpath goes to fn, which writes the
 * rows it makes to out and returns 0, 1 for a malformed item (counted;
 * the first few are reported with their line), or -N to stop with exit
 * status N (after printing why).  Then the output is committed and reported.
 * Returns 0 or an exit status. */
struct itemin;
typedef int (*etl_item_fn)(void *ctx, const cJSON *item, struct itemout *out, char **why);
int etl_extract(struct etl_args *a, const char *inpath, const char *outpath, const char *name,
    const char *const *cols, size_t ncols, etl_item_fn fn, void *ctx);

/* Options most commands share, as ethereum-etl spells them. */
#define ETL_OPT_START {"start-block", 's', OPT_INT, "0", "Start block"}
#define ETL_OPT_END {"end-block", 'e', OPT_INT, NULL, "End block (required)"}
#define ETL_OPT_BATCH {"batch-size", 'b', OPT_INT, "100", "Blocks or items per JSON-RPC batch"}
#define ETL_OPT_PROVIDER {"provider-uri", 'p', OPT_STR, "http://127.0.0.1:8545", \
	"JSON-RPC endpoint(s): http(s):// URL or IPC socket (file:///path/geth.ipc); " \
	"several, comma-separated, share the load and fail over"}
#define ETL_OPT_WORKERS {"max-workers", 'w', OPT_INT, "5", "Batches in flight at once"}
#define ETL_OPT_CHAIN {"chain", 'c', OPT_STR, "ethereum", "Chain name (accepted for compatibility)"}
#define ETL_OPT_DATE {"date", 0, OPT_STR, NULL, "Export this UTC day (YYYY-MM-DD): its block range"}
#define ETL_OPT_LAKE {"lake", 0, OPT_STR, NULL, \
	"Data lake (file:// or s3://): inputs and outputs are the day's partitions, with manifests"}, \
	{"output-lake", 0, OPT_STR, NULL, "Write the partitions to this lake instead (sta verify)"}

/* --date/--lake around a command (etl_lake.c): prepare resolves the day
 * and points the options at local files; finish uploads them with their
 * manifests.  Both return 0 or an exit status. */
struct lake_run;
int etl_lake_prepare(struct etl_args *a, struct lake_run **lr);
int etl_lake_finish(struct lake_run *lr, int rc, int argc, char **argv);
/* Whether the command can work on lake partitions. */
int etl_lake_supported(const char *cmd);

/* The checked text of a JSON-RPC field v as kind says ('d' a quantity in
 * decimal, 'h' hex data as it is, 'a' an address in lower case): *text is
 * v's own string or tmp's (len bytes), NULL when v is absent or null.  -1
 * when v is something else.  What the helpers below and every exporter's
 * field checks use. */
int etl_field_text(const cJSON *v, char kind, struct buf *tmp, const char **text, size_t *len);
/* Helpers the exporters share to turn JSON-RPC fields into cells; each
 * returns -1 if the field is present but malformed. */
int cell_dec(struct row *r, size_t col, const cJSON *obj, const char *key);
int cell_hex(struct row *r, size_t col, const cJSON *obj, const char *key);
int cell_addr(struct row *r, size_t col, const cJSON *obj, const char *key);
/* The same checks for a field v already looked up, its text written to the
 * cursor's next cell (null when v is absent or null) through tmp; -1,
 * writing nothing, when malformed.  kind: 'd' quantity (in decimal), 'h'
 * hex data, 'a' address (lower-cased). */
int put_field(struct itemout_cursor *c, const cJSON *v, char kind, struct buf *tmp);
/* Members of obj by name in one pass over its members: out[i] is the
 * first member named keys[i], or NULL (cJSON_GetObjectItemCaseSensitive
 * for each key would walk the members once per key). */
struct json_key {
	const char *s;
	size_t len;
};
#define JSON_KEY(name) {name, sizeof(name) - 1}
void json_pick(const cJSON *obj, const struct json_key *keys, size_t n, const cJSON **out);
/* The string value of obj[key], or NULL when absent, null or not a string. */
const char *json_str(const cJSON *obj, const char *key);

/* Command tables, one per source file. */
extern const struct etl_cmd etl_cmd_export_blocks;
extern const struct etl_cmd etl_cmd_get_block_range_for_date;
extern const struct etl_cmd etl_cmd_export_receipts;
extern const struct etl_cmd etl_cmd_extract_token_transfers;
extern const struct etl_cmd etl_cmd_export_token_transfers;
extern const struct etl_cmd etl_cmd_export_traces;
extern const struct etl_cmd etl_cmd_export_geth_traces;
extern const struct etl_cmd etl_cmd_extract_geth_traces;
extern const struct etl_cmd etl_cmd_export_contracts;
extern const struct etl_cmd etl_cmd_export_tokens;
extern const struct etl_cmd etl_cmd_extract_csv_column;
extern const struct etl_cmd etl_cmd_extract_field;
extern const struct etl_cmd etl_cmd_extract_security_token_events;
extern const struct etl_cmd etl_cmd_security_token_catalog;

#endif
