/*
 * etl_contracts.c: export_contracts (bytecode, function sighashes,
 * is_erc20/is_erc721) and export_tokens (name, symbol, decimals, total
 * supply by eth_call), with ethereum-etl's rules:
 *
 * - function_sighashes are the PUSH4 operands of the bytecode's first basic
 *   block (everything before the first JUMPDEST), sorted and unique, as
 *   ethereum-etl's disassembler finds them.  Compilers that put a
 *   JUMPDEST before the dispatcher (solc's non-payable check does) leave
 *   few or none there; that is ethereum-etl's behaviour and kept for
 *   compatibility (the security-token detection uses every PUSH4).
 * - is_erc20: totalSupply, balanceOf, transfer, transferFrom, approve and
 *   allowance are all there; is_erc721: ownerOf, balanceOf, approve and
 *   transfer or transferFrom.
 * - tokens: name() and symbol() as string, then NAME()/SYMBOL(), then the
 *   bytes32 variants; decimals() then DECIMALS(); totalSupply().  A call
 *   that reverts, returns nothing or does not decode gives an empty field;
 *   NUL characters are removed from texts, and text that is not UTF-8 is
 *   empty.
 */
#include "tasks/etl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "lib/keccak.h"
#include "lib/log.h"
#include "tasks/bytecode.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tasks/sectoken.h"
#include "tasks/rpc.h"

/* Reads addresses, one per line (blank lines skipped), lower-cased.
 * Returns 0, or -1 after naming the file and line at fault. */
