/*
 * etl_traces.c: export_traces (Parity/OpenEthereum trace_block),
 * export_geth_traces (debug_traceBlockByNumber with the call tracer) and
 * extract_geth_traces (geth call trees flattened to trace rows).
 *
 * As in ethereum-etl, export_traces computes each trace's status (0 when
 * it or any ancestor failed) and trace_id (type_txhash_address, or
 * type_block_index for block rewards); extract_geth_traces leaves
 * transaction_hash, status and trace_id empty because the geth tracer
 * output it reads does not carry them.
 */
#include "tasks/etl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/log.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tasks/rpc.h"

static const char *const trace_cols[] = {
	"block_number", "transaction_hash", "transaction_index", "from_address", "to_address",
	"value", "input", "output", "trace_type", "call_type", "reward_type", "gas", "gas_used",
	"subtraces", "trace_address", "error", "status", "trace_id",
};
enum { C_BLOCK, C_TXHASH, C_TXINDEX, C_FROM, C_TO, C_VALUE, C_INPUT, C_OUTPUT, C_TYPE,
	C_CALLTYPE, C_REWARDTYPE, C_GAS, C_GASUSED, C_SUBTRACES, C_ADDRESS, C_ERROR, C_STATUS,
	C_ID, C_NCOLS };

struct trace {
	uint64_t block;
	long long tx_index;	/* -1: none */
	long long subtraces;	/* -1: none */
	int status;		/* -1: not computed */
	char *s[C_NCOLS];	/* text columns; NULL is empty */
	struct strv addr;	/* trace address, decimal elements */
};

struct traces {
	struct trace *v;
	size_t n, cap;
};

static struct trace *
traces_add(struct traces *ts)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 16;
		ts->v = xreallocarray(ts->v, ts->cap, sizeof(*ts->v));
	}
	memset(&ts->v[ts->n], 0, sizeof(ts->v[0]));
	ts->v[ts->n].tx_index = ts->v[ts->n].subtraces = -1;
	ts->v[ts->n].status = -1;
	return &ts->v[ts->n++];
}

static void
traces_clear(struct traces *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		for (int c = 0; c < C_NCOLS; c++)
			free(ts->v[i].s[c]);
		strv_free(&ts->v[i].addr);
	}
	ts->n = 0;
}

static void
traces_free(struct traces *ts)
{
	traces_clear(ts);
	free(ts->v);
	ts->v = NULL;
	ts->cap = 0;
}

static char *
lower(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = xstrdup(s);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Sets column c from obj[key]: 'd' decimal of a quantity, 'a' lower-cased
 * address, 'h' hex data as sent, 's' text as sent.  Returns -1 if present
 * and malformed. */
static int
take(struct trace *t, int c, const cJSON *obj, const char *key, char kind)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct buf tmp = {0};
	const char *text;
	size_t len;
	int rc;

	if (kind == 's') {
		if (v == NULL || cJSON_IsNull(v))
			return 0;
		if (!cJSON_IsString(v))
			return -1;
		t->s[c] = xstrdup(v->valuestring);
		return 0;
	}
	rc = etl_field_text(v, kind, &tmp, &text, &len);
	if (rc == 0 && text != NULL)
		t->s[c] = xstrndup(text, len);
	buf_free(&tmp);
	return rc;
}

static int
json_uint(const cJSON *v, long long *out)
{
	/* 2^63 and up (1e300, 1e999 read as inf) do not fit: casting them is
	 * undefined, not merely wrong. */
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= 9223372036854775808.0 ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return -1;
	*out = (long long)v->valuedouble;
	return 0;
}

