/*
 * exec_local.c: the local executor.  Each try runs under a supervisor, a
 * process forked from the scheduler that detaches into its own session so
 * it outlives a killed scheduler.  The supervisor
 *   1. claims the try: links a file holding its pid and start time to
 *      attempt=N.pid beside the log (link(2) is atomic: of two supervisors
 *      for one try, exactly one wins and the other exits at once);
 *   2. runs the command (posix_spawnp, no shell) in a new process group,
 *      stdout and stderr appended to the log, the STA_* environment set;
 *   3. enforces the timeout: SIGTERM to the group, SIGKILL after a grace;
 *   4. writes the outcome to attempt=N.status (atomic rename) and exits.
 * The scheduler learns of the end from a pidfd and reads the status file.
 *
 * Supervisors are forked by a launcher: a small process forked once, when
 * the executor is created, before the scheduler's memory grows.  Forking a
 * large scheduler for every try made both processes copy pages on every
 * later write (copy-on-write faults and TLB flushes, most of a try's cost);
 * the launcher's memory stays small.  The scheduler sends it a try over a
 * socket; it forks the supervisor and sends back its pid and a pidfd (taken
 * before the launcher may reap it, so the pid cannot be reused under the
 * scheduler).  The launcher exits when the scheduler's end of the socket
 * closes; supervisors live on.  Without a launcher (it died), tries are
 * forked from the scheduler as before.
 */
#include "runner/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/util.h"

#define EXIT_CLAIM_LOST 3
#define DEFAULT_GRACE 5

extern char **environ;

struct ltry {
	struct executor *ex;
	char *log_path;
	pid_t pid;              /* the supervisor */
	int pidfd;
	ev_child child;
	ev_io io;
	ev_timer later;
	struct try_outcome pending;     /* for later: an outcome known already */
	executor_done_fn done;
	void *arg;
	struct ltry *next;
};

struct executor {
	struct ev_loop *loop;
	struct ltry *tries;
	int launcher;           /* socket to the launcher, -1 when none */
	pid_t launcher_pid;
};

/* Largest try message (argv, env and paths as JSON). */
#define LAUNCH_MAX (1 << 20)

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

/* Reads the claim file: returns 0 with pid and start time, -1 if absent. */
static int
read_claim(const char *pid_path, pid_t *pid, unsigned long long *start)
{
	char *text = NULL;
	long p;
	int rc = -1;

	if (fs_read_file(pid_path, &text, NULL) != 0)
		return -1;
	if (sscanf(text, "%ld %llu", &p, start) == 2 && p > 0) {
		*pid = (pid_t)p;
		rc = 0;
	}
	free(text);
	return rc;
}

/* ------------------------------------------------------------ supervisor */

static volatile sig_atomic_t sv_alarm, sv_term;

static void
sv_on_alarm(int sig)
{
	(void)sig;
	sv_alarm = 1;
}

static void
sv_on_term(int sig)
{
	(void)sig;
	sv_term = 1;
}

/* environ, then the STA_* variables and the task's env (later wins). */
static char **
task_environ(const struct try_spec *spec)
{
	struct strv env = {0};
	struct strv extra = {0};

	executor_task_env(spec, &extra);
	for (char **e = environ; *e != NULL; e++) {
		size_t klen = strcspn(*e, "=");
		int overridden = 0;

		for (size_t i = 0; i < extra.n; i++)
			if (strncmp(extra.v[i], *e, klen + 1) == 0)
				overridden = 1;
		if (!overridden)
			strv_push(&env, *e);
	}
	for (size_t i = 0; i < extra.n; i++)
		strv_push(&env, extra.v[i]);
	strv_free(&extra);
	return env.v;
}

static void
sv_write_status(const char *status_path, enum try_end end, int code, int sig,
    cJSON *result, const char *reason, sta_time started)
{
	struct try_outcome o = {
		.end = end, .exit_code = code, .signal = sig, .reason = (char *)reason,
		.started = started, .ended = time_now(),
	};

	executor_write_status(status_path, &o, result);
}

