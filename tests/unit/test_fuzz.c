/*
 * test_fuzz.c: our parsers of outside input, fed mutated and generated
 * input under ASan/UBSan (and valgrind in `./dev test`), each with a
 * property that must hold for every input:
 *   - DAG files (the shipped workflows and an inline DAG, mutated): a DAG
 *     or errors, never both; every error "file:line:col: message" with a
 *     line inside the file; a loaded DAG's graph consistent; a good DAG
 *     beside the bad file still loads;
 *   - cron expressions generated from a model: schedule_next and
 *     schedule_prev equal a day-by-day search written here; garbage is
 *     refused with a message;
 *   - durations: what duration_format writes parses back; generated
 *     "1d2h3m4s" forms sum as written; garbage is refused with a message;
 *   - templates: template_check accepts exactly what template_render can
 *     render without a lookup failure;
 *   - hex quantities and decimals (uint256 values): ethval_dec and
 *     dec_add/dec_cmp equal a schoolbook conversion written here; integers
 *     (options, query strings) as a digit-by-digit sum reads them; UTF-8
 *     checks (request bodies, token names) as the definition decodes it;
 *   - try outcomes: what executor_outcome_json writes parses back equal;
 *     mutated outcome lines and item files (CSV, JSON lines) never crash
 *     and count as they read;
 *   - kubeconfig files (mutated): a client, or an error that says it is
 *     the kubeconfig.
 * Cases come from a fixed seed (STA_FUZZ_SEED) and STA_FUZZ_SCALE times
 * the default counts; a failure prints the seed, the case and its input.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fsutil.h"
#include "lib/k8s.h"
#include "lib/util.h"
#include "runner/dag.h"
#include "runner/duration.h"
#include "runner/executor.h"
#include "runner/schedule.h"
#include "runner/template.h"
#include "tasks/decimal.h"
#include "tasks/ethval.h"
#include "tasks/itemin.h"
#include "tests/unit/unit.h"

static char dir[256];
static uint64_t seed = 1, rng;
static double scale = 1.0;

/* splitmix64: small, and the same sequence everywhere */
static uint64_t
rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

static int
cases(int n)
{
	int c = (int)(n * scale);

	return c < 1 ? 1 : c;
}

/* Starts a target's cases at a seed of its own, so each replays alone. */
static void
target(const char *name)
{
	rng = seed;
	for (const char *p = name; *p != '\0'; p++)
		rng = rng * 31 + (unsigned char)*p;
}

