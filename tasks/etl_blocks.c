/*
 * etl_blocks.c: export_blocks_and_transactions and get_block_range_for_date.
 *
 * Blocks come from eth_getBlockByNumber in batches of --batch-size, with
 * full transactions only when transactions are exported.  Every block is
 * mapped twice: once to check it (a block that does not map cleanly makes
 * the response untrusted, so it is fetched again) and once to write it.
 */
#include "tasks/etl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "tasks/ethval.h"
#include "tasks/rpc.h"

static const char *const block_cols[] = {
	"number", "hash", "parent_hash", "nonce", "sha3_uncles", "logs_bloom",
	"transactions_root", "state_root", "receipts_root", "miner", "difficulty",
	"total_difficulty", "size", "extra_data", "gas_limit", "gas_used", "timestamp",
	"transaction_count", "base_fee_per_gas", "withdrawals_root", "withdrawals",
};
enum { B_NUMBER, B_HASH, B_PARENT, B_NONCE, B_UNCLES, B_BLOOM, B_TXROOT, B_STATEROOT,
	B_RECEIPTSROOT, B_MINER, B_DIFFICULTY, B_TOTALDIFF, B_SIZE, B_EXTRA, B_GASLIMIT,
	B_GASUSED, B_TIMESTAMP, B_TXCOUNT, B_BASEFEE, B_WROOT, B_WITHDRAWALS, B_NCOLS };

static const char *const tx_cols[] = {
	"hash", "nonce", "block_hash", "block_number", "transaction_index", "from_address",
	"to_address", "value", "gas", "gas_price", "input", "block_timestamp",
	"max_fee_per_gas", "max_priority_fee_per_gas", "transaction_type",
};
enum { T_HASH, T_NONCE, T_BLOCKHASH, T_BLOCKNUMBER, T_INDEX, T_FROM, T_TO, T_VALUE,
	T_GAS, T_GASPRICE, T_INPUT, T_TIMESTAMP, T_MAXFEE, T_MAXPRIO, T_TYPE, T_NCOLS };

/* Renders withdrawals as ethereum-etl does: a list of objects with
 * decimal index, validator_index and amount and the address as sent;
 * compact JSON joined by "," in CSV, a JSON array in JSON. */
static int
map_withdrawals(struct row *r, const cJSON *ws)
{
	struct buf csv = {0}, json = {0};
	const cJSON *w;
	int first = 1, rc = 0;

	buf_putc(&json, '[');
	cJSON_ArrayForEach(w, ws) {
		const char *idx = json_str(w, "index"), *val = json_str(w, "validatorIndex");
		const char *addr = json_str(w, "address"), *amount = json_str(w, "amount");
		char *d[3] = {ethval_dec(idx), ethval_dec(val), ethval_dec(amount)};

		if (!d[0] || !d[1] || !d[2] || !addr || ethval_is_data_n(addr, 20) < 0)
			rc = -1;
		else {
			buf_printf(&csv, "%s{\"index\":%s,\"validator_index\":%s,\"address\":",
			    first ? "" : ",", d[0], d[1]);
			json_quote_ascii(&csv, addr);
			buf_printf(&csv, ",\"amount\":%s}", d[2]);
			buf_printf(&json, "%s{\"index\": %s, \"validator_index\": %s, \"address\": ",
			    first ? "" : ", ", d[0], d[1]);
			json_quote_ascii(&json, addr);
			buf_printf(&json, ", \"amount\": %s}", d[2]);
		}
		first = 0;
		for (int i = 0; i < 3; i++)
			free(d[i]);
	}
	buf_putc(&json, ']');
	row_objlist_take(r, B_WITHDRAWALS, buf_detach(&csv), buf_detach(&json));
	return rc;
}

