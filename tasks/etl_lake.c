/*
 * etl_lake.c: `sta etl COMMAND --date D --lake URI`: an export of one UTC
 * day, read from and written to the data lake with a custody manifest.
 *
 * With --date, the block range is the day's (get_block_range_for_date).
 * With --lake, outputs not named otherwise go to the day's partitions
 *   export/<table>/block_date=D/<table>.csv
 * inputs not named otherwise are read from the partitions they come from
 * (receipts from the transactions' hashes, token transfers from the logs,
 * contracts from the traces, tokens from the contracts), and each output
 * partition gets a manifest.json beside its file: block range, first and
 * last block hash, node client version, sta version, command line, and the
 * sha256, rows and bytes of each file and of each input.  Nothing in the
 * manifest depends on when the export ran, so a rerun of the same day on
 * the same chain writes the same bytes.  A rerun removes the old manifest
 * before it replaces the data and writes the new one last.  --output-lake
 * writes the outputs elsewhere (sta verify uses it to re-extract beside
 * the original).
 */
#include "config.h"

#include "tasks/etl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/lake.h"
#include "lib/log.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tasks/rpc.h"

/* What a command reads from and writes to the lake. */
struct lake_spec {
	const char *cmd;
	int range;				/* sets -s/-e from --date */
	const char *block_opt;			/* block tag option for calls at the day's end */
	struct { const char *opt, *table; } out[2];
	const char *in_opt, *in_table;		/* an input read from another partition */
};

static const struct lake_spec specs[] = {
	{"export_blocks_and_transactions", 1, NULL,
	    {{"blocks-output", "blocks"}, {"transactions-output", "transactions"}}, NULL, NULL},
	{"export_receipts_and_logs", 0, NULL,
	    {{"receipts-output", "receipts"}, {"logs-output", "logs"}},
	    "transaction-hashes", "transactions"},
	{"extract_token_transfers", 0, NULL, {{"output", "token_transfers"}, {NULL, NULL}},
	    "logs", "logs"},
	{"export_token_transfers", 1, NULL, {{"output", "token_transfers"}, {NULL, NULL}}, NULL, NULL},
	{"export_traces", 1, NULL, {{"output", "traces"}, {NULL, NULL}}, NULL, NULL},
	{"export_contracts", 0, "block", {{"output", "contracts"}, {NULL, NULL}}, "traces", "traces"},
	{"export_tokens", 0, "block", {{"output", "tokens"}, {NULL, NULL}}, "contracts", "contracts"},
	{"extract_security_token_events", 0, NULL,
	    {{"output", "security_token_events"}, {NULL, NULL}}, "logs", "logs"},
};

struct lake_run {
	const struct lake_spec *spec;
	const char *date;
	struct lake *in, *out;
	char *tmpdir;
	uint64_t start, end;
	char *first_hash, *last_hash, *client;
	char *local[2];			/* output files */
	char *input_local, *input_key;
	char *owned[8];
	size_t nowned;
	char *lake_default;
};

/* An empty --lake (a DAG param left empty): $STA_LAKE, else the lake in
 * $STA_HOME (caller frees). */
