/*
 * verify.c: `sta verify TABLE DATE`: the chain of custody check.  Reads the
 * partition's manifest, checks the lake file against the manifest's
 * sha256, re-extracts the day from a node (the same command, written to a
 * scratch lake) and compares: equal, or the first differing file, row and
 * column named.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "lib/fsutil.h"
#include "lib/lake.h"
#include "lib/log.h"
#include "lib/util.h"
#include "runner/cli.h"
#include "tasks/itemin.h"

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)data, len);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

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

/* Runs `sta etl SUBCOMMAND --date D --lake LAKE --output-lake SCRATCH -p P`. */
static int
reextract(const char *sub, const char *date, const char *lake, const char *scratch,
    const char *provider)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pid_t pid;
	int status;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	pid = fork();
	if (pid == 0) {
		const char *argv[] = {"sta", "etl", sub, "--date", date, "--lake", lake,
			"--output-lake", scratch, "-p", provider, NULL};
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, 1);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
cmd_verify(const struct cli_env *env, int argc, char **argv)
{
	const char *table = NULL, *date = NULL, *lake_opt = NULL, *provider = NULL;
	const char *e = getenv("STA_LAKE"), *pe = getenv("STA_PROVIDER_URI");
	char *root = NULL, *mkey = NULL, *mtext = NULL, *data = NULL, *scratch = NULL;
	char *local_lake = NULL, *local_new = NULL, *scratch_uri = NULL;
	struct lake *lake = NULL, *slake = NULL;
	cJSON *m = NULL, *f;
	size_t mlen, dlen;
	int rc = EX_USAGE, bad = 0;
	char tmpl[] = "/tmp/sta-verify.XXXXXX";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--lake") == 0 && i + 1 < argc)
			lake_opt = argv[++i];
		else if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--provider-uri") == 0) &&
		    i + 1 < argc)
			provider = argv[++i];
		else if (argv[i][0] != '-' && table == NULL)
			table = argv[i];
		else if (argv[i][0] != '-' && date == NULL)
			date = argv[i];
		else {
			fprintf(stderr, "sta verify: unexpected argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (table == NULL || date == NULL) {
		fprintf(stderr, "usage: sta verify TABLE YYYY-MM-DD [--lake URI] [-p PROVIDER_URI]\n");
		return EX_USAGE;
	}
	root = lake_opt && *lake_opt ? xstrdup(lake_opt) : e && *e ? xstrdup(e) :
	    xasprintf("file://%s/lake", env->home);
	if ((lake = lake_open(root)) == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	mkey = xasprintf("export/%s/block_date=%s/manifest.json", table, date);
	if (lake_get(lake, mkey, &mtext, &mlen) != 0 || (m = cJSON_Parse(mtext)) == NULL) {
		char *u = lake_uri(lake, mkey);

		fprintf(stderr, "sta verify: %s: no readable manifest\n", u);
		free(u);
		rc = EX_DATAERR;
		goto out;
	}
	rc = 1;
	/* 1. The lake's files against the manifest. */
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(m, "files")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
		const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(f, "sha256"));
		char *key = xasprintf("export/%s/block_date=%s/%s", table, date, name ? name : "");
		char got[65];

		free(data);
		data = NULL;
		if (name == NULL || want == NULL || lake_get(lake, key, &data, &dlen) != 0) {
			printf("%s: missing from the lake\n", name ? name : "?");
			bad = 1;
		} else {
			sha256_hex(data, dlen, got);
			if (strcmp(got, want) != 0) {
				printf("%s: sha256 %s, the manifest says %s: the file was altered\n", name,
				    got, want);
				bad = 1;
			}
		}
		free(key);
	}
	/* 2. A fresh extraction from the node against the lake. */
	provider = provider && *provider ? provider : pe && *pe ? pe :
	    command_opt(cJSON_GetObjectItem(m, "command"), "-p");
	scratch = xstrdup(tmpl);
	if (mkdtemp(scratch) == NULL)
		goto out;
	scratch_uri = xasprintf("file://%s", scratch);
	if (provider == NULL || reextract(cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(m, "command"), 2)), date, root, scratch_uri, provider) < 0) {
		fprintf(stderr, "sta verify: re-extraction of %s %s from %s failed\n", table, date,
		    provider ? provider : "(no provider: -p)");
		goto out;
	}
	slake = lake_open(scratch_uri);
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(m, "files")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
		char *key = xasprintf("export/%s/block_date=%s/%s", table, date, name);
		char *fresh = NULL;
		size_t flen;

		local_lake = xasprintf("%s/lake-%s", scratch, name);
		local_new = xasprintf("%s/%s", scratch, key);
		if (slake == NULL || lake_get(slake, key, &fresh, &flen) != 0 ||
		    lake_get_file(lake, key, local_lake) != 0) {
			printf("%s: could not be compared\n", name);
			bad = 1;
		} else if (flen != dlen || data == NULL || memcmp(fresh, data, flen) != 0) {
			printf("%s: differs from what the node gives now\n", name);
			first_difference(local_lake, local_new, name);
			bad = 1;
		}
		unlink(local_lake);
		free(fresh);
		free(key);
		free(local_lake);
		free(local_new);
		local_lake = local_new = NULL;
	}
	if (!bad)
		printf("%s %s: equal (the manifest, the lake and the node agree)\n", table, date);
	rc = bad ? 1 : 0;
out:
	if (slake) {
		/* The scratch lake holds only what the re-extraction wrote. */
		struct strv keys = {0};

		if (lake_list(slake, "", &keys) == 0)
			for (size_t i = 0; i < keys.n; i++)
				lake_delete(slake, keys.v[i]);
		strv_free(&keys);
	}
	if (scratch)
		rmdir(scratch);
	cJSON_Delete(m);
	lake_close(lake);
	lake_close(slake);
	free(scratch);
	free(scratch_uri);
	free(data);
	free(mtext);
	free(mkey);
	free(root);
	return rc;
}

const struct cli_cmd cmd_verify_entry = { NULL, "verify",
	"TABLE YYYY-MM-DD [--lake URI] [-p PROVIDER_URI]",
	"check a lake partition against its manifest and a fresh extraction from a node",
	cmd_verify };
