/*
 * verify.c: `sta verify TABLE DATE`: the chain of custody check.  Reads the
 * partition's manifest and checks that it lists exactly the table's file,
 * that the lake's file has the sha256 and rows it records, and that the
 * recorded inputs are the input partitions' files; then re-extracts the day
 * from a node (the manifest's command with its own options, written to a
 * scratch lake) and compares the fresh manifest's table, block range, block
 * hashes and file sha256s with the stored one, and the files byte for
 * byte: equal, or the first difference named (file, row and column).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/fsutil.h"
#include "lib/lake.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runner/cli.h"
#include "tasks/itemin.h"

/* What one verification holds. */
struct verify {
	const char *table, *date, *root;
	struct lake *lake, *slake;
	char *scratch;			/* local folder: copies and the scratch lake */
	cJSON *m, *fresh;		/* the stored and the fresh manifest */
	int bad;
};

/* Names the first row and column where two item files differ. */
static void
first_difference(const char *a, const char *b, const char *name)
{
	struct itemin *ia = itemin_open(a), *ib = itemin_open(b);
	cJSON *x = NULL, *y = NULL;
	long row = 0;

	while (ia && ib) {
		int ga = itemin_next(ia, &x), gb = itemin_next(ib, &y);
		const cJSON *cx;

		row++;
		if (ga <= 0 || gb <= 0) {
			if (ga != gb)
				printf("%s: row %ld: %s\n", name, row, ga > 0 ?
				    "the lake has a row the node does not give" :
				    "the node gives a row the lake lacks");
			break;
		}
		cJSON_ArrayForEach(cx, x) {
			const cJSON *cy = cJSON_GetObjectItemCaseSensitive(y, cx->string);

			if (cy == NULL || !cJSON_Compare(cx, cy, 1)) {
				printf("%s: row %ld (line %zu), column %s: lake has '%.80s', node gives '%.80s'\n",
				    name, row, itemin_line(ia), cx->string,
				    cJSON_IsString(cx) ? cx->valuestring : "?",
				    cy && cJSON_IsString(cy) ? cy->valuestring : "?");
				goto out;
			}
		}
		cJSON_Delete(x);
		cJSON_Delete(y);
		x = y = NULL;
	}
out:
	cJSON_Delete(x);
	cJSON_Delete(y);
	itemin_close(ia);
	itemin_close(ib);
}

/* The value after flag in the manifest's command, or NULL. */
static const char *
command_opt(const cJSON *cmd, const char *flag)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cmd)
		if (cJSON_IsString(c) && strcmp(c->valuestring, flag) == 0 && c->next &&
		    cJSON_IsString(c->next))
			return c->next->valuestring;
	return NULL;
}

/* Options of a recorded command that verify sets itself (provider, lake,
 * date) or that name local files (outputs, inputs read from the lake):
 * all take a value. */
static const char *const dropped_opts[] = {
	"provider-uri", "lake", "output-lake", "date", "output", "blocks-output",
	"transactions-output", "receipts-output", "logs-output", "transaction-hashes",
	"logs", "traces", "contracts", NULL,
};

/* 0 keep, 1 drop arg, 2 drop arg and the value after it. */
static int
dropped(const char *arg)
{
	if (arg[0] == '-' && arg[1] != '-' && (arg[1] == 'p' || arg[1] == 'o'))
		return arg[2] == '\0' ? 2 : 1;		/* -p URI, -pURI, -o FILE */
	if (strncmp(arg, "--", 2) != 0)
		return 0;
	for (size_t i = 0; dropped_opts[i]; i++) {
		size_t n = strlen(dropped_opts[i]);

		if (strncmp(arg + 2, dropped_opts[i], n) == 0) {
			if (arg[2 + n] == '\0')
				return 2;
			if (arg[2 + n] == '=')
				return 1;
		}
	}
	return 0;
}

/* The argv of the re-extraction: the manifest's command ("sta", "etl",
 * COMMAND, options...) with the options above dropped and verify's own
 * added.  0, or -1 if the command is not one (printed). */
