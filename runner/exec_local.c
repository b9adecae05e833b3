/*
 * exec_local.c: the local executor.  Its tries run under supervisors, one
 * per slot in use, in their own session, so that they outlive a killed
 * scheduler: the first is forked by the scheduler, the others by the
 * first (none keeps a copy of the scheduler's memory).  The scheduler
 * sends a supervisor a try and goes on (the answers come to its loop).
 * For each try the supervisor
 *   1. claims the try: links T.attempt=N.status, a file naming the
 *      supervisor (its pid and start time), into place beside the log
 *      (link(2) is atomic: of two claims of one try exactly one wins; the
 *      loser follows the winner's try);
 *   2. runs the command (vfork and execvp, no shell) in a new process
 *      group, stdin /dev/null, stdout and stderr appended to the log, the
 *      STA_* environment set, and appends the task's pid and start time to
 *      the status file (the pid goes to the scheduler once the task has
 *      run a second, or with its end);
 *   3. enforces the timeout: SIGTERM to the group, SIGKILL after a grace;
 *   4. sends the outcome to the scheduler, then appends it, one line of
 *      JSON, to the status file.
 * A try may be handed ahead, after a running one: the supervisor keeps it
 * and starts it the moment that one ends, so the next task does not wait
 * for the scheduler to record the end (a pass of its loop).  A
 * try of a task downstream of that one starts only if it succeeded, and
 * is dropped (never claimed) if not.
 * When the scheduler is gone, the supervisor starts none of those,
 * finishes the tries it runs, records their outcomes and exits.  A
 * restarted scheduler adopts a try by its status file: the outcome is
 * there; or the supervisor that claimed it lives, and the scheduler waits
 * for the outcome (ev_stat, inotify) or the supervisor's end (a pidfd; an
 * end without an outcome is a lost try); or there is no file: the try
 * never started.
 *
 * A supervisor per slot, not a process per try: a try costs a
 * vfork and small writes, not a fork of a process that maps all of the
 * scheduler's libraries, which was most of a try's cost.
 */
#include "runner/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/util.h"

#define DEFAULT_GRACE 5

/* Largest try message (its fields, argv and env included). */
#define LAUNCH_MAX (1 << 20)

extern char **environ;

/* Largest outcome sent with its report (a larger STA_RESULT is read from
 * the status file). */
#define OUTCOME_MAX (60 * 1024)

/* A task still running this long after its start has its pid reported;
 * a shorter one reports it with its end. */
#define PID_REPORT_DELAY 1.0

/* How many tries a supervisor takes at most: one running, and those
 * handed ahead behind it. */
#define SUP_TRIES (1 + EXECUTOR_HAND_AHEAD)

/* What the supervisor tells the scheduler about a try. */
enum sup_event {
	SUP_STARTED,    /* running for a while; value is the task's pid */
	SUP_ENDED,      /* value is the task's pid (0: none ran); the outcome
			 * follows the header, or is in the status file */
	SUP_CLAIMED,    /* another supervisor (or start) holds its claim */
	SUP_FAILED,     /* could not be claimed; value is the errno */
	SUP_DROPPED,    /* handed ahead behind a try that did not succeed:
			 * never started */
};

struct sup_msg {
	uint64_t id;
	int32_t event;
	int32_t value;
};

/* Process start time (clock ticks since boot): with the pid it identifies a
 * process even after pid reuse.  0 when the process does not exist. */
static unsigned long long
proc_start_time(pid_t pid)
{
	char *path = xasprintf("/proc/%ld/stat", (long)pid), *text = NULL, *p;
	unsigned long long st = 0;
	size_t len;

	if (fs_read_file(path, &text, &len) == 0 && (p = strrchr(text, ')')) != NULL) {
		/* fields after the command: state is field 3, starttime field 22 */
		int field = 2;

		for (p++; *p != '\0' && field < 22; p++)
			if (*p == ' ')
				field++;
		if (field == 22)
			st = strtoull(p, NULL, 10);
	}
	free(text);
	free(path);
	return st;
}