/* One Parity-style trace (trace_block) of block n. */
static int
parity_trace(const cJSON *j, uint64_t n, struct trace *t, char **why)
{
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(j, "action");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(j, "result");
	const cJSON *addr = cJSON_GetObjectItemCaseSensitive(j, "traceAddress"), *e;
	const cJSON *pos = cJSON_GetObjectItemCaseSensitive(j, "transactionPosition");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *type = json_str(j, "type");
	long long bn, v;
	int bad = 0;

	if (!cJSON_IsObject(j) || type == NULL || json_uint(cJSON_GetObjectItemCaseSensitive(j,
	    "blockNumber"), &bn) < 0 || (uint64_t)bn != n || !cJSON_IsArray(addr) ||
	    json_uint(cJSON_GetObjectItemCaseSensitive(j, "subtraces"), &t->subtraces) < 0) {
		*why = xasprintf("block %llu: a trace lacks type, blockNumber, traceAddress or "
		    "subtraces, or is from another block", (unsigned long long)n);
		return -1;
	}
	t->block = n;
	cJSON_ArrayForEach(e, addr) {
		if (json_uint(e, &v) < 0)
			bad = 1;
		else
			strv_push_take(&t->addr, xasprintf("%lld", v));
	}
	if (pos && !cJSON_IsNull(pos) && json_uint(pos, &t->tx_index) < 0)
		bad = 1;
	bad |= take(t, C_TXHASH, j, "transactionHash", 'h');
	if (cJSON_IsString(err) && *err->valuestring)
		t->s[C_ERROR] = xstrdup(err->valuestring);
	t->s[C_TYPE] = xstrdup(type);
	/* error, action and result may be absent or null (a failed call has
	 * no result); anything else of the wrong type is a malformed trace,
	 * not one without them. */
	if ((err && !cJSON_IsNull(err) && !cJSON_IsString(err)) ||
	    (action && !cJSON_IsNull(action) && !cJSON_IsObject(action)) ||
	    (result && !cJSON_IsNull(result) && !cJSON_IsObject(result)))
		bad = 1;
	if (!cJSON_IsObject(action))
		action = NULL;
	if (!cJSON_IsObject(result))
		result = NULL;
	if (strcmp(type, "call") == 0 || strcmp(type, "create") == 0) {
		bad |= take(t, C_FROM, action, "from", 'a');
		bad |= take(t, C_VALUE, action, "value", 'd');
		bad |= take(t, C_GAS, action, "gas", 'd');
		bad |= take(t, C_GASUSED, result, "gasUsed", 'd');
	}
	if (strcmp(type, "call") == 0) {
		bad |= take(t, C_CALLTYPE, action, "callType", 's');
		bad |= take(t, C_TO, action, "to", 'a');
		bad |= take(t, C_INPUT, action, "input", 'h');
		bad |= take(t, C_OUTPUT, result, "output", 'h');
	} else if (strcmp(type, "create") == 0) {
		bad |= take(t, C_TO, result, "address", 'h');	/* as sent, like ethereum-etl */
		bad |= take(t, C_INPUT, action, "init", 'h');
		bad |= take(t, C_OUTPUT, result, "code", 'h');
	} else if (strcmp(type, "suicide") == 0) {
		bad |= take(t, C_FROM, action, "address", 'a');
		bad |= take(t, C_TO, action, "refundAddress", 'a');
		bad |= take(t, C_VALUE, action, "balance", 'd');
	} else if (strcmp(type, "reward") == 0) {
		bad |= take(t, C_TO, action, "author", 'a');
		bad |= take(t, C_VALUE, action, "value", 'd');
		bad |= take(t, C_REWARDTYPE, action, "rewardType", 's');
	}
	if (bad) {
		*why = xasprintf("block %llu: a %s trace has a malformed field", (unsigned long long)n,
		    type);
		return -1;
	}
	return 0;
}

static int
addr_is_parent(const struct strv *parent, const struct strv *child)
{
	if (parent->n + 1 != child->n)
		return 0;
	for (size_t i = 0; i < parent->n; i++)
		if (strcmp(parent->v[i], child->v[i]) != 0)
			return 0;
	return 1;
}

