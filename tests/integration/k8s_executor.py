#!/usr/bin/env python3
# k8s_executor.py: the scheduler with `executor: kubernetes` against the
# Kubernetes API test server in kubelet mode (tests/fakes/k8s_api.py
# --kubelet), which runs each pod's command as a local process, so tasks
# really run and really fail.  Covered: a fan-out DAG runs to success with
# the task contract's environment, results and logs, pods deleted after;
# every Pod sent valid against the Kubernetes OpenAPI schema (npm
# kubernetes-models) with valid labels for very long ids; exit codes,
# retries (one pod per try) and the no-retry statuses; execution_timeout as
# activeDeadlineSeconds; image pull errors failing at the startup timeout
# and invalid image names at once; capacity back-off (no new pod while one
# is Unschedulable); API 500/429 on create backed off, never a second pod
# for a try; a full ResourceQuota waited out, any other 403 failing at
# once; a running try stopped by `tasks mark` (a failed delete asked
# again); a sidecar keeping the pod Running after the task's container
# ended; a running try of a paused DAG spared by the orphan reaper after
# a restart, and a scheduler's pod spared by `sta dags test` beside it;
# the scheduler killed
# with SIGKILL while 50 pods run and restarted: no duplicate pod, orphans
# reaped, every try recorded; two schedulers with a Lease: only the holder
# creates pods, and the standby takes over when the holder is killed;
# the store synced to the disk before each pod create (group commit).
# Prints TAP.
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STA = os.environ.get("STA", os.path.join(SRC, "build", "release", "sta"))
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
from tap import ok, finish  # noqa: E402
from k8s_env import FakeCluster  # noqa: E402

T = tempfile.mkdtemp(prefix="sta-k8s-exec-")
cl = FakeCluster(os.path.join(T, "cluster"), ["--kubelet", "--grace-cap", "2",
                                              "--node-label", "workload=etl",
                                              "--pull-backoff-seconds", "0.5"])
stderrs = []
case_n = 0


def sta_env(home, extra=None):
    e = cl.env()
    e.update({"STA_HOME": home, "STA_DAGS_FOLDER": os.path.join(home, "dags"),
              "STA_K8S_BACKOFF_MS": "50"})
    e.update(extra or {})
    return e


def new_case(dag_yaml, extra_env=None):
    """A fresh home with one DAG file; returns its environment."""
    global case_n
    case_n += 1
    home = os.path.join(T, f"case{case_n}")
    os.makedirs(os.path.join(home, "dags"))
    with open(os.path.join(home, "dags", "d.yaml"), "w") as f:
        f.write(dag_yaml)
    return sta_env(home, extra_env)


def sta(env, *args, check=False):
    p = subprocess.run([STA] + list(args), env=env, capture_output=True, text=True, timeout=300)
    stderrs.append(p.stderr)
    if check and p.returncode != 0:
        raise RuntimeError(f"sta {' '.join(args)}: {p.stderr}")
    return p


def scheduler(env, *extra):
    return sta(env, "scheduler", "--exit-when-idle", "--rescan-seconds", "1", *extra)


def task_state(env, dag, task, run):
    p = sta(env, "tasks", "state", dag, task, run, "--json")
    return json.loads(p.stdout) if p.returncode == 0 else {}


def run_state(env, dag):
    p = sta(env, "runs", "list", dag, "--json")
    return json.loads(p.stdout)[0] if p.returncode == 0 and p.stdout.strip() != "[]" else {}


def created(prefix=None):
    bodies = cl.control("/_fake/created", method="GET")
    return [b for b in bodies if prefix is None or
            b["metadata"].get("labels", {}).get("sta.dev/dag-id", "").startswith(prefix)]


def live_pods(instance="sta"):
    return [p for p in cl.control("/_fake/pods", method="GET")
            if p["labels"].get("sta.dev/instance") == instance]


def dag(dag_id, tasks, default_args="", extra=""):
    return (f"dag_id: {dag_id}\nschedule: null\nstart_date: 2024-01-01\n{extra}"
            f"default_args:\n  executor: kubernetes\n  image: registry.example/sta:1\n"
            f"{default_args}tasks:\n{tasks}")


def sh_task(tid, script, more=""):
    return f"  {tid}:\n    command: [sh, -c, {json.dumps(script)}]\n{more}"


