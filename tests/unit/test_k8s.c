/*
 * test_k8s.c: two things in one program.  Without arguments, cmocka unit
 * tests of lib/k8s.c's label values, checked with the label regex from
 * the Kubernetes documentation (POSIX regcomp, not the code under test).
 * With arguments, a driver that tests/integration/k8s_client.py runs
 * against the fake API server (tests/fakes/k8s_api.py):
 *
 *   test_k8s [--kubeconfig F] [--context C] [--incluster] COMMAND ARGS
 *     pod-create NS JSON | pod-get NS NAME | pod-list NS SELECTOR |
 *     pod-delete NS NAME | pod-log NS NAME FILE | lease-get NS NAME |
 *     lease-create NS JSON | lease-update NS NAME JSON | label STRING... |
 *     watch NS SELECTOR RV TERMINAL_PODS TIMEOUT_S |
 *     leader NS NAME IDENTITY LEASE_S [START_AT [HOLD_S]] |
 *     leader-try NS NAME IDENTITY LEASE_S
 *
 * The answer's JSON goes to stdout; the exit status is 0, or 1 (error), 2
 * (not found), 3 (conflict), 4 (exists), 5 (gone).  watch prints one line
 * per event ("EVENT TYPE NAME PHASE EXIT RV"), relists on GONE ("GONE",
 * "RELIST N RV") as a caller would, and stops once TERMINAL_PODS pods
 * have been seen Succeeded or Failed (or after TIMEOUT_S, status 1).
 *
 * leader runs runner/leader.c as the scheduler would: waits until the
 * wall-clock time START_AT (seconds since the epoch; 0: now), prints
 * "STARTED", blocks in leader_acquire, prints "ACQUIRED", renews on a
 * libev loop and prints "LOST" (status 3) when leadership is lost; on
 * SIGTERM, or after HOLD_S seconds as leader, it releases the lease and
 * prints "RELEASED" (status 0; "STOPPED", status 4, when SIGTERM came
 * while waiting).  leader-try makes one leader_try_acquire and prints
 * "RESULT R HOLDER".
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "lib/k8s.h"
#include "lib/util.h"
#include "runner/leader.h"

/* https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/ */
#define LABEL_RE "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

static int
valid_label(const char *v)
{
	regex_t re;
	int ok;

	assert_int_equal(regcomp(&re, LABEL_RE, REG_EXTENDED | REG_NOSUB), 0);
	ok = strlen(v) <= 63 && regexec(&re, v, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void
test_label_kept(void **state)
{
	const char *keep[] = { "", "a", "etl_dag", "export_blocks.v2", "2024-01-01T00-00-00",
	    "A9", "012345678901234567890123456789012345678901234567890123456789012" };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(keep); i++) {
		char *v = k8s_label_value(keep[i]);

		assert_string_equal(v, keep[i]);
		assert_true(valid_label(v));
		free(v);
	}
}

static void
test_label_fixed(void **state)
{
	/* run ids as the scheduler makes them, long and odd ids */
	const char *ids[] = { "scheduled__2024-01-01T00:00:00+00:00",
	    "manual__2024-01-01T00:00:00.123456+00:00", "-leading", "trailing-", "_x_",
	    "with space", "ünïcode", "..", ":::",
	    "0123456789012345678901234567890123456789012345678901234567890123",
	    "a-very-long-task-id-that-goes-on-and-on-beyond-sixty-three-characters-x1",
	    "a-very-long-task-id-that-goes-on-and-on-beyond-sixty-three-characters-x2" };
	char *vals[ARRAY_LEN(ids)];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		vals[i] = k8s_label_value(ids[i]);
		assert_true(valid_label(vals[i]));
		assert_string_not_equal(vals[i], ids[i]);
		assert_true(strlen(vals[i]) > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(vals[i], vals[j]);
	}
	/* deterministic: the same id gives the same value */
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		char *again = k8s_label_value(ids[i]);

		assert_string_equal(again, vals[i]);
		free(again);
		free(vals[i]);
	}
	/* the readable part is kept: "scheduled__2024-01-01T00-00-00-00-00-<hash>" */
	vals[0] = k8s_label_value("scheduled__2024-01-01T00:00:00+00:00");
	assert_int_equal(strncmp(vals[0], "scheduled__2024-01-01T00-00-00-00-00-", 37), 0);
	assert_int_equal(strlen(vals[0]), 37 + 10);
	free(vals[0]);
}