static int
setup(void **state)
{
	const char *s = getenv("STA_FUZZ_SEED"), *k = getenv("STA_FUZZ_SCALE");

	(void)state;
	if (s != NULL)
		seed = strtoull(s, NULL, 10);
	if (k != NULL)
		scale = strtod(k, NULL);
	print_message("# STA_FUZZ_SEED=%llu STA_FUZZ_SCALE=%g\n", (unsigned long long)seed, scale);
	return tmpdir_make(dir, sizeof(dir), "fuzz");
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

/* Fails the test naming the case and showing its input. */
static void
fail_case(const char *what, int n, const char *input, size_t len, const char *why)
{
	print_error("case %d of %s (STA_FUZZ_SEED=%llu): %s\n--- input (%zu bytes) ---\n%.*s\n---\n",
	    n, what, (unsigned long long)seed, why, len, (int)(len > 4000 ? 4000 : len), input);
	fail();
}

/* ------------------------------------------------------------ mutation */

static const char *const yaml_tokens[] = {
	": ", "- ", "\n", "  ", "\t", "{", "}", "[", "]", ",", "&a ", "*a", "<<: *a\n",
	"!!binary ", "!!str ", "? ", "|\n", ">-\n", "'", "\"", "#", "%YAML 1.1\n", "---\n",
	"...\n", "{{ ds }}", "{{ params.x }}", "{{", "}}", "{% if %}", "null", "~", "true",
	"yes", "0x10", "1e400", "-1", "99999999999999999999", "30s", "5m", "15h", "2d",
	"1h30m", "0s", "@daily", "* * * * *", "61 * * * *", "depends_on", "tasks",
	"command", "retries", "trigger_rule", "all_done", "pool", "pool_slots", "dag_id",
	"schedule", "start_date", "2024-02-30", "default_args", "params", "env",
	"execution_timeout", "retry_delay", "\xc3\x28", "\xef\xbb\xbf", "\xe2\x80\x8b",
};

/* Inserts len bytes of data at byte at of b. */
static void
insert_at(struct buf *b, size_t at, const char *data, size_t len)
{
	char *copy = xmalloc(len + 1);   /* data may lie in b itself */

	memcpy(copy, data, len);
	for (size_t i = 0; i < len; i++)
		buf_putc(b, ' ');
	memmove(b->data + at + len, b->data + at, b->len - len - at);
	memcpy(b->data + at, copy, len);
	free(copy);
}

/* Applies 1-4 random edits to b, picking inserted text from tokens. */
static void
mutate(struct buf *b, const char *const *tokens, size_t ntokens)
{
	int edits = 1 + (int)below(4);

	for (int e = 0; e < edits; e++) {
		size_t at = below(b->len + 1), n;

		switch (below(8)) {
		case 0:         /* flip a bit */
			if (b->len > 0)
				b->data[below(b->len)] ^= (char)(1 << below(8));
			break;
		case 1:         /* delete a range */
			n = 1 + below(16);
			if (at + n > b->len)
				n = b->len - at;
			memmove(b->data + at, b->data + at + n, b->len - at - n);
			b->len -= n;
			break;
		case 2: {       /* copy a range elsewhere */
			size_t from = below(b->len + 1);

			n = below(64);
			insert_at(b, at, b->data + from, from + n > b->len ? b->len - from : n);
			break;
		}
		case 3:
		case 4:         /* insert a token */
			n = below(ntokens);
			insert_at(b, at, tokens[n], strlen(tokens[n]));
			break;
		case 5:         /* an odd byte */
			if (b->len > 0)
				b->data[below(b->len)] = "\0\x01\x7f\x80\xff:-\n\t \"'{}[]&*!|>%@#"[below(24)];
			break;
		case 6:         /* truncate */
			b->len = at;
			break;
		case 7: {       /* indent or dedent the line at a random point */
			size_t ls = at;

			while (ls > 0 && b->data[ls - 1] != '\n')
				ls--;
			if (below(2) && ls < b->len && b->data[ls] == ' ') {
				memmove(b->data + ls, b->data + ls + 1, b->len - ls - 1);
				b->len--;
			} else {
				insert_at(b, ls, " ", 1);
			}
			break;
		}
		}
	}
	buf_append(b, "", 0);  /* terminates it, after a cut too */
}

/* ----------------------------------------------------------------- DAGs */

/* 1 if msg is "path:LINE:COL: text" with 1 <= LINE <= lines + 1. */
static int
error_located(const char *msg, const char *path, size_t lines)
{
	size_t plen = strlen(path);
	char *end;
	long line, col;

	if (strncmp(msg, path, plen) != 0 || msg[plen] != ':')
		return 0;
	line = strtol(msg + plen + 1, &end, 10);
	if (end == msg + plen + 1 || *end != ':')
		return 0;
	col = strtol(end + 1, &end, 10);
	if (*end != ':' || end[1] != ' ' || end[2] == '\0')
		return 0;
	return line >= 1 && (size_t)line <= lines + 1 && col >= 1;
}

/* Line breaks as YAML counts them: LF, CR LF, a lone CR, NEL, LS, PS. */
static size_t
count_breaks(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		const unsigned char *u = (const unsigned char *)s + i;

		if (*u == '\n' || (*u == '\r' && (i + 1 == len || u[1] != '\n')))
			n++;
		else if (i + 1 < len && u[0] == 0xc2 && u[1] == 0x85)
			n++;
		else if (i + 2 < len && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9))
			n++;
	}
	return n;
}

/* Why a loaded DAG's graph is inconsistent, or NULL. */
static const char *
graph_fault(const struct dag *d)
{
	size_t *pos;
	const char *why = NULL;

	if (d->n_tasks == 0)
		return NULL;
	pos = xcalloc(d->n_tasks, sizeof(*pos));
	for (size_t i = 0; i < d->n_tasks; i++)
		pos[i] = SIZE_MAX;
	for (size_t i = 0; i < d->n_tasks && why == NULL; i++) {
		if (d->topo[i] >= d->n_tasks || pos[d->topo[i]] != SIZE_MAX)
			why = "topological order is not a permutation";
		else
			pos[d->topo[i]] = i;
	}
	for (size_t i = 0; i < d->n_tasks && why == NULL; i++) {
		const struct dag_task *t = &d->tasks[i];

		if (dag_task_index(d, t->task_id) != (ssize_t)i)
			why = "a task is not found by its id";
		for (uint32_t k = 0; k < t->n_downstream && why == NULL; k++)
			if (t->downstream[k] >= d->n_tasks || pos[t->downstream[k]] <= pos[i])
				why = "a downstream task comes before its upstream";
		for (uint32_t k = 0; k < t->n_upstream && why == NULL; k++)
			if (t->upstream[k] >= d->n_tasks || pos[t->upstream[k]] >= pos[i])
				why = "an upstream task comes after its downstream";
		if (why == NULL && (t->command.n == 0 || t->command.v[t->command.n] != NULL))
			why = "a task without a NULL-terminated command";
	}
	free(pos);
	return why;
}

/* 1 if the good DAG beside the mutated file in folder loads. */
static int
folder_keeps_good(const char *folder)
{
	static const char good[] = "dag_id: fuzz_good\ntasks:\n  a:\n    command: ['true']\n";
	char *path = xasprintf("%s/zz_good.yaml", folder);
	struct dag_errors errs = {0};
	struct dag **dags = NULL;
	size_t n = 0;
	int found = 0;

	assert_int_equal(fs_write_atomic(path, good, strlen(good), 0), 0);
	if (dag_load_folder(folder, &dags, &n, &errs) == 0)
		for (size_t i = 0; i < n; i++)
			found |= strcmp(dags[i]->dag_id, "fuzz_good") == 0;
	for (size_t i = 0; i < n; i++)
		dag_free(dags[i]);
	free(dags);
	dag_errors_free(&errs);
	unlink(path);
	free(path);
	return found;
}

