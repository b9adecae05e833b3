/*
 * cmd_dags.c: `sta dags list|show|validate|trigger|backfill|pause|unpause|
 * test`, and the helpers every command file shares.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "runner/cmd.h"
#include "runner/duration.h"
#include "runner/ops.h"
#include "runner/sched.h"

struct store *
cmd_store_open(const struct cli_env *env)
{
	char *db = xasprintf("%s/sta.db", env->home);
	struct store *st = store_open(db);

	free(db);
	return st;
}

struct dag *
cmd_dag_load(const struct cli_env *env, const char *dag_id)
{
	struct dag_errors errs = {0};
	struct dag **dags = NULL, *found = NULL;
	size_t n = 0;

	if (dag_load_folder(env->dags_folder, &dags, &n, &errs) != 0) {
		for (size_t i = 0; i < errs.msgs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs.v[i]);
		dag_errors_free(&errs);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (found == NULL && strcmp(dags[i]->dag_id, dag_id) == 0)
			found = dags[i];
		else
			dag_free(dags[i]);
	}
	free(dags);
	if (found == NULL) {
		fprintf(stderr, "sta: no DAG '%s' in %s", dag_id, env->dags_folder);
		if (errs.msgs.n > 0)
			fprintf(stderr, " (some files have errors: sta dags validate)");
		fprintf(stderr, "\n");
	}
	dag_errors_free(&errs);
	return found;
}

int
cmd_dag_and_store(const struct cli_env *env, const char *dag_id, struct dag **dag,
    struct store **st)
{
	*st = NULL;
	*dag = cmd_dag_load(env, dag_id);
	if (*dag == NULL)
		return EX_DATAERR;
	*st = cmd_store_open(env);
	if (*st == NULL) {
		dag_free(*dag);
		*dag = NULL;
		return EX_UNAVAILABLE;
	}
	return 0;
}

struct by_date {
	sta_time t;
	struct store_run *out;
	int found;
};

static int
by_date_cb(void *arg, const struct store_run *r)
{
	struct by_date *f = arg;

	if (f->found || r->logical_date != f->t)
		return 0;
	f->found = 1;
	f->out->pk = r->pk;
	f->out->dag_id = xstrdup(r->dag_id);
	f->out->run_id = xstrdup(r->run_id);
	f->out->run_type = xstrdup(r->run_type);
	f->out->logical_date = r->logical_date;
	f->out->data_interval_start = r->data_interval_start;
	f->out->data_interval_end = r->data_interval_end;
	f->out->state = r->state;
	f->out->conf = r->conf ? xstrdup(r->conf) : NULL;
	f->out->created_ms = r->created_ms;
	f->out->start_ms = r->start_ms;
	f->out->end_ms = r->end_ms;
	return 0;
}

int
cmd_run_find(struct store *st, const char *dag_id, const char *which,
    struct store_run *out)
{
	struct by_date f = { 0, out, 0 };
	int rc = store_run_get(st, dag_id, which, out);

	if (rc == STORE_NOT_FOUND && time_parse(which, &f.t) == 0) {
		if (store_runs_list(st, dag_id, -1, 0, 0, by_date_cb, &f) != 0)
			return EX_UNAVAILABLE;
		rc = f.found ? 0 : STORE_NOT_FOUND;
	}
	if (rc == 0)
		return 0;
	if (rc == STORE_NOT_FOUND)
		fprintf(stderr, "sta: DAG %s has no run '%s' (sta runs list %s)\n",
		    dag_id, which, dag_id);
	return rc == STORE_NOT_FOUND ? EX_DATAERR : EX_UNAVAILABLE;
}

void
cmd_print_json(cJSON *v)
{
	char *s = cJSON_Print(v);

	puts(s);
	free(s);
	cJSON_Delete(v);
}

void
cmd_format_ms(int64_t ms, char *out)
{
	if (ms == 0)
		out[0] = '\0';
	else
		time_format_iso(ms / 1000, out);
}

int
cmd_run_foreground(const struct cli_env *env, const int64_t *runs, size_t n)
{
	struct sched_opts o = {
		.home = env->home, .dags_folder = env->dags_folder,
		.only_runs = runs, .n_only_runs = n,
	};

	return sched_main(&o);
}
/* ------------------------------------------------------------ dags list */

