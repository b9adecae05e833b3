/*
 * exec_k8s.c: the Kubernetes executor.  Each try is one Pod, created
 * through the API (lib/k8s.c) and followed by one watch per namespace
 * with a label selector; the container's exit code is the try's.
 *
 * A try's pod name derives from the try (instance, DAG, run, task, try
 * number), so a pod can never be created twice for one try: a second
 * create meets 409 AlreadyExists, and the pod that exists is the try's.
 * Beside the try's log the executor keeps two files:
 *   T.attempt=N.pod     the pod's name, written when the try is queued,
 *                       and "created" appended once the API accepted it;
 *   T.attempt=N.status  the outcome, written after the log was fetched
 *                       and before the pod is deleted.
 * A restarted scheduler adopts a try from them: a status file means
 * finished; otherwise the pod is looked up in a list of the instance's
 * pods: running ones are watched again, finished ones recorded; a missing
 * one was never created (no "created": the try starts now) or is lost (it
 * was deleted by someone else: the try fails and may be retried, never
 * run again under the same try).  Pods of no live try are
 * deleted (the orphan reaper), after the scheduler's recovery.
 *
 * Creates go through a queue: at most STA_K8S_CREATE_QPS per second; none
 * for a pool while one of its pods is Pending as Unschedulable (the
 * cluster is full: more pods would only wait, and load the API); API
 * errors (429, 5xx, no answer) back off exponentially with jitter.
 * Requests other than the watch are blocking, single-attempt for creates
 * (the queue backs off instead) and few-attempt for the rest.
 */
#include "runner/executor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/fsutil.h"
#include "lib/k8s.h"
#include "lib/log.h"
#include "lib/util.h"
#include "web/web.h"

#define CONTAINER "task"
#define LABEL_PREFIX "sta.dev/"
#define DEFAULT_QPS 20.0
#define DEFAULT_STARTUP_TIMEOUT 300
#define DEFAULT_RETRIES 2
#define BACKOFF_BASE 0.5
#define BACKOFF_CAP 30.0
#define SYNC_RETRY 10.0
#define REAP_PERIOD 300.0
#define ORPHAN_MIN_AGE 60
#define REQUEST_TIMEOUT_MS 15000L	/* blocking requests, on the scheduler's loop */

enum kstate {
	KT_QUEUED,      /* waiting in the create queue */
	KT_CREATED,     /* its pod exists (or did) */
	KT_DONE,        /* outcome known, waiting for delivery */
};

struct ktry {
	struct executor *ex;
	enum kstate state;
	char *log_path;
	char *pod;
	char *pool;
	char *json;             /* the Pod to create, while queued */
	int unschedulable;      /* Pending as Unschedulable */
	int backoff_seen;       /* counted in WEB_METRIC_POD_BACKOFFS */
	int stopping;           /* deletion asked for by kill() */
	char *waiting;          /* why it is not running yet, or NULL */
	sta_time created;
	ev_timer startup;
	ev_timer later;
	ev_timer kill_retry;
	struct try_outcome out;
	executor_done_fn done;
	void *arg;
	struct ktry *next;
};

struct executor {
	struct ev_loop *loop;
	const struct executor_host *host;
	struct k8s *k;
	int open_failed;
	char *ns;
	char *instance;
	char *selector;
	char *identity;
	char *default_image;    /* for tasks without one: STA_K8S_IMAGE or our pod's */
	double qps;
	int startup_timeout;
	int keep_failed;
	struct k8s_watch *watch;
	int synced;             /* listed and watching */
	cJSON *listed;          /* the first list's pods, until reaped */
	struct ktry *tries;
	int n_unschedulable;    /* tries whose pod is Pending as Unschedulable */
	ev_timer pump;
	double tokens;
	ev_tstamp tokens_at;
	int api_errors;         /* consecutive: the back-off's exponent */
	ev_tstamp backoff_until;
	ev_timer sync_retry;
	ev_timer reap;
};

static void kx_pump_soon(struct executor *ex);
static int kx_sync(struct executor *ex);

/* ------------------------------------------------------------ helpers */

static const cJSON *
jget(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *
jstring(const cJSON *o, const char *key)
{
	const cJSON *v = jget(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
env_number(const char *name, double def, double min, double max)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtod(s, &end);
	if (*end != '\0' || !(v >= min && v <= max)) {
		log_warn("%s=%s is not a number in [%g, %g]; using %g", name, s, min, max, def);
		return def;
	}
	return v;
}

/* The try's pod name: "sta-", up to 30 characters of the task id as a
 * DNS label, 10 hex digits of a hash of the try's identity, the try
 * number.  At most 63 characters, so it is also a valid hostname. */
static char *
pod_name(const char *instance, const struct try_spec *spec)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	char task[31], hex[11];
	size_t n = 0;

	for (const char *p = spec->task_id; *p != '\0' && n < sizeof(task) - 1; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '-';
		if (c == '-' && (n == 0 || task[n - 1] == '-'))
			continue;
		task[n++] = c;
	}
	while (n > 0 && task[n - 1] == '-')
		n--;
	task[n] = '\0';
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)instance, strlen(instance) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)spec->dag_id, strlen(spec->dag_id) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)spec->run_id, strlen(spec->run_id) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)spec->task_id, strlen(spec->task_id) + 1);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, sizeof(hex), h, 5);
	return xasprintf("sta-%s%s%s-%d", task, n > 0 ? "-" : "", hex, spec->try_number);
}

/* A scalar of the DAG file as text: YAML's plain 1 or true arrive as
 * numbers and booleans, where the API wants strings (caller frees). */
static char *
json_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	return cJSON_PrintUnformatted(v);
}

static void
add_label(cJSON *labels, const char *key, const char *value)
{
	char *v = k8s_label_value(value);

	cJSON_AddStringToObject(labels, key, v);
	free(v);
}