def case_fan_out():
    out = os.path.join(T, "fan.out")
    # $(...) and $$ reach sh as written: the kubelet's own expansion of
    # them is escaped, so a task's argv is the same under both executors.
    script = (f'echo "$STA_DAG_ID $STA_TASK_ID $STA_TRY_NUMBER $STA_LOGICAL_DATE" >> {out}; '
              'echo "hello from $(echo $HOSTNAME) $$$$" | tr -d 0-9; '
              'echo \'STA_RESULT {"rows": 7}\'')
    long_task = "t" * 100
    tasks = (sh_task("a", script) +
             "".join(sh_task(f"b{i}", script, "    depends_on: [a]\n") for i in range(3)) +
             sh_task(long_task, script, "    depends_on: [b0, b1, b2]\n"))
    env = new_case(dag("kfan", tasks))
    run_id = "manual__" + "x" * 150
    sta(env, "dags", "trigger", "kfan", "--run-id", run_id, "--logical-date", "2024-03-01", check=True)
    p = scheduler(env)
    ok(p.returncode == 0 and run_state(env, "kfan").get("state") == "success",
       "a fan-out DAG of pods runs to success", p.stderr[-3000:])
    lines = open(out).read().splitlines() if os.path.exists(out) else []
    want = sorted(f"kfan {t} 1 2024-03-01T00:00:00+00:00" for t in ["a", "b0", "b1", "b2", long_task])
    ok(sorted(lines) == want, "each task ran once in its pod with the STA_* environment",
       "\n".join(lines))
    st = task_state(env, "kfan", "b1", run_id)
    tr = (st.get("tries") or [{}])[0]
    log = open(tr["log_path"]).read() if tr.get("log_path") and os.path.exists(tr["log_path"]) else ""
    ok(tr.get("executor") == "kubernetes" and tr.get("handle", "").startswith("sta-b1-"),
       "the try records the kubernetes executor and its pod name", json.dumps(tr))
    handle = "".join(ch for ch in tr.get("handle", "") if not ch.isdigit())
    ok(f"hello from {handle} \n" in log, "the pod's log is the try's log; $(...) and $$ reach the "
       "task unexpanded by Kubernetes", log)
    ok(tr.get("exit_code") == 0, "exit code 0 from the container status", json.dumps(tr))
    bodies = created("kfan")
    names = [b["metadata"]["name"] for b in bodies]
    ok(len(bodies) == 5 and len(set(names)) == 5, "one pod per try", names)
    lab = bodies[0]["metadata"]["labels"] if bodies else {}
    ok(lab.get("app.kubernetes.io/part-of") == "sta" and lab.get("app.kubernetes.io/component") == "task",
       "pods carry the labels the NetworkPolicies select", lab)
    longest = [b for b in bodies if b["metadata"]["annotations"].get("sta.dev/task-id") == long_task]
    ok(longest and all(len(v) <= 63 for v in longest[0]["metadata"]["labels"].values())
       and len(longest[0]["metadata"]["name"]) <= 63
       and longest[0]["metadata"]["annotations"]["sta.dev/run-id"] == run_id,
       "150-character run ids and 100-character task ids: valid labels and names, full ids in annotations",
       longest[0]["metadata"] if longest else "")
    spec = bodies[0]["spec"] if bodies else {}
    c = spec.get("containers", [{}])[0]
    ok(spec.get("restartPolicy") == "Never" and c.get("image") == "registry.example/sta:1"
       and c.get("command", [None])[0] == "sh", "restartPolicy Never, the task's image and argv", spec)
    ok(live_pods() == [], "finished pods are deleted", live_pods())
    path = os.path.join(T, "created.json")
    with open(path, "w") as f:
        json.dump(created(), f)
    v = subprocess.run(["node", os.path.join(SRC, "tests", "fakes", "k8s_validate.mjs"), path],
                       capture_output=True, text=True)
    ok(v.returncode == 0 and v.stdout.count("ok Pod") == len(created()),
       "every Pod sent is valid against the Kubernetes OpenAPI schema", v.stdout + v.stderr)


