#!/usr/bin/env python3
# k8s_launch.py: how fast the Kubernetes executor launches pods when the
# cluster has room, beside the API server's own create rate in the same
# run.  The API server is tests/fakes/k8s_api.py (scripted pods that end
# after --step-seconds); no real cluster runs here.
#
#   bench/k8s_launch.py [N]        (default 300 tasks; build/release/sta)
#
# Reference: a client creating N pods back to back on one keep-alive
# connection, the fastest this API server accepts creates from one client.
# sta: one DAG of N independent tasks (executor kubernetes), the scheduler
# with parallelism N and N pool slots, first with the create cap lifted
# (STA_K8S_CREATE_QPS=10000), then with the default cap (20/s).  The rate
# is N-1 over the time from the first create to the last (the scheduler's
# debug log, millisecond times).
import datetime
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
from k8s_env import FakeCluster, TOKEN  # noqa: E402

STA = os.environ.get("STA", os.path.join(SRC, "build", "release", "sta"))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "bench"}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "task", "image": "x", "command": ["/bin/true"]}]}}


def reference(cl):
    ctx = ssl.create_default_context(cafile=cl.path("ca.crt"))
    c = http.client.HTTPSConnection("127.0.0.1", cl.port, context=ctx)
    h = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    for i in range(N):
        if i == 1:
            t0 = time.monotonic()
        c.request("POST", f"/api/v1/namespaces/{cl.ns}/pods", json.dumps(pod(f"ref-{i}")), h)
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise RuntimeError(f"reference create: HTTP {r.status}")
    return (N - 1) / (time.monotonic() - t0)


def created_times(log):
    """Times of the scheduler's "POD: created" debug lines."""
    times = []
    for line in log.splitlines():
        if line.endswith(": created") and line.startswith("["):
            t = datetime.datetime.strptime(line[1:24], "%Y-%m-%dT%H:%M:%S.%f")
            times.append(t.timestamp())
    return times


def run_sta(cl, work, qps):
    home = os.path.join(work, f"home-{qps}")
    dags = os.path.join(work, "dags")
    os.makedirs(dags, exist_ok=True)
    with open(os.path.join(dags, "wide.yaml"), "w") as f:
        f.write(f"dag_id: wide\nschedule: null\nstart_date: 2024-01-01\nmax_active_tasks: {N}\n"
                "default_args:\n  executor: kubernetes\n  image: busybox\ntasks:\n")
        for i in range(N):
            f.write(f"  t{i}:\n    command: [/bin/true]\n")
    env = cl.env()
    env.update({"STA_HOME": home, "STA_DAGS_FOLDER": dags, "STA_K8S_CREATE_QPS": str(qps),
                "STA_K8S_INSTANCE": f"bench-{qps}", "STA_LOG_LEVEL": "debug"})
    subprocess.run([STA, "pools", "set", "default_pool", str(N)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([STA, "dags", "trigger", "wide"], env=env, check=True, stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    p = subprocess.run([STA, "scheduler", "--exit-when-idle", "--parallelism", str(N)], env=env,
                       capture_output=True, text=True)
    wall = time.monotonic() - t0
    times = created_times(p.stderr)
    if p.returncode != 0 or len(times) != N:
        raise RuntimeError(f"sta scheduler: exit {p.returncode}, {len(times)} pods created:\n"
                           + p.stderr[-2000:])
    return (N - 1) / max(times[-1] - times[0], 1e-3), wall


def main():
    work = tempfile.mkdtemp(prefix="sta-bench-k8s-")
    cl = FakeCluster(os.path.join(work, "cluster"), ["--step-seconds", "0.2"])
    try:
        ref = reference(cl)
        fast, wall_fast = run_sta(cl, work, 10000)
        capped, wall_capped = run_sta(cl, work, 20)
    finally:
        cl.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{N} pods, API server tests/fakes/k8s_api.py (scripted pods, 0.2 s per phase)")
    print(f"{'':38} {'pods/s':>8} {'vs ref':>7} {'wall s':>7}")
    print(f"{'reference: one client, back to back':38} {ref:8.1f} {1.0:7.2f} {'':>7}")
    print(f"{'sta, create cap lifted':38} {fast:8.1f} {fast / ref:7.2f} {wall_fast:7.2f}")
    print(f"{'sta, default cap (20/s)':38} {capped:8.1f} {capped / ref:7.2f} {wall_capped:7.2f}")


if __name__ == "__main__":
    main()
