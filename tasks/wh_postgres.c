/*
 * wh_postgres.c: PostgreSQL through libpq, and Amazon Redshift, which
 * speaks the same protocol.
 *
 * PostgreSQL loads a partition with COPY ... FROM STDIN into a temporary
 * stage table, then deletes the partition and inserts the stage in the same
 * transaction.  Redshift loads the stage with COPY ... FROM 's3://...'
 * IAM_ROLE ..., since it reads files from S3 itself.  A Redshift URI is
 *   redshift://USER:PASSWORD@HOST:5439/DB?iam_role=ARN&region=REGION
 * and with dry_run=1 prints the SQL it would send instead of connecting
 * (Redshift cannot run here; the tests check that SQL).  Redshift gets its
 * own dialect of an SQL file where tasks/sql/redshift has one (its schema,
 * the security-token aggregates), PostgreSQL's file otherwise.
 */
#include "tasks/warehouse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "lib/log.h"
#include "lib/util.h"

struct pg {
	PGconn *conn;
	int redshift;
	int dry_run;
	char *iam_role, *region;
};

/* The value of key in a URI's query string (caller frees), or NULL. */
static char *
query_param(const char *uri, const char *key)
{
	const char *q = strchr(uri, '?');
	size_t kl = strlen(key);

	while (q && *q) {
		q++;
		if (strncmp(q, key, kl) == 0 && q[kl] == '=') {
			const char *v = q + kl + 1;

			return xstrndup(v, strcspn(v, "&"));
		}
		q = strchr(q, '&');
	}
	return NULL;
}

int
wh_uri_dry_run(const char *uri)
{
	char *dry = uri ? query_param(uri, "dry_run") : NULL;
	int yes = dry && strcmp(dry, "1") == 0;

	free(dry);
	return yes;
}

/* A libpq URI without our own query parameters. */
static char *
libpq_uri(const char *uri, int redshift)
{
	struct buf b = {0};
	const char *rest = strstr(uri, "://") + 3, *q = strchr(rest, '?');

	buf_puts(&b, "postgresql://");
	buf_append(&b, rest, q ? (size_t)(q - rest) : strlen(rest));
	while (q && *q) {
		const char *item = q + 1, *end = item + strcspn(item, "&");

		if (!redshift || (strncmp(item, "iam_role=", 9) != 0 && strncmp(item, "region=", 7) != 0 &&
		    strncmp(item, "dry_run=", 8) != 0)) {
			buf_putc(&b, strchr(b.data, '?') ? '&' : '?');
			buf_append(&b, item, (size_t)(end - item));
		}
		q = *end ? end : NULL;
	}
	return buf_detach(&b);
}

/* Server notices ("relation ... already exists, skipping") go to the
 * debug log, not the task's output. */
static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("postgres: %s", message);
}

static void *
open_common(const char *uri, int redshift)
{
	struct pg *p = xcalloc(1, sizeof(*p));
	char *dry = query_param(uri, "dry_run"), *conninfo;

	p->redshift = redshift;
	p->dry_run = dry && strcmp(dry, "1") == 0;
	free(dry);
	p->iam_role = query_param(uri, "iam_role");
	p->region = query_param(uri, "region");
	if (redshift && p->iam_role == NULL) {
		log_error("store %s: a Redshift store needs ?iam_role=ARN (the role COPY reads S3 with)",
		    uri);
		goto fail;
	}
	if (p->dry_run)
		return p;
	conninfo = libpq_uri(uri, redshift);
	p->conn = PQconnectdb(conninfo);
	free(conninfo);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		log_error("store %s: %s", uri, PQerrorMessage(p->conn));
		goto fail;
	}
	PQsetNoticeProcessor(p->conn, quiet_notice, NULL);
	return p;
fail:
	PQfinish(p->conn);
	free(p->iam_role);
	free(p->region);
	free(p);
	return NULL;
}