/* Now in the unit of a start time. */
static unsigned long long
boot_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ((unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec) /
	    (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static int
proc_alive(pid_t pid, unsigned long long start)
{
	return pid > 0 && proc_start_time(pid) == start;
}

/* The seconds between SIGTERM and SIGKILL. */
static int64_t
kill_grace(void)
{
	const char *v = getenv("STA_KILL_GRACE_SECONDS");
	int64_t grace = DEFAULT_GRACE;

	if (v != NULL && parse_int64(v, &grace) != 0)
		grace = DEFAULT_GRACE;
	return grace > 0 ? grace : 1;
}

/* A try's status file as read back: the supervisor that claimed it, the
 * task once it runs, and whether the outcome (last line) is there. */
struct claim {
	pid_t sup, task;
	unsigned long long sup_start, task_start;
	int has_outcome;
};

/* 0; -1 when there is no status file; -2 when it names no supervisor. */
static int
claim_read(const char *status_path, struct claim *c)
{
	char *text = NULL, *line, *nl;
	unsigned long long st;
	long pid;

	memset(c, 0, sizeof(*c));
	if (fs_read_file(status_path, &text, NULL) != 0)
		return -1;
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if (sscanf(line, "supervisor %ld %llu", &pid, &st) == 2) {
			c->sup = (pid_t)pid;
			c->sup_start = st;
		} else if (sscanf(line, "task %ld %llu", &pid, &st) == 2) {
			c->task = (pid_t)pid;
			c->task_start = st;
		} else if (*line == '{') {
			c->has_outcome = 1;
		}
	}
	free(text);
	return c->sup > 0 ? 0 : -2;
}

/* environ, then the STA_* variables and the task's env (later wins), as
 * a NULL-terminated array (caller frees) of pointers into environ and into
 * extra (filled here; caller frees). */
static char **
task_environ(const struct try_spec *spec, struct strv *extra)
{
	size_t n = 0, max;
	char **env;
	char **e;

	executor_task_env(spec, extra);
	for (e = environ; *e != NULL; e++)
		;
	max = (size_t)(e - environ) + extra->n + 1;
	env = xreallocarray(NULL, max, sizeof(*env));
	for (e = environ; *e != NULL; e++) {
		size_t klen = strcspn(*e, "=");
		size_t i = 0;

		while (i < extra->n && strncmp(extra->v[i], *e, klen + 1) != 0)
			i++;
		if (i == extra->n)
			env[n++] = *e;
	}
	for (size_t i = 0; i < extra->n; i++)
		env[n++] = extra->v[i];
	env[n] = NULL;
	return env;
}

/* ------------------------------------------------------------- messages */

/* A message to the supervisor is a list of NUL-terminated fields:
 *   start ID AFTER IF DAG_ID RUN_ID TASK_ID TRY LOGICAL_DATE START END TIMEOUT
 *         LOG_PATH ARGC ARGV... ENVC ENV...
 * (AFTER: the ID of the try whose end starts this one, or 0; IF: 1 when
 * only its success does, else the try is dropped)
 *   kill ID
 *   now ID          (a try handed ahead starts at once)
 * (numbers in decimal): no escaping to do, nothing to parse but the
 * numbers. */
static void
msg_put(struct buf *b, const char *s)
{
	s = s != NULL ? s : "";
	buf_append(b, s, strlen(s) + 1);
}

static void
msg_put_num(struct buf *b, long long v)
{
	char t[24];

	snprintf(t, sizeof(t), "%lld", v);
	msg_put(b, t);
}

static void
msg_put_strv(struct buf *b, char *const *v)
{
	long long n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	msg_put_num(b, n);
	for (long long i = 0; i < n; i++)
		msg_put(b, v[i]);
}

/* A try as the supervisor receives it. */
static void
start_message(struct buf *b, const struct try_spec *spec, uint64_t id, uint64_t after)
{
	msg_put(b, "start");
	msg_put_num(b, (long long)id);
	msg_put_num(b, (long long)after);
	msg_put_num(b, after != 0 && spec->after_success);
	msg_put(b, spec->dag_id);
	msg_put(b, spec->run_id);
	msg_put(b, spec->task_id);
	msg_put_num(b, spec->try_number);
	msg_put_num(b, spec->logical_date);
	msg_put_num(b, spec->data_interval_start);
	msg_put_num(b, spec->data_interval_end);
	msg_put_num(b, spec->timeout);
	msg_put(b, spec->log_path);
	msg_put_strv(b, spec->argv);
	msg_put_strv(b, spec->env);
}

/* A received message: its fields in turn (the buffer ends with a NUL). */
struct msg {
	char *p, *end;
	int bad;                /* a field was missing or not a number */
};

static const char *
msg_str(struct msg *m)
{
	char *s = m->p;

	if (m->p >= m->end) {
		m->bad = 1;
		return "";
	}
	m->p += strlen(s) + 1;
	return s;
}

static int64_t
msg_num(struct msg *m)
{
	int64_t v = 0;

	if (parse_int64(msg_str(m), &v) != 0)
		m->bad = 1;
	return v;
}

static void
msg_strv(struct msg *m, struct strv *out)
{
	int64_t n = msg_num(m);

	strv_push_take(out, NULL);      /* NULL-terminated even when empty */
	out->n = 0;
	for (int64_t i = 0; i < n && !m->bad; i++)
		strv_push(out, msg_str(m));
}

/* The rest of a start message (after its id) as a spec whose strings
 * point into the message, argv and env into the vectors given. */
static int
spec_parse(struct msg *m, struct try_spec *spec, struct strv *argv, struct strv *env)
{
	memset(spec, 0, sizeof(*spec));
	spec->dag_id = msg_str(m);
	spec->run_id = msg_str(m);
	spec->task_id = msg_str(m);
	spec->try_number = (int)msg_num(m);
	spec->logical_date = (sta_time)msg_num(m);
	spec->data_interval_start = (sta_time)msg_num(m);
	spec->data_interval_end = (sta_time)msg_num(m);
	spec->timeout = msg_num(m);
	spec->log_path = msg_str(m);
	msg_strv(m, argv);
	msg_strv(m, env);
	spec->argv = argv->v;
	spec->env = env->v;
	return !m->bad && *spec->log_path != '\0' && argv->n > 0 ? 0 : -1;
}

/* ------------------------------------------------------------ supervisor */

struct sup;

/* A running task. */
struct stask {
	struct sup *sv;
	uint64_t id;
	int logfd;              /* open to read the result at the end */
	int statusfd;           /* open since the claim, to add the outcome */
	pid_t pid;              /* and its process group */
	int pidfd;
	ev_io io;
	ev_timer timer;         /* the timeout, then the grace after SIGTERM */
	ev_timer report;        /* PID_REPORT_DELAY */
	int64_t timeout;
	int stopping;           /* SIGTERM sent */
	int timed_out;
	int64_t started_ms;
	struct queued {         /* tries to start in turn when this one ends */
		uint64_t id;
		int if_ok;      /* only if the try before it succeeds */
		size_t len;
		struct queued *next;
		char msg[];     /* the start message from its DAG id on */
	} *queue;
	struct stask *next;
};

struct sup {
	struct ev_loop *loop;
	int sock;               /* -1 once the scheduler is gone */
	ev_io io;
	/* Reports the socket does not take now: it never blocks, so a
	 * scheduler that is sending a try cannot wait on it forever. */
	struct sup_out {
		struct sup_msg m;
		char *outcome;          /* SUP_ENDED: the outcome, or NULL */
	} *out;
	size_t n_out, cap_out;
	ev_io out_io;
	int64_t grace;
	int devnull;            /* the tasks' stdin */
	char claim[96];         /* "supervisor PID START\n" */
	char *buf;
	struct stask *tasks;
	int children;           /* supervisors it forked that still run */
	/* The last tries that succeeded, for a try sent to follow one that
	 * has ended meanwhile. */
	uint64_t succeeded[64];
	unsigned n_succeeded;
};

/* A supervisor forked by this one, waited for before this one exits (so
 * that its CPU time, its tasks' included, counts as the scheduler's). */
struct schild {
	struct sup *sv;
	pid_t pid;
	int pidfd;
	ev_io io;
};

/* Ends the loop once the scheduler is gone and nothing runs. */
static void
sup_exit_if_done(struct sup *sv)
{
	if (sv->sock < 0 && sv->tasks == NULL && sv->children == 0)
		ev_break(sv->loop, EVBREAK_ALL);
}

/* Closes every descriptor but stdio and fd. */
static void
fd_keep_only(int fd)
{
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
}

/* Sends what waits: 0 when all went, -1 when the socket is full. */
static int
sup_flush(struct sup *sv)
{
	size_t sent = 0;

	while (sent < sv->n_out && sv->sock >= 0) {
		struct sup_out *o = &sv->out[sent];
		struct iovec iov[2] = {
			{ .iov_base = &o->m, .iov_len = sizeof(o->m) },
			{ .iov_base = o->outcome, .iov_len = o->outcome ? strlen(o->outcome) : 0 },
		};
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = sendmsg(sv->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		free(o->outcome);
		sent++;         /* sent, or the scheduler is gone */
	}
	if (sv->sock < 0)
		while (sent < sv->n_out)
			free(sv->out[sent++].outcome);
	memmove(sv->out, sv->out + sent, (sv->n_out - sent) * sizeof(*sv->out));
	sv->n_out -= sent;
	return sv->n_out == 0 ? 0 : -1;
}

static void
sup_out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	if (sup_flush(w->data) == 0)
		ev_io_stop(loop, w);
}

/* Queues a report and sends what it can; outcome (SUP_ENDED, at most
 * OUTCOME_MAX bytes, or NULL) is copied. */
static void
sup_tell(struct sup *sv, uint64_t id, enum sup_event event, int value, const char *outcome)
{
	if (sv->sock < 0)
		return;
	if (sv->n_out == sv->cap_out) {
		sv->cap_out = sv->cap_out ? sv->cap_out * 2 : 16;
		sv->out = xreallocarray(sv->out, sv->cap_out, sizeof(*sv->out));
	}
	sv->out[sv->n_out++] = (struct sup_out){
		.m = {.id = id, .event = event, .value = value},
		.outcome = outcome != NULL ? xstrdup(outcome) : NULL,
	};
	if (sup_flush(sv) != 0)
		ev_io_start(sv->loop, &sv->out_io);
}

static void
sup_write(int fd, const char *text)
{
	size_t len = strlen(text);
	ssize_t n = 0;

	for (size_t off = 0; off < len && (n = write(fd, text + off, len - off)) > 0; off += (size_t)n)
		;
}

/* Reports a try's end (the task's pid, or 0 when none ran), outcome
 * included, then records the outcome in its status file (statusfd, the
 * claim's; -1: a try stopped before it was claimed has none): the
 * scheduler does not wait for the write, the file is for one that
 * restarts.  An outcome too large for
 * a report is written first: the scheduler reads it from the file. */
static void
sup_ended(struct sup *sv, uint64_t id, pid_t pid, int statusfd, enum try_end end,
    int code, int sig, cJSON *result, const char *reason, int64_t started_ms, int64_t ended_ms)
{
	struct try_outcome o = {
		.end = end, .exit_code = code, .signal = sig, .reason = (char *)reason,
		.started_ms = started_ms, .ended_ms = ended_ms,
	};
	char *json = executor_outcome_json(&o, result), *line = xasprintf("%s\n", json);
	int fits = strlen(json) <= OUTCOME_MAX;

	if (!fits && statusfd >= 0)
		sup_write(statusfd, line);
	sup_tell(sv, id, SUP_ENDED, (int)pid, fits ? json : NULL);
	if (fits && statusfd >= 0)
		sup_write(statusfd, line);
	free(line);
	free(json);
}

/* Links a file naming this supervisor to status_path: the file, open to
 * write what follows the claim; or -1 with errno (EEXIST: claimed before). */
static int
sup_claim(const struct sup *sv, const char *status_path)
{
	char *tmp = xasprintf("%s.%ld", status_path, (long)getpid());
	size_t len = strlen(sv->claim);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), e;

	if (fd >= 0 && (write(fd, sv->claim, len) != (ssize_t)len || link(tmp, status_path) != 0)) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	e = errno;
	unlink(tmp);
	free(tmp);
	errno = e;
	return fd;
}