static const char *const dag_seeds[] = {
	"dag_id: seed_inline\n"
	"description: every key once\n"
	"schedule: '*/15 2-4 * * mon-fri'\n"
	"start_date: 2024-01-01\n"
	"end_date: 2024-02-01T00:00:00Z\n"
	"catchup: false\n"
	"max_active_runs: 2\n"
	"max_active_tasks: 4\n"
	"tags: [a, b]\n"
	"params: {chain: mainnet, n: 3}\n"
	"default_args: &d\n"
	"  retries: 2\n"
	"  retry_delay: 1m\n"
	"  retry_exponential_backoff: true\n"
	"  max_retry_delay: 1h\n"
	"  execution_timeout: 30s\n"
	"  pool: p\n"
	"  env: {A: '{{ ds }}'}\n"
	"tasks:\n"
	"  a:\n"
	"    command: [echo, '{{ params.chain }}', '{{ ds_nodash }}']\n"
	"  b:\n"
	"    command: ['true']\n"
	"    depends_on: [a]\n"
	"    trigger_rule: all_done\n"
	"    priority_weight: 5\n"
	"    pool_slots: 2\n"
	"  c:\n"
	"    command: ['sh', '-c', 'exit 0']\n"
	"    depends_on: [a, b]\n"
	"    executor: kubernetes\n"
	"    image: busybox\n"
	"    resources: {requests: {cpu: 100m}}\n",
};

static void
test_dag_files(void **state)
{
	static const char *const files[] = {
		"workflows/example_dag.yaml", "workflows/ethereum_export_dag.yaml",
		"workflows/ethereum_load_dag.yaml", "workflows/security_tokens_dag.yaml",
		"workflows/redshift_increment_aggregates.yaml",
	};
	const char *src = getenv("STA_SRCDIR");
	struct strv seeds = {0};
	char *path = xasprintf("%s/fuzz.yaml", dir);
	int n = cases(1500), loaded = 0;

	(void)state;
	target("dag");
	for (size_t i = 0; i < ARRAY_LEN(dag_seeds); i++)
		strv_push(&seeds, dag_seeds[i]);
	for (size_t i = 0; src != NULL && i < ARRAY_LEN(files); i++) {
		char *p = xasprintf("%s/%s", src, files[i]), *text = NULL;
		size_t len;

		if (fs_read_file(p, &text, &len) == 0)
			strv_push(&seeds, text);
		free(text);
		free(p);
	}
	assert_true(seeds.n >= 2 || src == NULL);
	for (int c = 0; c < n; c++) {
		struct buf b = {0};
		struct dag_errors errs = {0};
		struct dag *d;
		size_t lines = 1;
		const char *why = NULL;

		const char *seed_text = seeds.v[below(seeds.n)];

		buf_append(&b, seed_text, strlen(seed_text));
		mutate(&b, yaml_tokens, ARRAY_LEN(yaml_tokens));
		assert_int_equal(fs_write_atomic(path, b.data, b.len, 0), 0);
		lines += count_breaks(b.data, b.len);
		d = dag_load_file(path, &errs);
		if (d != NULL && errs.msgs.n > 0)
			why = "a DAG and errors both";
		else if (d == NULL && errs.msgs.n == 0)
			why = "neither a DAG nor an error";
		for (size_t i = 0; why == NULL && i < errs.msgs.n; i++)
			if (!error_located(errs.msgs.v[i], path, lines))
				why = errs.msgs.v[i];
		if (why == NULL && d != NULL)
			why = graph_fault(d);
		loaded += d != NULL;
		if (why == NULL && c % 4 == 0 && !folder_keeps_good(dir))
			why = "a bad file stopped the folder's good DAG from loading";
		if (why != NULL) {
			char *msg = xasprintf("%s (first error: %s)", why,
			    errs.msgs.n > 0 ? errs.msgs.v[0] : "none");

			fail_case("DAG files", c, b.data, b.len, msg);
		}
		dag_free(d);
		dag_errors_free(&errs);
		buf_free(&b);
	}
	/* the mutations reach both sides: DAGs that load and that do not */
	print_message("# %d of %d mutated DAG files loaded\n", loaded, n);
	assert_true(loaded > n / 20 && loaded < n - n / 20);
	strv_free(&seeds);
	free(path);
}

/* ---------------------------------------------------------------- cron */

/* A field as text and as the set of values it allows. */
static void
gen_field(struct buf *b, int lo, int hi, uint64_t *bits, int *star)
{
	int parts = 1 + (int)below(3);

	*bits = 0;
	*star = 0;
	if (below(3) == 0) {
		int step = below(2) ? 1 : 1 + (int)below((size_t)hi);

		if (step == 1)
			buf_printf(b, "*");
		else
			buf_printf(b, "*/%d", step);
		for (int v = lo; v <= hi; v += step)
			*bits |= 1ULL << v;
		*star = 1;
		return;
	}
	for (int p = 0; p < parts; p++) {
		int a = lo + (int)below((size_t)(hi - lo + 1)), z = a;

		if (p > 0)
			buf_putc(b, ',');
		if (below(2)) {
			z = a + (int)below((size_t)(hi - a + 1));
			if (below(2)) {
				int step = 1 + (int)below(7);

				buf_printf(b, "%d-%d/%d", a, z, step);
				for (int v = a; v <= z; v += step)
					*bits |= 1ULL << v;
				continue;
			}
			buf_printf(b, "%d-%d", a, z);
		} else {
			buf_printf(b, "%d", a);
		}
		for (int v = a; v <= z; v++)
			*bits |= 1ULL << v;
	}
}

