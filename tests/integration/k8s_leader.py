#!/usr/bin/env python3
# k8s_leader.py: leader election (runner/leader.c) against the Kubernetes
# API test server (tests/fakes/k8s_api.py), driven through
# tests/unit/test_k8s's "leader" and "leader-try" modes, several driver
# processes contending for one Lease as scheduler replicas would.  The
# Lease is checked by reading it from the fake's API (GET), the requests
# from the fake's log, times with this process's monotonic clock.
# Covered: the Lease created with its fields; renewed every retry period;
# a second contender waits while the first renews; the first killed with
# SIGKILL: the second takes over after about the lease duration (still
# waiting at half of it), leaseTransitions incremented; a release hands
# over within one retry period; two contenders started at the same instant
# (no Lease, or a released one): exactly one leader, five times; 409
# Conflict on a renew (injected, and a real stale resourceVersion) handled
# by reading again, while a standby stays a follower; 500 and 429 during
# renew within the renew deadline keep the leadership; an outage longer
# than the renew deadline, or another holder appearing, calls lost()
# once.  Prints TAP.
import datetime
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("STA_BUILDDIR", os.path.join(SRC, "build", "release"))
DRIVER = os.path.join(BUILD, "tests", "unit", "test_k8s")
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
from tap import ok, run_main  # noqa: E402
from k8s_env import FakeCluster  # noqa: E402

T = tempfile.mkdtemp(prefix="sta-leader-")
# The drivers authenticate as "main" or "standby" so the fake's request log
# tells them apart; this test reads the Lease as "observer".
TOKENS = {"main": "leader-main-t0ken", "standby": "leader-standby-t0ken", "observer": "observer-t0ken"}
KCS = {}
NS = "sta-ha"
L = 3                     # lease duration, seconds
RETRY = L * 2 / 15        # client-go's 15 s / 10 s / 2 s ratios
DEADLINE = L * 2 / 3
MICROTIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
cl = None                 # the FakeCluster, its files in T
cleanup = []              # run by finish(), the last added first
drivers = []


def lease_path(name):
    return f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/{name}"


def get_lease(name):
    st, obj = cl.call("GET", lease_path(name))
    return obj if st == 200 else None


def spec(name):
    obj = get_lease(name)
    return obj["spec"] if obj else {}


def fault(f):
    cl.control("/_fake/fault", f)


def mark():
    return len(cl.requests_seen())


def lease_requests(name, since=0, who="main"):
    """(method, status) of the Lease requests the drivers authenticated as who
    made since the request log's index since (a POST names no Lease: every
    create counts)."""
    coll = lease_path(name).rsplit("/", 1)[0]
    return [(r[0], r[3]) for r in cl.requests_seen()[since:] if r[2] == "token:" + TOKENS[who]
            and (r[1] == coll + "/" + name or (r[0] == "POST" and r[1] == coll))]


