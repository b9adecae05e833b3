/*
 * unit.h: what several unit tests share: a private folder under $TMPDIR
 * (or /tmp), made by a group setup and removed, with all in it, by its
 * teardown; and a variable store for templates that knows one variable.
 */
#ifndef STA_TESTS_UNIT_H
#define STA_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* Makes TMPDIR/sta-NAME-XXXXXX into dir (len bytes); 0 or -1. */
static inline int
tmpdir_make(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "%s/sta-%s-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	return mkdtemp(dir) == NULL ? -1 : 0;
}

/* Removes dir and everything in it; 0 or -1. */
static inline int
tmpdir_remove(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* A template_ctx var_get: var.value.chain is "mainnet", nothing else is
 * set. */
static inline int
unit_var_get(void *arg, const char *key, char **value)
{
	(void)arg;
	if (strcmp(key, "chain") != 0)
		return -1;
	*value = xstrdup("mainnet");
	return 0;
}

#endif
