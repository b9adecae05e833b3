/*
 * cmd_tasks.c: `sta tasks list|state|clear|mark|logs`, `sta runs list`,
 * `sta pools ...`, `sta variables ...` and `sta scheduler`.
 */
#include <regex.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/k8s.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runner/cmd.h"
#include "runner/leader.h"
#include "runner/ops.h"
#include "runner/sched.h"
#include "web/web.h"

/* Opens what most task commands need: the DAG, the store and the run. */
struct task_ctx {
	struct dag *dag;
	struct store *st;
	struct store_run run;
};

static int
task_ctx_open(struct task_ctx *c, const struct cli_env *env, const char *dag_id,
    const char *run)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = cmd_dag_and_store(env, dag_id, &c->dag, &c->st)) != 0)
		return rc;
	return run != NULL ? cmd_run_find(c->st, dag_id, run, &c->run) : 0;
}

static void
task_ctx_close(struct task_ctx *c)
{
	store_run_clear(&c->run);
	store_close(c->st);
	dag_free(c->dag);
}

static ssize_t
task_arg(const struct dag *dag, const char *task_id)
{
	ssize_t i = dag_task_index(dag, task_id);

	if (i < 0)
		fprintf(stderr, "sta: DAG %s has no task '%s'\n", dag->dag_id, task_id);
	return i;
}

/* ----------------------------------------------------------- tasks list */

static int
tasks_list(const struct cli_env *env, int argc, char **argv)
{
	struct dag *dag;
	cJSON *arr;

	if (argc != 2) {
		fprintf(stderr, "usage: sta tasks list DAG_ID [--json]\n");
		return EX_USAGE;
	}
	dag = cmd_dag_load(env, argv[1]);
	if (dag == NULL)
		return EX_DATAERR;
	arr = cJSON_CreateArray();
	for (size_t k = 0; k < dag->n_tasks; k++) {
		const struct dag_task *t = &dag->tasks[dag->topo[k]];

		if (env->json) {
			cJSON *o = cJSON_CreateObject(), *up = cJSON_CreateArray();

			cJSON_AddStringToObject(o, "task_id", t->task_id);
			for (size_t u = 0; u < t->n_upstream; u++)
				cJSON_AddItemToArray(up,
				    cJSON_CreateString(dag->tasks[t->upstream[u]].task_id));
			cJSON_AddItemToObject(o, "upstream", up);
			cJSON_AddItemToArray(arr, o);
		} else {
			printf("%s\n", t->task_id);
		}
	}
	if (env->json)
		cmd_print_json(arr);
	else
		cJSON_Delete(arr);
	dag_free(dag);
	return 0;
}

/* ---------------------------------------------------------- tasks state */