static void *
pg_open(const char *uri, const char *home)
{
	(void)home;
	return open_common(uri, 0);
}

static void *
rs_open(const char *uri, const char *home)
{
	(void)home;
	return open_common(uri, 1);
}

static void
pg_close(void *conn)
{
	struct pg *p = conn;

	PQfinish(p->conn);
	free(p->iam_role);
	free(p->region);
	free(p);
}

/* Runs one statement with an optional date parameter ($1). */
static int
run(struct pg *p, const char *sql, const char *date)
{
	PGresult *res;
	ExecStatusType st;
	int rc = 0;

	if (p->dry_run) {
		printf("%s;%s%s\n", sql, date ? " -- $1 = " : "", date ? date : "");
		return 0;
	}
	res = date ? PQexecParams(p->conn, sql, 1, NULL, &date, NULL, NULL, 0) :
	    PQexec(p->conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_error("analytics store: %s(in: %.300s)", PQerrorMessage(p->conn), sql);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static const char *
pg_type(const struct pg *p, char kind)
{
	switch (kind) {
	case 'i': return "BIGINT";
	case 'n': return p->redshift ? "NUMERIC(38, 0)" : "NUMERIC(78, 0)";
	case 'u': return p->redshift ? "VARCHAR(78)" : "NUMERIC(78, 0)";
	case 'b': return "BOOLEAN";
	case 'f': return "DOUBLE PRECISION";
	case 'd': return "DATE NOT NULL";
	default: return p->redshift ? "VARCHAR(65535)" : "TEXT";
	}
}

/* Runs a script of statements separated by ";" at line ends. */
static int
run_script(struct pg *p, const char *sql, const char *date)
{
	char *copy = xstrdup(sql), *s = copy;
	int rc = 0;

	while (rc == 0 && s && *s) {
		char *end = strstr(s, ";\n"), *t = s;

		if (end)
			*end = '\0';
		while (*t == ' ' || *t == '\n' || (t[0] == '-' && t[1] == '-')) {
			if (*t == '-')
				t += strcspn(t, "\n");
			else
				t++;
		}
		/* Redshift has no indexes: its tables use sort and dist keys. */
		if (*t && !(p->redshift && strncmp(t, "CREATE INDEX", 12) == 0))
			rc = run(p, t, strstr(t, "$1") ? date : NULL);
		s = end ? end + 2 : NULL;
	}
	free(copy);
	return rc;
}

/* Column names are quoted everywhere: "timestamp" (blocks) and
 * "partition" (security_token_events) are reserved words in Redshift. */
static int
pg_ensure_tables(void *conn)
{
	struct pg *p = conn;
	struct buf sql = {0};
	int rc = 0;

	for (size_t i = 0; wh_tables[i] && rc == 0; i++) {
		const struct wh_table *t = wh_tables[i];

		buf_reset(&sql);
		buf_printf(&sql, "CREATE TABLE IF NOT EXISTS %s (", t->name);
		for (size_t c = 0; t->cols[c].name; c++)
			buf_printf(&sql, "%s\"%s\" %s", c ? ", " : "", t->cols[c].name,
			    pg_type(p, t->cols[c].kind));
		buf_putc(&sql, ')');
		if (p->redshift)
			buf_printf(&sql, " DISTKEY (\"%s\") COMPOUND SORTKEY (block_date, \"%s\")",
			    t->redshift_distkey, t->redshift_sortkey);
		rc = run(p, sql.data, NULL);
		if (rc == 0 && !p->redshift) {
			buf_reset(&sql);
			buf_printf(&sql, "CREATE INDEX IF NOT EXISTS %s_block_date ON %s (block_date)",
			    t->name, t->name);
			rc = run(p, sql.data, NULL);
			for (size_t k = 0; rc == 0 && t->index_cols[k]; k++) {
				buf_reset(&sql);
				buf_printf(&sql, "CREATE INDEX IF NOT EXISTS %s_%s ON %s (\"%s\")", t->name,
				    t->index_cols[k], t->name, t->index_cols[k]);
				rc = run(p, sql.data, NULL);
			}
		}
	}
	if (rc == 0)
		rc = run_script(p, wh_sql_file(p->redshift ? "redshift/schema.sql" : "postgres/schema.sql"),
		    NULL);
	buf_free(&sql);
	return rc;
}

/* Appends s as an SQL string literal: in '...', every single quote doubled
 * and every backslash doubled (Redshift, like PostgreSQL without
 * standard_conforming_strings, reads a backslash in a literal as an escape). */
static void
put_literal(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			buf_putc(b, *s);
		buf_putc(b, *s);
	}
	buf_putc(b, '\'');
}

/* Streams a local file into a COPY ... FROM STDIN; *rows gets the count. */
static int
copy_from_file(struct pg *p, const char *sql, const char *path, long long *rows)
{
	FILE *f = fopen(path, "r");
	char chunk[65536];
	size_t n;
	PGresult *res;
	int rc = 0;

	if (f == NULL) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	res = PQexec(p->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		log_error("analytics store: %s", PQerrorMessage(p->conn));
		PQclear(res);
		fclose(f);
		return -1;
	}
	PQclear(res);
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (PQputCopyData(p->conn, chunk, (int)n) != 1)
			rc = -1;
	if (rc == 0 && ferror(f)) {
		/* a short read must not end the COPY as if the file ended there */
		log_error("%s: read error: the load is rolled back", path);
		rc = -1;
	}
	fclose(f);
	PQputCopyEnd(p->conn, rc ? "read error" : NULL);
	res = PQgetResult(p->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("%s: %s", path, PQerrorMessage(p->conn));
		rc = -1;
	} else {
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	}
	PQclear(res);
	while ((res = PQgetResult(p->conn)) != NULL)
		PQclear(res);
	return rc;
}

/* The header line of a local CSV file (caller frees), or NULL. */
static char *
first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL)
		return NULL;
	if (getline(&line, &cap, f) < 0) {
		free(line);
		line = NULL;
	}
	fclose(f);
	return line;
}

