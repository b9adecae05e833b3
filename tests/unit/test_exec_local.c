/*
 * test_exec_local.c: the local executor with real processes on a real
 * libev loop: outcomes and STA_RESULT (the log read backwards in chunks
 * of every size), exec failures, adoption of finished,
 * unknown, running and lost tries, outcome times (to the millisecond;
 * seconds in older status files), tries handed ahead of a running one
 * (started at its end, or dropped when stopped first), the claim that lets a try run once even
 * when it is started twice, a supervisor that outlives its executor, stops
 * of own and adopted tries (2,000 at once), a killed supervisor, and a
 * supervisor per slot.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fsutil.h"
#include "lib/util.h"
#include "runner/executor.h"
#include "tests/unit/unit.h"

static char dir[256];

struct got {
	int calls;
	struct try_outcome out;
	char *result;
	char *reason;
	char *handle;           /* from the host's started(), or the outcome */
	int handle_first;       /* started() came before done */
};

static void
done(void *arg, const struct try_outcome *o)
{
	struct got *g = arg;

	g->calls++;
	if (o->handle != NULL) {
		free(g->handle);
		g->handle = xstrdup(o->handle);
	}
	g->out = *o;
	g->result = o->result_json ? xstrdup(o->result_json) : NULL;
	g->reason = o->reason ? xstrdup(o->reason) : NULL;
	g->out.result_json = g->out.reason = g->out.handle = NULL;
}

static void
started(void *arg, const char *handle)
{
	struct got *g = arg;

	free(g->handle);
	g->handle = xstrdup(handle);
	g->handle_first = g->calls == 0;
}

static const struct executor_host host = { .started = started };

static void
got_free(struct got *g)
{
	free(g->result);
	free(g->reason);
	free(g->handle);
}

/* Runs the loop until every g has been called (10 s at most). */
static void
wait_for(struct ev_loop *loop, struct got *g, int n)
{
	for (int i = 0; i < 1000; i++) {
		int all = 1;

		for (int k = 0; k < n; k++)
			all &= g[k].calls > 0;
		if (all)
			return;
		ev_run(loop, EVRUN_NOWAIT);
		usleep(10000);
	}
	fail_msg("no outcome within 10 s");
}

static struct try_spec
spec_for(const char *name, char *const *argv)
{
	static char path[512];
	struct try_spec s = {
		.dag_id = "d", .run_id = "r", .task_id = name, .try_number = 1,
		.argv = argv, .log_path = path,
	};

	snprintf(path, sizeof(path), "%s/%s/attempt=1.log", dir, name);
	return s;
}

/* Starts try name (argv; g its arg) after the try started with after
 * (NULL: at once), with if_ok only on that one's success. */
static void
start_try(struct executor *ex, const char *name, char **argv, struct got *g,
    struct got *after, int if_ok)
{
	struct try_spec spec = spec_for(name, argv);
	char *handle = NULL;

	spec.after = after;
	spec.after_success = if_ok;
	assert_int_equal(executor_local.start(ex, &spec, done, g, &handle), 0);
	free(handle);
}

/* A line of the try's status file ("supervisor PID START" or "task PID
 * START"): the pid, or 0, and the start time into *start (may be NULL). */
static long
status_line(const char *name, const char *what, unsigned long long *start)
{
	char *path = xasprintf("%s/%s/attempt=1.status", dir, name), *text = NULL, *p;
	unsigned long long st = 0;
	long pid = 0;

	if (fs_read_file(path, &text, NULL) == 0 && (p = strstr(text, what)) != NULL)
		sscanf(p + strlen(what), "%ld %llu", &pid, &st);
	free(text);
	free(path);
	if (start != NULL)
		*start = st;
	return pid;
}

static long
status_pid(const char *name, const char *what)
{
	return status_line(name, what, NULL);
}

/* The start time a status line gives its process, and the one /proc
 * gives (the 20th field after the command's closing parenthesis). */
static void
start_times(const char *name, const char *what, unsigned long long *recorded,
    unsigned long long *actual)
{
	long pid = status_line(name, what, recorded);
	char *path = xasprintf("/proc/%ld/stat", pid), *text = NULL, *p;

	*actual = 0;
	if (fs_read_file(path, &text, NULL) == 0 && (p = strrchr(text, ')')) != NULL)
		sscanf(p + 1, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
		    " %*s %*s %llu", actual);
	free(text);
	free(path);
}

