/*
 * etl_receipts.c: export_receipts_and_logs, and the ERC-20/ERC-721
 * Transfer event as token transfers: extract_token_transfers (from a logs
 * file) and export_token_transfers (eth_getLogs over a block range).
 */
#include "tasks/etl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "lib/log.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tasks/rpc.h"

#define TRANSFER_TOPIC "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

static const char *const receipt_cols[] = {
	"transaction_hash", "transaction_index", "block_hash", "block_number",
	"cumulative_gas_used", "gas_used", "contract_address", "root", "status",
	"effective_gas_price", "l1_fee", "l1_gas_used", "l1_gas_price", "l1_fee_scalar",
};
enum { R_HASH, R_INDEX, R_BLOCKHASH, R_BLOCKNUMBER, R_CUMGAS, R_GASUSED, R_CONTRACT,
	R_ROOT, R_STATUS, R_EFFPRICE, R_L1FEE, R_L1GAS, R_L1PRICE, R_L1SCALAR, R_NCOLS };

static const char *const log_cols[] = {
	"log_index", "transaction_hash", "transaction_index", "block_hash", "block_number",
	"address", "data", "topics",
};
enum { L_INDEX, L_TXHASH, L_TXINDEX, L_BLOCKHASH, L_BLOCKNUMBER, L_ADDRESS, L_DATA,
	L_TOPICS, L_NCOLS };

static const char *const transfer_cols[] = {
	"token_address", "from_address", "to_address", "value", "transaction_hash",
	"log_index", "block_number",
};
enum { X_TOKEN, X_FROM, X_TO, X_VALUE, X_TXHASH, X_LOGINDEX, X_BLOCKNUMBER, X_NCOLS };

/* Receipts and logs are rendered straight from the parsed response, each
 * field checked as it is written.  The members of a receipt and a log the
 * export reads, the columns' first and in column order, with how each is
 * checked and converted: 'd' quantity to decimal, 'h' hex data, 'a'
 * address (lower-cased), 'f' l1FeeScalar as Python's float. */
static const struct rpc_key receipt_keys[] = {
	RPC_KEY("transactionHash"), RPC_KEY("transactionIndex"), RPC_KEY("blockHash"),
	RPC_KEY("blockNumber"), RPC_KEY("cumulativeGasUsed"), RPC_KEY("gasUsed"),
	RPC_KEY("contractAddress"), RPC_KEY("root"), RPC_KEY("status"),
	RPC_KEY("effectiveGasPrice"), RPC_KEY("l1Fee"), RPC_KEY("l1GasUsed"),
	RPC_KEY("l1GasPrice"), RPC_KEY("l1FeeScalar"), RPC_KEY("logs"),
};
static const char receipt_kinds[R_NCOLS + 1] = "hdhdddahdddddf";
enum { RK_HASH = 0, RK_BLOCKHASH = 2, RK_BLOCKNUMBER = 3, RK_LOGS = R_NCOLS, RK_N };

static const struct rpc_key log_keys[] = {
	RPC_KEY("logIndex"), RPC_KEY("transactionHash"), RPC_KEY("transactionIndex"),
	RPC_KEY("blockHash"), RPC_KEY("blockNumber"), RPC_KEY("address"), RPC_KEY("data"),
	RPC_KEY("topics"),
};
static const char log_kinds[L_TOPICS + 1] = "dhdhdah";
enum { LK_TXHASH = 1, LK_ADDRESS = 5, LK_DATA = 6, LK_TOPICS = L_TOPICS, LK_N };

/* A member as a field: *out NULL when absent or null; -1 when present but
 * not a string (or one holding a NUL). */
static int
val_field(const struct rpc_val *v, const char **out)
{
	*out = NULL;
	if (v == NULL || v->type == RPC_NULL)
		return 0;
	if (v->type != RPC_STRING || v->nul)
		return -1;
	*out = v->s;
	return 0;
}

/* The string value of a member, or NULL (json_str for parsed values). */
static const char *
val_str(const struct rpc_val *v)
{
	const char *s;

	return val_field(v, &s) == 0 ? s : NULL;
}

/* Checks and renders member v of the kind given as the cursor's next
 * cell; -1 if it is malformed.  dec is scratch space for decimals. */