static int
replay_argv(const cJSON *cmd, const char *date, const char *lake, const char *scratch,
    const char *provider, struct strv *av)
{
	const cJSON *c;
	int i = 0, skip = 0;

	cJSON_ArrayForEach(c, cmd) {
		if (!cJSON_IsString(c)) {
			fprintf(stderr, "sta verify: the manifest's command has a non-string entry\n");
			return -1;
		}
		if (i++ < 3) {
			strv_push(av, c->valuestring);
			continue;
		}
		if (skip) {
			skip = 0;
			continue;
		}
		if (strcmp(c->valuestring, "--") == 0)
			break;
		if ((skip = dropped(c->valuestring)) != 0) {
			skip = skip == 2;
			continue;
		}
		strv_push(av, c->valuestring);
	}
	if (av->n < 3 || strcmp(av->v[1], "etl") != 0) {
		fprintf(stderr, "sta verify: the manifest's command is not an sta etl command\n");
		return -1;
	}
	strv_push(av, "--date");
	strv_push(av, date);
	strv_push(av, "--lake");
	strv_push(av, lake);
	strv_push(av, "--output-lake");
	strv_push(av, scratch);
	strv_push(av, "-p");
	strv_push(av, provider);
	return 0;
}

/* Runs the re-extraction; its output goes to /dev/null.  0 or -1. */
static int
reextract(struct strv *av)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pid_t pid;
	int status;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	strv_push_take(av, NULL);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, 1);
		execv(exe, av->v);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static char *
pkey(const struct verify *v, const char *table, const char *file)
{
	return xasprintf("export/%s/block_date=%s/%s", table, v->date, file);
}

/* The manifest lists exactly <table>.csv, and the partition holds nothing
 * else but the manifest. */
static void
check_file_list(struct verify *v)
{
	const cJSON *files = cJSON_GetObjectItem(v->m, "files");
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(files, 0),
	    "name"));
	char *want = xasprintf("%s.csv", v->table), *prefix = pkey(v, v->table, "");
	struct strv keys = {0};

	if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) != 1 || name == NULL ||
	    strcmp(name, want) != 0) {
		printf("manifest: lists %d file(s), the partition must hold exactly %s: the manifest "
		    "was altered\n", cJSON_IsArray(files) ? cJSON_GetArraySize(files) : 0, want);
		v->bad = 1;
	}
	if (lake_list(v->lake, prefix, &keys) == 0) {
		for (size_t i = 0; i < keys.n; i++) {
			const char *f = keys.v[i] + strlen(prefix);

			if (strcmp(f, "manifest.json") != 0 && strcmp(f, want) != 0) {
				printf("%s: in the partition but not in the manifest\n", f);
				v->bad = 1;
			}
		}
	} else {
		v->bad = 1;
	}
	strv_free(&keys);
	free(prefix);
	free(want);
}

/* Every listed file's sha256 and rows against the lake; each is copied to
 * SCRATCH/lake-NAME for the comparison with the fresh extraction. */
static void
check_files(struct verify *v)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(v->m, "files")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
		const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(f, "sha256"));
		const cJSON *rows = cJSON_GetObjectItem(f, "rows");
		char *key, *data = NULL, *local;
		size_t dlen;
		char got[65];
		long long n;

		if (name == NULL || strchr(name, '/') || want == NULL || !cJSON_IsNumber(rows)) {
			printf("manifest: a file entry without name, sha256 or rows\n");
			v->bad = 1;
			continue;
		}
		key = pkey(v, v->table, name);
		local = xasprintf("%s/lake-%s", v->scratch, name);
		if (lake_get(v->lake, key, &data, &dlen) != 0) {
			printf("%s: missing from the lake\n", name);
			v->bad = 1;
		} else if (fs_write_atomic(local, data, dlen, 0) < 0) {
			printf("%s: cannot write its copy %s\n", name, local);
			v->bad = 1;
		} else if (lake_sha256(data, dlen, got), strcmp(got, want) != 0) {
			printf("%s: sha256 %s, the manifest says %s: the file was altered\n", name, got,
			    want);
			v->bad = 1;
		} else if ((n = itemin_count(local)) != (long long)rows->valuedouble) {
			printf("%s: %lld rows, the manifest says %.0f\n", name, n, rows->valuedouble);
			v->bad = 1;
		}
		free(data);
		free(local);
		free(key);
	}
}