static cJSON *
dag_summary_json(const struct dag *dag, const struct store_dag *row)
{
	cJSON *o = cJSON_CreateObject(), *tags = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "dag_id", dag->dag_id);
	cJSON_AddStringToObject(o, "fileloc", dag->fileloc);
	if (dag->schedule != NULL)
		cJSON_AddStringToObject(o, "schedule", schedule_text(dag->schedule));
	else
		cJSON_AddNullToObject(o, "schedule");
	cJSON_AddBoolToObject(o, "is_paused", row != NULL && row->is_paused);
	for (size_t i = 0; i < dag->tags.n; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(dag->tags.v[i]));
	cJSON_AddItemToObject(o, "tags", tags);
	cJSON_AddNumberToObject(o, "tasks", (double)dag->n_tasks);
	return o;
}

static int
dags_list(const struct cli_env *env, int argc, char **argv)
{
	struct dag_errors errs = {0};
	struct dag **dags = NULL;
	struct store *st;
	cJSON *arr = cJSON_CreateArray();
	size_t n = 0;

	(void)argc;
	(void)argv;
	if (dag_load_folder(env->dags_folder, &dags, &n, &errs) != 0) {
		for (size_t i = 0; i < errs.msgs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs.v[i]);
		dag_errors_free(&errs);
		cJSON_Delete(arr);
		return EX_NOINPUT;
	}
	st = cmd_store_open(env);
	if (!env->json)
		printf("%-32s %-14s %-6s %s\n", "dag_id", "schedule", "paused", "fileloc");
	for (size_t i = 0; i < n; i++) {
		struct store_dag row = {0};
		int have = st != NULL && store_dag_get(st, dags[i]->dag_id, &row) == 0;

		if (env->json)
			cJSON_AddItemToArray(arr, dag_summary_json(dags[i], have ? &row : NULL));
		else
			printf("%-32s %-14s %-6s %s\n", dags[i]->dag_id,
			    dags[i]->schedule ? schedule_text(dags[i]->schedule) : "None",
			    have && row.is_paused ? "True" : "False", dags[i]->fileloc);
		store_dag_clear(&row);
		dag_free(dags[i]);
	}
	free(dags);
	for (size_t i = 0; i < errs.msgs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs.v[i]);
	if (env->json)
		cmd_print_json(arr);
	else
		cJSON_Delete(arr);
	store_close(st);
	n = errs.msgs.n;
	dag_errors_free(&errs);
	return n > 0 ? EX_DATAERR : 0;
}

/* ------------------------------------------------------------ dags show */

static cJSON *
strv_json(const struct strv *sv)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < sv->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}

static cJSON *
task_json(const struct dag *dag, const struct dag_task *t)
{
	cJSON *o = cJSON_CreateObject(), *up = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "task_id", t->task_id);
	for (size_t u = 0; u < t->n_upstream; u++)
		cJSON_AddItemToArray(up, cJSON_CreateString(dag->tasks[t->upstream[u]].task_id));
	cJSON_AddItemToObject(o, "upstream", up);
	cJSON_AddItemToObject(o, "command", strv_json(&t->command));
	cJSON_AddStringToObject(o, "trigger_rule", trigger_rule_name(t->trigger_rule));
	cJSON_AddNumberToObject(o, "retries", t->args.retries);
	cJSON_AddNumberToObject(o, "retry_delay", (double)t->args.retry_delay);
	cJSON_AddBoolToObject(o, "retry_exponential_backoff", t->args.retry_exponential_backoff);
	cJSON_AddNumberToObject(o, "max_retry_delay", (double)t->args.max_retry_delay);
	cJSON_AddNumberToObject(o, "execution_timeout", (double)t->args.execution_timeout);
	cJSON_AddStringToObject(o, "executor", t->args.executor);
	cJSON_AddStringToObject(o, "pool", t->args.pool);
	cJSON_AddNumberToObject(o, "pool_slots", t->args.pool_slots);
	cJSON_AddNumberToObject(o, "priority_weight", t->args.priority_weight);
	if (t->args.image != NULL)
		cJSON_AddStringToObject(o, "image", t->args.image);
	if (t->args.resources != NULL)
		cJSON_AddItemToObject(o, "resources", cJSON_Duplicate(t->args.resources, 1));
	if (t->args.kubernetes != NULL)
		cJSON_AddItemToObject(o, "kubernetes", cJSON_Duplicate(t->args.kubernetes, 1));
	return o;
}