/* Runs in the forked supervisor; never returns. */
static void
supervise(const struct try_spec *spec, const char *pid_path, const char *status_path)
{
	struct sigaction sa = {0};
	sigset_t all;
	char *tmp, line[64], reason[512];
	const char *grace_env = getenv("STA_KILL_GRACE_SECONDS");
	int64_t grace = DEFAULT_GRACE;
	int logfd, status, err = 0, escalated = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sta_time started = time_now();
	pid_t task;

	setsid();
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	if (grace_env != NULL && parse_int64(grace_env, &grace) != 0)
		grace = DEFAULT_GRACE;

	/* Claim the try. */
	tmp = xasprintf("%s.%ld", pid_path, (long)getpid());
	snprintf(line, sizeof(line), "%ld %llu\n", (long)getpid(), proc_start_time(getpid()));
	if (fs_write_atomic(tmp, line, strlen(line), 0) != 0)
		_exit(1);
	if (link(tmp, pid_path) != 0) {
		unlink(tmp);
		_exit(errno == EEXIST ? EXIT_CLAIM_LOST : 1);
	}
	unlink(tmp);

	logfd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		snprintf(reason, sizeof(reason), "cannot open the log %s: %s", spec->log_path,
		    strerror(errno));
		sv_write_status(status_path, TRY_START_FAILED, -1, 0, NULL, reason, started);
		_exit(0);
	}
	/* The task in its own process group, stdin /dev/null, stdout and
	 * stderr to the log.  posix_spawn starts it without copying this
	 * process (vfork-like) and reports a failed exec as its result;
	 * environ is the task's, so PATH is looked up in it as execvp
	 * would. */
	environ = task_environ(spec);
	if ((err = posix_spawn_file_actions_init(&fa)) == 0 &&
	    (err = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) == 0 &&
	    (err = posix_spawn_file_actions_adddup2(&fa, logfd, STDOUT_FILENO)) == 0 &&
	    (err = posix_spawn_file_actions_adddup2(&fa, logfd, STDERR_FILENO)) == 0 &&
	    (err = posix_spawnattr_init(&attr)) == 0 &&
	    (err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP)) == 0 &&
	    (err = posix_spawnattr_setpgroup(&attr, 0)) == 0)
		err = posix_spawnp(&task, spec->argv[0], &fa, &attr, spec->argv, environ);
	if (err != 0) {
		dprintf(logfd, "sta: cannot run '%s': %s\n", spec->argv[0], strerror(err));
		snprintf(reason, sizeof(reason), "cannot run '%s': %s", spec->argv[0], strerror(err));
		sv_write_status(status_path, TRY_START_FAILED, -1, 0, NULL, reason, started);
		_exit(0);
	}

	sa.sa_handler = sv_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = sv_on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (spec->timeout > 0)
		alarm((unsigned)spec->timeout);
	int timed_out = 0;
	for (;;) {
		if (waitpid(task, &status, 0) == task)
			break;
		if (errno != EINTR)
			break;
		if (sv_alarm || sv_term) {
			timed_out |= sv_alarm && !sv_term && !escalated;
			kill(-task, escalated ? SIGKILL : SIGTERM);
			escalated = 1;
			sv_alarm = sv_term = 0;
			alarm((unsigned)(grace > 0 ? grace : 1));
		}
	}
	alarm(0);
	kill(-task, SIGKILL);       /* whatever the task left in its group */

	cJSON *result = executor_scan_result(spec->log_path);
	if (timed_out) {
		snprintf(reason, sizeof(reason), "execution_timeout (%llds) reached: "
		    "process group killed", (long long)spec->timeout);
		sv_write_status(status_path, TRY_TIMED_OUT, -1,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0, result, reason, started);
	} else {
		sv_write_status(status_path, TRY_EXITED,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0, result,
		    escalated ? "stopped on request" : NULL, started);
	}
	_exit(0);
}

/* ------------------------------------------------------ scheduler side */

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

static void
ltry_free(struct ltry *t)
{
	struct ev_loop *loop = t->ex->loop;

	ev_child_stop(loop, &t->child);
	ev_io_stop(loop, &t->io);
	ev_timer_stop(loop, &t->later);
	if (t->pidfd >= 0)
		close(t->pidfd);
	executor_outcome_free(&t->pending);
	free(t->log_path);
	free(t);
}

/* Reports the outcome found in the status file (or the loss) and frees t. */
static void
ltry_finish(struct ltry *t)
{
	struct try_outcome o;

	if (executor_read_status(t->log_path, &o) != 0) {
		o.end = TRY_LOST;
		o.exit_code = -1;
		o.reason = xstrdup("the supervisor ended without recording an outcome");
		o.ended = time_now();
	}
	ltry_unlink(t);
	t->done(t->arg, &o);
	executor_outcome_free(&o);
	ltry_free(t);
}