/* Sets name=value in the env array, replacing an earlier entry. */
static void
env_set(cJSON *env, const char *name, cJSON *entry)
{
	cJSON *e;
	int i = 0;

	cJSON_AddItemToObject(entry, "name", cJSON_CreateString(name));
	cJSON_ArrayForEach(e, env) {
		const char *n = jstring(e, "name");

		if (n != NULL && strcmp(n, name) == 0) {
			cJSON_ReplaceItemInArray(env, i, entry);
			return;
		}
		i++;
	}
	cJSON_AddItemToArray(env, entry);
}

static void
env_set_value(cJSON *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	char *name = xstrndup(kv, klen);
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "value", kv[klen] == '=' ? kv + klen + 1 : "");
	env_set(env, name, e);
	free(name);
}

/* The pipeline settings a task needs wherever it runs, passed on from the
 * scheduler's environment (a pod does not inherit it). */
static const char *const passed_env[] = {"STA_PROVIDER_URI", "STA_LAKE", "STA_STORE", NULL};

/* The container's env: passed settings, the task contract's STA_*, the
 * task's env, then secret_env entries (valueFrom.secretKeyRef). */
static int
container_env(const struct try_spec *spec, const cJSON *kube, cJSON *container, char *err,
    size_t errlen)
{
	cJSON *env = cJSON_AddArrayToObject(container, "env");
	const cJSON *se = jget(kube, "secret_env"), *e;
	struct strv vars = {0};

	for (const char *const *p = passed_env; *p != NULL; p++) {
		const char *v = getenv(*p);

		if (v != NULL)
			strv_push_take(&vars, xasprintf("%s=%s", *p, v));
	}
	executor_task_env(spec, &vars);
	for (size_t i = 0; i < vars.n; i++)
		env_set_value(env, vars.v[i]);
	strv_free(&vars);
	cJSON_ArrayForEach(e, se) {
		const char *ref = cJSON_IsString(e) ? e->valuestring : NULL;
		const char *slash = ref != NULL ? strchr(ref, '/') : NULL;
		cJSON *entry, *sel;
		char *secret;

		if (slash == NULL || slash == ref || slash[1] == '\0') {
			snprintf(err, errlen, "kubernetes.secret_env.%s: want \"SECRET/KEY\"",
			    e->string);
			return -1;
		}
		secret = xstrndup(ref, (size_t)(slash - ref));
		entry = cJSON_CreateObject();
		sel = cJSON_AddObjectToObject(cJSON_AddObjectToObject(entry, "valueFrom"), "secretKeyRef");
		cJSON_AddStringToObject(sel, "name", secret);
		cJSON_AddStringToObject(sel, "key", slash + 1);
		env_set(env, e->string, entry);
		free(secret);
	}
	return 0;
}

/* The kubelet expands $(VAR) in a container's command and turns $$ into
 * $; doubling every $ makes it hand the task its argv unchanged, as the
 * local executor does.  The copy is kept in keep. */
static const char *
argv_escape(const char *arg, struct strv *keep)
{
	struct buf b = {0};

	for (const char *p = arg; *p != '\0'; p++) {
		if (*p == '$')
			buf_putc(&b, '$');
		buf_putc(&b, *p);
	}
	strv_push_take(keep, buf_detach(&b));
	return keep->v[keep->n - 1];
}

/* The Pod for a try (caller frees), or NULL with err set. */
static char *
pod_json(struct executor *ex, const struct try_spec *spec, const char *name, char *err,
    size_t errlen)
{
	const cJSON *kube = spec->kubernetes, *v;
	const char *image = spec->image != NULL ? spec->image : ex->default_image;
	cJSON *pod, *meta, *labels, *ann, *ps, *c, *cmd;
	struct strv esc = {0};
	char num[16];
	char *json = NULL;

	if (image == NULL || *image == '\0') {
		snprintf(err, errlen, "no image: set `image` for the task (or STA_K8S_IMAGE, or run "
		    "the scheduler in a pod: its image is the default)");
		return NULL;
	}
	pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	cJSON_AddStringToObject(pod, "kind", "Pod");
	meta = cJSON_AddObjectToObject(pod, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", ex->ns);
	labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/part-of", "sta");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/component", "task");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/managed-by", "sta-scheduler");
	add_label(labels, LABEL_PREFIX "instance", ex->instance);
	add_label(labels, LABEL_PREFIX "dag-id", spec->dag_id);
	add_label(labels, LABEL_PREFIX "run-id", spec->run_id);
	add_label(labels, LABEL_PREFIX "task-id", spec->task_id);
	snprintf(num, sizeof(num), "%d", spec->try_number);
	cJSON_AddStringToObject(labels, LABEL_PREFIX "try-number", num);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	cJSON_AddStringToObject(ann, LABEL_PREFIX "dag-id", spec->dag_id);
	cJSON_AddStringToObject(ann, LABEL_PREFIX "run-id", spec->run_id);
	cJSON_AddStringToObject(ann, LABEL_PREFIX "task-id", spec->task_id);
	cJSON_AddStringToObject(ann, LABEL_PREFIX "scheduler", ex->identity);

	ps = cJSON_AddObjectToObject(pod, "spec");
	cJSON_AddStringToObject(ps, "restartPolicy", "Never");
	if (spec->timeout > 0)
		cJSON_AddNumberToObject(ps, "activeDeadlineSeconds", (double)spec->timeout);
	if ((v = jget(kube, "service_account")) != NULL)
		cJSON_AddStringToObject(ps, "serviceAccountName", v->valuestring);
	if ((v = jget(kube, "node_selector")) != NULL) {
		cJSON *sel = cJSON_AddObjectToObject(ps, "nodeSelector"), *e;

		cJSON_ArrayForEach(e, v) {
			char *text = json_text(e);

			cJSON_AddStringToObject(sel, e->string, text);
			free(text);
		}
	}
	if ((v = jget(kube, "tolerations")) != NULL)
		cJSON_AddItemToObject(ps, "tolerations", cJSON_Duplicate(v, 1));
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(ps, "containers"), c);
	cJSON_AddStringToObject(c, "name", CONTAINER);
	cJSON_AddStringToObject(c, "image", image);
	cmd = cJSON_AddArrayToObject(c, "command");
	for (char *const *a = spec->argv; *a != NULL; a++)
		cJSON_AddItemToArray(cmd, cJSON_CreateStringReference(argv_escape(*a, &esc)));
	if (container_env(spec, kube, c, err, errlen) != 0)
		goto out;
	if ((v = jget(kube, "env_from_secrets")) != NULL) {
		cJSON *from = cJSON_AddArrayToObject(c, "envFrom"), *s;

		cJSON_ArrayForEach(s, v) {
			cJSON *ref = cJSON_CreateObject();
			char *text = json_text(s);

			cJSON_AddStringToObject(cJSON_AddObjectToObject(ref, "secretRef"), "name", text);
			cJSON_AddItemToArray(from, ref);
			free(text);
		}
	}
	if (spec->resources != NULL)
		cJSON_AddItemToObject(c, "resources", cJSON_Duplicate(spec->resources, 1));
	json = cJSON_PrintUnformatted(pod);