static int
setup(void **state)
{
	(void)state;
	return tmpdir_make(dir, sizeof(dir), "exec");
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

static void
test_outcome_and_result(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host);
	char *argv[] = { "sh", "-c", "echo 'STA_RESULT {\"rows\": 1}'; echo 'STA_RESULT bad';"
	    " echo 'STA_RESULT {\"rows\": 2}'; exit 3", NULL };
	struct try_spec spec = spec_for("result", argv);
	struct got g = {0};
	char *handle = NULL;

	(void)state;
	assert_int_equal(executor_local.start(ex, &spec, done, &g, &handle), 0);
	assert_null(handle);        /* not waited for: the pid comes with started() */
	wait_for(loop, &g, 1);
	/* a short try: its pid comes with its end, not before */
	assert_non_null(g.handle);
	assert_false(g.handle_first);
	assert_true(atol(g.handle) > 1);
	assert_int_equal(g.out.end, TRY_EXITED);
	assert_int_equal(g.out.exit_code, 3);
	assert_string_equal(g.result, "{\"rows\":2}");      /* the last valid one */
	/* adopting it again finds it finished, with the same outcome */
	struct got g2 = {0};
	free(handle);
	handle = NULL;
	assert_int_equal(executor_local.adopt(ex, &spec, done, &g2, &handle), ADOPT_FINISHED);
	wait_for(loop, &g2, 1);
	assert_int_equal(g2.out.exit_code, 3);
	free(handle);
	got_free(&g);
	got_free(&g2);
	/* a result too large to come with the report comes from the file */
	char *big[] = { "sh", "-c",
	    "printf 'STA_RESULT {\"x\": \"%s\"}\\n' \"$(head -c 70000 /dev/zero | tr '\\0' a)\"", NULL };
	struct try_spec bspec = spec_for("big_result", big);
	struct got gb = {0};
	char *bh = NULL;
	assert_int_equal(executor_local.start(ex, &bspec, done, &gb, &bh), 0);
	wait_for(loop, &gb, 1);
	assert_int_equal(gb.out.end, TRY_EXITED);
	assert_non_null(gb.result);
	assert_int_equal(strlen(gb.result), strlen("{\"x\":\"\"}") + 70000);
	got_free(&gb);
	executor_local.destroy(ex);
}

static void
test_start_failure_and_unknown(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, NULL);
	char *argv[] = { "/nonexistent/program", NULL };
	struct try_spec spec = spec_for("missing", argv);
	struct got g = {0};
	char *handle = NULL;

	(void)state;
	assert_int_equal(executor_local.start(ex, &spec, done, &g, &handle), 0);
	wait_for(loop, &g, 1);
	assert_int_equal(g.out.end, TRY_START_FAILED);
	assert_non_null(strstr(g.reason, "cannot run '/nonexistent/program'"));
	free(handle);
	handle = NULL;
	spec = spec_for("never", argv);
	assert_int_equal(executor_local.adopt(ex, &spec, done, &g, &handle), ADOPT_NOT_STARTED);
	got_free(&g);
	/* a command too large to send is refused, and the supervisor stays */
	char *big = xmalloc(2 << 20), *huge[] = { "echo", big, NULL }, *ok[] = { "true", NULL };
	struct got g2 = {0};
	memset(big, 'x', (2 << 20) - 1);
	big[(2 << 20) - 1] = '\0';
	spec = spec_for("huge", huge);
	assert_int_equal(executor_local.start(ex, &spec, done, &g2, &handle), -1);
	spec = spec_for("after_huge", ok);
	assert_int_equal(executor_local.start(ex, &spec, done, &g2, &handle), 0);
	wait_for(loop, &g2, 1);
	assert_int_equal(g2.out.end, TRY_EXITED);
	assert_int_equal(g2.out.exit_code, 0);
	assert_int_equal(status_pid("after_huge", "supervisor "), status_pid("missing", "supervisor "));
	free(big);
	got_free(&g2);
	executor_local.destroy(ex);
}

static void
test_lost_supervisor(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, NULL);
	char *argv[] = { "true", NULL };
	struct try_spec spec = spec_for("lost", argv);
	char *pid_path = xasprintf("%s/lost/attempt=1.status", dir), *lost_dir = xasprintf("%s/lost", dir);
	struct got g = {0};
	char *handle = NULL;

	(void)state;
	/* a claim by a process that no longer exists, and no outcome */
	fs_mkdir_p(lost_dir);
	assert_int_equal(fs_write_atomic(pid_path, "supervisor 999999 12345\n", 24, 0), 0);
	assert_int_equal(executor_local.adopt(ex, &spec, done, &g, &handle), ADOPT_FINISHED);
	wait_for(loop, &g, 1);
	assert_int_equal(g.out.end, TRY_LOST);
	free(handle);
	free(pid_path);
	free(lost_dir);
	got_free(&g);
	executor_local.destroy(ex);
}

