/*
 * test_dagfile.c: the DAG file format: durations, templates, and the
 * loader's validation with exact file:line:col positions (worked out by
 * hand from the fixture texts below), defaults and inheritance, graph
 * order, and the file hash (checked against the sha256sum tool).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fsutil.h"
#include "runner/dag.h"
#include "runner/duration.h"
#include "runner/template.h"
#include "tests/unit/unit.h"

static char dir[256];

static int
setup(void **state)
{
	(void)state;
	return tmpdir_make(dir, sizeof(dir), "dagfile");
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

/* Writes text to dir/name and returns the path (caller frees). */
static char *
write_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);

	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0), 0);
	return path;
}

/* Asserts that some error message ends with "file:LINE:COL: <want...>". */
static void
assert_error(const struct dag_errors *e, const char *path, const char *pos_msg)
{
	char *want = xasprintf("%s:%s", path, pos_msg);

	for (size_t i = 0; i < e->msgs.n; i++) {
		if (str_has_prefix(e->msgs.v[i], want)) {
			free(want);
			return;
		}
	}
	for (size_t i = 0; i < e->msgs.n; i++)
		print_message("  got: %s\n", e->msgs.v[i]);
	fail_msg("no error starting with '%s'", want);
}

static void
test_durations(void **state)
{
	char err[256], out[32];
	int64_t v;

	(void)state;
	assert_int_equal(duration_parse("30s", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 30);
	assert_int_equal(duration_parse("5m", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 300);
	assert_int_equal(duration_parse("15h", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 54000);
	assert_int_equal(duration_parse("2d", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 172800);
	assert_int_equal(duration_parse("1h30m", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5400);
	assert_int_equal(duration_parse("90", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 90);
	assert_int_equal(duration_parse("5x", &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown unit 'x'"));
	assert_int_equal(duration_parse("", &v, err, sizeof(err)), -1);
	assert_int_equal(duration_parse("-5m", &v, err, sizeof(err)), -1);
	assert_int_equal(duration_parse("m", &v, err, sizeof(err)), -1);
	assert_int_equal(duration_parse("1h30", &v, err, sizeof(err)), -1);
	assert_int_equal(duration_parse("99999999999999999999s", &v, err, sizeof(err)), -1);
	duration_format(5400, out, sizeof(out));
	assert_string_equal(out, "1h30m");
	duration_format(0, out, sizeof(out));
	assert_string_equal(out, "0s");
}

static void
test_templates(void **state)
{
	cJSON *params = cJSON_Parse("{\"s\":\"x y\",\"n\":42,\"b\":true,\"z\":null,"
	    "\"f\":1.5,\"o\":{\"a\":1}}");
	struct template_ctx ctx = {
		.dag_id = "d", .task_id = "t", .run_id = "r1",
		.logical_date = 1704412800,             /* 2024-01-05 */
		.data_interval_start = 1704412800, .data_interval_end = 1704499200,
		.params = params, .var_get = unit_var_get,
	};
	char err[512], *out = NULL;
	size_t off;

	(void)state;
	assert_int_equal(template_render("{{ds}} {{ ds_nodash }} {{ ts }}|{{ logical_date }}",
	    &ctx, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "2024-01-05 20240105 2024-01-05T00:00:00+00:00|"
	    "2024-01-05T00:00:00+00:00");
	free(out);
	assert_int_equal(template_render("{{ data_interval_start }}/{{ data_interval_end }}",
	    &ctx, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "2024-01-05T00:00:00+00:00/2024-01-06T00:00:00+00:00");
	free(out);
	assert_int_equal(template_render("{{ dag.dag_id }}.{{ task.task_id }}.{{ run_id }}",
	    &ctx, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "d.t.r1");
	free(out);
	assert_int_equal(template_render("{{ params.s }},{{ params.n }},{{ params.b }},"
	    "{{ params.z }},{{ var.value.chain }}", &ctx, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "x y,42,True,None,mainnet");
	free(out);
	assert_int_equal(template_render("{{ params.f }}", &ctx, &out, err, sizeof(err)), -1);
	assert_int_equal(template_render("{{ params.o }}", &ctx, &out, err, sizeof(err)), -1);
	assert_int_equal(template_render("{{ params.missing }}", &ctx, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "params.missing"));
	assert_int_equal(template_render("{{ var.value.other }}", &ctx, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "var.value.other"));

	assert_int_equal(template_check("plain text", &off, err, sizeof(err)), 0);
	assert_int_equal(template_check("ab {{ ds | upper }}", &off, err, sizeof(err)), -1);
	assert_int_equal(off, 3);
	assert_int_equal(template_check("{{ ds }} {{ macros.ds_add(ds, 1) }}", &off, err, sizeof(err)), -1);
	assert_int_equal(off, 9);
	assert_int_equal(template_check("x {% if a %}", &off, err, sizeof(err)), -1);
	assert_int_equal(off, 2);
	assert_int_equal(template_check("x {{ ds", &off, err, sizeof(err)), -1);
	assert_int_equal(off, 2);
	assert_non_null(strstr(err, "unterminated"));
	cJSON_Delete(params);
}

static const char bad_dag[] =
    "dag_id: bad\n"                             /* 1 */
    "schedule: \"61 * * * *\"\n"                /* 2: value at col 11 */
    "start_date: 2024-01-01\n"                  /* 3 */
    "max_active_runs: many\n"                   /* 4: value at col 18 */
    "retires: 3\n"                              /* 5 */
    "default_args:\n"                           /* 6 */
    "  retry_delay: 5x\n"                       /* 7: value at col 16 */
    "tasks:\n"                                  /* 8 */
    "  a:\n"                                    /* 9 */
    "    command: [echo, \"{{ foo }}\"]\n"      /* 10: quote at 21, {{ at 22 */
    "    depends_on: [nope]\n"                  /* 11: nope at col 18 */
    "    retires: 3\n"                          /* 12 */
    "  b:\n"                                    /* 13 */
    "    command: echo hi\n"                    /* 14: value at col 14 */
    "    trigger_rule: sometimes\n";            /* 15: value at col 19 */

static void
test_every_error_with_position(void **state)
{
	struct dag_errors e = {0};
	char *path = write_file("bad.yaml", bad_dag);

	(void)state;
	assert_null(dag_load_file(path, &e));
	assert_error(&e, path, "2:11: schedule: minute field: 61 out of range 0-59");
	assert_error(&e, path, "4:18: max_active_runs: expected an integer, got 'many'");
	assert_error(&e, path, "5:1: unknown key 'retires' in a DAG");
	assert_error(&e, path, "7:16: retry_delay: bad duration '5x': unknown unit 'x'");
	assert_error(&e, path, "10:22: command: template '{{ foo }}' is not allowed");
	assert_error(&e, path, "11:18: task 'a' depends on 'nope', which is not a task");
	assert_error(&e, path, "12:5: unknown key 'retires' in a task (did you mean 'retries'?)");
	assert_error(&e, path, "14:14: command must be a list (argv)");
	assert_error(&e, path, "15:19: trigger_rule: unknown rule 'sometimes'");
	assert_int_equal(e.msgs.n, 9);
	dag_errors_free(&e);
	free(path);
}

static void
test_kubernetes_block(void **state)
{
	struct dag_errors e = {0};
	char *good = write_file("kube.yaml",
	    "dag_id: kube\n"
	    "default_args:\n"
	    "  executor: kubernetes\n"
	    "  kubernetes:\n"
	    "    service_account: sta-task\n"
	    "    node_selector: {workload: etl, zone: 1}\n"
	    "    tolerations: [{key: dedicated, operator: Equal, value: etl, effect: NoSchedule}]\n"
	    "    env_from_secrets: [warehouse]\n"
	    "    secret_env: {PGPASSWORD: warehouse/password}\n"
	    "tasks:\n"
	    "  a:\n"
	    "    command: [\"true\"]\n"
	    "  b:\n"
	    "    command: [\"true\"]\n"
	    "    kubernetes: {service_account: other}\n");
	char *bad = write_file("kubebad.yaml",
	    "dag_id: kubebad\n"
	    "default_args:\n"
	    "  kubernetes:\n"
	    "    service_acount: x\n"                        /* 4:5 */
	    "    node_selector: [a]\n"                       /* 5:20 */
	    "    env_from_secrets: Warehouse\n"              /* 6:23 */
	    "    secret_env: {PGPASSWORD: nokey, X: Bad_Name/k}\n"   /* 7:30, 7:40 */
	    "    tolerations: [dedicated]\n"                 /* 8:19 */
	    "tasks:\n"
	    "  a:\n"
	    "    command: [\"true\"]\n"
	    "    kubernetes: {service_account: Upper}\n");   /* 12:35 */
	struct dag *d;
	const cJSON *k;

	(void)state;
	d = dag_load_file(good, &e);
	assert_non_null(d);
	k = d->tasks[0].args.kubernetes;
	assert_non_null(k);
	assert_string_equal(cJSON_GetObjectItem(k, "service_account")->valuestring, "sta-task");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(k, "secret_env"),
	    "PGPASSWORD")->valuestring, "warehouse/password");
	/* a task's block replaces the default whole */
	k = d->tasks[1].args.kubernetes;
	assert_string_equal(cJSON_GetObjectItem(k, "service_account")->valuestring, "other");
	assert_null(cJSON_GetObjectItem(k, "secret_env"));
	dag_free(d);
	assert_null(dag_load_file(bad, &e));
	assert_error(&e, bad, "4:5: unknown key 'service_acount' in kubernetes (did you mean 'service_account'?)");
	assert_error(&e, bad, "5:20: kubernetes.node_selector: expected a mapping, got a list");
	assert_error(&e, bad, "6:23: kubernetes.env_from_secrets: expected a list, got a scalar");
	assert_error(&e, bad, "7:30: kubernetes.secret_env.PGPASSWORD: expected SECRET/KEY, got 'nokey'");
	assert_error(&e, bad, "7:40: kubernetes.secret_env.X: 'Bad_Name' is not a Secret name");
	assert_error(&e, bad, "8:19: kubernetes.tolerations: expected a mapping, got a scalar");
	assert_error(&e, bad, "12:35: kubernetes.service_account: 'Upper' is not a Kubernetes name");
	dag_errors_free(&e);
	free(good);
	free(bad);
}

static void
test_cycles_duplicates_missing(void **state)
{
	struct dag_errors e = {0};
	char *cyc = write_file("cyc.yaml",
	    "dag_id: cyc\n"
	    "tasks:\n"
	    "  a:\n"                        /* 3:3 */
	    "    command: [\"true\"]\n"
	    "    depends_on: [c]\n"
	    "  b:\n"
	    "    command: [\"true\"]\n"
	    "    depends_on: [a]\n"
	    "  c:\n"
	    "    command: [\"true\"]\n"
	    "    depends_on: [b]\n");
	char *dup = write_file("dup.yaml",
	    "dag_id: dup\n"
	    "dag_id: dup2\n"                /* 2:1 */
	    "tasks:\n"
	    "  a:\n"
	    "    command: [\"true\"]\n"
	    "  a:\n"                        /* 6:3 */
	    "    command: [\"true\"]\n");
	char *missing = write_file("missing.yaml", "dag_id: x\n");
	char *syntax = write_file("syntax.yaml", "dag_id: [unclosed\ntasks: {}\n");

	(void)state;
	assert_null(dag_load_file(cyc, &e));
	assert_error(&e, cyc, "3:3: cycle: b -> c -> a -> b");
	assert_null(dag_load_file(dup, &e));
	assert_error(&e, dup, "2:1: duplicate key 'dag_id'");
	assert_error(&e, dup, "6:3: duplicate key 'a'");
	assert_null(dag_load_file(missing, &e));
	assert_error(&e, missing, "1:1: missing required key 'tasks'");
	assert_null(dag_load_file(syntax, &e));
	assert_error(&e, syntax, "2:");
	assert_non_null(strstr(e.msgs.v[e.msgs.n - 1], "YAML:"));
	dag_errors_free(&e);
	free(cyc);
	free(dup);
	free(missing);
	free(syntax);
}

static void
test_defaults_inheritance_graph(void **state)
{
	const char *text =
	    "dag_id: good\n"
	    "schedule: \"@daily\"\n"
	    "start_date: 2024-01-01\n"
	    "tags: [x, y]\n"
	    "params: {n: 3, p: +4, q: +-4}\n"
	    "tasks:\n"
	    "  last:\n"
	    "    command: [\"true\"]\n"
	    "    depends_on: [mid1, mid2]\n"
	    "    retries: +7\n"
	    "    env: {B: \"2\"}\n"
	    "  mid1:\n"
	    "    command: [\"true\"]\n"
	    "    depends_on: first\n"
	    "  mid2:\n"
	    "    command: [\"true\"]\n"
	    "    depends_on: [first]\n"
	    "    trigger_rule: all_done\n"
	    "  first:\n"
	    "    command: [sh, -c, 'exit 0', 3]\n"
	    "default_args:\n"
	    "  retries: 2\n"
	    "  retry_delay: 1m\n"
	    "  pool: p\n"
	    "  env: {A: \"1\", B: \"1\"}\n";
	char *path = write_file("good.yaml", text);
	struct dag_errors e = {0};
	struct dag *d = dag_load_file(path, &e);
	char cmd[512], want[65] = {0};
	FILE *p;

	(void)state;
	if (d == NULL)
		fail_msg("%s", e.msgs.n ? e.msgs.v[0] : "?");
	assert_string_equal(d->dag_id, "good");
	assert_int_equal(d->catchup, 1);
	assert_int_equal(d->max_active_runs, 16);
	assert_int_equal(d->max_active_tasks, 16);
	assert_int_equal(d->tags.n, 2);
	assert_int_equal(cJSON_GetObjectItem(d->params, "n")->valueint, 3);
	/* YAML's integers may carry a '+' */
	assert_int_equal(cJSON_GetObjectItem(d->params, "p")->valueint, 4);
	assert_string_equal(cJSON_GetObjectItem(d->params, "q")->valuestring, "+-4");
	/* default_args comes after the tasks in the file and still applies */
	ssize_t last = dag_task_index(d, "last"), first = dag_task_index(d, "first");
	assert_int_equal(d->tasks[last].args.retries, 7);
	assert_int_equal(d->tasks[first].args.retries, 2);
	assert_int_equal(d->tasks[first].args.retry_delay, 60);
	assert_string_equal(d->tasks[first].args.pool, "p");
	assert_string_equal(d->tasks[first].args.executor, "local");
	assert_int_equal(d->tasks[last].args.n_env, 2);
	assert_string_equal(d->tasks[last].args.env[1].value, "2");   /* B overridden */
	assert_string_equal(d->tasks[first].command.v[3], "3");       /* number as text */
	assert_int_equal(d->tasks[dag_task_index(d, "mid2")].trigger_rule, TRIGGER_ALL_DONE);
	/* topological order: first, then mid1/mid2 in file order, then last */
	assert_string_equal(d->tasks[d->topo[0]].task_id, "first");
	assert_string_equal(d->tasks[d->topo[1]].task_id, "mid1");
	assert_string_equal(d->tasks[d->topo[2]].task_id, "mid2");
	assert_string_equal(d->tasks[d->topo[3]].task_id, "last");
	assert_int_equal(d->tasks[first].n_downstream, 2);
	assert_int_equal(d->tasks[last].n_upstream, 2);
	/* the file hash equals what sha256sum says */
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%64s", want), 1);
	pclose(p);
	assert_string_equal(d->file_hash, want);
	dag_free(d);
	free(path);
}

/* The YAML the loader reads itself from libyaml's events: anchors and
 * aliases resolve as in libyaml's loader (yaml_parser_load), with its
 * errors (a duplicate anchor named, with both places); a file holds one
 * document (a second, even a broken one, was ignored); template errors in
 * a one-line scalar point at the "{{", in a longer scalar at the scalar;
 * an alias inside the node it names is an error
 * (it recursed without end).  Positions worked out by hand from the texts. */
static void
test_yaml_aliases_and_positions(void **state)
{
	char *anchors = write_file("anchors.yaml",
	    "dag_id: anch\n"
	    "default_args: &d\n"
	    "  retries: 2\n"
	    "  env: &e {A: \"1\", B: \"2\"}\n"
	    "tasks:\n"
	    "  a: &body\n"
	    "    command: &c [echo, \"{{ ds }}\"]\n"
	    "    env: *e\n"
	    "  b: *body\n"
	    "  c:\n"
	    "    command: *c\n"
	    "    depends_on: [a, b]\n"
	    "    resources: &r {requests: {cpu: \"1\", memory: 1Gi}, limits: {cpu: 2}}\n"
	    "  d:\n"
	    "    command: [x]\n"
	    "    resources: *r\n"
	    "...\n");
	char *undef = write_file("undef.yaml",
	    "dag_id: u\n"
	    "tasks:\n"
	    "  a:\n"
	    "    command: *nope\n");               /* 4:14 */
	char *twice = write_file("twice.yaml",
	    "dag_id: &x u\n"
	    "tasks: &x\n"                         /* 2:8 */
	    "  a:\n"
	    "    command: [x]\n");
	char *rec = write_file("rec.yaml",          /* crashed the loader */
	    "dag_id: r\n"
	    "params: &p {a: *p}\n"                /* 2:16 */
	    "tasks: {a: {command: [x]}}\n");
	char *docs = write_file("docs.yaml",
	    "--- # one document, explicitly started, then a second\n"
	    "dag_id: two\n"
	    "tasks: {a: {command: [x]}}\n"
	    "---\n"                               /* 4:1 */
	    "dag_id: [not read\n");
	char *multi = write_file("multi.yaml",
	    "dag_id: ml\n"
	    "tasks:\n"
	    "  a:\n"
	    "    command:\n"
	    "      - |\n"                         /* 5:9, the scalar */
	    "        echo {{ bad }}\n"
	    "      - \"quoted {{ nope }}\"\n"     /* 7:17, the {{ */
	    "      - \"two\n"                     /* 8:9, the scalar */
	    "        lines {{ q }}\"\n"
	    "      - plain {{ zz }}\n");          /* 10:15, the {{ */
	struct dag_errors e = {0};
	struct dag *d = dag_load_file(anchors, &e);
	const struct dag_task *b, *c, *dt;

	(void)state;
	if (d == NULL)
		fail_msg("%s", e.msgs.n ? e.msgs.v[0] : "?");
	b = &d->tasks[dag_task_index(d, "b")];
	c = &d->tasks[dag_task_index(d, "c")];
	dt = &d->tasks[dag_task_index(d, "d")];
	assert_int_equal(d->n_tasks, 4);
	assert_int_equal(b->command.n, 2);                      /* a's body */
	assert_string_equal(b->command.v[1], "{{ ds }}");
	assert_int_equal(b->args.n_env, 2);
	assert_string_equal(b->args.env[1].value, "2");
	assert_int_equal(b->line, 9);
	assert_string_equal(c->command.v[0], "echo");           /* a's command */
	assert_int_equal(c->n_upstream, 2);
	assert_int_equal(c->args.retries, 2);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    dt->args.resources, "requests"), "memory")), "1Gi");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(dt->args.resources, "limits"),
	    "cpu")->valueint, 2);
	dag_free(d);

	assert_null(dag_load_file(undef, &e));
	assert_error(&e, undef, "4:14: YAML: found undefined alias");
	assert_null(dag_load_file(twice, &e));
	assert_error(&e, twice, "2:8: YAML: anchor 'x' is defined twice, first at 1:9");
	assert_null(dag_load_file(rec, &e));
	assert_error(&e, rec, "2:16: YAML: found an alias inside the node it names");
	assert_null(dag_load_file(docs, &e));
	assert_error(&e, docs, "4:1: a DAG file holds one YAML document");
	assert_int_equal(e.msgs.n, 4);
	assert_null(dag_load_file(multi, &e));
	assert_error(&e, multi, "5:9: command: template '{{ bad }}' is not allowed");
	assert_error(&e, multi, "7:17: command: template '{{ nope }}' is not allowed");
	assert_error(&e, multi, "8:9: command: template '{{ q }}' is not allowed");
	assert_error(&e, multi, "10:15: command: template '{{ zz }}' is not allowed");
	assert_int_equal(e.msgs.n, 8);
	dag_errors_free(&e);
	free(anchors);
	free(docs);
	free(rec);
	free(undef);
	free(twice);
	free(multi);
}

/* What tasks inherit from default_args is the DAG's one copy, so a task
 * that sets env or resources must change only its own; and the graph of a
 * large DAG, whose lists are slices of one array, is exactly the one
 * written (expected lists from how the text is generated). */
static void
test_shared_defaults_large_graph(void **state)
{
	const size_t n = 3000;
	struct buf text = {0};
	struct dag_errors e = {0};
	struct dag *d;
	char *path, id[32];

	(void)state;
	buf_puts(&text, "dag_id: big\n"
	    "default_args:\n"
	    "  env: {A: \"1\", B: \"1\"}\n"
	    "  resources: {requests: {cpu: \"1\"}}\n"
	    "  pool: p\n"
	    "tasks:\n");
	for (size_t k = 0; k < n; k++) {
		buf_printf(&text, "  t%zu:\n    command: [run, \"t%zu\"]\n", k, k % 7);
		if (k >= 1)     /* t0 twice and a repeat: each upstream task once */
			buf_printf(&text, "    depends_on: [t%zu, t0, t%zu]\n", k - 1, k - 1);
		if (k == 1)
			buf_puts(&text, "    env: {B: \"2\"}\n");
		if (k == 2)
			buf_puts(&text, "    env: {C: \"3\"}\n    pool: q\n");
		if (k == 3)
			buf_puts(&text, "    resources: {limits: {cpu: \"2\"}}\n");
	}
	path = write_file("big.yaml", text.data);
	d = dag_load_file(path, &e);
	if (d == NULL)
		fail_msg("%s", e.msgs.n ? e.msgs.v[0] : "?");
	assert_int_equal(d->n_tasks, n);
	/* t1 overrode B, t2 added C: neither touched the defaults or t0 */
	assert_int_equal(d->tasks[0].args.n_env, 2);
	assert_string_equal(d->tasks[0].args.env[1].value, "1");
	assert_int_equal(d->tasks[1].args.n_env, 2);
	assert_string_equal(d->tasks[1].args.env[1].value, "2");
	assert_int_equal(d->tasks[2].args.n_env, 3);
	assert_string_equal(d->tasks[2].args.env[2].key, "C");
	assert_string_equal(d->tasks[2].args.pool, "q");
	assert_string_equal(d->tasks[4].args.pool, "p");
	assert_int_equal(d->defaults.n_env, 2);
	assert_string_equal(d->defaults.env[1].value, "1");
	assert_null(cJSON_GetObjectItem(d->tasks[3].args.resources, "requests"));
	assert_non_null(cJSON_GetObjectItem(d->tasks[4].args.resources, "requests"));
	assert_null(cJSON_GetObjectItem(d->tasks[4].args.resources, "limits"));
	for (size_t k = 0; k < n; k++) {
		const struct dag_task *t = &d->tasks[k];

		snprintf(id, sizeof(id), "t%zu", k);
		assert_string_equal(t->task_id, id);
		assert_int_equal(dag_task_index(d, id), k);
		assert_int_equal(d->topo[k], k);
		assert_int_equal(t->command.n, 2);
		snprintf(id, sizeof(id), "t%zu", k % 7);
		assert_string_equal(t->command.v[1], id);
		assert_null(t->command.v[2]);                   /* argv ends with NULL */
		assert_int_equal(t->n_upstream, k == 0 ? 0 : k == 1 ? 1 : 2);
		if (k >= 1)
			assert_int_equal(t->upstream[0], k - 1);
		if (k >= 2)
			assert_int_equal(t->upstream[1], 0);
		assert_int_equal(t->n_downstream, k == 0 ? n - 1 : k == n - 1 ? 0 : 1);
		if (k >= 1 && k < n - 1)
			assert_int_equal(t->downstream[0], k + 1);
	}
	for (size_t k = 1; k < n; k++)                        /* in file order */
		assert_int_equal(d->tasks[0].downstream[k - 1], k);
	assert_int_equal(dag_task_index(d, "t3000"), -1);
	assert_int_equal(dag_task_index(d, ""), -1);
	dag_free(d);
	buf_free(&text);
	free(path);
}

/* Duplicate keys in mappings large enough to be checked through a hash
 * (a DAG's tasks, a long env): reported at the repeat, as in small ones. */
static void
test_duplicates_in_large_mappings(void **state)
{
	struct buf text = {0};
	struct dag_errors e = {0};
	char *path;

	(void)state;
	buf_puts(&text, "dag_id: big\ntasks:\n");
	for (int i = 0; i < 40; i++)                            /* lines 3-42 */
		buf_printf(&text, "  t%d: {command: [x]}\n", i);
	buf_puts(&text, "  t7: {command: [y]}\n");              /* 43:3 */
	buf_puts(&text, "  e:\n    command: [x]\n    env: {");
	for (int i = 0; i < 20; i++)                            /* K0-K9: 7 chars, */
		buf_printf(&text, "K%d: v, ", i);               /* K10-K19: 8 */
	buf_puts(&text, "K3: w}\n");                            /* 46:(10+70+80+1) */
	path = write_file("dups.yaml", text.data);
	assert_null(dag_load_file(path, &e));
	assert_error(&e, path, "43:3: duplicate key 't7'");
	assert_error(&e, path, "46:161: duplicate key 'K3'");
	assert_int_equal(e.msgs.n, 2);
	dag_errors_free(&e);
	buf_free(&text);
	free(path);
}

/* Appends n copies of s to b. */
static void
repeat(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_puts(b, s);
}

/* Collections nest at most 100 deep, aliases followed (node_json recursed
 * once a level: 200,000 levels overflowed the stack; libyaml's time grows
 * with the square of the depth, so parsing stops at the first too deep). */
static void
test_nesting_depth(void **state)
{
	struct buf deep = {0}, viaalias = {0}, ok = {0};
	struct dag_errors e = {0};
	char *p1, *p2, *p3;
	struct dag *d;

	(void)state;
	buf_puts(&deep, "dag_id: deep\nparams: {x: ");
	repeat(&deep, "[", 10000);
	repeat(&deep, "]", 10000);
	buf_puts(&deep, "}\ntasks: {a: {command: [x]}}\n");
	buf_puts(&viaalias, "dag_id: deep\nparams:\n  a: &a ");
	repeat(&viaalias, "[", 60);
	repeat(&viaalias, "]", 60);
	buf_puts(&viaalias, "\n  b: ");
	repeat(&viaalias, "[", 50);
	buf_puts(&viaalias, "*a");                  /* 4:56, 52 + 60 deep */
	repeat(&viaalias, "]", 50);
	buf_puts(&viaalias, "\ntasks: {a: {command: [x]}}\n");
	/* the root, params and 98 lists; 2 + 38 lists + a's 60 */
	buf_puts(&ok, "dag_id: ok\nparams:\n  x: ");
	repeat(&ok, "[", 98);
	repeat(&ok, "]", 98);
	buf_puts(&ok, "\n  a: &a ");
	repeat(&ok, "[", 60);
	repeat(&ok, "]", 60);
	buf_puts(&ok, "\n  b: ");
	repeat(&ok, "[", 38);
	buf_puts(&ok, "*a");
	repeat(&ok, "]", 38);
	buf_puts(&ok, "\ntasks: {a: {command: [x]}}\n");
	p1 = write_file("deep.yaml", deep.data);
	p2 = write_file("deepalias.yaml", viaalias.data);
	p3 = write_file("deepok.yaml", ok.data);
	assert_null(dag_load_file(p1, &e));
	/* 2:13 is the first '[', the 99th is the 101st collection */
	assert_error(&e, p1, "2:111: collections nested deeper than 100 levels");
	assert_int_equal(e.msgs.n, 1);
	assert_null(dag_load_file(p2, &e));
	assert_error(&e, p2, "4:56: collections nested deeper than 100 levels");
	assert_int_equal(e.msgs.n, 2);
	d = dag_load_file(p3, &e);
	if (d == NULL)
		fail_msg("%s", e.msgs.v[e.msgs.n - 1]);
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(d->params, "b")));
	dag_free(d);
	dag_errors_free(&e);
	buf_free(&deep);
	buf_free(&viaalias);
	buf_free(&ok);
	free(p1);
	free(p2);
	free(p3);
}

/* "Billion laughs": aliases share nodes, but params, resources and
 * kubernetes are copied out of the tree, aliases expanded (8 levels of 10
 * aliases to the level before reached 13 GB).  What aliases repeat is
 * bounded: a..d repeat 110 + 1,110 + 11,110 nodes, e's 8th alias of d
 * (11,111 nodes) passes 100,000; deeper levels would stop at the same. */
static void
test_alias_expansion(void **state)
{
	char *path = write_file("lol.yaml",
	    "dag_id: lol\n"
	    "params:\n"
	    "  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "  e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"     /* 7:35 */
	    "tasks: {t: {command: [x]}}\n");
	struct dag_errors e = {0};

	(void)state;
	assert_null(dag_load_file(path, &e));
	assert_error(&e, path, "7:35: alias 'd': aliases repeat more than 100000 nodes in all");
	assert_int_equal(e.msgs.n, 1);
	dag_errors_free(&e);
	free(path);
}

/* A file with many problems: the first 100 messages, then a count of the
 * rest. */
static void
test_errors_capped(void **state)
{
	struct buf b = {0};
	struct dag_errors e = {0};
	char *path, *last;

	(void)state;
	buf_puts(&b, "dag_id: many\ntasks:\n  t:\n    command: [x]\n");
	for (int i = 0; i < 150; i++)
		buf_printf(&b, "    bogus%d: 1\n", i);
	path = write_file("many.yaml", b.data);
	assert_null(dag_load_file(path, &e));
	assert_int_equal(e.msgs.n, 101);
	assert_error(&e, path, "104:5: ");	/* the 100th: bogus99 */
	last = xasprintf("%s: 50 more errors not shown", path);
	assert_string_equal(e.msgs.v[100], last);
	free(last);
	dag_errors_free(&e);
	free(path);
	buf_free(&b);
}

/* Each task that sets env copies default_args.env: 2,000 inherited keys
 * and 600 tasks with their own key would hold 1.2 million entries, past
 * the bound; the error is said once, at the key that passes it (t498's
 * first key: the DAG's 2,000 and 499 copies of 2,001 pass 1,000,000).  An overriding
 * key replaces the inherited one. */
static void
test_env_copies(void **state)
{
	struct buf b = {0};
	struct dag_errors e = {0};
	struct dag *d;
	char *path, *pos;

	(void)state;
	buf_puts(&b, "dag_id: envs\ndefault_args:\n  env:\n");
	for (int i = 0; i < 2000; i++)
		buf_printf(&b, "    K%d: v\n", i);
	buf_puts(&b, "tasks:\n");
	for (int t = 0; t < 600; t++)
		buf_printf(&b, "  t%d: {command: [x], env: {K7: mine, X: y}}\n", t);
	path = write_file("envs.yaml", b.data);
	assert_null(dag_load_file(path, &e));
	pos = xasprintf("%d:30: env: the tasks' environments hold more than 1000000 variables",
	    2004 + 498 + 1);
	assert_error(&e, path, pos);
	assert_int_equal(e.msgs.n, 1);
	dag_errors_free(&e);
	free(pos);
	free(path);
	buf_reset(&b);
	buf_puts(&b, "dag_id: env1\ndefault_args:\n  env: {K7: v, K8: w}\n"
	    "tasks:\n  t: {command: [x], env: {K7: mine}}\n");
	path = write_file("env1.yaml", b.data);
	d = dag_load_file(path, &e);
	assert_non_null(d);
	assert_int_equal(d->tasks[0].args.n_env, 2);
	assert_string_equal(d->tasks[0].args.env[0].key, "K7");
	assert_string_equal(d->tasks[0].args.env[0].value, "mine");
	dag_free(d);
	free(path);
	buf_free(&b);
}

/* Anchors are found through a hash (100,000 anchors took 16 s when each
 * anchor and alias compared the names before it): 100,000 anchors and
 * 50,000 aliases resolve, each to its own anchor.  (No time is asserted:
 * a timed assertion failed under valgrind on a busy machine.) */
static void
test_many_anchors(void **state)
{
	const int n = 100000;
	struct buf text = {0};
	struct dag_errors e = {0};
	struct dag *d;
	const cJSON *item;
	int aliases = 0;
	char *path;

	(void)state;
	buf_puts(&text, "dag_id: anchors\nparams:\n");
	for (int i = 0; i < n; i++)
		buf_printf(&text, "  a%d: &a%d %d\n", i, i, i);
	for (int i = 0; i < n; i += 2)
		buf_printf(&text, "  b%d: *a%d\n", i, i);
	buf_puts(&text, "tasks: {t: {command: [x]}}\n");
	path = write_file("manyanchors.yaml", text.data);
	d = dag_load_file(path, &e);
	if (d == NULL)
		fail_msg("%s", e.msgs.v[0]);
	cJSON_ArrayForEach(item, d->params) {
		if (item->string[0] == 'b') {
			assert_int_equal(item->valueint, atoi(item->string + 1));
			aliases++;
		}
	}
	assert_int_equal(aliases, n / 2);
	dag_free(d);
	buf_free(&text);
	free(path);
}

/* A NUL in a scalar (an escape in a quoted one) would cut the string
 * short where C reads it: an error, wherever it is. */
static void
test_nul_in_string(void **state)
{
	char *cmd = write_file("nul.yaml",
	    "dag_id: nul\n"
	    "tasks:\n"
	    "  a: {command: [\"rm\\0 -rf /\"]}\n");     /* 3:17 */
	char *key = write_file("nulkey.yaml",
	    "dag_id: nul\n"
	    "params: {\"a\\x00b\": 1}\n"               /* 2:10 */
	    "tasks: {a: {command: [x]}}\n");
	struct dag_errors e = {0};

	(void)state;
	assert_null(dag_load_file(cmd, &e));
	assert_error(&e, cmd, "3:17: NUL character in a string");
	assert_null(dag_load_file(key, &e));
	assert_error(&e, key, "2:10: NUL character in a string");
	assert_int_equal(e.msgs.n, 2);
	dag_errors_free(&e);
	free(cmd);
	free(key);
}

/* libyaml's reader errors (bad UTF-8, control characters) come with a
 * byte offset, not a mark: they were all reported at 1:1.  The column
 * counts characters, as libyaml's marks do (the e-acute is 2 bytes). */
static void
test_reader_errors(void **state)
{
	char *utf8 = write_file("utf8.yaml",
	    "dag_id: x\n"
	    "tasks:\n"
	    "  a: {command: [\"\xc3\xa9\xff\"]}\n");    /* 3:19 */
	char *ctrl = write_file("ctrl.yaml",
	    "dag_id: x\n"
	    "description: \"bell\x07\"\n"              /* 2:19 */
	    "tasks: {a: {command: [x]}}\n");
	struct dag_errors e = {0};

	(void)state;
	assert_null(dag_load_file(utf8, &e));
	assert_error(&e, utf8, "3:19: YAML: invalid leading UTF-8 octet");
	assert_null(dag_load_file(ctrl, &e));
	assert_error(&e, ctrl, "2:19: YAML: control characters are not allowed");
	assert_int_equal(e.msgs.n, 2);
	dag_errors_free(&e);
	free(utf8);
	free(ctrl);
}

/* params, resources and kubernetes were copied out without the key
 * checks every other mapping has: a duplicate key was kept twice, a
 * non-string key became "?", a merge key a literal "<<".  The merge key
 * is refused everywhere (a quoted "<<" is an ordinary key). */
static void
test_json_keys(void **state)
{
	char *path = write_file("keys.yaml",
	    "dag_id: keys\n"
	    "params:\n"
	    "  base: &b {x: 1}\n"
	    "  n: 1\n"
	    "  n: 2\n"                                            /* 5:3 */
	    "  m: {<<: *b, y: 2}\n"                               /* 6:7 */
	    "  \"<<\": quoted is a plain key\n"
	    "  ? [a, b]\n"                                        /* 8:5 */
	    "  : 3\n"
	    "default_args:\n"
	    "  resources: {requests: {cpu: \"1\", cpu: \"2\"}}\n"  /* 11:36 */
	    "  kubernetes: {<<: {service_account: x}}\n"          /* 12:16 */
	    "tasks: {a: {command: [x], <<: *b}}\n");              /* 13:27 */
	struct dag_errors e = {0};

	(void)state;
	assert_null(dag_load_file(path, &e));
	assert_error(&e, path, "5:3: duplicate key 'n'");
	assert_error(&e, path, "6:7: merge keys are not supported");
	assert_error(&e, path, "8:5: keys must be strings, got a list");
	assert_error(&e, path, "11:36: duplicate key 'cpu'");
	assert_error(&e, path, "12:16: merge keys are not supported");
	assert_error(&e, path, "13:27: merge keys are not supported");
	assert_int_equal(e.msgs.n, 6);
	dag_errors_free(&e);
	free(path);
}

/* Plain integers of 2^53 or more in magnitude became doubles in params
 * (rounded, and then not renderable); they are kept as their text, so a
 * template renders them exactly, as Airflow does. */
static void
test_large_integers(void **state)
{
	char *path = write_file("ints.yaml",
	    "dag_id: ints\n"
	    "params:\n"
	    "  big: 9007199254740993\n"                  /* 2^53 + 1 */
	    "  two53: 9007199254740992\n"
	    "  min: -9223372036854775808\n"
	    "  huge: 123456789012345678901234567890\n"
	    "  max: 9007199254740991\n"                  /* 2^53 - 1: a number */
	    "  neg: -9007199254740991\n"
	    "tasks: {a: {command: [x]}}\n");
	struct dag_errors e = {0};
	struct dag *d = dag_load_file(path, &e);
	struct template_ctx ctx = { .dag_id = "ints" };
	char err[256], *out = NULL;

	(void)state;
	if (d == NULL)
		fail_msg("%s", e.msgs.v[0]);
	ctx.params = d->params;
	assert_int_equal(template_render("{{ params.big }} {{ params.two53 }} {{ params.min }} "
	    "{{ params.huge }} {{ params.max }} {{ params.neg }}", &ctx, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "9007199254740993 9007199254740992 -9223372036854775808 "
	    "123456789012345678901234567890 9007199254740991 -9007199254740991");
	assert_true(cJSON_IsString(cJSON_GetObjectItem(d->params, "big")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(d->params, "max")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(d->params, "neg")));
	free(out);
	dag_free(d);
	free(path);
}

/* Tolerations go into the pod as written and were only checked to be
 * mappings; they are checked as the Kubernetes API checks a Toleration.
 * resources holds requests and limits of quantities, nothing else. */
static void
test_tolerations_resources(void **state)
{
	char *good = write_file("tolgood.yaml",
	    "dag_id: tolgood\n"
	    "default_args:\n"
	    "  executor: kubernetes\n"
	    "  resources: {requests: {cpu: 500m, nvidia.com/gpu: 1}, limits: {cpu: 2.5}}\n"
	    "  kubernetes:\n"
	    "    tolerations:\n"
	    "      - {key: dedicated, operator: Equal, value: etl, effect: NoSchedule}\n"
	    "      - {operator: Exists}\n"
	    "      - {key: k, operator: Exists, effect: NoExecute, tolerationSeconds: 300}\n"
	    "      - {key: k, value: \"1\", effect: \"\"}\n"
	    "tasks: {a: {command: [x]}}\n");
	char *bad = write_file("tolbad.yaml",
	    "dag_id: tolbad\n"
	    "default_args:\n"
	    "  resources:\n"
	    "    requests: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: 1, ephemeral-storage: 1.5Gi}\n"
	    "    limits: {memory: true, cpu: [1]}\n"                          /* 5:22, 5:33 */
	    "    request: {cpu: 1}\n"                                         /* 6:5 */
	    "  kubernetes:\n"
	    "    tolerations:\n"
	    "      - {key: dedicated, operator: Equal, value: etl, effect: NoSchedule}\n"
	    "      - {operator: Exists}\n"
	    "      - {key: k, operator: In, value: 1, effect: NoRun}\n"      /* 11:28, 39, 50 */
	    "      - {key: k, tolerationSeconds: soon, extra: x}\n"          /* 12:37, 12:43 */
	    "      - {key: k, operator: Exists, value: v}\n"                 /* 13:9 */
	    "      - {value: v}\n"                                           /* 14:9 */
	    "      - {key: k, effect: NoSchedule, tolerationSeconds: 60}\n"  /* 15:57 */
	    "tasks: {a: {command: [x]}}\n");
	struct dag_errors e = {0};
	const cJSON *r, *t;
	struct dag *d;

	(void)state;
	d = dag_load_file(good, &e);
	if (d == NULL)
		fail_msg("%s", e.msgs.v[0]);
	r = d->tasks[0].args.resources;
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "requests"),
	    "nvidia.com/gpu")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "limits"),
	    "cpu")->valuestring, "2.5");
	t = cJSON_GetObjectItem(d->tasks[0].args.kubernetes, "tolerations");
	assert_int_equal(cJSON_GetArraySize(t), 4);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(t, 2),
	    "tolerationSeconds")->valueint, 300);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(t, 3), "value")->valuestring,
	    "1");
	dag_free(d);
	assert_null(dag_load_file(bad, &e));
	assert_error(&e, bad, "5:22: resources.limits.memory: expected a quantity (a string or "
	    "a number), got true");
	assert_error(&e, bad, "5:33: resources.limits.cpu: expected a quantity (a string or "
	    "a number), got a list");
	assert_error(&e, bad, "6:5: unknown key 'request' in resources (did you mean 'requests'?)");
	assert_error(&e, bad, "11:28: kubernetes.tolerations.operator: expected Exists or Equal, "
	    "got 'In'");
	assert_error(&e, bad, "11:39: kubernetes.tolerations.value: expected a string, got 1");
	assert_error(&e, bad, "11:50: kubernetes.tolerations.effect: expected NoSchedule, "
	    "PreferNoSchedule, NoExecute or \"\" (every effect), got 'NoRun'");
	assert_error(&e, bad, "12:37: kubernetes.tolerations.tolerationSeconds: expected an "
	    "integer, got 'soon'");
	assert_error(&e, bad, "12:43: unknown key 'extra' in a toleration");
	assert_error(&e, bad, "13:9: kubernetes.tolerations: with operator Exists, value must "
	    "be empty");
	assert_error(&e, bad, "14:9: kubernetes.tolerations: without a key, operator must be "
	    "Exists");
	assert_error(&e, bad, "15:57: kubernetes.tolerations.tolerationSeconds: only with effect "
	    "NoExecute");
	assert_int_equal(e.msgs.n, 11);
	dag_errors_free(&e);
	free(good);
	free(bad);
}