static cJSON *
try_json(const struct store_try *t)
{
	cJSON *o = cJSON_CreateObject();
	char iso[TIME_ISO_LEN];

	cJSON_AddNumberToObject(o, "try_number", t->try_number);
	cJSON_AddStringToObject(o, "state", ti_state_name(t->state));
	cJSON_AddStringToObject(o, "executor", t->executor ? t->executor : "");
	if (t->handle)
		cJSON_AddStringToObject(o, "handle", t->handle);
	cmd_format_ms(t->start_ms, iso);
	cJSON_AddStringToObject(o, "start_date", iso);
	cmd_format_ms(t->end_ms, iso);
	cJSON_AddStringToObject(o, "end_date", iso);
	if (t->has_exit_code)
		cJSON_AddNumberToObject(o, "exit_code", t->exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (t->signal)
		cJSON_AddNumberToObject(o, "signal", t->signal);
	if (t->result) {
		cJSON *r = cJSON_Parse(t->result);

		cJSON_AddItemToObject(o, "result", r ? r : cJSON_CreateString(t->result));
	}
	if (t->reason)
		cJSON_AddStringToObject(o, "reason", t->reason);
	cJSON_AddStringToObject(o, "log_path", t->log_path ? t->log_path : "");
	return o;
}

static int
collect_try_cb(void *arg, const struct store_try *t)
{
	cJSON_AddItemToArray(arg, try_json(t));
	return 0;
}

static int
tasks_state(const struct cli_env *env, int argc, char **argv)
{
	struct task_ctx c;
	struct store_ti ti = {0};
	ssize_t task;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: sta tasks state DAG_ID TASK_ID RUN_ID|LOGICAL_DATE [--json]\n");
		return EX_USAGE;
	}
	rc = task_ctx_open(&c, env, argv[1], argv[3]);
	if (rc != 0 || (task = task_arg(c.dag, argv[2])) < 0) {
		task_ctx_close(&c);
		return rc != 0 ? rc : EX_DATAERR;
	}
	rc = store_ti_get(c.st, c.run.pk, argv[2], &ti);
	if (rc == STORE_NOT_FOUND)
		ti.state = TI_NONE;
	else if (rc != 0) {
		task_ctx_close(&c);
		return EX_UNAVAILABLE;
	}
	if (env->json) {
		cJSON *o = cJSON_CreateObject(), *tries = cJSON_CreateArray();

		cJSON_AddStringToObject(o, "dag_id", c.dag->dag_id);
		cJSON_AddStringToObject(o, "task_id", argv[2]);
		cJSON_AddStringToObject(o, "run_id", c.run.run_id);
		cJSON_AddStringToObject(o, "state", ti_state_name(ti.state));
		cJSON_AddNumberToObject(o, "try_number", ti.try_number);
		cJSON_AddNumberToObject(o, "max_tries", ti.max_tries);
		if (ti.pk != 0)
			store_tries_of_ti(c.st, ti.pk, collect_try_cb, tries);
		cJSON_AddItemToObject(o, "tries", tries);
		cmd_print_json(o);
	} else {
		printf("%s\n", ti_state_name(ti.state));
	}
	store_ti_clear(&ti);
	task_ctx_close(&c);
	return 0;
}

/* ---------------------------------------------------------- tasks clear */