static int
read_addresses(const char *path, struct strv *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int rc = 0;

	if (f == NULL) {
		log_error("%s: cannot open", path);
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		char *s = line, *e, *addr;

		lineno++;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*s == '\0')
			continue;
		if ((addr = ethval_address(s)) == NULL) {
			log_error("%s:%zu: '%s' is not an address (0x + 40 hex digits)", path, lineno, s);
			rc = -1;
			break;
		}
		strv_push_take(out, addr);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Reads addresses and their block numbers from an item file: created
 * contracts from traces (create traces that succeeded), or contracts from
 * a contracts file.  Returns 0, or -1 after naming file and line. */
static int
read_created(const char *path, int from_traces, struct strv *addrs, struct strv *blocks)
{
	struct itemin *in = itemin_open(path);
	cJSON *it;
	int got;

	if (in == NULL)
		return -1;
	while ((got = itemin_next(in, &it)) > 0) {
		const char *addr = json_str(it, from_traces ? "to_address" : "address");
		const cJSON *bn = cJSON_GetObjectItemCaseSensitive(it, "block_number");
		char *a = addr && *addr ? ethval_address(addr) : NULL;
		int take = 1;

		if (from_traces) {
			const char *type = json_str(it, "trace_type"), *status = json_str(it, "status");

			take = type && strcmp(type, "create") == 0 && status && strcmp(status, "1") == 0;
		}
		if (take && a == NULL) {
			log_error("%s:%zu: no address", path, itemin_line(in));
			cJSON_Delete(it);
			itemin_close(in);
			return -1;
		}
		if (take) {
			strv_push_take(addrs, a);
			a = NULL;
			if (cJSON_IsNumber(bn))
				strv_push_take(blocks, xasprintf("%.0f", bn->valuedouble));
			else
				strv_push(blocks, cJSON_IsString(bn) ? bn->valuestring : "");
		}
		free(a);
		cJSON_Delete(it);
	}
	itemin_close(in);
	return got < 0 ? -1 : 0;
}

/* Where the addresses come from: an address list (-c/-t), or an item file
 * of traces or contracts with block numbers.  0, or an exit status. */
static int
read_sources(struct etl_args *a, const char *list_opt, const char *items_opt, int from_traces,
    struct strv *addrs, struct strv *blocks)
{
	const char *list = etl_str(a, list_opt), *items = etl_str(a, items_opt);

	if ((list == NULL) == (items == NULL))
		return etl_usage_error(a, "give either --%s or --%s", list_opt, items_opt);
	if ((list ? read_addresses(list, addrs) : read_created(items, from_traces, addrs, blocks)) < 0)
		return EX_DATAERR;
	return 0;
}

/* ---- export_contracts ---- */

static const char *const contract_cols[] = {
	"address", "bytecode", "function_sighashes", "is_erc20", "is_erc721", "block_number",
	"standards",
};

static int
has_selector(const struct strv *sighashes, const char *signature)
{
	char sel[11];

	keccak_selector(signature, sel);
	for (size_t i = 0; i < sighashes->n; i++)
		if (strcmp(sighashes->v[i], sel) == 0)
			return 1;
	return 0;
}

static int
is_erc20(const struct strv *s)
{
	return has_selector(s, "totalSupply()") && has_selector(s, "balanceOf(address)") &&
	    has_selector(s, "transfer(address,uint256)") &&
	    has_selector(s, "transferFrom(address,address,uint256)") &&
	    has_selector(s, "approve(address,uint256)") &&
	    has_selector(s, "allowance(address,address)");
}

static int
is_erc721(const struct strv *s)
{
	return has_selector(s, "ownerOf(uint256)") && has_selector(s, "balanceOf(address)") &&
	    (has_selector(s, "transfer(address,uint256)") ||
	    has_selector(s, "transferFrom(address,address,uint256)")) &&
	    has_selector(s, "approve(address,uint256)");
}

struct contracts_ctx {
	struct strv addrs, blocks;
	const char *block_tag;
	int with_standards;
	size_t batch;
	struct etl_export ex;
	struct row row;
};

static cJSON *
contracts_make(void *vctx, size_t job, char **label)
{
	struct contracts_ctx *c = vctx;
	size_t first = job * c->batch, last = first + c->batch;
	cJSON *reqs = cJSON_CreateArray();

	if (last > c->addrs.n)
		last = c->addrs.n;
	for (size_t i = first; i < last; i++) {
		cJSON *params = cJSON_CreateArray();

		cJSON_AddItemToArray(params, cJSON_CreateString(c->addrs.v[i]));
		cJSON_AddItemToArray(params, cJSON_CreateString(c->block_tag));
		cJSON_AddItemToArray(reqs, etl_request("eth_getCode", params));
	}
	*label = xasprintf("code of contracts %zu-%zu (%s...)", first, last - 1, c->addrs.v[first]);
	return reqs;
}

static int
contracts_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct contracts_ctx *c = vctx;

	if (cJSON_IsString(result) && ethval_is_data(result->valuestring) == 0)
		return 0;
	*why = xasprintf("contract %s: eth_getCode did not return hex data",
	    c->addrs.v[job * c->batch + k]);
	return -1;
}

static int
contracts_done(void *vctx, size_t job, cJSON *results[], size_t n)
{
	struct contracts_ctx *c = vctx;

	for (size_t k = 0; k < n; k++) {
		const char *code = results[k]->valuestring;
		struct strv sighashes = {0};
		struct buf std = {0};
		unsigned char *bytes;
		size_t len;

		ethval_unhex(code, &bytes, &len);
		bytecode_push4(bytes, len, 1, &sighashes);
		if (c->with_standards) {
			/* every PUSH4 of the code, not only the first block's */
			struct strv all = {0};

			bytecode_push4(bytes, len, 0, &all);
			st_standards_of(&all, &std);
			strv_free(&all);
		}
		free(bytes);
		row_clear(&c->row);
		row_str(&c->row, 0, c->addrs.v[job * c->batch + k]);
		if (c->blocks.n > job * c->batch + k && *c->blocks.v[job * c->batch + k])
			row_num(&c->row, 5, c->blocks.v[job * c->batch + k]);
		row_str(&c->row, 1, code);
		row_bool(&c->row, 3, is_erc20(&sighashes));
		row_bool(&c->row, 4, is_erc721(&sighashes));
		row_list(&c->row, 2, &sighashes, 0);
		if (c->with_standards)
			row_str(&c->row, 6, std.data ? std.data : "");
		buf_free(&std);
		if (itemout_write(c->ex.out[0], &c->row) < 0)
			return -1;
	}
	progress_add(c->ex.progress, n);
	return 0;
}