out:
	cJSON_Delete(pod);
	strv_free(&esc);
	return json;
}

/* ------------------------------------------------------------- tries */

static struct ktry *
kt_find_pod(struct executor *ex, const char *pod)
{
	for (struct ktry *t = ex->tries; t != NULL; t = t->next)
		if (strcmp(t->pod, pod) == 0)
			return t;
	return NULL;
}

static struct ktry *
kt_find_log(struct executor *ex, const char *log_path)
{
	for (struct ktry *t = ex->tries; t != NULL; t = t->next)
		if (strcmp(t->log_path, log_path) == 0)
			return t;
	return NULL;
}

static void
kt_free(struct ktry *t)
{
	ev_timer_stop(t->ex->loop, &t->startup);
	ev_timer_stop(t->ex->loop, &t->later);
	ev_timer_stop(t->ex->loop, &t->kill_retry);
	executor_outcome_free(&t->out);
	free(t->log_path);
	free(t->pod);
	free(t->pool);
	free(t->json);
	free(t->waiting);
	free(t);
}

static void
kt_unlink(struct ktry *t)
{
	for (struct ktry **pp = &t->ex->tries; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			return;
		}
	}
}

/* Delivers the outcome from the loop, never from inside a caller's call
 * into the executor. */
static void
later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ktry *t = w->data;
	struct executor *ex = t->ex;

	(void)loop;
	(void)revents;
	kt_unlink(t);
	t->done(t->arg, &t->out);
	kt_free(t);
	kx_pump_soon(ex);       /* a pool may be free of unschedulable pods now */
}

static void startup_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void kill_retry_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* Before the executor creates or deletes pods: the scheduler's check
 * (a scheduler that lost its lease exits there). */
static void
kx_before_act(struct executor *ex)
{
	if (ex->host != NULL && ex->host->before_act != NULL)
		ex->host->before_act(ex->host->arg);
}

static struct ktry *
kt_new(struct executor *ex, const struct try_spec *spec, const char *pod,
    executor_done_fn done, void *arg)
{
	struct ktry *t = xcalloc(1, sizeof(*t));

	t->ex = ex;
	t->log_path = xstrdup(spec->log_path);
	t->pod = xstrdup(pod);
	t->pool = xstrdup(spec->pool != NULL ? spec->pool : "");
	t->done = done;
	t->arg = arg;
	ev_timer_init(&t->later, later_cb, 0, 0);
	ev_timer_init(&t->startup, startup_cb, (ev_tstamp)ex->startup_timeout, 0);
	ev_timer_init(&t->kill_retry, kill_retry_cb, SYNC_RETRY, 0);
	t->later.data = t->startup.data = t->kill_retry.data = t;
	t->next = ex->tries;
	ex->tries = t;
	return t;
}

/* Counts t in or out of the pods Pending as Unschedulable; once it is
 * out, its pool may take new pods again. */
static void
kt_unschedulable(struct ktry *t, int unschedulable)
{
	if (t->unschedulable == unschedulable)
		return;
	t->unschedulable = unschedulable;
	t->ex->n_unschedulable += unschedulable ? 1 : -1;
	if (!unschedulable)
		kx_pump_soon(t->ex);
}

/* Records the outcome in t->out (taking reason) and in the status file,
 * then schedules its delivery. */
static void
kt_finish(struct ktry *t, enum try_end end, int exit_code, char *reason, sta_time started,
    sta_time ended, cJSON *result)
{
	char *status = executor_try_file(t->log_path, "status");

	if (t->state == KT_DONE) {
		free(reason);
		cJSON_Delete(result);
		free(status);
		return;
	}
	t->state = KT_DONE;
	kt_unschedulable(t, 0);
	ev_timer_stop(t->ex->loop, &t->startup);
	ev_timer_stop(t->ex->loop, &t->kill_retry);
	t->out.end = end;
	t->out.exit_code = exit_code;
	t->out.reason = reason;
	t->out.started_ms = (started ? started : t->created) * 1000;
	t->out.ended_ms = ended ? ended * 1000 : time_now_ms();
	if (result != NULL)
		t->out.result_json = cJSON_PrintUnformatted(result);
	if (executor_write_status(status, &t->out, result) != 0)
		log_error("%s: cannot record the outcome in %s", t->pod, status);
	free(status);
	ev_timer_start(t->ex->loop, &t->later);
}

static void
kt_delete_pod(struct ktry *t)
{
	int rc = k8s_pod_delete(t->ex->k, t->ex->ns, t->pod);

	if (rc != 0 && rc != K8S_NOT_FOUND)
		log_warn("%s: could not delete the pod; the orphan reaper will", t->pod);
}

static sta_time
jtime(const cJSON *o, const char *key)
{
	const char *s = jstring(o, key);
	sta_time t = 0;

	if (s != NULL && time_parse(s, &t) != 0)
		t = 0;
	return t;
}

/* The status of our container, or NULL. */
static const cJSON *
container_status(const cJSON *status)
{
	const cJSON *cs;

	cJSON_ArrayForEach(cs, jget(status, "containerStatuses")) {
		const char *n = jstring(cs, "name");

		if (n != NULL && strcmp(n, CONTAINER) == 0)
			return cs;
	}
	return NULL;
}

