/*
 * leader.h: leader election through a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection package does it, so that of several
 * scheduler replicas exactly one schedules.
 *
 * The Lease's spec holds holderIdentity, leaseDurationSeconds,
 * acquireTime and renewTime (MicroTime, "2006-01-02T15:04:05.000000Z")
 * and leaseTransitions (incremented each time the holder changes).  Every
 * write sends the resourceVersion last read, so of two contenders writing
 * the same version one gets 409 Conflict and stays a follower.
 *
 * Expiry is judged by the observer's own monotonic clock: a lease held by
 * another is taken over only once its spec has not changed for
 * leaseDurationSeconds since this process last saw it change (client-go's
 * observedTime), never by comparing renewTime with the local clock, so
 * clock skew between replicas does not matter (a difference in clock
 * rate does, within the margin below).
 *
 * Timing, from the lease duration L (client-go's 15 s / 10 s / 2 s): the
 * renew deadline is 2L/3 and the retry period 2L/15.  The leader renews
 * every retry period; when no renew has succeeded for the renew deadline
 * it gives up (lost()), which is L/3 before a standby may take over.
 *
 * Requests are lib/k8s.c's blocking ones.  leader_acquire runs before the
 * loop with the client's retries; leader_start sets them to 0, so that a
 * renew on the loop is one to three single requests (renew with the
 * version last written; on failure read, then write) and the retry period
 * is the back-off.  A request still blocks the loop while it lasts (up to
 * lib/k8s.c's 10 s connect and 60 s request timeouts when the API server
 * hangs).  Give the leader a client of its own.
 */
#ifndef STA_LEADER_H
#define STA_LEADER_H

#include <signal.h>

#include <ev.h>

struct k8s;
struct leader;

/* An elector for Lease ns/name under identity (not empty; the scheduler
 * uses $POD_NAME, else hostname and pid) with leaseDurationSeconds
 * lease_seconds (>= 1).  k must outlive it.  NULL after printing why. */
struct leader *leader_new(struct k8s *k, const char *ns, const char *name,
    const char *identity, int lease_seconds);
void leader_free(struct leader *l);

/* One attempt: 1 when this process is now the leader (it created the
 * Lease, took over an expired or released one, or renewed its own), 0
 * when another holds it (or won a race for it: a 409), -1 on an API error
 * (printed). */
int leader_try_acquire(struct leader *l);

/* Blocks until this process is the leader, trying every retry period
 * (with up to a quarter less, as jitter); logs "waiting for lease NS/NAME
 * held by X" once per holder.  0 when leader, -1 once *stop is set (it is
 * checked at least every 100 ms between attempts; stop may be NULL). */
int leader_acquire(struct leader *l, volatile sig_atomic_t *stop);

/* Renews on loop every retry period (an ev_timer), with the client's
 * retries set to 0 (k8s_set_retries).  When no renew has succeeded for
 * the renew deadline, or the Lease is found held by another, calls
 * lost(arg) once and stops renewing; lost() may free l.  Call after
 * leader_acquire (or leader_try_acquire) returned leadership. */
void leader_start(struct leader *l, struct ev_loop *loop,
    void (*lost)(void *arg), void *arg);

/* 1 while this process holds the Lease and its last successful renew
 * was sent less than the renew deadline ago: no other replica can have
 * taken over.  Check it before acting as the leader after the loop may
 * have been blocked. */
int leader_is_leader(const struct leader *l);

/* Clean shutdown: stops renewing and, when this process holds the Lease,
 * writes holderIdentity "" (client-go's ReleaseOnCancel) so a standby
 * takes over at its next attempt instead of waiting for expiry.  0 when
 * released or not held, -1 on an API error (printed). */
int leader_release(struct leader *l);

/* The identity of the holder last seen ("" for none or released; owned
 * by l). */
const char *leader_holder(const struct leader *l);

#endif
