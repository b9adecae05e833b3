/*
 * analytics.c: /api/v1/analytics: rows of the aggregate tables from the
 * analytical SQLite store, for the UI's charts.  Only the tables named
 * here can be read, so the table name in a request never reaches SQL;
 * a database or table that does not exist yet gives an empty list with a
 * note, since a fresh deployment has run no aggregate yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "web/http.h"

#define ROWS_DEFAULT 1000
#define ROWS_MAX 20000

static const char *const tables[] = {
	"aggregate_metrics_by_day",
	"aggregate_transaction_metrics_by_block",
	"security_token_metrics_by_day",
};

/* Opens the analytical store read-only; NULL (with *note) when it is
 * missing or unreadable. */
static sqlite3 *
open_analytics(const char *path, const char **note)
{
	sqlite3 *db = NULL;

	if (!fs_exists(path)) {
		*note = "the analytical store does not exist yet (--analytics-db or "
		    "STA_ANALYTICS_DB; default $STA_HOME/analytics.db)";
		return NULL;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		log_warn("web: analytics store %s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		*note = "the analytical store cannot be opened (see the server log)";
		return NULL;
	}
	sqlite3_busy_timeout(db, 1000);
	return db;
}

/* Whether table exists and has column col (col NULL: any). */
static int
has_table(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1)", -1, &st,
	    NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (!found && sqlite3_step(st) == SQLITE_ROW)
		found = col == NULL || strcmp((const char *)sqlite3_column_text(st, 0), col) == 0;
	sqlite3_finalize(st);
	return found;
}

static cJSON *
empty_with_note(const char *table, const char *note)
{
	cJSON *o = cJSON_CreateObject();

	if (table != NULL)
		cJSON_AddStringToObject(o, "table", table);
	cJSON_AddItemToObject(o, "columns", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "rows", cJSON_CreateArray());
	cJSON_AddStringToObject(o, "note", note);
	return o;
}

void
api_analytics_list(struct web_req *r)
{
	const char *note = NULL;
	sqlite3 *db = open_analytics(r->w->analytics_db, &note);
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "tables");

	for (size_t i = 0; i < ARRAY_LEN(tables); i++) {
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "name", tables[i]);
		cJSON_AddBoolToObject(t, "available", db != NULL && has_table(db, tables[i], NULL));
		cJSON_AddItemToArray(a, t);
	}
	if (note != NULL)
		cJSON_AddStringToObject(o, "note", note);
	sqlite3_close(db);
	web_reply_json(r, 200, o);
}

/* Whether text is a decimal number ("12", "-0.5", "1e18"): the stores
 * keep wei amounts and rounded averages as exact decimal text. */
static int
decimal_text(const char *s)
{
	char *end;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	(void)strtod(s, &end);
	return *end == '\0' && errno != ERANGE;
}

/* The column the charts use as x: the first of these the table has. */
static const char *
x_column(sqlite3 *db, const char *table)
{
	static const char *const names[] = { "block_date", "day", "date" };

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (has_table(db, table, names[i]))
			return names[i];
	return NULL;
}

/* When rows share an x value (a day per standard), the first text column
 * other than x tells the series apart: its name, or null. */
static cJSON *
group_column(const cJSON *rows, const cJSON *cols, const char *x)
{
	const cJSON *row, *col;
	const char *prev = NULL;
	int repeats = 0;

	if (x == NULL)
		return cJSON_CreateNull();
	cJSON_ArrayForEach(row, rows) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, x));

		if (v != NULL && prev != NULL && strcmp(v, prev) == 0)
			repeats = 1;
		prev = v;
	}
	if (!repeats)
		return cJSON_CreateNull();
	cJSON_ArrayForEach(col, cols) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(col, "name"));

		if (name != NULL && strcmp(name, x) != 0 && cJSON_IsFalse(cJSON_GetObjectItem(col, "numeric")))
			return cJSON_CreateString(name);
	}
	return cJSON_CreateNull();
}

/* The latest rows as objects, oldest first.  A column is numeric when
 * every non-null value sent is an integer, a real or decimal text (sent
 * as text, exact), and at least one is. */