/* Starts the task in its own process group, stdin /dev/null, stdout and
 * stderr to logfd, every signal at its default: 0, or an errno.
 *
 * vfork, as posix_spawn does it but without mapping and unmapping a stack
 * for the child per task (with the unmap's TLB flush on the other core,
 * about a seventh of the supervisor's time): the child shares our memory
 * until its exec, and does only what posix_spawn's child does.  The supervisor has
 * no signal handlers, so none can run in the child; the signals it
 * ignores are set back to their defaults (exec keeps ignored signals), its
 * mask is empty.  environ is the task's while execvp looks the program
 * up, so PATH is the task's. */
static int
sup_spawn(const struct try_spec *spec, int devnull, int logfd, pid_t *pid)
{
	static const int ignored[] = { SIGINT, SIGHUP, SIGTERM, SIGPIPE };
	struct strv extra = {0};
	char **env = task_environ(spec, &extra);
	char **saved = environ;
	volatile int err = 0;   /* set by the child: it shares our memory */
	pid_t p;

	environ = env;
	p = vfork();
	if (p == 0) {
		if (setpgid(0, 0) != 0 || dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(logfd, STDOUT_FILENO) < 0 || dup2(logfd, STDERR_FILENO) < 0) {
			err = errno;
			_exit(127);
		}
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
			signal(ignored[i], SIG_DFL);
		execvp(spec->argv[0], spec->argv);
		err = errno;
		_exit(127);
	}
	environ = saved;
	if (p < 0) {
		err = errno;
	} else if (err != 0) {
		waitpid(p, NULL, 0);    /* it could not exec: reaped here */
	} else {
		*pid = p;
	}
	free(env);
	strv_free(&extra);
	return err;
}

static void
stask_free(struct stask *t)
{
	struct sup *sv = t->sv;

	for (struct stask **pp = &sv->tasks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	ev_io_stop(sv->loop, &t->io);
	ev_timer_stop(sv->loop, &t->timer);
	ev_timer_stop(sv->loop, &t->report);
	close(t->pidfd);
	close(t->logfd);
	close(t->statusfd);
	while (t->queue != NULL) {
		struct queued *q = t->queue;

		t->queue = q->next;
		free(q);
	}
	free(t);
	sup_exit_if_done(sv);
}

/* SIGTERM to the task's group, then SIGKILL after the grace. */
static void
sup_stop(struct stask *t)
{
	kill(-t->pid, t->stopping ? SIGKILL : SIGTERM);
	if (t->stopping)
		return;
	t->stopping = 1;
	ev_timer_stop(t->sv->loop, &t->timer);
	ev_timer_set(&t->timer, (double)t->sv->grace, 0.);
	ev_timer_start(t->sv->loop, &t->timer);
}

static void
sup_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stask *t = w->data;

	(void)loop;
	(void)revents;
	if (!t->stopping)
		t->timed_out = 1;
	sup_stop(t);
}

static void
sup_report_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stask *t = w->data;

	(void)loop;
	(void)revents;
	sup_tell(t->sv, t->id, SUP_STARTED, (int)t->pid, NULL);
}

static void sup_start(struct sup *sv, uint64_t id, struct msg *m);

/* Whether the scheduler is still there: its socket not closed (an end of
 * the socket not read yet counts). */
static int
sup_scheduler_lives(struct sup *sv)
{
	struct pollfd p = { .fd = sv->sock, .events = POLLRDHUP };

	return sv->sock >= 0 && (poll(&p, 1, 0) != 1 || !(p.revents & (POLLRDHUP | POLLHUP)));
}

/* Starts a try taken out of a queue, and frees it; the tries behind it
 * become its queue if it started.  Whether it started. */