/* A pod that reached Succeeded or Failed: fetch its log, record the
 * outcome, delete it (unless kept). */
static void
kt_pod_ended(struct ktry *t, const cJSON *pod, int gone)
{
	struct executor *ex = t->ex;
	const cJSON *st = jget(pod, "status");
	const char *phase = jstring(st, "phase"), *why = jstring(st, "reason");
	const char *msg = jstring(st, "message");
	const cJSON *cs = container_status(st);
	const cJSON *term = jget(jget(cs, "state"), "terminated");
	int failed = phase != NULL && strcmp(phase, "Failed") == 0;
	enum try_end end = TRY_EXITED;
	int code = -1;
	char *reason = NULL;

	if (!gone && k8s_pod_log(ex->k, ex->ns, t->pod, CONTAINER, t->log_path) != 0)
		log_warn("%s: its log could not be fetched", t->pod);
	if (why != NULL && strcmp(why, "DeadlineExceeded") == 0) {
		end = TRY_TIMED_OUT;
		reason = xasprintf("execution_timeout reached (activeDeadlineSeconds): %s",
		    msg != NULL ? msg : "pod stopped");
	} else if (cJSON_IsNumber(jget(term, "exitCode"))) {
		const char *tr = jstring(term, "reason");

		code = (int)jget(term, "exitCode")->valuedouble;
		if (failed && code == 0) {
			/* The pod failed though the container says 0: not a
			 * success (a step failing may not end the container). */
			end = TRY_LOST;
			reason = xasprintf("the pod failed (%s) though its container exited 0",
			    why != NULL ? why : "no reason given");
		} else if (tr != NULL && strcmp(tr, "Completed") != 0 && strcmp(tr, "Error") != 0) {
			reason = xasprintf("container %s (exit code %d)%s%s", tr, code,
			    jstring(term, "message") != NULL ? ": " : "",
			    jstring(term, "message") != NULL ? jstring(term, "message") : "");
		}
	} else {
		end = TRY_LOST;
		reason = xasprintf("the pod %s without a container exit code: %s: %s", phase,
		    why != NULL ? why : "no reason", msg != NULL ? msg : "no message");
	}
	if (t->stopping && reason == NULL)
		reason = xstrdup("stopped on request: pod deleted");
	kt_finish(t, end, code, reason, jtime(term, "startedAt"), jtime(term, "finishedAt"),
	    gone ? NULL : executor_scan_result(t->log_path));
	if (!gone && !(ex->keep_failed && (failed || code != 0)))
		kt_delete_pod(t);
}

/* Waiting reasons that no wait can cure. */
static int
waiting_fatal(const char *reason)
{
	return strcmp(reason, "InvalidImageName") == 0 || strcmp(reason, "ErrImageNeverPull") == 0;
}

/* Waiting reasons the UI counts as back-off (image pull, crash loop,
 * configuration not found). */
static int
waiting_backoff(const char *reason)
{
	return strcmp(reason, "ErrImagePull") == 0 || strcmp(reason, "ImagePullBackOff") == 0 ||
	    strcmp(reason, "CrashLoopBackOff") == 0 || strcmp(reason, "CreateContainerConfigError") == 0 ||
	    strcmp(reason, "CreateContainerError") == 0;
}

/* A Pending pod: scheduled or not, and why its container waits. */
static void
kt_pod_pending(struct ktry *t, const cJSON *pod)
{
	const cJSON *st = jget(pod, "status"), *c;
	const cJSON *waiting = jget(jget(container_status(st), "state"), "waiting");
	const char *wr = jstring(waiting, "reason");
	int unsched = 0;

	cJSON_ArrayForEach(c, jget(st, "conditions")) {
		const char *type = jstring(c, "type"), *cst = jstring(c, "status");
		const char *r = jstring(c, "reason");

		if (type != NULL && strcmp(type, "PodScheduled") == 0 && cst != NULL &&
		    strcmp(cst, "False") == 0 && r != NULL && strcmp(r, "Unschedulable") == 0) {
			unsched = 1;
			free(t->waiting);
			t->waiting = xasprintf("Unschedulable: %s",
			    jstring(c, "message") != NULL ? jstring(c, "message") : "");
		}
	}
	if (unsched && !t->unschedulable)
		log_warn("%s: unschedulable (%s): no more pods for pool %s until it is placed",
		    t->pod, t->waiting, t->pool);
	kt_unschedulable(t, unsched);
	if (wr == NULL)
		return;
	free(t->waiting);
	t->waiting = xasprintf("%s: %s", wr, jstring(waiting, "message") != NULL ?
	    jstring(waiting, "message") : "");
	if (waiting_backoff(wr) && !t->backoff_seen) {
		t->backoff_seen = 1;
		web_metrics_add(WEB_METRIC_POD_BACKOFFS, 1);
		log_warn("%s: %s", t->pod, t->waiting);
	}
	if (waiting_fatal(wr)) {
		kt_finish(t, TRY_START_FAILED, -1, xstrdup(t->waiting), 0, 0, NULL);
		kt_delete_pod(t);
	}
}

static void claim_created(struct ktry *t);

/* The API has t's pod: from a create's answer, or seen while t waited to
 * be created again after a create whose answer was lost. */
static void
kt_mark_created(struct ktry *t)
{
	if (t->state != KT_QUEUED)
		return;
	t->state = KT_CREATED;
	t->created = time_now();
	claim_created(t);
	free(t->json);
	t->json = NULL;
	ev_timer_start(t->ex->loop, &t->startup);
	web_metrics_add(WEB_METRIC_POD_LAUNCHES, 1);
}