def parse_microtime(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


class Driver:
    """A driver process; reader threads stamp each line with time.monotonic()."""

    def __init__(self, args, env=None, who="main"):
        e = cl.env(kubeconfig=False)
        e.update({"HOME": T, "STA_K8S_BACKOFF_MS": "50"})
        e.update(env or {})
        self.p = subprocess.Popen([DRIVER, "--kubeconfig", KCS[who]] + args, env=e, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.out, self.err = [], []
        self.cv = threading.Condition()
        self.threads = [threading.Thread(target=self.read, args=(s, lst), daemon=True)
                        for s, lst in ((self.p.stdout, self.out), (self.p.stderr, self.err))]
        for t in self.threads:
            t.start()
        drivers.append(self)

    def read(self, stream, lst):
        for line in stream:
            with self.cv:
                lst.append((time.monotonic(), line.rstrip("\n")))
                self.cv.notify_all()

    def when(self, prefix, timeout=0):
        """Time the first stdout line starting with prefix arrived, waiting up to timeout; None if not."""
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for t, line in self.out:
                    if line.startswith(prefix):
                        return t
                left = end - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and all(not th.is_alive() for th in self.threads)):
                    return None
                self.cv.wait(min(left, 0.05))

    def lines(self, prefix):
        with self.cv:
            return [line for _, line in self.out if line.startswith(prefix)]

    def log(self):
        with self.cv:
            return "\n".join(line for _, line in self.err)

    def log_count(self, text):
        with self.cv:
            return sum(1 for _, line in self.err if text in line)

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def finish(self, timeout=15):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        for t in self.threads:
            t.join(5)
        return self.p.returncode

    def detail(self):
        with self.cv:
            return "\n".join(f"{t:.3f} {line}" for t, line in self.out + self.err)


def leader(name, ident, env=None, start_at=0.0, hold=0.0, who="main"):
    return Driver(["leader", NS, name, ident, str(L), repr(start_at), repr(hold)], env, who)


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def main():
    global cl
    cl = FakeCluster(T, namespace=NS, token=TOKENS["observer"], tokens=[TOKENS["main"], TOKENS["standby"]])
    cleanup.extend([cl.stop, kill_drivers])
    for who in ("main", "standby"):
        KCS[who] = cl.write_kubeconfig("kubeconfig-" + who,
                                       f"    server: {cl.server}\n    certificate-authority-data: {cl.b64('ca.crt')}",
                                       f"    token: {TOKENS[who]}")
    takeover_and_release()
    simultaneous()
    conflicts()
    faults_and_outage()
    intruder()
    reports = [d.log() for d in drivers if "Sanitizer" in d.log() or "runtime error" in d.log()]
    ok(not reports, f"no sanitizer reports from {len(drivers)} driver runs", "\n".join(reports))


def takeover_and_release():
    # --- created when none exists ---
    before = datetime.datetime.now(datetime.timezone.utc)
    a = leader("sched", "alpha")
    t_a = a.when("ACQUIRED", 10)
    after = datetime.datetime.now(datetime.timezone.utc)
    ok(t_a is not None and a.lines("ACQUIRED") == ["ACQUIRED alpha 1"], "first contender acquires", a.detail())
    ok(("POST", 201) in lease_requests("sched"), "it created the Lease (POST answered 201)", lease_requests("sched"))
    obj = get_lease("sched") or {}
    s = obj.get("spec", {})
    ok(obj.get("apiVersion") == "coordination.k8s.io/v1" and obj.get("kind") == "Lease"
       and obj.get("metadata", {}).get("name") == "sched", "the object is a coordination.k8s.io/v1 Lease", obj)
    ok(s.get("holderIdentity") == "alpha" and s.get("leaseDurationSeconds") == L and s.get("leaseTransitions") == 0,
       "holderIdentity, leaseDurationSeconds, leaseTransitions 0", s)
    times_ok = all(MICROTIME.match(str(s.get(k, ""))) for k in ("acquireTime", "renewTime"))
    ok(times_ok, "acquireTime and renewTime are MicroTime (6 fraction digits, Z)", s)
    if times_ok:
        acq = parse_microtime(s["acquireTime"])
        ok(before - datetime.timedelta(seconds=1) <= acq <= after + datetime.timedelta(seconds=1),
           "acquireTime is the time it was acquired", f"{before} {acq} {after}")
    ok("acquired as alpha (created it)" in a.log(), "the acquisition is logged", a.log())

    # --- renewed every retry period ---
    rv0 = int(obj.get("metadata", {}).get("resourceVersion", "0"))
    puts0 = sum(1 for r in lease_requests("sched") if r == ("PUT", 200))
    time.sleep(2.0)
    s2 = spec("sched")
    puts = sum(1 for r in lease_requests("sched") if r == ("PUT", 200)) - puts0
    rv2 = int((get_lease("sched") or {}).get("metadata", {}).get("resourceVersion", "0"))
    ok(2.0 / RETRY - 2 <= puts <= 2.0 / RETRY + 1, f"renewed every retry period ({puts} renews in 2 s, "
       f"retry period {RETRY:.2f} s)", lease_requests("sched"))
    ok(rv2 > rv0 and s2.get("renewTime", "") > s.get("renewTime", "") and s2.get("acquireTime") == s.get("acquireTime")
       and s2.get("leaseTransitions") == 0 and s2.get("holderIdentity") == "alpha",
       "a renew moves renewTime only", f"{s}\n{s2}")

    # --- a second contender waits while the first renews ---
    d = Driver(["leader-try", NS, "sched", "delta", str(L)], who="standby")
    d.finish()
    ok(d.lines("RESULT") == ["RESULT 0 alpha"] and spec("sched").get("holderIdentity") == "alpha",
       "leader_try_acquire on a held Lease: 0, the holder named, the Lease unchanged", d.detail())
    b = leader("sched", "beta", who="standby")
    t_b = b.when("ACQUIRED", 2.5 * L)
    ok(t_b is None and b.when("STARTED", 1) is not None, f"the second contender has not acquired in {2.5 * L:.1f} s",
       b.detail())
    ok(b.log_count("waiting for lease sta-ha/sched held by alpha") == 1,
       "it logged once that it waits for alpha", b.log())
    ok(spec("sched").get("holderIdentity") == "alpha" and not a.lines("LOST"), "alpha still holds it", a.detail())

    # --- the first stops renewing (SIGKILL): the second takes over after about the lease duration ---
    s_before = spec("sched")
    a.p.kill()
    t_kill = time.monotonic()
    a.finish()
    t_b = b.when("ACQUIRED", 2 * L)
    delay = (t_b - t_kill) if t_b else None
    ok(delay is not None and delay > L / 2, "at half the lease duration after the kill the second still waited",
       b.detail())
    ok(t_b is not None and L - 2 * RETRY <= delay <= L + 2.0,
       f"the second acquires about the lease duration after the last renew "
       f"({delay if delay is None else round(delay, 2)} s after the kill, lease {L} s)", b.detail())
    s3 = spec("sched")
    ok(s3.get("holderIdentity") == "beta" and s3.get("leaseTransitions") == 1
       and s3.get("acquireTime", "") > s_before.get("acquireTime", "~"),
       "holder beta, leaseTransitions 1, a new acquireTime", s3)
    ok("acquired as beta (taken over from alpha" in b.log(), "the takeover is logged", b.log())

    # --- release: a standby takes over within one retry period ---
    g = leader("sched", "gamma")
    ok(wait_for(lambda: g.log_count("waiting for lease sta-ha/sched held by beta") == 1, 5),
       "a third contender waits for beta", g.detail())
    b.signal(signal.SIGTERM)
    t_rel = b.when("RELEASED", 10)
    t_g = g.when("ACQUIRED", L)
    ok(b.finish() == 0 and b.lines("RELEASED") == ["RELEASED 0"] and "released by beta" in b.log(),
       "SIGTERM: the leader releases the Lease and exits", b.detail())
    gap = t_g - t_rel if t_g and t_rel else None
    ok(gap is not None and gap <= RETRY + 0.3,
       f"the standby acquires within one retry period of the release "
       f"({gap if gap is None else round(gap, 3)} s, retry period {RETRY:.2f} s)", g.detail())
    s4 = spec("sched")
    ok(s4.get("holderIdentity") == "gamma" and s4.get("leaseTransitions") == 2 and "it was released" in g.log(),
       "holder gamma, leaseTransitions 2, taken as released", f"{s4}\n{g.log()}")
    g.signal(signal.SIGTERM)
    g.finish()

    # what a release writes, read back while nobody contends
    h = leader("held", "eta", hold=0.5)
    rc = h.finish()
    s5 = spec("held")
    ok(rc == 0 and s5.get("holderIdentity") == "" and s5.get("leaseDurationSeconds") == 1
       and s5.get("leaseTransitions") == 0 and MICROTIME.match(s5.get("renewTime", "")),
       "a released Lease: holderIdentity \"\", leaseDurationSeconds 1, leaseTransitions kept", f"{s5}\n{h.detail()}")
    w = leader("held", "theta")
    t_w = w.when("ACQUIRED", 5)
    ok(t_w is not None and spec("held").get("leaseTransitions") == 1, "a released Lease is taken at once",
       w.detail())
    w.signal(signal.SIGTERM)
    w.finish()


def simultaneous():
    races = 0
    for i in range(5):
        name = f"race{i}"
        released = i % 2 == 1
        if released:
            cl.call("POST", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases",
                    {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name},
                     "spec": {"holderIdentity": "", "leaseDurationSeconds": 1, "leaseTransitions": 7,
                              "acquireTime": "2024-01-01T00:00:00.000000Z",
                              "renewTime": "2024-01-01T00:00:00.000000Z"}})
        n0 = mark()
        at = time.time() + 1.0
        ds = [leader(name, f"twin{i}-{j}", start_at=at) for j in (1, 2)]
        for d in ds:
            d.when("ACQUIRED", 4)
        time.sleep(4 * RETRY)      # the loser has tried again several times by now
        winners = [d for d in ds if d.lines("ACQUIRED")]
        holder = spec(name).get("holderIdentity")
        loser_waits = all(d.log_count(f"held by {holder}") >= 1 for d in ds if d not in winners)
        reqs = lease_requests(name, n0)
        if (not released and sum(1 for r in reqs if r[0] == "POST") >= 2) or (released and ("PUT", 409) in reqs):
            races += 1
        ok(len(winners) == 1 and holder == winners[0].lines("ACQUIRED")[0].split()[1] and loser_waits
           and spec(name).get("leaseTransitions") == (8 if released else 0),
           f"started together on {'a released' if released else 'no'} Lease: exactly one leader, the holder",
           "\n---\n".join(d.detail() for d in ds) + f"\n{spec(name)}\n{reqs}")
        # the follower first: stopped after the leader, it could take the
        # Lease the leader releases before its own signal arrives
        codes = []
        for d in sorted(ds, key=lambda d: d in winners):
            d.signal(signal.SIGTERM)
            codes.append(d.finish())
        ok(sorted(codes) == [0, 4], "the leader released, the follower stopped waiting", codes)
    # Whether both wrote the same version depends on timing (a loaded
    # machine spreads them out); the conflict path itself is asserted
    # below with an injected 409 and a real stale version.
    print(f"# the contenders really raced (both wrote the same version) in {races} of 5 rounds")


