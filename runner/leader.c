/*
 * leader.c: leader election on a coordination.k8s.io/v1 Lease (see
 * leader.h), after client-go's tryAcquireOrRenew: read the Lease (create
 * it when there is none); when another holds it and it has changed within
 * its duration as this process measures it, wait; otherwise write our
 * identity with the resourceVersion read, so that of two writers one gets
 * 409 and stays a follower.  The leader first tries to renew with the
 * version it last wrote, and reads again only when that fails.
 *
 * Owns its copy of the Lease last read or written; the k8s client is the
 * caller's.
 */
#include "config.h"

#include "runner/leader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "lib/k8s.h"
#include "lib/log.h"
#include "lib/util.h"

#define STOP_POLL_MS 100
#define LEASE_SECONDS_MAX 86400

enum attempt {
	ATTEMPT_LEADER,         /* we hold the Lease now */
	ATTEMPT_HELD,           /* another holds it and it has not expired */
	ATTEMPT_RACE,           /* another wrote first (409) */
	ATTEMPT_ERROR,          /* an API error, printed */
};

struct leader {
	struct k8s *k;
	char *ns, *name, *identity;
	int lease_seconds;
	double renew_deadline, retry_period;    /* seconds */
	/* The Lease last read or written and what was seen of it. */
	cJSON *lease;
	char *spec_seen;        /* its spec, printed; NULL before any */
	double seen_at;         /* monotonic time that spec was first seen */
	char *holder;           /* its holderIdentity, "" for none */
	int duration;           /* its leaseDurationSeconds */
	/* Our leadership. */
	int leading;            /* our last write succeeded and nothing since said otherwise */
	double renewed_at;      /* monotonic send time of that write */
	char *waiting_for;      /* the holder last logged as waited for */
	/* Renewing on a loop. */
	struct ev_loop *loop;
	ev_timer timer;
	int started;
	void (*lost)(void *arg);
	void *lost_arg;
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* metav1.MicroTime of now: "2006-01-02T15:04:05.000000Z". */
static void
microtime_now(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%06ldZ", s, (long)(ts.tv_nsec / 1000));
}

static const cJSON *
spec_item(const struct leader *l, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(l->lease, "spec"), key);
}

static int
is_ours(const struct leader *l)
{
	return l->holder != NULL && strcmp(l->holder, l->identity) == 0;
}

/* Takes lease (read or written) as the one last seen.  A spec that differs
 * from the one seen before restarts the expiry clock (client-go's
 * observedTime); the same spec read again does not. */
static void
observe(struct leader *l, cJSON *lease, double now)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
	const cJSON *v;
	char *s = spec != NULL ? cJSON_PrintUnformatted(spec) : NULL;

	if (s == NULL)
		s = xstrdup("");
	cJSON_Delete(l->lease);
	l->lease = lease;
	if (l->spec_seen != NULL && strcmp(s, l->spec_seen) == 0) {
		free(s);
		return;
	}
	free(l->spec_seen);
	l->spec_seen = s;
	l->seen_at = now;
	free(l->holder);
	v = spec_item(l, "holderIdentity");
	l->holder = xstrdup(cJSON_IsString(v) ? v->valuestring : "");
	v = spec_item(l, "leaseDurationSeconds");
	l->duration = cJSON_IsNumber(v) ? v->valueint : 0;
}

static int
expired(const struct leader *l, double now)
{
	return now >= l->seen_at + l->duration;
}

static cJSON *
spec_new(const char *holder, int duration, const char *acquired, const char *renewed,
    int transitions)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "holderIdentity", holder);
	cJSON_AddNumberToObject(s, "leaseDurationSeconds", duration);
	cJSON_AddStringToObject(s, "acquireTime", acquired);
	cJSON_AddStringToObject(s, "renewTime", renewed);
	cJSON_AddNumberToObject(s, "leaseTransitions", transitions);
	return s;
}

/* The Lease last seen with spec (taken) in place of its own, written with
 * its resourceVersion; on success the answer becomes the Lease seen.  A
 * k8s result. */