static int
dags_show(const struct cli_env *env, int argc, char **argv)
{
	struct dag *dag;
	char iso[TIME_ISO_LEN];

	if (argc != 2) {
		fprintf(stderr, "usage: sta dags show DAG_ID [--json]\n");
		return EX_USAGE;
	}
	dag = cmd_dag_load(env, argv[1]);
	if (dag == NULL)
		return EX_DATAERR;
	if (env->json) {
		cJSON *o = dag_summary_json(dag, NULL), *tasks = cJSON_CreateArray();

		cJSON_DeleteItemFromObject(o, "is_paused");
		cJSON_DeleteItemFromObject(o, "tasks");
		if (dag->description != NULL)
			cJSON_AddStringToObject(o, "description", dag->description);
		time_format_iso(dag->start_date, iso);
		cJSON_AddStringToObject(o, "start_date", iso);
		if (dag->has_end_date) {
			time_format_iso(dag->end_date, iso);
			cJSON_AddStringToObject(o, "end_date", iso);
		}
		cJSON_AddBoolToObject(o, "catchup", dag->catchup);
		cJSON_AddNumberToObject(o, "max_active_runs", dag->max_active_runs);
		cJSON_AddNumberToObject(o, "max_active_tasks", dag->max_active_tasks);
		cJSON_AddItemToObject(o, "params", cJSON_Duplicate(dag->params, 1));
		for (size_t i = 0; i < dag->n_tasks; i++)
			cJSON_AddItemToArray(tasks, task_json(dag, &dag->tasks[i]));
		cJSON_AddItemToObject(o, "tasks", tasks);
		cmd_print_json(o);
	} else {
		printf("%s (%s)\n", dag->dag_id,
		    dag->schedule ? schedule_text(dag->schedule) : "manual");
		for (size_t k = 0; k < dag->n_tasks; k++) {
			const struct dag_task *t = &dag->tasks[dag->topo[k]];

			printf("  %s", t->task_id);
			for (size_t u = 0; u < t->n_upstream; u++)
				printf("%s%s", u == 0 ? "  <- " : ", ",
				    dag->tasks[t->upstream[u]].task_id);
			printf("\n");
		}
	}
	dag_free(dag);
	return 0;
}

/* -------------------------------------------------------- dags validate */

static int
dags_validate(const struct cli_env *env, int argc, char **argv)
{
	struct dag_errors errs = {0};
	size_t ok = 0;
	int bad_path = 0;

	if (argc == 1) {
		struct dag **dags = NULL;
		size_t n = 0;

		if (dag_load_folder(env->dags_folder, &dags, &n, &errs) != 0)
			bad_path = 1;
		for (size_t i = 0; i < n; i++)
			dag_free(dags[i]);
		free(dags);
		ok = n;
	}
	for (int i = 1; i < argc; i++) {
		struct stat sb;

		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
			struct dag **dags = NULL;
			size_t n = 0;

			if (dag_load_folder(argv[i], &dags, &n, &errs) != 0)
				bad_path = 1;
			for (size_t j = 0; j < n; j++)
				dag_free(dags[j]);
			free(dags);
			ok += n;
		} else {
			struct dag *dag = dag_load_file(argv[i], &errs);

			ok += dag != NULL;
			dag_free(dag);
		}
	}
	for (size_t i = 0; i < errs.msgs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs.v[i]);
	if (env->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "valid_dags", (double)ok);
		cJSON_AddItemToObject(o, "errors", strv_json(&errs.msgs));
		cmd_print_json(o);
	} else {
		printf("%zu DAG%s valid, %zu error%s\n", ok, ok == 1 ? "" : "s",
		    errs.msgs.n, errs.msgs.n == 1 ? "" : "s");
	}
	ok = errs.msgs.n;
	dag_errors_free(&errs);
	if (bad_path)
		return EX_NOINPUT;
	return ok > 0 ? EX_DATAERR : 0;
}