static int
is_call_or_create(const struct trace *t)
{
	return strcmp(t->s[C_TYPE], "call") == 0 || strcmp(t->s[C_TYPE], "create") == 0;
}

/* ethereum-etl's calculate_trace_statuses: a trace with an error has
 * status 0, and so has every call or create below a failed one.  Parents
 * are found among the same transaction's calls and creates; -1 (with
 * *why) if one is missing. */
static int
traces_status(struct traces *ts, char **why)
{
	for (size_t i = 0; i < ts->n; i++)
		ts->v[i].status = ts->v[i].s[C_ERROR] && *ts->v[i].s[C_ERROR] ? 0 : 1;
	/* Ancestors have shorter addresses: handle traces by depth. */
	for (size_t depth = 1;; depth++) {
		int any = 0;

		for (size_t i = 0; i < ts->n; i++) {
			struct trace *t = &ts->v[i], *p = NULL;

			if (t->addr.n != depth || !t->s[C_TXHASH] || !is_call_or_create(t))
				continue;
			any = 1;
			for (size_t k = 0; k < ts->n && p == NULL; k++) {
				struct trace *q = &ts->v[(i + ts->n - 1 - k) % ts->n];

				if (q->s[C_TXHASH] && strcmp(q->s[C_TXHASH], t->s[C_TXHASH]) == 0 &&
				    is_call_or_create(q) && addr_is_parent(&q->addr, &t->addr))
					p = q;
			}
			if (p == NULL) {
				*why = xasprintf("block %llu: transaction %s has a trace whose parent is "
				    "missing", (unsigned long long)t->block, t->s[C_TXHASH]);
				return -1;
			}
			if (p->status == 0)
				t->status = 0;
		}
		if (!any)
			break;
	}
	return 0;
}

static int
cmp_dec(const char *a, const char *b)
{
	size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;

	if (la != lb)
		return la < lb ? -1 : 1;
	return la ? strcmp(a, b) : 0;
}

static int
cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int
cmp_block_scoped(const void *x, const void *y)
{
	const struct trace *a = *(const struct trace *const *)x, *b = *(const struct trace *const *)y;
	int c;

	if ((c = cmp_str(a->s[C_REWARDTYPE], b->s[C_REWARDTYPE])) != 0)
		return c;
	if ((c = cmp_str(a->s[C_FROM], b->s[C_FROM])) != 0)
		return c;
	if ((c = cmp_str(a->s[C_TO], b->s[C_TO])) != 0)
		return c;
	return cmp_dec(a->s[C_VALUE], b->s[C_VALUE]);
}

/* ethereum-etl's calculate_trace_ids for the traces of one block. */
static void
traces_ids(struct traces *ts)
{
	struct trace **scoped = xcalloc(ts->n + 1, sizeof(*scoped));
	size_t n = 0;

	for (size_t i = 0; i < ts->n; i++) {
		struct trace *t = &ts->v[i];
		struct buf id = {0};

		if (t->s[C_TXHASH] == NULL || t->s[C_TXHASH][0] == '\0') {
			scoped[n++] = t;
			continue;
		}
		buf_printf(&id, "%s_%s_", t->s[C_TYPE], t->s[C_TXHASH]);
		for (size_t k = 0; k < t->addr.n; k++)
			buf_printf(&id, "%s%s", k ? "_" : "", t->addr.v[k]);
		t->s[C_ID] = buf_detach(&id);
	}
	qsort(scoped, n, sizeof(*scoped), cmp_block_scoped);
	for (size_t i = 0; i < n; i++) {
		size_t index = 0;

		/* the index counts earlier traces of the same type */
		for (size_t k = 0; k < i; k++)
			index += strcmp(scoped[k]->s[C_TYPE], scoped[i]->s[C_TYPE]) == 0;
		scoped[i]->s[C_ID] = xasprintf("%s_%llu_%zu", scoped[i]->s[C_TYPE],
		    (unsigned long long)scoped[i]->block, index);
	}
	free(scoped);
}

