/*
 * warehouse.c: the exported tables' columns and the backend dispatch (see
 * warehouse.h).
 */
#include "tasks/warehouse.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

#define COL(n, k) {n, k}
#define END_COLS {"block_date", 'd'}, {NULL, 0}

static const struct wh_column blocks_cols[] = {
	COL("number", 'i'), COL("hash", 't'), COL("parent_hash", 't'), COL("nonce", 't'),
	COL("sha3_uncles", 't'), COL("logs_bloom", 't'), COL("transactions_root", 't'),
	COL("state_root", 't'), COL("receipts_root", 't'), COL("miner", 't'),
	COL("difficulty", 'n'), COL("total_difficulty", 'n'), COL("size", 'i'),
	COL("extra_data", 't'), COL("gas_limit", 'i'), COL("gas_used", 'i'),
	COL("timestamp", 'i'), COL("transaction_count", 'i'), COL("base_fee_per_gas", 'n'),
	COL("withdrawals_root", 't'), COL("withdrawals", 't'), END_COLS,
};
static const struct wh_column transactions_cols[] = {
	COL("hash", 't'), COL("nonce", 'i'), COL("block_hash", 't'), COL("block_number", 'i'),
	COL("transaction_index", 'i'), COL("from_address", 't'), COL("to_address", 't'),
	COL("value", 'n'), COL("gas", 'i'), COL("gas_price", 'n'), COL("input", 't'),
	COL("block_timestamp", 'i'), COL("max_fee_per_gas", 'n'),
	COL("max_priority_fee_per_gas", 'n'), COL("transaction_type", 'i'), END_COLS,
};
static const struct wh_column receipts_cols[] = {
	COL("transaction_hash", 't'), COL("transaction_index", 'i'), COL("block_hash", 't'),
	COL("block_number", 'i'), COL("cumulative_gas_used", 'i'), COL("gas_used", 'i'),
	COL("contract_address", 't'), COL("root", 't'), COL("status", 'i'),
	COL("effective_gas_price", 'n'), COL("l1_fee", 'n'), COL("l1_gas_used", 'n'),
	COL("l1_gas_price", 'n'), COL("l1_fee_scalar", 'f'), END_COLS,
};
static const struct wh_column logs_cols[] = {
	COL("log_index", 'i'), COL("transaction_hash", 't'), COL("transaction_index", 'i'),
	COL("block_hash", 't'), COL("block_number", 'i'), COL("address", 't'), COL("data", 't'),
	COL("topics", 't'), END_COLS,
};
static const struct wh_column token_transfers_cols[] = {
	COL("token_address", 't'), COL("from_address", 't'), COL("to_address", 't'),
	COL("value", 'u'), COL("transaction_hash", 't'), COL("log_index", 'i'),
	COL("block_number", 'i'), END_COLS,
};
static const struct wh_column traces_cols[] = {
	COL("block_number", 'i'), COL("transaction_hash", 't'), COL("transaction_index", 'i'),
	COL("from_address", 't'), COL("to_address", 't'), COL("value", 'n'), COL("input", 't'),
	COL("output", 't'), COL("trace_type", 't'), COL("call_type", 't'),
	COL("reward_type", 't'), COL("gas", 'n'), COL("gas_used", 'n'), COL("subtraces", 'i'),
	COL("trace_address", 't'), COL("error", 't'), COL("status", 'i'), COL("trace_id", 't'),
	END_COLS,
};
static const struct wh_column contracts_cols[] = {
	COL("address", 't'), COL("bytecode", 't'), COL("function_sighashes", 't'),
	COL("is_erc20", 'b'), COL("is_erc721", 'b'), COL("block_number", 'i'),
	COL("standards", 'T'), END_COLS,
};
static const struct wh_column tokens_cols[] = {
	COL("address", 't'), COL("symbol", 't'), COL("name", 't'), COL("decimals", 'u'),
	COL("total_supply", 'u'), COL("block_number", 'i'), END_COLS,
};

static const struct wh_column security_token_events_cols[] = {
	COL("token_address", 't'), COL("standard", 't'), COL("event", 't'), COL("block_number", 'i'),
	COL("transaction_hash", 't'), COL("log_index", 'i'), COL("from_address", 't'),
	COL("to_address", 't'), COL("operator_address", 't'), COL("partition", 't'),
	COL("to_partition", 't'), COL("value", 'u'), COL("document_name", 't'),
	COL("document_uri", 't'), COL("document_hash", 't'), COL("args", 't'), END_COLS,
};

