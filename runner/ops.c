/*
 * ops.c: user actions on the store, each one transaction with its audit
 * record.
 */
#include "runner/ops.h"

#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

const char *
ops_cli_actor(void)
{
	static char actor[128];
	const char *user = getenv("USER");

	if (actor[0] != '\0')
		return actor;
	if (user == NULL) {
		struct passwd *pw = getpwuid(getuid());

		user = pw != NULL ? pw->pw_name : "unknown";
	}
	snprintf(actor, sizeof(actor), "cli:%s", user);
	return actor;
}

/* The name of the first member of v (v itself: name) holding an integer
 * that JSON's doubles cannot keep exactly (2^53 or more), or NULL. */
static const char *
inexact_integer(const cJSON *v, const char *name)
{
	const cJSON *c;
	const char *bad;

	if (cJSON_IsNumber(v) && fabs(v->valuedouble) >= 9007199254740992.0 &&
	    v->valuedouble == floor(v->valuedouble))
		return name;
	cJSON_ArrayForEach(c, v)
		if ((bad = inexact_integer(c, c->string != NULL ? c->string : name)) != NULL)
			return bad;
	return NULL;
}

int
ops_conf_check(const cJSON *c, char *err, size_t errlen)
{
	const char *bad;

	if (!cJSON_IsObject(c)) {
		snprintf(err, errlen, "conf must be a JSON object");
		return OPS_BAD_CONF;
	}
	if ((bad = inexact_integer(c, "conf")) != NULL) {
		snprintf(err, errlen, "conf: '%s' holds an integer of 2^53 or more, which would not "
		    "stay exact; give it as a string", bad);
		return OPS_BAD_CONF;
	}
	return 0;
}

int
ops_trigger(struct store *st, const struct dag *dag, const char *run_type,
    const char *run_id, sta_time logical_date, const char *conf,
    const char *actor, struct store_run *out, char *err, size_t errlen)
{
	struct interval iv;
	char iso[TIME_ISO_LEN], *id, *detail;
	cJSON *c = NULL, *d;
	int rc;

	if (conf != NULL) {
		c = cJSON_Parse(conf);
		if (ops_conf_check(c, err, errlen) != 0) {
			cJSON_Delete(c);
			return OPS_BAD_CONF;
		}
	}
	schedule_manual_interval(dag->schedule, logical_date, &iv);
	time_format_iso(logical_date, iso);
	id = run_id != NULL ? xstrdup(run_id) : xasprintf("%s__%s", run_type, iso);
	memset(out, 0, sizeof(*out));
	out->dag_id = xstrdup(dag->dag_id);
	out->run_id = id;
	out->run_type = xstrdup(run_type);
	out->logical_date = logical_date;
	out->data_interval_start = iv.start;
	out->data_interval_end = iv.end;
	out->state = RUN_QUEUED;
	out->conf = c != NULL ? cJSON_PrintUnformatted(c) : NULL;
	if (store_begin(st) != 0)
		goto fail;
	rc = store_run_insert(st, out);
	if (rc == STORE_EXISTS) {
		store_rollback(st);
		snprintf(err, errlen, "DAG %s already has a run with run_id %s or logical date %s",
		    dag->dag_id, id, iso);
		cJSON_Delete(c);
		return STORE_EXISTS;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "run_type", run_type);
	cJSON_AddStringToObject(d, "logical_date", iso);
	if (c != NULL)
		cJSON_AddItemToObject(d, "conf", cJSON_Duplicate(c, 1));
	detail = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	rc = rc == 0 ? store_audit(st, actor, "trigger", dag->dag_id, id, NULL, 0, detail) : rc;
	free(detail);
	if (rc != 0 || store_commit(st) != 0) {
		store_rollback(st);
		goto fail;
	}
	cJSON_Delete(c);
	return 0;
fail:
	snprintf(err, errlen, "could not record the run (see the log above)");
	cJSON_Delete(c);
	return -1;
}