def case_exit_codes():
    tasks = (sh_task("flaky", "echo try $STA_TRY_NUMBER; exit 3",
                     "    retries: 1\n    retry_delay: 1s\n") +
             sh_task("bad_input", "exit 65", "    retries: 3\n    retry_delay: 1s\n"))
    env = new_case(dag("kexit", tasks))
    sta(env, "dags", "trigger", "kexit", "--run-id", "r1", check=True)
    scheduler(env)
    st = task_state(env, "kexit", "flaky", "r1")
    tries = st.get("tries", [])
    ok(st.get("state") == "failed" and [t.get("exit_code") for t in tries] == [3, 3],
       "exit 3 fails the try and is retried: two tries, two pods, exit code 3 each", json.dumps(st))
    st = task_state(env, "kexit", "bad_input", "r1")
    ok(st.get("state") == "failed" and len(st.get("tries", [])) == 1,
       "exit 65 (EX_DATAERR) fails at once, no retry", json.dumps(st))
    names = [b["metadata"]["name"] for b in created("kexit")]
    ok(len(names) == 3 and len(set(names)) == 3, "a new pod (name) for each try", names)


def case_keep_failed():
    env = new_case(dag("kkeep", sh_task("bad", "echo broken; exit 3") + sh_task("good", "true")),
                   {"STA_K8S_KEEP_FAILED_PODS": "1", "STA_K8S_INSTANCE": "keep"})
    sta(env, "dags", "trigger", "kkeep", "--run-id", "r1", "--logical-date", "2024-01-01", check=True)
    scheduler(env)
    sta(env, "dags", "trigger", "kkeep", "--run-id", "r2", "--logical-date", "2024-01-02", check=True)
    scheduler(env)      # a second scheduler start runs the orphan reaper
    kept = sorted((p["annotations"].get("sta.dev/run-id"), p["annotations"].get("sta.dev/task-id"),
                   p["phase"]) for p in live_pods("keep"))
    ok(kept == [("r1", "bad", "Failed"), ("r2", "bad", "Failed")],
       "STA_K8S_KEEP_FAILED_PODS=1 keeps failed pods (and the reaper spares them), not succeeded ones",
       kept)
    for p in live_pods("keep"):
        cl.call("DELETE", f"/api/v1/namespaces/{cl.ns}/pods/{p['name']}?gracePeriodSeconds=0")


def case_timeout():
    env = new_case(dag("ktimeout", sh_task("slow", "echo started; sleep 60",
                                           "    execution_timeout: 2s\n")))
    sta(env, "dags", "trigger", "ktimeout", "--run-id", "r1", check=True)
    t0 = time.monotonic()
    scheduler(env)
    st = task_state(env, "ktimeout", "slow", "r1")
    tr = (st.get("tries") or [{}])[0]
    body = (created("ktimeout") or [{}])[0]
    ok(body.get("spec", {}).get("activeDeadlineSeconds") == 2,
       "execution_timeout becomes activeDeadlineSeconds", body.get("spec"))
    ok(st.get("state") == "failed" and "execution_timeout" in (tr.get("reason") or ""),
       "the deadline fails the try as timed out", json.dumps(st))
    ok(time.monotonic() - t0 < 30 and live_pods() == [], "the pod was stopped and deleted", live_pods())


def case_startup_failures():
    tasks = (sh_task("pull", "true", "    image: registry.example/pull-error:1\n") +
             sh_task("badname", "true", "    image: invalid-image\n"))
    env = new_case(dag("kimage", tasks), {"STA_K8S_STARTUP_TIMEOUT": "3"})
    sta(env, "dags", "trigger", "kimage", "--run-id", "r1", check=True)
    scheduler(env)
    st = task_state(env, "kimage", "pull", "r1")
    reason = (st.get("tries") or [{}])[0].get("reason") or ""
    ok(st.get("state") == "failed" and "startup timeout" in reason and
       ("ImagePullBackOff" in reason or "ErrImagePull" in reason),
       "an image that cannot be pulled fails the try at the startup timeout, with the reason", reason)
    st = task_state(env, "kimage", "badname", "r1")
    reason = (st.get("tries") or [{}])[0].get("reason") or ""
    ok(st.get("state") == "failed" and "InvalidImageName" in reason,
       "an invalid image name fails at once, with the reason", reason)
    ok(live_pods() == [], "their pods are deleted", live_pods())


def poll_max_pods(proc, instance="sta"):
    """Largest number of our unfinished pods seen while proc runs."""
    most = 0
    while proc.poll() is None:
        n = sum(1 for p in live_pods(instance) if p["phase"] in ("Pending", "Running"))
        most = max(most, n)
        time.sleep(0.1)
    return most