def conflicts():
    e = leader("conf", "epsilon")
    ok(e.when("ACQUIRED", 10) is not None, "leader for the conflict tests", e.detail())
    f = leader("conf", "phi", who="standby")
    ok(wait_for(lambda: f.log_count("waiting for lease sta-ha/conf held by epsilon") == 1, 5),
       "a standby waits", f.detail())
    n0 = mark()
    fault({"method": "PUT", "path": "/leases/conf$", "status": 409, "count": 2})
    time.sleep(4 * RETRY)
    reqs = lease_requests("conf", n0)
    ok(("PUT", 409) in reqs and reqs[reqs.index(("PUT", 409)) + 1] == ("GET", 200),
       "a 409 on the renew is followed by reading the Lease again", reqs)
    ok(reqs.count(("PUT", 409)) == 2 and reqs[-1] == ("PUT", 200), "then renewed", reqs)
    # a real stale resourceVersion: someone else writes the object (same
    # spec).  The mark comes first: the leader's next renew may meet the
    # conflict before this returns; and a renew between this GET and PUT
    # makes this write the stale one, so it reads again.
    n1 = mark()
    for _ in range(5):
        st, cur = cl.call("GET", lease_path("conf"))
        cur["metadata"].setdefault("annotations", {})["touched-by"] = "test"
        st, _ = cl.call("PUT", lease_path("conf"), cur)
        if st != 409:
            break
    time.sleep(4 * RETRY)
    reqs = lease_requests("conf", n1)
    ok(st == 200 and ("PUT", 409) in reqs and reqs[-1] == ("PUT", 200),
       "a real stale resourceVersion: 409, read again, renewed", reqs)
    ok(not e.lines("LOST") and e.when("ACQUIRED") is not None and f.when("ACQUIRED") is None
       and spec("conf").get("holderIdentity") == "epsilon", "no leadership lost, no second leader", e.detail())
    ok("reading it again" in e.log(), "the conflict is logged", e.log())
    for d in (e, f):
        d.signal(signal.SIGTERM)
        d.finish()