static int
tasks_clear(const struct cli_env *env, int argc, char **argv)
{
	const char *dag_id = NULL, *run = NULL, *regex = NULL;
	int downstream = 0, rc, n, *sel;
	struct task_ctx c;
	regex_t re;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--task-regex") == 0) && i + 1 < argc)
			regex = argv[++i];
		else if ((strcmp(argv[i], "-r") == 0 || strcmp(argv[i], "--run-id") == 0) && i + 1 < argc)
			run = argv[++i];
		else if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--downstream") == 0)
			downstream = 1;
		else if (strcmp(argv[i], "-y") == 0 || strcmp(argv[i], "--yes") == 0)
			continue;
		else if (argv[i][0] != '-' && dag_id == NULL)
			dag_id = argv[i];
		else {
			fprintf(stderr, "sta tasks clear: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (dag_id == NULL || run == NULL) {
		fprintf(stderr, "usage: sta tasks clear DAG_ID -r RUN_ID|LOGICAL_DATE "
		    "[-t TASK_REGEX] [--downstream]\n");
		return EX_USAGE;
	}
	if (regex != NULL && regcomp(&re, regex, REG_EXTENDED | REG_NOSUB) != 0) {
		fprintf(stderr, "sta tasks clear: bad --task-regex '%s'\n", regex);
		return EX_USAGE;
	}
	rc = task_ctx_open(&c, env, dag_id, run);
	if (rc != 0) {
		if (regex != NULL)
			regfree(&re);
		task_ctx_close(&c);
		return rc;
	}
	sel = xcalloc(c.dag->n_tasks ? c.dag->n_tasks : 1, sizeof(int));
	for (size_t i = 0; i < c.dag->n_tasks; i++)
		sel[i] = regex == NULL || regexec(&re, c.dag->tasks[i].task_id, 0, NULL, 0) == 0;
	if (regex != NULL)
		regfree(&re);
	n = ops_clear(c.st, c.dag, &c.run, sel, downstream, ops_cli_actor());
	free(sel);
	if (n < 0) {
		task_ctx_close(&c);
		return EX_UNAVAILABLE;
	}
	sched_notify(env->home);
	printf("cleared %d task instance%s of %s %s\n", n, n == 1 ? "" : "s",
	    c.dag->dag_id, c.run.run_id);
	task_ctx_close(&c);
	return 0;
}

/* ----------------------------------------------------------- tasks mark */

static int
tasks_mark(const struct cli_env *env, int argc, char **argv)
{
	struct task_ctx c;
	enum ti_state to;
	ssize_t task;
	int rc;

	if (argc != 5 || ti_state_parse(argv[4], &to) != 0 ||
	    (to != TI_SUCCESS && to != TI_FAILED)) {
		fprintf(stderr, "usage: sta tasks mark DAG_ID TASK_ID RUN_ID|LOGICAL_DATE success|failed\n");
		return EX_USAGE;
	}
	rc = task_ctx_open(&c, env, argv[1], argv[3]);
	if (rc != 0 || (task = task_arg(c.dag, argv[2])) < 0) {
		task_ctx_close(&c);
		return rc != 0 ? rc : EX_DATAERR;
	}
	rc = ops_mark(c.st, c.dag, &c.run, (size_t)task, to, ops_cli_actor());
	if (rc == 0) {
		sched_notify(env->home);
		printf("%s %s %s: %s\n", c.dag->dag_id, c.run.run_id, argv[2], ti_state_name(to));
	}
	task_ctx_close(&c);
	return rc == 0 ? 0 : EX_UNAVAILABLE;
}

/* ----------------------------------------------------------- tasks logs */

static int
last_try_cb(void *arg, const struct store_try *t)
{
	struct store_try *best = arg;

	if (t->try_number > best->try_number) {
		free(best->log_path);
		best->log_path = xstrdup(t->log_path);
		best->try_number = t->try_number;
	}
	return 0;
}

struct want_try {
	int n;
	char *path;
};

static int
want_try_cb(void *arg, const struct store_try *t)
{
	struct want_try *w = arg;

	if (t->try_number == w->n && w->path == NULL)
		w->path = xstrdup(t->log_path);
	return 0;
}

static int
copy_out(void *arg, const char *data, size_t len)
{
	return fwrite(data, 1, len, arg) == len ? 0 : 1;
}

static int
tasks_logs(const struct cli_env *env, int argc, char **argv)
{
	struct task_ctx c;
	struct store_ti ti = {0};
	struct store_try best = {0};
	struct want_try want = {0};
	int64_t try_n = 0;
	int rc, copied;

	if (argc == 6 && strcmp(argv[4], "--try") == 0 && parse_int64(argv[5], &try_n) == 0 &&
	    try_n > 0)
		argc = 4;
	if (argc != 4) {
		fprintf(stderr, "usage: sta tasks logs DAG_ID TASK_ID RUN_ID|LOGICAL_DATE [--try N]\n");
		return EX_USAGE;
	}
	rc = task_ctx_open(&c, env, argv[1], argv[3]);
	if (rc == 0 && task_arg(c.dag, argv[2]) < 0)
		rc = EX_DATAERR;
	if (rc == 0 && store_ti_get(c.st, c.run.pk, argv[2], &ti) != 0) {
		fprintf(stderr, "sta tasks logs: %s has not run in %s\n", argv[2], c.run.run_id);
		rc = EX_DATAERR;
	}
	if (rc == 0) {
		want.n = (int)try_n;
		store_tries_of_ti(c.st, ti.pk, try_n ? want_try_cb : last_try_cb,
		    try_n ? (void *)&want : (void *)&best);
		const char *path = try_n ? want.path : best.log_path;

		if (path == NULL) {
			fprintf(stderr, "sta tasks logs: no such try\n");
			rc = EX_DATAERR;
		} else if ((copied = fs_read_chunks(path, copy_out, stdout)) < 0) {
			/* streamed: a log of any size costs 64 kB of memory */
			fprintf(stderr, "sta tasks logs: cannot read %s: %s\n", path, strerror(errno));
			rc = EX_NOINPUT;
		} else if (copied > 0 || fflush(stdout) != 0) {
			fprintf(stderr, "sta tasks logs: cannot write the log: %s\n", strerror(errno));
			rc = EX_IOERR;
		}
	}
	free(want.path);
	free(best.log_path);
	store_ti_clear(&ti);
	task_ctx_close(&c);
	return rc;
}

/* ------------------------------------------------------------ runs list */

struct runs_out {
	const struct cli_env *env;
	cJSON *arr;
};

static int
runs_list_cb(void *arg, const struct store_run *r)
{
	struct runs_out *o = arg;
	char ld[TIME_ISO_LEN], start[TIME_ISO_LEN], end[TIME_ISO_LEN];

	time_format_iso(r->logical_date, ld);
	cmd_format_ms(r->start_ms, start);
	cmd_format_ms(r->end_ms, end);
	if (o->env->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "dag_id", r->dag_id);
		cJSON_AddStringToObject(j, "run_id", r->run_id);
		cJSON_AddStringToObject(j, "run_type", r->run_type);
		cJSON_AddStringToObject(j, "state", run_state_name(r->state));
		cJSON_AddStringToObject(j, "logical_date", ld);
		time_format_iso(r->data_interval_start, ld);
		cJSON_AddStringToObject(j, "data_interval_start", ld);
		time_format_iso(r->data_interval_end, ld);
		cJSON_AddStringToObject(j, "data_interval_end", ld);
		cJSON_AddStringToObject(j, "start_date", start);
		cJSON_AddStringToObject(j, "end_date", end);
		if (r->conf != NULL) {
			cJSON *c = cJSON_Parse(r->conf);

			if (c != NULL)
				cJSON_AddItemToObject(j, "conf", c);
		}
		cJSON_AddItemToArray(o->arr, j);
	} else {
		printf("%-28s %-46s %-8s %s\n", r->dag_id, r->run_id, run_state_name(r->state), ld);
	}
	return 0;
}

