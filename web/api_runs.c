/*
 * api_runs.c: /api/v1/dags/{dag}/runs: the list (paged by cursor or by
 * limit/offset), trigger with conf, one run with its task instances,
 * clear; task instances with every try, and mark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/timeutil.h"
#include "runner/ops.h"
#include "web/http.h"
#include "web/logmask.h"

#define RUNS_DEFAULT 25
#define RUNS_MAX 1000
#define RUN_ID_MAX 250

static const char SQL_RUNS[] =
    "SELECT dag_id, run_id, run_type, state, logical_date, data_interval_start,"
    " data_interval_end, conf, created_ms, start_ms, end_ms FROM dag_runs"
    " WHERE dag_id = ?1 AND logical_date < ?2 AND (?3 IS NULL OR state = ?3)"
    " ORDER BY logical_date DESC LIMIT ?4 OFFSET ?5";
/* Without a state filter the count reads an index only. */
static const char SQL_RUNS_COUNT[] = "SELECT count(*) FROM dag_runs WHERE dag_id = ?1";
static const char SQL_RUNS_COUNT_STATE[] =
    "SELECT count(*) FROM dag_runs WHERE dag_id = ?1 AND state = ?2";

/* conf text as JSON; text that does not parse stays a string. */
static cJSON *
conf_json(const char *conf)
{
	cJSON *c;

	if (conf == NULL)
		return cJSON_CreateNull();
	c = cJSON_Parse(conf);
	return c != NULL ? c : cJSON_CreateString(conf);
}

cJSON *
web_run_json(const struct store_run *run)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "dag_id", run->dag_id);
	cJSON_AddStringToObject(o, "run_id", run->run_id);
	cJSON_AddStringToObject(o, "run_type", run->run_type);
	cJSON_AddStringToObject(o, "state", run_state_name(run->state));
	cJSON_AddItemToObject(o, "logical_date", web_json_time(run->logical_date));
	cJSON_AddItemToObject(o, "data_interval_start", web_json_time(run->data_interval_start));
	cJSON_AddItemToObject(o, "data_interval_end", web_json_time(run->data_interval_end));
	cJSON_AddItemToObject(o, "conf", conf_json(run->conf));
	cJSON_AddItemToObject(o, "created", web_json_ms(run->created_ms));
	cJSON_AddItemToObject(o, "start", web_json_ms(run->start_ms));
	cJSON_AddItemToObject(o, "end", web_json_ms(run->end_ms));
	return o;
}

int
web_run_arg(struct web_req *r, const struct dag *dag, size_t i, struct store_run *out)
{
	int rc = store_run_get(r->w->store, dag->dag_id, r->seg[i], out);

	if (rc == STORE_NOT_FOUND)
		web_reply_error(r, 404, "DAG %s has no run '%s'", dag->dag_id, r->seg[i]);
	else if (rc != 0)
		web_reply_error(r, 500, "cannot read the state store");
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ list */

static int64_t
runs_count(struct web *w, const char *dag_id, const char *state)
{
	sqlite3_stmt *st = web_stmt(w, state != NULL ? SQL_RUNS_COUNT_STATE : SQL_RUNS_COUNT);
	int64_t n = -1;

	if (st == NULL)
		return -1;
	web_bind_text(st, 1, dag_id);
	if (state != NULL)
		web_bind_text(st, 2, state);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

void
api_runs_list(struct web_req *r)
{
	const struct dag *dag = web_dag_arg(r, 3);
	const char *state = web_query(r, "state");
	int64_t limit, offset, before, n = 0, last = 0, total;
	enum run_state rs;
	sqlite3_stmt *st;
	cJSON *o, *a;
	int more = 0;

	if (dag == NULL || web_query_int(r, "limit", RUNS_DEFAULT, 1, RUNS_MAX, &limit) != 0 ||
	    web_query_int(r, "offset", 0, 0, INT32_MAX, &offset) != 0 ||
	    web_cursor_arg(r, &before) != 0)
		return;
	if (state != NULL && run_state_parse(state, &rs) != 0) {
		web_reply_error(r, 400, "state must be queued, running, success or failed");
		return;
	}
	if ((st = web_stmt(r->w, SQL_RUNS)) == NULL) {
		web_reply_error(r, 500, "cannot read the state store");
		return;
	}
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "runs");
	web_bind_text(st, 1, dag->dag_id);
	sqlite3_bind_int64(st, 2, before);
	web_bind_text(st, 3, state);
	sqlite3_bind_int64(st, 4, limit + 1);
	sqlite3_bind_int64(st, 5, offset);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct store_run run = {0};

		if (n++ == limit) {
			more = 1;
			break;
		}
		run.dag_id = (char *)sqlite3_column_text(st, 0);
		run.run_id = (char *)sqlite3_column_text(st, 1);
		run.run_type = (char *)sqlite3_column_text(st, 2);
		run_state_parse((const char *)sqlite3_column_text(st, 3), &run.state);
		run.logical_date = last = sqlite3_column_int64(st, 4);
		run.data_interval_start = sqlite3_column_int64(st, 5);
		run.data_interval_end = sqlite3_column_int64(st, 6);
		run.conf = (char *)sqlite3_column_text(st, 7);
		run.created_ms = sqlite3_column_int64(st, 8);
		run.start_ms = sqlite3_column_int64(st, 9);
		run.end_ms = sqlite3_column_int64(st, 10);
		cJSON_AddItemToArray(a, web_run_json(&run));
	}
	sqlite3_reset(st);
	if (more) {
		char c[24];

		snprintf(c, sizeof(c), "%lld", (long long)last);
		cJSON_AddStringToObject(o, "next_cursor", c);
	} else {
		cJSON_AddNullToObject(o, "next_cursor");
	}
	total = runs_count(r->w, dag->dag_id, state);
	cJSON_AddNumberToObject(o, "total_entries", (double)total);
	web_reply_json(r, 200, o);
}