/* Whether a CSV header line names column. */
static int
has_column(const char *header, const char *column)
{
	size_t n = strlen(column);

	for (const char *p = header; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0)) {
		if (strncmp(p, column, n) == 0 && (p[n] == ',' || p[n] == '\r' || p[n] == '\n' ||
		    p[n] == '\0'))
			return 1;
	}
	return 0;
}

static int
pg_load(void *conn, const struct wh_table *t, const char *date, const char *path,
    const char *s3_uri, long long *rows)
{
	struct pg *p = conn;
	struct buf cols = {0}, sql = {0};
	char *header;
	int rc = -1;

	*rows = 0;
	header = first_line(path);
	for (size_t c = 0, n = 0; t->cols[c].kind != 'd'; c++) {
		/* a column sta adds to ethereum-etl's is loaded when the file has it */
		if (t->cols[c].kind == 'T' && !p->redshift && !has_column(header, t->cols[c].name))
			continue;
		buf_printf(&cols, "%s\"%s\"", n++ ? ", " : "", t->cols[c].name);
	}
	free(header);
	if (p->redshift && s3_uri == NULL) {
		log_error("Redshift loads %s %s from S3: the lake must be an s3:// URI", t->name, date);
		return -1;
	}
	if (run(p, "BEGIN", NULL) < 0)
		goto out;
	/* The stage has the data columns only, without the table's constraints. */
	buf_printf(&sql, "CREATE TEMP TABLE stage_%s AS SELECT %s FROM %s WHERE 1 = 0", t->name,
	    cols.data, t->name);
	if (run(p, sql.data, NULL) < 0)
		goto rollback;
	buf_reset(&sql);
	if (p->redshift) {
		/* COPY takes no parameters: the literals are quoted here. */
		buf_printf(&sql, "COPY stage_%s (%s) FROM ", t->name, cols.data);
		put_literal(&sql, s3_uri);
		buf_puts(&sql, " IAM_ROLE ");
		put_literal(&sql, p->iam_role);
		buf_puts(&sql, " FORMAT AS CSV IGNOREHEADER 1 EMPTYASNULL ACCEPTINVCHARS");
		if (p->region) {
			buf_puts(&sql, " REGION ");
			put_literal(&sql, p->region);
		}
		if (run(p, sql.data, NULL) < 0)
			goto rollback;
	} else {
		buf_printf(&sql, "COPY stage_%s (%s) FROM STDIN WITH (FORMAT csv, HEADER MATCH)",
		    t->name, cols.data);
		if (copy_from_file(p, sql.data, path, rows) < 0)
			goto rollback;
	}
	buf_reset(&sql);
	buf_printf(&sql, "DELETE FROM %s WHERE block_date = $1", t->name);
	if (run(p, sql.data, date) < 0)
		goto rollback;
	buf_reset(&sql);
	buf_printf(&sql, "INSERT INTO %s (%s, block_date) SELECT %s, $1::date FROM stage_%s", t->name,
	    cols.data, cols.data, t->name);
	if (run(p, sql.data, date) < 0)
		goto rollback;
	buf_reset(&sql);
	buf_printf(&sql, "DROP TABLE stage_%s", t->name);
	if (run(p, sql.data, NULL) < 0 || run(p, "COMMIT", NULL) < 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	run(p, "ROLLBACK", NULL);
out:
	buf_free(&cols);
	buf_free(&sql);
	return rc;
}

/* The text of aggregate name: Redshift's dialect where tasks/sql/redshift
 * has the file, PostgreSQL's otherwise; NULL when neither has it. */
static const char *
aggregate_sql(const struct pg *p, const char *name)
{
	const char *text = NULL;
	char *file;

	if (p->redshift) {
		file = xasprintf("redshift/%s.sql", name);
		text = wh_sql_file(file);
		free(file);
	}
	if (text == NULL) {
		file = xasprintf("postgres/%s.sql", name);
		text = wh_sql_file(file);
		free(file);
	}
	return text;
}

static int
pg_aggregate(void *conn, const char *name, const char *date)
{
	struct pg *p = conn;
	const char *text = aggregate_sql(p, name);
	char *sql;
	int rc;

	if (text == NULL) {
		log_error("no aggregate %s (tasks/sql/postgres/%s.sql)", name, name);
		return -1;
	}
	sql = wh_day_filter(text, date, "$1::date");
	rc = run(p, "BEGIN", NULL);
	if (rc == 0)
		rc = run_script(p, sql, date);
	if (rc == 0)
		rc = run(p, "COMMIT", NULL);
	else
		run(p, "ROLLBACK", NULL);
	free(sql);
	return rc;
}

static int
pg_print_query(void *conn, const char *sql)
{
	struct pg *p = conn;
	PGresult *res;

	if (p->dry_run)
		return run(p, sql, NULL);
	res = PQexec(p->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("query: %s", PQerrorMessage(p->conn));
		PQclear(res);
		return -1;
	}
	for (int c = 0; c < PQnfields(res); c++)
		printf("%s%s", c ? "\t" : "", PQfname(res, c));
	putchar('\n');
	for (int r = 0; r < PQntuples(res); r++) {
		for (int c = 0; c < PQnfields(res); c++)
			printf("%s%s", c ? "\t" : "", PQgetvalue(res, r, c));
		putchar('\n');
	}
	PQclear(res);
	return 0;
}

const struct wh_backend wh_postgres_backend = {
	"postgresql", pg_open, pg_close, pg_ensure_tables, pg_load, pg_aggregate, pg_print_query,
};

const struct wh_backend wh_redshift_backend = {
	"redshift", rs_open, pg_close, pg_ensure_tables, pg_load, pg_aggregate, pg_print_query,
};