static void
trace_row(struct trace *t, struct row *r)
{
	struct strv addr = {0};

	row_clear(r);
	for (int c = 0; c < C_NCOLS; c++)
		if (t->s[c])
			row_str(r, (size_t)c, t->s[c]);
	row_u64(r, C_BLOCK, t->block);
	if (t->s[C_VALUE])
		row_num(r, C_VALUE, t->s[C_VALUE]);
	if (t->s[C_GAS])
		row_num(r, C_GAS, t->s[C_GAS]);
	if (t->s[C_GASUSED])
		row_num(r, C_GASUSED, t->s[C_GASUSED]);
	if (t->tx_index >= 0)
		row_u64(r, C_TXINDEX, (unsigned long long)t->tx_index);
	if (t->subtraces >= 0)
		row_u64(r, C_SUBTRACES, (unsigned long long)t->subtraces);
	if (t->status >= 0)
		row_u64(r, C_STATUS, (unsigned long long)t->status);
	for (size_t k = 0; k < t->addr.n; k++)
		strv_push(&addr, t->addr.v[k]);
	row_list(r, C_ADDRESS, &addr, 1);
}

/* ---- export_traces ---- */

struct traces_ctx {
	uint64_t start, end, batch;
	struct etl_export ex;
	struct traces ts;
	struct row row;
	struct pending pending;
};

static cJSON *
block_jobs_make(uint64_t start, uint64_t end, uint64_t batch, size_t job, const char *method,
    int geth, char **label)
{
	uint64_t first = start + job * batch;
	uint64_t last = first + batch - 1 < end ? first + batch - 1 : end;
	cJSON *reqs = cJSON_CreateArray();

	for (uint64_t n = first; n <= last; n++) {
		cJSON *params = cJSON_CreateArray();

		cJSON_AddItemToArray(params, etl_hex_number(n));
		if (geth) {
			cJSON *opts = cJSON_CreateObject();

			cJSON_AddStringToObject(opts, "tracer", "callTracer");
			cJSON_AddItemToArray(params, opts);
		}
		cJSON_AddItemToArray(reqs, etl_request(method, params));
	}
	*label = xasprintf("%s of blocks %llu-%llu", method, (unsigned long long)first,
	    (unsigned long long)last);
	return reqs;
}

static cJSON *
traces_make(void *vctx, size_t job, char **label)
{
	struct traces_ctx *c = vctx;

	return block_jobs_make(c->start, c->end, c->batch, job, "trace_block", 0, label);
}

/* Maps a block's trace_block answer into c->ts with statuses and ids. */
static int
traces_map(struct traces_ctx *c, uint64_t n, const cJSON *result, char **why)
{
	const cJSON *j;

	traces_clear(&c->ts);
	if (!cJSON_IsArray(result)) {
		*why = xasprintf("block %llu: trace_block returned %s", (unsigned long long)n,
		    cJSON_IsNull(result) ? "null (is the node an archive node with tracing?)" :
		    "no list");
		return -1;
	}
	cJSON_ArrayForEach(j, result)
		if (parity_trace(j, n, traces_add(&c->ts), why) < 0)
			return -1;
	if (traces_status(&c->ts, why) < 0)
		return -1;
	traces_ids(&c->ts);
	return 0;
}

static int
traces_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct traces_ctx *c = vctx;
	struct rendered *rd = pending_at(&c->pending, job, k == 0);

	if (traces_map(c, c->start + job * c->batch + k, result, why) < 0)
		return -1;
	for (size_t i = 0; i < c->ts.n; i++) {
		trace_row(&c->ts.v[i], &c->row);
		pending_row(rd, 0, c->ex.out[0], &c->row);
	}
	return 0;
}

