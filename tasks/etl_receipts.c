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

/* The receipt's members by column, then those checked besides; their
 * kinds for put_field ('d' quantity, 'h' hex data, 'a' address). */
static const struct json_key receipt_keys[] = {
	JSON_KEY("transactionHash"), JSON_KEY("transactionIndex"), JSON_KEY("blockHash"),
	JSON_KEY("blockNumber"), JSON_KEY("cumulativeGasUsed"), JSON_KEY("gasUsed"),
	JSON_KEY("contractAddress"), JSON_KEY("root"), JSON_KEY("status"),
	JSON_KEY("effectiveGasPrice"), JSON_KEY("l1Fee"), JSON_KEY("l1GasUsed"),
	JSON_KEY("l1GasPrice"), JSON_KEY("l1FeeScalar"), JSON_KEY("logs"),
};
static const char receipt_kinds[R_L1SCALAR + 1] = "hdhdddahddddd";
enum { RK_LOGS = R_NCOLS };

static const struct json_key log_keys[] = {
	JSON_KEY("logIndex"), JSON_KEY("transactionHash"), JSON_KEY("transactionIndex"),
	JSON_KEY("blockHash"), JSON_KEY("blockNumber"), JSON_KEY("address"), JSON_KEY("data"),
	JSON_KEY("topics"),
};
static const char log_kinds[L_TOPICS + 1] = "dhdhdah";
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

struct receipts_ctx {
	struct strv hashes;
	uint64_t batch;
	struct etl_export ex;	/* out[0] receipts, out[1] logs */
	struct pending pending;
	struct buf tmp;		/* put_field's */
	char *err;		/* render_log's last message */
};

static cJSON *
receipts_make(void *vctx, size_t job, char **label)
{
	struct receipts_ctx *c = vctx;
	size_t first = job * c->batch, last = first + c->batch;
	cJSON *reqs = cJSON_CreateArray();

	if (last > c->hashes.n)
		last = c->hashes.n;
	for (size_t i = first; i < last; i++) {
		cJSON *params = cJSON_CreateArray();

		cJSON_AddItemToArray(params, cJSON_CreateString(c->hashes.v[i]));
		cJSON_AddItemToArray(reqs, etl_request("eth_getTransactionReceipt", params));
	}
	*label = xasprintf("receipts of transactions %zu-%zu (%s...)", first, last - 1,
	    c->hashes.v[first]);
	return reqs;
}

/* Whether topics is a list of 32-byte words, as a log's must be. */
static int
topics_ok(const cJSON *topics)
{
	const cJSON *t;

	if (!cJSON_IsArray(topics))
		return 0;
	cJSON_ArrayForEach(t, topics)
		if (!cJSON_IsString(t) || ethval_is_data_n(t->valuestring, 32) < 0)
			return 0;
	return 1;
}

/* Renders one log of the receipt of hash, checked, to the cursor's
 * buffer; NULL or why not. */
static const char *
render_log(struct receipts_ctx *c, const char *hash, const cJSON *l, struct itemout_cursor *cur)
{
	const cJSON *f[ARRAY_LEN(log_keys)], *t;

	json_pick(l, log_keys, ARRAY_LEN(log_keys), f);
	if (!cJSON_IsString(f[L_TXHASH]) || strcasecmp(f[L_TXHASH]->valuestring, hash) != 0)
		return "a log belongs to another transaction";
	for (size_t i = 0; i < L_TOPICS; i++)
		if (put_field(cur, f[i], log_kinds[i], &c->tmp) < 0) {
			free(c->err);
			c->err = xasprintf("log field %s is malformed", log_keys[i].s);
			return c->err;
		}
	if (!cJSON_IsArray(f[L_TOPICS]) || !cJSON_IsString(f[L_DATA]) || !cJSON_IsString(f[L_ADDRESS]))
		return "log without address, data or topics";
	if (!topics_ok(f[L_TOPICS]))
		return "log topic is not a 32-byte word";
	itemout_list_begin(cur, 0);
	cJSON_ArrayForEach(t, f[L_TOPICS])
		itemout_list_item(cur, t->valuestring);
	itemout_list_end(cur);
	return NULL;
}

/* Renders the receipt t of hash and its logs, checked, into rd: rows
 * straight from the response, no copies.  A failure leaves rows of this
 * job behind; the job is asked again and pending_at starts it afresh. */