static int
put_field(struct itemout_cursor *cur, const struct rpc_val *v, char kind, struct buf *dec)
{
	const char *s;
	char addr[43], *f;

	if (kind == 'f') {
		/* as before: only a string is read, anything else is null */
		if ((s = val_str(v)) == NULL) {
			itemout_put_null(cur);
			return 0;
		}
		if ((f = ethval_py_float(s)) == NULL)
			return -1;
		itemout_put_num(cur, f);
		free(f);
		return 0;
	}
	if (val_field(v, &s) < 0)
		return -1;
	if (s == NULL) {
		itemout_put_null(cur);
		return 0;
	}
	/* Once checked, hex and decimal digits never need quoting. */
	switch (kind) {
	case 'd':
		buf_reset(dec);
		if (ethval_hex_to_dec(dec, s) < 0)
			return -1;
		itemout_put_plain(cur, dec->data, dec->len, 1);
		return 0;
	case 'a':
		if (ethval_is_data_n(s, 20) < 0)
			return -1;
		for (size_t i = 0; i < sizeof(addr); i++)
			addr[i] = (char)tolower((unsigned char)s[i]);
		itemout_put_plain(cur, addr, sizeof(addr) - 1, 0);
		return 0;
	default:
		if (ethval_is_data(s) < 0)
			return -1;
		itemout_put_plain(cur, s, v->len, 0);
		return 0;
	}
}

/* Renders a receipt (its members v, receipt_keys) as a row of o into b
 * (o NULL: checks only). */
static int
render_receipt(const struct itemout *o, struct buf *b, const struct rpc_val *const v[],
    struct buf *dec, char **why)
{
	struct itemout_cursor cur;

	itemout_row_begin(o, b, &cur);
	for (size_t i = 0; i < R_NCOLS; i++) {
		if (put_field(&cur, v[i], receipt_kinds[i], dec) < 0) {
			*why = receipt_kinds[i] == 'f' ?
			    xstrdup("receipt field l1FeeScalar is not a number") :
			    xasprintf("receipt field %s is malformed", receipt_keys[i].name);
			return -1;
		}
	}
	itemout_row_end(&cur);
	return 0;
}

/* Renders a log (its members v, log_keys) as a row of o into b (o NULL:
 * checks only). */
static int
render_log(const struct itemout *o, struct buf *b, const struct rpc_val *const v[],
    struct buf *dec, char **why)
{
	const struct rpc_val *topics = v[LK_TOPICS], *t;
	struct itemout_cursor cur;
	uint32_t i;

	itemout_row_begin(o, b, &cur);
	for (size_t k = 0; k < L_TOPICS; k++) {
		if (put_field(&cur, v[k], log_kinds[k], dec) < 0) {
			*why = xasprintf("log field %s is malformed", log_keys[k].name);
			return -1;
		}
	}
	if (topics == NULL || topics->type != RPC_ARRAY || !val_str(v[LK_DATA]) ||
	    !val_str(v[LK_ADDRESS])) {
		*why = xstrdup("log without address, data or topics");
		return -1;
	}
	itemout_list_begin(&cur, 0);
	RPC_VAL_FOREACH(t, i, topics) {
		if (t->type != RPC_STRING || ethval_is_data_n(t->s, 32) < 0) {
			*why = xstrdup("log topic is not a 32-byte word");
			return -1;
		}
		itemout_list_item(&cur, t->s);
	}
	itemout_list_end(&cur);
	itemout_row_end(&cur);
	return 0;
}

/* ethereum-etl's word_to_address: the last 40 hex digits of a word, or the
 * word itself when shorter. */