static void
test_outcome_times(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, NULL);
	char *argv[] = { "true", NULL };
	struct try_spec spec = spec_for("old_status", argv);
	char *path = xasprintf("%s/old_status/attempt=1.status", dir);
	char *sub = xasprintf("%s/old_status", dir);
	const char *text = "supervisor 999999 12345\ntask 999998 12346\n"
	    "{\"end\":\"exited\",\"exit_code\":0,\"signal\":0,"
	    "\"started\":1700000000,\"ended\":1700000005}\n";
	struct got g = {0}, g2 = {0};
	char *handle = NULL;
	int64_t before = time_now_ms();

	(void)state;
	/* a status file from before times were kept in milliseconds */
	fs_mkdir_p(sub);
	assert_int_equal(fs_write_atomic(path, text, strlen(text), 0), 0);
	assert_int_equal(executor_local.adopt(ex, &spec, done, &g, &handle), ADOPT_FINISHED);
	wait_for(loop, &g, 1);
	assert_int_equal(g.out.started_ms, 1700000000000LL);
	assert_int_equal(g.out.ended_ms, 1700000005000LL);
	free(handle);
	handle = NULL;
	/* a try run now: its times to the millisecond, in order */
	spec = spec_for("times_now", argv);
	assert_int_equal(executor_local.start(ex, &spec, done, &g2, &handle), 0);
	wait_for(loop, &g2, 1);
	assert_true(g2.out.started_ms >= before);
	assert_true(g2.out.ended_ms >= g2.out.started_ms);
	assert_true(g2.out.ended_ms <= time_now_ms());
	free(path);
	free(sub);
	got_free(&g);
	got_free(&g2);
	executor_local.destroy(ex);
}

static void
test_adopt_after_restart_and_claim(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host);
	char *marks = xasprintf("%s/marks", dir);
	char *cmd = xasprintf("echo once >> '%s'; sleep 1", marks);
	char *argv[] = { "sh", "-c", cmd, NULL };
	struct try_spec spec = spec_for("claimed", argv);
	struct got g[2] = {{0}}, a = {0};
	char *h1 = NULL, *h2 = NULL, *h3 = NULL, *text = NULL;

	(void)state;
	/* two supervisors for one try: exactly one runs it, both report */
	assert_int_equal(executor_local.start(ex, &spec, done, &g[0], &h1), 0);
	assert_int_equal(executor_local.start(ex, &spec, done, &g[1], &h2), 0);
	/* a scheduler restart: a new executor adopts the running try */
	usleep(300000);
	struct executor *ex2 = executor_local.create(loop, NULL);
	assert_int_equal(executor_local.adopt(ex2, &spec, done, &a, &h3), ADOPT_RUNNING);
	assert_false(executor_local.can_follow(ex2, &a));      /* followed by its file */
	wait_for(loop, g, 2);
	wait_for(loop, &a, 1);
	assert_int_equal(g[0].out.end, TRY_EXITED);
	assert_int_equal(g[1].out.end, TRY_EXITED);
	assert_int_equal(a.out.end, TRY_EXITED);
	assert_int_equal(a.out.exit_code, 0);
	/* the start that lost the claim follows the winner's task */
	assert_non_null(g[0].handle);
	assert_non_null(g[1].handle);
	assert_string_equal(g[0].handle, g[1].handle);
	assert_int_equal(fs_read_file(marks, &text, NULL), 0);
	assert_string_equal(text, "once\n");
	free(text);
	free(h1);
	free(h2);
	free(h3);
	free(cmd);
	free(marks);
	got_free(&g[0]);
	got_free(&g[1]);
	got_free(&a);
	executor_local.destroy(ex2);
	executor_local.destroy(ex);
}

/* Waits until the try's status file names its task (10 s at most). */
static long
wait_task(const char *name)
{
	long pid = 0;

	for (int i = 0; i < 1000 && (pid = status_pid(name, "task ")) == 0; i++)
		usleep(10000);
	if (pid == 0)
		fail_msg("%s: no task within 10 s", name);
	return pid;
}

static void
test_outlives_its_scheduler(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host), *ex2;
	char *argv[] = { "sh", "-c", "sleep 0.5; echo 'STA_RESULT {\"late\": true}'; exit 4", NULL };
	struct try_spec spec = spec_for("outlive", argv);
	struct got g = {0};
	char *h1 = NULL, *h2 = NULL;
	long task;

	(void)state;
	/* the scheduler's executor goes while the try runs (as in kill -9):
	 * its supervisor finishes the try and records the outcome, which the
	 * next executor reports */
	assert_int_equal(executor_local.start(ex, &spec, done, &g, &h1), 0);
	task = wait_task("outlive");
	executor_local.destroy(ex);
	ex2 = executor_local.create(loop, NULL);
	assert_int_equal(executor_local.adopt(ex2, &spec, done, &g, &h2), ADOPT_RUNNING);
	assert_int_equal(atol(h2), task);   /* the task's pid */
	wait_for(loop, &g, 1);
	assert_int_equal(g.out.end, TRY_EXITED);
	assert_int_equal(g.out.exit_code, 4);
	assert_string_equal(g.result, "{\"late\":true}");
	free(h1);
	free(h2);
	got_free(&g);
	executor_local.destroy(ex2);
}