static int watch_pid(struct ltry *t, pid_t pid);

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct ltry *t = w->data;
	pid_t owner;
	unsigned long long st;

	(void)revents;
	ev_child_stop(loop, w);
	if (WIFEXITED(w->rstatus) && WEXITSTATUS(w->rstatus) == EXIT_CLAIM_LOST) {
		/* Another supervisor owns this try: wait for that one. */
		char *pid_path = executor_try_file(t->log_path, "pid");
		int ok = read_claim(pid_path, &owner, &st) == 0 && proc_start_time(owner) == st &&
		    watch_pid(t, owner) == 0;

		free(pid_path);
		if (ok)
			return;
	}
	ltry_finish(t);
}

static void
pidfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ltry *t = w->data;
	char *pid_path, *status_path;
	unsigned long long st;
	pid_t owner;
	int moved = 0;

	(void)revents;
	ev_io_stop(loop, w);
	status_path = executor_try_file(t->log_path, "status");
	pid_path = executor_try_file(t->log_path, "pid");
	/* No outcome, and the claim is another live supervisor's: ours lost
	 * the claim (a pidfd gives no exit status); wait for that one. */
	if (!fs_exists(status_path) && read_claim(pid_path, &owner, &st) == 0 && owner != t->pid &&
	    proc_start_time(owner) == st) {
		close(t->pidfd);
		t->pidfd = -1;
		moved = watch_pid(t, owner) == 0;
	}
	free(status_path);
	free(pid_path);
	if (!moved)
		ltry_finish(t);
}

static void
later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ltry *t = w->data;

	(void)loop;
	(void)revents;
	if (t->pending.end == TRY_LOST) {
		ltry_unlink(t);
		t->done(t->arg, &t->pending);
		ltry_free(t);
	} else {
		ltry_finish(t);
	}
}

static int
watch_pid(struct ltry *t, pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return -1;
	t->pid = pid;
	t->pidfd = fd;
	ev_io_init(&t->io, pidfd_cb, fd, EV_READ);
	t->io.data = t;
	ev_io_start(t->ex->loop, &t->io);
	return 0;
}

static struct ltry *
ltry_new(struct executor *ex, const struct try_spec *spec, executor_done_fn done, void *arg)
{
	struct ltry *t = xcalloc(1, sizeof(*t));

	t->ex = ex;
	t->log_path = xstrdup(spec->log_path);
	t->pidfd = -1;
	t->done = done;
	t->arg = arg;
	ev_init(&t->child, child_cb);
	ev_init(&t->io, pidfd_cb);
	ev_timer_init(&t->later, later_cb, 0, 0);
	t->child.data = t->io.data = t->later.data = t;
	t->next = ex->tries;
	ex->tries = t;
	return t;
}

static void
ltry_later(struct ltry *t)
{
	ev_timer_start(t->ex->loop, &t->later);
}


/* ------------------------------------------------------------- launcher */

static cJSON *
strv_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	for (; v != NULL && *v != NULL; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

/* A try as the launcher receives it (caller frees). */
static char *
spec_message(const struct try_spec *spec)
{
	cJSON *m = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(m, "dag_id", spec->dag_id);
	cJSON_AddStringToObject(m, "run_id", spec->run_id);
	cJSON_AddStringToObject(m, "task_id", spec->task_id);
	cJSON_AddNumberToObject(m, "try_number", spec->try_number);
	cJSON_AddNumberToObject(m, "logical_date", (double)spec->logical_date);
	cJSON_AddNumberToObject(m, "start", (double)spec->data_interval_start);
	cJSON_AddNumberToObject(m, "end", (double)spec->data_interval_end);
	cJSON_AddItemToObject(m, "argv", strv_json(spec->argv));
	cJSON_AddItemToObject(m, "env", strv_json(spec->env));
	cJSON_AddNumberToObject(m, "timeout", (double)spec->timeout);
	cJSON_AddStringToObject(m, "log_path", spec->log_path);
	text = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	return text;
}

static char **
json_strv(const cJSON *a)
{
	struct strv v = {0};
	const cJSON *e;

	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e))
			strv_push(&v, e->valuestring);
	strv_push_take(&v, NULL);
	v.n--;
	return v.v;
}

/* Turns a message back into a spec whose strings point into m.  argv and
 * env are allocated; the launcher's child never frees them (it execs or
 * exits). */