static int
run_units(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_kept),
		cmocka_unit_test(test_label_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ---- driver ---- */

static int
exit_code(int rc)
{
	switch (rc) {
	case 0: return 0;
	case K8S_NOT_FOUND: return 2;
	case K8S_CONFLICT: return 3;
	case K8S_EXISTS: return 4;
	case K8S_GONE: return 5;
	default: return 1;
	}
}

static void
print_json(cJSON *j)
{
	char *s;

	if (j == NULL)
		return;
	s = cJSON_PrintUnformatted(j);
	printf("%s\n", s);
	free(s);
	cJSON_Delete(j);
}

struct watch_run {
	struct k8s *k;
	struct ev_loop *loop;
	struct k8s_watch *w;
	const char *ns, *selector;
	int want, done, failed;
	struct strv finished;
};

static const char *
str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static int
exit_of(const cJSON *pod)
{
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(pod, "status"), "containerStatuses");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(cs, 0), "state"), "terminated");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(t, "exitCode");

	return cJSON_IsNumber(code) ? code->valueint : -1;
}

static void on_event(void *arg, enum k8s_event type, const cJSON *obj);

static void
note_pod(struct watch_run *r, const cJSON *pod)
{
	const char *phase = str_at(pod, "status", "phase");
	const char *name = str_at(pod, "metadata", "name");

	if (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0)
		return;
	for (size_t i = 0; i < r->finished.n; i++)
		if (strcmp(r->finished.v[i], name) == 0)
			return;
	strv_push(&r->finished, name);
	if ((int)r->finished.n >= r->want) {
		r->done = 1;
		ev_break(r->loop, EVBREAK_ALL);
	}
}

static void
on_event(void *arg, enum k8s_event type, const cJSON *obj)
{
	struct watch_run *r = arg;
	cJSON *list = NULL, *it;
	const char *rv;

	if (type == K8S_EV_GONE) {
		printf("GONE\n");
		/* What a caller does: relist, then watch from the list. */
		k8s_watch_close(r->w);
		r->w = NULL;
		if (k8s_pod_list(r->k, r->ns, r->selector, &list) != 0) {
			r->failed = 1;
			ev_break(r->loop, EVBREAK_ALL);
			return;
		}
		rv = str_at(list, "metadata", "resourceVersion");
		printf("RELIST %d %s\n", cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), rv);
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
			note_pod(r, it);
		if (!r->done)
			r->w = k8s_watch_open(r->k, r->loop, r->ns, r->selector, rv, on_event, r);
		cJSON_Delete(list);
		fflush(stdout);
		return;
	}
	printf("EVENT %s %s %s %d %s\n", k8s_event_name(type), str_at(obj, "metadata", "name"),
	    str_at(obj, "status", "phase"), exit_of(obj), str_at(obj, "metadata", "resourceVersion"));
	fflush(stdout);
	if (type == K8S_EV_ADDED || type == K8S_EV_MODIFIED)
		note_pod(r, obj);
}

static void
on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int
drive_watch(struct k8s *k, char **argv)
{
	struct watch_run r = { .k = k, .ns = argv[0], .selector = argv[1] };
	ev_timer timeout;
	int connects = 0;

	r.loop = ev_default_loop(0);
	r.want = (int)strtol(argv[3], NULL, 10);
	r.w = k8s_watch_open(k, r.loop, r.ns, r.selector, argv[2], on_event, &r);
	if (r.w == NULL)
		return 1;
	ev_timer_init(&timeout, on_timeout, strtod(argv[4], NULL), 0.);
	ev_timer_start(r.loop, &timeout);
	printf("WATCHING\n");
	fflush(stdout);
	ev_run(r.loop, 0);
	if (r.w != NULL) {
		connects = k8s_watch_connects(r.w);
		printf("LASTRV %s\n", k8s_watch_resource_version(r.w));
		k8s_watch_close(r.w);
	}
	printf("CONNECTS %d\nDONE %d\n", connects, r.done);
	strv_free(&r.finished);
	return r.done && !r.failed ? 0 : 1;
}

/* ---- leader election ---- */

static volatile sig_atomic_t leader_stop;

static void
on_term_flag(int sig)
{
	(void)sig;
	leader_stop = 1;
}

static void
on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

struct leader_run {
	struct ev_loop *loop;
	int lost;
};

static void
on_lost(void *arg)
{
	struct leader_run *r = arg;

	r->lost = 1;
	printf("LOST\n");
	fflush(stdout);
	ev_break(r->loop, EVBREAK_ALL);
}

static void
sleep_until(double epoch)
{
	struct timespec ts = { (time_t)epoch, (long)((epoch - (double)(time_t)epoch) * 1e9) };

	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR && !leader_stop)
		;
}