static int
sup_start_taken(struct sup *sv, struct queued *q, struct queued *behind)
{
	struct msg m = { q->msg, q->msg + q->len, 0 };
	uint64_t id = q->id;

	sup_start(sv, id, &m);
	free(q);
	if (sv->tasks == NULL || sv->tasks->id != id)
		return 0;
	sv->tasks->queue = behind;
	return 1;
}

/* Drops tries handed ahead that were to start only after the success of
 * a try that did not succeed (or start): the scheduler decides their tasks
 * again.  Frees the list. */
static void
sup_drop(struct sup *sv, struct queued *q)
{
	while (q != NULL) {
		struct queued *next = q->next;

		sup_tell(sv, q->id, SUP_DROPPED, 0, NULL);
		free(q);
		q = next;
	}
}

/* Whether the try with id is among the last to succeed. */
static int
sup_succeeded(const struct sup *sv, uint64_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(sv->succeeded); i++)
		if (sv->succeeded[i] == id)
			return 1;
	return 0;
}

/* t ended (ok: it succeeded): the first try handed ahead behind it that
 * starts takes its place (and the rest of its queue); one that starts only
 * after the success of the try before it is dropped when that one did not
 * succeed or start.  None starts once the scheduler is gone: a restarted
 * one gives them back their slots. */
static void
sup_start_queued(struct stask *t, int ok)
{
	struct sup *sv = t->sv;

	if (ok)
		sv->succeeded[sv->n_succeeded++ % ARRAY_LEN(sv->succeeded)] = t->id;
	while (t->queue != NULL && sup_scheduler_lives(sv)) {
		struct queued *q = t->queue;

		t->queue = q->next;
		if (q->if_ok && !ok) {
			q->next = NULL;
			sup_drop(sv, q);
		} else if (sup_start_taken(sv, q, t->queue)) {
			t->queue = NULL;
		} else {
			ok = 0;         /* it did not start */
		}
	}
}

/* The task ended: its outcome to the scheduler and the status file. */
static void
sup_task_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stask *t = w->data;
	char reason[128];
	int status = 0, sig, code;
	int64_t ended_ms;
	cJSON *result;

	(void)loop;
	(void)revents;
	switch (waitpid(t->pid, &status, WNOHANG)) {
	case 0:
		return;
	case -1:
		status = -1;    /* neither exited nor signalled */
		break;
	}
	kill(-t->pid, SIGKILL);         /* whatever the task left in its group */
	ended_ms = time_now_ms();
	sig = status != -1 && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	sup_start_queued(t, executor_outcome_succeeded(&(struct try_outcome){
	    .end = t->timed_out ? TRY_TIMED_OUT : TRY_EXITED, .exit_code = code, .signal = sig }));
	result = executor_scan_result_fd(t->logfd, EXECUTOR_RESULT_CHUNK);
	if (t->timed_out) {
		snprintf(reason, sizeof(reason), "execution_timeout (%llds) reached: "
		    "process group killed", (long long)t->timeout);
		sup_ended(t->sv, t->id, t->pid, t->statusfd, TRY_TIMED_OUT, -1, sig, result,
		    reason, t->started_ms, ended_ms);
	} else {
		sup_ended(t->sv, t->id, t->pid, t->statusfd, TRY_EXITED, code, sig, result,
		    t->stopping ? "stopped on request" : NULL, t->started_ms, ended_ms);
	}
	stask_free(t);
}

static void
sup_start(struct sup *sv, uint64_t id, struct msg *m)
{
	struct strv argv = {0}, env = {0};
	struct try_spec spec;
	struct stask *t;
	char *status_path = NULL, *line, reason[512];
	int64_t started_ms = time_now_ms();
	int logfd = -1, claimfd, err, pidfd;
	unsigned long long before, spawned;
	pid_t pid;

	if (spec_parse(m, &spec, &argv, &env) != 0) {
		sup_tell(sv, id, SUP_FAILED, EINVAL, NULL);
		goto out;
	}
	status_path = executor_try_file(spec.log_path, "status");
	if ((claimfd = sup_claim(sv, status_path)) < 0) {
		sup_tell(sv, id, errno == EEXIST ? SUP_CLAIMED : SUP_FAILED, errno, NULL);
		goto out;
	}
	logfd = open(spec.log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		snprintf(reason, sizeof(reason), "cannot open the log %s: %s", spec.log_path,
		    strerror(errno));
		goto failed;
	}
	before = boot_ticks();
	err = sup_spawn(&spec, sv->devnull, logfd, &pid);
	spawned = boot_ticks();
	if (err != 0) {
		dprintf(logfd, "sta: cannot run '%s': %s\n", spec.argv[0], strerror(err));
		snprintf(reason, sizeof(reason), "cannot run '%s': %s", spec.argv[0], strerror(err));
		goto failed;
	}
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
		snprintf(reason, sizeof(reason), "cannot watch the task: %s", strerror(errno));
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto failed;
	}
	/* the task started between the two readings: when both fall in one
	 * clock tick, that tick is its start time, no /proc read needed */
	line = xasprintf("task %ld %llu\n", (long)pid,
	    spawned == before ? before : proc_start_time(pid));
	sup_write(claimfd, line);
	free(line);
	t = xcalloc(1, sizeof(*t));
	t->sv = sv;
	t->id = id;
	t->logfd = logfd;
	logfd = -1;
	t->statusfd = claimfd;
	t->pid = pid;
	t->pidfd = pidfd;
	t->timeout = spec.timeout;
	t->started_ms = started_ms;
	ev_io_init(&t->io, sup_task_cb, pidfd, EV_READ);
	ev_timer_init(&t->timer, sup_timer_cb, (double)spec.timeout, 0.);
	ev_timer_init(&t->report, sup_report_cb, PID_REPORT_DELAY, 0.);
	t->io.data = t->timer.data = t->report.data = t;
	ev_io_start(sv->loop, &t->io);
	if (spec.timeout > 0)
		ev_timer_start(sv->loop, &t->timer);
	ev_timer_start(sv->loop, &t->report);
	t->next = sv->tasks;
	sv->tasks = t;
	goto out;
failed:
	sup_ended(sv, id, 0, claimfd, TRY_START_FAILED, -1, 0, NULL, reason, started_ms,
	    time_now_ms());
	close(claimfd);
out:
	if (logfd >= 0)
		close(logfd);
	free(status_path);
	strv_free(&argv);
	strv_free(&env);
}

/* The end of the queue that holds the try after (running or handed
 * ahead), or NULL when there is none: after ended, or is 0. */
static struct queued **
sup_queue_end(struct sup *sv, uint64_t after)
{
	for (struct stask *t = sv->tasks; t != NULL && after != 0; t = t->next) {
		struct queued **qp = &t->queue;
		int hit = t->id == after;

		for (; *qp != NULL; qp = &(*qp)->next)
			hit |= (*qp)->id == after;
		if (hit)
			return qp;
	}
	return NULL;
}