static const char *const by_number[] = {"number", NULL};
static const char *const by_block[] = {"block_number", NULL};
static const char *const by_token[] = {"token_address", "block_number", NULL};
static const char *const by_address[] = {"address", NULL};

static const struct wh_table t_blocks = {"blocks", blocks_cols, by_number, "timestamp", "number"};
static const struct wh_table t_transactions = {"transactions", transactions_cols, by_block,
	"block_number", "hash"};
static const struct wh_table t_receipts = {"receipts", receipts_cols, by_block, "block_number",
	"transaction_hash"};
static const struct wh_table t_logs = {"logs", logs_cols, by_block, "block_number",
	"transaction_hash"};
static const struct wh_table t_token_transfers = {"token_transfers", token_transfers_cols,
	by_token, "block_number", "transaction_hash"};
static const struct wh_table t_traces = {"traces", traces_cols, by_block, "block_number",
	"transaction_hash"};
static const struct wh_table t_contracts = {"contracts", contracts_cols, by_address,
	"block_number", "address"};
static const struct wh_table t_tokens = {"tokens", tokens_cols, by_address, "block_number",
	"address"};
static const struct wh_table t_security_token_events = {"security_token_events",
	security_token_events_cols, by_token, "block_number", "token_address"};

const struct wh_table *const wh_tables[] = {
	&t_blocks, &t_transactions, &t_receipts, &t_logs, &t_token_transfers, &t_traces,
	&t_contracts, &t_tokens, &t_security_token_events, NULL,
};

const struct wh_table *
wh_table_find(const char *name)
{
	for (size_t i = 0; wh_tables[i]; i++)
		if (strcmp(wh_tables[i]->name, name) == 0)
			return wh_tables[i];
	return NULL;
}

size_t
wh_ncols(const struct wh_table *t)
{
	size_t n = 0;

	while (t->cols[n].name)
		n++;
	return n;
}

struct wh {
	const struct wh_backend *be;
	void *conn;
};

static const struct wh_backend *const backends[] = {
	&wh_sqlite_backend, &wh_postgres_backend, &wh_redshift_backend,
};

struct wh *
wh_open(const char *uri, const char *home)
{
	char *def = NULL;
	struct wh *w;

	if (uri == NULL || *uri == '\0')
		uri = getenv("STA_STORE");
	if (uri == NULL || *uri == '\0')
		uri = def = xasprintf("sqlite://%s%s/analytics.db", home[0] == '/' ? "" : "./", home);
	for (size_t i = 0; i < ARRAY_LEN(backends); i++) {
		const char *sch = backends[i]->scheme;

		if (strncmp(uri, sch, strlen(sch)) != 0 || uri[strlen(sch)] != ':')
			continue;
		w = xcalloc(1, sizeof(*w));
		w->be = backends[i];
		w->conn = w->be->open(uri, home);
		free(def);
		if (w->conn == NULL || w->be->ensure_tables(w->conn) < 0) {
			wh_close(w);
			return NULL;
		}
		return w;
	}
	log_error("store %s: expected sqlite:///PATH, postgresql://... or redshift://...", uri);
	free(def);
	return NULL;
}

void
wh_close(struct wh *w)
{
	if (w == NULL)
		return;
	if (w->conn)
		w->be->close(w->conn);
	free(w);
}

int
wh_load(struct wh *w, const struct wh_table *t, const char *date, const char *local_path,
    const char *s3_uri, long long *rows)
{
	return w->be->load(w->conn, t, date, local_path, s3_uri, rows);
}

int
wh_aggregate(struct wh *w, const char *name, const char *date)
{
	return w->be->aggregate(w->conn, name, date);
}

int
wh_print_query(struct wh *w, const char *sql)
{
	return w->be->print_query(w->conn, sql);
}

char *
wh_day_filter(const char *sql, const char *date, const char *param)
{
	struct buf out = {0};
	const char *p = sql, *open;

	while ((open = strstr(p, "{{ day = ")) != NULL) {
		const char *col = open + strlen("{{ day = "), *close = strstr(col, " }}");

		if (close == NULL)
			break;
		buf_append(&out, p, (size_t)(open - p));
		if (date)
			buf_printf(&out, "%.*s = %s", (int)(close - col), col, param);
		else
			buf_puts(&out, "1 = 1");
		p = close + 3;
	}
	buf_puts(&out, p);
	return buf_detach(&out);
}