static int
map_block(const cJSON *b, struct row *r, char **why)
{
	const cJSON *txs = cJSON_GetObjectItemCaseSensitive(b, "transactions");
	const cJSON *ws = cJSON_GetObjectItemCaseSensitive(b, "withdrawals");
	static const struct { int col; const char *key; char kind; } f[] = {
		{B_NUMBER, "number", 'd'}, {B_HASH, "hash", 'h'}, {B_PARENT, "parentHash", 'h'},
		{B_NONCE, "nonce", 'h'}, {B_UNCLES, "sha3Uncles", 'h'}, {B_BLOOM, "logsBloom", 'h'},
		{B_TXROOT, "transactionsRoot", 'h'}, {B_STATEROOT, "stateRoot", 'h'},
		{B_RECEIPTSROOT, "receiptsRoot", 'h'}, {B_MINER, "miner", 'a'},
		{B_DIFFICULTY, "difficulty", 'd'}, {B_TOTALDIFF, "totalDifficulty", 'd'},
		{B_SIZE, "size", 'd'}, {B_EXTRA, "extraData", 'h'}, {B_GASLIMIT, "gasLimit", 'd'},
		{B_GASUSED, "gasUsed", 'd'}, {B_TIMESTAMP, "timestamp", 'd'},
		{B_BASEFEE, "baseFeePerGas", 'd'}, {B_WROOT, "withdrawalsRoot", 'h'},
	};

	row_clear(r);
	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		int rc = f[i].kind == 'd' ? cell_dec(r, (size_t)f[i].col, b, f[i].key) :
		    f[i].kind == 'a' ? cell_addr(r, (size_t)f[i].col, b, f[i].key) :
		    cell_hex(r, (size_t)f[i].col, b, f[i].key);

		if (rc < 0) {
			*why = xasprintf("field %s is malformed", f[i].key);
			return -1;
		}
	}
	row_u64(r, B_TXCOUNT, cJSON_IsArray(txs) ? (unsigned long long)cJSON_GetArraySize(txs) : 0);
	if (cJSON_IsArray(ws)) {
		if (map_withdrawals(r, ws) < 0) {
			*why = xstrdup("a withdrawal is malformed");
			return -1;
		}
	} else if (ws != NULL && !cJSON_IsNull(ws)) {
		*why = xstrdup("field withdrawals is not a list");
		return -1;
	} else {
		row_objlist_take(r, B_WITHDRAWALS, xstrdup(""), xstrdup("[]"));
	}
	return 0;
}

static int
map_tx(const cJSON *t, const char *timestamp_dec, struct row *r, char **why)
{
	static const struct { int col; const char *key; char kind; } f[] = {
		{T_HASH, "hash", 'h'}, {T_NONCE, "nonce", 'd'}, {T_BLOCKHASH, "blockHash", 'h'},
		{T_BLOCKNUMBER, "blockNumber", 'd'}, {T_INDEX, "transactionIndex", 'd'},
		{T_FROM, "from", 'a'}, {T_TO, "to", 'a'}, {T_VALUE, "value", 'd'}, {T_GAS, "gas", 'd'},
		{T_GASPRICE, "gasPrice", 'd'}, {T_INPUT, "input", 'h'},
		{T_MAXFEE, "maxFeePerGas", 'd'}, {T_MAXPRIO, "maxPriorityFeePerGas", 'd'},
		{T_TYPE, "type", 'd'},
	};

	row_clear(r);
	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		int rc = f[i].kind == 'd' ? cell_dec(r, (size_t)f[i].col, t, f[i].key) :
		    f[i].kind == 'a' ? cell_addr(r, (size_t)f[i].col, t, f[i].key) :
		    cell_hex(r, (size_t)f[i].col, t, f[i].key);

		if (rc < 0) {
			*why = xasprintf("transaction field %s is malformed", f[i].key);
			return -1;
		}
	}
	row_num(r, T_TIMESTAMP, timestamp_dec);
	return 0;
}

struct blocks_ctx {
	uint64_t start, end, batch;
	int with_txs;
	struct etl_export ex;	/* out[0] blocks, out[1] transactions */
	struct row brow, trow;
	struct pending pending;
};

static cJSON *
blocks_make(void *vctx, size_t job, char **label)
{
	struct blocks_ctx *c = vctx;
	uint64_t first = c->start + job * c->batch;
	uint64_t last = first + c->batch - 1 < c->end ? first + c->batch - 1 : c->end;
	cJSON *reqs = cJSON_CreateArray();

	for (uint64_t n = first; n <= last; n++) {
		cJSON *params = cJSON_CreateArray();

		cJSON_AddItemToArray(params, etl_hex_number(n));
		cJSON_AddItemToArray(params, cJSON_CreateBool(c->with_txs));
		cJSON_AddItemToArray(reqs, etl_request("eth_getBlockByNumber", params));
	}
	*label = xasprintf("blocks %llu-%llu", (unsigned long long)first, (unsigned long long)last);
	return reqs;
}

/* Maps a block (and its transactions) into rows rendered into rd; -1 with
 * *why naming what is wrong. */