/* A pod we track changed (or is gone: DELETED, or absent from a list). */
static void
kx_pod_changed(struct executor *ex, const cJSON *pod, int gone)
{
	const char *name = jstring(jget(pod, "metadata"), "name");
	const cJSON *st = jget(pod, "status");
	const char *phase = jstring(st, "phase");
	struct ktry *t = name != NULL ? kt_find_pod(ex, name) : NULL;

	if (t != NULL && t->state == KT_QUEUED && !gone)
		kt_mark_created(t);
	if (t == NULL || t->state != KT_CREATED)
		return;
	if ((phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)) ||
	    jget(jget(container_status(st), "state"), "terminated") != NULL) {
		/* Our container's end is the try's, even while another
		 * container (an injected sidecar) keeps the pod Running. */
		kt_pod_ended(t, pod, gone);
	} else if (gone) {
		if (t->stopping)
			kt_finish(t, TRY_EXITED, -1, xstrdup("stopped on request: pod deleted"),
			    0, 0, NULL);
		else
			kt_finish(t, TRY_LOST, -1, xstrdup("its pod was deleted before it finished"),
			    0, 0, NULL);
	} else if (phase != NULL && strcmp(phase, "Running") == 0) {
		ev_timer_stop(ex->loop, &t->startup);
		kt_unschedulable(t, 0);
	} else {
		kt_pod_pending(t, pod);
	}
}

/* The pod named name is gone (absent from a list, or 404). */
static void
kx_pod_gone(struct executor *ex, const char *name)
{
	cJSON *gone = cJSON_CreateObject();

	cJSON_AddStringToObject(cJSON_AddObjectToObject(gone, "metadata"), "name", name);
	kx_pod_changed(ex, gone, 1);
	cJSON_Delete(gone);
}

/* Not running within the startup timeout: delete the pod, fail the try
 * with the reason it waited for (a retry may find the cluster better).
 * The pod is read from the API first (the watch may have missed its
 * start); while the API cannot tell, the try waits. */
static void
startup_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ktry *t = w->data;
	struct executor *ex = t->ex;
	cJSON *pod = NULL;
	const char *phase;
	int rc;

	(void)revents;
	if (t->state != KT_CREATED)
		return;
	rc = ex->synced ? k8s_pod_get(ex->k, ex->ns, t->pod, &pod) : -1;
	if (rc != 0 && rc != K8S_NOT_FOUND) {
		ev_timer_set(w, SYNC_RETRY, 0);
		ev_timer_start(loop, w);
		return;
	}
	if (rc == K8S_NOT_FOUND)
		kx_pod_gone(ex, t->pod);
	else
		kx_pod_changed(ex, pod, 0);
	phase = jstring(jget(pod, "status"), "phase");
	if (t->state == KT_CREATED && (phase == NULL || strcmp(phase, "Running") != 0)) {
		kt_finish(t, TRY_LOST, -1, xasprintf("not running after the startup timeout (%ds): %s",
		    ex->startup_timeout, t->waiting != NULL ? t->waiting : "still Pending"),
		    0, 0, NULL);
		kt_delete_pod(t);
	}
	cJSON_Delete(pod);
}

/* ------------------------------------------------------- create queue */

static int
pool_held(struct executor *ex, const char *pool)
{
	if (ex->n_unschedulable == 0)
		return 0;
	for (struct ktry *t = ex->tries; t != NULL; t = t->next)
		if (t->state == KT_CREATED && t->unschedulable && strcmp(t->pool, pool) == 0)
			return 1;
	return 0;
}

static void
kx_pump_at(struct executor *ex, ev_tstamp after)
{
	if (ev_is_active(&ex->pump) && ev_timer_remaining(ex->loop, &ex->pump) <= after)
		return;
	ev_timer_stop(ex->loop, &ex->pump);
	ev_timer_set(&ex->pump, after, 0);
	ev_timer_start(ex->loop, &ex->pump);
}

static void
kx_pump_soon(struct executor *ex)
{
	kx_pump_at(ex, 0);
}

/* The pod named in the claim beside the try's log (caller frees), and in
 * *created whether the API accepted it; NULL when there is no claim (the
 * try was never handed to Kubernetes). */
static char *
claim_read(const char *log_path, int *created)
{
	char *claim = executor_try_file(log_path, "pod"), *name = NULL;

	if (fs_read_file(claim, &name, NULL) == 0) {
		*created = strstr(name, "\ncreated") != NULL;
		name[strcspn(name, "\n")] = '\0';
	}
	free(claim);
	return name;
}

/* Notes in the claim file that the API accepted the pod. */
static void
claim_created(struct ktry *t)
{
	char *claim = executor_try_file(t->log_path, "pod");
	FILE *f = fopen(claim, "a");

	int bad = f == NULL || fputs("created\n", f) == EOF;

	if ((f != NULL && fclose(f) != 0) || bad)
		log_warn("%s: cannot note the pod's creation in %s", t->pod, claim);
	free(claim);
}

/* Creates t's pod.  0: created (or it existed: it is the try's);
 * 1: back off and try again; -1: the try failed. */
static int
kt_create(struct ktry *t)
{
	struct executor *ex = t->ex;
	cJSON *out = NULL;
	long status;
	int rc;

	k8s_set_retries(ex->k, 0);
	rc = k8s_pod_create(ex->k, ex->ns, t->json, &out);
	k8s_set_retries(ex->k, DEFAULT_RETRIES);
	status = k8s_last_status(ex->k);
	if (rc == 0 || rc == K8S_EXISTS) {
		if (rc == K8S_EXISTS)
			log_info("%s exists already: an earlier create reached the API", t->pod);
		else
			log_debug("%s: created", t->pod);
		kt_mark_created(t);
		if (out == NULL && k8s_pod_get(ex->k, ex->ns, t->pod, &out) != 0)
			out = NULL;     /* the watch, or the startup check, will tell */
		if (out != NULL)
			kx_pod_changed(ex, out, 0);
		cJSON_Delete(out);
		return 0;
	}
	/* A full ResourceQuota is 403 Forbidden "exceeded quota": room comes
	 * back as pods end, so it is waited out like 429. */
	if (status == 0 || status == 429 || status >= 500 ||
	    (status == 403 && strstr(k8s_last_error(ex->k), "exceeded quota") != NULL))
		return 1;
	kt_finish(t, TRY_START_FAILED, -1, xasprintf("the API refused the pod: %s",
	    k8s_last_error(ex->k)), 0, 0, NULL);
	return -1;
}

