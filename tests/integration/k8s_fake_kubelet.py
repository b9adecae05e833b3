#!/usr/bin/env python3
# k8s_fake_kubelet.py: the kubelet mode of the Kubernetes API test server
# (tests/fakes/k8s_api.py --kubelet), driven with http.client (not our C
# client), so the executor's tests can trust what the fake does.  Expected
# values come from the Kubernetes documentation (pod lifecycle, container
# states, $(VAR) expansion, graceful deletion), not from the fake.
# Covered: exit codes, reasons and logs; signal deaths as 128+N; $(VAR)
# and $$ in commands; a capacity of one keeping a second pod Unschedulable
# until the first ends; activeDeadlineSeconds; ErrImagePull then
# ImagePullBackOff, InvalidImageName; secretKeyRef and envFrom, a missing
# secret (CreateContainerConfigError) until it is posted; graceful DELETE
# (deletionTimestamp, SIGTERM, SIGKILL after the grace period, DELETED);
# the watch's order of events; /_fake/created; the fake's pod objects and
# the posted bodies valid for the Kubernetes schema (tests/fakes/
# k8s_validate.mjs, when node and kubernetes-models are installed); pod
# processes in their own process group and gone once the fake is killed.
# Prints TAP.
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VALIDATE = os.path.join(SRC, "tests", "fakes", "k8s_validate.mjs")
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
from tap import ok, run_main  # noqa: E402
from k8s_env import FakeCluster  # noqa: E402

T = tempfile.mkdtemp(prefix="sta-kubelet-")
NS = "t"
UNSCHED = "0/1 nodes are available: 1 Insufficient cpu."
DEADLINE = "Pod was active on the node longer than the specified deadline"
cl = None              # the FakeCluster, its files in T
cleanup = []           # run by finish(), the last added first
events = []            # (monotonic time, type, object) from the watch
events_lock = threading.Lock()


def pods_path(name=""):
    return f"/api/v1/namespaces/{NS}/pods" + (f"/{name}" if name else "")


def pod(name, command, image="sta:test", env=None, env_from=None, deadline=None, restart="Never"):
    c = {"name": "task", "image": image, "command": command}
    if env:
        c["env"] = env
    if env_from:
        c["envFrom"] = env_from
    spec = {"restartPolicy": restart, "containers": [c]}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/component": "task", "sta/test": name},
                         "annotations": {"sta/try": "1"}},
            "spec": spec}


def create(body):
    st, out = cl.call("POST", pods_path(), body)
    if st != 201:
        raise RuntimeError(f"create {body['metadata']['name']}: {st} {out}")
    return out


def get(name):
    st, out = cl.call("GET", pods_path(name))
    return out if st == 200 else None