struct cron_model {
	uint64_t min, hour, dom, mon, dow;
	int dom_star, dow_star;
};

static int
model_day(const struct cron_model *m, const struct tm *tm)
{
	int dom = (int)((m->dom >> tm->tm_mday) & 1), dow = (int)((m->dow >> tm->tm_wday) & 1);

	if (!((m->mon >> (tm->tm_mon + 1)) & 1))
		return 0;
	return !m->dom_star && !m->dow_star ? dom || dow : dom && dow;
}

/* The first fire time after t (sign 1) or the last at or before t (sign -1),
 * searching day by day over 30 years; -1 when there is none. */
static int
model_search(const struct cron_model *m, time_t t, int sign, time_t *out)
{
	time_t day = t - ((t % 86400) + 86400) % 86400;

	for (int d = 0; d < 30 * 366; d++, day += sign * 86400) {
		struct tm tm;

		gmtime_r(&day, &tm);
		if (!model_day(m, &tm))
			continue;
		for (int i = 0; i < 24 * 60; i++) {
			int k = sign > 0 ? i : 24 * 60 - 1 - i;
			time_t when = day + (time_t)k * 60;

			if (!((m->hour >> (k / 60)) & 1) || !((m->min >> (k % 60)) & 1))
				continue;
			if (sign > 0 ? when > t : when <= t) {
				*out = when;
				return 0;
			}
		}
	}
	return -1;
}

static void
test_cron_model(void **state)
{
	int n = cases(400);

	(void)state;
	target("cron");
	for (int c = 0; c < n; c++) {
		struct buf b = {0};
		struct cron_model m;
		int star;
		char err[256];
		struct schedule *s;

		gen_field(&b, 0, 59, &m.min, &star);
		buf_putc(&b, ' ');
		gen_field(&b, 0, 23, &m.hour, &star);
		buf_putc(&b, ' ');
		gen_field(&b, 1, 31, &m.dom, &m.dom_star);
		buf_putc(&b, ' ');
		gen_field(&b, 1, 12, &m.mon, &star);
		buf_putc(&b, ' ');
		gen_field(&b, 0, 6, &m.dow, &m.dow_star);
		buf_append(&b, "", 0);
		s = schedule_parse(b.data, err, sizeof(err));
		for (int k = 0; k < 3 && (s != NULL || k == 0); k++) {
			/* 1990-2060, on any second */
			time_t t = (time_t)(631152000 + below(2208988800ULL - 631152000ULL));

			if (s == NULL && model_search(&m, t, 1, &(time_t){0}) == 0)
				fail_case("cron expressions", c, b.data, b.len, err);
			for (int sign = 1; s != NULL && sign >= -1; sign -= 2) {
				time_t want;
				sta_time got;
				int have = model_search(&m, t, sign, &want) == 0;
				int rc = sign > 0 ? schedule_next(s, t, &got) : schedule_prev(s, t, &got);

				if (have != (rc == 0) || (have && got != want)) {
					char *why = xasprintf("%s %lld: %lld, a day-by-day search: %lld",
					    sign > 0 ? "next after" : "last at or before", (long long)t,
					    rc == 0 ? (long long)got : -1LL, have ? (long long)want : -1LL);

					fail_case("cron expressions", c, b.data, b.len, why);
				}
			}
		}
		schedule_free(s);
		buf_free(&b);
	}
}

static const char *const cron_tokens[] = {
	"*", "/", ",", "-", " ", "0", "7", "59", "60", "99999999999", "mon", "FRI", "jan",
	"dec", "@daily", "@once", "@", "L", "W", "#", "?", "\t", "-1", "*/0", "*/61", "x",
};

static void
test_cron_garbage(void **state)
{
	int n = cases(3000);

	(void)state;
	target("cron garbage");
	for (int c = 0; c < n; c++) {
		struct buf b = {0};
		int parts = (int)below(12);
		char err[256] = "";
		struct schedule *s;
		sta_time t;

		for (int p = 0; p < parts; p++)
			buf_printf(&b, "%s", cron_tokens[below(ARRAY_LEN(cron_tokens))]);
		buf_append(&b, "", 0);
		s = schedule_parse(b.data != NULL ? b.data : "", err, sizeof(err));
		if (s == NULL && err[0] == '\0')
			fail_case("cron garbage", c, b.data, b.len, "refused without a message");
		if (s != NULL && !schedule_is_once(s) && schedule_next(s, 0, &t) != 0)
			fail_case("cron garbage", c, b.data, b.len, "accepted but never fires");
		schedule_free(s);
		buf_free(&b);
	}
}

/* ----------------------------------------------------------- durations */

