/*
 * etl.c: `sta etl` dispatch, option parsing in ethereum-etl's syntax
 * (--name VALUE, --name=VALUE, -x VALUE), and the helpers every exporter
 * shares (see etl.h).
 */
#include "config.h"

#include "tasks/etl.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tasks/rpc.h"

static int result_quiet;

static const struct etl_cmd *const commands[] = {
	&etl_cmd_export_blocks,
	&etl_cmd_export_receipts,
	&etl_cmd_extract_token_transfers,
	&etl_cmd_export_token_transfers,
	&etl_cmd_export_traces,
	&etl_cmd_export_geth_traces,
	&etl_cmd_extract_geth_traces,
	&etl_cmd_export_contracts,
	&etl_cmd_export_tokens,
	&etl_cmd_extract_security_token_events,
	&etl_cmd_security_token_catalog,
	&etl_cmd_get_block_range_for_date,
	&etl_cmd_extract_csv_column,
	&etl_cmd_extract_field,
};

static const struct etl_opt *
find_opt(const struct etl_cmd *c, const char *name, size_t *index)
{
	for (size_t i = 0; c->opts[i].name; i++) {
		if (strcmp(c->opts[i].name, name) == 0) {
			if (index)
				*index = i;
			return &c->opts[i];
		}
	}
	return NULL;
}

const char *
etl_str(const struct etl_args *a, const char *name)
{
	size_t i;

	if (find_opt(a->cmd, name, &i) == NULL) {
		log_error("internal: etl %s has no option --%s", a->cmd->name, name);
		abort();
	}
	return a->val[i] ? a->val[i] : a->cmd->opts[i].def;
}

int64_t
etl_int(const struct etl_args *a, const char *name)
{
	const char *s = etl_str(a, name);
	int64_t v = 0;

	if (s)
		parse_int64(s, &v);	/* checked by the parser */
	return v;
}

int
etl_flag(const struct etl_args *a, const char *name)
{
	const char *s = etl_str(a, name);

	return s != NULL && strcmp(s, "1") == 0;
}

int
etl_usage_error(const struct etl_args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sta etl %s: ", a->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (sta etl %s --help)\n", a->cmd->name);
	return EX_USAGE;
}

static void
cmd_help(const struct etl_cmd *c, FILE *f)
{
	fprintf(f, "usage: sta etl %s [OPTIONS]\n\n%s\n\noptions:\n", c->name, c->help);
	for (size_t i = 0; c->opts[i].name; i++) {
		const struct etl_opt *o = &c->opts[i];
		char flags[64];

		snprintf(flags, sizeof(flags), "%s%c%s--%s%s", o->short_name ? "-" : "",
		    o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
		    o->kind == OPT_FLAG ? "" : o->kind == OPT_INT ? " N" : " TEXT");
		fprintf(f, "  %-34s %s", flags + (o->short_name ? 0 : 1), o->help);
		if (o->def && o->kind != OPT_FLAG)
			fprintf(f, " [default: %s]", o->def);
		fputc('\n', f);
	}
}

static int
parse_args(const struct etl_cmd *c, int argc, char **argv, struct etl_args *a)
{
	struct option lopts[ETL_MAX_OPTS + 2];
	char sopts[3 * ETL_MAX_OPTS + 2];
	size_t n = 0, sn = 0;
	int ch, idx;

	memset(a, 0, sizeof(*a));
	a->cmd = c;
	sopts[sn++] = ':';
	for (; c->opts[n].name; n++) {
		const struct etl_opt *o = &c->opts[n];

		lopts[n] = (struct option){o->name, o->kind == OPT_FLAG ? no_argument : required_argument,
		    NULL, 256 + (int)n};
		if (o->short_name) {
			sopts[sn++] = o->short_name;
			if (o->kind != OPT_FLAG)
				sopts[sn++] = ':';
		}
	}
	lopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	lopts[n] = (struct option){0};
	sopts[sn++] = 'h';
	sopts[sn] = '\0';
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, sopts, lopts, &idx)) != -1) {
		const struct etl_opt *o = NULL;
		size_t i = 0;

		if (ch == 'h') {
			cmd_help(c, stdout);
			return 1;
		}
		if (ch == '?' || ch == ':') {
			const char *bad = argv[optind - 1];

			fprintf(stderr, "sta etl %s: %s %s (sta etl %s --help)\n", c->name,
			    ch == ':' ? "option needs a value:" : "no such option:", bad, c->name);
			return -1;
		}
		if (ch >= 256) {
			i = (size_t)(ch - 256);
		} else {
			for (i = 0; c->opts[i].name && c->opts[i].short_name != ch; i++)
				;
		}
		o = &c->opts[i];
		if (o->kind == OPT_INT) {
			int64_t v;

			if (parse_int64(optarg, &v) < 0 || v < 0) {
				fprintf(stderr, "sta etl %s: --%s: '%s' is not a non-negative integer\n",
				    c->name, o->name, optarg);
				return -1;
			}
		}
		if (o->kind == OPT_LIST && a->val[i] != NULL) {
			char *joined = xasprintf("%s,%s", a->val[i], optarg);

			free(a->owned[i]);
			a->val[i] = a->owned[i] = joined;
			continue;
		}
		a->val[i] = o->kind == OPT_FLAG ? "1" : optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "sta etl %s: unexpected argument '%s'\n", c->name, argv[optind]);
		return -1;
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: sta etl COMMAND [OPTIONS]\n\n"
	    "ethereum-etl compatible commands (same names, options and output files):\n");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-34s %s\n", commands[i]->name, commands[i]->help);
	fprintf(f, "\nsta etl COMMAND --help shows a command's options.\n");
}