static char *
default_lake(void)
{
	const char *e = getenv("STA_LAKE"), *home = getenv("STA_HOME");
	char cwd[4096];

	if (e && *e)
		return xstrdup(e);
	home = home && *home ? home : ".sta";
	if (home[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xasprintf("file://%s/lake", home);
	return xasprintf("file://%s/%s/lake", cwd, home);
}

static const struct lake_spec *
spec_of(const char *cmd)
{
	for (size_t i = 0; i < ARRAY_LEN(specs); i++)
		if (strcmp(specs[i].cmd, cmd) == 0)
			return &specs[i];
	return NULL;
}

/* Sets option name to an owned copy of value. */
static void
set_opt(struct etl_args *a, struct lake_run *lr, const char *name, char *value)
{
	for (size_t i = 0; a->cmd->opts[i].name; i++) {
		if (strcmp(a->cmd->opts[i].name, name) == 0) {
			a->val[i] = value;
			lr->owned[lr->nowned++] = value;
			return;
		}
	}
	free(value);
}

static char *
partition_key(const char *table, const char *date, const char *file)
{
	return xasprintf("export/%s/block_date=%s/%s", table, date, file);
}

static int
check_hash(void *ctx, size_t job, size_t k, const cJSON *b, char **why)
{
	(void)ctx, (void)job, (void)k;
	if (cJSON_IsObject(b) && ethval_is_data_n(json_str(b, "hash"), 32) == 0)
		return 0;
	*why = xstrdup("block without a hash");
	return -1;
}

static char *
block_hash(struct rpc *r, uint64_t n)
{
	cJSON *params = cJSON_CreateArray(), *b;
	char *h = NULL;

	cJSON_AddItemToArray(params, etl_hex_number(n));
	cJSON_AddItemToArray(params, cJSON_CreateFalse());
	b = rpc_call(r, "eth_getBlockByNumber", params, check_hash, NULL);
	if (b)
		h = xstrdup(json_str(b, "hash"));
	cJSON_Delete(b);
	cJSON_Delete(params);
	return h;
}

static int
check_string(void *ctx, size_t job, size_t k, const cJSON *v, char **why)
{
	(void)ctx, (void)job, (void)k;
	if (cJSON_IsString(v))
		return 0;
	*why = xstrdup("not a string");
	return -1;
}

/* The day's block range, its end blocks' hashes and the node's version. */
static int
chain_facts(struct etl_args *a, struct lake_run *lr)
{
	struct rpc *r = etl_rpc_open(a);
	cJSON *params, *v;
	int rc;

	if (r == NULL)
		return EX_USAGE;
	rc = etl_date_range(r, lr->date, &lr->start, &lr->end);
	if (rc == 0 && ((lr->first_hash = block_hash(r, lr->start)) == NULL ||
	    (lr->last_hash = block_hash(r, lr->end)) == NULL))
		rc = 1;
	if (rc == 0) {
		params = cJSON_CreateArray();
		v = rpc_call(r, "web3_clientVersion", params, check_string, NULL);
		cJSON_Delete(params);
		lr->client = v ? xstrdup(v->valuestring) : NULL;
		cJSON_Delete(v);
		rc = v ? 0 : 1;
	}
	rpc_close(r);
	return rc;
}

/* Writes the input file a command needs from the input partition. */
static int
fetch_input(struct etl_args *a, struct lake_run *lr)
{
	const struct lake_spec *s = lr->spec;
	char *file = xasprintf("%s.csv", s->in_table);
	int rc;

	lr->input_key = partition_key(s->in_table, lr->date, file);
	lr->input_local = xasprintf("%s/in-%s", lr->tmpdir, file);
	free(file);
	rc = lake_get_file(lr->in, lr->input_key, lr->input_local);
	if (rc == LAKE_NOT_FOUND) {
		char *u = lake_uri(lr->in, lr->input_key);

		log_error("%s: the input partition %s is missing (export it first)", s->cmd, u);
		free(u);
		return EX_DATAERR;
	}
	if (rc != 0)
		return 1;
	if (strcmp(s->in_opt, "transaction-hashes") == 0) {
		/* receipts want a list of hashes: the transactions' hash column */
		struct itemin *in = itemin_open(lr->input_local);
		struct buf list = {0};
		cJSON *it;
		char *path = xasprintf("%s/in-hashes.txt", lr->tmpdir);

		while (in && itemin_next(in, &it) > 0) {
			const char *h = json_str(it, "hash");

			if (h)
				buf_printf(&list, "%s\n", h);
			cJSON_Delete(it);
		}
		itemin_close(in);
		rc = fs_write_atomic(path, list.data ? list.data : "", list.len, 0) < 0 ? 1 : 0;
		buf_free(&list);
		set_opt(a, lr, s->in_opt, path);
		return rc;
	}
	set_opt(a, lr, s->in_opt, xstrdup(lr->input_local));
	return 0;
}

int
etl_lake_supported(const char *cmd)
{
	return spec_of(cmd) != NULL;
}

int
etl_lake_prepare(struct etl_args *a, struct lake_run **out)
{
	const char *date = etl_str(a, "date"), *lake = etl_str(a, "lake");
	const char *olake = etl_str(a, "output-lake");
	struct lake_run *lr = xcalloc(1, sizeof(*lr));
	char tmpl[] = "/tmp/sta-etl.XXXXXX";
	const char *tmp = getenv("TMPDIR");
	int rc;

	*out = lr;
	lr->spec = spec_of(a->cmd->name);
	lr->date = date;
	if (date == NULL)
		return etl_usage_error(a, "--lake needs --date: a lake partition is one day");
	lr->tmpdir = tmp ? xasprintf("%s/sta-etl.XXXXXX", tmp) : xstrdup(tmpl);
	if (mkdtemp(lr->tmpdir) == NULL) {
		log_error("%s: cannot create a temporary folder", lr->tmpdir);
		return 1;
	}
	if ((rc = chain_facts(a, lr)) != 0)
		return rc;
	if (lr->spec->range) {
		set_opt(a, lr, "start-block", xasprintf("%llu", (unsigned long long)lr->start));
		set_opt(a, lr, "end-block", xasprintf("%llu", (unsigned long long)lr->end));
	}
	if (lr->spec->block_opt)
		set_opt(a, lr, lr->spec->block_opt, xasprintf("0x%llx", (unsigned long long)lr->end));
	if (lake == NULL)
		return 0;
	if (*lake == '\0')
		lake = lr->lake_default = default_lake();
	if ((lr->in = lake_open(lake)) == NULL || (lr->out = lake_open(olake ? olake : lake)) == NULL)
		return EX_CONFIG;
	for (int i = 0; i < 2 && lr->spec->out[i].opt; i++) {
		if (etl_str(a, lr->spec->out[i].opt) != NULL)
			continue;	/* named by the user: not a lake output */
		lr->local[i] = xasprintf("%s/%s.csv", lr->tmpdir, lr->spec->out[i].table);
		set_opt(a, lr, lr->spec->out[i].opt, xstrdup(lr->local[i]));
	}
	if (lr->spec->in_opt && etl_str(a, lr->spec->in_opt) == NULL)
		return fetch_input(a, lr);
	return 0;
}

/* sha256 (hex), bytes and item rows of a local file. */
static int
file_facts(const char *path, char hex[65], long long *bytes, long long *rows)
{
	if (lake_sha256_file(path, hex, bytes) != 0)
		return -1;
	*rows = itemin_count(path);
	return *rows < 0 ? -1 : 0;
}

/* Appends one comma-separated piece of an argument to b without the
 * userinfo of a URL in it ("https://user:pass@host/x" -> "https://host/x"). */
static void
append_without_userinfo(struct buf *b, const char *s, size_t len)
{
	const char *scheme = memmem(s, len, "://", 3), *host, *at = NULL;

	if (scheme == NULL) {
		buf_append(b, s, len);
		return;
	}
	host = scheme + 3;
	for (const char *c = host; c < s + len && *c != '/' && *c != '?' && *c != '#'; c++)
		if (*c == '@')
			at = c;		/* the last '@' of the authority ends the userinfo */
	if (at == NULL) {
		buf_append(b, s, len);
	} else {
		buf_append(b, s, (size_t)(host - s));
		buf_append(b, at + 1, (size_t)(s + len - at - 1));
	}
}

/* The command line for the manifest, with credentials removed from every
 * URL, including each of a comma-separated list. */
static cJSON *
command_json(int argc, char **argv)
{
	cJSON *arr = cJSON_CreateArray();

	cJSON_AddItemToArray(arr, cJSON_CreateString("sta"));
	for (int i = 0; i < argc; i++) {
		struct buf clean = {0};
		const char *s = argv[i];

		for (;;) {
			const char *comma = strchr(s, ',');
			size_t len = comma ? (size_t)(comma - s) : strlen(s);

			append_without_userinfo(&clean, s, len);
			if (comma == NULL)
				break;
			buf_putc(&clean, ',');
			s = comma + 1;
		}
		cJSON_AddItemToArray(arr, cJSON_CreateString(clean.data ? clean.data : ""));
		buf_free(&clean);
	}
	return arr;
}

/* The inputs entry of a manifest: the input partition's URI and sha256.
 * 0, or -1 after printing why. */
static int
add_inputs(struct lake_run *lr, cJSON *m)
{
	cJSON *inputs = cJSON_AddArrayToObject(m, "inputs"), *f;
	long long in_bytes, in_rows;
	char sha[65], *u;

	if (file_facts(lr->input_local, sha, &in_bytes, &in_rows) < 0) {
		log_error("%s: cannot read the input partition's copy", lr->input_local);
		return -1;
	}
	f = cJSON_CreateObject();
	u = lake_uri(lr->in, lr->input_key);
	cJSON_AddStringToObject(f, "uri", u);
	cJSON_AddStringToObject(f, "sha256", sha);
	cJSON_AddItemToArray(inputs, f);
	free(u);
	return 0;
}

/* The manifest of output i (caller deletes), or NULL after printing why.
 * sha, rows: the file's. */
static cJSON *
build_manifest(struct lake_run *lr, int i, int argc, char **argv, char sha[65], long long *rows)
{
	const char *table = lr->spec->out[i].table;
	char *file = xasprintf("%s.csv", table);
	cJSON *m = cJSON_CreateObject(), *files, *f;
	long long bytes;

	if (file_facts(lr->local[i], sha, &bytes, rows) < 0) {
		log_error("%s: cannot read the export", lr->local[i]);
		goto fail;
	}
	cJSON_AddStringToObject(m, "format", "sta-partition-manifest/1");
	cJSON_AddStringToObject(m, "table", table);
	cJSON_AddStringToObject(m, "block_date", lr->date);
	cJSON_AddNumberToObject(m, "start_block", (double)lr->start);
	cJSON_AddNumberToObject(m, "end_block", (double)lr->end);
	cJSON_AddStringToObject(m, "first_block_hash", lr->first_hash);
	cJSON_AddStringToObject(m, "last_block_hash", lr->last_hash);
	cJSON_AddStringToObject(m, "node_client_version", lr->client);
	cJSON_AddStringToObject(m, "sta_version", PACKAGE_VERSION);
	cJSON_AddItemToObject(m, "command", command_json(argc, argv));
	files = cJSON_AddArrayToObject(m, "files");
	f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "name", file);
	cJSON_AddStringToObject(f, "sha256", sha);
	cJSON_AddNumberToObject(f, "rows", (double)*rows);
	cJSON_AddNumberToObject(f, "bytes", (double)bytes);
	cJSON_AddItemToArray(files, f);
	if (lr->input_local && add_inputs(lr, m) < 0)
		goto fail;
	free(file);
	return m;
fail:
	cJSON_Delete(m);
	free(file);
	return NULL;
}

/* Writes output i and its manifest.  The old manifest goes first, then the
 * data, then the new manifest that vouches for it: a partition whose
 * rerun fails part-way has no manifest (sta load refuses it, sta verify
 * fails), never new data under an old manifest. */
static int
write_partition(struct lake_run *lr, int i, int argc, char **argv)
{
	const char *table = lr->spec->out[i].table;
	char *file = xasprintf("%s.csv", table), *fkey, *mkey, *text = NULL, *u;
	char sha[65];
	long long rows;
	cJSON *m;
	int rc = -1;

	fkey = partition_key(table, lr->date, file);
	mkey = partition_key(table, lr->date, "manifest.json");
	if ((m = build_manifest(lr, i, argc, argv, sha, &rows)) == NULL)
		goto out;
	if ((text = cJSON_Print(m)) == NULL) {
		log_error("%s %s: out of memory writing the manifest", table, lr->date);
		goto out;
	}
	if (lake_delete(lr->out, mkey) != 0 || lake_put_file(lr->out, fkey, lr->local[i]) != 0 ||
	    lake_put(lr->out, mkey, text, strlen(text)) != 0)
		goto out;
	u = lake_uri(lr->out, fkey);
	printf("STA_RESULT {\"table\": \"%s\", \"block_date\": \"%s\", \"rows\": %lld, "
	    "\"uri\": \"%s\", \"sha256\": \"%s\"}\n", table, lr->date, rows, u, sha);
	free(u);
	rc = 0;
out:
	free(text);
	cJSON_Delete(m);
	free(fkey);
	free(mkey);
	free(file);
	return rc;
}

int
etl_lake_finish(struct lake_run *lr, int rc, int argc, char **argv)
{
	if (lr == NULL)
		return rc;
	for (int i = 0; rc == 0 && i < 2; i++)
		if (lr->local[i] && write_partition(lr, i, argc, argv) < 0)
			rc = 1;
	if (lr->tmpdir) {
		for (int i = 0; i < 2; i++)
			if (lr->local[i])
				unlink(lr->local[i]);
		if (lr->input_local)
			unlink(lr->input_local);
		for (size_t i = 0; i < lr->nowned; i++)
			if (str_has_prefix(lr->owned[i], lr->tmpdir))
				unlink(lr->owned[i]);
		rmdir(lr->tmpdir);
	}
	for (int i = 0; i < 2; i++)
		free(lr->local[i]);
	for (size_t i = 0; i < lr->nowned; i++)
		free(lr->owned[i]);
	free(lr->input_local);
	free(lr->input_key);
	free(lr->tmpdir);
	free(lr->lake_default);
	free(lr->first_hash);
	free(lr->last_hash);
	free(lr->client);
	lake_close(lr->in);
	lake_close(lr->out);
	free(lr);
	return rc;
}