/* The recorded inputs' sha256 against the input partitions now. */
static void
check_inputs(struct verify *v)
{
	const cJSON *in;

	cJSON_ArrayForEach(in, cJSON_GetObjectItem(v->m, "inputs")) {
		const char *uri = cJSON_GetStringValue(cJSON_GetObjectItem(in, "uri"));
		const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(in, "sha256"));
		char *root = NULL, *key = NULL, *data = NULL;
		struct lake *il = NULL;
		size_t len;
		char got[65];

		if (uri == NULL || want == NULL || lake_split_uri(uri, &root, &key) < 0 ||
		    (il = lake_open(root)) == NULL || lake_get(il, key, &data, &len) != 0) {
			printf("input %s: cannot be read\n", uri ? uri : "?");
			v->bad = 1;
		} else if (lake_sha256(data, len, got), strcmp(got, want) != 0) {
			printf("input %s: sha256 %s, the manifest says %s: the input partition changed\n",
			    uri, got, want);
			v->bad = 1;
		}
		lake_close(il);
		free(data);
		free(key);
		free(root);
	}
}

/* The fields of the stored manifest that the fresh extraction must repeat. */
static void
compare_manifests(struct verify *v)
{
	static const char *const fields[] = {"format", "table", "block_date", "start_block",
		"end_block", "first_block_hash", "last_block_hash", "files", NULL};
	const cJSON *si = cJSON_GetObjectItem(v->m, "inputs");
	const cJSON *fi = cJSON_GetObjectItem(v->fresh, "inputs");

	for (size_t i = 0; fields[i]; i++) {
		const cJSON *a = cJSON_GetObjectItem(v->m, fields[i]);
		const cJSON *b = cJSON_GetObjectItem(v->fresh, fields[i]);

		if (a == NULL || b == NULL || !cJSON_Compare(a, b, 1)) {
			printf("manifest: %s differs from the fresh extraction's\n", fields[i]);
			v->bad = 1;
		}
	}
	if (cJSON_GetArraySize(si) != cJSON_GetArraySize(fi)) {
		printf("manifest: inputs differ from the fresh extraction's\n");
		v->bad = 1;
		return;
	}
	for (int i = 0; i < cJSON_GetArraySize(si); i++) {
		const cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(si, i), "sha256");
		const cJSON *b = cJSON_GetObjectItem(cJSON_GetArrayItem(fi, i), "sha256");

		if (a == NULL || b == NULL || !cJSON_Compare(a, b, 1)) {
			printf("manifest: input %d's sha256 differs from the fresh extraction's\n", i);
			v->bad = 1;
		}
	}
}

/* The fresh files against the lake's copies (from check_files). */
static void
compare_fresh(struct verify *v)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(v->m, "files")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
		char *key, *fresh = NULL, *lake_copy, *local_new, *mine = NULL;
		size_t flen, mlen;

		if (name == NULL || strchr(name, '/'))
			continue;
		key = pkey(v, v->table, name);
		lake_copy = xasprintf("%s/lake-%s", v->scratch, name);
		local_new = xasprintf("%s/%s", v->scratch, key);
		if (lake_get(v->slake, key, &fresh, &flen) != 0 ||
		    fs_read_file(lake_copy, &mine, &mlen) < 0) {
			printf("%s: could not be compared\n", name);
			v->bad = 1;
		} else if (flen != mlen || memcmp(fresh, mine, flen) != 0) {
			printf("%s: differs from what the node gives now\n", name);
			first_difference(lake_copy, local_new, name);
			v->bad = 1;
		}
		unlink(lake_copy);
		free(mine);
		free(fresh);
		free(local_new);
		free(lake_copy);
		free(key);
	}
}

/* Re-extracts the day into the scratch lake and reads its manifest. */
static int
run_fresh(struct verify *v, const char *provider)
{
	const cJSON *cmd = cJSON_GetObjectItem(v->m, "command");
	char *uri = xasprintf("file://%s", v->scratch), *mkey = pkey(v, v->table, "manifest.json");
	char *text = NULL;
	struct strv av = {0};
	size_t len;
	int rc = -1;

	if (provider == NULL || replay_argv(cmd, v->date, v->root, uri, provider, &av) < 0 ||
	    reextract(&av) < 0) {
		fprintf(stderr, "sta verify: re-extraction of %s %s from %s failed\n", v->table,
		    v->date, provider ? provider : "(no provider: -p)");
		goto out;
	}
	if ((v->slake = lake_open(uri)) == NULL || lake_get(v->slake, mkey, &text, &len) != 0 ||
	    (v->fresh = cJSON_Parse(text)) == NULL) {
		fprintf(stderr, "sta verify: the re-extraction wrote no manifest for %s %s\n",
		    v->table, v->date);
		goto out;
	}
	rc = 0;
out:
	free(text);
	strv_free(&av);
	free(mkey);
	free(uri);
	return rc;
}