static int
drive_leader(struct k8s *k, int argc, char **argv)
{
	struct leader_run r = { 0 };
	struct sigaction sa;
	struct leader *l;
	ev_signal sig;
	ev_timer hold;
	double start_at = argc > 4 ? strtod(argv[4], NULL) : 0.;
	double hold_s = argc > 5 ? strtod(argv[5], NULL) : 0.;
	int rc;

	l = leader_new(k, argv[0], argv[1], argv[2], (int)strtol(argv[3], NULL, 10));
	if (l == NULL)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term_flag;
	sigaction(SIGTERM, &sa, NULL);
	if (start_at > 0.)
		sleep_until(start_at);
	printf("STARTED\n");
	fflush(stdout);
	if (leader_acquire(l, &leader_stop) != 0) {
		printf("STOPPED\n");
		leader_free(l);
		return 4;
	}
	printf("ACQUIRED %s %d\n", leader_holder(l), leader_is_leader(l));
	fflush(stdout);
	r.loop = ev_default_loop(0);
	leader_start(l, r.loop, on_lost, &r);
	ev_signal_init(&sig, on_term, SIGTERM);
	ev_signal_start(r.loop, &sig);
	ev_timer_init(&hold, on_timeout, hold_s, 0.);
	if (hold_s > 0.)
		ev_timer_start(r.loop, &hold);
	if (!leader_stop)
		ev_run(r.loop, 0);
	ev_timer_stop(r.loop, &hold);
	ev_signal_stop(r.loop, &sig);
	if (r.lost) {
		printf("LEADER %d\n", leader_is_leader(l));
		rc = 3;
	} else {
		rc = leader_release(l) == 0 ? 0 : 1;
		printf("%s %d\n", rc == 0 ? "RELEASED" : "RELEASE-FAILED", leader_is_leader(l));
	}
	fflush(stdout);
	leader_free(l);
	return rc;
}

static int
drive_leader_try(struct k8s *k, char **argv)
{
	struct leader *l = leader_new(k, argv[0], argv[1], argv[2], (int)strtol(argv[3], NULL, 10));
	int rc;

	if (l == NULL)
		return 1;
	rc = leader_try_acquire(l);
	printf("RESULT %d %s\n", rc, leader_holder(l));
	leader_free(l);
	return rc < 0 ? 1 : 0;
}

static int
drive(int argc, char **argv)
{
	const char *kubeconfig = NULL, *context = NULL, *cmd;
	int incluster = 0, rc = -1, i = 1;
	struct k8s *k;
	cJSON *out = NULL;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			kubeconfig = argv[++i];
		else if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
			context = argv[++i];
		else if (strcmp(argv[i], "--incluster") == 0)
			incluster = 1;
	}
	if (i >= argc)
		return 64;
	cmd = argv[i++];
	argv += i;
	argc -= i;
	if (strcmp(cmd, "label") == 0) {
		for (int j = 0; j < argc; j++) {
			char *v = k8s_label_value(argv[j]);

			printf("%s\n", v);
			free(v);
		}
		return 0;
	}
	k = incluster ? k8s_open_incluster() : k8s_open(kubeconfig, context);
	if (k == NULL)
		return 1;
	if (strcmp(cmd, "namespace") == 0) {
		printf("%s\n", k8s_namespace(k));
		rc = 0;
	} else if (strcmp(cmd, "pod-create") == 0 && argc == 2)
		rc = k8s_pod_create(k, argv[0], argv[1], &out);
	else if (strcmp(cmd, "pod-get") == 0 && argc == 2)
		rc = k8s_pod_get(k, argv[0], argv[1], &out);
	else if (strcmp(cmd, "pod-list") == 0 && argc == 2)
		rc = k8s_pod_list(k, argv[0], argv[1], &out);
	else if (strcmp(cmd, "pod-delete") == 0 && argc == 2)
		rc = k8s_pod_delete(k, argv[0], argv[1]);
	else if (strcmp(cmd, "pod-log") == 0 && argc == 3)
		rc = k8s_pod_log(k, argv[0], argv[1], NULL, argv[2]);
	else if (strcmp(cmd, "lease-get") == 0 && argc == 2)
		rc = k8s_lease_get(k, argv[0], argv[1], &out);
	else if (strcmp(cmd, "lease-create") == 0 && argc == 2)
		rc = k8s_lease_create(k, argv[0], argv[1], &out);
	else if (strcmp(cmd, "lease-update") == 0 && argc == 3)
		rc = k8s_lease_update(k, argv[0], argv[1], argv[2], &out);
	else if (strcmp(cmd, "watch") == 0 && argc == 5) {
		int st = drive_watch(k, argv);

		k8s_close(k);
		return st;
	} else if (strcmp(cmd, "leader") == 0 && argc >= 4 && argc <= 6) {
		int st = drive_leader(k, argc, argv);

		k8s_close(k);
		return st;
	} else if (strcmp(cmd, "leader-try") == 0 && argc == 4) {
		int st = drive_leader_try(k, argv);

		k8s_close(k);
		return st;
	} else {
		fprintf(stderr, "test_k8s: unknown command or arguments: %s\n", cmd);
		k8s_close(k);
		return 64;
	}
	print_json(out);
	k8s_close(k);
	return exit_code(rc);
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc == 1)
		return run_units();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = drive(argc, argv);
	curl_global_cleanup();
	return rc;
}