/* Takes the try handed ahead with id out of its queue, together with the
 * tries behind it that start only after its success (its next): it, or
 * NULL. */
static struct queued *
sup_unqueue(struct sup *sv, uint64_t id)
{
	for (struct stask *t = sv->tasks; t != NULL; t = t->next) {
		for (struct queued **qp = &t->queue; *qp != NULL; qp = &(*qp)->next) {
			if ((*qp)->id == id) {
				struct queued *q = *qp, **last = &q->next;

				while (*last != NULL && (*last)->if_ok)
					last = &(*last)->next;
				*qp = *last;
				*last = NULL;
				return q;
			}
		}
	}
	return NULL;
}

/* Stops a running try, or drops one handed ahead (it never ran) and the
 * tries waiting for its success. */
static void
sup_kill(struct sup *sv, uint64_t id)
{
	struct queued *q = sup_unqueue(sv, id);

	if (q != NULL) {
		struct queued *behind = q->next;

		free(q);
		sup_ended(sv, id, 0, -1, TRY_START_FAILED, -1, 0, NULL,
		    "stopped on request before it started", time_now_ms(), time_now_ms());
		sup_drop(sv, behind);
		return;
	}
	for (struct stask *t = sv->tasks; t != NULL; t = t->next)
		if (t->id == id && !t->stopping)
			sup_stop(t);
}

/* Starts a try handed ahead at once (a slot freed elsewhere); the tries
 * waiting for its success stay behind it. */
static void
sup_now(struct sup *sv, uint64_t id)
{
	struct queued *q = sup_unqueue(sv, id), *behind;

	if (q == NULL)
		return;
	behind = q->next;
	if (!sup_start_taken(sv, q, behind))
		sup_drop(sv, behind);
}

static void supervisor_main(int sock);

static void
schild_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct schild *c = w->data;
	struct sup *sv = c->sv;

	(void)revents;
	ev_io_stop(loop, w);
	close(c->pidfd);
	waitpid(c->pid, NULL, 0);
	free(c);
	sv->children--;
	sup_exit_if_done(sv);
}

/* Starts another supervisor on sock, the scheduler's socket to it:
 * forked from this one, which is small, not from the scheduler, which
 * grows, so that it does not keep a copy of the scheduler's memory. */
static void
sup_fork(struct sup *sv, int sock)
{
	struct schild *c;
	pid_t pid = fork();
	int pidfd;

	if (pid == 0) {
		fd_keep_only(sock);
		supervisor_main(sock);
	}
	if (pid < 0)
		return;         /* the scheduler sees its socket close */
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return;         /* not waited for: it is reaped when we exit */
	c = xcalloc(1, sizeof(*c));
	c->sv = sv;
	c->pid = pid;
	c->pidfd = pidfd;
	ev_io_init(&c->io, schild_cb, pidfd, EV_READ);
	c->io.data = c;
	ev_io_start(sv->loop, &c->io);
	sv->children++;
}

static void
sup_sock_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sup *sv = w->data;

	(void)revents;
	for (;;) {
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct iovec iov = { .iov_base = sv->buf, .iov_len = LAUNCH_MAX - 1 };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = &ctl, .msg_controllen = sizeof(ctl),
		};
		ssize_t n = recvmsg(sv->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		struct msg m = { sv->buf, sv->buf + (n > 0 ? n : 0), 0 };
		struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
		int passed = -1;
		const char *op;
		uint64_t id;

		if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&passed, CMSG_DATA(c), sizeof(passed));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* The scheduler is gone: finish what runs, then exit. */
			ev_io_stop(loop, w);
			ev_io_stop(loop, &sv->out_io);
			close(sv->sock);
			sv->sock = -1;
			sup_exit_if_done(sv);
			return;
		}
		sv->buf[n] = '\0';
		op = msg_str(&m);
		id = (uint64_t)msg_num(&m);
		if (strcmp(op, "start") == 0) {
			uint64_t after = (uint64_t)msg_num(&m);
			int if_ok = msg_num(&m) != 0;
			struct queued **qp = sup_queue_end(sv, after);

			if (qp != NULL) {
				size_t len = (size_t)(m.end - m.p);

				*qp = xmalloc(sizeof(**qp) + len + 1);
				**qp = (struct queued){ .id = id, .if_ok = if_ok, .len = len };
				memcpy((*qp)->msg, m.p, len + 1);
			} else if (if_ok && !sup_succeeded(sv, after)) {
				/* what it follows ended without success */
				sup_tell(sv, id, SUP_DROPPED, 0, NULL);
			} else {
				sup_start(sv, id, &m);
			}
		} else if (strcmp(op, "kill") == 0) {
			sup_kill(sv, id);
		} else if (strcmp(op, "now") == 0) {
			sup_now(sv, id);
		} else if (strcmp(op, "fork") == 0 && passed >= 0) {
			sup_fork(sv, passed);
		}
		if (passed >= 0)
			close(passed);
	}
}