/* ---------------------------------------------------------- trigger */

/* run ids name a folder of the logs: no '/', no leading '.'. */
static int
run_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= RUN_ID_MAX && s[0] != '.' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "_-.:+~@") == n;
}

void
api_run_trigger(struct web_req *r)
{
	static const char *const fields[] = { "conf", "run_id", "logical_date", NULL };
	const struct dag *dag = web_dag_arg(r, 3);
	cJSON *body, *conf, *rid, *ld;
	const char *run_id = NULL;
	sta_time logical = time_now();
	struct store_run run = {0};
	char err[512], *conf_text = NULL;
	int rc;

	if (dag == NULL || (body = web_body_json(r, fields)) == NULL)
		return;
	conf = cJSON_GetObjectItemCaseSensitive(body, "conf");
	rid = cJSON_GetObjectItemCaseSensitive(body, "run_id");
	ld = cJSON_GetObjectItemCaseSensitive(body, "logical_date");
	if (conf != NULL && !cJSON_IsNull(conf) && !cJSON_IsObject(conf)) {
		web_reply_error(r, 400, "conf must be a JSON object");
		goto out;
	}
	if (rid != NULL && !cJSON_IsNull(rid)) {
		if (!cJSON_IsString(rid) || !run_id_ok(rid->valuestring)) {
			web_reply_error(r, 400, "run_id must be 1-%d of [A-Za-z0-9_.:+~@-], not "
			    "starting with '.'", RUN_ID_MAX);
			goto out;
		}
		run_id = rid->valuestring;
	}
	if (ld != NULL && !cJSON_IsNull(ld) &&
	    (!cJSON_IsString(ld) || time_parse(ld->valuestring, &logical) != 0)) {
		web_reply_error(r, 400, "logical_date must be YYYY-MM-DD or "
		    "YYYY-MM-DDTHH:MM[:SS][+HH:MM]");
		goto out;
	}
	/* checked here, not only in ops_trigger: printed, an integer of 2^53
	 * or more comes out rounded below it, past that check */
	if (conf != NULL && cJSON_IsObject(conf) && ops_conf_check(conf, err, sizeof(err)) != 0) {
		web_reply_error(r, 400, "%s", err);
		goto out;
	}
	if (conf != NULL && cJSON_IsObject(conf))
		conf_text = cJSON_PrintUnformatted(conf);
	rc = ops_trigger(r->w->store, dag, "manual", run_id, logical, conf_text, r->actor,
	    &run, err, sizeof(err));
	if (rc == STORE_EXISTS) {
		web_reply_error(r, 409, "%s", err);
	} else if (rc == OPS_BAD_CONF) {
		web_reply_error(r, 400, "%s", err);
	} else if (rc != 0) {
		web_reply_error(r, 503, "%s", err);
	} else {
		web_notify_scheduler(r->w);
		web_reply_json(r, 201, web_run_json(&run));
	}
	store_run_clear(&run);
out:
	free(conf_text);
	cJSON_Delete(body);
}