static void
test_kill_own_and_adopted(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host), *ex2;
	char *argv[] = { "sleep", "30", NULL };
	char *stubborn[] = { "sh", "-c", "trap '' TERM; sleep 30", NULL };
	struct try_spec own = spec_for("kill_own", argv);
	struct got g[3] = {{0}};
	char *h[3] = {NULL, NULL, NULL};

	(void)state;
	setenv("STA_KILL_GRACE_SECONDS", "1", 1);
	/* a try of this executor's supervisor: stopped through it */
	assert_int_equal(executor_local.start(ex, &own, done, &g[0], &h[0]), 0);
	/* a try that runs a while has its pid reported before its end */
	for (int i = 0; i < 500 && g[0].handle == NULL; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(10000);
	}
	assert_non_null(g[0].handle);
	assert_int_equal(g[0].calls, 0);
	assert_int_equal(atol(g[0].handle), status_pid("kill_own", "task "));
	executor_local.kill(ex, own.log_path);
	wait_for(loop, &g[0], 1);
	assert_int_equal(g[0].out.end, TRY_EXITED);
	assert_int_equal(g[0].out.signal, SIGTERM);
	assert_string_equal(g[0].reason, "stopped on request");
	/* tries of an earlier executor's supervisor: their groups are
	 * signalled by the adopting executor, SIGKILL after the grace */
	struct try_spec adopted = spec_for("kill_adopted", argv);
	assert_int_equal(executor_local.start(ex, &adopted, done, &g[1], &h[1]), 0);
	struct try_spec stub = spec_for("kill_stubborn", stubborn);
	assert_int_equal(executor_local.start(ex, &stub, done, &g[2], &h[2]), 0);
	usleep(200000);     /* the trap is set */
	executor_local.destroy(ex);
	ex2 = executor_local.create(loop, NULL);
	free(h[1]);
	free(h[2]);
	h[1] = h[2] = NULL;
	adopted = spec_for("kill_adopted", argv);
	assert_int_equal(executor_local.adopt(ex2, &adopted, done, &g[1], &h[1]), ADOPT_RUNNING);
	executor_local.kill(ex2, adopted.log_path);
	stub = spec_for("kill_stubborn", stubborn);
	assert_int_equal(executor_local.adopt(ex2, &stub, done, &g[2], &h[2]), ADOPT_RUNNING);
	executor_local.kill(ex2, stub.log_path);
	wait_for(loop, &g[1], 2);
	assert_int_equal(g[1].out.end, TRY_EXITED);
	assert_int_equal(g[1].out.signal, SIGTERM);
	assert_int_equal(g[2].out.end, TRY_EXITED);
	assert_int_equal(g[2].out.signal, SIGKILL);
	unsetenv("STA_KILL_GRACE_SECONDS");
	for (int i = 0; i < 3; i++) {
		free(h[i]);
		got_free(&g[i]);
	}
	executor_local.destroy(ex2);
}

static void
test_supervisor_killed(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host);
	char *argv[] = { "sleep", "30", NULL }, *quick[] = { "true", NULL };
	struct try_spec spec = spec_for("sup_killed", argv);
	struct got g = {0}, g2 = {0}, gq = {0};
	char *h = NULL, *h2 = NULL;
	long sup, task;

	(void)state;
	/* the supervisor dies with a try running: the try is lost (its
	 * outcome cannot be known), one handed ahead behind it, never
	 * claimed, did not start; the next try gets a new supervisor */
	assert_int_equal(executor_local.start(ex, &spec, done, &g, &h), 0);
	start_try(ex, "sup_killed_queued", quick, &gq, &g, 0);
	task = wait_task("sup_killed");
	sup = status_pid("sup_killed", "supervisor ");
	assert_true(sup > 0);
	/* the status file's start times are the processes' own (they tell
	 * a live task or supervisor from a later process with its pid) */
	unsigned long long rec, act;
	start_times("sup_killed", "task ", &rec, &act);
	assert_true(act > 0);
	assert_int_equal(rec, act);
	start_times("sup_killed", "supervisor ", &rec, &act);
	assert_true(act > 0);
	assert_int_equal(rec, act);
	assert_int_equal(kill((pid_t)sup, SIGKILL), 0);
	wait_for(loop, &g, 1);
	wait_for(loop, &gq, 1);
	assert_int_equal(g.out.end, TRY_LOST);
	assert_int_equal(gq.out.end, TRY_DROPPED);
	assert_string_equal(gq.reason, "its supervisor ended before starting it");
	kill((pid_t)-task, SIGKILL);
	spec = spec_for("after_sup_killed", quick);
	assert_int_equal(executor_local.start(ex, &spec, done, &g2, &h2), 0);
	wait_for(loop, &g2, 1);
	assert_int_equal(g2.out.end, TRY_EXITED);
	assert_int_equal(g2.out.exit_code, 0);
	assert_true(status_pid("after_sup_killed", "supervisor ") != sup);
	free(h);
	free(h2);
	got_free(&g);
	got_free(&g2);
	got_free(&gq);
	executor_local.destroy(ex);
}