/* Removes the copies of the lake's files, what the scratch lake holds and
 * the scratch folder. */
static void
remove_scratch(struct verify *v)
{
	struct strv keys = {0};
	const cJSON *f;

	if (v->scratch == NULL)
		return;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(v->m, "files")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
		char *p;

		if (name == NULL || strchr(name, '/'))
			continue;
		p = xasprintf("%s/lake-%s", v->scratch, name);
		unlink(p);
		free(p);
	}

	if (v->slake && lake_list(v->slake, "", &keys) == 0)
		for (size_t i = 0; i < keys.n; i++)
			lake_delete(v->slake, keys.v[i]);
	strv_free(&keys);
	rmdir(v->scratch);
}

static int
cmd_verify(const struct cli_env *env, int argc, char **argv)
{
	const char *lake_opt = NULL, *provider = NULL;
	const char *e = getenv("STA_LAKE"), *pe = getenv("STA_PROVIDER_URI");
	struct verify v = {0};
	char *root = NULL, *mkey = NULL, *mtext = NULL;
	size_t mlen;
	int rc = EX_USAGE;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--lake") == 0 && i + 1 < argc)
			lake_opt = argv[++i];
		else if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--provider-uri") == 0) &&
		    i + 1 < argc)
			provider = argv[++i];
		else if (argv[i][0] != '-' && v.table == NULL)
			v.table = argv[i];
		else if (argv[i][0] != '-' && v.date == NULL)
			v.date = argv[i];
		else {
			fprintf(stderr, "sta verify: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (v.table == NULL || v.date == NULL || strchr(v.table, '/') || strchr(v.date, '/')) {
		fprintf(stderr, "usage: sta verify TABLE YYYY-MM-DD [--lake URI] [-p PROVIDER_URI]\n");
		return EX_USAGE;
	}
	root = lake_opt && *lake_opt ? xstrdup(lake_opt) : e && *e ? xstrdup(e) :
	    xasprintf("file://%s/lake", env->home);
	v.root = root;
	if ((v.lake = lake_open(root)) == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	mkey = pkey(&v, v.table, "manifest.json");
	if (lake_get(v.lake, mkey, &mtext, &mlen) != 0 || (v.m = cJSON_Parse(mtext)) == NULL) {
		char *u = lake_uri(v.lake, mkey);

		fprintf(stderr, "sta verify: %s: no readable manifest\n", u);
		free(u);
		rc = EX_DATAERR;
		goto out;
	}
	rc = 1;
	v.scratch = xstrdup("/tmp/sta-verify.XXXXXX");
	if (mkdtemp(v.scratch) == NULL) {
		fprintf(stderr, "sta verify: cannot create a scratch folder in /tmp\n");
		free(v.scratch);
		v.scratch = NULL;
		goto out;
	}
	/* 1. The manifest against the lake: its list, files and inputs. */
	check_file_list(&v);
	check_files(&v);
	check_inputs(&v);
	/* 2. A fresh extraction from the node against the manifest and the lake. */
	provider = provider && *provider ? provider : pe && *pe ? pe :
	    command_opt(cJSON_GetObjectItem(v.m, "command"), "-p");
	if (run_fresh(&v, provider) < 0)
		goto out;
	compare_manifests(&v);
	compare_fresh(&v);
	if (!v.bad)
		printf("%s %s: equal (the manifest, the lake and the node agree)\n", v.table, v.date);
	rc = v.bad ? 1 : 0;
out:
	remove_scratch(&v);
	cJSON_Delete(v.m);
	cJSON_Delete(v.fresh);
	lake_close(v.lake);
	lake_close(v.slake);
	free(v.scratch);
	free(mtext);
	free(mkey);
	free(root);
	return rc;
}

const struct cli_cmd cmd_verify_entry = { NULL, "verify",
	"TABLE YYYY-MM-DD [--lake URI] [-p PROVIDER_URI]",
	"check a lake partition against its manifest and a fresh extraction from a node",
	cmd_verify };