static void
test_folder(void **state)
{
	struct dag_errors e = {0};
	struct dag **dags = NULL;
	size_t n = 0;
	char *sub = xasprintf("%s/folder", dir);
	char *a, *b, *c, *d;

	(void)state;
	fs_mkdir_p(sub);
	a = xasprintf("%s/a.yaml", sub);
	b = xasprintf("%s/b.yml", sub);
	c = xasprintf("%s/c.yaml", sub);
	d = xasprintf("%s/d.yaml", sub);
	fs_write_atomic(a, "dag_id: one\ntasks: {t: {command: [\"true\"]}}\n", 44, 0);
	fs_write_atomic(b, "dag_id: two\ntasks: {t: {command: [\"true\"]}}\n", 44, 0);
	fs_write_atomic(c, "dag_id: three\ntasks: {t: {command: oops}}\n", 42, 0);
	fs_write_atomic(d, "dag_id: one\ntasks: {t: {command: [\"true\"]}}\n", 44, 0);
	assert_int_equal(dag_load_folder(sub, &dags, &n, &e), 0);
	assert_int_equal(n, 2);                 /* the bad file stops no other */
	assert_string_equal(dags[0]->dag_id, "one");
	assert_string_equal(dags[1]->dag_id, "two");
	assert_int_equal(e.msgs.n, 2);
	assert_error(&e, c, "2:");
	assert_error(&e, d, "1:1: dag_id 'one' is already defined in");
	for (size_t i = 0; i < n; i++)
		dag_free(dags[i]);
	free(dags);
	dag_errors_free(&e);
	assert_int_equal(dag_load_folder("/nonexistent-sta-folder", &dags, &n, &e), -1);
	assert_int_equal(e.msgs.n, 1);
	free(dags);
	dag_errors_free(&e);
	free(a);
	free(b);
	free(c);
	free(d);
	free(sub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_every_error_with_position),
		cmocka_unit_test(test_cycles_duplicates_missing),
		cmocka_unit_test(test_kubernetes_block),
		cmocka_unit_test(test_defaults_inheritance_graph),
		cmocka_unit_test(test_yaml_aliases_and_positions),
		cmocka_unit_test(test_shared_defaults_large_graph),
		cmocka_unit_test(test_duplicates_in_large_mappings),
		cmocka_unit_test(test_nesting_depth),
		cmocka_unit_test(test_alias_expansion),
		cmocka_unit_test(test_env_copies),
		cmocka_unit_test(test_errors_capped),
		cmocka_unit_test(test_many_anchors),
		cmocka_unit_test(test_nul_in_string),
		cmocka_unit_test(test_reader_errors),
		cmocka_unit_test(test_json_keys),
		cmocka_unit_test(test_large_integers),
		cmocka_unit_test(test_tolerations_resources),
		cmocka_unit_test(test_folder),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