/* ------------------------------------------------------- dags pause etc */

static int
dags_set_paused(const struct cli_env *env, int argc, char **argv, int paused)
{
	struct store *st;
	struct dag *dag;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: sta dags %s DAG_ID\n", paused ? "pause" : "unpause");
		return EX_USAGE;
	}
	if ((rc = cmd_dag_and_store(env, argv[1], &dag, &st)) != 0)
		return rc;
	/* A DAG no scheduler has seen yet gets its row first. */
	if (store_begin(st) == 0) {
		struct store_dag row = {0};

		if (store_dag_get(st, dag->dag_id, &row) == STORE_NOT_FOUND) {
			struct store_dag nd = {
				.dag_id = dag->dag_id, .fileloc = dag->fileloc,
				.file_hash = dag->file_hash, .description = dag->description,
				.schedule = dag->schedule ? (char *)schedule_text(dag->schedule) : NULL,
				.is_active = 1, .last_parsed_ms = time_now_ms(),
			};
			store_dag_sync(st, &nd);
		}
		store_dag_clear(&row);
		store_commit(st);
	}
	rc = ops_pause(st, dag->dag_id, paused, ops_cli_actor());
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "sta: could not %s %s\n", paused ? "pause" : "unpause", dag->dag_id);
		dag_free(dag);
		return EX_UNAVAILABLE;
	}
	sched_notify(env->home);
	printf("%s %s\n", dag->dag_id, paused ? "paused" : "unpaused");
	dag_free(dag);
	return 0;
}

static int
dags_pause(const struct cli_env *env, int argc, char **argv)
{
	return dags_set_paused(env, argc, argv, 1);
}

static int
dags_unpause(const struct cli_env *env, int argc, char **argv)
{
	return dags_set_paused(env, argc, argv, 0);
}

/* ------------------------------------------------------ trigger / test */

static int
parse_date_arg(const char *what, const char *s, sta_time *out)
{
	if (time_parse(s, out) == 0)
		return 0;
	fprintf(stderr, "sta: %s: '%s' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[+00:00])\n",
	    what, s);
	return -1;
}

static int
dags_trigger(const struct cli_env *env, int argc, char **argv)
{
	const char *conf = NULL, *run_id = NULL, *dag_id = NULL;
	sta_time logical = time_now();
	struct store_run run = {0};
	struct store *st;
	struct dag *dag;
	char err[512];
	int rc;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--conf") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
			conf = argv[++i];
		} else if ((strcmp(argv[i], "--run-id") == 0 || strcmp(argv[i], "-r") == 0) && i + 1 < argc) {
			run_id = argv[++i];
		} else if ((strcmp(argv[i], "--logical-date") == 0 || strcmp(argv[i], "-l") == 0) && i + 1 < argc) {
			if (parse_date_arg("--logical-date", argv[++i], &logical) != 0)
				return EX_USAGE;
		} else if (argv[i][0] != '-' && dag_id == NULL) {
			dag_id = argv[i];
		} else {
			fprintf(stderr, "sta dags trigger: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (dag_id == NULL) {
		fprintf(stderr, "usage: sta dags trigger DAG_ID [--conf JSON] [--run-id ID] [--logical-date DATE]\n");
		return EX_USAGE;
	}
	if ((rc = cmd_dag_and_store(env, dag_id, &dag, &st)) != 0)
		return rc;
	rc = ops_trigger(st, dag, "manual", run_id, logical, conf, ops_cli_actor(), &run,
	    err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "sta dags trigger: %s\n", err);
		rc = rc == STORE_EXISTS || rc == OPS_BAD_CONF ? EX_DATAERR : EX_UNAVAILABLE;
	} else {
		sched_notify(env->home);
		if (env->json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "dag_id", run.dag_id);
			cJSON_AddStringToObject(o, "run_id", run.run_id);
			cJSON_AddStringToObject(o, "state", run_state_name(run.state));
			cmd_print_json(o);
		} else {
			printf("%s\n", run.run_id);
		}
	}
	store_run_clear(&run);
	store_close(st);
	dag_free(dag);
	return rc;
}