int
etl_main(int argc, char **argv)
{
	struct etl_args a;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE : 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (strcmp(commands[i]->name, argv[1]) != 0)
			continue;
		rc = parse_args(commands[i], argc - 1, argv + 1, &a);
		if (rc != 0) {
			rc = rc > 0 ? 0 : EX_USAGE;
		} else if (etl_lake_supported(commands[i]->name) &&
		    (etl_str(&a, "date") || etl_str(&a, "lake"))) {
			struct lake_run *lr = NULL;

			rc = etl_lake_prepare(&a, &lr);
			if (rc == 0) {
				/* the manifests' STA_RESULT replaces the command's */
				result_quiet = etl_str(&a, "lake") != NULL;
				rc = a.cmd->run(&a);
			}
			rc = etl_lake_finish(lr, rc, argc, argv);
		} else {
			rc = commands[i]->run(&a);
		}
		for (size_t k = 0; k < ETL_MAX_OPTS; k++)
			free(a.owned[k]);
		return rc;
	}
	fprintf(stderr, "sta etl: no such command: %s\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}

struct rpc *
etl_rpc_open(const struct etl_args *a)
{
	int workers = find_opt(a->cmd, "max-workers", NULL) ? (int)etl_int(a, "max-workers") : 1;
	const char *env = getenv("STA_PROVIDER_URI"), *p;
	size_t t = 0;

	/* ethereum-etl's -t/--timeout, where a command has it and it is given. */
	if (find_opt(a->cmd, "timeout", &t) && a->val[t])
		setenv("STA_RPC_TIMEOUT", a->val[t], 1);
	/* -p as given; unset or empty (a DAG param left empty), then
	 * $STA_PROVIDER_URI, then the default. */
	if (find_opt(a->cmd, "provider-uri", &t) == NULL)
		return NULL;
	p = a->val[t];
	if (p == NULL || *p == '\0')
		p = env && *env ? env : a->cmd->opts[t].def;
	return rpc_open(p, workers);
}

int
etl_block_range(const struct etl_args *a, uint64_t *start, uint64_t *end, uint64_t *batch)
{
	if (etl_str(a, "end-block") == NULL)
		return etl_usage_error(a, "missing option -e/--end-block");
	*start = (uint64_t)etl_int(a, "start-block");
	*end = (uint64_t)etl_int(a, "end-block");
	*batch = (uint64_t)etl_int(a, "batch-size");
	if (*start > *end)
		return etl_usage_error(a, "start block %llu is after end block %llu",
		    (unsigned long long)*start, (unsigned long long)*end);
	if (*batch == 0)
		return etl_usage_error(a, "--batch-size must be at least 1");
	if (etl_int(a, "max-workers") < 1)
		return etl_usage_error(a, "--max-workers must be at least 1");
	return 0;
}

cJSON *
etl_request(const char *method, cJSON *params)
{
	cJSON *q = cJSON_CreateObject();

	cJSON_AddStringToObject(q, "method", method);
	cJSON_AddItemToObject(q, "params", params);
	return q;
}

cJSON *
etl_hex_number(uint64_t n)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)n);
	return cJSON_CreateString(s);
}

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
etl_field_text(const cJSON *v, char kind, struct buf *tmp, const char **text, size_t *len)
{
	const char *s;

	*text = NULL;
	*len = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	s = v->valuestring;
	buf_reset(tmp);
	if (kind == 'd') {
		if (ethval_hex_to_dec(tmp, s) < 0)
			return -1;
	} else if (kind == 'a') {
		if (ethval_is_data_n(s, 20) < 0)
			return -1;
		for (; *s; s++)
			buf_putc(tmp, (char)tolower((unsigned char)*s));
	} else {
		if (ethval_is_data(s) < 0)
			return -1;
		*text = s;
		*len = strlen(s);
		return 0;
	}
	*text = tmp->data;
	*len = tmp->len;
	return 0;
}