static int
traces_done(void *vctx, size_t job, cJSON *results[], size_t n)
{
	struct traces_ctx *c = vctx;

	(void)results;
	progress_add(c->ex.progress, n);
	return pending_flush(&c->pending, job, c->ex.out, 1);
}

/* The export_traces and export_geth_traces commands around their jobs. */
static int
run_traces_export(struct etl_args *a, struct traces_ctx *c, const char *name,
    const char *const *cols, size_t ncols, rpc_make_fn make, rpc_check_fn check,
    rpc_done_fn done)
{
	int rc;

	if ((rc = etl_block_range(a, &c->start, &c->end, &c->batch)) != 0)
		return rc;
	if (etl_str(a, "output") == NULL)
		return etl_usage_error(a, "missing option -o/--output");
	row_init(&c->row, ncols);
	c->ex = (struct etl_export){.nout = 1, .names = {name}, .paths = {etl_str(a, "output")},
	    .cols = {cols}, .ncols = {ncols}, .what = "blocks", .total = c->end - c->start + 1,
	    .work = {(size_t)((c->end - c->start) / c->batch + 1), make, check, done, c, 0}};
	rc = etl_export(a, &c->ex);
	traces_free(&c->ts);
	row_free(&c->row);
	pending_free(&c->pending);
	return rc;
}

static int
run_export_traces(struct etl_args *a)
{
	struct traces_ctx c = {0};

	if (etl_flag(a, "genesis-traces") || etl_flag(a, "daofork-traces"))
		return etl_usage_error(a, "--genesis-traces and --daofork-traces (mainnet's built-in "
		    "allocations) are not supported");
	return run_traces_export(a, &c, "traces", trace_cols, C_NCOLS, traces_make, traces_check,
	    traces_done);
}

static const struct etl_opt export_traces_opts[] = {
	ETL_OPT_START, ETL_OPT_END,
	{"batch-size", 'b', OPT_INT, "5", "Blocks per JSON-RPC batch"},
	{"output", 'o', OPT_STR, NULL, "Traces file (.csv or .json)"},
	ETL_OPT_WORKERS, ETL_OPT_PROVIDER,
	{"genesis-traces", 0, OPT_FLAG, NULL, "Mainnet genesis allocations (not supported)"},
	{"daofork-traces", 0, OPT_FLAG, NULL, "Mainnet DAO fork transfers (not supported)"},
	{"timeout", 't', OPT_INT, "60", "Seconds per request (as STA_RPC_TIMEOUT)"},
	ETL_OPT_CHAIN, ETL_OPT_DATE, ETL_OPT_LAKE,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_export_traces = {
	"export_traces",
	"Exports traces of a block range (trace_block; Parity/OpenEthereum/Erigon/anvil).",
	export_traces_opts, run_export_traces,
};

/* ---- export_geth_traces ---- */

static const char *const geth_cols[] = {"block_number", "transaction_traces"};

static cJSON *
geth_make(void *vctx, size_t job, char **label)
{
	struct traces_ctx *c = vctx;

	return block_jobs_make(c->start, c->end, c->batch, job, "debug_traceBlockByNumber", 1, label);
}

/* A call tracer frame and the frames below it: a type, and the fields
 * the tracer writes in hex well formed (written out as they are, so
 * checked here).  NULL or the first field at fault. */
static const char *
geth_frame_bad(const cJSON *f)
{
	static const struct { const char *key; char kind; } fields[] = {
		{"from", 'a'}, {"to", 'a'}, {"value", 'q'}, {"gas", 'q'}, {"gasUsed", 'q'},
		{"input", 'h'}, {"output", 'h'},
	};
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(f, "calls"), *sub;
	const char *bad;

	if (!cJSON_IsObject(f) || json_str(f, "type") == NULL)
		return "type";
	for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, fields[i].key);
		const char *s = cJSON_IsString(v) ? v->valuestring : NULL;

		if (v == NULL || cJSON_IsNull(v))
			continue;
		if (s == NULL || (fields[i].kind == 'a' ? ethval_is_data_n(s, 20) :
		    fields[i].kind == 'q' ? ethval_is_quantity(s) : ethval_is_data(s)) < 0)
			return fields[i].key;
	}
	if (calls && !cJSON_IsArray(calls))
		return "calls";
	cJSON_ArrayForEach(sub, calls)
		if ((bad = geth_frame_bad(sub)) != NULL)
			return bad;
	return NULL;
}