def case_never_placed():
    cl.control("/_fake/capacity", {"pods": 0})
    try:
        env = new_case(dag("kfull", sh_task("t", "true")), {"STA_K8S_STARTUP_TIMEOUT": "2"})
        sta(env, "dags", "trigger", "kfull", "--run-id", "r1", check=True)
        scheduler(env)
    finally:
        cl.control("/_fake/capacity", {"pods": None})
    st = task_state(env, "kfull", "t", "r1")
    reason = (st.get("tries") or [{}])[0].get("reason") or ""
    ok(st.get("state") == "failed" and "startup timeout" in reason and "Unschedulable" in reason
       and live_pods() == [], "a pod never placed fails the try at the startup timeout, saying why", reason)


def case_default_image():
    # The scheduler's own pod (the downward API gives its name) sets the
    # image of tasks that name none.
    cl.call("POST", f"/api/v1/namespaces/{cl.ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sta-runner-0"},
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "sta", "image": "registry.example/sta:9", "command": ["sleep", "30"]}]}})
    yaml = ("dag_id: kimg\nschedule: null\nstart_date: 2024-01-01\n"
            "default_args:\n  executor: kubernetes\ntasks:\n" + sh_task("t", "true"))
    env = new_case(yaml, {"POD_NAME": "sta-runner-0"})
    sta(env, "dags", "trigger", "kimg", "--run-id", "r1", check=True)
    p = scheduler(env)
    body = (created("kimg") or [{}])[0]
    image = body.get("spec", {}).get("containers", [{}])[0].get("image")
    ok(run_state(env, "kimg").get("state") == "success" and image == "registry.example/sta:9",
       "a task without an image runs in the scheduler's own pod's image", f"{image} {p.stderr[-800:]}")
    cl.call("DELETE", f"/api/v1/namespaces/{cl.ns}/pods/sta-runner-0?gracePeriodSeconds=0")


def case_pod_settings():
    # The DAG's kubernetes block reaches the pod; STA_DEFAULT_EXECUTOR makes
    # a DAG that names no executor run as pods.
    cl.control("/_fake/secret", {"namespace": cl.ns, "name": "warehouse",
                                 "data": {"password": "s3cret", "WAREHOUSE_USER": "loader"}})
    yaml = ("dag_id: kpodset\nschedule: null\nstart_date: 2024-01-01\n"
            "default_args:\n  image: registry.example/sta:1\n"
            "  resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}\n"
            "  kubernetes:\n    service_account: sta-task\n    node_selector: {workload: etl}\n"
            "    tolerations: [{key: dedicated, operator: Equal, value: etl, effect: NoSchedule}]\n"
            "    env_from_secrets: [warehouse]\n    secret_env: {PGPASSWORD: warehouse/password}\n"
            "tasks:\n" + sh_task("t", 'echo "user=$WAREHOUSE_USER pw=$PGPASSWORD"'))
    env = new_case(yaml, {"STA_DEFAULT_EXECUTOR": "kubernetes"})
    sta(env, "dags", "trigger", "kpodset", "--run-id", "r1", check=True)
    p = scheduler(env)
    st = task_state(env, "kpodset", "t", "r1")
    tr = (st.get("tries") or [{}])[0]
    log = open(tr["log_path"]).read() if tr.get("log_path") and os.path.exists(tr["log_path"]) else ""
    ok(st.get("state") == "success" and tr.get("executor") == "kubernetes",
       "STA_DEFAULT_EXECUTOR=kubernetes runs a DAG that names no executor as pods", p.stderr[-1500:])
    ok("user=loader pw=s3cret" in log, "env_from_secrets and secret_env reach the task from the Secret", log)
    spec = (created("kpodset") or [{}])[0].get("spec", {})
    c = spec.get("containers", [{}])[0]
    ok(spec.get("serviceAccountName") == "sta-task" and spec.get("nodeSelector") == {"workload": "etl"}
       and spec.get("tolerations") == [{"key": "dedicated", "operator": "Equal", "value": "etl",
                                        "effect": "NoSchedule"}]
       and c.get("envFrom") == [{"secretRef": {"name": "warehouse"}}]
       and {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "warehouse", "key": "password"}}}
       in c.get("env", [])
       and c.get("resources") == {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
       "service account, node selector, tolerations, secrets and resources as the DAG gives them", spec)


