#!/usr/bin/env python3
# k8s_client.py: lib/k8s.c against the Kubernetes API test server
# (tests/fakes/k8s_api.py), driven through tests/unit/test_k8s's driver
# mode.  A test CA, server and client certificates are made with openssl
# at the start, plus a second CA the client must refuse.  Covered:
# in-cluster configuration (STA_K8S_SA_DIR), kubeconfig with a token, with
# certificate-authority-data and a client certificate, with an exec plugin
# (a script printing an ExecCredential; its expiry makes it run again),
# explicit --context; wrong CA refused; 401 with a bad token; pods
# create/get/list/delete/log; the watch seeing scripted phases, resuming
# after a dropped connection from its last resourceVersion and relisting
# on 410; 429 (Retry-After) and 500 retried; a retried create that meets
# AlreadyExists; lease conflicts; label values.  Prints TAP.
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("STA_BUILDDIR", os.path.join(SRC, "build", "release"))
DRIVER = os.path.join(BUILD, "tests", "unit", "test_k8s")
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
from tap import ok, run_main  # noqa: E402
from k8s_env import FakeCluster, TOKEN  # noqa: E402

T = tempfile.mkdtemp(prefix="sta-k8s-")
EXEC_TOKEN = "exec-token-42"
cl = None        # the FakeCluster, its files in T
cleanup = []     # run by finish(), the last added first
stderrs = []     # every driver run's, checked for sanitizer reports
LABEL_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def driver_env(env):
    e = cl.env(kubeconfig=False)
    e.update({"HOME": T, "STA_K8S_BACKOFF_MS": "50"})
    e.update(env or {})
    return e


def run(args, env=None, timeout=60):
    p = subprocess.run([DRIVER] + args, env=driver_env(env), capture_output=True, text=True, timeout=timeout)
    stderrs.append(p.stderr)
    return p.returncode, p.stdout, p.stderr


def pod(name, labels=None, annotations=None):
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
                       "spec": {"restartPolicy": "Never",
                                "containers": [{"name": "main", "image": "sta:test", "command": ["true"]}]}})