/* Runs in the forked supervisor; never returns. */
static void
supervisor_main(int sock)
{
	struct sup sv = {.sock = sock, .grace = kill_grace()};
	sigset_t none;

	setsid();
	prctl(PR_SET_NAME, "sta-supervisor");
	/* Signals of a terminal or of a service stop must not end it before
	 * the outcomes of the tasks they stop are recorded. */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(sv.claim, sizeof(sv.claim), "supervisor %ld %llu\n", (long)getpid(),
	    proc_start_time(getpid()));
	sv.buf = xmalloc(LAUNCH_MAX);
	if ((sv.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		_exit(1);
	if ((sv.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		_exit(1);
	ev_io_init(&sv.io, sup_sock_cb, sock, EV_READ);
	ev_io_init(&sv.out_io, sup_out_cb, sock, EV_WRITE);
	sv.io.data = sv.out_io.data = &sv;
	ev_io_start(sv.loop, &sv.io);
	ev_run(sv.loop, 0);
	_exit(0);
}

/* ------------------------------------------------------ scheduler side */

/* One supervisor process.  Each runs the tries of one slot at a time,
 * so the process woken when a task ends is the one that starts the next
 * in that slot: with one supervisor for every slot, a task's end waited
 * for the supervisor to finish with another slot's. */
struct supv {
	struct executor *ex;
	int sock;               /* to it; -1 when it is gone */
	pid_t pid;
	int tries;              /* how many of ours it has (running or handed ahead) */
	int released;           /* of those, started at once in a slot freed elsewhere */
	ev_io io;
};

struct ltry {
	struct executor *ex;
	char *log_path;
	char *status_path;
	struct supv *sup;       /* the supervisor that has it; NULL when followed by its file */
	uint64_t id;            /* its tag there */
	int released;           /* started at once in a slot freed elsewhere */
	int has_handle;         /* the host has its pid */
	int claimed;            /* its status file was seen: it may have run */
	int pidfd;              /* followed: the claiming supervisor */
	ev_io io;
	ev_stat st;
	ev_timer later;         /* a report from the loop */
	ev_timer kill_timer;    /* followed: SIGKILL after the grace */
	executor_done_fn done;
	void *arg;
	struct ltry *next;
};

struct executor {
	struct ev_loop *loop;
	struct executor_host host;
	struct ltry *tries;
	struct supv **sups;     /* those started, gone ones included (reused) */
	size_t n_sups;
	struct supv *first;     /* the one that forks the others, or NULL */
	uint64_t next_id;
	char *buf;              /* a report: struct sup_msg, then an outcome */
	struct buf msg;         /* a message to the supervisor */
};

static void
ltry_unlink(struct ltry *t)
{
	for (struct ltry **pp = &t->ex->tries; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
}

/* t is no longer one of its supervisor's (ended, or followed by its file). */
static void
ltry_detach(struct ltry *t)
{
	if (t->sup != NULL) {
		t->sup->tries--;
		t->sup->released -= t->released;
	}
	t->released = 0;
	t->sup = NULL;
	t->id = 0;
}

static void
ltry_free(struct ltry *t)
{
	struct ev_loop *loop = t->ex->loop;

	ltry_detach(t);
	ev_io_stop(loop, &t->io);
	ev_stat_stop(loop, &t->st);
	ev_timer_stop(loop, &t->later);
	ev_timer_stop(loop, &t->kill_timer);
	if (t->pidfd >= 0)
		close(t->pidfd);
	free(t->log_path);
	free(t->status_path);
	free(t);
}

/* Reports o (borrowed) and frees t. */
static void
ltry_end(struct ltry *t, const struct try_outcome *o)
{
	ltry_unlink(t);
	t->done(t->arg, o);
	ltry_free(t);
}

/* Reports a try that never started (reason may be NULL); frees t. */
static void
ltry_dropped(struct ltry *t, const char *reason)
{
	ltry_end(t, &(struct try_outcome){
	    .end = TRY_DROPPED, .exit_code = -1, .reason = (char *)reason,
	    .started_ms = time_now_ms(), .ended_ms = time_now_ms() });
}

/* Reports the outcome given (JSON), or else the one in the status file,
 * or the loss; frees t.  handle: the task's pid if it came with the end. */
static void
ltry_finish(struct ltry *t, const char *outcome, const char *handle)
{
	struct try_outcome o;

	if (outcome == NULL && !t->claimed && access(t->status_path, F_OK) != 0 && errno == ENOENT) {
		/* never claimed, and its supervisor is gone or never had it */
		ltry_dropped(t, "its supervisor ended before starting it");
		return;
	}
	if ((outcome != NULL ? executor_parse_outcome(outcome, &o) :
	    executor_read_status(t->log_path, &o)) != 0) {
		o.end = TRY_LOST;
		o.exit_code = -1;
		o.reason = xstrdup("its supervisor ended without recording an outcome");
		o.ended_ms = time_now_ms();
	}
	if (handle != NULL && !t->has_handle)
		o.handle = xstrdup(handle);
	ltry_end(t, &o);
	executor_outcome_free(&o);
}

static void
later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	ltry_finish(w->data, NULL, NULL);
}

static void
ltry_later(struct ltry *t)
{
	ev_timer_start(t->ex->loop, &t->later);
}

/* The claiming supervisor ended: the outcome is there, or lost. */
static void
sup_end_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	ltry_finish(w->data, NULL, NULL);
}

/* The status file changed: finished when the outcome is there. */
static void
stat_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	struct ltry *t = w->data;
	struct claim c;

	(void)loop;
	(void)revents;
	if (claim_read(t->status_path, &c) == 0 && c.has_outcome)
		ltry_finish(t, NULL, NULL);
}

static void
kill_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ltry *t = w->data;
	struct claim c;

	(void)loop;
	(void)revents;
	if (claim_read(t->status_path, &c) == 0 && !c.has_outcome && proc_alive(c.task, c.task_start))
		kill(-c.task, SIGKILL);
}

static struct ltry *
ltry_new(struct executor *ex, const char *log_path, executor_done_fn done, void *arg)
{
	struct ltry *t = xcalloc(1, sizeof(*t));

	t->ex = ex;
	t->log_path = xstrdup(log_path);
	t->status_path = executor_try_file(log_path, "status");
	t->pidfd = -1;
	t->done = done;
	t->arg = arg;
	ev_init(&t->io, sup_end_cb);
	ev_stat_init(&t->st, stat_cb, t->status_path, 0.);
	ev_timer_init(&t->later, later_cb, 0, 0);
	ev_init(&t->kill_timer, kill_timer_cb);
	t->io.data = t->st.data = t->later.data = t->kill_timer.data = t;
	t->next = ex->tries;
	ex->tries = t;
	return t;
}

/* The try started with arg while one of our supervisors has it, or NULL
 * (ended, or followed by its file). */
static struct ltry *
ltry_ours(struct executor *ex, const void *arg)
{
	for (struct ltry *t = ex->tries; t != NULL; t = t->next)
		if (t->arg == arg)
			return t->sup != NULL ? t : NULL;
	return NULL;
}

static struct ltry *
ltry_by_id(struct executor *ex, uint64_t id)
{
	for (struct ltry *t = ex->tries; t != NULL; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

/* Follows a try by its status file, whichever supervisor claimed it:
 * ADOPT_NOT_STARTED when there is none; ADOPT_FINISHED when the outcome is
 * there or the supervisor is gone (reported from the loop); else
 * ADOPT_RUNNING, reported when the outcome arrives or the supervisor
 * ends.  *handle is the task's pid when known. */
static enum adopt_result
ltry_follow(struct ltry *t, char **handle)
{
	struct claim c;
	int rc = claim_read(t->status_path, &c), fd;

	if (rc == -1)
		return ADOPT_NOT_STARTED;
	t->claimed = 1;
	if (c.task > 0)
		*handle = xasprintf("%ld", (long)c.task);
	if (rc == 0 && !c.has_outcome && proc_alive(c.sup, c.sup_start) &&
	    (fd = (int)syscall(SYS_pidfd_open, c.sup, 0)) >= 0) {
		t->pidfd = fd;
		ev_io_set(&t->io, fd, EV_READ);
		ev_io_start(t->ex->loop, &t->io);
		ev_stat_start(t->ex->loop, &t->st);
		/* The outcome may have come before the watch. */
		if (claim_read(t->status_path, &c) != 0 || !c.has_outcome)
			return ADOPT_RUNNING;
	}
	ltry_later(t);
	return ADOPT_FINISHED;
}

/* One of our supervisors is gone: a try it ran has its outcome or is lost. */
static void
supervisor_gone(struct supv *sup)
{
	struct executor *ex = sup->ex;

	if (sup->sock < 0)
		return;
	log_warn("a supervisor of the local executor is gone; a new one starts the next try");
	ev_io_stop(ex->loop, &sup->io);
	close(sup->sock);
	sup->sock = -1;
	if (sup->pid > 0)
		waitpid(sup->pid, NULL, WNOHANG);
	for (struct ltry *t = ex->tries; t != NULL; t = t->next) {
		if (t->sup == sup) {
			ltry_detach(t);
			ltry_later(t);
		}
	}
}

/* Tells the host the handle of a try that started without one. */
static void
ltry_started(struct ltry *t, const char *handle)
{
	if (handle != NULL && !t->has_handle && t->ex->host.started != NULL)
		t->ex->host.started(t->arg, handle);
	t->has_handle |= handle != NULL;
}

/* A try its supervisor could not claim (err): it never ran. */
static void
ltry_unclaimed(struct ltry *t, int err)
{
	struct try_outcome o = {
		.end = TRY_START_FAILED, .exit_code = -1,
		.started_ms = time_now_ms(), .ended_ms = time_now_ms(),
	};

	o.reason = xasprintf("cannot claim the try (%s): %s", t->status_path, strerror(err));
	log_error("%s", o.reason);
	ltry_end(t, &o);
	free(o.reason);
}

/* What the supervisor answers about a try it was sent (outcome: with
 * SUP_ENDED, or NULL). */
static void
ltry_report(struct ltry *t, const struct sup_msg *m, const char *outcome)
{
	char *handle = NULL;

	if ((m->event == SUP_STARTED || m->event == SUP_ENDED) && m->value > 0)
		handle = xasprintf("%ld", (long)m->value);
	switch (m->event) {
	case SUP_STARTED:
		ltry_started(t, handle);
		break;
	case SUP_ENDED:         /* ran, or could not start: the outcome says */
		ltry_finish(t, outcome, handle);
		break;
	case SUP_DROPPED:       /* what it followed did not succeed */
		ltry_dropped(t, NULL);
		break;
	case SUP_CLAIMED:       /* started before: follow that try */
		ltry_detach(t);
		t->claimed = 1;
		if (ltry_follow(t, &handle) == ADOPT_NOT_STARTED)
			ltry_later(t);      /* claimed, then removed: lost */
		else
			ltry_started(t, handle);
		break;
	default:
		ltry_unclaimed(t, m->value);
	}
	free(handle);
}

/* A supervisor's reports. */
static void
sock_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct supv *sup = w->data;
	struct executor *ex = sup->ex;
	struct sup_msg m;
	struct ltry *t;

	(void)loop;
	(void)revents;
	while (sup->sock >= 0) {
		ssize_t n = recv(sup->sock, ex->buf, sizeof(m) + OUTCOME_MAX, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < (ssize_t)sizeof(m)) {
			supervisor_gone(sup);
			return;
		}
		memcpy(&m, ex->buf, sizeof(m));
		ex->buf[n] = '\0';
		if ((t = ltry_by_id(ex, m.id)) != NULL && t->sup == sup)
			ltry_report(t, &m, n > (ssize_t)sizeof(m) ? ex->buf + sizeof(m) : NULL);
	}
}

/* Asks our first supervisor to fork one on fd, our socket's other end
 * (passed with SCM_RIGHTS): 0, or -1 when it is gone. */
static int
supervisor_pass(struct supv *first, int fd)
{
	struct executor *ex = first->ex;
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl = {0};
	struct iovec iov;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = &ctl, .msg_controllen = sizeof(ctl),
	};
	ssize_t n;

	buf_reset(&ex->msg);
	msg_put(&ex->msg, "fork");
	msg_put_num(&ex->msg, 0);
	iov = (struct iovec){ .iov_base = ex->msg.data, .iov_len = ex->msg.len };
	ctl.h.cmsg_level = SOL_SOCKET;
	ctl.h.cmsg_type = SCM_RIGHTS;
	ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&ctl.h), &fd, sizeof(int));
	do
		n = sendmsg(first->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)ex->msg.len)
		return 0;
	supervisor_gone(first);
	return -1;
}

