/*
 * warehouse.h: the analytical store: the exported tables, loaded one
 * partition (table, block_date) at a time, and the aggregates over them.
 *
 * Backends, chosen by URI, are tables of functions (wh_sqlite.c,
 * wh_postgres.c): sqlite:///path (the default, $STA_HOME/analytics.db),
 * postgresql://... (libpq; also Redshift, which speaks its protocol:
 * redshift://... loads with COPY from S3).  Every load replaces exactly
 * its partition in one transaction (stage, delete, insert), so reruns
 * never duplicate rows.  This file is the one place that knows each
 * table's columns.
 */
#ifndef STA_WAREHOUSE_H
#define STA_WAREHOUSE_H

#include <stddef.h>

/* Column kinds: 'i' 64-bit integer; 'n' an amount of wei (exact, fits 38
 * digits, Redshift's widest numeric); 'u' any uint256 (token amounts: text
 * in Redshift); 't' text; 'T' text a file may lack (sta's additions to
 * ethereum-etl's columns: null then); 'b' boolean; 'f' float; 'd' the
 * partition's date. */
struct wh_column {
	const char *name;
	char kind;
};

struct wh_table {
	const char *name;		/* also the lake folder and file name */
	const struct wh_column *cols;	/* NULL-terminated; block_date comes last */
	const char *const *index_cols;	/* extra indexes, one column each */
	const char *redshift_sortkey;
	const char *redshift_distkey;
};

/* The exported tables, NULL-terminated. */
extern const struct wh_table *const wh_tables[];
const struct wh_table *wh_table_find(const char *name);
size_t wh_ncols(const struct wh_table *t);

struct wh;

/* Opens the store named by uri (NULL or empty: $STA_STORE, else
 * sqlite://$STA_HOME/analytics.db)
 * and creates missing tables.  NULL after printing why. */
struct wh *wh_open(const char *uri, const char *home);
void wh_close(struct wh *w);

/* Replaces the rows of (table, date) with the rows of the CSV file at
 * local_path (ethereum-etl columns, header first) in one transaction.
 * s3_uri is the same file in S3 for Redshift's COPY (NULL otherwise).
 * *rows gets the count loaded.  0, or -1 after printing why. */
int wh_load(struct wh *w, const struct wh_table *t, const char *date, const char *local_path,
    const char *s3_uri, long long *rows);

/* 1 if uri is a PostgreSQL or Redshift store with dry_run=1 (it prints
 * its SQL and reads nothing), else 0. */
int wh_uri_dry_run(const char *uri);

/* Runs aggregate NAME for one day (date) or a full rebuild (date NULL). */
int wh_aggregate(struct wh *w, const char *name, const char *date);

/* Runs a query and prints the rows tab-separated (for summaries). */
int wh_print_query(struct wh *w, const char *sql);

/* The SQL of an embedded file ("sqlite/aggregate_metrics_by_day.sql"), or
 * NULL. */
const char *wh_sql_file(const char *name);

/* An aggregate's SQL for one day or all: {{ day = COLUMN }} becomes
 * "COLUMN = PARAM" when date is set, "1 = 1" otherwise (caller frees). */
char *wh_day_filter(const char *sql, const char *date, const char *param);

/* A backend: the functions behind struct wh. */
struct wh_backend {
	const char *scheme;
	void *(*open)(const char *uri, const char *home);
	void (*close)(void *conn);
	int (*ensure_tables)(void *conn);
	int (*load)(void *conn, const struct wh_table *t, const char *date, const char *path,
	    const char *s3_uri, long long *rows);
	int (*aggregate)(void *conn, const char *name, const char *date);
	int (*print_query)(void *conn, const char *sql);
};

extern const struct wh_backend wh_sqlite_backend;
extern const struct wh_backend wh_postgres_backend;
extern const struct wh_backend wh_redshift_backend;

#endif