def case_capacity():
    cl.control("/_fake/capacity", {"pods": 1})
    try:
        # Two creates a second: without the hold all five pods would
        # exist within two seconds, each waiting for the one before.
        tasks = "".join(sh_task(f"t{i}", "sleep 2") for i in range(5))
        env = new_case(dag("kcap", tasks), {"STA_K8S_CREATE_QPS": "2"})
        sta(env, "dags", "trigger", "kcap", "--run-id", "r1", check=True)
        p = subprocess.Popen([STA, "scheduler", "--exit-when-idle"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        most = poll_max_pods(p)
        err = p.stderr.read()
        stderrs.append(err)
    finally:
        cl.control("/_fake/capacity", {"pods": None})
    ok(run_state(env, "kcap").get("state") == "success", "all five tasks succeed on a one-pod cluster")
    ok(most <= 2, f"while a pod is Unschedulable no more are created (at most 2 at once, saw {most})")
    ok("unschedulable" in err, "the scheduler says why it holds", err[-1500:])


def case_api_faults():
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 500, "count": 2})
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 429,
                                "retry_after": 1, "count": 1})
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "drop": True, "count": 1})
    tasks = "".join(sh_task(f"t{i}", "true") for i in range(4))
    env = new_case(dag("kfault", tasks))
    sta(env, "dags", "trigger", "kfault", "--run-id", "r1", check=True)
    p = scheduler(env)
    ok(run_state(env, "kfault").get("state") == "success",
       "500, 429 and a dropped connection on create: backed off, the run succeeds", p.stderr[-2000:])
    names = [b["metadata"]["name"] for b in created("kfault")]
    ok(len(names) == 4 and len(set(names)) == 4, "exactly one pod per try despite the retries", names)
    ok("backing off" in p.stderr, "the back-off is logged", p.stderr[-1500:])