static void
test_durations(void **state)
{
	static const char *const tokens[] = { "1", "30", "0", "s", "m", "h", "d", "w", " ",
	    "-", "+", "99999999999999999999", ".5", "x", "" };
	static const int64_t unit[] = { 86400, 3600, 60, 1 };
	int n = cases(3000);

	(void)state;
	target("durations");
	for (int c = 0; c < n; c++) {
		struct buf b = {0};
		char text[64], err[256] = "";
		int64_t v = (int64_t)below(10 * 365 * 86400ULL), got = -1, want = 0;

		duration_format(v, text, sizeof(text));
		if (duration_parse(text, &got, err, sizeof(err)) != 0 || got != v)
			fail_case("durations (format then parse)", c, text, strlen(text), err);
		/* "AdBhCmDs" with some parts left out sums as written */
		for (int k = 0; k < 4; k++) {
			if (below(2) || (k == 3 && b.len == 0)) {
				int64_t x = (int64_t)below(1000);

				buf_printf(&b, "%lld%c", (long long)x, "dhms"[k]);
				want += x * unit[k];
			}
		}
		buf_append(&b, "", 0);
		if (duration_parse(b.data, &got, err, sizeof(err)) != 0 || got != want)
			fail_case("durations (generated)", c, b.data, b.len, err);
		buf_reset(&b);
		for (int p = (int)below(6); p > 0; p--)
			buf_printf(&b, "%s", tokens[below(ARRAY_LEN(tokens))]);
		buf_append(&b, "", 0);
		err[0] = '\0';
		if (duration_parse(b.data != NULL ? b.data : "", &got, err, sizeof(err)) != 0) {
			if (err[0] == '\0')
				fail_case("durations (garbage)", c, b.data, b.len, "refused without a message");
		} else if (got < 0) {
			fail_case("durations (garbage)", c, b.data, b.len, "a negative duration");
		}
		buf_free(&b);
	}
}

/* ----------------------------------------------------------- templates */

static void
test_templates(void **state)
{
	static const char *const tokens[] = {
		"{{", "}}", "{{ ", " }}", "{%", "%}", "{#", "#}", "ds", "ds_nodash", "ts",
		"logical_date", "data_interval_start", "data_interval_end", "run_id",
		"dag.dag_id", "task.task_id", "params.s", "params.n", "params.o", "params.",
		"var.value.chain", "var.value.", "macros.ds_add(ds, 1)", "|", "upper", " ", ".",
		"(", ")", "'", "\"", "x", "\n", "{", "}", "\xc3\xa9",
	};
	cJSON *params = cJSON_Parse("{\"s\":\"x\",\"n\":1,\"o\":{\"a\":1}}");
	struct template_ctx ctx = {
		.dag_id = "d", .task_id = "t", .run_id = "r",
		.logical_date = 1704412800, .data_interval_start = 1704412800,
		.data_interval_end = 1704499200, .params = params, .var_get = unit_var_get,
	};
	int n = cases(5000);

	(void)state;
	target("templates");
	for (int c = 0; c < n; c++) {
		struct buf b = {0};
		char err[512] = "", rerr[512] = "", *out = NULL;
		size_t off = SIZE_MAX;
		int checked, rendered;

		for (int p = (int)below(10); p > 0; p--)
			buf_printf(&b, "%s", tokens[below(ARRAY_LEN(tokens))]);
		buf_append(&b, "", 0);
		checked = template_check(b.data, &off, err, sizeof(err));
		rendered = template_render(b.data, &ctx, &out, rerr, sizeof(rerr));
		if (checked != 0 && (err[0] == '\0' || off > b.len))
			fail_case("templates", c, b.data, b.len, "refused without a message or a place");
		if (checked != 0 && rendered == 0)
			fail_case("templates", c, b.data, b.len, "rendered what the check refuses");
		/* a well-formed template fails to render only on a lookup */
		if (checked == 0 && rendered != 0 && strstr(rerr, "params.") == NULL &&
		    strstr(rerr, "var.value.") == NULL)
			fail_case("templates", c, b.data, b.len, rerr);
		if (rendered == 0 && out == NULL)
			fail_case("templates", c, b.data, b.len, "rendered to nothing");
		if (checked == 0 && template_is_plain(b.data) && (out == NULL || strcmp(out, b.data) != 0))
			fail_case("templates", c, b.data, b.len, "plain text changed by rendering");
		free(out);
		buf_free(&b);
	}
	cJSON_Delete(params);
}

/* -------------------------------------------------- numbers as decimals */

/* Decimal digits of a big number held as 32-bit limbs (least first). */
static char *
limbs_dec(uint32_t *limb, size_t n)
{
	char digits[160];
	size_t nd = 0;

	while (n > 0 && limb[n - 1] == 0)
		n--;
	if (n == 0)
		return xstrdup("0");
	while (n > 0) {
		uint64_t rem = 0;

		for (size_t i = n; i-- > 0;) {
			uint64_t cur = (rem << 32) | limb[i];

			limb[i] = (uint32_t)(cur / 10);
			rem = cur % 10;
		}
		digits[nd++] = (char)('0' + rem);
		while (n > 0 && limb[n - 1] == 0)
			n--;
	}
	for (size_t i = 0; i < nd / 2; i++) {
		char t = digits[i];

		digits[i] = digits[nd - 1 - i];
		digits[nd - 1 - i] = t;
	}
	digits[nd] = '\0';
	return xstrdup(digits);
}