int
ops_pause(struct store *st, const char *dag_id, int paused, const char *actor)
{
	int rc;

	if (store_begin(st) != 0)
		return -1;
	rc = store_dag_set_paused(st, dag_id, paused);
	if (rc == 0)
		rc = store_audit(st, actor, paused ? "pause" : "unpause", dag_id,
		    NULL, NULL, 0, NULL);
	if (rc != 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

/* A finished run goes back to queued so the scheduler decides it again. */
static int
requeue_run(struct store *st, const struct store_run *run)
{
	if (run->state != RUN_SUCCESS && run->state != RUN_FAILED)
		return 0;
	return store_run_set_state(st, run->pk, RUN_QUEUED, time_now_ms());
}

static void
mark_downstream(const struct dag *dag, size_t i, int *sel)
{
	for (size_t d = 0; d < dag->tasks[i].n_downstream; d++) {
		size_t j = dag->tasks[i].downstream[d];

		if (!sel[j]) {
			sel[j] = 1;
			mark_downstream(dag, j, sel);
		}
	}
}

int
ops_clear(struct store *st, const struct dag *dag, const struct store_run *run,
    const int *tasks, int downstream, const char *actor)
{
	int *sel = xcalloc(dag->n_tasks ? dag->n_tasks : 1, sizeof(int));
	int n = 0;

	for (size_t i = 0; i < dag->n_tasks; i++)
		sel[i] = sel[i] || tasks[i];
	if (downstream)
		for (size_t i = 0; i < dag->n_tasks; i++)
			if (tasks[i])
				mark_downstream(dag, i, sel);
	if (store_begin(st) != 0)
		goto fail;
	for (size_t i = 0; i < dag->n_tasks; i++) {
		struct store_ti ti = {0};

		if (!sel[i])
			continue;
		if (store_ti_get(st, run->pk, dag->tasks[i].task_id, &ti) != 0)
			continue;   /* never created: nothing to clear */
		ti.state = TI_NONE;
		ti.max_tries = ti.try_number + dag->tasks[i].args.retries + 1;
		ti.next_try_at = 0;
		ti.end_ms = 0;
		if (store_ti_update(st, &ti) != 0 ||
		    store_audit(st, actor, "clear", dag->dag_id, run->run_id,
		    dag->tasks[i].task_id, ti.try_number, NULL) != 0) {
			store_ti_clear(&ti);
			goto rollback;
		}
		store_ti_clear(&ti);
		n++;
	}
	if (n > 0 && requeue_run(st, run) != 0)
		goto rollback;
	if (store_commit(st) != 0)
		goto rollback;
	free(sel);
	return n;
rollback:
	store_rollback(st);
fail:
	free(sel);
	return -1;
}

int
ops_mark(struct store *st, const struct dag *dag, const struct store_run *run,
    size_t task, enum ti_state st_to, const char *actor)
{
	struct store_ti ti = {0};
	char detail[64];
	int rc;

	if (store_begin(st) != 0)
		return -1;
	rc = store_ti_get(st, run->pk, dag->tasks[task].task_id, &ti);
	if (rc == STORE_NOT_FOUND) {
		/* The run has not started this task yet: create it marked. */
		ti.run_pk = run->pk;
		ti.task_id = xstrdup(dag->tasks[task].task_id);
		ti.max_tries = dag->tasks[task].args.retries + 1;
		ti.state = st_to;
		ti.end_ms = time_now_ms();
		rc = store_ti_insert(st, &ti);
	} else if (rc == 0) {
		ti.state = st_to;
		ti.end_ms = time_now_ms();
		rc = store_ti_update(st, &ti);
	}
	snprintf(detail, sizeof(detail), "{\"state\":\"%s\"}", ti_state_name(st_to));
	if (rc == 0)
		rc = store_audit(st, actor, "mark", dag->dag_id, run->run_id,
		    dag->tasks[task].task_id, ti.try_number, detail);
	if (rc == 0)
		rc = requeue_run(st, run);
	store_ti_clear(&ti);
	if (rc != 0 || store_commit(st) != 0) {
		store_rollback(st);
		return rc != 0 ? rc : -1;
	}
	return 0;
}
