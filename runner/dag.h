/*
 * dag.h: the DAG model, as loaded from one YAML file (docs/dags.md), and
 * the loader.  A struct dag is immutable once loaded; the scheduler swaps
 * in a new one when its file changes.
 */
#ifndef STA_DAG_H
#define STA_DAG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "lib/util.h"
#include "runner/schedule.h"

enum trigger_rule {
	TRIGGER_ALL_SUCCESS,
	TRIGGER_ALL_FAILED,
	TRIGGER_ALL_DONE,
	TRIGGER_ONE_SUCCESS,
	TRIGGER_ONE_FAILED,
	TRIGGER_NONE_FAILED,
	TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS,
	TRIGGER_NONE_SKIPPED,
	TRIGGER_ALWAYS,
};

const char *trigger_rule_name(enum trigger_rule r);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int trigger_rule_parse(const char *name, enum trigger_rule *out);

struct kv {
	char *key;
	char *value;
};

/* The keys of default_args; each task starts from the DAG's and overrides.
 * The strings belong to the DAG (dag.c stores each distinct value once);
 * env, resources and kubernetes are the DAG's own (dag->defaults) unless
 * the task sets them.  Nothing here is freed on its own: dag_free frees it all. */
struct task_args {
	int64_t retry_delay;            /* seconds, default 300 */
	int64_t max_retry_delay;        /* seconds, 0 = no cap */
	int64_t execution_timeout;      /* seconds, 0 = none */
	char *executor;                 /* "local" (default) | "kubernetes" */
	char *image;                    /* NULL unless set */
	char *pool;                     /* default "default_pool" */
	struct kv *env;                 /* values may be templates */
	size_t n_env;
	cJSON *resources;               /* {requests:{...}, limits:{...}} or NULL */
	cJSON *kubernetes;              /* the pod's extras (service_account, ...) or NULL */
	int retries;                    /* default 0 */
	int retry_exponential_backoff;  /* default false */
	int pool_slots;                 /* default 1 */
	int priority_weight;            /* default 1 */
};

/* A task.  Its strings, its command's argv and its upstream and downstream
 * lists are slices of arrays the DAG holds for all its tasks (a 10,000-task
 * DAG is a few allocations, not 100,000): read them, never free them. */
struct dag_task {
	char *task_id;
	struct strv command;            /* argv, NULL-terminated; each element may be
	                                 * a template */
	struct task_args args;
	uint32_t *upstream;             /* indices into dag->tasks */
	uint32_t *downstream;
	uint32_t n_upstream;
	uint32_t n_downstream;
	enum trigger_rule trigger_rule;
	int line, col;                  /* where the task is defined */
};

struct dag_mem;

struct dag {
	char *dag_id;
	char *description;
	char *fileloc;                  /* path of the YAML file */
	char file_hash[65];             /* sha256 of the file, hex */
	struct schedule *schedule;      /* NULL: manual only */
	sta_time start_date;
	int has_end_date;
	sta_time end_date;
	int catchup;                    /* default true, as Airflow's default */
	int max_active_runs;            /* default 16 */
	int max_active_tasks;           /* default 16 */
	struct strv tags;
	cJSON *params;                  /* object, never NULL */
	struct task_args defaults;      /* default_args, which tasks share */
	struct dag_task *tasks;         /* in file order */
	size_t n_tasks;
	uint32_t *topo;                 /* task indices in a topological order */
	struct dag_mem *mem;            /* the tasks' strings and arrays (dag.c) */
};

/* Diagnostics, each "file:line:col: message". */
struct dag_errors {
	struct strv msgs;
};

/* Loads one file.  Returns the DAG, or NULL with one message per problem
 * appended to errs (all problems found, not just the first).  Caller frees
 * with dag_free. */
struct dag *dag_load_file(const char *path, struct dag_errors *errs);
void dag_free(struct dag *dag);

/* Every *.yaml / *.yml file directly in dir, sorted by name.  Good DAGs go
 * to *dags (caller frees each and the array); each bad file adds its errors
 * and loads nothing; two files with one dag_id: the second is an error.
 * Returns 0, or -1 when dir itself cannot be read (reason in errs). */
int dag_load_folder(const char *dir, struct dag ***dags, size_t *n,
    struct dag_errors *errs);

/* Returns the task's index or -1 (a binary search). */
ssize_t dag_task_index(const struct dag *dag, const char *task_id);
void dag_errors_free(struct dag_errors *errs);

#endif