static int
run_export_contracts(struct etl_args *a)
{
	struct contracts_ctx c = {0};
	const char *opath = etl_str(a, "output");
	int rc;

	if (opath == NULL)
		return etl_usage_error(a, "-o/--output is required");
	c.batch = (size_t)etl_int(a, "batch-size");
	c.block_tag = etl_str(a, "block");
	c.with_standards = etl_flag(a, "with-standards");
	if (c.batch == 0 || etl_int(a, "max-workers") < 1)
		return etl_usage_error(a, "--batch-size and --max-workers must be at least 1");
	if ((rc = read_sources(a, "contract-addresses", "traces", 1, &c.addrs, &c.blocks)) != 0) {
		strv_free(&c.addrs);
		strv_free(&c.blocks);
		return rc;
	}
	row_init(&c.row, ARRAY_LEN(contract_cols));
	c.ex = (struct etl_export){.nout = 1, .names = {"contracts"}, .paths = {opath},
	    .cols = {contract_cols}, .ncols = {ARRAY_LEN(contract_cols) - !c.with_standards},
	    .what = "contracts", .total = c.addrs.n, .work = {(c.addrs.n + c.batch - 1) / c.batch,
	    contracts_make, contracts_check, contracts_done, &c, 0}};
	rc = etl_export(a, &c.ex);
	row_free(&c.row);
	strv_free(&c.addrs);
	strv_free(&c.blocks);
	return rc;
}

static const struct etl_opt export_contracts_opts[] = {
	ETL_OPT_BATCH,
	{"contract-addresses", 'c', OPT_STR, NULL, "File with one contract address per line"},
	{"traces", 0, OPT_STR, NULL, "Instead: the contracts created in this traces file, with their blocks"},
	{"output", 'o', OPT_STR, NULL, "Contracts file (.csv or .json)"},
	ETL_OPT_WORKERS, ETL_OPT_PROVIDER,
	{"block", 0, OPT_STR, "latest", "Block whose code is read (number in hex, or latest)"},
	{"with-standards", 0, OPT_FLAG, NULL, "Add a standards column: the token standards whose "
	    "functions the code has (docs/security-tokens.md)"},
	ETL_OPT_DATE, ETL_OPT_LAKE,
	{"chain", 0, OPT_STR, "ethereum", "Chain name (accepted for compatibility)"},
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_export_contracts = {
	"export_contracts",
	"Exports contracts' bytecode, function sighashes and ERC-20/721 flags.",
	export_contracts_opts, run_export_contracts,
};

/* ---- export_tokens ---- */

static const char *const token_cols[] = {
	"address", "symbol", "name", "decimals", "total_supply", "block_number",
};

/* The calls made for each token, in the order ethereum-etl tries them;
 * 's' string, 'b' bytes32, 'u' uint8, 'U' uint256. */
static const struct token_call {
	const char *sig;
	char type;
	int col;
} token_calls[] = {
	{"symbol()", 's', 1}, {"SYMBOL()", 's', 1}, {"symbol()", 'b', 1}, {"SYMBOL()", 'b', 1},
	{"name()", 's', 2}, {"NAME()", 's', 2}, {"name()", 'b', 2}, {"NAME()", 'b', 2},
	{"decimals()", 'u', 3}, {"DECIMALS()", 'u', 3}, {"totalSupply()", 'U', 4},
};
/* bytes32 variants reuse the string calls' answers: the same request. */
#define NCALLS 7
static const int call_of[] = {0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 6};
static const char *const call_sigs[NCALLS] = {
	"symbol()", "SYMBOL()", "name()", "NAME()", "decimals()", "DECIMALS()", "totalSupply()",
};

/* Removes NUL characters; returns NULL (freeing s) unless UTF-8 as
 * Python decodes it (ethereum-etl keeps no name it cannot decode). */
static char *
clean_text(unsigned char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] != 0)
			s[w++] = s[i];
	s[w] = '\0';
	if (utf8_valid(s, w))
		return (char *)s;
	free(s);
	return NULL;
}