/* A row cell from obj[key] through etl_field_text. */
static int
cell_of(struct row *r, size_t col, const cJSON *obj, const char *key, char kind)
{
	struct buf tmp = {0};
	const char *text;
	size_t len;
	int rc = etl_field_text(cJSON_GetObjectItemCaseSensitive(obj, key), kind, &tmp, &text, &len);

	if (rc == 0 && kind == 'd' && text)
		row_num(r, col, text);
	else if (rc == 0)
		row_str(r, col, text);
	buf_free(&tmp);
	return rc;
}

int
cell_dec(struct row *r, size_t col, const cJSON *obj, const char *key)
{
	return cell_of(r, col, obj, key, 'd');
}

int
cell_hex(struct row *r, size_t col, const cJSON *obj, const char *key)
{
	return cell_of(r, col, obj, key, 'h');
}

int
cell_addr(struct row *r, size_t col, const cJSON *obj, const char *key)
{
	return cell_of(r, col, obj, key, 'a');
}

int
put_field(struct itemout_cursor *c, const cJSON *v, char kind, struct buf *tmp)
{
	const char *text;
	size_t len;

	if (etl_field_text(v, kind, tmp, &text, &len) < 0)
		return -1;
	if (text == NULL)
		itemout_put_null(c);
	else
		itemout_put_plain(c, text, len, kind == 'd');
	return 0;
}

void
json_pick(const cJSON *obj, const struct json_key *keys, size_t n, const cJSON **out)
{
	const cJSON *m;

	memset(out, 0, n * sizeof(*out));
	cJSON_ArrayForEach(m, obj) {
		size_t len = m->string ? strlen(m->string) : 0;

		for (size_t i = 0; i < n; i++)
			if (keys[i].len == len && out[i] == NULL && memcmp(m->string, keys[i].s, len) == 0) {
				out[i] = m;
				break;
			}
	}
}

struct progress {
	char *what;
	uint64_t total, done;
	struct timespec t0, last;
	int tty;
};

static double
since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

struct progress *
progress_start(const char *what, uint64_t total)
{
	struct progress *p = xcalloc(1, sizeof(*p));

	p->what = xstrdup(what);
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->last = p->t0;
	return p;
}

static void
progress_print(struct progress *p, const struct timespec *now, int final)
{
	double secs = since(&p->t0, now);
	double rate = secs > 0 ? (double)p->done / secs : 0;
	double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;

	if (p->tty)
		fprintf(stderr, "\r%s %llu/%llu  %.1f/s  ETA %.0fs   %s", p->what,
		    (unsigned long long)p->done, (unsigned long long)p->total, rate, eta,
		    final ? "\n" : "");
	else
		log_info("%s %llu/%llu (%.1f/s, %s %.0fs)", p->what, (unsigned long long)p->done,
		    (unsigned long long)p->total, rate, final ? "took" : "ETA", final ? secs : eta);
}

void
progress_add(struct progress *p, uint64_t n)
{
	struct timespec now;

	p->done += n;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&p->last, &now) >= (p->tty ? 0.2 : 10.0)) {
		p->last = now;
		progress_print(p, &now, 0);
	}
}

void
progress_end(struct progress *p)
{
	struct timespec now;

	if (p == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	progress_print(p, &now, 1);
	free(p->what);
	free(p);
}

/* Empties rd, keeping its buffers' memory for the next rows. */
static void
rendered_reset(struct rendered *rd)
{
	for (size_t i = 0; i < ETL_MAX_OUTS; i++) {
		buf_reset(&rd->text[i]);
		rd->rows[i] = 0;
	}
}

struct rendered *
pending_at(struct pending *p, size_t job, int reset)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->jobs[i] == job) {
			if (reset)
				rendered_reset(&p->r[i]);
			return &p->r[i];
		}
	}
	if (p->n == p->cap) {
		size_t old = p->cap;

		p->cap = p->cap ? p->cap * 2 : 16;
		p->jobs = xreallocarray(p->jobs, p->cap, sizeof(*p->jobs));
		p->r = xreallocarray(p->r, p->cap, sizeof(*p->r));
		memset(&p->r[old], 0, (p->cap - old) * sizeof(p->r[0]));
	}
	p->jobs[p->n] = job;
	rendered_reset(&p->r[p->n]);	/* a slot of a job written before */
	return &p->r[p->n++];
}

void
pending_row(struct rendered *rd, size_t i, const struct itemout *o, const struct row *r)
{
	itemout_render(o, r, &rd->text[i]);
	rd->rows[i]++;
}