/* The parent of process pid (from /proc), or 0. */
static long
parent_of(long pid)
{
	char *path = xasprintf("/proc/%ld/stat", pid), *text = NULL, *p;
	long ppid = 0;

	if (fs_read_file(path, &text, NULL) == 0 && (p = strrchr(text, ')')) != NULL)
		sscanf(p + 1, " %*s %ld", &ppid);
	free(text);
	free(path);
	return ppid;
}

/* A supervisor per slot: tries started at once while another runs go to
 * a supervisor each, a try handed ahead to its holder's; a supervisor
 * takes 1 + EXECUTOR_HAND_AHEAD at most (one running, the rest behind
 * it); once tries end, the next one goes to a supervisor already there,
 * no new one.  The first supervisor forks the others; killed, it takes
 * only its own tries, and the scheduler forks the next one. */
static void
test_supervisor_per_slot(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host);
	char *slow[] = { "sleep", "0.3", NULL }, *quick[] = { "true", NULL };
	char *mid[] = { "sleep", "1", NULL };
	/* C is the first of the chain behind A, D its last */
	enum { A, B, C, D = C + EXECUTOR_HAND_AHEAD - 1, E, F, G, H, I, NG };
	char names[NG][16];
	struct got g[NG] = {{0}};
	long sup_a, sup_b, task_f;

	(void)state;
	for (int i = 0; i < NG; i++)
		snprintf(names[i], sizeof(names[i]), "slot_%d", i);
	start_try(ex, names[A], slow, &g[A], NULL, 0);
	start_try(ex, names[B], slow, &g[B], NULL, 0);
	for (int i = C; i <= D; i++) {
		struct got *ahead = i == C ? &g[A] : &g[i - 1];

		assert_true(executor_local.can_follow(ex, ahead));
		start_try(ex, names[i], quick, &g[i], ahead, 0);
	}
	assert_false(executor_local.can_follow(ex, &g[D]));     /* A's is full */
	assert_true(executor_local.can_follow(ex, &g[B]));
	wait_for(loop, g, D + 1);
	for (int i = A; i <= D; i++)
		assert_int_equal(g[i].out.exit_code, 0);
	sup_a = status_pid(names[A], "supervisor ");
	sup_b = status_pid(names[B], "supervisor ");
	assert_true(sup_a > 0 && sup_b > 0);
	assert_true(sup_a != sup_b);
	for (int i = C; i <= D; i++)
		assert_int_equal(status_pid(names[i], "supervisor "), sup_a);
	assert_true(g[D].out.started_ms >= g[D - 1].out.ended_ms - 1);
	/* the second was forked by the first, not by the scheduler */
	assert_int_equal(parent_of(sup_b), sup_a);
	start_try(ex, names[E], quick, &g[E], NULL, 0);
	wait_for(loop, &g[E], 1);
	assert_int_equal(g[E].out.exit_code, 0);
	assert_true(status_pid(names[E], "supervisor ") == sup_a ||
	    status_pid(names[E], "supervisor ") == sup_b);
	/* the first one killed: the try it runs is lost, the other's try
	 * ends as it would, and a new supervisor is forked by the scheduler */
	start_try(ex, names[F], mid, &g[F], NULL, 0);
	start_try(ex, names[G], mid, &g[G], NULL, 0);
	task_f = wait_task(names[F]);
	wait_task(names[G]);
	assert_int_equal(status_pid(names[F], "supervisor "), sup_a);
	assert_int_equal(kill((pid_t)sup_a, SIGKILL), 0);
	wait_for(loop, &g[F], 2);
	assert_int_equal(g[F].out.end, TRY_LOST);
	kill((pid_t)-task_f, SIGKILL);
	assert_int_equal(g[G].out.end, TRY_EXITED);
	assert_int_equal(g[G].out.exit_code, 0);
	start_try(ex, names[H], slow, &g[H], NULL, 0);
	start_try(ex, names[I], quick, &g[I], NULL, 0);
	wait_for(loop, &g[H], 2);
	assert_int_equal(g[H].out.exit_code, 0);
	assert_int_equal(g[I].out.exit_code, 0);
	assert_int_equal(status_pid(names[H], "supervisor "), sup_b);   /* idle: taken */
	assert_int_equal(parent_of(status_pid(names[I], "supervisor ")), getpid());
	for (int i = 0; i < NG; i++)
		got_free(&g[i]);
	executor_local.destroy(ex);
}