def main():
    global cl
    # the server accepts client certificates from ca.crt; wrongca is a CA it
    # has no certificate from
    cl = FakeCluster(T, ["--step-seconds", "0.4"], tokens=[EXEC_TOKEN], client_ca=True)
    cleanup.append(cl.stop)
    cl.make_ca("wrongca")
    cl.make_cert("client", "/CN=cert-user/O=system:masters", "extendedKeyUsage=clientAuth")
    server = cl.server
    ca_data, cert_data, key_data = cl.b64("ca.crt"), cl.b64("client.crt"), cl.b64("client.key")

    # --- configuration ---
    sa = os.path.join(T, "sa")
    os.mkdir(sa)
    shutil.copy(os.path.join(T, "ca.crt"), os.path.join(sa, "ca.crt"))
    open(os.path.join(sa, "token"), "w").write(TOKEN + "\n")
    open(os.path.join(sa, "namespace"), "w").write("sta-ns\n")
    incl = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(cl.port), "STA_K8S_SA_DIR": sa}
    rc, out, err = run(["namespace"], incl)
    ok(rc == 0 and out.strip() == "sta-ns", "in-cluster: namespace from the service account", out + err)
    rc, out, err = run(["pod-list", "sta-ns", ""], incl)
    ok(rc == 0 and json.loads(out)["kind"] == "PodList", "in-cluster: token and CA from STA_K8S_SA_DIR", err)
    who = [r[2] for r in cl.requests_seen() if r[1].startswith("/api/v1/namespaces/sta-ns/pods")]
    ok(who[-1:] == ["token:" + TOKEN], "in-cluster: the request carried the service account token", who)

    kc_token = cl.write_kubeconfig("kc-token")    # this server, CA ca.crt, TOKEN
    rc, out, err = run(["--kubeconfig", kc_token, "namespace"])
    ok(rc == 0 and out.strip() == "team-a", "kubeconfig: the context's namespace", out + err)
    rc, out, err = run(["pod-list", "team-a", ""], {"KUBECONFIG": "/nonexistent:" + kc_token})
    ok(rc == 0, "kubeconfig from KUBECONFIG (first existing file), CA path relative to it", err)

    wrong = cl.write_kubeconfig("kc-wrong", f"    server: {server}\n    certificate-authority: wrongca.crt",
                                f"    token: {TOKEN}")
    n_before = len([r for r in cl.requests_seen() if r[2] != "control"])
    rc, out, err = run(["--kubeconfig", wrong, "pod-get", "team-a", "x"], {"STA_K8S_RETRIES": "0"})
    ok(rc == 1 and ("certificate" in err.lower() or "ssl" in err.lower()),
       "a server certificate from another CA is refused", err)
    ok(len([r for r in cl.requests_seen() if r[2] != "control"]) == n_before,
       "no request reached the server through the wrong CA")
    insecure = cl.write_kubeconfig("kc-insecure", f"    server: {server}\n    insecure-skip-tls-verify: true",
                                   f"    token: {TOKEN}")
    rc, out, err = run(["--kubeconfig", insecure, "namespace"])
    ok(rc == 1 and "insecure-skip-tls-verify" in err, "insecure-skip-tls-verify is refused", err)
    plain = cl.write_kubeconfig("kc-http", f"    server: http://127.0.0.1:{cl.port}", f"    token: {TOKEN}")
    rc, out, err = run(["--kubeconfig", plain, "namespace"])
    ok(rc == 1 and "https" in err, "an http:// server is refused", err)

    bad = cl.write_kubeconfig("kc-bad", f"    server: {server}\n    certificate-authority-data: {ca_data}",
                              "    token: not-the-token")
    rc, out, err = run(["--kubeconfig", bad, "pod-get", "team-a", "x"])
    ok(rc == 1 and "401" in err and "Unauthorized" in err and "pods/x" in err,
       "401 with a bad token, the message names the request", err)
    ok("not-the-token" not in err, "the token is not printed")

    cert = cl.write_kubeconfig("kc-cert", f"    server: {server}\n    certificate-authority-data: {ca_data}",
                               f"    client-certificate-data: {cert_data}\n    client-key-data: {key_data}",
                               extra_contexts=f"""- name: files
  context:
    cluster: c
    user: files
""")
    # a second user, with the certificate and key as files
    text = open(cert).read().replace("contexts:\n", "- name: files\n  user:\n    client-certificate: client.crt\n"
                                     "    client-key: client.key\ncontexts:\n", 1)
    open(cert, "w").write(text)
    rc, out, err = run(["--kubeconfig", cert, "pod-list", "team-a", ""])
    who = cl.requests_seen()[-1][2]
    ok(rc == 0 and who == "cert:cert-user", "client certificate (-data) and CA (-data)", err + str(who))
    rc, out, err = run(["--kubeconfig", cert, "--context", "files", "pod-list", "team-a", ""])
    who = cl.requests_seen()[-1][2]
    ok(rc == 0 and who == "cert:cert-user", "explicit context with client certificate files", err + str(who))
    rc, out, err = run(["--kubeconfig", cert, "--context", "nope", "namespace"])
    ok(rc == 1 and "no context named nope" in err, "unknown context named", err)

    # exec plugin: counts its runs; first token expires at once
    plugin = os.path.join(T, "get-token.sh")
    runs = os.path.join(T, "exec-runs")
    with open(plugin, "w") as f:
        f.write(f"""#!/bin/sh
echo "$@ $CLUSTER_NAME" >> {runs}
case "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) exit 3;; esac
n=$(wc -l < {runs})
if [ "$n" -eq 1 ]; then exp=2000-01-01T00:00:00Z; else exp=2999-01-01T00:00:00Z; fi
printf '{{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",'
printf '"status":{{"expirationTimestamp":"%s","token":"{EXEC_TOKEN}"}}}}\\n' "$exp"
""")
    os.chmod(plugin, 0o755)
    kc_exec = cl.write_kubeconfig("kc-exec", user="""    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ./get-token.sh
      args: ["eks", "get-token", "--cluster-name", "prod"]
      env:
      - name: CLUSTER_NAME
        value: prod-cluster""")
    rc, out, err = run(["--kubeconfig", kc_exec, "pod-list", "team-a", ""])
    lines = open(runs).read().splitlines() if os.path.exists(runs) else []
    ok(rc == 0 and cl.requests_seen()[-1][2] == "token:" + EXEC_TOKEN, "exec plugin token used", err)
    ok(lines[:1] == ["eks get-token --cluster-name prod prod-cluster"], "exec plugin got its args and env", lines)
    rc, out, err = run(["--kubeconfig", kc_exec, "pod-create", "team-a", pod("exec-made")])
    ok(rc == 0, "exec: create", err)
    # one process, two requests (a list of two pages): the first token has
    # expired, so the plugin runs again for the second; the second has not
    run(["--kubeconfig", kc_token, "pod-create", "team-a", pod("exec-made-2")])
    os.unlink(runs)
    rc, out, err = run(["--kubeconfig", kc_exec, "pod-list", "team-a", ""], {"STA_K8S_LIST_LIMIT": "1"})
    n_runs = len(open(runs).read().splitlines())
    n_pages = len(json.loads(out)["items"]) if rc == 0 else 0
    ok(rc == 0 and n_pages == 2 and n_runs == 2, "an expired ExecCredential is fetched again, a valid one is not",
       f"runs={n_runs} pages={n_pages} {err}")
    bad_plugin = cl.write_kubeconfig("kc-exec-bad", user="    exec:\n      command: /bin/false")
    rc, out, err = run(["--kubeconfig", bad_plugin, "pod-list", "team-a", ""])
    ok(rc == 1 and "exec credential /bin/false" in err, "a failing exec plugin is reported", err)

    K = ["--kubeconfig", kc_token]

    # --- pods ---
    labels = {"app.kubernetes.io/part-of": "sta", "sta/dag": "etl", "sta/try": "1"}
    rc, out, err = run(K + ["pod-create", "ns1", pod("p1", labels, {"fake.sta/log": "line one\nline two\n"})])
    created = json.loads(out) if rc == 0 else {}
    ok(rc == 0 and created["metadata"]["name"] == "p1" and created["metadata"].get("uid"), "pod created", err)
    rc, out, err = run(K + ["pod-create", "ns1", pod("p1", labels)])
    ok(rc == 4 and "AlreadyExists" in err, "second create of the same name: K8S_EXISTS", err)
    rc, out, err = run(K + ["pod-create", "ns1", pod("p2", {"sta/dag": "other"},
                                                     {"fake.sta/exit-code": "3"})])
    ok(rc == 0, "second pod created", err)
    rc, out, err = run(K + ["pod-create", "ns1", pod("bad", {"sta/run": "manual__2024:01"})])
    ok(rc == 1 and "422" in err and "Invalid" in err, "an invalid label value is refused by the server", err)
    rc, out, err = run(K + ["pod-list", "ns1", "sta/dag=etl"])
    names = [p["metadata"]["name"] for p in json.loads(out)["items"]] if rc == 0 else []
    ok(names == ["p1"], "list by label selector", out + err)
    rc, out, err = run(K + ["pod-list", "ns1", ""], {"STA_K8S_LIST_LIMIT": "1"})
    names = sorted(p["metadata"]["name"] for p in json.loads(out)["items"]) if rc == 0 else []
    ok(names == ["p1", "p2"], "list follows continue tokens across pages", out + err)
    rc, out, err = run(K + ["pod-get", "ns1", "p1"])
    ok(rc == 0 and json.loads(out)["metadata"]["labels"] == labels, "pod get", err)
    rc, out, err = run(K + ["pod-get", "ns1", "nope"])
    ok(rc == 2 and err == "", "get of a missing pod: K8S_NOT_FOUND, nothing printed", err)
    time.sleep(1.2)
    logf = os.path.join(T, "p1.log")
    rc, out, err = run(K + ["pod-log", "ns1", "p1", logf])
    ok(rc == 0 and open(logf).read() == "line one\nline two\n", "pod log into a file", err)
    rc, out, err = run(K + ["pod-get", "ns1", "p2"])
    st = json.loads(out)["status"] if rc == 0 else {}
    ok(st.get("phase") == "Failed" and
       st["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3, "scripted phase: Failed, exit 3", out)
    rc, out, err = run(K + ["pod-delete", "ns1", "p2"])
    ok(rc == 0, "pod delete", err)
    rc, out, err = run(K + ["pod-delete", "ns1", "p2"])
    ok(rc == 2, "delete of a missing pod: K8S_NOT_FOUND", err)

    # --- retries ---
    cl.control("/_fake/fault", {"method": "GET", "path": "/pods/p1$", "status": 429, "retry_after": 1, "count": 2})
    t0 = time.time()
    rc, out, err = run(K + ["pod-get", "ns1", "p1"])
    took = time.time() - t0
    ok(rc == 0 and err.count("HTTP 429") == 2, "429 retried twice", err)
    ok(took >= 2.0, f"Retry-After honoured ({took:.1f}s for two Retry-After: 1)")
    cl.control("/_fake/fault", {"method": "GET", "path": "/pods/p1$", "status": 500, "count": 2})
    rc, out, err = run(K + ["pod-get", "ns1", "p1"])
    ok(rc == 0 and err.count("HTTP 500") == 2, "500 retried", err)
    cl.control("/_fake/fault", {"method": "GET", "path": "/pods/p1$", "status": 503, "count": 3})
    rc, out, err = run(K + ["pod-get", "ns1", "p1"], {"STA_K8S_RETRIES": "2"})
    ok(rc == 1 and "(after" not in err and "503" in err and err.count("retry") == 2,
       "retries give up after STA_K8S_RETRIES", err)
    cl.control("/_fake/fault", {"method": "GET", "path": "/pods/p1$", "drop": True, "count": 1})
    rc, out, err = run(K + ["pod-get", "ns1", "p1"])
    ok(rc == 0 and "retry 1" in err, "a dropped connection is retried", err)
    # a create whose first attempt was done but answered 500: the retry meets AlreadyExists
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 500, "count": 1})
    rc, out, err = run(K + ["pod-create", "ns1", pod("p3", labels)])
    ok(rc == 0 and json.loads(out)["metadata"]["name"] == "p3" and
       sum(1 for r in cl.requests_seen() if r[0] == "POST" and r[1].endswith("/ns1/pods")) >= 2,
       "create retried after a 500", err)
    # the 500 fault answers before the server acts; make the object exist first
    run(K + ["pod-create", "ns1", pod("p4", labels, {"fake.sta/script": "manual"})])
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 500, "count": 1})
    rc, out, err = run(K + ["pod-create", "ns1", pod("p4", labels)])
    ok(rc == 0 and "an earlier attempt created it" in err, "retried create meeting AlreadyExists with our labels: ours",
       err)
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 500, "count": 1})
    rc, out, err = run(K + ["pod-create", "ns1", pod("p4", {"sta/dag": "someone-else"})])
    ok(rc == 4, "retried create meeting someone else's object: K8S_EXISTS", err)
    gen = json.dumps({"metadata": {"generateName": "g-"}, "spec": {"containers": [{"name": "m", "image": "i"}]}})
    cl.control("/_fake/fault", {"method": "POST", "path": "/pods$", "status": 500, "count": 1})
    rc, out, err = run(K + ["pod-create", "ns1", gen])
    ok(rc == 1 and "retry" not in err, "a generateName create is not retried after a 500", err)

    # --- leases ---
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "sta-scheduler"},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    rc, out, err = run(K + ["lease-create", "ns1", json.dumps(lease)])
    got = json.loads(out) if rc == 0 else {}
    ok(rc == 0 and got["spec"]["holderIdentity"] == "a", "lease created", err)
    rc, out, err = run(K + ["lease-create", "ns1", json.dumps(lease)])
    ok(rc == 4, "lease create again: K8S_EXISTS", err)
    rv0 = got["metadata"]["resourceVersion"]
    upd = dict(got, spec={"holderIdentity": "b", "leaseDurationSeconds": 15})
    rc, out, err = run(K + ["lease-update", "ns1", "sta-scheduler", json.dumps(upd)])
    ok(rc == 0 and json.loads(out)["metadata"]["resourceVersion"] != rv0, "lease updated with its resourceVersion", err)
    upd["spec"]["holderIdentity"] = "c"
    rc, out, err = run(K + ["lease-update", "ns1", "sta-scheduler", json.dumps(upd)])
    ok(rc == 3 and "409" in err and "Conflict" in err, "stale resourceVersion: K8S_CONFLICT", err)
    rc, out, err = run(K + ["lease-get", "ns1", "sta-scheduler"])
    ok(rc == 0 and json.loads(out)["spec"]["holderIdentity"] == "b", "the conflicting update changed nothing", out)
    rc, out, err = run(K + ["lease-get", "ns1", "none"])
    ok(rc == 2, "missing lease: K8S_NOT_FOUND", err)

    # --- watch ---
    watch_tests(K)

    # --- labels ---
    ids = ["scheduled__2024-01-01T00:00:00+00:00", "x" * 300, "x" * 300 + "y", "_a_", "", "-",
           "ETL.daily-v2", "über"]
    rc, out, err = run(["label"] + ids)
    vals = out.split("\n")[:len(ids)]
    ok(rc == 0 and all(len(v) <= 63 and LABEL_RE.match(v) for v in vals), "label values valid", vals)
    ok(len(set(vals)) == len(ids), "label values distinct for distinct ids", vals)
    ok(vals[6] == "ETL.daily-v2", "a valid value is kept as is", vals)
    lp = {f"sta/l{i}": v for i, v in enumerate(vals)}
    rc, out, err = run(K + ["pod-create", "ns1", pod("labelled", lp, {"fake.sta/script": "manual"})])
    ok(rc == 0, "the API server accepts them", err)
    reports = [e for e in stderrs if "Sanitizer" in e or "runtime error" in e]
    ok(not reports, f"no sanitizer reports from {len(stderrs)} client runs", "\n".join(reports))


