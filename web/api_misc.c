/*
 * api_misc.c: /healthz, /readyz, and the small listings: pools,
 * variables (secret values never leave the server) and the audit log.
 */
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "lib/timeutil.h"
#include "web/http.h"

#define AUDIT_DEFAULT 100
#define AUDIT_MAX 1000

static const char SQL_READY[] = "SELECT max(version) FROM schema_migrations";
static const char SQL_AUDIT[] =
    "SELECT id, ts_ms, actor, action, dag_id, run_id, task_id, try_number, detail"
    " FROM audit_log WHERE (?1 IS NULL OR dag_id = ?1) AND id < ?2"
    " ORDER BY id DESC LIMIT ?3";

void
api_health(struct web_req *r)
{
	web_reply_text(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

/* Ready when the state store answers and the DAG folder can be read. */
void
api_ready(struct web_req *r)
{
	sqlite3_stmt *st = web_stmt(r->w, SQL_READY);
	int db_ok = 0;
	DIR *d;

	if (st != NULL) {
		db_ok = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
	}
	if (!db_ok) {
		web_reply_text(r, 503, "text/plain; charset=utf-8", "state store unavailable\n", 24);
		return;
	}
	d = opendir(r->w->dags_folder);
	if (d == NULL) {
		web_reply_text(r, 503, "text/plain; charset=utf-8", "DAG folder unreadable\n", 22);
		return;
	}
	closedir(d);
	web_reply_text(r, 200, "text/plain; charset=utf-8", "ready\n", 6);
}

static int
pool_cb(void *arg, const char *name, int slots, const char *description)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddNumberToObject(o, "slots", slots);
	cJSON_AddItemToObject(o, "description", description ? cJSON_CreateString(description) :
	    cJSON_CreateNull());
	cJSON_AddItemToArray(arg, o);
	return 0;
}

void
api_pools(struct web_req *r)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "pools");

	if (store_pools_list(r->w->store, pool_cb, a) != 0) {
		cJSON_Delete(o);
		web_reply_error(r, 500, "cannot read the state store");
		return;
	}
	web_reply_json(r, 200, o);
}

static int
var_cb(void *arg, const char *key, const char *value, int is_secret)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "key", key);
	/* a secret's value is not sent, not even masked to its length */
	cJSON_AddItemToObject(o, "value", is_secret ? cJSON_CreateNull() :
	    cJSON_CreateString(value));
	cJSON_AddBoolToObject(o, "is_secret", is_secret);
	cJSON_AddItemToArray(arg, o);
	return 0;
}

void
api_variables(struct web_req *r)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "variables");

	if (store_vars_list(r->w->store, var_cb, a) != 0) {
		cJSON_Delete(o);
		web_reply_error(r, 500, "cannot read the state store");
		return;
	}
	web_reply_json(r, 200, o);
}

/* Newest first; paged by cursor (the id of the last entry shown). */
void
api_audit(struct web_req *r)
{
	const char *dag_id = web_query(r, "dag_id");
	int64_t limit, before, n = 0, last = 0;
	sqlite3_stmt *st;
	cJSON *o, *a;

	if (web_query_int(r, "limit", AUDIT_DEFAULT, 1, AUDIT_MAX, &limit) != 0 ||
	    web_cursor_arg(r, &before) != 0)
		return;
	if ((st = web_stmt(r->w, SQL_AUDIT)) == NULL) {
		web_reply_error(r, 500, "cannot read the state store");
		return;
	}
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "entries");
	web_bind_text(st, 1, dag_id);
	sqlite3_bind_int64(st, 2, before);
	sqlite3_bind_int64(st, 3, limit + 1);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *e, *detail;
		const char *d;

		if (n++ == limit)
			break;
		e = cJSON_CreateObject();
		last = sqlite3_column_int64(st, 0);
		cJSON_AddNumberToObject(e, "id", (double)last);
		cJSON_AddItemToObject(e, "time", web_json_ms(sqlite3_column_int64(st, 1)));
		cJSON_AddItemToObject(e, "actor", web_col_string(st, 2));
		cJSON_AddItemToObject(e, "action", web_col_string(st, 3));
		cJSON_AddItemToObject(e, "dag_id", web_col_string(st, 4));
		cJSON_AddItemToObject(e, "run_id", web_col_string(st, 5));
		cJSON_AddItemToObject(e, "task_id", web_col_string(st, 6));
		cJSON_AddNumberToObject(e, "try_number", sqlite3_column_int(st, 7));
		d = (const char *)sqlite3_column_text(st, 8);
		detail = d != NULL ? cJSON_Parse(d) : NULL;
		cJSON_AddItemToObject(e, "detail", detail != NULL ? detail : d != NULL ?
		    cJSON_CreateString(d) : cJSON_CreateNull());
		cJSON_AddItemToArray(a, e);
	}
	sqlite3_reset(st);
	if (n > limit) {
		char c[24];

		snprintf(c, sizeof(c), "%lld", (long long)last);
		cJSON_AddStringToObject(o, "next_cursor", c);
	} else {
		cJSON_AddNullToObject(o, "next_cursor");
	}
	web_reply_json(r, 200, o);
}