static int
spec_parse(const cJSON *m, struct try_spec *spec)
{
	const char *lp = cJSON_GetStringValue(cJSON_GetObjectItem(m, "log_path"));

	if (lp == NULL)
		return -1;
	memset(spec, 0, sizeof(*spec));
	spec->dag_id = cJSON_GetStringValue(cJSON_GetObjectItem(m, "dag_id"));
	spec->run_id = cJSON_GetStringValue(cJSON_GetObjectItem(m, "run_id"));
	spec->task_id = cJSON_GetStringValue(cJSON_GetObjectItem(m, "task_id"));
	spec->try_number = cJSON_GetObjectItem(m, "try_number")->valueint;
	spec->logical_date = (sta_time)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "logical_date"));
	spec->data_interval_start = (sta_time)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "start"));
	spec->data_interval_end = (sta_time)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "end"));
	spec->argv = json_strv(cJSON_GetObjectItem(m, "argv"));
	spec->env = json_strv(cJSON_GetObjectItem(m, "env"));
	spec->timeout = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(m, "timeout"));
	spec->log_path = lp;
	return spec->argv[0] ? 0 : -1;
}

static void
launcher_reap(int sig)
{
	int e = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = e;
}

/* Sends the reply to one try: the supervisor's pid (or -errno) and its
 * pidfd. */
static void
launcher_reply(int sock, pid_t pid, int pidfd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&pid, sizeof(pid)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (pidfd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
	}
	sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static void
launcher_main(int sock)
{
	struct sigaction sa = {0};
	sigset_t chld;
	char *buf = xmalloc(LAUNCH_MAX);

	prctl(PR_SET_NAME, "sta-launcher");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	sa.sa_handler = launcher_reap;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		ssize_t n = recv(sock, buf, LAUNCH_MAX - 1, 0);
		struct try_spec spec;
		char *pid_path, *status_path;
		cJSON *m;
		pid_t pid;
		int pidfd = -1;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);	/* the scheduler is gone */
		buf[n] = '\0';
		m = cJSON_Parse(buf);
		if (m == NULL || spec_parse(m, &spec) != 0) {
			launcher_reply(sock, -EINVAL, -1);
			cJSON_Delete(m);
			continue;
		}
		pid_path = executor_try_file(spec.log_path, "pid");
		status_path = executor_try_file(spec.log_path, "status");
		/* No reaping between the fork and the pidfd. */
		sigprocmask(SIG_BLOCK, &chld, NULL);
		pid = fork();
		if (pid == 0) {
			close(sock);
			supervise(&spec, pid_path, status_path);
		}
		if (pid > 0)
			pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		launcher_reply(sock, pid > 0 ? pid : -errno, pidfd);
		if (pidfd >= 0)
			close(pidfd);
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		free(pid_path);
		free(status_path);
		for (char *const *v = spec.argv; *v; v++)
			free(*v);
		for (char *const *v = spec.env; *v; v++)
			free(*v);
		free((void *)spec.argv);
		free((void *)spec.env);
		cJSON_Delete(m);
	}
}

/* Forks the launcher; -1 (and tries forked from the scheduler) if not. */
static int
launcher_start(pid_t *launcher_pid)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* Keep only the socket (and stdio): not the store or the lock. */
		if (sv[1] > 3)
			close_range(3, (unsigned)sv[1] - 1, 0);
		close_range((unsigned)sv[1] + 1, ~0U, 0);
		launcher_main(sv[1]);
	}
	close(sv[1]);
	*launcher_pid = pid;
	return sv[0];
}