def case_watch_expired():
    # The watch's resourceVersion expires (410) while pods run: the
    # executor lists again, catches up and finishes every try.
    tasks = "".join(sh_task(f"t{i}", "sleep 2") for i in range(3))
    env = new_case(dag("kgone", tasks))
    sta(env, "dags", "trigger", "kgone", "--run-id", "r1", check=True)
    p = subprocess.Popen([STA, "scheduler", "--exit-when-idle"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if sum(1 for x in live_pods() if x["phase"] == "Running") == 3:
            break
        time.sleep(0.1)
    # the resumed watch is answered 410 Gone, as for a compacted version
    cl.control("/_fake/fault", {"method": "GET", "path": "watch=1", "status": 410, "count": 1})
    cl.control("/_fake/drop-watches")
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
    err = p.stderr.read()
    stderrs.append(err)
    ok(run_state(env, "kgone").get("state") == "success" and "listing pods again" in err,
       "an expired watch (410) is followed by a new list and watch; every try still ends", err[-1500:])


def case_stop():
    env = new_case(dag("kstop", sh_task("long", "echo running; sleep 60")))
    sta(env, "dags", "trigger", "kstop", "--run-id", "r1", check=True)
    p = subprocess.Popen([STA, "scheduler", "--exit-when-idle", "--rescan-seconds", "1"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if any(x["phase"] == "Running" for x in live_pods()):
            break
        time.sleep(0.1)
    # The first delete fails (past the client's own retries): asked again.
    cl.control("/_fake/fault", {"method": "DELETE", "path": "/pods/sta-long-", "status": 500, "count": 3})
    sta(env, "tasks", "mark", "kstop", "long", "r1", "failed", check=True)
    try:
        p.wait(40)
    except subprocess.TimeoutExpired:
        p.kill()
    err = p.stderr.read()
    stderrs.append(err)
    st = task_state(env, "kstop", "long", "r1")
    ok(st.get("state") == "failed" and live_pods() == [] and "asking again" in err,
       "a try marked failed while running: its pod is deleted (a failed delete asked again)",
       json.dumps(st) + str(live_pods()) + err[-1500:])
    ok(st.get("tries") and st["tries"][0].get("state") not in (None, "running"),
       "... and the try is recorded", json.dumps(st))


def case_sidecar():
    # An injected sidecar (classic Istio) keeps the pod Running after the
    # task's container ends: the try ends with the container.
    cl.control("/_fake/sidecar", {"enabled": True})
    env = new_case(dag("kside", sh_task("a", "echo side; exit 3")))
    sta(env, "dags", "trigger", "kside", "--run-id", "r1", check=True)
    p = subprocess.Popen([STA, "scheduler", "--exit-when-idle", "--rescan-seconds", "1"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        p.wait(40)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    cl.control("/_fake/sidecar", {"enabled": False})
    stderrs.append(p.stderr.read())
    tries = task_state(env, "kside", "a", "r1").get("tries", [])
    ok(len(tries) == 1 and tries[0].get("exit_code") == 3 and tries[0].get("state") == "failed",
       "a sidecar keeps the pod Running: the try ends when the task's container does, with its exit code",
       json.dumps(tries) + stderrs[-1][-1500:])
    ok(not [x for x in live_pods() if x["labels"].get("sta.dev/dag-id") == "kside"],
       "... and the pod, sidecar and all, is deleted", live_pods())


def case_quota():
    env = new_case(dag("kquota", sh_task("a", "echo ok")))
    full = ('pods "sta-a" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=10, '
            'limited: pods=10')
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 403, "message": full, "count": 2})
    sta(env, "dags", "trigger", "kquota", "--run-id", "r1", check=True)
    p = scheduler(env)
    ok(run_state(env, "kquota").get("state") == "success" and len(created("kquota")) == 1
       and "exceeded quota" in p.stderr,
       "a full ResourceQuota (403 exceeded quota) is waited out; the try runs when there is room",
       p.stderr[-1500:])
    env = new_case(dag("kdeny", sh_task("a", "echo ok")))
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 403, "count": 1,
                                "message": 'pods is forbidden: User "x" cannot create resource "pods"'})
    sta(env, "dags", "trigger", "kdeny", "--run-id", "r1", check=True)
    p = scheduler(env)
    tries = task_state(env, "kdeny", "a", "r1").get("tries", [])
    ok(run_state(env, "kdeny").get("state") == "failed" and tries and "cannot create" in
       (tries[0].get("reason") or ""), "any other 403 fails the try at once, with the API's message",
       json.dumps(tries))


def scheduler_until_running(env, dag_id):
    """A scheduler in the background, once the DAG's pod runs: (process, its pods)."""
    p = subprocess.Popen([STA, "scheduler", "--rescan-seconds", "1"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    mine = []
    for _ in range(100):
        mine = [x for x in live_pods() if x["labels"].get("sta.dev/dag-id") == dag_id]
        if mine and mine[0]["phase"] == "Running":
            break
        time.sleep(0.1)
    return p, mine


def wait_run(env, dag_id, seconds):
    for _ in range(int(seconds * 10)):
        if run_state(env, dag_id).get("state") == "success":
            return
        time.sleep(0.1)


def sleeper_beside(slow, quick):
    """A case with DAG slow (a 6 s pod appending to OUT) and DAG quick; slow
    is triggered and a scheduler runs until its pod does: (env, out, the
    scheduler, slow's pods)."""
    out = os.path.join(T, slow + ".out")
    env = new_case(dag(slow, sh_task("a", f"sleep 6; echo a >> {out}")))
    with open(os.path.join(env["STA_DAGS_FOLDER"], quick + ".yaml"), "w") as f:
        f.write(dag(quick, sh_task("b", "echo b")))
    sta(env, "dags", "trigger", slow, "--run-id", "r1", check=True)
    p, mine = scheduler_until_running(env, slow)
    return env, out, p, mine


def case_reaper_spares():
    # A running try whose DAG is paused when the scheduler restarts is not
    # adopted yet; the orphan reaper, started by another DAG's pod, must
    # leave its pod alone (the store says the try runs).
    env, out, p, mine = sleeper_beside("kspare", "kother")
    p.send_signal(signal.SIGKILL)
    p.wait()
    stderrs.append(p.stderr.read())
    sta(env, "dags", "pause", "kspare", check=True)
    sta(env, "dags", "trigger", "kother", "--run-id", "r1", check=True)
    p = subprocess.Popen([STA, "scheduler", "--rescan-seconds", "1"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_run(env, "kother", 10)
    alive = [x["phase"] for x in live_pods() if x["labels"].get("sta.dev/dag-id") == "kspare"]
    ok(len(mine) == 1 and alive == ["Running"],
       "restarted with its DAG paused: the running try's pod survives the first orphan reap", alive)
    sta(env, "dags", "unpause", "kspare", check=True)
    wait_run(env, "kspare", 20)
    p.terminate()
    p.wait()
    err = p.stderr.read()
    stderrs.append(err)
    lines = open(out).read().split() if os.path.exists(out) else []
    ok(run_state(env, "kspare").get("state") == "success" and lines == ["a"] and
       len(created("kspare")) == 1 and "orphan pod sta-a-" not in err,
       "unpaused: the try is adopted and finishes, one pod, run once", f"{lines} {err[-1500:]}")


def case_dags_test_beside():
    # `sta dags test` on the same store while the scheduler runs a pod:
    # its executor's first orphan reap must leave the scheduler's pod alone.
    env, out, p, _ = sleeper_beside("kbeside", "kquick")
    t = sta(env, "dags", "test", "kquick", "2024-01-01")
    alive = [x["phase"] for x in live_pods() if x["labels"].get("sta.dev/dag-id") == "kbeside"]
    ok(t.returncode == 0 and alive == ["Running"],
       "dags test beside a running scheduler: its pod runs on (no orphan reap of it)",
       f"{alive} {t.stderr[-1500:]}")
    wait_run(env, "kbeside", 20)
    p.terminate()
    p.wait()
    stderrs.append(p.stderr.read())
    lines = open(out).read().split() if os.path.exists(out) else []
    ok(run_state(env, "kbeside").get("state") == "success" and lines == ["a"] and
       len(created("kbeside")) == 1, "... and its run succeeds, the task run once", lines)


def case_crash():
    out = os.path.join(T, "crash.out")
    tasks = "".join(sh_task(f"t{i:02d}", f"sleep 6; echo $STA_TASK_ID >> {out}") for i in range(50))
    env = new_case(dag("kcrash", tasks, extra="max_active_tasks: 50\n"), {"STA_K8S_CREATE_QPS": "500"})
    sta(env, "pools", "set", "default_pool", "64", check=True)
    sta(env, "dags", "trigger", "kcrash", "--run-id", "r1", check=True)
    p = subprocess.Popen([STA, "scheduler", "--parallelism", "64"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    running = 0
    for _ in range(200):
        running = sum(1 for x in live_pods() if x["phase"] == "Running")
        if running >= 50:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    stderrs.append(p.stderr.read())
    ok(running == 50, f"the scheduler was killed with {running} pods running")
    # An orphan of ours (no try knows it) and a pod of another instance.
    for name, inst in (("sta-orphan-1", "sta"), ("other-1", "other")):
        cl.call("POST", f"/api/v1/namespaces/{cl.ns}/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "sta",
                                                  "app.kubernetes.io/component": "task",
                                                  "sta.dev/instance": inst}},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "task", "image": "registry.example/x:1", "command": ["sleep", "60"]}]}})
    time.sleep(0.5)
    p = scheduler(env, "--parallelism", "64")
    ok(run_state(env, "kcrash").get("state") == "success", "after the restart the run succeeds",
       p.stderr[-2000:])
    lines = open(out).read().split() if os.path.exists(out) else []
    ok(sorted(lines) == [f"t{i:02d}" for i in range(50)], "every task ran exactly once",
       f"{len(lines)} lines, {len(set(lines))} distinct")
    names = [b["metadata"]["name"] for b in created("kcrash")]
    ok(len(names) == 50 and len(set(names)) == 50, "no second pod for any try", len(names))
    ok(p.stderr.count("adopted pod") == 50, "the restarted scheduler adopted the 50 pods",
       p.stderr[-1500:])
    left = [x["name"] for x in cl.control("/_fake/pods", method="GET")]
    ok("sta-orphan-1" not in left and "orphan pod sta-orphan-1" in p.stderr,
       "the orphan pod was reaped", left)
    ok("other-1" in left, "another instance's pod was left alone", left)
    tries = [task_state(env, "kcrash", f"t{i:02d}", "r1").get("tries", []) for i in range(50)]
    ok(all(len(t) == 1 and t[0].get("state") == "success" and t[0].get("exit_code") == 0 for t in tries),
       "every try recorded once, with its exit code")


def case_leader():
    out = os.path.join(T, "leader.out")
    first = "".join(sh_task(f"a{i}", f"sleep 3; echo $STA_TASK_ID >> {out}") for i in range(3))
    second = "".join(sh_task(f"b{i}", f"echo $STA_TASK_ID >> {out}", f"    depends_on: [a{i}]\n")
                     for i in range(3))
    env = new_case(dag("klead", first + second), {"STA_LEASE_SECONDS": "3"})
    sta(env, "dags", "trigger", "klead", "--run-id", "r1", check=True)
    procs = {}
    for who in ("sched-a", "sched-b"):
        e = dict(env, POD_NAME=who)
        procs[who] = subprocess.Popen([STA, "scheduler", "--exit-when-idle", "--lease", "sta-scheduler"],
                                      env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if sum(1 for x in live_pods() if x["phase"] == "Running") >= 3:
            break
        time.sleep(0.1)
    st, lease = cl.call("GET", f"/apis/coordination.k8s.io/v1/namespaces/{cl.ns}/leases/sta-scheduler")
    holder = lease.get("spec", {}).get("holderIdentity") if st == 200 else None
    standby = "sched-b" if holder == "sched-a" else "sched-a"
    makers = {b["metadata"]["annotations"].get("sta.dev/scheduler") for b in created("klead")}
    ok(holder in procs and makers == {holder},
       "two schedulers started at once: only the lease holder creates pods", f"{holder} {makers}")
    procs[holder].send_signal(signal.SIGKILL)
    procs[holder].wait()
    try:
        procs[standby].wait(60)
    except subprocess.TimeoutExpired:
        procs[standby].kill()
    err = procs[standby].stderr.read()
    stderrs.append(err)
    stderrs.append(procs[holder].stderr.read())
    ok(run_state(env, "klead").get("state") == "success",
       "the leader killed: the standby takes the lease over and finishes the run", err[-2000:])
    bodies = created("klead")
    by = {}
    for b in bodies:
        by.setdefault(b["metadata"]["annotations"].get("sta.dev/scheduler"), []).append(
            b["metadata"]["annotations"]["sta.dev/task-id"])
    ok(sorted(by.get(holder, [])) == ["a0", "a1", "a2"] and sorted(by.get(standby, [])) == ["b0", "b1", "b2"],
       "the first leader's pods were adopted, the new leader created the rest", by)
    lines = open(out).read().split() if os.path.exists(out) else []
    ok(sorted(lines) == ["a0", "a1", "a2", "b0", "b1", "b2"], "every task ran exactly once", lines)


def case_synced_before_create():
    """Group commit: the scheduler syncs its store before it creates a pod.
    strace follows the scheduler's write-ahead log; a create is noted in the
    try's .pod file right after the API answered it, and the log's last
    event before that note must be a sync, never a write left unsynced."""
    tasks = "".join(sh_task(f"s{i}", "true") for i in range(4))
    # (LeakSanitizer cannot run under ptrace)
    env = new_case(dag("ksync", tasks), {"STA_K8S_CREATE_QPS": "1000",
                                         "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"})
    sta(env, "dags", "trigger", "ksync", check=True)
    trace = os.path.join(T, "ksync.trace")
    p = subprocess.run(["strace", "-f", "-qq", "-y", "-e", "trace=pwrite64,fdatasync,write", "-o", trace,
                        STA, "scheduler", "--exit-when-idle", "--rescan-seconds", "1"],
                       env=env, capture_output=True, text=True, timeout=300)
    stderrs.append(p.stderr)
    ok(p.returncode == 0 and run_state(env, "ksync").get("state") == "success",
       "ksync: the run succeeds with the scheduler under strace", p.stderr[-3000:])
    main_pid, last, notes = None, None, []
    with open(trace) as f:
        for line in f:
            pid, _, rest = line.partition(" ")
            main_pid = main_pid or pid
            rest = rest.lstrip()
            if pid != main_pid:
                continue
            m = re.match(r"(pwrite64|fdatasync)\(\d+<[^>]*sta\.db-wal>", rest)
            if m:
                last = m.group(1)
            elif re.match(r'write\(\d+<[^>]*\.pod>, "created\\n"', rest):
                notes.append(last)
    ok(len(notes) == 4 and all(n == "fdatasync" for n in notes),
       "the store is synced before each pod create (the log's last event before each is a sync)", notes)


def main():
    try:
        case_fan_out()
        case_exit_codes()
        case_keep_failed()
        case_timeout()
        case_startup_failures()
        case_never_placed()
        case_default_image()
        case_pod_settings()
        case_capacity()
        case_api_faults()
        case_watch_expired()
        case_stop()
        case_sidecar()
        case_quota()
        case_reaper_spares()
        case_dags_test_beside()
        case_crash()
        case_leader()
        case_synced_before_create()
        bad = [e for e in stderrs if "runtime error" in e or "AddressSanitizer" in e]
        ok(not bad, "no sanitizer reports", "\n".join(bad)[:3000])
    finally:
        cl.stop()
    return finish(T)


if __name__ == "__main__":
    sys.exit(main())
