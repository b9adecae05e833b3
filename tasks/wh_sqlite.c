/*
 * wh_sqlite.c: the SQLite analytical store (the default: zero setup).
 *
 * uint256 amounts are stored as exact decimal text; the functions
 * dec_sum(x), dec_max(x) and dec_div(a, b, scale), registered on every
 * connection, do exact arithmetic on them for the aggregates.
 */
#include "tasks/warehouse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tasks/decimal.h"
#include "tasks/itemin.h"

/* ---- exact decimal SQL functions ---- */

/* The decimal text of an SQL value, or NULL (null, or not a non-negative
 * integer: *bad set). */
static char *
arg_dec(sqlite3_value *v, int *bad)
{
	char tmp[32];

	switch (sqlite3_value_type(v)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_INTEGER:
		if (sqlite3_value_int64(v) < 0)
			break;
		snprintf(tmp, sizeof(tmp), "%lld", (long long)sqlite3_value_int64(v));
		return xstrdup(tmp);
	case SQLITE_TEXT:
		if (dec_valid((const char *)sqlite3_value_text(v)))
			return xstrdup((const char *)sqlite3_value_text(v));
		break;
	}
	*bad = 1;
	return NULL;
}

struct dec_acc {
	char *v;
	int bad;
};

static void
dec_sum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct dec_acc *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));
	char *x;

	(void)argc;
	if (acc == NULL || (x = arg_dec(argv[0], &acc->bad)) == NULL)
		return;
	if (acc->v == NULL) {
		acc->v = x;
	} else {
		char *s = dec_add(acc->v, x);

		free(acc->v);
		free(x);
		acc->v = s;
	}
}

static void
dec_max_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct dec_acc *acc = sqlite3_aggregate_context(ctx, sizeof(*acc));
	char *x;

	(void)argc;
	if (acc == NULL || (x = arg_dec(argv[0], &acc->bad)) == NULL)
		return;
	if (acc->v == NULL || dec_cmp(x, acc->v) > 0) {
		free(acc->v);
		acc->v = x;
	} else {
		free(x);
	}
}

static void
dec_final(sqlite3_context *ctx)
{
	struct dec_acc *acc = sqlite3_aggregate_context(ctx, 0);

	if (acc && acc->bad)
		sqlite3_result_error(ctx, "dec_sum/dec_max: a value is not a non-negative integer", -1);
	else if (acc && acc->v)
		sqlite3_result_text(ctx, acc->v, -1, free), acc->v = NULL;
	else
		sqlite3_result_null(ctx);
	if (acc)
		free(acc->v);
}

static void
dec_div_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	int bad = 0;
	char *a = arg_dec(argv[0], &bad), *b = arg_dec(argv[1], &bad), *q = NULL;

	(void)argc;
	if (bad)
		sqlite3_result_error(ctx, "dec_div: not a non-negative integer", -1);
	else if (a && b && (q = dec_div(a, b, sqlite3_value_int(argv[2]))) != NULL)
		sqlite3_result_text(ctx, q, -1, free), q = NULL;
	else
		sqlite3_result_null(ctx);
	free(a);
	free(b);
	free(q);
}

/* ---- connection ---- */