/* The decimal of a hex quantity by the schoolbook method, or NULL when it
 * is not one (or needs more than 256 bits). */
static char *
model_hex_dec(const char *s)
{
	uint32_t limb[9] = {0};
	size_t nd;

	if (strncmp(s, "0x", 2) != 0 || s[2] == '\0')
		return NULL;
	s += 2;
	nd = strlen(s);
	for (size_t i = 0; i < nd; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
		    s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 :
		    s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10 : -1;
		uint64_t carry = (uint64_t)(v < 0 ? 0 : v);

		if (v < 0)
			return NULL;
		for (size_t k = 0; k < 9; k++) {
			uint64_t cur = ((uint64_t)limb[k] << 4) + carry;

			limb[k] = (uint32_t)cur;
			carry = cur >> 32;
		}
		if (limb[8] != 0)
			return NULL;    /* wider than 256 bits */
	}
	return limbs_dec(limb, 8);
}

static void
test_hex_quantities(void **state)
{
	static const char alphabet[] = "0123456789abcdefABCDEFxg -";
	int n = cases(20000);

	(void)state;
	target("hex");
	for (int c = 0; c < n; c++) {
		char s[80];
		size_t len = 0, digits = below(70);
		char *want, *got;
		struct buf b = {0};

		if (below(8) != 0) {
			s[len++] = '0';
			s[len++] = 'x';
		}
		if (below(4) == 0)
			for (size_t z = below(10); z > 0 && len < 70; z--)
				s[len++] = '0';
		for (size_t i = 0; i < digits && len < 79; i++)
			s[len++] = below(40) == 0 ? alphabet[below(sizeof(alphabet) - 1)] :
			    "0123456789abcdef"[below(16)];
		s[len] = '\0';
		want = model_hex_dec(s);
		got = ethval_dec(s);
		if ((want == NULL) != (got == NULL) || (want != NULL && strcmp(want, got) != 0)) {
			char *why = xasprintf("ethval_dec: %s, schoolbook: %s", got ? got : "(refused)",
			    want ? want : "(refused)");

			fail_case("hex quantities", c, s, len, why);
		}
		if ((want != NULL) != (ethval_is_quantity(s) == 0 && ethval_hex_to_dec(&b, s) == 0))
			fail_case("hex quantities", c, s, len, "ethval_is_quantity/hex_to_dec disagree");
		free(want);
		free(got);
		buf_free(&b);
	}
}

static char *
rand_decimal(void)
{
	size_t len = 1 + below(80);
	char *s = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		s[i] = (char)('0' + below(10));
	if (below(3) == 0)
		s[0] = '0';     /* leading zeros too */
	s[len] = '\0';
	return s;
}

/* a + b by limbs of base 10^9, from a string of digits each. */
static char *
model_add(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), n = (la > lb ? la : lb) + 1;
	char *out = xmalloc(n + 1), *p;
	int carry = 0;

	out[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		int d = carry + (i < la ? a[la - 1 - i] - '0' : 0) + (i < lb ? b[lb - 1 - i] - '0' : 0);

		out[n - 1 - i] = (char)('0' + d % 10);
		carry = d / 10;
	}
	p = out;
	while (p[0] == '0' && p[1] != '\0')
		p++;
	memmove(out, p, strlen(p) + 1);
	return out;
}

static int
model_cmp(const char *a, const char *b)
{
	size_t la, lb;

	while (*a == '0' && a[1] != '\0')
		a++;
	while (*b == '0' && b[1] != '\0')
		b++;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
}

static void
test_decimals(void **state)
{
	int n = cases(20000);

	(void)state;
	target("decimals");
	for (int c = 0; c < n; c++) {
		char *a = rand_decimal(), *b = rand_decimal(), *got = dec_add(a, b);
		char *want = model_add(a, b), *in = xasprintf("%s + %s", a, b);
		int cmp = dec_cmp(a, b);

		if (strcmp(got, want) != 0)
			fail_case("decimals (sum)", c, in, strlen(in), got);
		if ((cmp > 0) - (cmp < 0) != model_cmp(a, b))
			fail_case("decimals (compare)", c, in, strlen(in), "dec_cmp disagrees");
		if (!dec_valid(a) || dec_valid("") || dec_valid("1a"))
			fail_case("decimals (valid)", c, in, strlen(in), "dec_valid disagrees");
		free(in);
		free(want);
		free(got);
		free(a);
		free(b);
	}
}

/* Integers as CLI options, query strings and paths give them: accepted
 * exactly when they are digits after a '-' at most and fit, with the value
 * a digit-by-digit sum gives. */