/* The oldest queued try whose pool is not held (tries are kept newest
 * first). */
static struct ktry *
next_queued(struct executor *ex)
{
	struct ktry *pick = NULL;

	for (struct ktry *t = ex->tries; t != NULL; t = t->next)
		if (t->state == KT_QUEUED && !pool_held(ex, t->pool))
			pick = t;
	return pick;
}

static void
pump_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct executor *ex = w->data;
	struct ktry *t;

	(void)revents;
	if (!ex->synced)
		return;         /* kx_sync pumps once it succeeds */
	while ((t = next_queued(ex)) != NULL) {
		ev_tstamp now = ev_now(loop);
		int rc;

		if (now < ex->backoff_until) {
			kx_pump_at(ex, ex->backoff_until - now);
			return;
		}
		/* No bursts: after a hold ends, one pod tells whether the
		 * cluster has room before the next is sent. */
		ex->tokens += (now - ex->tokens_at) * ex->qps;
		if (ex->tokens > 1)
			ex->tokens = 1;
		ex->tokens_at = now;
		if (ex->tokens < 1) {
			kx_pump_at(ex, (1 - ex->tokens) / ex->qps);
			return;
		}
		kx_before_act(ex);
		rc = kt_create(t);
		ev_now_update(loop);
		if (rc == 1) {
			double d = BACKOFF_BASE * (double)(1u << (ex->api_errors < 6 ? ex->api_errors : 6));

			if (d > BACKOFF_CAP)
				d = BACKOFF_CAP;
			d = d / 2 + d / 2 * randombytes_uniform(1001) / 1000.0;
			ex->api_errors++;
			ex->backoff_until = ev_now(loop) + d;
			log_warn("creating pods: %s; backing off %.1fs", k8s_last_error(ex->k), d);
			continue;
		}
		ex->api_errors = 0;
		ex->tokens -= 1;
	}
}

/* ------------------------------------------------- watch, list, reaper */

static void
watch_cb(void *arg, enum k8s_event type, const cJSON *object)
{
	struct executor *ex = arg;

	switch (type) {
	case K8S_EV_ADDED:
	case K8S_EV_MODIFIED:
		kx_pod_changed(ex, object, 0);
		break;
	case K8S_EV_DELETED:
		kx_pod_changed(ex, object, 1);
		break;
	case K8S_EV_BOOKMARK:
		break;
	case K8S_EV_ERROR:
		log_warn("pod watch: %s", jstring(object, "message") != NULL ?
		    jstring(object, "message") : "error event");
		break;
	case K8S_EV_GONE:
		log_info("pod watch: resourceVersion expired; listing pods again");
		k8s_watch_close(ex->watch);
		ex->watch = NULL;
		ex->synced = 0;
		if (kx_sync(ex) != 0)
			ev_timer_start(ex->loop, &ex->sync_retry);
		break;
	}
}

static int
listed_has(const cJSON *items, const char *name)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, items) {
		const char *n = jstring(jget(p, "metadata"), "name");

		if (n != NULL && strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

/* Deletes the listed pods that belong to no live try: neither one of
 * this executor's nor one the store counts as running (a try not adopted
 * yet, as its DAG is paused or broken, or one of another scheduler
 * process on the same store, such as `sta dags test`). */
static void
reap(struct executor *ex, const cJSON *items)
{
	sta_time now = time_now();
	struct strv logs = {0}, live = {0};
	const cJSON *p;
	int created;

	if (ex->host == NULL || ex->host->running_tries == NULL ||
	    ex->host->running_tries(ex->host->arg, "kubernetes", &logs) != 0) {
		log_warn("orphan pods: the store cannot tell which tries run; not reaping now");
		strv_free(&logs);
		return;
	}
	for (size_t i = 0; i < logs.n; i++) {
		char *name = claim_read(logs.v[i], &created);

		if (name != NULL)
			strv_push_take(&live, name);
	}
	strv_free(&logs);
	cJSON_ArrayForEach(p, items) {
		const cJSON *meta = jget(p, "metadata");
		const char *name = jstring(meta, "name");
		const char *phase = jstring(jget(p, "status"), "phase");

		if (name == NULL || kt_find_pod(ex, name) != NULL || strv_index(&live, name) >= 0)
			continue;
		if (jget(meta, "deletionTimestamp") != NULL)
			continue;
		if (ex->keep_failed && phase != NULL && strcmp(phase, "Failed") == 0)
			continue;
		if (ex->listed == NULL && now - jtime(meta, "creationTimestamp") < ORPHAN_MIN_AGE)
			continue;       /* periodic: leave young pods to their creator */
		log_warn("orphan pod %s (%s %s %s) belongs to no live try: deleting", name,
		    jstring(jget(meta, "annotations"), LABEL_PREFIX "dag-id"),
		    jstring(jget(meta, "annotations"), LABEL_PREFIX "run-id"),
		    jstring(jget(meta, "annotations"), LABEL_PREFIX "task-id"));
		if (k8s_pod_delete(ex->k, ex->ns, name) < 0)
			log_warn("orphan pod %s: delete failed", name);
	}
	strv_free(&live);
}

/* First run after recovery: the pods listed at start that no adopted try
 * claimed; then every REAP_PERIOD, pods seen by a fresh list. */
static void
reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct executor *ex = w->data;
	cJSON *list = NULL;

	(void)loop;
	(void)revents;
	kx_before_act(ex);
	if (ex->listed != NULL) {
		reap(ex, jget(ex->listed, "items"));
		cJSON_Delete(ex->listed);
		ex->listed = NULL;
	} else if (ex->synced && k8s_pod_list(ex->k, ex->ns, ex->selector, &list) == 0) {
		reap(ex, jget(list, "items"));
	}
	cJSON_Delete(list);
	ev_timer_set(w, REAP_PERIOD, 0);
	ev_timer_start(loop, w);
}

/* Lists the instance's pods, brings every created try up to date with
 * its pod (a missing pod is gone), and watches from the list's version. */
static int
kx_sync(struct executor *ex)
{
	cJSON *list = NULL;
	const cJSON *items, *p;
	const char *rv;

	if (k8s_pod_list(ex->k, ex->ns, ex->selector, &list) != 0)
		return -1;
	items = jget(list, "items");
	rv = jstring(jget(list, "metadata"), "resourceVersion");
	ex->watch = k8s_watch_open(ex->k, ex->loop, ex->ns, ex->selector, rv, watch_cb, ex);
	if (ex->watch == NULL) {
		cJSON_Delete(list);
		return -1;
	}
	ex->synced = 1;
	cJSON_ArrayForEach(p, items)
		kx_pod_changed(ex, p, 0);
	for (struct ktry *t = ex->tries; t != NULL; t = t->next) {
		if (t->state == KT_CREATED && !listed_has(items, t->pod))
			kx_pod_gone(ex, t->pod);
	}
	if (!ev_is_active(&ex->reap)) {
		/* the first list: kept for adoption, reaped after recovery */
		ex->listed = list;
		list = NULL;
		ev_timer_start(ex->loop, &ex->reap);
	}
	cJSON_Delete(list);
	kx_pump_soon(ex);
	return 0;
}

static void
sync_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct executor *ex = w->data;

	(void)revents;
	if (kx_sync(ex) != 0) {
		ev_timer_set(w, SYNC_RETRY, 0);
		ev_timer_start(loop, w);
	}
}