int
pending_flush(struct pending *p, size_t job, struct itemout *const *outs, size_t nouts)
{
	struct rendered *rd = pending_at(p, job, 0), done;
	size_t at = (size_t)(rd - p->r);
	int rc = 0;

	for (size_t i = 0; i < nouts && rc == 0; i++)
		if (outs[i] && itemout_write_text(outs[i], rd->text[i].data, rd->text[i].len,
		    rd->rows[i]) < 0)
			rc = -1;
	/* The last live slot takes this one's place; this one's buffers go
	 * past the end, to be reused. */
	done = p->r[at];
	p->jobs[at] = p->jobs[p->n - 1];
	p->r[at] = p->r[p->n - 1];
	p->r[p->n - 1] = done;
	p->n--;
	return rc;
}

void
pending_free(struct pending *p)
{
	for (size_t i = 0; i < p->cap; i++)
		for (size_t k = 0; k < ETL_MAX_OUTS; k++)
			buf_free(&p->r[i].text[k]);
	free(p->jobs);
	free(p->r);
	memset(p, 0, sizeof(*p));
}

int
etl_export(struct etl_args *a, struct etl_export *e)
{
	unsigned long long rows[ETL_MAX_OUTS];
	struct rpc *r = etl_rpc_open(a);
	int rc = 1;

	if (r == NULL)
		return EX_USAGE;
	for (size_t i = 0; i < e->nout; i++)
		if (e->paths[i] && (e->out[i] = itemout_open(e->paths[i], e->cols[i], e->ncols[i])) == NULL)
			goto out;
	e->progress = progress_start(e->what, e->total);
	if (rpc_run(r, &e->work) < 0 || etl_commit_all(e->out, rows, e->nout) < 0)
		goto out;
	etl_result(e->names, rows, e->paths, e->nout);
	rc = 0;
out:
	progress_end(e->progress);
	for (size_t i = 0; i < e->nout; i++)
		itemout_abort(e->out[i]);
	rpc_close(r);
	return rc;
}

int
etl_extract(struct etl_args *a, const char *inpath, const char *outpath, const char *name,
    const char *const *cols, size_t ncols, etl_item_fn fn, void *ctx)
{
	struct itemin *in;
	struct itemout *out;
	cJSON *it = NULL;
	unsigned long long bad = 0, rows;
	int rc = 1, got;

	if (inpath == NULL || outpath == NULL)
		return etl_usage_error(a, "the input and -o/--output are required");
	if ((in = itemin_open(inpath)) == NULL)
		return EX_DATAERR;
	if ((out = itemout_open(outpath, cols, ncols)) == NULL)
		goto out;
	while ((got = itemin_next(in, &it)) > 0) {
		char *why = NULL;
		int r = fn(ctx, it, out, &why);

		if (r > 0 && bad++ < 20)
			log_warn("%s:%zu: %s; skipped", inpath, itemin_line(in), why ? why : "malformed");
		free(why);
		cJSON_Delete(it);
		it = NULL;
		if (r < 0) {
			rc = -r;
			goto out;
		}
	}
	if (got < 0) {
		rc = EX_DATAERR;
		goto out;
	}
	if (bad)
		log_warn("%s: %llu malformed items counted and skipped", inpath, bad);
	if (etl_commit_all(&out, &rows, 1) < 0)
		goto out;
	etl_result(&name, &rows, &outpath, 1);
	rc = 0;
out:
	cJSON_Delete(it);
	itemout_abort(out);
	itemin_close(in);
	return rc;
}

int
etl_commit_all(struct itemout **outs, unsigned long long *rows, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		rows[i] = outs[i] ? itemout_rows(outs[i]) : 0;
		if (outs[i] == NULL)
			continue;
		if (rc == 0)
			rc = itemout_commit(outs[i]);
		else
			itemout_abort(outs[i]);
		outs[i] = NULL;
	}
	return rc;
}

void
etl_result(const char *const *names, const unsigned long long *rows, const char *const *paths,
    size_t n)
{
	cJSON *res = cJSON_CreateObject();
	cJSON *counts = cJSON_AddObjectToObject(res, "rows");
	cJSON *files = cJSON_AddArrayToObject(res, "outputs");
	char *s;

	for (size_t i = 0; i < n; i++) {
		if (paths[i] == NULL || strcmp(paths[i], "-") == 0)
			continue;
		cJSON_AddNumberToObject(counts, names[i], (double)rows[i]);
		cJSON_AddItemToArray(files, cJSON_CreateString(paths[i]));
	}
	s = cJSON_PrintUnformatted(res);
	if (cJSON_GetArraySize(files) > 0 && !result_quiet)
		printf("STA_RESULT %s\n", s);
	fflush(stdout);
	free(s);
	cJSON_Delete(res);
}