static int
blocks_map(struct blocks_ctx *c, uint64_t n, const cJSON *b, struct rendered *rd, char **why)
{
	const cJSON *txs = cJSON_GetObjectItemCaseSensitive(b, "transactions");
	const char *num = json_str(b, "number"), *hash = json_str(b, "hash");
	uint64_t got;
	const cJSON *t;
	char *ts;
	char *err = NULL;

	if (!cJSON_IsObject(b)) {
		*why = xasprintf("block %llu: the node returned %s", (unsigned long long)n,
		    cJSON_IsNull(b) ? "null (not known to it yet?)" : "no block object");
		return -1;
	}
	if (!num || ethval_u64(num, &got) < 0 || got != n || !hash ||
	    ethval_is_data_n(hash, 32) < 0 || !cJSON_IsArray(txs)) {
		*why = xasprintf("block %llu: the answer has a wrong number, hash or transactions list",
		    (unsigned long long)n);
		return -1;
	}
	if (map_block(b, &c->brow, &err) < 0)
		goto bad;
	if (c->ex.out[0])
		pending_row(rd, 0, c->ex.out[0], &c->brow);
	if (!c->with_txs)
		return 0;
	ts = ethval_dec(json_str(b, "timestamp"));
	cJSON_ArrayForEach(t, txs) {
		const char *bh = json_str(t, "blockHash"), *bn = json_str(t, "blockNumber");

		if (!cJSON_IsObject(t) || !bh || strcasecmp(bh, hash) != 0 || !bn ||
		    ethval_u64(bn, &got) < 0 || got != n || !json_str(t, "hash")) {
			err = xstrdup("a transaction is not from this block");
			break;
		}
		if (map_tx(t, ts, &c->trow, &err) < 0)
			break;
		pending_row(rd, 1, c->ex.out[1], &c->trow);
	}
	free(ts);
	if (err == NULL)
		return 0;
bad:
	*why = xasprintf("block %llu: %s", (unsigned long long)n, err);
	free(err);
	return -1;
}

static int
blocks_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct blocks_ctx *c = vctx;
	struct rendered *rd = pending_at(&c->pending, job, k == 0);

	return blocks_map(c, c->start + job * c->batch + k, result, rd, why);
}

static int
blocks_done(void *vctx, size_t job, cJSON *results[], size_t n)
{
	struct blocks_ctx *c = vctx;
	(void)results;
	progress_add(c->ex.progress, n);
	return pending_flush(&c->pending, job, c->ex.out, 2);
}

static int
run_export_blocks(struct etl_args *a)
{
	struct blocks_ctx c = {0};
	const char *bpath = etl_str(a, "blocks-output"), *tpath = etl_str(a, "transactions-output");
	int rc;

	if ((rc = etl_block_range(a, &c.start, &c.end, &c.batch)) != 0)
		return rc;
	if (bpath == NULL && tpath == NULL)
		return etl_usage_error(a, "either --blocks-output or --transactions-output must be given");
	c.with_txs = tpath != NULL;
	row_init(&c.brow, B_NCOLS);
	row_init(&c.trow, T_NCOLS);
	c.ex = (struct etl_export){.nout = 2, .names = {"blocks", "transactions"},
	    .paths = {bpath, tpath}, .cols = {block_cols, tx_cols}, .ncols = {B_NCOLS, T_NCOLS},
	    .what = "blocks", .total = c.end - c.start + 1,
	    .work = {(size_t)((c.end - c.start) / c.batch + 1), blocks_make, blocks_check,
	    blocks_done, &c, 0}};
	rc = etl_export(a, &c.ex);
	row_free(&c.brow);
	row_free(&c.trow);
	pending_free(&c.pending);
	return rc;
}