static int
runs_list(const struct cli_env *env, int argc, char **argv)
{
	const char *dag_id = NULL;
	int64_t limit = 100;
	int state = -1, rc;
	struct runs_out o = { env, NULL };
	struct store *st;

	for (int i = 1; i < argc; i++) {
		enum run_state s;

		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc && run_state_parse(argv[i + 1], &s) == 0) {
			state = (int)s;
			i++;
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc &&
		    parse_int64(argv[i + 1], &limit) == 0 && limit >= 0) {
			i++;
		} else if (argv[i][0] != '-' && dag_id == NULL) {
			dag_id = argv[i];
		} else {
			fprintf(stderr, "usage: sta runs list [DAG_ID] [--state queued|running|success|failed] "
			    "[--limit N] [--json]\n");
			return EX_USAGE;
		}
	}
	st = cmd_store_open(env);
	if (st == NULL)
		return EX_UNAVAILABLE;
	o.arr = cJSON_CreateArray();
	if (!env->json)
		printf("%-28s %-46s %-8s %s\n", "dag_id", "run_id", "state", "logical_date");
	rc = store_runs_list(st, dag_id, state, (int)limit, 0, runs_list_cb, &o);
	if (env->json)
		cmd_print_json(o.arr);
	else
		cJSON_Delete(o.arr);
	store_close(st);
	return rc == 0 ? 0 : EX_UNAVAILABLE;
}

/* ---------------------------------------------------------------- pools */

static int
pools_list_cb(void *arg, const char *name, int slots, const char *desc)
{
	cJSON *arr = arg;

	if (arr != NULL) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddNumberToObject(o, "slots", slots);
		cJSON_AddStringToObject(o, "description", desc ? desc : "");
		cJSON_AddItemToArray(arr, o);
	} else {
		printf("%-24s %6d  %s\n", name, slots, desc ? desc : "");
	}
	return 0;
}

