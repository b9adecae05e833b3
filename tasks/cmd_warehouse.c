/*
 * cmd_warehouse.c: `sta load` (one lake partition into the analytical
 * store) and `sta aggregate` (an aggregate for one day, or rebuilt whole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/lake.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/util.h"
#include "runner/cmd.h"
#include "tasks/warehouse.h"

/* The lake root: --lake, $STA_LAKE, or file://$STA_HOME/lake (caller frees). */
static char *
cmd_lake_root(const struct cli_env *env, const char *opt)
{
	const char *e = getenv("STA_LAKE");
	char cwd[4096];

	if (opt && *opt)
		return xstrdup(opt);
	if (e && *e)
		return xstrdup(e);
	if (env->home[0] == '/')
		return xasprintf("file://%s/lake", env->home);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return xasprintf("file://%s/lake", env->home);
	return xasprintf("file://%s/%s/lake", cwd, env->home);
}

static int
valid_date(const char *s)
{
	sta_time t;

	return s && strlen(s) == 10 && time_parse(s, &t) == 0;
}

/* sta load TABLE DATE [--lake URI] [--store URI] [--file CSV] */
static int
cmd_load(const struct cli_env *env, int argc, char **argv)
{
	const char *table = NULL, *date = NULL, *lake_opt = NULL, *store = getenv("STA_STORE");
	const char *file = NULL;
	const struct wh_table *t;
	char *root = NULL, *key = NULL, *tmp = NULL, *s3 = NULL;
	struct lake *lake = NULL;
	struct wh *w = NULL;
	long long rows = 0;
	int rc = EX_USAGE;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--lake") == 0 && i + 1 < argc)
			lake_opt = argv[++i];
		else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			store = argv[++i];
		else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (argv[i][0] != '-' && table == NULL)
			table = argv[i];
		else if (argv[i][0] != '-' && date == NULL)
			date = argv[i];
		else {
			fprintf(stderr, "sta load: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (table == NULL || !valid_date(date)) {
		fprintf(stderr, "usage: sta load TABLE YYYY-MM-DD [--lake URI] [--store URI] [--file CSV]\n");
		return EX_USAGE;
	}
	if ((t = wh_table_find(table)) == NULL) {
		fprintf(stderr, "sta load: no table %s (blocks, transactions, receipts, logs, "
		    "token_transfers, traces, contracts, tokens)\n", table);
		return EX_USAGE;
	}
	if (file == NULL) {
		root = cmd_lake_root(env, lake_opt);
		key = xasprintf("export/%s/block_date=%s/%s.csv", t->name, date, t->name);
		if ((lake = lake_open(root)) == NULL) {
			rc = EX_CONFIG;
			goto out;
		}
	}
	if (store == NULL || *store == '\0')
		store = getenv("STA_STORE");
	if (file == NULL && store && str_has_prefix(store, "redshift:")) {
		/* Redshift reads the partition from S3 itself. */
		if (!str_has_prefix(root, "s3://")) {
			fprintf(stderr, "sta load: Redshift loads %s %s from S3: the lake must be an "
			    "s3:// URI, not %s\n", t->name, date, root);
			rc = 1;
			goto out;
		}
		s3 = lake_uri(lake, key);
		file = s3;
	} else if (file == NULL) {
		tmp = xasprintf("%s/sta-load-%ld.csv", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		    (long)getpid());
		rc = lake_get_file(lake, key, tmp);
		if (rc != 0) {
			if (rc == LAKE_NOT_FOUND) {
				char *u = lake_uri(lake, key);

				fprintf(stderr, "sta load: %s: no such partition (export it first)\n", u);
				free(u);
			}
			rc = EX_DATAERR;
			goto out;
		}
		file = tmp;
	}
	rc = 1;
	if ((w = wh_open(store, env->home)) == NULL)
		goto out;
	if (wh_load(w, t, date, file, s3, &rows) < 0)
		goto out;
	printf("STA_RESULT {\"table\": \"%s\", \"block_date\": \"%s\", \"rows\": %lld}\n", t->name, date,
	    rows);
	rc = 0;
out:
	wh_close(w);
	lake_close(lake);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(s3);
	free(key);
	free(root);
	return rc;
}

/* sta aggregate NAME (DATE | --full) [--store URI] */
static int
cmd_aggregate(const struct cli_env *env, int argc, char **argv)
{
	const char *name = NULL, *date = NULL, *store = getenv("STA_STORE");
	int full = 0, rc;
	struct wh *w;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			store = argv[++i];
		else if (strcmp(argv[i], "--full") == 0)
			full = 1;
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else if (argv[i][0] != '-' && date == NULL)
			date = argv[i];
		else {
			fprintf(stderr, "sta aggregate: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (name == NULL || (full ? date != NULL : !valid_date(date))) {
		fprintf(stderr, "usage: sta aggregate NAME (YYYY-MM-DD | --full) [--store URI]\n");
		return EX_USAGE;
	}
	if ((w = wh_open(store, env->home)) == NULL)
		return 1;
	rc = wh_aggregate(w, name, date) == 0 ? 0 : 1;
	wh_close(w);
	return rc;
}

/* sta query SQL [--store URI]: prints rows tab-separated. */
static int
cmd_query(const struct cli_env *env, int argc, char **argv)
{
	const char *sql = NULL, *store = getenv("STA_STORE");
	struct wh *w;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			store = argv[++i];
		else if (sql == NULL)
			sql = argv[i];
		else {
			fprintf(stderr, "sta query: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (sql == NULL) {
		fprintf(stderr, "usage: sta query SQL [--store URI]\n");
		return EX_USAGE;
	}
	if ((w = wh_open(store, env->home)) == NULL)
		return 1;
	rc = wh_print_query(w, sql) == 0 ? 0 : 1;
	wh_close(w);
	return rc;
}

static const struct cli_cmd c_load = { NULL, "load",
	"TABLE YYYY-MM-DD [--lake URI] [--store URI] [--file CSV]",
	"replace one day's partition of a table in the analytical store", cmd_load };
static const struct cli_cmd c_aggregate = { NULL, "aggregate",
	"NAME (YYYY-MM-DD | --full) [--store URI]",
	"run an aggregate for one day, or rebuild it whole", cmd_aggregate };
static const struct cli_cmd c_query = { NULL, "query", "SQL [--store URI]",
	"run a query on the analytical store, rows tab-separated", cmd_query };

extern const struct cli_cmd cmd_verify_entry;	/* verify.c */

const struct cli_cmd *const cmd_warehouse_table[] = {
	&c_load, &c_aggregate, &c_query, &cmd_verify_entry, NULL,
};