static int
geth_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct traces_ctx *c = vctx;
	unsigned long long n = c->start + job * c->batch + k;
	const cJSON *t;
	const char *bad;

	if (!cJSON_IsArray(result)) {
		*why = xasprintf("block %llu: debug_traceBlockByNumber returned no list", n);
		return -1;
	}
	cJSON_ArrayForEach(t, result) {
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(t, "result");

		if (!cJSON_IsObject(res)) {
			*why = xasprintf("block %llu: debug_traceBlockByNumber returned a transaction "
			    "without a call trace (tracer error?)", n);
			return -1;
		}
		if ((bad = geth_frame_bad(res)) != NULL) {
			*why = xasprintf("block %llu: a call trace has a malformed or missing %s", n, bad);
			return -1;
		}
	}
	return 0;
}

static int
geth_done(void *vctx, size_t job, cJSON *results[], size_t n)
{
	struct traces_ctx *c = vctx;

	for (size_t k = 0; k < n; k++) {
		struct buf json = {0};
		const cJSON *t;
		char *csv;
		int first = 1;

		buf_putc(&json, '[');
		cJSON_ArrayForEach(t, results[k]) {
			buf_puts(&json, first ? "" : ", ");
			json_dump_py(&json, cJSON_GetObjectItemCaseSensitive(t, "result"));
			first = 0;
		}
		buf_putc(&json, ']');
		row_clear(&c->row);
		row_u64(&c->row, 0, c->start + job * c->batch + k);
		csv = xstrdup(json.data);
		row_objlist_take(&c->row, 1, csv, buf_detach(&json));
		if (itemout_write(c->ex.out[0], &c->row) < 0)
			return -1;
	}
	progress_add(c->ex.progress, n);
	return 0;
}

static int
run_export_geth_traces(struct etl_args *a)
{
	struct traces_ctx c = {0};

	return run_traces_export(a, &c, "geth_traces", geth_cols, 2, geth_make, geth_check,
	    geth_done);
}