static void
test_many_stops_at_once(void **state)
{
	enum { N = 2000 };
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, NULL);
	char *argv[] = { "sleep", "30", NULL }, *handle, name[32];
	struct got *g = xcalloc(N, sizeof(*g));
	struct try_spec spec;

	(void)state;
	/* Stops sent back to back, the loop not running: the supervisor's
	 * reports of the ends pile up unread meanwhile.  Neither side may
	 * block on the other's full socket. */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many%d", i);
		spec = spec_for(name, argv);
		handle = NULL;
		assert_int_equal(executor_local.start(ex, &spec, done, &g[i], &handle), 0);
		free(handle);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many%d", i);
		spec = spec_for(name, argv);
		executor_local.kill(ex, spec.log_path);
	}
	wait_for(loop, g, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(g[i].out.signal, SIGTERM);
		got_free(&g[i]);
	}
	free(g);
	executor_local.destroy(ex);
}

/* Tries handed ahead: b waits for a's end and starts at once after it
 * (its own process, timed from then); c, stopped while it waits, never
 * runs and ends as stopped before it started; d, handed after a try that
 * has ended, starts at once; f, released, starts before e ends (and
 * none is handed ahead to their supervisor until it has). */
static void
test_handed_ahead(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host);
	char *mark = xasprintf("%s/c_ran", dir);
	char *a_argv[] = { "sleep", "0.5", NULL }, *b_argv[] = { "true", NULL };
	char *c_argv[] = { "touch", mark, NULL };
	struct got g[6] = {{0}};

	(void)state;
	start_try(ex, "ahead_a", a_argv, &g[0], NULL, 0);
	assert_true(executor_local.can_follow(ex, &g[0]));
	assert_false(executor_local.can_follow(ex, &g[3]));      /* not started */
	start_try(ex, "ahead_b", b_argv, &g[1], &g[0], 0);
	start_try(ex, "ahead_c", c_argv, &g[2], &g[1], 0);
	executor_local.kill(ex, spec_for("ahead_c", c_argv).log_path);
	wait_for(loop, g, 3);
	assert_false(executor_local.can_follow(ex, &g[0]));      /* ended */
	assert_int_equal(g[0].out.end, TRY_EXITED);
	assert_int_equal(g[1].out.end, TRY_EXITED);
	assert_int_equal(g[1].out.exit_code, 0);
	/* b started when a ended, not when it was handed over */
	assert_true(g[1].out.started_ms >= g[0].out.ended_ms - 1);
	assert_true(g[1].out.started_ms - g[0].out.started_ms >= 450);
	assert_int_equal(g[2].out.end, TRY_START_FAILED);
	assert_string_equal(g[2].reason, "stopped on request before it started");
	assert_int_equal(access(mark, F_OK), -1);
	assert_int_equal(status_line("ahead_c", "supervisor ", NULL), 0);     /* never claimed */
	/* after a try that has ended: at once */
	start_try(ex, "ahead_d", b_argv, &g[3], &g[0], 0);
	wait_for(loop, &g[3], 1);
	assert_int_equal(g[3].out.exit_code, 0);
	/* released: f starts at once, not after e's 2 s */
	char *e_argv[] = { "sleep", "2", NULL };
	start_try(ex, "ahead_e", e_argv, &g[4], NULL, 0);
	start_try(ex, "ahead_f", b_argv, &g[5], &g[4], 0);
	executor_local.release(ex, spec_for("ahead_f", b_argv).log_path);
	/* its supervisor runs two slots now: it takes no more until f ends */
	assert_false(executor_local.can_follow(ex, &g[4]));
	assert_false(executor_local.can_follow(ex, &g[5]));
	wait_for(loop, &g[5], 1);
	assert_int_equal(g[4].calls, 0);
	assert_int_equal(g[5].out.exit_code, 0);
	assert_true(executor_local.can_follow(ex, &g[4]));
	executor_local.kill(ex, spec_for("ahead_e", e_argv).log_path);
	wait_for(loop, &g[4], 1);
	for (int i = 0; i < 6; i++)
		got_free(&g[i]);
	free(mark);
	executor_local.destroy(ex);
}