static void
test_integers(void **state)
{
	static const char *const tokens[] = { "0", "1", "7", "9", "-", "+", " ", "\t", "x",
	    "9223372036854775807", "9223372036854775808", "00", "e3", ".", "" };
	int n = cases(20000);

	(void)state;
	target("integers");
	for (int c = 0; c < n; c++) {
		struct buf b = {0};
		__int128 want = 0;
		int well_formed, neg;
		int64_t got = 0;

		for (int p = (int)below(5); p > 0; p--)
			buf_puts(&b, tokens[below(ARRAY_LEN(tokens))]);
		buf_append(&b, "", 0);
		neg = b.data[0] == '-';
		well_formed = b.len > (size_t)neg;
		for (size_t i = (size_t)neg; i < b.len && well_formed; i++) {
			well_formed = b.data[i] >= '0' && b.data[i] <= '9';
			if (want <= (__int128)INT64_MAX + 1)
				want = want * 10 + (b.data[i] - '0');
		}
		if (neg)
			want = -want;
		well_formed = well_formed && want >= INT64_MIN && want <= INT64_MAX;
		if ((parse_int64(b.data, &got) == 0) != well_formed || (well_formed && got != want))
			fail_case("integers", c, b.data, b.len, well_formed ? "refused or misread" : "accepted");
		buf_free(&b);
	}
}

/* UTF-8 by its definition: a lead byte's high bits give the length, the
 * bits of the sequence the code point, which must need that length and
 * be a scalar value (not a surrogate, at most U+10FFFF). */
static int
utf8_model(const unsigned char *s, size_t n)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };

	for (size_t i = 0; i < n;) {
		size_t len = s[i] >> 7 == 0 ? 1 : s[i] >> 5 == 6 ? 2 : s[i] >> 4 == 14 ? 3 :
		    s[i] >> 3 == 30 ? 4 : 0;
		uint32_t cp = len == 1 ? s[i] : s[i] & (0x7F >> len);

		if (len == 0 || i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if (s[i + k] >> 6 != 2)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		i += len;
	}
	return 1;
}

static void
test_utf8(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
	    0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFF };
	int n = cases(50000), valid = 0;

	(void)state;
	target("utf8");
	for (int c = 0; c < n; c++) {
		unsigned char s[16];
		size_t len = 0;

		while (len < 12) {
			if (below(3) == 0) {        /* a code point, maybe encoded too long */
				uint32_t cp = (uint32_t)below(below(2) ? 0x800 : 0x110100);
				size_t need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
				size_t w = need + (below(8) == 0 && need < 4);

				if (w == 1) {
					s[len++] = (unsigned char)cp;
				} else {
					s[len++] = (unsigned char)((0xF00 >> w) | (cp >> (6 * (w - 1))));
					for (size_t k = w - 1; k-- > 0;)
						s[len++] = (unsigned char)(0x80 | ((cp >> (6 * k)) & 0x3F));
				}
			} else {
				s[len++] = bytes[below(ARRAY_LEN(bytes))];
			}
			if (below(4) == 0)
				break;
		}
		valid += utf8_model(s, len);
		if (utf8_valid(s, len) != utf8_model(s, len))
			fail_case("utf8", c, (const char *)s, len,
			    utf8_model(s, len) ? "refused" : "accepted");
	}
	/* both kinds were tried */
	assert_true(valid > n / 20 && valid < n - n / 20);
}

/* ------------------------------------------------ outcomes, item files */

static void
test_outcomes(void **state)
{
	static const char *const tokens[] = { "{", "}", "\"", ":", ",", "null", "1e999",
	    "-1", "\"end\"", "\"exited\"", "\"timed_out\"", "\"result\"", "[]", "\\u0000",
	    "\\ud800", "9223372036854775808" };
	static const enum try_end ends[] = { TRY_EXITED, TRY_TIMED_OUT, TRY_START_FAILED };
	int n = cases(3000);

	(void)state;
	target("outcomes");
	for (int c = 0; c < n; c++) {
		struct try_outcome o = {
			.end = ends[below(ARRAY_LEN(ends))],
			.exit_code = (int)below(256), .signal = below(4) == 0 ? (int)below(32) : 0,
			.reason = below(2) ? xasprintf("why \"%d\"\n\t\xc3\xa9", c) : NULL,
			.handle = below(2) ? xasprintf("%d", (int)below(100000)) : NULL,
			.started_ms = (int64_t)(1700000000000ULL + below(1000000000ULL)),
		};
		cJSON *result = below(2) ? cJSON_Parse("{\"rows\":{\"a\":12},\"x\":[1,\"y\"]}") : NULL;
		char *json, *want_result = result != NULL ? cJSON_PrintUnformatted(result) : NULL;
		struct try_outcome back = {0};
		struct buf b = {0};

		o.ended_ms = o.started_ms + (int64_t)below(100000);
		json = executor_outcome_json(&o, result);
		if (executor_parse_outcome(json, &back) != 0 || back.end != o.end ||
		    back.exit_code != o.exit_code || back.signal != o.signal ||
		    back.started_ms != o.started_ms || back.ended_ms != o.ended_ms ||
		    (o.reason == NULL) != (back.reason == NULL) ||
		    (o.reason != NULL && strcmp(o.reason, back.reason) != 0) ||
		    (want_result == NULL) != (back.result_json == NULL) ||
		    (want_result != NULL && strcmp(want_result, back.result_json) != 0))
			fail_case("outcomes (write then read)", c, json, strlen(json), "read back different");
		executor_outcome_free(&back);
		buf_append(&b, json, strlen(json));
		mutate(&b, tokens, ARRAY_LEN(tokens));
		if (executor_parse_outcome(b.data != NULL ? b.data : "", &back) == 0)
			executor_outcome_free(&back);
		buf_free(&b);
		free(want_result);
		free(json);
		executor_outcome_free(&o);
	}
}

