/*
 * cli.h: the command table and the options every command shares.
 *
 * Commands are "GROUP VERB" (sta dags list) or a single word (sta
 * scheduler); each has one entry with its usage and an exec function that
 * returns the process exit status: 0 ok, 1 failure (e.g. a DAG run that
 * failed), 64 usage error, 65 bad input data, 69 unavailable, 78 config.
 */
#ifndef STA_CLI_H
#define STA_CLI_H

#include <sysexits.h>

struct cli_env {
	const char *home;           /* --home, $STA_HOME, ./.sta */
	const char *dags_folder;    /* --dags-folder, $STA_DAGS_FOLDER, ./workflows */
	int json;                   /* --json */
};

struct cli_cmd {
	const char *group;          /* "dags", or NULL for a top-level command */
	const char *name;           /* "list" */
	const char *usage;          /* arguments after the name */
	const char *help;           /* one line */
	/* argv[0] is the verb; global options already removed. */
	int (*exec)(const struct cli_env *env, int argc, char **argv);
};

#endif
