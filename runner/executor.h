/*
 * executor.h: executors run one try of a task and report how it ended.
 * Each executor is a table of functions chosen by name ("local",
 * "kubernetes"), so a new one is a new file, not new branches.
 *
 * Crash safety is the executor's job: a try it started must keep running
 * and its outcome must stay recoverable when the scheduler is killed, and
 * a restarted scheduler must be able to adopt it by the try's identity
 * alone (its log path), never starting it twice.
 */
#ifndef STA_EXECUTOR_H
#define STA_EXECUTOR_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "lib/util.h"

#include "lib/timeutil.h"

/* What a try runs.  Everything is borrowed for the duration of the call;
 * the executor copies what it keeps. */
struct try_spec {
	const char *dag_id;
	const char *run_id;
	const char *task_id;
	int try_number;
	sta_time logical_date;
	sta_time data_interval_start;
	sta_time data_interval_end;
	char *const *argv;          /* rendered command, NULL-terminated */
	char *const *env;           /* extra "KEY=VALUE" entries, NULL-terminated */
	int64_t timeout;            /* seconds; 0 = none */
	/* The try's log file (stdout and stderr).  Its folder holds the try's
	 * other files; it identifies the try across scheduler restarts. */
	const char *log_path;
	const char *pool;
	/* kubernetes only: the image, the task's resources
	 * ({requests:{..}, limits:{..}}) and its `kubernetes` block
	 * (service_account, node_selector, tolerations, env_from_secrets,
	 * secret_env); NULL when unset. */
	const char *image;
	const cJSON *resources;
	const cJSON *kubernetes;
	/* The arg given to start() for a try that can_follow() accepted;
	 * this try starts the moment that one ends (handed ahead), or at once
	 * when that one has ended.  NULL: at once. */
	const void *after;
	/* With after: start only if that try succeeds (it is an upstream
	 * task of this one); else this try ends TRY_DROPPED. */
	int after_success;
};

/* How many tries may wait behind a running try, handed to the executor
 * ahead so that it starts the next one the moment a task ends, without
 * waiting for the scheduler to record the end: enough to cover a pass of
 * its loop or two while short tasks end (the wide graph of
 * bench/sched_10k.sh on ext4, before group commit: 1.45-1.57x make -j2
 * two deep, 1.36-1.48x four deep; see the README). */
#define EXECUTOR_HAND_AHEAD 4

enum try_end {
	TRY_EXITED,         /* the command ran and exited (maybe by signal) */
	TRY_TIMED_OUT,      /* killed after `timeout` seconds */
	TRY_LOST,           /* its supervisor vanished: outcome unknown */
	TRY_START_FAILED,   /* could not be started (exec failed, ...) */
	TRY_DROPPED,        /* never started: it was to follow a try that did
			     * not succeed (spec->after_success), or its
			     * supervisor ended first */
};

struct try_outcome {
	enum try_end end;
	int exit_code;      /* valid for TRY_EXITED when signal == 0 */
	int signal;         /* terminating signal, or 0 */
	char *result_json;  /* last STA_RESULT line's JSON, or NULL */
	char *reason;       /* human-readable, for the UI and logs; or NULL */
	char *handle;       /* the pid or pod learnt only with the end, or NULL */
	int64_t started_ms; /* when it started and ended (ms since the epoch) */
	int64_t ended_ms;
};

/* Called from the event loop once per started or adopted try.  The
 * outcome is only valid during the call. */
typedef void (*executor_done_fn)(void *arg, const struct try_outcome *out);

enum adopt_result {
	ADOPT_RUNNING,      /* still running: done_fn will be called later */
	ADOPT_FINISHED,     /* already ended: done_fn will be called from the loop */
	ADOPT_NOT_STARTED,  /* never started: the caller may start it */
};

struct executor;

/* What an executor may ask of the scheduler that created it; every member
 * may be NULL. */