static int
pools_cmd(const struct cli_env *env, int argc, char **argv)
{
	struct store *st;
	int64_t slots;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: sta pools list | set NAME SLOTS [DESCRIPTION] | delete NAME\n");
		return EX_USAGE;
	}
	st = cmd_store_open(env);
	if (st == NULL)
		return EX_UNAVAILABLE;
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		cJSON *arr = env->json ? cJSON_CreateArray() : NULL;

		rc = store_pools_list(st, pools_list_cb, arr);
		if (arr != NULL)
			cmd_print_json(arr);
	} else if (strcmp(argv[1], "set") == 0 && (argc == 4 || argc == 5) &&
	    parse_int64(argv[3], &slots) == 0 && slots >= 0 && slots <= 1000000) {
		rc = store_begin(st);
		if (rc == 0)
			rc = store_pool_set(st, argv[2], (int)slots, argc == 5 ? argv[4] : NULL);
		if (rc == 0)
			rc = store_audit(st, ops_cli_actor(), "pool_set", NULL, NULL, NULL, 0, NULL);
		rc = rc == 0 ? store_commit(st) : (store_rollback(st), rc);
		if (rc == 0)
			sched_notify(env->home);
	} else if (strcmp(argv[1], "delete") == 0 && argc == 3) {
		rc = store_begin(st);
		if (rc == 0)
			rc = store_pool_delete(st, argv[2]);
		if (rc == STORE_NOT_FOUND)
			fprintf(stderr, "sta pools delete: no pool '%s'\n", argv[2]);
		rc = rc == 0 ? store_commit(st) : (store_rollback(st), rc);
	} else {
		fprintf(stderr, "usage: sta pools list | set NAME SLOTS [DESCRIPTION] | delete NAME\n");
		store_close(st);
		return EX_USAGE;
	}
	store_close(st);
	return rc == 0 ? 0 : rc == STORE_NOT_FOUND ? EX_DATAERR : EX_UNAVAILABLE;
}

/* ------------------------------------------------------------ variables */

static int
vars_list_cb(void *arg, const char *key, const char *value, int is_secret)
{
	(void)arg;
	printf("%s=%s\n", key, is_secret ? "***" : value);
	return 0;
}

static int
variables_cmd(const struct cli_env *env, int argc, char **argv)
{
	struct store *st;
	char *value = NULL;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: sta variables list | get KEY | set KEY VALUE [--secret] | delete KEY\n");
		return EX_USAGE;
	}
	st = cmd_store_open(env);
	if (st == NULL)
		return EX_UNAVAILABLE;
	if (strcmp(argv[1], "list") == 0 && argc == 2) {
		rc = store_vars_list(st, vars_list_cb, NULL);
	} else if (strcmp(argv[1], "get") == 0 && argc == 3) {
		rc = store_var_get(st, argv[2], &value);
		if (rc == 0)
			printf("%s\n", value);
		else if (rc == STORE_NOT_FOUND)
			fprintf(stderr, "sta variables get: no variable '%s'\n", argv[2]);
		free(value);
	} else if (strcmp(argv[1], "set") == 0 && (argc == 4 ||
	    (argc == 5 && strcmp(argv[4], "--secret") == 0))) {
		rc = store_begin(st);
		if (rc == 0)
			rc = store_var_set(st, argv[2], argv[3], argc == 5);
		if (rc == 0)
			rc = store_audit(st, ops_cli_actor(), "variable_set", NULL, NULL, NULL, 0, NULL);
		rc = rc == 0 ? store_commit(st) : (store_rollback(st), rc);
	} else if (strcmp(argv[1], "delete") == 0 && argc == 3) {
		rc = store_begin(st);
		if (rc == 0)
			rc = store_var_delete(st, argv[2]);
		rc = rc == 0 ? store_commit(st) : (store_rollback(st), rc);
	} else {
		store_close(st);
		fprintf(stderr, "usage: sta variables list | get KEY | set KEY VALUE [--secret] | delete KEY\n");
		return EX_USAGE;
	}
	store_close(st);
	return rc == 0 ? 0 : rc == STORE_NOT_FOUND ? EX_DATAERR : EX_UNAVAILABLE;
}