def watch_run(args, env=None):
    return subprocess.Popen([DRIVER] + args, env=driver_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_line(p, pred, timeout=15):
    end = time.time() + timeout
    seen = []
    while time.time() < end:
        line = p.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if pred(seen[-1]):
            return seen
    return seen


def watch_tests(K):
    # scripted phases seen through the watch, with the connection dropped once
    p = watch_run(K + ["watch", "ns2", "sta/dag=w", "", "2", "20"])
    wait_line(p, lambda s: s == "WATCHING")
    # create the pods only once the watch is open, so it sees them Pending
    for _ in range(200):
        if any("watch=1" in r[1] and "/ns2/" in r[1] for r in cl.requests_seen()):
            break
        time.sleep(0.05)
    for name, code in (("w1", "0"), ("w2", "7")):
        run(K + ["pod-create", "ns2", pod(name, {"sta/dag": "w"}, {"fake.sta/exit-code": code,
                                                                  "fake.sta/step-seconds": "1.0"})])
    run(K + ["pod-create", "ns2", pod("unrelated", {"sta/dag": "other"})])
    seen = wait_line(p, lambda s: s.startswith("EVENT ADDED w2"))
    cl.control("/_fake/drop-watches")
    out, err = p.communicate(timeout=30)
    stderrs.append(err)
    lines = seen + out.splitlines()
    ev = [ln.split() for ln in lines if ln.startswith("EVENT ")]
    phases = {n: [e[3] for e in ev if e[2] == n and e[1] != "BOOKMARK"] for n in ("w1", "w2")}
    ok(p.returncode == 0, "watch ended when both pods finished", "\n".join(lines) + err)
    ok(phases["w1"] == ["Pending", "Running", "Succeeded"], "w1: Pending, Running, Succeeded, once each", phases)
    ok(phases["w2"] == ["Pending", "Running", "Failed"], "w2: Pending, Running, Failed", phases)
    ok([e[4] for e in ev if e[2] == "w2" and e[3] == "Failed"] == ["7"], "exit code from the container status", ev)
    ok(not any(e[2] == "unrelated" for e in ev), "the label selector filters events")
    ok("CONNECTS 2" in lines or any(ln.startswith("CONNECTS") and int(ln.split()[1]) >= 2 for ln in lines),
       "the dropped watch was reopened", lines)
    ws = [r[1] for r in cl.requests_seen() if "watch=1" in r[1] and "/ns2/" in r[1]]
    last_added = [e[5] for e in ev if e[2] == "w2" and e[1] == "ADDED"]
    ok(len(ws) >= 2 and "resourceVersion=" not in ws[0] and
       any(f"resourceVersion={rv}" in w for w in ws[1:] for rv in last_added + [e[5] for e in ev]),
       "the reopened watch resumed from a resourceVersion it had seen", ws)
    ok("connection lost" in err and "resuming from resourceVersion" in err, "the drop was reported", err)

    # 410: a resourceVersion from before the compaction makes the watch relist
    rc, out, err = run(K + ["pod-list", "ns2", "sta/dag=w"])
    old_rv = json.loads(out)["metadata"]["resourceVersion"]
    run(K + ["pod-create", "ns2", pod("w3", {"sta/dag": "w"}, {"fake.sta/step-seconds": "0.2"})])
    time.sleep(1.0)
    cl.control("/_fake/compact")
    p = watch_run(K + ["watch", "ns2", "sta/dag=w", old_rv, "3", "20"])
    out, err = p.communicate(timeout=30)
    stderrs.append(err)
    lines = out.splitlines()
    ok(p.returncode == 0 and "GONE" in lines and any(ln.startswith("RELIST 3 ") for ln in lines),
       "an expired resourceVersion (ERROR event, 410) gives GONE and a relist with all three pods", out + err)
    # HTTP 410 on the watch request itself
    cl.control("/_fake/fault", {"method": "GET", "path": "watch=1.*resourceVersion=", "status": 410, "count": 1})
    run(K + ["pod-create", "ns2", pod("w4", {"sta/dag": "w"}, {"fake.sta/step-seconds": "1.0"})])
    p = watch_run(K + ["watch", "ns2", "sta/dag=w", old_rv, "4", "20"])
    out, err = p.communicate(timeout=30)
    stderrs.append(err)
    lines = out.splitlines()
    ok(p.returncode == 0 and "GONE" in lines and "HTTP 410" in err, "HTTP 410 gives GONE and a relist", out + err)
    # 500 on a watch connection: retried with backoff
    cl.control("/_fake/fault", {"method": "GET", "path": "watch=1", "status": 500, "count": 2})
    run(K + ["pod-create", "ns2", pod("w5", {"sta/dag": "w5"}, {"fake.sta/step-seconds": "0.3"})])
    p = watch_run(K + ["watch", "ns2", "sta/dag=w5", "", "1", "20"])
    out, err = p.communicate(timeout=30)
    stderrs.append(err)
    ok(p.returncode == 0 and err.count("HTTP 500") == 2 and "CONNECTS 3" in out,
       "a watch answered 500 is retried", out + err)


if __name__ == "__main__":
    run_main(main, T, cleanup)