struct executor_host {
	/* Appends to out the log paths (identities) of the tries that the
	 * store counts as running on the executor named, whichever scheduler
	 * process started them; -1 when the store cannot tell. */
	int (*running_tries)(void *arg, const char *executor, struct strv *out);
	/* Called before the executor changes shared state (creates or
	 * deletes pods): a scheduler that lost its lease stops there. */
	void (*before_act)(void *arg);
	/* A try that start() left without a handle has one now (called from
	 * the loop, before its done_fn); try_arg is the arg given to start(). */
	void (*started)(void *try_arg, const char *handle);
	void *arg;
};

struct executor_ops {
	const char *name;
	/* host may be NULL (tests). */
	struct executor *(*create)(struct ev_loop *loop, const struct executor_host *host);
	void (*destroy)(struct executor *ex);
	/* Starts a try.  *handle (caller frees) is the pid or pod name for
	 * display, or stays NULL when it is known only later (then the host's
	 * started() gets it).  Returns 0, or -1 with the reason logged. */
	int (*start)(struct executor *ex, const struct try_spec *spec,
	    executor_done_fn done, void *arg, char **handle);
	/* Re-attaches to a try started by an earlier scheduler process. */
	enum adopt_result (*adopt)(struct executor *ex, const struct try_spec *spec,
	    executor_done_fn done, void *arg, char **handle);
	/* Asks a running try to stop (SIGTERM to its process group, then
	 * SIGKILL after a grace period); done_fn still follows. */
	void (*kill)(struct executor *ex, const char *log_path);
	/* Whether the try started with arg may be given as spec->after:
	 * its end, under this executor's own supervisor, starts the next
	 * (at most EXECUTOR_HAND_AHEAD tries wait behind a running one).
	 * May be NULL (the executor takes no spec->after). */
	int (*can_follow)(struct executor *ex, const void *arg);
	/* A try started with spec->after may start now, without waiting (a
	 * slot has freed elsewhere); nothing if it has started. */
	void (*release)(struct executor *ex, const char *log_path);
};

/* Looks an executor up by name; NULL if unknown. */
const struct executor_ops *executor_find(const char *name);

extern const struct executor_ops executor_local;
extern const struct executor_ops executor_kubernetes;

/* Shared by the executors (executor.c). */

/* Whether an outcome is the task's success (exit status 0): what starts
 * a try handed ahead with after_success. */
int executor_outcome_succeeded(const struct try_outcome *o);

/* The try's file with extension ext beside its log (caller frees). */
char *executor_try_file(const char *log_path, const char *ext);
/* The last "STA_RESULT {json}" object of the log, or NULL (caller frees);
 * a line longer than EXECUTOR_RESULT_MAX is not read.  The log is read
 * backwards chunk_size bytes at a time (by path: EXECUTOR_RESULT_CHUNK);
 * fd must be open for reading. */
#define EXECUTOR_RESULT_CHUNK (64 * 1024)
cJSON *executor_scan_result(const char *log_path);
cJSON *executor_scan_result_fd(int fd, size_t chunk_size);
/* An outcome (and result, taken; may be NULL) as one line of JSON
 * (caller frees). */
char *executor_outcome_json(const struct try_outcome *o, cJSON *result);
/* Records an outcome (and result, taken; may be NULL) atomically in the
 * try's .status file, which makes the end recoverable after a crash. */
int executor_write_status(const char *status_path, const struct try_outcome *o,
    cJSON *result);
/* Reads the outcome, the last line of the .status file, into *o (free
 * with executor_outcome_free); -1 when there is none or it is unreadable. */
int executor_read_status(const char *log_path, struct try_outcome *o);
/* An outcome as executor_outcome_json wrote it, into *o: 0, or -1. */
int executor_parse_outcome(const char *json, struct try_outcome *o);
void executor_outcome_free(struct try_outcome *o);
/* Appends the task contract's STA_* variables, then spec->env, to out. */
void executor_task_env(const struct try_spec *spec, struct strv *out);

/* The "STA_RESULT " prefix a task prints before its one-line JSON result. */
#define EXECUTOR_RESULT_PREFIX "STA_RESULT "
/* The longest result line read (1 MiB). */
#define EXECUTOR_RESULT_MAX (1024 * 1024)

#endif