/* ------------------------------------------------------------ scheduler */

#define DEFAULT_LEASE_SECONDS 15

static volatile sig_atomic_t lease_stop;

static void
lease_on_signal(int sig)
{
	(void)sig;
	lease_stop = 1;
}

/* Losing the lease ends the process at once, as client-go's users do:
 * another replica may be scheduling already.  Running tries live on and
 * the new leader adopts them. */
static void
lease_lost(void *arg)
{
	(void)arg;
	log_error("lost the leader lease: exiting so that only the new leader schedules");
	_exit(EX_TEMPFAIL);
}

static void
lease_check(void *arg)
{
	if (!leader_is_leader(arg))
		lease_lost(arg);
}

/* Blocks until this process holds the Lease named lease (in
 * $STA_K8S_NAMESPACE or the client's namespace), then renews it on the
 * default loop.  0, or -1 when stopped by a signal or unconfigured. */
static int
lease_begin(const char *lease, struct k8s **kp, struct leader **lp)
{
	const char *ns = getenv("STA_K8S_NAMESPACE");
	struct sigaction sa = {0}, old_term, old_int;
	char *id = NULL;
	int64_t secs = DEFAULT_LEASE_SECONDS;
	const char *e = getenv("STA_LEASE_SECONDS");
	int rc = -1;

	if (e != NULL && (parse_int64(e, &secs) != 0 || secs < 3 || secs > 3600)) {
		log_error("STA_LEASE_SECONDS=%s: want seconds between 3 and 3600", e);
		return -1;
	}
	if ((*kp = k8s_open(getenv("STA_K8S_KUBECONFIG"), getenv("STA_K8S_CONTEXT"))) == NULL)
		return -1;
	/* a renew must not stall the loop past the renew deadline */
	k8s_set_timeout(*kp, (long)secs * 1000 / 5);
	id = k8s_identity();
	*lp = leader_new(*kp, ns != NULL && *ns != '\0' ? ns : k8s_namespace(*kp), lease, id,
	    (int)secs);
	free(id);
	if (*lp == NULL)
		return -1;
	sa.sa_handler = lease_on_signal;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	if (leader_acquire(*lp, &lease_stop) == 0) {
		leader_start(*lp, ev_default_loop(EVFLAG_AUTO), lease_lost, NULL);
		rc = 0;
	}
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	return rc;
}

static void
lease_end(struct k8s *k, struct leader *l)
{
	if (l != NULL) {
		leader_release(l);
		leader_free(l);
	}
	k8s_close(k);
}