/* Starts a supervisor into sup: forked by our first one while it runs
 * (so that it keeps no copy of our memory), else by us, and then our
 * first.  0, or -1 with errno. */
static int
supervisor_add(struct supv *sup)
{
	struct executor *ex = sup->ex;
	int sv[2], e;
	pid_t pid = 0;          /* 0: not ours, our first supervisor's child */

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if (ex->first == NULL || ex->first->sock < 0 || supervisor_pass(ex->first, sv[1]) != 0) {
		if ((pid = fork()) < 0) {
			e = errno;
			close(sv[0]);
			close(sv[1]);
			errno = e;
			return -1;
		}
		if (pid == 0) {
			/* Keep only the socket (and stdio): not the store or the lock. */
			fd_keep_only(sv[1]);
			supervisor_main(sv[1]);
		}
		ex->first = sup;
	}
	close(sv[1]);
	sup->sock = sv[0];
	sup->pid = pid;
	ev_io_init(&sup->io, sock_cb, sup->sock, EV_READ);
	sup->io.data = sup;
	ev_io_start(ex->loop, &sup->io);
	return 0;
}

/* A supervisor with no try of ours, started when none is: so that one
 * runs the tries of one slot at a time.  NULL, with errno, when none can
 * be started. */
static struct supv *
supervisor_idle(struct executor *ex)
{
	struct supv *gone = NULL;

	for (size_t i = 0; i < ex->n_sups; i++) {
		if (ex->sups[i]->sock >= 0 && ex->sups[i]->tries == 0)
			return ex->sups[i];
		if (ex->sups[i]->sock < 0 && gone == NULL)
			gone = ex->sups[i];
	}
	if (gone == NULL) {
		gone = xcalloc(1, sizeof(*gone));
		gone->ex = ex;
		gone->sock = -1;
		ex->sups = xrealloc(ex->sups, (ex->n_sups + 1) * sizeof(*ex->sups));
		ex->sups[ex->n_sups++] = gone;
	}
	return supervisor_add(gone) == 0 ? gone : NULL;
}

/* Sends a try to a supervisor, without waiting: its answers come to
 * sock_cb, so the scheduler goes on while the task starts.  0, or -1 with
 * the reason logged. */