static int
exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("analytics store: %s (in: %.200s)", err ? err : "error", sql);
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static void *
sq_open(const char *uri, const char *home)
{
	const char *path = uri + strlen("sqlite://");
	sqlite3 *db = NULL;
	char *dir;

	(void)home;
	if (*path == '\0') {
		log_error("store %s: no path (sqlite:///abs/path or sqlite://./rel/path)", uri);
		return NULL;
	}
	dir = fs_dirname(path);
	if (fs_mkdir_p(dir) < 0) {
		log_error("store %s: cannot create %s: %s", uri, dir, strerror(errno));
		free(dir);
		return NULL;
	}
	free(dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		log_error("store %s: %s", uri, db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 30000);
	sqlite3_create_function(db, "dec_sum", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
	    dec_sum_step, dec_final);
	sqlite3_create_function(db, "dec_max", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
	    dec_max_step, dec_final);
	sqlite3_create_function(db, "dec_div", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
	    dec_div_fn, NULL, NULL);
	if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") < 0) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void
sq_close(void *conn)
{
	sqlite3_close(conn);
}

static const char *
sq_type(char kind)
{
	switch (kind) {
	case 'i': case 'b': return "INTEGER";
	case 'f': return "REAL";
	default: return "TEXT";
	}
}

static int
sq_ensure_tables(void *conn)
{
	sqlite3 *db = conn;
	struct buf sql = {0};
	int rc;

	for (size_t i = 0; wh_tables[i]; i++) {
		const struct wh_table *t = wh_tables[i];

		buf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s (", t->name);
		for (size_t c = 0; t->cols[c].name; c++)
			buf_printf(&sql, "%s%s %s%s", c ? ", " : "", t->cols[c].name,
			    sq_type(t->cols[c].kind), t->cols[c].kind == 'd' ? " NOT NULL" : "");
		buf_printf(&sql, ");\nCREATE INDEX IF NOT EXISTS %s_block_date ON %s (block_date);\n",
		    t->name, t->name);
		for (size_t k = 0; t->index_cols[k]; k++)
			buf_printf(&sql, "CREATE INDEX IF NOT EXISTS %s_%s ON %s (%s);\n", t->name,
			    t->index_cols[k], t->name, t->index_cols[k]);
	}
	buf_puts(&sql, wh_sql_file("sqlite/schema.sql"));
	rc = exec(db, sql.data);
	buf_free(&sql);
	return rc;
}

/* Binds one CSV field of column c; -1 (with *why) if it does not fit. */
static int
bind_field(sqlite3_stmt *st, int pos, const struct wh_column *c, const char *v, char **why)
{
	int64_t n;

	if (v == NULL || *v == '\0')
		return sqlite3_bind_null(st, pos) == SQLITE_OK ? 0 : -1;
	switch (c->kind) {
	case 'i':
		if (parse_int64(v, &n) < 0)
			break;
		return sqlite3_bind_int64(st, pos, n) == SQLITE_OK ? 0 : -1;
	case 'n':
	case 'u':
		if (!dec_valid(v))
			break;
		return sqlite3_bind_text(st, pos, v, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
	case 'b':
		if (strcmp(v, "True") != 0 && strcmp(v, "False") != 0)
			break;
		return sqlite3_bind_int(st, pos, v[0] == 'T') == SQLITE_OK ? 0 : -1;
	case 'f': {
		char *end;
		double d = strtod(v, &end);

		if (*end != '\0')
			break;
		return sqlite3_bind_double(st, pos, d) == SQLITE_OK ? 0 : -1;
	}
	default:
		return sqlite3_bind_text(st, pos, v, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : -1;
	}
	*why = xasprintf("column %s: '%.60s' is not a%s", c->name, v,
	    c->kind == 'i' ? " 64-bit integer" : c->kind == 'n' || c->kind == 'u' ? " non-negative integer" :
	    c->kind == 'b' ? " boolean (True/False)" : " number");
	return -1;
}

static int
sq_load(void *conn, const struct wh_table *t, const char *date, const char *path,
    const char *s3_uri, long long *rows)
{
	sqlite3 *db = conn;
	size_t ncols = wh_ncols(t);
	struct itemin *in = NULL;
	sqlite3_stmt *ins = NULL, *del = NULL;
	struct buf sql = {0};
	cJSON *it = NULL;
	char *why = NULL;
	int rc = -1, got;

	(void)s3_uri;
	*rows = 0;
	if ((in = itemin_open(path)) == NULL)
		return -1;
	if (exec(db, "BEGIN IMMEDIATE") < 0)
		goto out;
	buf_printf(&sql, "CREATE TEMP TABLE stage AS SELECT * FROM %s WHERE 0", t->name);
	if (exec(db, sql.data) < 0)
		goto rollback;
	buf_reset(&sql);
	buf_puts(&sql, "INSERT INTO stage VALUES (");
	for (size_t c = 0; c < ncols; c++)
		buf_puts(&sql, c ? ", ?" : "?");
	buf_puts(&sql, ")");
	if (sqlite3_prepare_v2(db, sql.data, -1, &ins, NULL) != SQLITE_OK)
		goto sqlerr;
	while ((got = itemin_next(in, &it)) > 0) {
		for (size_t c = 0; c < ncols; c++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, t->cols[c].name);

			if (t->cols[c].kind == 'd') {
				sqlite3_bind_text(ins, (int)c + 1, date, -1, SQLITE_STATIC);
				continue;
			}
			if (v == NULL && t->cols[c].kind == 'T') {
				sqlite3_bind_null(ins, (int)c + 1);
				continue;
			}
			if (v == NULL) {
				why = xasprintf("no column %s", t->cols[c].name);
				goto bad_row;
			}
			if (bind_field(ins, (int)c + 1, &t->cols[c], cJSON_IsString(v) ? v->valuestring :
			    NULL, &why) < 0)
				goto bad_row;
		}
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto sqlerr;
		sqlite3_reset(ins);
		cJSON_Delete(it);
		it = NULL;
		(*rows)++;
	}
	if (got < 0)
		goto rollback;
	/* The partition is replaced whole, in this one transaction. */
	buf_reset(&sql);
	buf_printf(&sql, "DELETE FROM %s WHERE block_date = ?", t->name);
	if (sqlite3_prepare_v2(db, sql.data, -1, &del, NULL) != SQLITE_OK)
		goto sqlerr;
	sqlite3_bind_text(del, 1, date, -1, SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto sqlerr;
	buf_reset(&sql);
	buf_printf(&sql, "INSERT INTO %s SELECT * FROM stage; DROP TABLE stage; COMMIT", t->name);
	if (exec(db, sql.data) < 0)
		goto rollback;
	rc = 0;
	goto out;
bad_row:
	log_error("%s:%zu: %s", path, itemin_line(in), why);
	goto rollback;
sqlerr:
	log_error("analytics store: loading %s %s: %s", t->name, date, sqlite3_errmsg(db));
rollback:
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	ins = del = NULL;
	exec(db, "ROLLBACK");
out:
	free(why);
	cJSON_Delete(it);
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	buf_free(&sql);
	itemin_close(in);
	return rc;
}

/* Runs every statement of sql in one transaction, binding :date. */
static int
run_script(sqlite3 *db, const char *sql, const char *date, const char *what)
{
	const char *tail = sql;
	int rc = -1;

	if (exec(db, "BEGIN IMMEDIATE") < 0)
		return -1;
	while (tail && *tail) {
		sqlite3_stmt *st = NULL;
		int idx;

		if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
			log_error("%s: %s", what, sqlite3_errmsg(db));
			goto out;
		}
		if (st == NULL)
			continue;	/* only a comment or blanks were left */
		if ((idx = sqlite3_bind_parameter_index(st, ":date")) > 0)
			sqlite3_bind_text(st, idx, date, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			rc = -1;
			log_error("%s: %s", what, sqlite3_errmsg(db));
			goto out;
		}
	}
	rc = exec(db, "COMMIT");
	return rc;
out:
	exec(db, "ROLLBACK");
	return -1;
}

static int
sq_aggregate(void *conn, const char *name, const char *date)
{
	char *file = xasprintf("sqlite/%s.sql", name), *sql;
	const char *text = wh_sql_file(file);
	int rc;

	if (text == NULL) {
		log_error("no aggregate %s (tasks/sql/%s)", name, file);
		free(file);
		return -1;
	}
	sql = wh_day_filter(text, date, ":date");
	rc = run_script(conn, sql, date, file);
	free(sql);
	free(file);
	return rc;
}

static int
sq_print_query(void *conn, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("query: %s", sqlite3_errmsg(conn));
		return -1;
	}
	for (int c = 0; c < sqlite3_column_count(st); c++)
		printf("%s%s", c ? "\t" : "", sqlite3_column_name(st, c));
	putchar('\n');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *v = sqlite3_column_text(st, c);

			printf("%s%s", c ? "\t" : "", v ? (const char *)v : "");
		}
		putchar('\n');
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

const struct wh_backend wh_sqlite_backend = {
	"sqlite", sq_open, sq_close, sq_ensure_tables, sq_load, sq_aggregate, sq_print_query,
};