/* Reads a 32-byte big-endian word at off as a size; -1 if it does not fit. */
static long
word_size(const unsigned char *d, size_t len, size_t off)
{
	unsigned long long v = 0;

	if (off + 32 > len)
		return -1;
	for (size_t i = 0; i < 24; i++)
		if (d[off + i])
			return -1;
	for (size_t i = 24; i < 32; i++)
		v = v << 8 | d[off + i];
	return v > (1u << 30) ? -1 : (long)v;
}

/* Decodes an eth_call answer as the type; NULL when it does not decode. */
static char *
token_value(const cJSON *res, char type)
{
	unsigned char *d;
	size_t len;
	char *out = NULL;

	if (!cJSON_IsString(res) || ethval_unhex(res->valuestring, &d, &len) < 0)
		return NULL;	/* a revert: the error object */
	if (type == 's') {
		long off = word_size(d, len, 0), n = off < 0 ? -1 : word_size(d, len, (size_t)off);

		if (n >= 0 && (size_t)off + 32 + (size_t)n <= len) {
			unsigned char *s = xmalloc((size_t)n + 1);

			memcpy(s, d + off + 32, (size_t)n);
			out = clean_text(s, (size_t)n);
		}
	} else if (type == 'b') {
		if (len >= 32) {
			unsigned char *s = xmalloc(33);

			memcpy(s, d, 32);
			out = clean_text(s, 32);
		}
	} else if (len >= 32) {
		int ok = 1;

		for (size_t i = 0; type == 'u' && i < 31; i++)
			ok &= d[i] == 0;
		if (ok) {
			char *hex = xmalloc(67);

			hex[0] = '0';
			hex[1] = 'x';
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 + 2 * i, 3, "%02x", d[i]);
			out = ethval_dec(hex);
			free(hex);
		}
	}
	free(d);
	return out;
}

struct tokens_ctx {
	struct strv addrs, blocks;
	const char *block_tag;
	int only_tokens;
	size_t batch;
	struct etl_export ex;
	struct row row;
};

static cJSON *
tokens_make(void *vctx, size_t job, char **label)
{
	struct tokens_ctx *c = vctx;
	size_t first = job * c->batch, last = first + c->batch;
	cJSON *reqs = cJSON_CreateArray();

	if (last > c->addrs.n)
		last = c->addrs.n;
	for (size_t i = first; i < last; i++) {
		for (int k = 0; k < NCALLS; k++) {
			cJSON *params = cJSON_CreateArray(), *call = cJSON_CreateObject();
			char sel[11];

			keccak_selector(call_sigs[k], sel);
			cJSON_AddStringToObject(call, "to", c->addrs.v[i]);
			cJSON_AddStringToObject(call, "data", sel);
			cJSON_AddItemToArray(params, call);
			cJSON_AddItemToArray(params, cJSON_CreateString(c->block_tag));
			cJSON_AddItemToArray(reqs, etl_request("eth_call", params));
		}
	}
	*label = xasprintf("token calls of %zu-%zu (%s...)", first, last - 1, c->addrs.v[first]);
	return reqs;
}

static int
tokens_check(void *vctx, size_t job, size_t k, const cJSON *result, char **why)
{
	struct tokens_ctx *c = vctx;

	/* A revert comes as the answer's error object (rpc.h); an object in
	 * the result is no answer to eth_call. */
	if ((cJSON_IsObject(result) && result->string != NULL && strcmp(result->string, "error") == 0) ||
	    (cJSON_IsString(result) && ethval_is_data(result->valuestring) == 0))
		return 0;
	*why = xasprintf("token %s: eth_call returned neither data nor a revert",
	    c->addrs.v[job * c->batch + k / NCALLS]);
	return -1;
}