/* ------------------------------------------------------ one run */

static int
ti_list_cb(void *arg, const struct store_ti *ti)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "task_id", ti->task_id);
	cJSON_AddStringToObject(o, "state", ti_state_name(ti->state));
	cJSON_AddNumberToObject(o, "try_number", ti->try_number);
	cJSON_AddNumberToObject(o, "max_tries", ti->max_tries);
	cJSON_AddItemToObject(o, "start", web_json_ms(ti->start_ms));
	cJSON_AddItemToObject(o, "end", web_json_ms(ti->end_ms));
	cJSON_AddItemToArray(arg, o);
	return 0;
}

void
api_run_get(struct web_req *r)
{
	const struct dag *dag = web_dag_arg(r, 3);
	struct store_run run = {0};
	cJSON *o, *tis;

	if (dag == NULL || web_run_arg(r, dag, 5, &run) != 0)
		return;
	o = web_run_json(&run);
	tis = cJSON_AddArrayToObject(o, "task_instances");
	if (store_tis_of_run(r->w->store, run.pk, ti_list_cb, tis) != 0) {
		cJSON_Delete(o);
		web_reply_error(r, 500, "cannot read the state store");
	} else {
		web_reply_json(r, 200, o);
	}
	store_run_clear(&run);
}

/* Body of clear: {"task_ids": [...], "downstream": bool, "only_failed":
 * bool}, every field optional (all tasks).  Fills sel; returns 0 or -1
 * after a 400. */
static int
clear_selection(struct web_req *r, const struct dag *dag, const struct store_run *run,
    int *sel, int *downstream)
{
	static const char *const fields[] = { "task_ids", "downstream", "only_failed", NULL };
	cJSON *body = NULL, *ids = NULL, *down = NULL, *failed = NULL, *item;
	int rc = -1;

	if (r->body.len > 0) {
		if ((body = web_body_json(r, fields)) == NULL)
			return -1;
		ids = cJSON_GetObjectItemCaseSensitive(body, "task_ids");
		down = cJSON_GetObjectItemCaseSensitive(body, "downstream");
		failed = cJSON_GetObjectItemCaseSensitive(body, "only_failed");
	}
	if ((ids != NULL && !cJSON_IsArray(ids)) || (down != NULL && !cJSON_IsBool(down)) ||
	    (failed != NULL && !cJSON_IsBool(failed))) {
		web_reply_error(r, 400, "expected {\"task_ids\": [...], \"downstream\": bool, "
		    "\"only_failed\": bool}");
		goto out;
	}
	*downstream = cJSON_IsTrue(down);
	for (size_t i = 0; i < dag->n_tasks; i++)
		sel[i] = ids == NULL;
	cJSON_ArrayForEach(item, ids) {
		ssize_t t = cJSON_IsString(item) ? dag_task_index(dag, item->valuestring) : -1;

		if (t < 0) {
			web_reply_error(r, 400, "task_ids: DAG %s has no task %s", dag->dag_id,
			    cJSON_IsString(item) ? item->valuestring : "(not a string)");
			goto out;
		}
		sel[t] = 1;
	}
	if (cJSON_IsTrue(failed)) {
		for (size_t i = 0; i < dag->n_tasks; i++) {
			struct store_ti ti = {0};

			if (sel[i] && store_ti_get(r->w->store, run->pk, dag->tasks[i].task_id,
			    &ti) == 0)
				sel[i] = ti.state == TI_FAILED || ti.state == TI_UPSTREAM_FAILED;
			else
				sel[i] = 0;
			store_ti_clear(&ti);
		}
	}
	rc = 0;
out:
	cJSON_Delete(body);
	return rc;
}

void
api_run_clear(struct web_req *r)
{
	const struct dag *dag = web_dag_arg(r, 3);
	struct store_run run = {0};
	int *sel, downstream = 0, n;
	cJSON *o;

	if (dag == NULL || web_run_arg(r, dag, 5, &run) != 0)
		return;
	sel = xcalloc(dag->n_tasks ? dag->n_tasks : 1, sizeof(int));
	if (clear_selection(r, dag, &run, sel, &downstream) == 0) {
		n = ops_clear(r->w->store, dag, &run, sel, downstream, r->actor);
		if (n < 0) {
			web_reply_error(r, 503, "could not record the change in the state store");
		} else {
			web_notify_scheduler(r->w);
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "dag_id", dag->dag_id);
			cJSON_AddStringToObject(o, "run_id", run.run_id);
			cJSON_AddNumberToObject(o, "cleared", n);
			web_reply_json(r, 200, o);
		}
	}
	free(sel);
	store_run_clear(&run);
}