/* Tries handed ahead to start only after a success (after_success): b,
 * behind a that fails, is dropped, never claimed, and c behind it (not
 * conditional) takes a's slot; q, behind p that succeeds, runs after it;
 * handed after a try that has ended before its end was read, one runs at
 * once when that try succeeded (r) and is dropped when it failed (s), as
 * is one after a try the executor no longer has (t); x, waiting for a slot
 * and stopped, takes y that waits for its success with it; m, released,
 * keeps n that waits for its success behind it. */
static void
test_handed_ahead_if_success(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, &host);
	char *fail_argv[] = { "sh", "-c", "sleep 0.3; exit 3", NULL };
	char *ok_argv[] = { "sleep", "0.3", NULL }, *true_argv[] = { "true", NULL };
	char *long_argv[] = { "sleep", "5", NULL }, *false_argv[] = { "false", NULL };
	enum { A, B, C, P, Q, R0, S0, R, S, T, L, X, Y, L2, M, N, NG };
	static const char *const names[NG] = {
		"if_a", "if_b", "if_c", "if_p", "if_q", "if_r0", "if_s0", "if_r", "if_s", "if_t",
		"if_l", "if_x", "if_y", "if_l2", "if_m", "if_n",
	};
	struct got g[NG] = {{0}};

	(void)state;
	start_try(ex, names[A], fail_argv, &g[A], NULL, 0);
	start_try(ex, names[B], true_argv, &g[B], &g[A], 1);
	start_try(ex, names[C], true_argv, &g[C], &g[B], 0);
	start_try(ex, names[P], ok_argv, &g[P], NULL, 0);
	start_try(ex, names[Q], true_argv, &g[Q], &g[P], 1);
	wait_for(loop, &g[A], 3);
	wait_for(loop, &g[P], 2);
	assert_int_equal(g[A].out.exit_code, 3);
	assert_int_equal(g[B].out.end, TRY_DROPPED);
	assert_int_equal(status_line(names[B], "supervisor ", NULL), 0);        /* never claimed */
	assert_int_equal(g[C].out.end, TRY_EXITED);
	assert_int_equal(g[C].out.exit_code, 0);
	assert_true(g[C].out.started_ms >= g[A].out.ended_ms - 1);
	assert_int_equal(g[Q].out.end, TRY_EXITED);
	assert_int_equal(g[Q].out.exit_code, 0);
	assert_true(g[Q].out.started_ms >= g[P].out.ended_ms - 1);
	/* after a try that has ended, its end not read yet: by how it ended */
	start_try(ex, names[R0], true_argv, &g[R0], NULL, 0);
	start_try(ex, names[S0], false_argv, &g[S0], NULL, 0);
	usleep(500000);
	start_try(ex, names[R], true_argv, &g[R], &g[R0], 1);
	start_try(ex, names[S], true_argv, &g[S], &g[S0], 1);
	start_try(ex, names[T], true_argv, &g[T], &g[B], 1);
	wait_for(loop, &g[R0], 5);
	assert_true(g[R].out.started_ms > g[R0].out.ended_ms);
	assert_int_equal(g[R].out.end, TRY_EXITED);
	assert_int_equal(g[S].out.end, TRY_DROPPED);
	assert_int_equal(g[T].out.end, TRY_DROPPED);
	/* stopped while it waits: what waits for its success goes too */
	start_try(ex, names[L], long_argv, &g[L], NULL, 0);
	start_try(ex, names[X], true_argv, &g[X], &g[L], 0);
	start_try(ex, names[Y], true_argv, &g[Y], &g[X], 1);
	executor_local.kill(ex, spec_for(names[X], true_argv).log_path);
	wait_for(loop, &g[X], 2);
	assert_int_equal(g[X].out.end, TRY_START_FAILED);
	assert_int_equal(g[Y].out.end, TRY_DROPPED);
	/* released: it starts now, and what waits for its success after it */
	start_try(ex, names[L2], long_argv, &g[L2], NULL, 0);
	start_try(ex, names[M], ok_argv, &g[M], &g[L2], 0);
	start_try(ex, names[N], true_argv, &g[N], &g[M], 1);
	executor_local.release(ex, spec_for(names[M], ok_argv).log_path);
	wait_for(loop, &g[M], 2);
	assert_int_equal(g[L].calls + g[L2].calls, 0);
	assert_int_equal(g[N].out.exit_code, 0);
	assert_true(g[N].out.started_ms >= g[M].out.ended_ms - 1);
	executor_local.kill(ex, spec_for(names[L], long_argv).log_path);
	executor_local.kill(ex, spec_for(names[L2], long_argv).log_path);
	wait_for(loop, &g[L], 1);
	wait_for(loop, &g[L2], 1);
	for (int i = 0; i < NG; i++)
		got_free(&g[i]);
	executor_local.destroy(ex);
}