static int
tokens_done(void *vctx, size_t job, cJSON *results[], size_t n)
{
	struct tokens_ctx *c = vctx;

	for (size_t t = 0; t < n / NCALLS; t++) {
		cJSON **res = results + t * NCALLS;

		row_clear(&c->row);
		row_str(&c->row, 0, c->addrs.v[job * c->batch + t]);
		for (size_t i = 0; i < ARRAY_LEN(token_calls); i++) {
			const struct token_call *tc = &token_calls[i];
			char *v;

			if (c->row.cells[tc->col].kind != CELL_NULL)
				continue;	/* an earlier call answered */
			v = token_value(res[call_of[i]], tc->type);
			if (v == NULL)
				continue;
			if (tc->type == 's' || tc->type == 'b') {
				row_str(&c->row, (size_t)tc->col, v);
				free(v);
			} else {
				row_num_take(&c->row, (size_t)tc->col, v);
			}
		}
		if (c->blocks.n > job * c->batch + t && *c->blocks.v[job * c->batch + t])
			row_num(&c->row, 5, c->blocks.v[job * c->batch + t]);
		if (c->only_tokens && c->row.cells[1].kind == CELL_NULL &&
		    c->row.cells[2].kind == CELL_NULL && c->row.cells[3].kind == CELL_NULL &&
		    c->row.cells[4].kind == CELL_NULL)
			continue;	/* a contract that answers no token call */
		if (itemout_write(c->ex.out[0], &c->row) < 0)
			return -1;
	}
	progress_add(c->ex.progress, n / NCALLS);
	return 0;
}

static int
run_export_tokens(struct etl_args *a)
{
	struct tokens_ctx c = {0};
	const char *opath = etl_str(a, "output");
	int rc;

	if (opath == NULL)
		return etl_usage_error(a, "-o/--output is required");
	c.batch = 10;
	c.block_tag = etl_str(a, "block");
	c.only_tokens = etl_str(a, "contracts") != NULL;
	if (etl_int(a, "max-workers") < 1)
		return etl_usage_error(a, "--max-workers must be at least 1");
	if ((rc = read_sources(a, "token-addresses", "contracts", 0, &c.addrs, &c.blocks)) != 0) {
		strv_free(&c.addrs);
		strv_free(&c.blocks);
		return rc;
	}
	row_init(&c.row, ARRAY_LEN(token_cols));
	c.ex = (struct etl_export){.nout = 1, .names = {"tokens"}, .paths = {opath},
	    .cols = {token_cols}, .ncols = {ARRAY_LEN(token_cols)}, .what = "tokens",
	    .total = c.addrs.n, .work = {(c.addrs.n + c.batch - 1) / c.batch, tokens_make,
	    tokens_check, tokens_done, &c, 1}};
	rc = etl_export(a, &c.ex);
	row_free(&c.row);
	strv_free(&c.addrs);
	strv_free(&c.blocks);
	return rc;
}

static const struct etl_opt export_tokens_opts[] = {
	{"token-addresses", 't', OPT_STR, NULL, "File with one token address per line"},
	{"contracts", 0, OPT_STR, NULL, "Instead: the contracts of this contracts file; rows only "
	    "for those answering a token call"},
	{"output", 'o', OPT_STR, NULL, "Tokens file (.csv or .json)"},
	ETL_OPT_WORKERS, ETL_OPT_PROVIDER, ETL_OPT_CHAIN,
	{"block", 0, OPT_STR, "latest", "Block the calls read (number in hex, or latest)"},
	ETL_OPT_DATE, ETL_OPT_LAKE,
	{NULL, 0, 0, NULL, NULL},
};

const struct etl_cmd etl_cmd_export_tokens = {
	"export_tokens",
	"Exports ERC-20/721 tokens' name, symbol, decimals and total supply (eth_call).",
	export_tokens_opts, run_export_tokens,
};