static const struct etl_opt export_blocks_opts[] = {
	ETL_OPT_START, ETL_OPT_END, ETL_OPT_BATCH, ETL_OPT_PROVIDER, ETL_OPT_WORKERS,
	{"blocks-output", 0, OPT_STR, NULL, "Blocks file (.csv or .json); - for stdout"},
	{"transactions-output", 0, OPT_STR, NULL, "Transactions file (.csv or .json)"},
	ETL_OPT_CHAIN, ETL_OPT_DATE, ETL_OPT_LAKE,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_export_blocks = {
	"export_blocks_and_transactions",
	"Exports blocks and transactions.",
	export_blocks_opts, run_export_blocks,
};

/* ---- get_block_range_for_date ---- */

/* ctx: the number of the block asked for, UINT64_MAX for the latest. */
static int
check_block_ts(void *ctx, size_t job, size_t k, const cJSON *b, char **why)
{
	const uint64_t *want = ctx;
	uint64_t v;

	(void)job, (void)k;
	if (!cJSON_IsObject(b) || ethval_u64(json_str(b, "timestamp"), &v) < 0 ||
	    ethval_u64(json_str(b, "number"), &v) < 0 || (*want != UINT64_MAX && v != *want)) {
		*why = xstrdup("block without a number or timestamp, or not the block asked for");
		return -1;
	}
	return 0;
}

/* Fetches block n ("latest" when n is UINT64_MAX): number and timestamp. */
static int
block_point(struct rpc *r, uint64_t n, uint64_t *num, uint64_t *ts)
{
	cJSON *params = cJSON_CreateArray();
	cJSON *b;

	cJSON_AddItemToArray(params, n == UINT64_MAX ? cJSON_CreateString("latest") : etl_hex_number(n));
	cJSON_AddItemToArray(params, cJSON_CreateFalse());
	b = rpc_call(r, "eth_getBlockByNumber", params, check_block_ts, &n);
	cJSON_Delete(params);
	if (b == NULL)
		return -1;
	ethval_u64(json_str(b, "number"), num);
	ethval_u64(json_str(b, "timestamp"), ts);
	cJSON_Delete(b);
	return 0;
}

/* The first block in [lo, hi] whose timestamp is >= ts (hi + 1 if none);
 * block timestamps increase with the number. */
static int
first_block_at(struct rpc *r, uint64_t lo, uint64_t hi, int64_t ts, uint64_t *out)
{
	uint64_t end = hi + 1;

	while (lo < end) {
		uint64_t mid = lo + (end - lo) / 2, num, t;

		if (block_point(r, mid, &num, &t) < 0)
			return -1;
		if ((int64_t)t >= ts)
			end = mid;
		else
			lo = mid + 1;
	}
	*out = lo;
	return 0;
}

int
etl_date_range(struct rpc *r, const char *date, uint64_t *start, uint64_t *end)
{
	sta_time day;
	uint64_t latest, latest_ts, after, num, ts1;

	if (date == NULL || strlen(date) != 10 || time_parse(date, &day) < 0) {
		log_error("'%s' is not a date YYYY-MM-DD", date ? date : "");
		return EX_USAGE;
	}
	/* As ethereum-etl: blocks whose timestamps fall in [00:00:00,
	 * 23:59:59] UTC of the date; the genesis block goes with block 1, and
	 * the chain must reach past the end of the day. */
	if (block_point(r, UINT64_MAX, &latest, &latest_ts) < 0 ||
	    (latest >= 1 && block_point(r, 1, &num, &ts1) < 0))
		return 1;
	if (latest < 1 || (int64_t)latest_ts < day + 86399) {
		log_error("%s: the chain's latest block %llu (timestamp %llu) does not cover the whole "
		    "day", date, (unsigned long long)latest, (unsigned long long)latest_ts);
		return EX_DATAERR;
	}
	if (first_block_at(r, 1, latest, day, start) < 0 ||
	    first_block_at(r, 1, latest, day + 86400, &after) < 0)
		return 1;
	if (after <= *start) {
		log_error("%s: no block has a timestamp in that day", date);
		return EX_DATAERR;
	}
	if (*start == 1)
		*start = 0;
	*end = after - 1;
	return 0;
}

static int
run_block_range_for_date(struct etl_args *a)
{
	const char *opath = etl_str(a, "output");
	struct rpc *r;
	uint64_t start, end;
	int rc;
	char line[64];

	if ((r = etl_rpc_open(a)) == NULL)
		return EX_USAGE;
	if ((rc = etl_date_range(r, etl_str(a, "date"), &start, &end)) != 0)
		goto out;
	snprintf(line, sizeof(line), "%llu,%llu\n", (unsigned long long)start, (unsigned long long)end);
	if (strcmp(opath, "-") == 0) {
		fputs(line, stdout);
		fflush(stdout);
	} else if (fs_write_atomic(opath, line, strlen(line), 1) < 0) {
		log_error("%s: cannot write", opath);
		rc = 1;
	}
out:
	rpc_close(r);
	return rc;
}

static const struct etl_opt block_range_opts[] = {
	ETL_OPT_PROVIDER,
	{"date", 'd', OPT_STR, NULL, "The date, YYYY-MM-DD (UTC)"},
	{"output", 'o', OPT_STR, "-", "Output file: one line start_block,end_block"},
	ETL_OPT_CHAIN,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_get_block_range_for_date = {
	"get_block_range_for_date",
	"Outputs the start and end blocks of a UTC date.",
	block_range_opts, run_block_range_for_date,
};