/* The result scan reads the log backwards in chunks: every chunk size
 * (down to one byte, so lines and the prefix straddle chunks) finds the
 * same last valid result. */
static void
test_scan_result(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 11, 12, 64, 65536 };
	size_t big_len = 100000;
	char *big = xmalloc(big_len + 64), *huge = xmalloc(EXECUTOR_RESULT_MAX + 64);
	char *path = xasprintf("%s/scan.log", dir);
	const char *huge_head = "STA_RESULT {\"ok\":1}\nSTA_RESULT {\"x\":\"";
	struct {
		const char *log;
		size_t len;             /* 0: strlen */
		const char *want;       /* NULL: no result */
	} cases[] = {
		{ "", 0, NULL },
		{ "STA_RESULT {\"a\":1}", 0, "{\"a\":1}" },  /* no newline at the end */
		{ "x\nSTA_RESULT {\"a\":1}\nSTA_RESULT bad\nSTA_RESULT [1]\n", 0, "{\"a\":1}" },
		{ "STA_RESULT {\"a\":1}\nSTA_RESULT {\"b\":2}\r\nnoise\n\n", 0, "{\"b\":2}" },
		{ " STA_RESULT {\"a\":1}\nxSTA_RESULT {\"b\":1}\n", 0, NULL },  /* not at a line start */
		{ "STA_RESULT {\"a\":1}\nSTA_RESULT\nSTA_RESULT \n", 0, "{\"a\":1}" },
		/* a NUL before the result does not hide it */
		{ "\0junk\nSTA_RESULT {\"n\":0}\n", 19 + 7, "{\"n\":0}" },
		{ NULL, 0, NULL },      /* big: a 100 kB result line */
		{ NULL, 0, NULL },      /* huge: a line past the limit is not read */
	};
	size_t n_cases = sizeof(cases) / sizeof(cases[0]);

	(void)state;
	snprintf(big, big_len + 64, "STA_RESULT {\"x\":\"%0*d\"}\nafter\n", (int)big_len, 7);
	cases[n_cases - 2].log = big;
	cases[n_cases - 2].want = big + strlen("STA_RESULT ");
	memcpy(huge, huge_head, strlen(huge_head));
	memset(huge + strlen(huge_head), 'a', EXECUTOR_RESULT_MAX);
	memcpy(huge + strlen(huge_head) + EXECUTOR_RESULT_MAX, "\"}\n", 3);
	cases[n_cases - 1].log = huge;
	cases[n_cases - 1].len = strlen(huge_head) + EXECUTOR_RESULT_MAX + 3;
	cases[n_cases - 1].want = "{\"ok\":1}";
	for (size_t c = 0; c < n_cases; c++) {
		size_t len = cases[c].len ? cases[c].len : strlen(cases[c].log);

		assert_int_equal(fs_write_atomic(path, cases[c].log, len, 0), 0);
		for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
			int fd = open(path, O_RDONLY);
			cJSON *r = executor_scan_result_fd(fd, chunks[k]);
			char *got = r != NULL ? cJSON_PrintUnformatted(r) : NULL;
			char *want = NULL;

			if (cases[c].want != NULL) {
				cJSON *w = cJSON_Parse(cases[c].want);

				want = cJSON_PrintUnformatted(w);
				cJSON_Delete(w);
			}
			if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
				fail_msg("case %zu, chunk %zu: got %.60s, want %.60s", c, chunks[k],
				    got ? got : "(none)", want ? want : "(none)");
			free(got);
			free(want);
			cJSON_Delete(r);
			close(fd);
		}
		/* by path: found or not as by descriptor */
		cJSON *r = executor_scan_result(path);

		assert_true((r == NULL) == (cases[c].want == NULL));
		cJSON_Delete(r);
	}
	assert_null(executor_scan_result("/nonexistent/log"));
	free(path);
	free(big);
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_and_result),
		cmocka_unit_test(test_scan_result),
		cmocka_unit_test(test_handed_ahead),
		cmocka_unit_test(test_handed_ahead_if_success),
		cmocka_unit_test(test_start_failure_and_unknown),
		cmocka_unit_test(test_lost_supervisor),
		cmocka_unit_test(test_outcome_times),
		cmocka_unit_test(test_adopt_after_restart_and_claim),
		cmocka_unit_test(test_outlives_its_scheduler),
		cmocka_unit_test(test_kill_own_and_adopted),
		cmocka_unit_test(test_supervisor_killed),
		cmocka_unit_test(test_supervisor_per_slot),
		cmocka_unit_test(test_many_stops_at_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