static int
supervisor_send(struct supv *sup, const struct try_spec *spec, uint64_t id, uint64_t after)
{
	struct executor *ex = sup->ex;
	size_t len;
	ssize_t n = -1;

	buf_reset(&ex->msg);
	start_message(&ex->msg, spec, id, after);
	len = ex->msg.len;
	if (len >= LAUNCH_MAX) {
		log_error("%s: its command and environment take %zu bytes, more than the %d a try may",
		    spec->task_id, len, LAUNCH_MAX - 1);
	} else {
		do
			n = send(sup->sock, ex->msg.data, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)len) {
			supervisor_gone(sup);
			log_error("%s: the supervisor ended before starting it", spec->task_id);
		}
	}
	return n == (ssize_t)len ? 0 : -1;
}

static struct executor *
local_create(struct ev_loop *loop, const struct executor_host *host)
{
	struct executor *ex = xcalloc(1, sizeof(*ex));

	if (host != NULL)
		ex->host = *host;
	ex->loop = loop;
	ex->buf = xmalloc(sizeof(struct sup_msg) + OUTCOME_MAX + 1);
	if (supervisor_idle(ex) == NULL)
		log_warn("cannot start the local executor's supervisor: %s", strerror(errno));
	return ex;
}

static void
local_destroy(struct executor *ex)
{
	int running = 0;

	/* A supervisor sees its socket close: it finishes the tries it runs
	 * (a later executor adopts them) and exits; the first one once the
	 * others it forked have. */
	for (size_t i = 0; i < ex->n_sups; i++) {
		struct supv *sup = ex->sups[i];

		if (sup->sock >= 0) {
			ev_io_stop(ex->loop, &sup->io);
			close(sup->sock);
			running |= sup->tries > 0;
		}
	}
	/* with nothing running they exit at once; waiting counts their CPU
	 * as ours */
	for (size_t i = 0; i < ex->n_sups; i++)
		if (ex->sups[i]->sock >= 0 && ex->sups[i]->pid > 0)
			waitpid(ex->sups[i]->pid, NULL, running ? WNOHANG : 0);
	while (ex->tries != NULL) {
		struct ltry *t = ex->tries;

		ex->tries = t->next;
		ltry_free(t);
	}
	for (size_t i = 0; i < ex->n_sups; i++)
		free(ex->sups[i]);
	free(ex->sups);
	free(ex->buf);
	buf_free(&ex->msg);
	free(ex);
}

static int
local_start(struct executor *ex, const struct try_spec *spec, executor_done_fn done,
    void *arg, char **handle)
{
	char *dir = fs_dirname(spec->log_path);
	struct ltry *t, *holder = NULL;
	struct supv *sup;
	uint64_t id;

	(void)handle;           /* the pid comes with the supervisor's answer */

	if (fs_mkdir_p(dir) != 0) {
		log_error("%s: cannot create the log folder %s: %s", spec->task_id, dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	/* after a try one of our supervisors has, by that one; when it has
	 * ended: now, or never when it had to succeed (its end is not known
	 * here: dropped, from the loop, as a try with no status file) */
	if (spec->after != NULL && (holder = ltry_ours(ex, spec->after)) == NULL &&
	    spec->after_success) {
		ltry_later(ltry_new(ex, spec->log_path, done, arg));
		return 0;
	}
	if ((sup = holder != NULL ? holder->sup : supervisor_idle(ex)) == NULL) {
		log_error("%s: cannot start a supervisor of the local executor: %s", spec->task_id,
		    strerror(errno));
		return -1;
	}
	id = ++ex->next_id;
	if (supervisor_send(sup, spec, id, holder != NULL ? holder->id : 0) != 0)
		return -1;
	t = ltry_new(ex, spec->log_path, done, arg);
	t->id = id;
	t->sup = sup;
	sup->tries++;
	return 0;
}

static enum adopt_result
local_adopt(struct executor *ex, const struct try_spec *spec, executor_done_fn done,
    void *arg, char **handle)
{
	struct ltry *t = ltry_new(ex, spec->log_path, done, arg);
	enum adopt_result r = ltry_follow(t, handle);

	if (r == ADOPT_NOT_STARTED) {
		ltry_unlink(t);
		ltry_free(t);
	}
	return r;
}

/* Our try with log_path, or NULL. */
static struct ltry *
ltry_by_log(struct executor *ex, const char *log_path)
{
	struct ltry *t = ex->tries;

	while (t != NULL && strcmp(t->log_path, log_path) != 0)
		t = t->next;
	return t;
}

/* Sends "OP ID" about a try one of our supervisors has. */
static void
supervisor_tell(struct executor *ex, const char *op, const struct ltry *t)
{
	buf_reset(&ex->msg);
	msg_put(&ex->msg, op);
	msg_put_num(&ex->msg, (long long)t->id);
	send(t->sup->sock, ex->msg.data, ex->msg.len, MSG_NOSIGNAL);
}

/* Only a try one of our supervisors has (running, or handed ahead) can
 * have one handed ahead after it: not one followed by its file (adopted
 * after a restart, or run by a supervisor that is gone); and only while
 * that supervisor has fewer than SUP_TRIES and runs one slot.  One given
 * a second slot (a try handed ahead, started at once in a slot freed
 * elsewhere) takes no more until that try ends: its queues run dry, and
 * the tries of the slots it ran go to a supervisor each again. */
static int
local_can_follow(struct executor *ex, const void *arg)
{
	struct ltry *t = ltry_ours(ex, arg);

	return t != NULL && t->sup->tries < SUP_TRIES && t->sup->released == 0;
}

static void
local_release(struct executor *ex, const char *log_path)
{
	struct ltry *t = ltry_by_log(ex, log_path);

	if (t != NULL && t->sup != NULL && !t->released) {
		supervisor_tell(ex, "now", t);
		t->released = 1;
		t->sup->released++;
	}
}

static void
local_kill(struct executor *ex, const char *log_path)
{
	struct ltry *t = ltry_by_log(ex, log_path);
	char *status_path;
	struct claim c;

	if (t != NULL && t->sup != NULL) {
		supervisor_tell(ex, "kill", t);
		return;
	}
	/* Another supervisor runs it: its process group is signalled here. */
	status_path = executor_try_file(log_path, "status");
	if (claim_read(status_path, &c) == 0 && !c.has_outcome && proc_alive(c.task, c.task_start)) {
		kill(-c.task, SIGTERM);
		if (t != NULL) {
			ev_timer_set(&t->kill_timer, (double)kill_grace(), 0.);
			ev_timer_start(ex->loop, &t->kill_timer);
		}
	}
	free(status_path);
}

const struct executor_ops executor_local = {
	.name = "local",
	.create = local_create,
	.destroy = local_destroy,
	.start = local_start,
	.adopt = local_adopt,
	.kill = local_kill,
	.can_follow = local_can_follow,
	.release = local_release,
};