static cJSON *
table_rows(sqlite3 *db, const char *table, int64_t limit)
{
	const char *x = x_column(db, table);
	/* newest first, then put back in order; rowid keeps the order of
	 * rows of one day (a table without one is ordered by x alone) */
	char *sql = x != NULL ?
	    xasprintf("SELECT * FROM \"%s\" ORDER BY \"%s\" DESC, rowid DESC LIMIT ?1", table, x) :
	    xasprintf("SELECT * FROM \"%s\" ORDER BY rowid LIMIT ?1", table);
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL, *cols, *rows;
	int n, *numeric = NULL, *seen = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		free(sql);
		sql = x != NULL ?
		    xasprintf("SELECT * FROM \"%s\" ORDER BY \"%s\" DESC LIMIT ?1", table, x) :
		    xasprintf("SELECT * FROM \"%s\" LIMIT ?1", table);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
			log_warn("web: analytics: %s: %s", sql, sqlite3_errmsg(db));
			goto out;
		}
	}
	sqlite3_bind_int64(st, 1, limit);
	n = sqlite3_column_count(st);
	numeric = xcalloc((size_t)n + 1, sizeof(int));
	seen = xcalloc((size_t)n + 1, sizeof(int));
	for (int c = 0; c < n; c++)
		numeric[c] = 1;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "table", table);
	cols = cJSON_AddArrayToObject(o, "columns");
	rows = cJSON_AddArrayToObject(o, "rows");
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject();

		for (int c = 0; c < n; c++) {
			const char *name = sqlite3_column_name(st, c);

			switch (sqlite3_column_type(st, c)) {
			case SQLITE_INTEGER:
				cJSON_AddNumberToObject(row, name, (double)sqlite3_column_int64(st, c));
				seen[c] = 1;
				break;
			case SQLITE_FLOAT:
				cJSON_AddNumberToObject(row, name, sqlite3_column_double(st, c));
				seen[c] = 1;
				break;
			case SQLITE_NULL:
				cJSON_AddNullToObject(row, name);
				break;
			default: {
				const char *v = (const char *)sqlite3_column_text(st, c);

				cJSON_AddStringToObject(row, name, v != NULL ? v : "");
				if (decimal_text(v))
					seen[c] = 1;
				else
					numeric[c] = 0;
			}
			}
		}
		if (x != NULL)
			cJSON_InsertItemInArray(rows, 0, row);     /* O(1) at the head */
		else
			cJSON_AddItemToArray(rows, row);
	}
	for (int c = 0; c < n; c++) {
		cJSON *col = cJSON_CreateObject();

		cJSON_AddStringToObject(col, "name", sqlite3_column_name(st, c));
		cJSON_AddBoolToObject(col, "numeric", numeric[c] && seen[c]);
		cJSON_AddItemToArray(cols, col);
	}
	cJSON_AddItemToObject(o, "x", x != NULL ? cJSON_CreateString(x) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "group", group_column(rows, cols, x));
out:
	sqlite3_finalize(st);
	free(numeric);
	free(seen);
	free(sql);
	return o;
}

/* Reading and converting up to ROWS_MAX rows takes a while: a worker
 * thread does it on a connection of its own. */
struct table_read {
	char *db_path;
	const char *table;          /* from tables[] */
	int64_t limit;
	cJSON *out;
};

static void
table_read_free(void *arg)
{
	struct table_read *t = arg;

	cJSON_Delete(t->out);
	free(t->db_path);
	free(t);
}

static void
table_read_work(struct web_job *j)
{
	struct table_read *t = j->arg;
	const char *note = NULL;
	sqlite3 *db = open_analytics(t->db_path, &note);

	if (db == NULL) {
		t->out = empty_with_note(t->table, note);
		return;
	}
	if (!has_table(db, t->table, NULL))
		t->out = empty_with_note(t->table, "the table does not exist yet: its aggregate has not run");
	else if ((t->out = table_rows(db, t->table, t->limit)) == NULL)
		t->out = empty_with_note(t->table, "the table cannot be read (see the server log)");
	sqlite3_close(db);
}

static void
table_read_done(struct web_job *j)
{
	struct table_read *t = j->arg;

	web_reply_json(j->req, 200, t->out);
	t->out = NULL;
}

void
api_analytics_table(struct web_req *r)
{
	struct table_read *t;
	struct web_job *j;
	const char *table = NULL;
	int64_t limit;

	for (size_t i = 0; i < ARRAY_LEN(tables); i++)
		if (strcmp(r->seg[3], tables[i]) == 0)
			table = tables[i];
	if (table == NULL) {
		web_reply_error(r, 404, "no analytics table '%s' (see /api/v1/analytics)", r->seg[3]);
		return;
	}
	if (web_query_int(r, "limit", ROWS_DEFAULT, 1, ROWS_MAX, &limit) != 0)
		return;
	t = xcalloc(1, sizeof(*t));
	j = xcalloc(1, sizeof(*j));
	t->db_path = xstrdup(r->w->analytics_db);
	t->table = table;
	t->limit = limit;
	j->work = table_read_work;
	j->done = table_read_done;
	j->free_fn = table_read_free;
	j->arg = t;
	if (web_defer(r, j) != 0) {
		table_read_free(t);
		free(j);
		web_reply_error(r, 503, "busy: try again");
	}
}
