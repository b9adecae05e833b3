/*
 * dagcache.c: the DAG folder as the web server sees it.  Parsing every
 * YAML file per request would cost more than the request, so the DAGs are
 * kept and re-read only when the folder changes: at most once a second the
 * cache compares a fingerprint (names, sizes and modification times of the
 * DAG files) with the one it loaded.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "lib/timeutil.h"
#include "web/http.h"

#define CHECK_EVERY_MS 1000

struct dagcache {
	char *folder;
	struct dag **dags;
	size_t n;
	struct strv errors;
	uint64_t fingerprint;
	int loaded;
	int64_t checked_ms;
};

/* Order-independent: readdir order may differ between calls. */
static uint64_t
fingerprint(const char *folder)
{
	DIR *d = opendir(folder);
	struct dirent *e;
	uint64_t sum = 0;

	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		char *path;
		uint64_t h = FNV1A_BASIS;

		if (e->d_name[0] == '.' || !(str_has_suffix(e->d_name, ".yaml") ||
		    str_has_suffix(e->d_name, ".yml")))
			continue;
		path = xasprintf("%s/%s", folder, e->d_name);
		if (stat(path, &sb) == 0) {
			h = fnv1a(h, e->d_name, strlen(e->d_name));
			h = fnv1a(h, &sb.st_size, sizeof(sb.st_size));
			h = fnv1a(h, &sb.st_mtim, sizeof(sb.st_mtim));
			h = fnv1a(h, &sb.st_ino, sizeof(sb.st_ino));
		}
		free(path);
		sum += h;
	}
	closedir(d);
	return sum;
}

static void
drop(struct dagcache *c)
{
	for (size_t i = 0; i < c->n; i++)
		dag_free(c->dags[i]);
	free(c->dags);
	c->dags = NULL;
	c->n = 0;
	strv_free(&c->errors);
}

static void
refresh(struct dagcache *c)
{
	int64_t now = time_now_ms();
	struct dag_errors errs = {0};
	uint64_t fp;

	if (c->loaded && now - c->checked_ms < CHECK_EVERY_MS)
		return;
	c->checked_ms = now;
	fp = fingerprint(c->folder);
	if (c->loaded && fp == c->fingerprint)
		return;
	drop(c);
	if (dag_load_folder(c->folder, &c->dags, &c->n, &errs) != 0)
		log_warn("web: cannot read the DAG folder %s", c->folder);
	c->errors = errs.msgs;
	c->fingerprint = fp;
	c->loaded = 1;
}

struct dagcache *
dagcache_new(const char *folder)
{
	struct dagcache *c = xcalloc(1, sizeof(*c));

	c->folder = xstrdup(folder);
	return c;
}

void
dagcache_free(struct dagcache *c)
{
	if (c == NULL)
		return;
	drop(c);
	free(c->folder);
	free(c);
}

void
dagcache_get(struct dagcache *c, struct dag *const **dags, size_t *n,
    const struct strv **errors)
{
	refresh(c);
	*dags = c->dags;
	*n = c->n;
	if (errors != NULL)
		*errors = &c->errors;
}

const struct dag *
dagcache_find(struct dagcache *c, const char *dag_id)
{
	refresh(c);
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->dags[i]->dag_id, dag_id) == 0)
			return c->dags[i];
	return NULL;
}