/* ------------------------------------------------------------- wait */

/* The state to wait on: the run's, or one task instance's.  Returns 1 when
 * it succeeded, -1 when it failed, 0 while pending (or not created yet). */
static int
wait_poke(const struct cli_env *env, const char *dag_id, sta_time logical, const char *task_id,
    char *what, size_t whatlen)
{
	struct store *st = cmd_store_open(env);
	struct store_run run = {0};
	struct store_ti ti = {0};
	struct by_date f = { logical, &run, 0 };
	int verdict = 0;

	if (st == NULL)
		return 0;
	if (store_runs_list(st, dag_id, -1, 0, 0, by_date_cb, &f) != 0 || !f.found) {
		snprintf(what, whatlen, "no run yet");
		goto out;
	}
	if (task_id == NULL) {
		snprintf(what, whatlen, "run %s is %s", run.run_id, run_state_name(run.state));
		verdict = run.state == RUN_SUCCESS ? 1 : run.state == RUN_FAILED ? -1 : 0;
	} else if (store_ti_get(st, run.pk, task_id, &ti) != 0) {
		snprintf(what, whatlen, "run %s has no task %s yet", run.run_id, task_id);
	} else {
		snprintf(what, whatlen, "task %s of run %s is %s", task_id, run.run_id,
		    ti_state_name(ti.state));
		verdict = ti.state == TI_SUCCESS ? 1 :
		    ti.state == TI_FAILED || ti.state == TI_UPSTREAM_FAILED ? -1 : 0;
		store_ti_clear(&ti);
	}
out:
	store_run_clear(&run);
	store_close(st);
	return verdict;
}

/* `dags wait`: a sensor task.  Waits until another DAG's run of a logical
 * date (or one of its tasks) succeeded: exit 0; it failed, or the timeout
 * passed: exit 1, so the runner retries as it would any task. */
