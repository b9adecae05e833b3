/*
 * cmd_warehouse.c: `sta load` (one lake partition into the analytical
 * store, only if its manifest vouches for the file) and `sta aggregate`
 * (an aggregate for one day, or rebuilt whole).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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

/* The partition's file (a local copy at path) against its manifest: the
 * manifest must exist and list the file with the copy's sha256.  0, or
 * EX_DATAERR after printing why. */
static int
check_manifest(struct lake *lake, const struct wh_table *t, const char *date, const char *path)
{
	char *mkey = xasprintf("export/%s/block_date=%s/manifest.json", t->name, date);
	char *file = xasprintf("%s.csv", t->name), *fkey, *text = NULL, *mu, *fu;
	const char *want = NULL;
	cJSON *m = NULL;
	const cJSON *f;
	char got[65];
	size_t len;
	int rc = EX_DATAERR, g;

	fkey = xasprintf("export/%s/block_date=%s/%s", t->name, date, file);
	mu = lake_uri(lake, mkey);
	fu = lake_uri(lake, fkey);
	if ((g = lake_get(lake, mkey, &text, &len)) != 0) {
		if (g == LAKE_NOT_FOUND)
			fprintf(stderr, "sta load: %s %s: the partition has no manifest (%s): not "
			    "loaded (an export that did not finish? export the day again)\n",
			    t->name, date, mu);
		goto out;
	}
	if ((m = cJSON_Parse(text)) == NULL) {
		fprintf(stderr, "sta load: %s %s: %s is not JSON: not loaded\n", t->name, date, mu);
		goto out;
	}
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(m, "files")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));

		if (name && strcmp(name, file) == 0)
			want = cJSON_GetStringValue(cJSON_GetObjectItem(f, "sha256"));
	}
	if (want == NULL) {
		fprintf(stderr, "sta load: %s %s: the manifest %s does not list %s with a sha256: "
		    "not loaded\n", t->name, date, mu, file);
	} else if (lake_sha256_file(path, got, NULL) < 0) {
		fprintf(stderr, "sta load: %s: cannot read its copy %s\n", fu, path);
	} else if (strcmp(got, want) != 0) {
		fprintf(stderr, "sta load: %s %s: %s has sha256 %s, its manifest says %s: not loaded "
		    "(the file was altered or replaced; export the day again)\n", t->name, date, fu,
		    got, want);
	} else {
		rc = 0;
	}
out:
	cJSON_Delete(m);
	free(text);
	free(fu);
	free(mu);
	free(fkey);
	free(file);
	free(mkey);
	return rc;
}

/* Copies the partition's file to a temporary file (*tmp, caller unlinks
 * and frees) and checks it against the manifest.  0 or an exit status. */
static int
fetch_checked(struct lake *lake, const struct wh_table *t, const char *date, const char *key,
    char **tmp)
{
	int rc;

	*tmp = xasprintf("%s/sta-load-%ld.csv", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	    (long)getpid());
	rc = lake_get_file(lake, key, *tmp);
	if (rc != 0) {
		if (rc == LAKE_NOT_FOUND) {
			char *u = lake_uri(lake, key);

			fprintf(stderr, "sta load: %s: no such partition (export it first)\n", u);
			free(u);
		}
		return EX_DATAERR;
	}
	return check_manifest(lake, t, date, *tmp);
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
	}
	rc = 1;
	if ((w = wh_open(store, env->home)) == NULL)
		goto out;
	/* Redshift COPYs from S3 what was checked here; a dry run prints its
	 * SQL and reads nothing, the lake included. */
	if (file == NULL && !(s3 && wh_uri_dry_run(store)) &&
	    (rc = fetch_checked(lake, t, date, key, &tmp)) != 0)
		goto out;
	if (file == NULL)
		file = s3 ? s3 : tmp;
	rc = 1;
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