static int
receipt_map(struct receipts_ctx *c, const char *hash, const cJSON *t, struct rendered *rd,
    char **why)
{
	const cJSON *f[ARRAY_LEN(receipt_keys)], *l;
	const char *err = NULL;
	struct itemout_cursor cur;

	if (cJSON_IsObject(t))
		json_pick(t, receipt_keys, ARRAY_LEN(receipt_keys), f);
	if (!cJSON_IsObject(t) || !cJSON_IsString(f[R_HASH]) ||
	    strcasecmp(f[R_HASH]->valuestring, hash) != 0 || !cJSON_IsArray(f[RK_LOGS]) ||
	    !cJSON_IsString(f[R_BLOCKNUMBER]) || !cJSON_IsString(f[R_BLOCKHASH])) {
		*why = xasprintf("transaction %s: %s", hash, cJSON_IsNull(t) ?
		    "the node has no receipt for it (unknown or pending?)" :
		    "the receipt answers another transaction or lacks block or logs");
		return -1;
	}
	itemout_row_begin(c->ex.out[0], &rd->text[0], &cur);
	for (size_t i = 0; i < R_L1SCALAR && err == NULL; i++)
		if (put_field(&cur, f[i], receipt_kinds[i], &c->tmp) < 0)
			err = receipt_keys[i].s;
	if (err) {
		*why = xasprintf("transaction %s: receipt field %s is malformed", hash, err);
		return -1;
	}
	/* ethereum-etl's to_float_or_none: a number or its text. */
	if (f[R_L1SCALAR] != NULL && !cJSON_IsNull(f[R_L1SCALAR])) {
		const cJSON *v0 = f[R_L1SCALAR];
		char *v = cJSON_IsString(v0) ? ethval_py_float(v0->valuestring) :
		    cJSON_IsNumber(v0) ? ethval_py_float_of(v0->valuedouble) : NULL;

		if (v == NULL) {
			*why = xasprintf("transaction %s: receipt field l1FeeScalar is not a number", hash);
			return -1;
		}
		itemout_put_num(&cur, v);
		free(v);
	}
	itemout_row_end(&cur);
	rd->rows[0]++;
	cJSON_ArrayForEach(l, f[RK_LOGS]) {
		itemout_row_begin(c->ex.out[1], &rd->text[1], &cur);
		if ((err = render_log(c, hash, l, &cur)) != NULL) {
			*why = xasprintf("transaction %s: %s", hash, err);
			return -1;
		}
		itemout_row_end(&cur);
		rd->rows[1]++;
	}
	return 0;
}

static int
receipts_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct receipts_ctx *c = vctx;
	struct rendered *rd = pending_at(&c->pending, job, k == 0);

	return receipt_map(c, c->hashes.v[job * c->batch + k], result, rd, why);
}

static int
receipts_done(void *vctx, size_t job, cJSON *results[], size_t n)
{
	struct receipts_ctx *c = vctx;
	(void)results;
	progress_add(c->ex.progress, n);
	return pending_flush(&c->pending, job, c->ex.out, 2);
}

/* Reads transaction hashes, one per line; blank lines are skipped. */
static int
read_hashes(const char *path, struct strv *out)
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
		strv_push(out, s);
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
		strv_free(&c.hashes);
		return EX_DATAERR;
	}
	c.ex = (struct etl_export){.nout = 2, .names = {"receipts", "logs"}, .paths = {rpath, lpath},
	    .cols = {receipt_cols, log_cols}, .ncols = {R_NCOLS, L_NCOLS}, .what = "receipts",
	    .total = c.hashes.n, .work = {(c.hashes.n + c.batch - 1) / c.batch, receipts_make,
	    receipts_check, receipts_done, &c, 0}};
	rc = etl_export(a, &c.ex);
	pending_free(&c.pending);
	buf_free(&c.tmp);
	free(c.err);
	strv_free(&c.hashes);
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

/* Whether s is a quantity of at most 256 bits, one ethval_dec can write. */
static int
quantity_ok(const char *s)
{
	char *dec = ethval_dec(s);
	int rc = dec != NULL ? 0 : -1;

	free(dec);
	return rc;
}

static int
transfers_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct transfers_ctx *c = vctx;
	uint64_t first = c->start + job * c->batch, n;
	uint64_t last = first + c->batch - 1 < c->end ? first + c->batch - 1 : c->end;
	const cJSON *l;

	(void)k;
	if (!cJSON_IsArray(result)) {
		*why = xstrdup("eth_getLogs did not return a list");
		return -1;
	}
	cJSON_ArrayForEach(l, result) {
		if (ethval_u64(json_str(l, "blockNumber"), &n) < 0 || n < first || n > last ||
		    quantity_ok(json_str(l, "logIndex")) < 0 ||
		    ethval_is_data_n(json_str(l, "transactionHash"), 32) < 0 ||
		    ethval_is_data_n(json_str(l, "address"), 20) < 0 ||
		    ethval_is_data(json_str(l, "data")) < 0 ||
		    !topics_ok(cJSON_GetObjectItemCaseSensitive(l, "topics"))) {
			*why = xstrdup("a log is outside the range or lacks block, index, transaction, "
			    "address, data or 32-byte topics");
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