static int
dags_wait(const struct cli_env *env, int argc, char **argv)
{
	const char *dag_id = NULL, *date = NULL, *task_id = NULL;
	int64_t timeout = 7 * 86400, poke = 10;
	sta_time logical, deadline;
	char err[128], what[256] = "";

	for (int i = 1; i < argc; i++) {
		int64_t *dur = NULL;

		if (strcmp(argv[i], "--task") == 0 && i + 1 < argc)
			task_id = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			dur = &timeout;
		else if (strcmp(argv[i], "--poke-interval") == 0 && i + 1 < argc)
			dur = &poke;
		else if (argv[i][0] != '-' && dag_id == NULL)
			dag_id = argv[i];
		else if (argv[i][0] != '-' && date == NULL)
			date = argv[i];
		else {
			fprintf(stderr, "sta dags wait: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
		if (dur && duration_parse(argv[++i], dur, err, sizeof(err)) != 0) {
			fprintf(stderr, "sta dags wait: %s: %s\n", argv[i - 1], err);
			return EX_USAGE;
		}
	}
	if (dag_id == NULL || date == NULL) {
		fprintf(stderr, "usage: sta dags wait DAG_ID LOGICAL_DATE [--task TASK_ID] "
		    "[--timeout DURATION] [--poke-interval DURATION]\n");
		return EX_USAGE;
	}
	if (parse_date_arg("LOGICAL_DATE", date, &logical) != 0)
		return EX_USAGE;
	deadline = time_now() + timeout;
	for (;;) {
		int v = wait_poke(env, dag_id, logical, task_id, what, sizeof(what));

		if (v != 0) {
			printf("%s: %s\n", dag_id, what);
			return v > 0 ? 0 : 1;
		}
		if (time_now() >= deadline) {
			char d[32];

			duration_format(timeout, d, sizeof(d));
			fprintf(stderr, "sta dags wait: %s %s: still not done after %s (%s)\n", dag_id,
			    date, d, what);
			return 1;
		}
		log_info("waiting for %s %s: %s", dag_id, date, what);
		sleep((unsigned)(poke > 0 ? poke : 1));
	}
}

/* `dags test`: one run in the foreground.  A second test of the same date
 * reuses that test run, cleared. */
static int
dags_test(const struct cli_env *env, int argc, char **argv)
{
	sta_time logical = time_now();
	struct store_run run = {0};
	struct store *st;
	struct dag *dag;
	char err[512];
	int rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: sta dags test DAG_ID [LOGICAL_DATE]\n");
		return EX_USAGE;
	}
	if (argc == 3 && parse_date_arg("LOGICAL_DATE", argv[2], &logical) != 0)
		return EX_USAGE;
	if ((rc = cmd_dag_and_store(env, argv[1], &dag, &st)) != 0)
		return rc;
	rc = ops_trigger(st, dag, "test", NULL, logical, NULL, ops_cli_actor(), &run,
	    err, sizeof(err));
	if (rc == STORE_EXISTS) {
		char iso[TIME_ISO_LEN];
		char *id;

		store_run_clear(&run);
		time_format_iso(logical, iso);
		id = xasprintf("test__%s", iso);
		rc = store_run_get(st, dag->dag_id, id, &run);
		free(id);
		if (rc == 0) {
			int *all = xcalloc(dag->n_tasks ? dag->n_tasks : 1, sizeof(int));

			for (size_t i = 0; i < dag->n_tasks; i++)
				all[i] = 1;
			rc = ops_clear(st, dag, &run, all, 0, ops_cli_actor()) < 0 ? -1 : 0;
			if (rc == 0 && run.state == RUN_RUNNING)
				fprintf(stderr, "sta dags test: resuming test run %s\n", run.run_id);
			free(all);
		} else {
			fprintf(stderr, "sta dags test: %s\n", err);
		}
	} else if (rc != 0) {
		fprintf(stderr, "sta dags test: %s\n", err);
	}
	store_close(st);
	if (rc == 0)
		log_info("dags test: %s %s", dag->dag_id, run.run_id);
	/* the scheduler loads its own copy: do not keep two */
	dag_free(dag);
	rc = rc == 0 ? cmd_run_foreground(env, &run.pk, 1) : EX_DATAERR;
	store_run_clear(&run);
	return rc;
}

/* --------------------------------------------------------- dags backfill */

static int
dags_backfill(const struct cli_env *env, int argc, char **argv)
{
	const char *dag_id = NULL, *conf = NULL;
	sta_time from = 0, to = 0;
	int have_from = 0, have_to = 0, lock, rc = 0;
	struct interval *iv = NULL;
	int64_t *runs = NULL;
	size_t n_iv = 0, n_runs = 0;
	struct store *st;
	struct dag *dag;
	long holder;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--start-date") == 0) && i + 1 < argc) {
			if (parse_date_arg("--start-date", argv[++i], &from) != 0)
				return EX_USAGE;
			have_from = 1;
		} else if ((strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "--end-date") == 0) && i + 1 < argc) {
			if (parse_date_arg("--end-date", argv[++i], &to) != 0)
				return EX_USAGE;
			have_to = 1;
		} else if ((strcmp(argv[i], "--conf") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc) {
			conf = argv[++i];
		} else if (argv[i][0] != '-' && dag_id == NULL) {
			dag_id = argv[i];
		} else {
			fprintf(stderr, "sta dags backfill: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (dag_id == NULL || !have_from || !have_to) {
		fprintf(stderr, "usage: sta dags backfill DAG_ID -s START_DATE -e END_DATE [--conf JSON]\n");
		return EX_USAGE;
	}
	if (to < from) {
		fprintf(stderr, "sta dags backfill: --end-date is before --start-date\n");
		return EX_USAGE;
	}
	dag = cmd_dag_load(env, dag_id);
	if (dag == NULL)
		return EX_DATAERR;
	if (dag->schedule == NULL ||
	    schedule_intervals_between(dag->schedule, from, to, &iv, &n_iv) != 0) {
		fprintf(stderr, "sta dags backfill: DAG %s has no regular schedule to backfill\n",
		    dag->dag_id);
		dag_free(dag);
		return EX_DATAERR;
	}
	st = cmd_store_open(env);
	if (st == NULL) {
		free(iv);
		dag_free(dag);
		return EX_UNAVAILABLE;
	}
	runs = xcalloc(n_iv ? n_iv : 1, sizeof(*runs));
	for (size_t i = 0; i < n_iv; i++) {
		struct store_run run = {0};
		char err[512];
		int r = ops_trigger(st, dag, "backfill", NULL, iv[i].start, conf,
		    ops_cli_actor(), &run, err, sizeof(err));

		if (r == 0) {
			runs[n_runs++] = run.pk;
			printf("%s\n", run.run_id);
		} else if (r == STORE_EXISTS) {
			fprintf(stderr, "sta dags backfill: skipped: %s\n", err);
		} else {
			fprintf(stderr, "sta dags backfill: %s\n", err);
			rc = EX_DATAERR;
		}
		store_run_clear(&run);
	}
	store_close(st);
	free(iv);
	dag_free(dag);
	if (rc != 0 || n_runs == 0) {
		free(runs);
		return rc;
	}
	lock = sched_lock_acquire(env->home, &holder);
	if (lock < 0) {
		sched_notify(env->home);
		fprintf(stderr, "sta dags backfill: %zu runs queued for the running scheduler (pid %ld)\n",
		    n_runs, holder);
		free(runs);
		return 0;
	}
	rc = cmd_run_foreground(env, runs, n_runs);
	close(lock);
	free(runs);
	return rc;
}

static const struct cli_cmd c_list = { "dags", "list", "[--json]",
	"list the DAGs in the DAG folder", dags_list };
static const struct cli_cmd c_show = { "dags", "show", "DAG_ID [--json]",
	"show a DAG and its tasks with their upstream tasks", dags_show };
static const struct cli_cmd c_validate = { "dags", "validate", "[FILE|DIR ...] [--json]",
	"check DAG files; prints file:line:col: message per problem", dags_validate };
static const struct cli_cmd c_trigger = { "dags", "trigger",
	"DAG_ID [--conf JSON] [--run-id ID] [--logical-date DATE]",
	"create a manual run (the scheduler runs it)", dags_trigger };
static const struct cli_cmd c_backfill = { "dags", "backfill",
	"DAG_ID -s START_DATE -e END_DATE [--conf JSON]",
	"create runs for every interval starting in [START, END] and run them", dags_backfill };
static const struct cli_cmd c_pause = { "dags", "pause", "DAG_ID",
	"stop creating and starting runs of a DAG", dags_pause };
static const struct cli_cmd c_unpause = { "dags", "unpause", "DAG_ID",
	"resume a paused DAG", dags_unpause };
static const struct cli_cmd c_wait = { "dags", "wait",
	"DAG_ID LOGICAL_DATE [--task TASK_ID] [--timeout DUR] [--poke-interval DUR]",
	"wait until a DAG's run (or task) of that logical date succeeded (a sensor task)",
	dags_wait };
static const struct cli_cmd c_test = { "dags", "test", "DAG_ID [LOGICAL_DATE]",
	"run one DAG run in the foreground; exit 0 only if it succeeded", dags_test };

const struct cli_cmd *const cmd_dags_table[] = {
	&c_list, &c_show, &c_validate, &c_trigger, &c_backfill, &c_pause,
	&c_unpause, &c_test, &c_wait, NULL,
};