static const struct etl_opt export_geth_traces_opts[] = {
	ETL_OPT_START, ETL_OPT_END, ETL_OPT_BATCH,
	{"output", 'o', OPT_STR, NULL, "Geth traces file (.json)"},
	ETL_OPT_WORKERS, ETL_OPT_PROVIDER, ETL_OPT_CHAIN,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_export_geth_traces = {
	"export_geth_traces",
	"Exports geth call traces of a block range (debug_traceBlockByNumber, callTracer).",
	export_geth_traces_opts, run_export_geth_traces,
};

/* ---- extract_geth_traces ---- */

/* Flattens one call frame and its children, depth first, as ethereum-etl's
 * _iterate_transaction_trace does. */
static int
geth_frame(struct traces *ts, uint64_t block, long long tx_index, const cJSON *f,
    const struct strv *addr)
{
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(f, "calls"), *child;
	const cJSON *list = cJSON_IsArray(calls) ? calls : NULL;
	struct trace *t = traces_add(ts);
	const char *type = json_str(f, "type");
	long long k = 0;
	int bad = 0;

	t->block = block;
	t->tx_index = tx_index;
	for (size_t i = 0; i < addr->n; i++)
		strv_push(&t->addr, addr->v[i]);
	if (type == NULL)
		return -1;
	bad |= take(t, C_FROM, f, "from", 'a');
	bad |= take(t, C_TO, f, "to", 'a');
	bad |= take(t, C_INPUT, f, "input", 's');
	bad |= take(t, C_OUTPUT, f, "output", 's');
	bad |= take(t, C_VALUE, f, "value", 'd');
	bad |= take(t, C_GAS, f, "gas", 'd');
	bad |= take(t, C_GASUSED, f, "gasUsed", 'd');
	bad |= take(t, C_ERROR, f, "error", 's');
	t->s[C_TYPE] = lower(type);
	if (strcmp(t->s[C_TYPE], "selfdestruct") == 0) {
		free(t->s[C_TYPE]);
		t->s[C_TYPE] = xstrdup("suicide");
	} else if (strcmp(t->s[C_TYPE], "call") == 0 || strcmp(t->s[C_TYPE], "callcode") == 0 ||
	    strcmp(t->s[C_TYPE], "delegatecall") == 0 || strcmp(t->s[C_TYPE], "staticcall") == 0) {
		t->s[C_CALLTYPE] = t->s[C_TYPE];
		t->s[C_TYPE] = xstrdup("call");
	}
	t->subtraces = cJSON_IsArray(calls) ? cJSON_GetArraySize(calls) : 0;
	if (bad)
		return -1;
	cJSON_ArrayForEach(child, list) {
		struct strv sub = {0};
		int rc;

		for (size_t i = 0; i < addr->n; i++)
			strv_push(&sub, addr->v[i]);
		strv_push_take(&sub, xasprintf("%lld", k++));
		rc = geth_frame(ts, block, tx_index, child, &sub);
		strv_free(&sub);
		if (rc < 0)
			return -1;
	}
	return 0;
}

struct geth_extract {
	struct traces ts;
	struct row row;
	const char *path;
};

/* One block of a geth traces file: its call frames as trace rows. */
static int
geth_item(void *ctx, const cJSON *it, struct itemout *out, char **why)
{
	struct geth_extract *g = ctx;
	const cJSON *txs = cJSON_GetObjectItemCaseSensitive(it, "transaction_traces"), *tx;
	long long block, idx = 0;
	struct strv root = {0};

	(void)why;
	if (json_uint(cJSON_GetObjectItemCaseSensitive(it, "block_number"), &block) < 0 ||
	    !cJSON_IsArray(txs)) {
		log_error("%s: an item without block_number and transaction_traces", g->path);
		return -EX_DATAERR;
	}
	traces_clear(&g->ts);
	cJSON_ArrayForEach(tx, txs) {
		if (geth_frame(&g->ts, (uint64_t)block, idx++, tx, &root) < 0) {
			log_error("%s: transaction %lld of block %lld has a malformed call frame",
			    g->path, idx - 1, block);
			return -EX_DATAERR;
		}
	}
	for (size_t i = 0; i < g->ts.n; i++) {
		trace_row(&g->ts.v[i], &g->row);
		if (itemout_write(out, &g->row) < 0)
			return -1;
	}
	return 0;
}

static int
run_extract_geth_traces(struct etl_args *a)
{
	struct geth_extract g = {.path = etl_str(a, "input")};
	int rc;

	row_init(&g.row, C_NCOLS);
	rc = etl_extract(a, g.path, etl_str(a, "output"), "traces", trace_cols, C_NCOLS,
	    geth_item, &g);
	traces_free(&g.ts);
	row_free(&g.row);
	return rc;
}

static const struct etl_opt extract_geth_traces_opts[] = {
	{"input", 'i', OPT_STR, NULL, "Geth traces file (.json) from export_geth_traces"},
	ETL_OPT_BATCH, ETL_OPT_WORKERS,
	{"output", 'o', OPT_STR, NULL, "Traces file (.csv or .json)"},
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_extract_geth_traces = {
	"extract_geth_traces",
	"Flattens geth call traces into trace rows.",
	extract_geth_traces_opts, run_extract_geth_traces,
};