/* ------------------------------------------------- task instances */

struct tries_ctx {
	struct buf url;             /* the log URL up to ".../tries/" */
	cJSON *a;
	struct logmask *mask;       /* secret variable values, as in logs */
};

/* Copies the masked form of s over s: it is never longer (each secret of
 * at least LOGMASK_MIN bytes becomes LOGMASK_TEXT). */
static void
mask_in_place(struct logmask *m, char *s)
{
	char *masked = logmask_string(m, s);

	memcpy(s, masked, strlen(masked) + 1);
	free(masked);
}

/* Masks secret values in the strings, keys and numbers of a parsed task
 * result, in place; a number that shows a secret becomes the masked
 * string of its text. */
static void
mask_json(struct logmask *m, cJSON *parent, cJSON *v)
{
	if (v->string != NULL && !(v->type & cJSON_StringIsConst))
		mask_in_place(m, v->string);
	if (cJSON_IsString(v) && v->valuestring != NULL) {
		mask_in_place(m, v->valuestring);
	} else if (cJSON_IsNumber(v) && parent != NULL) {
		char *text = cJSON_PrintUnformatted(v), *masked;

		if (text == NULL)
			return;
		masked = logmask_string(m, text);
		if (strcmp(masked, text) != 0) {
			cJSON *shown = cJSON_CreateString(masked);

			if (cJSON_IsObject(parent) && v->string != NULL)
				cJSON_ReplaceItemInObjectCaseSensitive(parent, v->string, shown);
			else
				cJSON_ReplaceItemViaPointer(parent, v, shown);
		}
		free(masked);
		cJSON_free(text);
	} else {
		cJSON *next;

		for (cJSON *c = v->child; c != NULL; c = next) {
			next = c->next;
			mask_json(m, v, c);
		}
	}
}

/* The try's result as JSON (its text as a string when it is not JSON),
 * secrets masked.  Caller frees. */
static cJSON *
try_result_json(struct logmask *m, const char *result)
{
	cJSON *res, *box;
	char *masked;

	if (result == NULL)
		return cJSON_CreateNull();
	res = cJSON_Parse(result);
	if (res == NULL) {
		masked = logmask_string(m, result);
		res = cJSON_CreateString(masked);
		free(masked);
		return res;
	}
	/* A bare number needs a parent to be replaced in. */
	box = cJSON_CreateArray();
	cJSON_AddItemToArray(box, res);
	mask_json(m, box, res);
	res = cJSON_DetachItemFromArray(box, 0);
	cJSON_Delete(box);
	return res;
}

/* Appends s to b with everything but unreserved characters %-escaped. */
static void
buf_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			buf_putc(b, (char)c);
		else
			buf_printf(b, "%%%02X", c);
	}
}