static int
write_spec(struct leader *l, cJSON *spec, double now)
{
	cJSON *obj = cJSON_Duplicate(l->lease, 1), *out = NULL;
	char *body;
	int rc;

	if (obj == NULL) {
		cJSON_Delete(spec);
		log_error("lease %s/%s: out of memory", l->ns, l->name);
		return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(obj, "spec");
	cJSON_AddItemToObject(obj, "spec", spec);
	body = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (body == NULL) {
		log_error("lease %s/%s: out of memory", l->ns, l->name);
		return -1;
	}
	rc = k8s_lease_update(l->k, l->ns, l->name, body, &out);
	free(body);
	if (rc == 0)
		observe(l, out, now);
	else
		cJSON_Delete(out);
	return rc;
}

static int
transitions_seen(const struct leader *l)
{
	const cJSON *v = spec_item(l, "leaseTransitions");

	return cJSON_IsNumber(v) ? v->valueint : 0;
}

static enum attempt
won(struct leader *l, double sent, const char *how)
{
	if (!l->leading)
		log_info("lease %s/%s: acquired as %s (%s); leaseTransitions %d", l->ns, l->name,
		    l->identity, how, transitions_seen(l));
	l->leading = 1;
	l->renewed_at = sent;
	free(l->waiting_for);
	l->waiting_for = NULL;
	return ATTEMPT_LEADER;
}

static enum attempt
create(struct leader *l, const char *ts, double now)
{
	cJSON *obj = cJSON_CreateObject(), *md, *out = NULL;
	char *body;
	int rc;

	cJSON_AddStringToObject(obj, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(obj, "kind", "Lease");
	md = cJSON_AddObjectToObject(obj, "metadata");
	cJSON_AddStringToObject(md, "name", l->name);
	cJSON_AddStringToObject(md, "namespace", l->ns);
	cJSON_AddItemToObject(obj, "spec", spec_new(l->identity, l->lease_seconds, ts, ts, 0));
	body = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (body == NULL) {
		log_error("lease %s/%s: out of memory", l->ns, l->name);
		return ATTEMPT_ERROR;
	}
	rc = k8s_lease_create(l->k, l->ns, body, &out);
	free(body);
	if (rc == 0) {
		observe(l, out, now);
		return won(l, now, "created it");
	}
	cJSON_Delete(out);
	if (rc == K8S_EXISTS) {
		log_info("lease %s/%s: another contender created it first", l->ns, l->name);
		return ATTEMPT_RACE;
	}
	return ATTEMPT_ERROR;
}

/* The slow path: read, then take over or renew with the version read. */
static enum attempt
read_and_take(struct leader *l, const char *ts, double now)
{
	cJSON *got = NULL;
	char how[160];
	int rc, ours;

	rc = k8s_lease_get(l->k, l->ns, l->name, &got);
	if (rc == K8S_NOT_FOUND)
		return create(l, ts, now);
	if (rc != 0)
		return ATTEMPT_ERROR;
	observe(l, got, now);
	ours = is_ours(l);
	if (l->holder[0] != '\0' && !ours && !expired(l, now)) {
		l->leading = 0;
		return ATTEMPT_HELD;
	}
	if (ours)
		snprintf(how, sizeof(how), "it named this identity already");
	else if (l->holder[0] == '\0')
		snprintf(how, sizeof(how), "it was released");
	else
		snprintf(how, sizeof(how), "taken over from %.100s, unchanged for %d s",
		    l->holder, l->duration);
	if (ours) {
		const cJSON *a = spec_item(l, "acquireTime");

		rc = write_spec(l, spec_new(l->identity, l->lease_seconds,
		    cJSON_IsString(a) ? a->valuestring : ts, ts, transitions_seen(l)), now);
	} else {
		rc = write_spec(l, spec_new(l->identity, l->lease_seconds, ts, ts,
		    transitions_seen(l) + 1), now);
	}
	if (rc == 0)
		return won(l, now, how);
	if (rc == K8S_CONFLICT || rc == K8S_NOT_FOUND) {
		log_info("lease %s/%s: another writer got there first; reading it again "
		    "at the next attempt", l->ns, l->name);
		return ATTEMPT_RACE;
	}
	return ATTEMPT_ERROR;
}

static enum attempt
attempt(struct leader *l)
{
	double now = mono_now();
	char ts[64];

	microtime_now(ts, sizeof(ts));
	/* Fast path: renew with the version we last wrote. */
	if (l->leading && l->lease != NULL && is_ours(l) && !expired(l, now)) {
		const cJSON *a = spec_item(l, "acquireTime");
		int rc = write_spec(l, spec_new(l->identity, l->lease_seconds,
		    cJSON_IsString(a) ? a->valuestring : ts, ts, transitions_seen(l)), now);

		if (rc == 0)
			return won(l, now, "renewed");
		log_warn("lease %s/%s: renewing with the version last written failed; "
		    "reading it again", l->ns, l->name);
	}
	return read_and_take(l, ts, now);
}

struct leader *
leader_new(struct k8s *k, const char *ns, const char *name, const char *identity,
    int lease_seconds)
{
	struct leader *l;

	if (ns == NULL || *ns == '\0' || name == NULL || *name == '\0') {
		log_error("leader election: the lease needs a namespace and a name");
		return NULL;
	}
	if (identity == NULL || *identity == '\0') {
		log_error("lease %s/%s: the holder identity is empty", ns, name);
		return NULL;
	}
	if (lease_seconds < 1 || lease_seconds > LEASE_SECONDS_MAX) {
		log_error("lease %s/%s: a lease duration of %d s is not in 1..%d", ns, name,
		    lease_seconds, LEASE_SECONDS_MAX);
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	l->k = k;
	l->ns = xstrdup(ns);
	l->name = xstrdup(name);
	l->identity = xstrdup(identity);
	l->lease_seconds = lease_seconds;
	l->renew_deadline = lease_seconds * 2.0 / 3.0;
	l->retry_period = lease_seconds * 2.0 / 15.0;
	return l;
}

void
leader_free(struct leader *l)
{
	if (l == NULL)
		return;
	if (l->started)
		ev_timer_stop(l->loop, &l->timer);
	cJSON_Delete(l->lease);
	free(l->spec_seen);
	free(l->holder);
	free(l->waiting_for);
	free(l->identity);
	free(l->name);
	free(l->ns);
	free(l);
}

int
leader_try_acquire(struct leader *l)
{
	switch (attempt(l)) {
	case ATTEMPT_LEADER: return 1;
	case ATTEMPT_HELD:
	case ATTEMPT_RACE: return 0;
	default: return -1;
	}
}

static void
note_waiting(struct leader *l)
{
	if (l->waiting_for != NULL && strcmp(l->waiting_for, l->holder) == 0)
		return;
	log_info("waiting for lease %s/%s held by %s (leaseDurationSeconds %d)", l->ns,
	    l->name, l->holder, l->duration);
	free(l->waiting_for);
	l->waiting_for = xstrdup(l->holder);
}

/* Sleeps for the retry period less up to a quarter (jitter, so that
 * contenders started together spread out while a released Lease is still
 * taken within one retry period), watching *stop.  0, or -1 once *stop is
 * set. */
static int
pause_retry(const struct leader *l, volatile sig_atomic_t *stop)
{
	double jitter = (double)randombytes_uniform(1001) / 1000.0 * 0.25;
	long left = (long)(l->retry_period * (1.0 - jitter) * 1000.0);

	while (left > 0) {
		long ms = left < STOP_POLL_MS ? left : STOP_POLL_MS;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		if (stop != NULL && *stop)
			return -1;
		if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
			break;
		left -= ms;
	}
	return stop != NULL && *stop ? -1 : 0;
}

int
leader_acquire(struct leader *l, volatile sig_atomic_t *stop)
{
	log_info("lease %s/%s: trying to acquire it as %s (lease %d s, renew deadline %.1f s, "
	    "retry period %.1f s)", l->ns, l->name, l->identity, l->lease_seconds,
	    l->renew_deadline, l->retry_period);
	for (;;) {
		enum attempt a;

		if (stop != NULL && *stop)
			return -1;
		a = attempt(l);
		if (a == ATTEMPT_LEADER)
			return 0;
		if (a == ATTEMPT_HELD)
			note_waiting(l);
		if (pause_retry(l, stop) != 0) {
			log_info("lease %s/%s: stopped waiting", l->ns, l->name);
			return -1;
		}
	}
}

/* Stops renewing and tells the caller; l may be freed by lost(), so it is
 * not touched after. */
static void
give_up(struct leader *l)
{
	ev_timer_stop(l->loop, &l->timer);
	l->started = 0;
	l->leading = 0;
	l->lost(l->lost_arg);
}

static void
on_renew(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct leader *l = t->data;
	enum attempt a;
	double since;

	(void)loop;
	(void)revents;
	a = attempt(l);
	if (a == ATTEMPT_LEADER)
		return;
	if (a == ATTEMPT_HELD) {
		log_warn("lease %s/%s: lost: held by %s now", l->ns, l->name, l->holder);
		give_up(l);
		return;
	}
	since = mono_now() - l->renewed_at;
	if (since >= l->renew_deadline) {
		log_warn("lease %s/%s: lost: no renew succeeded for %.1f s (renew deadline %.1f s)",
		    l->ns, l->name, since, l->renew_deadline);
		give_up(l);
		return;
	}
	log_warn("lease %s/%s: renew failed; %.1f s left before the renew deadline", l->ns,
	    l->name, l->renew_deadline - since);
}

void
leader_start(struct leader *l, struct ev_loop *loop, void (*lost)(void *arg), void *arg)
{
	if (l->started)
		ev_timer_stop(l->loop, &l->timer);
	l->loop = loop;
	l->lost = lost;
	l->lost_arg = arg;
	/* Each renew step one request: the retry period is the back-off, and
	 * a client retrying inside the step would block the loop for seconds
	 * (a Retry-After for up to a minute) past the renew deadline. */
	k8s_set_retries(l->k, 0);
	ev_timer_init(&l->timer, on_renew, l->retry_period, l->retry_period);
	l->timer.data = l;
	ev_timer_start(loop, &l->timer);
	l->started = 1;
}

int
leader_is_leader(const struct leader *l)
{
	return l->leading && is_ours(l) && mono_now() - l->renewed_at < l->renew_deadline;
}

const char *
leader_holder(const struct leader *l)
{
	return l->holder != NULL ? l->holder : "";
}

/* Writes the released spec with the version last seen.  A k8s result. */
static int
write_release(struct leader *l)
{
	char ts[64];

	microtime_now(ts, sizeof(ts));
	/* As client-go's release: no holder, a 1 s duration, the count kept. */
	return write_spec(l, spec_new("", 1, ts, ts, transitions_seen(l)), mono_now());
}

int
leader_release(struct leader *l)
{
	cJSON *got = NULL;
	int rc;

	if (l->started) {
		ev_timer_stop(l->loop, &l->timer);
		l->started = 0;
	}
	l->leading = 0;
	if (l->lease == NULL || !is_ours(l))
		return 0;
	rc = write_release(l);
	if (rc == K8S_CONFLICT) {
		/* Written since we last saw it: release only if still ours. */
		rc = k8s_lease_get(l->k, l->ns, l->name, &got);
		if (rc == K8S_NOT_FOUND)
			return 0;
		if (rc == 0) {
			observe(l, got, mono_now());
			if (!is_ours(l)) {
				log_info("lease %s/%s: not released: %s%s", l->ns, l->name,
				    l->holder[0] != '\0' ? "held by " : "no holder",
				    l->holder);
				return 0;
			}
			rc = write_release(l);
		}
	}
	if (rc != 0) {
		log_error("lease %s/%s: could not release it; a standby takes over once it "
		    "expires", l->ns, l->name);
		return -1;
	}
	log_info("lease %s/%s: released by %s", l->ns, l->name, l->identity);
	return 0;
}
