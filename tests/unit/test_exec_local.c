/*
 * test_exec_local.c: the local executor with real processes on a real
 * libev loop: outcomes and STA_RESULT, exec failures, adoption of finished,
 * unknown, running and lost tries, and the claim that lets a try run once
 * even when two supervisors are started for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/fsutil.h"
#include "lib/util.h"
#include "runner/executor.h"

static char dir[256];

struct got {
	int calls;
	struct try_outcome out;
	char *result;
	char *reason;
};

static void
done(void *arg, const struct try_outcome *o)
{
	struct got *g = arg;

	g->calls++;
	g->out = *o;
	g->result = o->result_json ? xstrdup(o->result_json) : NULL;
	g->reason = o->reason ? xstrdup(o->reason) : NULL;
	g->out.result_json = g->out.reason = NULL;
}

static void
got_free(struct got *g)
{
	free(g->result);
	free(g->reason);
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

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/sta-exec-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void
test_outcome_and_result(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, NULL);
	char *argv[] = { "sh", "-c", "echo 'STA_RESULT {\"rows\": 1}'; echo 'STA_RESULT bad';"
	    " echo 'STA_RESULT {\"rows\": 2}'; exit 3", NULL };
	struct try_spec spec = spec_for("result", argv);
	struct got g = {0};
	char *handle = NULL;

	(void)state;
	assert_int_equal(executor_local.start(ex, &spec, done, &g, &handle), 0);
	assert_non_null(handle);
	wait_for(loop, &g, 1);
	assert_int_equal(g.out.end, TRY_EXITED);
	assert_int_equal(g.out.exit_code, 3);
	assert_string_equal(g.result, "{\"rows\":2}");      /* the last valid one */
	/* adopting it again finds it finished, with the same outcome */
	struct got g2 = {0};
	assert_int_equal(executor_local.adopt(ex, &spec, done, &g2, &handle), ADOPT_FINISHED);
	wait_for(loop, &g2, 1);
	assert_int_equal(g2.out.exit_code, 3);
	free(handle);
	got_free(&g);
	got_free(&g2);
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
	executor_local.destroy(ex);
}

static void
test_lost_supervisor(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, NULL);
	char *argv[] = { "true", NULL };
	struct try_spec spec = spec_for("lost", argv);
	char *pid_path = xasprintf("%s/lost/attempt=1.pid", dir), *lost_dir = xasprintf("%s/lost", dir);
	struct got g = {0};
	char *handle = NULL;

	(void)state;
	/* a claim by a process that no longer exists, and no outcome */
	fs_mkdir_p(lost_dir);
	assert_int_equal(fs_write_atomic(pid_path, "999999 12345\n", 13, 0), 0);
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
test_adopt_after_restart_and_claim(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct executor *ex = executor_local.create(loop, NULL);
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
	wait_for(loop, g, 2);
	wait_for(loop, &a, 1);
	assert_int_equal(g[0].out.end, TRY_EXITED);
	assert_int_equal(g[1].out.end, TRY_EXITED);
	assert_int_equal(a.out.end, TRY_EXITED);
	assert_int_equal(a.out.exit_code, 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_and_result),
		cmocka_unit_test(test_start_failure_and_unknown),
		cmocka_unit_test(test_lost_supervisor),
		cmocka_unit_test(test_adopt_after_restart_and_claim),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