def wait_for(pred, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def wait_phase(name, phases, timeout=15):
    return wait_for(lambda: (lambda p: p if p and p["status"].get("phase") in phases else None)(get(name)),
                    timeout)


def cstate(p):
    return ((p or {}).get("status", {}).get("containerStatuses") or [{}])[0].get("state", {})


def condition(p, ctype):
    return next((c for c in (p or {}).get("status", {}).get("conditions", []) if c["type"] == ctype), {})


def log(name, query=""):
    return cl.call("GET", pods_path(name) + "/log" + query)


def fake_pods():
    st, out = cl.call("GET", "/_fake/pods")
    return {p["name"]: p for p in out}


def pid_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def watcher():
    c = cl.conn(timeout=None)
    c.request("GET", pods_path() + "?watch=1&resourceVersion=" + START_RV,
              headers={"Authorization": "Bearer " + cl.token})
    r = c.getresponse()
    while True:
        line = r.readline()
        if not line:
            return
        ev = json.loads(line)
        with events_lock:
            events.append((time.monotonic(), ev["type"], ev["object"]))


def events_of(name):
    with events_lock:
        return [(t, typ, o) for t, typ, o in events if o["metadata"].get("name") == name]


def test_exit_and_log():
    create(pod("exit3", ["sh", "-c", "echo hi; exit 3"]))
    create(pod("both", ["sh", "-c", "echo out; echo err >&2; echo out2"]))
    p = wait_phase("exit3", ("Succeeded", "Failed"))
    term = cstate(p).get("terminated", {})
    ok(p and p["status"]["phase"] == "Failed" and term.get("exitCode") == 3 and term.get("reason") == "Error",
       "exit 3: phase Failed, terminated exitCode 3, reason Error", p and p["status"])
    ok(log("exit3") == (200, "hi\n"), "exit 3: the log is the process's output", log("exit3"))
    p = wait_phase("both", ("Succeeded", "Failed"))
    term = cstate(p).get("terminated", {})
    ok(p and p["status"]["phase"] == "Succeeded" and term.get("exitCode") == 0 and term.get("reason") == "Completed"
       and term.get("startedAt") and term.get("finishedAt"), "exit 0: Succeeded, reason Completed, times",
       p and p["status"])
    ok(log("both") == (200, "out\nerr\nout2\n"), "stdout and stderr interleaved in the log", log("both"))
    cs = (p["status"].get("containerStatuses") or [{}])[0] if p else {}
    ok(cs.get("name") == "task" and cs.get("image") == "sta:test" and cs.get("restartCount") == 0
       and p["status"].get("startTime") and p["spec"].get("nodeName"),
       "container status names the container and image; startTime and nodeName set", cs)
    # $(VAR) is expanded from the container's env, $$ is a literal $ (both in the kubelet's rules)
    create(pod("expand", ["echo", "$(X)", "$$(X)", "$(NOPE)", "a$b", "$$$$"], env=[
        {"name": "X", "value": "abc"}, {"name": "Y", "value": "<$(X)>"}]))
    create(pod("expand-env", ["sh", "-c", "echo \"$$Y\""], env=[
        {"name": "X", "value": "abc"}, {"name": "Y", "value": "<$(X)$(Z)>"}, {"name": "Z", "value": "z"}]))
    wait_phase("expand", ("Succeeded", "Failed"))
    ok(log("expand") == (200, "abc $(X) $(NOPE) a$b $$\n"), "command: $(VAR) expanded, $$ is $, others kept",
       log("expand"))
    wait_phase("expand-env", ("Succeeded", "Failed"))
    ok(log("expand-env") == (200, "<abc$(Z)>\n"), "env value: only earlier variables expand", log("expand-env"))
    # a death by signal: 128 + its number
    create(pod("sig", ["sh", "-c", "kill -USR1 $$$$"]))
    p = wait_phase("sig", ("Succeeded", "Failed"))
    code = cstate(p).get("terminated", {}).get("exitCode")
    ok(code == 128 + signal.SIGUSR1, "killed by SIGUSR1: exitCode 128+10", code)
    create(pod("noexec", ["/nonexistent/prog"]))
    p = wait_phase("noexec", ("Succeeded", "Failed"))
    term = cstate(p).get("terminated", {})
    ok(term.get("exitCode") == 128 and term.get("reason") == "StartError" and "/nonexistent/prog" in term.get(
        "message", ""), "a missing executable: exitCode 128, StartError", term)


def test_watch_order():
    ev = events_of("exit3")
    seq = []
    for _, typ, o in ev:
        st = o["status"]
        step = (typ, st.get("phase"), condition(o, "PodScheduled").get("status"),
                next(iter(cstate(o)), None))
        if not seq or seq[-1] != step:
            seq.append(step)
    want = [("ADDED", "Pending", None, None),
            ("MODIFIED", "Pending", "True", None),
            ("MODIFIED", "Pending", "True", "waiting"),
            ("MODIFIED", "Running", "True", "running"),
            ("MODIFIED", "Failed", "True", "terminated")]
    ok(seq == want, "watch: ADDED Pending, scheduled, ContainerCreating, Running, Failed in that order", seq)
    rvs = [int(o["metadata"]["resourceVersion"]) for _, _, o in ev]
    ok(rvs == sorted(set(rvs)), "every event has a new, larger resourceVersion", rvs)
    ok(cstate(ev[2][2]).get("waiting", {}).get("reason") == "ContainerCreating" and ev[2][2]["status"].get(
        "startTime"), "placed: startTime set, container waiting in ContainerCreating", ev[2][2]["status"])


def test_capacity():
    cl.call("POST", "/_fake/capacity", {"pods": 1})
    create(pod("cap-a", ["sh", "-c", "sleep 1.5; echo a"]))
    create(pod("cap-b", ["sh", "-c", "echo b"]))
    b = wait_for(lambda: (lambda p: p if condition(p, "PodScheduled").get("reason") == "Unschedulable" else None)(
        get("cap-b")), 5)
    a = get("cap-a")
    c = condition(b, "PodScheduled")
    ok(a and a["status"]["phase"] == "Running" and b and b["status"]["phase"] == "Pending"
       and c.get("status") == "False" and c.get("message") == UNSCHED,
       "capacity 1: the second pod Pending, PodScheduled False Unschedulable, 'Insufficient cpu'",
       (a and a["status"], b and b["status"]))
    ok(b is not None and not b["spec"].get("nodeName") and not b["status"].get("startTime"),
       "the unschedulable pod has no node and no startTime", b and b["status"])
    wait_phase("cap-b", ("Succeeded", "Failed"), 10)
    a_end = [t for t, typ, o in events_of("cap-a") if o["status"].get("phase") == "Succeeded"]
    b_placed = [t for t, typ, o in events_of("cap-b") if condition(o, "PodScheduled").get("status") == "True"]
    ok(a_end and b_placed and b_placed[0] >= a_end[0], "the second pod was placed only after the first ended",
       (a_end, b_placed))
    ok(log("cap-b") == (200, "b\n"), "then it ran", log("cap-b"))
    cl.call("POST", "/_fake/capacity", {"pods": None})


def test_deadline():
    t0 = time.time()
    create(pod("deadline", ["sleep", "30"], deadline=1))
    pid = wait_for(lambda: fake_pods().get("deadline", {}).get("pid"), 5)
    p = wait_phase("deadline", ("Succeeded", "Failed"), 10)
    took = time.time() - t0
    term = cstate(p).get("terminated", {})
    st = (p or {}).get("status", {})
    ok(st.get("phase") == "Failed" and st.get("reason") == "DeadlineExceeded" and st.get("message") == DEADLINE,
       "activeDeadlineSeconds 1: Failed, DeadlineExceeded, the kubelet's message", st)
    ok(term.get("exitCode") == 137 and term.get("reason") == "Error", "the container was killed: 137, Error", term)
    ok(1.0 <= took < 5, f"ended after the deadline, not the sleep ({took:.1f}s)")
    ok(pid and pid_gone(pid), "the process is gone", pid)


def test_images():
    create(pod("pull", ["true"], image="registry.invalid/team/pull-error:1"))
    create(pod("invalid", ["true"], image="invalid-image"))
    create(pod("upper", ["true"], image="Sta:Dev"))
    reasons = []

    def backoff():
        w = cstate(get("pull")).get("waiting", {})
        if not reasons or reasons[-1] != w.get("reason"):
            reasons.append(w.get("reason"))
        return w.get("reason") == "ImagePullBackOff"
    wait_for(backoff, 5)
    p = get("pull")
    w = cstate(p).get("waiting", {})
    ok([r for r in reasons if r in ("ErrImagePull", "ImagePullBackOff")] == ["ErrImagePull", "ImagePullBackOff"]
       or ("ErrImagePull" in [cstate(o).get("waiting", {}).get("reason") for _, _, o in events_of("pull")]
           and w.get("reason") == "ImagePullBackOff"),
       "pull-error image: ErrImagePull, then ImagePullBackOff", reasons)
    ok(p["status"]["phase"] == "Pending" and "registry.invalid/team/pull-error:1" in w.get("message", ""),
       "the pod stays Pending, the message names the image", p["status"])
    st, out = log("pull")
    ok(st == 400 and "waiting to start" in str(out), "log of a container that never started: 400", (st, out))
    for name in ("invalid", "upper"):
        r = wait_for(lambda: cstate(get(name)).get("waiting", {}).get("reason") == "InvalidImageName", 5)
        ok(r and get(name)["status"]["phase"] == "Pending", f"{name}: InvalidImageName, Pending", get(name))
    for name in ("pull", "invalid", "upper"):
        cl.call("DELETE", pods_path(name))
    ok(wait_for(lambda: all(get(n) is None for n in ("pull", "invalid", "upper")), 5),
       "pods waiting for their image are deleted")


def test_secrets():
    env = [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
           {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    create(pod("secret", ["sh", "-c", "echo $$PASSWORD $$DB_user $$NAME $$HOSTNAME"], env=env,
               env_from=[{"secretRef": {"name": "db"}, "prefix": "DB_"}]))
    wait_phase("secret", ("Succeeded", "Failed"))
    ok(log("secret") == (200, "s3cret etl secret secret\n"),
       "secretKeyRef, envFrom secretRef with prefix, fieldRef and HOSTNAME reach the process", log("secret"))
    create(pod("later", ["sh", "-c", "echo $$K"], env=[
        {"name": "K", "valueFrom": {"secretKeyRef": {"name": "later", "key": "k"}}}]))
    create(pod("nokey", ["true"], env=[
        {"name": "K", "valueFrom": {"secretKeyRef": {"name": "db", "key": "nope"}}}]))
    p = wait_for(lambda: (lambda p: p if cstate(p).get("waiting", {}).get("reason") == "CreateContainerConfigError"
                          else None)(get("later")), 5)
    w = cstate(p).get("waiting", {})
    ok(p and p["status"]["phase"] == "Pending" and w.get("message") == 'secret "later" not found',
       "a missing secret: Pending, CreateContainerConfigError, 'secret \"later\" not found'", p and p["status"])
    p = wait_for(lambda: (lambda p: p if cstate(p).get("waiting") else None)(get("nokey")), 5)
    ok(cstate(p).get("waiting", {}).get("message") == f"couldn't find key nope in Secret {NS}/db",
       "a missing key: the kubelet's message", p and p["status"])
    cl.call("POST", "/_fake/secret", {"namespace": NS, "name": "later", "data": {"k": "posted"}})
    wait_phase("later", ("Succeeded", "Failed"))
    ok(log("later") == (200, "posted\n"), "the pod starts once the secret is posted", log("later"))
    cl.call("DELETE", pods_path("nokey"))


def test_delete():
    # ignores SIGTERM: killed when the grace period (1 s) ends
    create(pod("stubborn", ["sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.1; done"]))
    # leaves on SIGTERM
    create(pod("polite", ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.1; done"]))
    wait_for(lambda: log("stubborn") == (200, "up\n") and log("polite") == (200, "up\n"), 5)
    pids = fake_pods()
    spid, ppid = pids["stubborn"]["pid"], pids["polite"]["pid"]
    ok(spid and os.getpgid(spid) == spid and os.getsid(spid) == spid,
       "a pod's process leads its own session and process group", spid)
    t0 = time.monotonic()
    st, out = cl.call("DELETE", pods_path("stubborn") + "?gracePeriodSeconds=1")
    ok(st == 200 and out["metadata"].get("deletionTimestamp") and out["metadata"].get(
        "deletionGracePeriodSeconds") == 1, "DELETE answers the pod with deletionTimestamp, grace 1", out)
    st, out = cl.call("DELETE", pods_path("polite"))
    ok(st == 200 and out["metadata"].get("deletionGracePeriodSeconds") == 3,
       "without gracePeriodSeconds: terminationGracePeriodSeconds 30, capped by --grace-cap 3", out)
    wait_for(lambda: get("stubborn") is None and get("polite") is None, 10)
    for name, pid, lo, hi in (("stubborn", spid, 0.9, 3), ("polite", ppid, 0, 2)):
        ev = events_of(name)
        kinds = [(typ, bool(o["metadata"].get("deletionTimestamp"))) for _, typ, o in ev]
        first_del = next((i for i, k in enumerate(kinds) if k == ("MODIFIED", True)), None)
        ok(first_del is not None and kinds[-1] == ("DELETED", True) and
           all(k[0] == "MODIFIED" for k in kinds[first_del:-1]),
           f"{name}: MODIFIED with deletionTimestamp, then DELETED last", kinds)
        gone_at = ev[-1][0] - t0 if ev else -1
        ok(lo <= gone_at < hi, f"{name}: DELETED {gone_at:.1f}s after the DELETE (between {lo} and {hi})")
        ok(pid_gone(pid), f"{name}: the process is gone", pid)
    term = [cstate(o).get("terminated") for _, typ, o in events_of("polite") if typ == "MODIFIED"][-1]
    ok(term and term.get("exitCode") == 0, "the SIGTERM reached the process (it left with its trap's exit 0)", term)
    term = [cstate(o).get("terminated") for _, typ, o in events_of("stubborn") if typ == "MODIFIED"][-1]
    ok(term and term.get("exitCode") == 137, "the one ignoring SIGTERM was killed (137)", term)
    st, out = cl.call("DELETE", pods_path("exit3"))
    gone = get("exit3") is None     # at once: before any wait
    wait_for(lambda: events_of("exit3") and events_of("exit3")[-1][1] == "DELETED", 5)
    ok(st == 200 and gone and events_of("exit3")[-1][1] == "DELETED",
       "a finished pod is deleted at once")
    st, out = cl.call("DELETE", pods_path("exit3"))
    ok(st == 404 and out.get("reason") == "NotFound", "deleting it again: 404 NotFound", out)


def test_schema():
    st, created = cl.call("GET", "/_fake/created")
    names = [b["metadata"]["name"] for b in created]
    sent = pod("exit3", ["sh", "-c", "echo hi; exit 3"])
    ok(st == 200 and created[names.index("exit3")] == sent if "exit3" in names else False,
       "/_fake/created returns the body exactly as POSTed", created[:1])
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(SRC, "node_modules", "kubernetes-models")):
        ok(True, "# SKIP node or kubernetes-models not installed: schema not checked")
        return
    st, listed = cl.call("GET", pods_path())
    objs = [dict(p, apiVersion="v1", kind="Pod") for p in listed["items"]]
    for label, what in (("the posted bodies", created), ("the fake's pods, with status", objs)):
        r = subprocess.run([node, VALIDATE], input=json.dumps(what), capture_output=True, text=True, timeout=60)
        ok(r.returncode == 0 and r.stdout.count("\n") == len(what) and len(what) > 5,
           f"{label} are valid Pods for the Kubernetes schema ({len(what)})", r.stdout + r.stderr)


def test_fake_killed(fake):
    pidfile = os.path.join(T, "child.pid")
    create(pod("orphan", ["sh", "-c", "sleep 60 & echo $$! > \"$$PIDFILE\"; wait"],
               env=[{"name": "PIDFILE", "value": pidfile}]))
    pid = wait_for(lambda: fake_pods().get("orphan", {}).get("pid"), 5)
    child = wait_for(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), 5)
    fake.kill()
    fake.wait()
    gone = wait_for(lambda: pid_gone(pid) and pid_gone(int(child)), 5)
    ok(pid and child and gone, "SIGKILL of the fake: its pod's process and that one's child are gone", (pid, child))


def main():
    global cl, START_RV
    secrets = os.path.join(T, "secrets.json")
    with open(secrets, "w") as f:
        json.dump({"db": {"password": "s3cret", "user": "etl"}}, f)
    cl = FakeCluster(T, ["--kubelet", "--secrets", secrets, "--grace-cap", "3", "--pull-backoff-seconds", "0.5"],
                     namespace=NS, token="kubelet-test-token")
    cleanup.append(cl.stop)
    st, lst = cl.call("GET", pods_path())
    START_RV = lst["metadata"]["resourceVersion"]
    threading.Thread(target=watcher, daemon=True).start()
    test_exit_and_log()
    test_watch_order()
    test_capacity()
    test_deadline()
    test_images()
    test_secrets()
    test_delete()
    test_schema()
    test_fake_killed(cl.proc)


if __name__ == "__main__":
    run_main(main, T, cleanup)