static void
test_item_files(void **state)
{
	static const char *const csv_seed =
	    "hash,nonce,value,input\n"
	    "0xab,1,1000000000000000000000,0x\n"
	    "\"0xcd\",2,\"3\",\"a,\"\"quoted\"\"\nline\"\n";
	static const char *const json_seed =
	    "{\"hash\":\"0xab\",\"nonce\":1,\"value\":\"10\",\"x\":null}\n"
	    "{\"hash\":\"0xcd\",\"nonce\":2,\"value\":\"3\",\"x\":[1,{\"y\":2}]}\n";
	static const char *const tokens[] = { ",", "\"", "\"\"", "\n", "\r\n", "{", "}",
	    ":", "[", "]", "null", "\\", "\\u00e9", "\xff" };
	int n = cases(2000);

	(void)state;
	target("items");
	for (int c = 0; c < n; c++) {
		int json = (int)below(2);
		char *path = xasprintf("%s/items%s", dir, json ? ".json" : ".csv");
		struct buf b = {0};
		struct itemin *in;
		cJSON *item;
		long long items = 0, count;
		int rc = -1, objects = 1, saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);

		buf_append(&b, json ? json_seed : csv_seed, strlen(json ? json_seed : csv_seed));
		mutate(&b, tokens, ARRAY_LEN(tokens));
		assert_int_equal(fs_write_atomic(path, b.data, b.len, 0), 0);
		dup2(null, STDERR_FILENO);      /* what is malformed is printed */
		if ((in = itemin_open(path)) != NULL) {
			while ((rc = itemin_next(in, &item)) == 1) {
				objects &= cJSON_IsObject(item);
				cJSON_Delete(item);
				items++;
			}
			itemin_close(in);
		}
		count = itemin_count(path);
		dup2(saved, STDERR_FILENO);
		close(saved);
		close(null);
		if (!objects)
			fail_case("item files", c, b.data, b.len, "an item that is not an object");
		if (rc == 0 && count != items)
			fail_case("item files", c, b.data, b.len, "itemin_count differs from what was read");
		if (rc == -1 && count != -1)
			fail_case("item files", c, b.data, b.len, "malformed, yet counted");
		buf_free(&b);
		free(path);
	}
}

static void
test_kubeconfigs(void **state)
{
	static const char *const seed_text =
	    "apiVersion: v1\n"
	    "kind: Config\n"
	    "current-context: dev\n"
	    "clusters:\n"
	    "- name: c1\n"
	    "  cluster:\n"
	    "    server: https://127.0.0.1:6443/\n"
	    "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	    "- name: c2\n"
	    "  cluster: {server: 'https://k8s.example:443', certificate-authority: ca.crt}\n"
	    "contexts:\n"
	    "- name: dev\n"
	    "  context: {cluster: c1, user: u1, namespace: jobs}\n"
	    "- name: prod\n"
	    "  context: {cluster: c2, user: u2}\n"
	    "users:\n"
	    "- name: u1\n"
	    "  user:\n"
	    "    token: abc.def\n"
	    "    client-certificate-data: aGVsbG8=\n"
	    "    client-key-data: aGVsbG8=\n"
	    "- name: u2\n"
	    "  user: {client-certificate: c.crt, client-key: c.key}\n";
	int n = cases(1500), opened = 0;
	char *path = xasprintf("%s/kubeconfig", dir), *errpath = xasprintf("%s/stderr", dir);

	(void)state;
	target("kubeconfig");
	for (int c = 0; c < n; c++) {
		struct buf b = {0};
		struct k8s *k;
		char *err = NULL;
		size_t errlen;
		int saved = dup(STDERR_FILENO), fd;

		buf_append(&b, seed_text, strlen(seed_text));
		mutate(&b, yaml_tokens, ARRAY_LEN(yaml_tokens));
		assert_int_equal(fs_write_atomic(path, b.data, b.len, 0), 0);
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, STDERR_FILENO);
		k = k8s_open(path, below(4) == 0 ? "prod" : NULL);
		dup2(saved, STDERR_FILENO);
		close(saved);
		close(fd);
		assert_int_equal(fs_read_file(errpath, &err, &errlen), 0);
		if (k == NULL && strstr(err, "kubeconfig") == NULL)
			fail_case("kubeconfig files", c, b.data, b.len, err[0] ? err : "refused silently");
		opened += k != NULL;
		k8s_close(k);
		free(err);
		buf_free(&b);
	}
	print_message("# %d of %d mutated kubeconfig files opened\n", opened, n);
	assert_true(opened > 0 && opened < n);
	free(errpath);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dag_files),
		cmocka_unit_test(test_cron_model),
		cmocka_unit_test(test_cron_garbage),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_hex_quantities),
		cmocka_unit_test(test_decimals),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_item_files),
		cmocka_unit_test(test_kubeconfigs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
