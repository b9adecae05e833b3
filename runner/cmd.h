/*
 * cmd.h: helpers shared by the command files (cmd_*.c) and their tables.
 */
#ifndef STA_CMD_H
#define STA_CMD_H

#include <cjson/cJSON.h>

#include "runner/cli.h"
#include "runner/dag.h"
#include "runner/store.h"

extern const struct cli_cmd *const cmd_dags_table[];
extern const struct cli_cmd *const cmd_tasks_table[];
extern const struct cli_cmd *const cmd_lake_table[];
extern const struct cli_cmd *const cmd_warehouse_table[];
extern const struct cli_cmd *const cmd_web_table[];

struct web;
struct web_opts;
/* The web options `sta web` and `sta scheduler --web` share: takes
 * --analytics-db FILE, --static-dir DIR or --require-auth at argv[*i]
 * into o (moving *i past a value).  Returns 1 when it took one. */
int cmd_web_options(int argc, char **argv, int *i, struct web_opts *o);
/* Prints "sta web: http://HOST:PORT/ (...)" on stdout for scripts. */
void cmd_web_announce(struct web *w, const char *bind);

/* Opens $home/sta.db; NULL with the reason logged. */
struct store *cmd_store_open(const struct cli_env *env);
/* Loads the DAG with that id from the DAG folder.  NULL with a message on
 * stderr (its file's errors when it is broken).  Caller frees. */
struct dag *cmd_dag_load(const struct cli_env *env, const char *dag_id);
/* Both of the above: 0 with *dag and *st set (caller frees both), or the
 * exit status to return (the reason printed or logged). */
int cmd_dag_and_store(const struct cli_env *env, const char *dag_id, struct dag **dag,
    struct store **st);
/* Finds a run by run_id, or by logical date when the text parses as a
 * date.  Returns 0 (caller clears *out) or prints why not and returns
 * EX_DATAERR. */
int cmd_run_find(struct store *st, const char *dag_id, const char *which,
    struct store_run *out);
/* Prints a JSON value on stdout followed by a newline; frees it. */
void cmd_print_json(cJSON *v);
/* Formats milliseconds as ISO (or "" when 0) into out[TIME_ISO_LEN]. */
void cmd_format_ms(int64_t ms, char *out);
/* Runs the loop in the foreground for these runs (dags test, backfill),
 * holding the scheduler lock.  Returns the process exit status. */
int cmd_run_foreground(const struct cli_env *env, const int64_t *runs, size_t n);

#endif