/* Tasks without an image run in STA_K8S_IMAGE, else in the image of the
 * pod the scheduler runs in ($POD_NAME, from the downward API), so a
 * deployment names its image once. */
static void
default_image(struct executor *ex)
{
	const char *img = getenv("STA_K8S_IMAGE"), *pod = getenv("POD_NAME");
	const char *ns = getenv("POD_NAMESPACE");
	cJSON *self = NULL;

	if (img != NULL && *img != '\0') {
		ex->default_image = xstrdup(img);
		return;
	}
	if (pod == NULL || *pod == '\0' ||
	    k8s_pod_get(ex->k, ns != NULL && *ns != '\0' ? ns : ex->ns, pod, &self) != 0)
		return;
	img = jstring(cJSON_GetArrayItem(jget(jget(self, "spec"), "containers"), 0), "image");
	if (img != NULL)
		ex->default_image = xstrdup(img);
	cJSON_Delete(self);
}

/* Opens the client on first use: a scheduler whose DAGs never use this
 * executor needs no cluster.  0, or -1 when there is no usable
 * configuration (said once). */
static int
kx_ready(struct executor *ex)
{
	const char *ns = getenv("STA_K8S_NAMESPACE");

	if (ex->k != NULL)
		return 0;
	if (ex->open_failed)
		return -1;
	ex->k = k8s_open(getenv("STA_K8S_KUBECONFIG"), getenv("STA_K8S_CONTEXT"));
	if (ex->k == NULL) {
		ex->open_failed = 1;
		log_error("the kubernetes executor has no usable cluster configuration: "
		    "its tries fail");
		return -1;
	}
	k8s_set_retries(ex->k, DEFAULT_RETRIES);
	k8s_set_timeout(ex->k, REQUEST_TIMEOUT_MS);
	ex->ns = xstrdup(ns != NULL && *ns != '\0' ? ns : k8s_namespace(ex->k));
	ex->selector = xasprintf("app.kubernetes.io/part-of=sta,app.kubernetes.io/component=task,"
	    LABEL_PREFIX "instance=%s", ex->instance);
	default_image(ex);
	log_info("kubernetes executor: namespace %s, pods labelled %s, default image %s", ex->ns,
	    ex->selector, ex->default_image != NULL ? ex->default_image : "(none)");
	if (kx_sync(ex) != 0) {
		log_warn("kubernetes executor: cannot list pods yet; retrying every %.0fs", SYNC_RETRY);
		ev_timer_set(&ex->sync_retry, SYNC_RETRY, 0);
		ev_timer_start(ex->loop, &ex->sync_retry);
	}
	return 0;
}

/* --------------------------------------------------------- operations */

static struct executor *
k8s_exec_create(struct ev_loop *loop, const struct executor_host *host)
{
	struct executor *ex = xcalloc(1, sizeof(*ex));
	char *inst = k8s_label_value(getenv("STA_K8S_INSTANCE") != NULL ?
	    getenv("STA_K8S_INSTANCE") : "sta");

	ex->loop = loop;
	ex->host = host;
	ex->instance = inst;
	ex->identity = k8s_identity();
	ex->qps = env_number("STA_K8S_CREATE_QPS", DEFAULT_QPS, 0.1, 10000);
	ex->tokens = 1;
	ex->tokens_at = ev_now(loop);
	ex->startup_timeout = (int)env_number("STA_K8S_STARTUP_TIMEOUT", DEFAULT_STARTUP_TIMEOUT,
	    1, 86400);
	ex->keep_failed = env_number("STA_K8S_KEEP_FAILED_PODS", 0, 0, 1) != 0;
	ev_timer_init(&ex->pump, pump_cb, 0, 0);
	ev_timer_init(&ex->sync_retry, sync_retry_cb, SYNC_RETRY, 0);
	ev_timer_init(&ex->reap, reap_cb, 0, 0);
	ex->pump.data = ex->sync_retry.data = ex->reap.data = ex;
	return ex;
}

static void
k8s_exec_destroy(struct executor *ex)
{
	/* Pods keep running: a later scheduler adopts them. */
	ev_timer_stop(ex->loop, &ex->pump);
	ev_timer_stop(ex->loop, &ex->sync_retry);
	ev_timer_stop(ex->loop, &ex->reap);
	if (ex->watch != NULL)
		k8s_watch_close(ex->watch);
	while (ex->tries != NULL) {
		struct ktry *t = ex->tries;

		ex->tries = t->next;
		kt_free(t);
	}
	cJSON_Delete(ex->listed);
	if (ex->k != NULL)
		k8s_close(ex->k);
	free(ex->ns);
	free(ex->instance);
	free(ex->selector);
	free(ex->identity);
	free(ex->default_image);
	free(ex);
}