static char *
word_to_address(const char *w)
{
	size_t n = strlen(w);
	char *a = n >= 40 ? xasprintf("0x%s", w + n - 40) : xstrdup(w);

	for (char *p = a; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return a;
}

/* A log as the transfer extractor sees it, from JSON-RPC or an item file. */
struct log_view {
	const char *address, *data, *tx_hash, *log_index, *block_number;
	struct strv topics;
};

/* Fills a token-transfer row from a log when it is a Transfer event.
 * Returns 1 when it is one, 0 when not, -1 for a Transfer event whose
 * topics and data do not make four words (counted and reported). */
static int
transfer_from_log(const struct log_view *l, struct row *r)
{
	struct strv words = {0};
	int rc = 0;

	if (l->topics.n < 1 || strcasecmp(l->topics.v[0], TRANSFER_TOPIC) != 0)
		return 0;
	for (size_t i = 0; i < l->topics.n; i++)
		strv_push(&words, l->topics.v[i]);
	if (l->data == NULL || ethval_split_words(l->data, &words) < 0 || words.n != 4) {
		rc = -1;
		goto out;
	}
	row_clear(r);
	row_str(r, X_TOKEN, l->address);
	for (char *p = r->cells[X_TOKEN].s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r->cells[X_FROM] = (struct cell){.kind = CELL_STR, .s = word_to_address(words.v[1])};
	r->cells[X_TO] = (struct cell){.kind = CELL_STR, .s = word_to_address(words.v[2])};
	row_num_take(r, X_VALUE, ethval_dec(words.v[3]));
	if (r->cells[X_VALUE].kind != CELL_NUM) {
		rc = -1;
		goto out;
	}
	row_str(r, X_TXHASH, l->tx_hash);
	row_num(r, X_LOGINDEX, l->log_index);
	row_num(r, X_BLOCKNUMBER, l->block_number);
	rc = 1;
out:
	strv_free(&words);
	return rc;
}

/* A log from JSON-RPC as a log_view; the decimal strings are allocated
 * into dec[2] (caller frees). */
static void
rpc_log_view(const cJSON *l, struct log_view *v, char *dec[2])
{
	const cJSON *t;

	memset(v, 0, sizeof(*v));
	v->address = json_str(l, "address");
	v->data = json_str(l, "data");
	v->tx_hash = json_str(l, "transactionHash");
	dec[0] = ethval_dec(json_str(l, "logIndex"));
	dec[1] = ethval_dec(json_str(l, "blockNumber"));
	v->log_index = dec[0];
	v->block_number = dec[1];
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(l, "topics"))
		if (cJSON_IsString(t))
			strv_push(&v->topics, t->valuestring);
}

/* ---- export_receipts_and_logs ---- */

/* Transaction hashes as read: n of them, each HASH_SIZE bytes with its
 * NUL, in one allocation. */
#define HASH_SIZE 67
struct hashes {
	char *v;
	size_t n, cap;
};

static const char *
hash_at(const struct hashes *h, size_t i)
{
	return h->v + i * HASH_SIZE;
}

struct receipts_ctx {
	struct hashes hashes;
	uint64_t batch;
	struct etl_export ex;	/* out[0] receipts, out[1] logs */
	struct buf dec;
	struct pending pending;
};

static void
receipts_write(void *vctx, size_t job, struct rpc_batch *b, char **label)
{
	struct receipts_ctx *c = vctx;
	size_t first = job * c->batch, last = first + c->batch;
	char params[HASH_SIZE + 4] = "[\"";

	if (last > c->hashes.n)
		last = c->hashes.n;
	for (size_t i = first; i < last; i++) {
		/* ["0x...."]: hashes are checked as they are read */
		memcpy(params + 2, hash_at(&c->hashes, i), HASH_SIZE - 1);
		memcpy(params + 2 + HASH_SIZE - 1, "\"]", 3);
		rpc_batch_add(b, "eth_getTransactionReceipt", params);
	}
	*label = xasprintf("receipts of transactions %zu-%zu (%s...)", first, last - 1,
	    hash_at(&c->hashes, first));
}

/* Checks the receipt of transaction hash and renders it and its logs
 * into rd; on failure nothing of it is left in rd. */
static int
receipt_map(struct receipts_ctx *c, const char *hash, const struct rpc_val *t,
    struct rendered *rd, char **why)
{
	const struct rpc_val *v[RK_N], *lv[LK_N], *logs, *l;
	const char *h;
	size_t mark[2] = {rd->text[0].len, rd->text[1].len};
	char *err = NULL;
	uint32_t i;

	rpc_val_pick(t, receipt_keys, RK_N, v);
	logs = v[RK_LOGS];
	h = val_str(v[RK_HASH]);
	if (t->type != RPC_OBJECT || !h || strcasecmp(h, hash) != 0 || logs == NULL ||
	    logs->type != RPC_ARRAY || !val_str(v[RK_BLOCKNUMBER]) || !val_str(v[RK_BLOCKHASH])) {
		*why = xasprintf("transaction %s: %s", hash, t->type == RPC_NULL ?
		    "the node has no receipt for it (unknown or pending?)" :
		    "the receipt answers another transaction or lacks block or logs");
		return -1;
	}
	if (render_receipt(c->ex.out[0], &rd->text[0], v, &c->dec, &err) < 0)
		goto bad;
	RPC_VAL_FOREACH(l, i, logs) {
		const char *lh;

		rpc_val_pick(l, log_keys, LK_N, lv);
		lh = val_str(lv[LK_TXHASH]);
		if (!lh || strcasecmp(lh, hash) != 0) {
			err = xstrdup("a log belongs to another transaction");
			goto bad;
		}
		if (render_log(c->ex.out[1], &rd->text[1], lv, &c->dec, &err) < 0)
			goto bad;
	}
	rd->rows[0] += c->ex.out[0] != NULL;
	rd->rows[1] += c->ex.out[1] ? logs->len : 0;
	return 0;
bad:
	for (int k = 0; k < 2; k++)
		if (rd->text[k].data) {
			rd->text[k].len = mark[k];
			rd->text[k].data[mark[k]] = '\0';
		}
	*why = xasprintf("transaction %s: %s", hash, err);
	free(err);
	return -1;
}

static int
receipts_check(void *vctx, size_t job, size_t k, const struct rpc_val *result, char **why)
{
	struct receipts_ctx *c = vctx;
	struct rendered *rd = pending_at(&c->pending, job, k == 0);

	return receipt_map(c, hash_at(&c->hashes, job * c->batch + k), result, rd, why);
}

static int
receipts_done(void *vctx, size_t job, const struct rpc_val *const results[], size_t n)
{
	struct receipts_ctx *c = vctx;

	(void)results;
	progress_add(c->ex.progress, n);
	return pending_flush(&c->pending, job, c->ex.out, 2);
}

/* Reads transaction hashes, one per line; blank lines are skipped. */
static int
read_hashes(const char *path, struct hashes *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int rc = 0;

	if (f == NULL) {
		log_error("%s: cannot open", path);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char *s = line, *e;

		lineno++;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*s == '\0')
			continue;
		if (ethval_is_data_n(s, 32) < 0) {
			log_error("%s:%zu: '%s' is not a transaction hash (0x + 64 hex digits)", path,
			    lineno, s);
			rc = -1;
			break;
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 1024;
			out->v = xreallocarray(out->v, out->cap, HASH_SIZE);
		}
		memcpy(out->v + out->n++ * HASH_SIZE, s, HASH_SIZE);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int
run_export_receipts(struct etl_args *a)
{
	struct receipts_ctx c = {0};
	const char *rpath = etl_str(a, "receipts-output"), *lpath = etl_str(a, "logs-output");
	const char *hpath = etl_str(a, "transaction-hashes");
	int rc;

	if (hpath == NULL)
		return etl_usage_error(a, "missing option -t/--transaction-hashes");
	if (rpath == NULL && lpath == NULL)
		return etl_usage_error(a, "either --receipts-output or --logs-output must be given");
	c.batch = (uint64_t)etl_int(a, "batch-size");
	if (c.batch == 0 || etl_int(a, "max-workers") < 1)
		return etl_usage_error(a, "--batch-size and --max-workers must be at least 1");
	if (read_hashes(hpath, &c.hashes) < 0) {
		free(c.hashes.v);
		return EX_DATAERR;
	}
	c.ex = (struct etl_export){.nout = 2, .names = {"receipts", "logs"}, .paths = {rpath, lpath},
	    .cols = {receipt_cols, log_cols}, .ncols = {R_NCOLS, L_NCOLS}, .what = "receipts",
	    .total = c.hashes.n, .vwork = {(c.hashes.n + c.batch - 1) / c.batch, receipts_write,
	    receipts_check, receipts_done, &c}};
	rc = etl_export(a, &c.ex);
	buf_free(&c.dec);
	pending_free(&c.pending);
	free(c.hashes.v);
	return rc;
}

static const struct etl_opt export_receipts_opts[] = {
	ETL_OPT_BATCH,
	{"transaction-hashes", 't', OPT_STR, NULL, "File with one transaction hash per line"},
	ETL_OPT_PROVIDER, ETL_OPT_WORKERS,
	{"receipts-output", 0, OPT_STR, NULL, "Receipts file (.csv or .json)"},
	{"logs-output", 0, OPT_STR, NULL, "Logs file (.csv or .json)"},
	ETL_OPT_CHAIN, ETL_OPT_DATE, ETL_OPT_LAKE,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_export_receipts = {
	"export_receipts_and_logs",
	"Exports receipts and logs of the given transactions.",
	export_receipts_opts, run_export_receipts,
};

/* ---- extract_token_transfers ---- */

/* An item-file log as a log_view: topics are a list (JSON) or a
 * comma-separated string (CSV). */
static void
item_log_view(const cJSON *it, struct log_view *v)
{
	const cJSON *topics = cJSON_GetObjectItemCaseSensitive(it, "topics"), *t;
	const cJSON *li = cJSON_GetObjectItemCaseSensitive(it, "log_index");
	const cJSON *bn = cJSON_GetObjectItemCaseSensitive(it, "block_number");

	memset(v, 0, sizeof(*v));
	v->address = json_str(it, "address");
	v->data = json_str(it, "data");
	v->tx_hash = json_str(it, "transaction_hash");
	v->log_index = cJSON_IsString(li) ? li->valuestring : NULL;
	v->block_number = cJSON_IsString(bn) ? bn->valuestring : NULL;
	if (cJSON_IsString(topics)) {
		char *list = xstrdup(topics->valuestring), *save = NULL;

		for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
			strv_push(&v->topics, p);
		free(list);
	} else {
		cJSON_ArrayForEach(t, topics)
			if (cJSON_IsString(t))
				strv_push(&v->topics, t->valuestring);
	}
}

/* One log of a logs file: its transfer, if it is one. */
static int
transfer_item(void *ctx, const cJSON *it, struct itemout *out, char **why)
{
	struct row *row = ctx;
	struct log_view v;
	const cJSON *li = cJSON_GetObjectItemCaseSensitive(it, "log_index");
	const cJSON *bn = cJSON_GetObjectItemCaseSensitive(it, "block_number");
	char lbuf[32], nbuf[32];
	int t;

	item_log_view(it, &v);
	/* JSON files hold numbers where CSV files hold their text. */
	if (cJSON_IsNumber(li)) {
		snprintf(lbuf, sizeof(lbuf), "%.0f", li->valuedouble);
		v.log_index = lbuf;
	}
	if (cJSON_IsNumber(bn)) {
		snprintf(nbuf, sizeof(nbuf), "%.0f", bn->valuedouble);
		v.block_number = nbuf;
	}
	t = transfer_from_log(&v, row);
	strv_free(&v.topics);
	if (t < 0) {
		*why = xstrdup("a Transfer event whose topics and data are not 4 words (not a standard "
		    "ERC-20/721 transfer)");
		return 1;
	}
	return t > 0 && itemout_write(out, row) < 0 ? -1 : 0;
}

static int
run_extract_token_transfers(struct etl_args *a)
{
	struct row row;
	int rc;

	row_init(&row, X_NCOLS);
	rc = etl_extract(a, etl_str(a, "logs"), etl_str(a, "output"), "token_transfers",
	    transfer_cols, X_NCOLS, transfer_item, &row);
	row_free(&row);
	return rc;
}

static const struct etl_opt extract_transfers_opts[] = {
	{"logs", 'l', OPT_STR, NULL, "Logs file (.csv or .json) from export_receipts_and_logs"},
	ETL_OPT_BATCH, ETL_OPT_WORKERS,
	{"output", 'o', OPT_STR, NULL, "Token transfers file (.csv or .json)"},
	ETL_OPT_CHAIN, ETL_OPT_DATE, ETL_OPT_LAKE, ETL_OPT_PROVIDER,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_extract_token_transfers = {
	"extract_token_transfers",
	"Extracts ERC-20/ERC-721 transfers from a logs file.",
	extract_transfers_opts, run_extract_token_transfers,
};

/* ---- export_token_transfers ---- */

struct transfers_ctx {
	uint64_t start, end, batch;
	struct strv tokens;
	struct etl_export ex;
	struct row row;
	unsigned long long bad;
};

static cJSON *
transfers_make(void *vctx, size_t job, char **label)
{
	struct transfers_ctx *c = vctx;
	uint64_t first = c->start + job * c->batch;
	uint64_t last = first + c->batch - 1 < c->end ? first + c->batch - 1 : c->end;
	cJSON *reqs = cJSON_CreateArray(), *params = cJSON_CreateArray();
	cJSON *filter = cJSON_CreateObject(), *topics = cJSON_CreateArray();

	cJSON_AddItemToObject(filter, "fromBlock", etl_hex_number(first));
	cJSON_AddItemToObject(filter, "toBlock", etl_hex_number(last));
	cJSON_AddItemToArray(topics, cJSON_CreateString(TRANSFER_TOPIC));
	cJSON_AddItemToObject(filter, "topics", topics);
	if (c->tokens.n > 0) {
		cJSON *addr = cJSON_CreateArray();

		for (size_t i = 0; i < c->tokens.n; i++)
			cJSON_AddItemToArray(addr, cJSON_CreateString(c->tokens.v[i]));
		cJSON_AddItemToObject(filter, "address", addr);
	}
	cJSON_AddItemToArray(params, filter);
	cJSON_AddItemToArray(reqs, etl_request("eth_getLogs", params));
	*label = xasprintf("Transfer logs of blocks %llu-%llu", (unsigned long long)first,
	    (unsigned long long)last);
	return reqs;
}

static int
transfers_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct transfers_ctx *c = vctx;
	uint64_t first = c->start + job * c->batch, last = first + c->batch - 1, n;
	const cJSON *l;

	(void)k;
	if (!cJSON_IsArray(result)) {
		*why = xstrdup("eth_getLogs did not return a list");
		return -1;
	}
	cJSON_ArrayForEach(l, result) {
		if (ethval_u64(json_str(l, "blockNumber"), &n) < 0 || n < first || n > last ||
		    ethval_is_quantity(json_str(l, "logIndex")) < 0 ||
		    ethval_is_data_n(json_str(l, "transactionHash"), 32) < 0 ||
		    ethval_is_data_n(json_str(l, "address"), 20) < 0) {
			*why = xstrdup("a log is outside the range or lacks block, index, transaction "
			    "or address");
			return -1;
		}
	}
	return 0;
}

static int
transfers_done(void *vctx, size_t job, cJSON *results[], size_t n)
{
	struct transfers_ctx *c = vctx;
	const cJSON *l;
	uint64_t first = c->start + job * c->batch;
	uint64_t last = first + c->batch - 1 < c->end ? first + c->batch - 1 : c->end;

	(void)n;
	cJSON_ArrayForEach(l, results[0]) {
		struct log_view v;
		char *dec[2];
		int t;

		rpc_log_view(l, &v, dec);
		t = transfer_from_log(&v, &c->row);
		if (t < 0 && c->bad++ < 10)
			log_warn("transaction %s log %s: a Transfer event whose topics and data are "
			    "not 4 words; skipped", v.tx_hash, dec[0]);
		strv_free(&v.topics);
		free(dec[0]);
		free(dec[1]);
		if (t > 0 && itemout_write(c->ex.out[0], &c->row) < 0)
			return -1;
	}
	progress_add(c->ex.progress, last - first + 1);
	return 0;
}

static int
run_export_token_transfers(struct etl_args *a)
{
	struct transfers_ctx c = {0};
	const char *opath = etl_str(a, "output"), *tokens = etl_str(a, "tokens");
	int rc;

	if ((rc = etl_block_range(a, &c.start, &c.end, &c.batch)) != 0)
		return rc;
	if (opath == NULL)
		return etl_usage_error(a, "missing option -o/--output");
	if (tokens) {
		char *list = xstrdup(tokens), *save = NULL;

		for (char *p = strtok_r(list, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
			char *addr = ethval_address(p);

			if (addr == NULL) {
				free(list);
				strv_free(&c.tokens);
				return etl_usage_error(a, "--tokens: '%s' is not an address", p);
			}
			strv_push_take(&c.tokens, addr);
		}
		free(list);
	}
	row_init(&c.row, X_NCOLS);
	c.ex = (struct etl_export){.nout = 1, .names = {"token_transfers"}, .paths = {opath},
	    .cols = {transfer_cols}, .ncols = {X_NCOLS}, .what = "blocks",
	    .total = c.end - c.start + 1, .work = {(size_t)((c.end - c.start) / c.batch + 1),
	    transfers_make, transfers_check, transfers_done, &c, 0}};
	rc = etl_export(a, &c.ex);
	if (c.bad)
		log_warn("%llu Transfer events skipped as malformed", c.bad);
	row_free(&c.row);
	strv_free(&c.tokens);
	return rc;
}

static const struct etl_opt export_transfers_opts[] = {
	ETL_OPT_START, ETL_OPT_END, ETL_OPT_BATCH,
	{"output", 'o', OPT_STR, NULL, "Token transfers file (.csv or .json)"},
	ETL_OPT_WORKERS, ETL_OPT_PROVIDER,
	{"tokens", 't', OPT_LIST, NULL, "Only these token addresses (comma-separated)"},
	ETL_OPT_CHAIN, ETL_OPT_DATE, ETL_OPT_LAKE,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_export_token_transfers = {
	"export_token_transfers",
	"Exports ERC-20/ERC-721 transfers of a block range (eth_getLogs).",
	export_transfers_opts, run_export_token_transfers,
};
