/*
 * tmpdir.h: a unit test's private folder under $TMPDIR (or /tmp), made by
 * its group setup and removed, with all in it, by its group teardown.
 */
#ifndef STA_TESTS_TMPDIR_H
#define STA_TESTS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

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

#endif