static int
k8s_exec_start(struct executor *ex, const struct try_spec *spec, executor_done_fn done,
    void *arg, char **handle)
{
	char *dir = fs_dirname(spec->log_path), *claim = NULL, *name = NULL, *line = NULL, *json;
	char err[512];
	struct ktry *t;
	int rc = -1;

	if (kx_ready(ex) != 0)
		goto out;
	name = pod_name(ex->instance, spec);
	if ((json = pod_json(ex, spec, name, err, sizeof(err))) == NULL) {
		log_error("%s %s %s: %s", spec->dag_id, spec->run_id, spec->task_id, err);
		goto out;
	}
	claim = executor_try_file(spec->log_path, "pod");
	line = xasprintf("%s\n", name);
	if (fs_mkdir_p(dir) != 0 || fs_write_atomic(claim, line, strlen(line), 0) != 0) {
		log_error("%s: cannot record the try in %s: %s", spec->task_id, claim, strerror(errno));
		free(json);
		goto out;
	}
	t = kt_new(ex, spec, name, done, arg);
	t->state = KT_QUEUED;
	t->json = json;
	t->created = time_now();
	*handle = xstrdup(name);
	kx_pump_soon(ex);
	rc = 0;
out:
	free(line);
	free(name);
	free(claim);
	free(dir);
	return rc;
}

/* The pod named name, from the list taken while recovering or from the
 * API: 1 (*pod set, caller frees), 0 when it does not exist, -1 when that
 * cannot be known now. */
static int
adopt_lookup(struct executor *ex, const char *name, cJSON **pod)
{
	const cJSON *p;
	int rc;

	*pod = NULL;
	if (!ex->synced)
		return -1;
	if (ex->listed != NULL) {
		cJSON_ArrayForEach(p, jget(ex->listed, "items")) {
			const char *n = jstring(jget(p, "metadata"), "name");

			if (n != NULL && strcmp(n, name) == 0) {
				*pod = cJSON_Duplicate(p, 1);
				return 1;
			}
		}
		return 0;
	}
	rc = k8s_pod_get(ex->k, ex->ns, name, pod);
	return rc == 0 ? 1 : rc == K8S_NOT_FOUND ? 0 : -1;
}

static enum adopt_result
k8s_exec_adopt(struct executor *ex, const struct try_spec *spec, executor_done_fn done,
    void *arg, char **handle)
{
	enum adopt_result r = ADOPT_NOT_STARTED;
	struct try_outcome o;
	cJSON *pod = NULL;
	struct ktry *t;
	char *name = NULL;
	int was_created = 0, found = -1;

	if (executor_read_status(spec->log_path, &o) == 0) {
		t = kt_new(ex, spec, "", done, arg);
		t->state = KT_DONE;
		t->out = o;
		ev_timer_start(ex->loop, &t->later);
		r = ADOPT_FINISHED;
		goto out;
	}
	if ((name = claim_read(spec->log_path, &was_created)) == NULL)
		goto out;       /* never handed to Kubernetes */
	if (kx_ready(ex) == 0)
		found = adopt_lookup(ex, name, &pod);
	/* Queued but not created when the last scheduler stopped: start it
	 * (if its create did reach the API, the new one meets AlreadyExists
	 * and takes that pod). */
	if (!was_created && found != 1)
		goto out;
	t = kt_new(ex, spec, name, done, arg);
	*handle = xstrdup(name);
	t->state = KT_CREATED;
	t->created = time_now();
	ev_timer_start(ex->loop, &t->startup);
	if (ex->k == NULL)
		kt_finish(t, TRY_LOST, -1, xstrdup("no Kubernetes configuration to find its pod"),
		    0, 0, NULL);
	else if (found == 1)
		kx_pod_changed(ex, pod, 0);
	else if (found == 0)
		kt_finish(t, TRY_LOST, -1, xstrdup("its pod was deleted before its end was recorded"),
		    0, 0, NULL);
	/* found == -1: the list after the API answers again settles it */
	r = t->state == KT_DONE ? ADOPT_FINISHED : ADOPT_RUNNING;
	log_info("%s %s %s: adopted pod %s (%s)", spec->dag_id, spec->run_id, spec->task_id,
	    name, r == ADOPT_RUNNING ? "running" : "finished");
out:
	cJSON_Delete(pod);
	free(name);
	return r;
}

/* Deletes t's pod to stop it; the watch then reports its end.  A delete
 * the API did not take is asked again. */
static void
kt_kill(struct ktry *t)
{
	struct executor *ex = t->ex;
	int rc;

	kx_before_act(ex);
	rc = k8s_pod_delete(ex->k, ex->ns, t->pod);
	if (rc == 0) {
		t->stopping = 1;
	} else if (rc == K8S_NOT_FOUND) {
		kt_finish(t, TRY_EXITED, -1, xstrdup("stopped on request: pod deleted"), 0, 0, NULL);
	} else {
		log_warn("%s: stopping it: the delete failed (%s); asking again in %.0fs", t->pod,
		    k8s_last_error(ex->k), SYNC_RETRY);
		ev_timer_start(ex->loop, &t->kill_retry);
	}
}

static void
kill_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ktry *t = w->data;

	(void)loop;
	(void)revents;
	if (t->state == KT_CREATED)
		kt_kill(t);
}

static void
k8s_exec_kill(struct executor *ex, const char *log_path)
{
	struct ktry *t = kt_find_log(ex, log_path);

	if (t == NULL || t->state == KT_DONE)
		return;
	t->out.signal = SIGTERM;        /* kept by kt_finish: stopped, as local tries are */
	if (t->state == KT_QUEUED) {
		kt_finish(t, TRY_EXITED, -1, xstrdup("stopped on request before its pod was created"),
		    0, 0, NULL);
		return;
	}
	kt_kill(t);
}

const struct executor_ops executor_kubernetes = {
	.name = "kubernetes",
	.create = k8s_exec_create,
	.destroy = k8s_exec_destroy,
	.start = k8s_exec_start,
	.adopt = k8s_exec_adopt,
	.kill = k8s_exec_kill,
};