static int
try_cb(void *arg, const struct store_try *t)
{
	struct tries_ctx *c = arg;
	cJSON *o = cJSON_CreateObject();
	char *reason;
	int64_t pid;

	cJSON_AddNumberToObject(o, "try_number", t->try_number);
	cJSON_AddStringToObject(o, "state", ti_state_name(t->state));
	cJSON_AddStringToObject(o, "executor", t->executor);
	if (t->handle != NULL && strcmp(t->executor, "local") == 0 &&
	    parse_int64(t->handle, &pid) == 0)
		cJSON_AddNumberToObject(o, "pid", (double)pid);
	else if (t->handle != NULL)
		cJSON_AddStringToObject(o, "pod_name", t->handle);
	cJSON_AddItemToObject(o, "hostname", t->hostname ? cJSON_CreateString(t->hostname) :
	    cJSON_CreateNull());
	cJSON_AddItemToObject(o, "start", web_json_ms(t->start_ms));
	cJSON_AddItemToObject(o, "end", web_json_ms(t->end_ms));
	if (t->has_exit_code)
		cJSON_AddNumberToObject(o, "exit_code", t->exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	cJSON_AddNumberToObject(o, "signal", t->signal);
	cJSON_AddItemToObject(o, "result", try_result_json(c->mask, t->result));
	reason = t->reason != NULL ? logmask_string(c->mask, t->reason) : NULL;
	cJSON_AddItemToObject(o, "reason", reason != NULL ? cJSON_CreateString(reason) :
	    cJSON_CreateNull());
	free(reason);
	char *url = xasprintf("%s%d/log", c->url.data, t->try_number);
	cJSON_AddStringToObject(o, "log_url", url);
	free(url);
	cJSON_AddItemToArray(c->a, o);
	return 0;
}

void
api_ti_get(struct web_req *r)
{
	const struct dag *dag = web_dag_arg(r, 3);
	struct store_run run = {0};
	struct store_ti ti = {0};
	struct tries_ctx c = {0};
	cJSON *o;
	int rc;

	if (dag == NULL || web_run_arg(r, dag, 5, &run) != 0)
		return;
	if (dag_task_index(dag, r->seg[7]) < 0) {
		web_reply_error(r, 404, "DAG %s has no task '%s'", dag->dag_id, r->seg[7]);
		goto out;
	}
	rc = store_ti_get(r->w->store, run.pk, r->seg[7], &ti);
	if (rc != 0 && rc != STORE_NOT_FOUND) {
		web_reply_error(r, 500, "cannot read the state store");
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "dag_id", dag->dag_id);
	cJSON_AddStringToObject(o, "run_id", run.run_id);
	cJSON_AddStringToObject(o, "task_id", r->seg[7]);
	cJSON_AddStringToObject(o, "state", rc == 0 ? ti_state_name(ti.state) : "none");
	cJSON_AddNumberToObject(o, "try_number", ti.try_number);
	cJSON_AddNumberToObject(o, "max_tries", ti.max_tries);
	cJSON_AddItemToObject(o, "next_try_at", ti.state == TI_UP_FOR_RETRY ?
	    web_json_time(ti.next_try_at) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "start", web_json_ms(ti.start_ms));
	cJSON_AddItemToObject(o, "end", web_json_ms(ti.end_ms));
	c.a = cJSON_AddArrayToObject(o, "tries");
	buf_puts(&c.url, "/api/v1/dags/");
	buf_escape(&c.url, dag->dag_id);
	buf_puts(&c.url, "/runs/");
	buf_escape(&c.url, run.run_id);
	buf_puts(&c.url, "/tasks/");
	buf_escape(&c.url, r->seg[7]);
	buf_puts(&c.url, "/tries/");
	c.mask = logs_secret_mask(r->w);
	if (rc == 0 && store_tries_of_ti(r->w->store, ti.pk, try_cb, &c) != 0) {
		cJSON_Delete(o);
		web_reply_error(r, 500, "cannot read the state store");
	} else {
		web_reply_json(r, 200, o);
	}
	logmask_free(c.mask);
	buf_free(&c.url);
out:
	store_ti_clear(&ti);
	store_run_clear(&run);
}

void
api_ti_patch(struct web_req *r)
{
	static const char *const fields[] = { "state", NULL };
	const struct dag *dag = web_dag_arg(r, 3);
	struct store_run run = {0};
	cJSON *body = NULL, *s, *o;
	enum ti_state to;
	ssize_t task;
	int rc;

	if (dag == NULL || web_run_arg(r, dag, 5, &run) != 0)
		return;
	if ((task = dag_task_index(dag, r->seg[7])) < 0) {
		web_reply_error(r, 404, "DAG %s has no task '%s'", dag->dag_id, r->seg[7]);
		goto out;
	}
	if ((body = web_body_json(r, fields)) == NULL)
		goto out;
	s = cJSON_GetObjectItemCaseSensitive(body, "state");
	if (!cJSON_IsString(s) || ti_state_parse(s->valuestring, &to) != 0 ||
	    (to != TI_SUCCESS && to != TI_FAILED) || cJSON_GetArraySize(body) != 1) {
		web_reply_error(r, 400, "expected {\"state\": \"success\" | \"failed\"}");
		goto out;
	}
	rc = ops_mark(r->w->store, dag, &run, (size_t)task, to, r->actor);
	if (rc != 0) {
		web_reply_error(r, 503, "could not record the change in the state store");
		goto out;
	}
	web_notify_scheduler(r->w);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "dag_id", dag->dag_id);
	cJSON_AddStringToObject(o, "run_id", run.run_id);
	cJSON_AddStringToObject(o, "task_id", r->seg[7]);
	cJSON_AddStringToObject(o, "state", ti_state_name(to));
	web_reply_json(r, 200, o);
out:
	cJSON_Delete(body);
	store_run_clear(&run);
}