static int
scheduler_cmd(const struct cli_env *env, int argc, char **argv)
{
	struct sched_opts o = { .home = env->home, .dags_folder = env->dags_folder };
	struct web_opts wo = { .home = env->home, .dags_folder = env->dags_folder,
		.in_scheduler = 1 };
	struct web *web = NULL;
	const char *lease = getenv("STA_LEADER_LEASE");
	struct k8s *lk = NULL;
	struct leader *leader = NULL;
	long holder;
	int64_t v;
	int lock, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--exit-when-idle") == 0) {
			o.exit_when_idle = 1;
		} else if (strcmp(argv[i], "--parallelism") == 0 && i + 1 < argc &&
		    parse_int64(argv[i + 1], &v) == 0 && v > 0 && v <= 100000) {
			o.parallelism = (int)v;
			i++;
		} else if (strcmp(argv[i], "--rescan-seconds") == 0 && i + 1 < argc &&
		    parse_int64(argv[i + 1], &v) == 0 && v > 0) {
			o.rescan_seconds = v;
			i++;
		} else if (strcmp(argv[i], "--web") == 0 && i + 1 < argc) {
			wo.bind = argv[++i];
		} else if (strcmp(argv[i], "--lease") == 0 && i + 1 < argc) {
			lease = argv[++i];
		} else if (!cmd_web_options(argc, argv, &i, &wo)) {
			fprintf(stderr, "usage: sta scheduler [--exit-when-idle] [--parallelism N] "
			    "[--rescan-seconds N] [--web [ADDR:]PORT] [--lease NAME]\n");
			return EX_USAGE;
		}
	}
	/* With a lease, a standby waits here until it leads. */
	if (lease != NULL && *lease != '\0') {
		if (lease_begin(lease, &lk, &leader) != 0) {
			lease_end(lk, leader);
			return EX_UNAVAILABLE;
		}
		o.before_launch = lease_check;
		o.before_launch_arg = leader;
	}
	lock = sched_lock_acquire(env->home, &holder);
	if (lock < 0) {
		fprintf(stderr, "sta scheduler: another scheduler (pid %ld) holds %s/scheduler.lock\n",
		    holder, env->home);
		lease_end(lk, leader);
		return EX_TEMPFAIL;
	}
	log_info("scheduler: home %s, DAG folder %s", env->home, env->dags_folder);
	if (wo.bind != NULL) {
		/* sched_main runs the default loop: the server joins it. */
		web = web_start(ev_default_loop(EVFLAG_AUTO), &wo);
		if (web == NULL) {
			close(lock);
			lease_end(lk, leader);
			return EX_UNAVAILABLE;
		}
		cmd_web_announce(web, wo.bind);
	}
	rc = sched_main(&o);
	web_stop(web);
	close(lock);
	lease_end(lk, leader);
	return rc;
}

static const struct cli_cmd c_tlist = { "tasks", "list", "DAG_ID [--json]",
	"list a DAG's tasks in dependency order", tasks_list };
static const struct cli_cmd c_tstate = { "tasks", "state",
	"DAG_ID TASK_ID RUN_ID|LOGICAL_DATE [--json]",
	"print a task instance's state (--json: with every try)", tasks_state };
static const struct cli_cmd c_tclear = { "tasks", "clear",
	"DAG_ID -r RUN_ID|LOGICAL_DATE [-t TASK_REGEX] [--downstream]",
	"make task instances run again", tasks_clear };
static const struct cli_cmd c_tmark = { "tasks", "mark",
	"DAG_ID TASK_ID RUN_ID|LOGICAL_DATE success|failed",
	"set a task instance's state by hand", tasks_mark };
static const struct cli_cmd c_tlogs = { "tasks", "logs",
	"DAG_ID TASK_ID RUN_ID|LOGICAL_DATE [--try N]",
	"print the log of a task instance's latest (or given) try", tasks_logs };
static const struct cli_cmd c_rlist = { "runs", "list",
	"[DAG_ID] [--state S] [--limit N] [--json]", "list DAG runs, newest first", runs_list };
static const struct cli_cmd c_pools = { NULL, "pools",
	"list | set NAME SLOTS [DESCRIPTION] | delete NAME", "manage pools", pools_cmd };
static const struct cli_cmd c_vars = { NULL, "variables",
	"list | get KEY | set KEY VALUE [--secret] | delete KEY",
	"manage variables (var.value.KEY in templates)", variables_cmd };
static const struct cli_cmd c_sched = { NULL, "scheduler",
	"[--exit-when-idle] [--parallelism N] [--rescan-seconds N] [--web [ADDR:]PORT] [--lease NAME]",
	"run the scheduler (with --web, also the web UI and API; with --lease, only while it "
	"holds that Kubernetes Lease)", scheduler_cmd };

const struct cli_cmd *const cmd_tasks_table[] = {
	&c_tlist, &c_tstate, &c_tclear, &c_tmark, &c_tlogs, &c_rlist, &c_pools,
	&c_vars, &c_sched, NULL,
};