def faults_and_outage():
    # leader_start turns the client's retries off: each fault fails one request
    env = {"STA_K8S_RETRIES": "5"}
    g = leader("flaky", "kappa", env)
    ok(g.when("ACQUIRED", 10) is not None, "leader for the fault tests", g.detail())
    time.sleep(RETRY)
    r0 = spec("flaky").get("renewTime", "")
    fault({"path": "/leases/flaky$", "status": 500, "count": 3})
    wait_for(lambda: lease_requests("flaky").count(("GET", 500)) >= 1 and lease_requests("flaky")[-1] == ("PUT", 200),
             DEADLINE + 1)
    fault({"path": "/leases/flaky$", "status": 429, "retry_after": 1, "count": 2})
    time.sleep(DEADLINE + 1)
    reqs = lease_requests("flaky")
    ok(reqs.count(("PUT", 500)) + reqs.count(("GET", 500)) == 3 and reqs.count(("PUT", 429)) + reqs.count(
        ("GET", 429)) == 2, "the 500 and 429 faults were met", reqs)
    ok(not g.lines("LOST") and spec("flaky").get("renewTime", "") > r0 and spec("flaky").get("holderIdentity") == "kappa",
       "500 and 429 within the renew deadline: still the leader, renewing", g.detail())
    ok(g.log_count("renew failed;") >= 1, "the failed renews are logged with the time left", g.log())
    ok(g.log_count("; retry 1 in") == 0, "no client retries inside a renew (leader_start set them to 0)", g.log())
    g.signal(signal.SIGTERM)
    ok(g.finish() == 0, "then released normally", g.detail())

    o = leader("outage", "omega", env)
    ok(o.when("ACQUIRED", 10) is not None, "leader for the outage test", o.detail())
    time.sleep(RETRY / 2)
    fault({"path": "/leases/outage$", "status": 500, "count": 1000000})
    t_out = time.monotonic()
    t_lost = o.when("LOST", DEADLINE + 5)
    took = t_lost - t_out if t_lost else None
    ok(t_lost is not None and DEADLINE - RETRY - 0.2 <= took <= DEADLINE + 2 * RETRY + 1.0,
       f"an outage longer than the renew deadline calls lost() "
       f"({took if took is None else round(took, 2)} s after it began, deadline {DEADLINE:.2f} s)", o.detail())
    ok(o.finish() == 3 and o.lines("LOST") == ["LOST"] and o.lines("LEADER") == ["LEADER 0"],
       "lost() called once, leader_is_leader 0 after", o.detail())
    ok("lost: no renew succeeded for" in o.log(), "the loss is logged with its cause", o.log())


def intruder():
    a = leader("taken", "iota")
    ok(a.when("ACQUIRED", 10) is not None, "leader for the intruder test", a.detail())
    st, cur = cl.call("GET", lease_path("taken"))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cur["spec"].update(holderIdentity="intruder", acquireTime=now, renewTime=now, leaseTransitions=1)
    st, _ = cl.call("PUT", lease_path("taken"), cur)
    t_put = time.monotonic()
    t_lost = a.when("LOST", 5)
    took = t_lost - t_put if t_lost else None
    ok(st == 200 and t_lost is not None and took <= 2 * RETRY + 0.5,
       f"another holder found at the next renew calls lost() ({took if took is None else round(took, 2)} s)",
       a.detail())
    ok(a.finish() == 3 and "lost: held by intruder now" in a.log() and spec("taken").get("holderIdentity") == "intruder",
       "logged; the intruder's Lease is left alone", a.detail())


def kill_drivers():
    for d in drivers:
        if d.p.poll() is None:
            d.p.kill()
            d.p.wait()


if __name__ == "__main__":
    run_main(main, T, cleanup)