/* Has the launcher fork a supervisor: its pid and pidfd, or -1. */
static int
launcher_launch(struct executor *ex, const struct try_spec *spec, pid_t *pid, int *pidfd)
{
	char *msg = spec_message(spec), cbuf[CMSG_SPACE(sizeof(int))];
	size_t len = strlen(msg);
	struct iovec iov = {pid, sizeof(*pid)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n;

	*pidfd = -1;
	if (len >= LAUNCH_MAX || send(ex->launcher, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		free(msg);
		goto broken;
	}
	free(msg);
	do
		n = recvmsg(ex->launcher, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*pid))
		goto broken;
	c = CMSG_FIRSTHDR(&mh);
	if (c != NULL && c->cmsg_type == SCM_RIGHTS)
		memcpy(pidfd, CMSG_DATA(c), sizeof(int));
	if (*pid <= 0 || *pidfd < 0) {
		if (*pidfd >= 0)
			close(*pidfd);
		log_error("%s: the launcher could not start it: %s", spec->task_id,
		    strerror(*pid < 0 ? (int)-*pid : ESRCH));
		return -1;
	}
	return 0;
broken:
	log_warn("the launcher is gone; tries are forked from the scheduler from now on");
	close(ex->launcher);
	ex->launcher = -1;
	return -1;
}

static struct executor *
local_create(struct ev_loop *loop, const struct executor_host *host)
{
	struct executor *ex = xcalloc(1, sizeof(*ex));

	(void)host;		/* a try's processes are this machine's alone */
	ex->loop = loop;
	ex->launcher = launcher_start(&ex->launcher_pid);
	return ex;
}

static void
local_destroy(struct executor *ex)
{
	/* Supervisors keep running: a later executor adopts them.  The
	 * launcher sees its socket close and exits. */
	if (ex->launcher >= 0) {
		close(ex->launcher);
		/* it exits at once; waiting also counts its CPU as ours */
		waitpid(ex->launcher_pid, NULL, 0);
	}
	while (ex->tries != NULL) {
		struct ltry *t = ex->tries;

		ex->tries = t->next;
		ltry_free(t);
	}
	free(ex);
}

static int
local_start(struct executor *ex, const struct try_spec *spec, executor_done_fn done,
    void *arg, char **handle)
{
	char *dir = fs_dirname(spec->log_path);
	char *pid_path = executor_try_file(spec->log_path, "pid");
	char *status_path = executor_try_file(spec->log_path, "status");
	struct ltry *t;
	pid_t pid;
	int rc = -1;

	if (fs_mkdir_p(dir) != 0) {
		log_error("%s: cannot create the log folder %s: %s", spec->task_id, dir,
		    strerror(errno));
		goto out;
	}
	if (ex->launcher >= 0) {
		int pidfd;

		if (launcher_launch(ex, spec, &pid, &pidfd) == 0) {
			t = ltry_new(ex, spec, done, arg);
			t->pid = pid;
			t->pidfd = pidfd;
			ev_io_set(&t->io, pidfd, EV_READ);
			ev_io_start(ex->loop, &t->io);
			*handle = xasprintf("%ld", (long)pid);
			rc = 0;
			goto out;
		}
		if (ex->launcher >= 0)
			goto out;	/* it answered: the try could not start */
	}
	pid = fork();
	if (pid < 0) {
		log_error("%s: fork: %s", spec->task_id, strerror(errno));
		goto out;
	}
	if (pid == 0)
		supervise(spec, pid_path, status_path);
	t = ltry_new(ex, spec, done, arg);
	t->pid = pid;
	ev_child_set(&t->child, pid, 0);
	ev_child_start(ex->loop, &t->child);
	*handle = xasprintf("%ld", (long)pid);
	rc = 0;
out:
	free(dir);
	free(pid_path);
	free(status_path);
	return rc;
}

static enum adopt_result
local_adopt(struct executor *ex, const struct try_spec *spec, executor_done_fn done,
    void *arg, char **handle)
{
	char *pid_path = executor_try_file(spec->log_path, "pid");
	char *status_path = executor_try_file(spec->log_path, "status");
	enum adopt_result r;
	unsigned long long st;
	struct ltry *t;
	pid_t pid;

	if (fs_exists(status_path)) {
		t = ltry_new(ex, spec, done, arg);
		ltry_later(t);
		r = ADOPT_FINISHED;
	} else if (read_claim(pid_path, &pid, &st) != 0) {
		r = ADOPT_NOT_STARTED;
	} else {
		t = ltry_new(ex, spec, done, arg);
		*handle = xasprintf("%ld", (long)pid);
		if (proc_start_time(pid) == st && watch_pid(t, pid) == 0) {
			r = ADOPT_RUNNING;
		} else {
			/* Gone: finished just now (status written) or lost. */
			if (!fs_exists(status_path)) {
				t->pending.end = TRY_LOST;
				t->pending.exit_code = -1;
				t->pending.reason = xstrdup("its supervisor is gone and left no outcome");
				t->pending.ended = time_now();
			}
			ltry_later(t);
			r = ADOPT_FINISHED;
		}
	}
	free(pid_path);
	free(status_path);
	return r;
}

static void
local_kill(struct executor *ex, const char *log_path)
{
	char *pid_path = executor_try_file(log_path, "pid");
	unsigned long long st;
	pid_t pid = 0;

	for (struct ltry *t = ex->tries; t != NULL; t = t->next)
		if (strcmp(t->log_path, log_path) == 0)
			pid = t->pid;
	if (pid == 0 && read_claim(pid_path, &pid, &st) == 0 && proc_start_time(pid) != st)
		pid = 0;
	if (pid > 0)
		kill(pid, SIGTERM);
	free(pid_path);
}

const struct executor_ops executor_local = {
	.name = "local",
	.create = local_create,
	.destroy = local_destroy,
	.start = local_start,
	.adopt = local_adopt,
	.kill = local_kill,
};
