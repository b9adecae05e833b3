#!/usr/bin/env python3
# k8s_pipeline.py: the shipped ethereum_export_dag for one devnet day, once
# with the local executor and once as pods (STA_DEFAULT_EXECUTOR=kubernetes)
# through the Kubernetes API test server in kubelet mode, which runs each
# pod's `sta etl ...` command on this machine.  The two lakes must hold the
# same bytes: a task gives the same result wherever it runs (its argv and
# the pipeline settings reach the pod unchanged).  Prints TAP.
import json
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STA = os.environ.get("STA", os.path.join(SRC, "build", "release", "sta"))
sys.path.insert(0, os.path.join(SRC, "tests", "fakes"))
from tap import ok, run_main  # noqa: E402
from k8s_env import FakeCluster  # noqa: E402
import servers  # noqa: E402

T = tempfile.mkdtemp(prefix="sta-k8s-pipeline-")
cleanup = []


def files(root):
    """Relative path -> bytes of every file under root."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def run_day(name, day, url, extra_env):
    home = os.path.join(T, name)
    dags = os.path.join(home, "dags")
    os.makedirs(dags)
    text = open(os.path.join(SRC, "workflows", "ethereum_export_dag.yaml")).read()
    text = re.sub(r"(?m)^start_date: .*$", f"start_date: {day}\nend_date: {day}", text)
    text = re.sub(r"(?m)^  retries: .*$", "  retries: 0", text)
    open(os.path.join(dags, "ethereum_export_dag.yaml"), "w").write(text)
    env = dict(os.environ, STA_HOME=home, STA_DAGS_FOLDER=dags, STA_PROVIDER_URI=url,
               STA_LAKE="file://" + os.path.join(T, "lake-" + name))
    env.update(extra_env)
    p = subprocess.run([STA, "dags", "test", "ethereum_export_dag", day], env=env,
                       capture_output=True, text=True, timeout=600)
    return p


def main():
    dn = os.path.join(T, "devnet")
    url = servers.devnet(SRC, dn)
    cleanup.append(lambda: subprocess.run(["bash", os.path.join(SRC, "devnet", "stop.sh"), dn]))
    day = json.load(open(os.path.join(dn, "record.json")))["days"][1]["date"]
    # The fake's pods find `sta` on its PATH, as the image would have it.
    os.environ["PATH"] = os.path.dirname(os.path.abspath(STA)) + ":" + os.environ["PATH"]
    cl = FakeCluster(os.path.join(T, "cluster"), ["--kubelet"])
    cleanup.append(cl.stop)

    local = run_day("local", day, url, {})
    ok(local.returncode == 0, f"the export of {day} with the local executor", local.stderr[-2000:])
    pods = run_day("pods", day, url, dict(cl.env(), STA_DEFAULT_EXECUTOR="kubernetes",
                                          STA_K8S_IMAGE="registry.example/sta:1"))
    ok(pods.returncode == 0, f"the export of {day} as pods", pods.stderr[-2000:])
    made = sorted(b["metadata"]["annotations"]["sta.dev/task-id"]
                  for b in cl.control("/_fake/created", method="GET"))
    ok(made == sorted(["export_blocks_and_transactions", "export_receipts_and_logs",
                       "extract_token_transfers", "export_traces", "export_contracts",
                       "export_tokens"]), "each of the six tasks ran as one pod", made)
    a, b = files(os.path.join(T, "lake-local")), files(os.path.join(T, "lake-pods"))
    data = [k for k in a if not k.endswith("manifest.json")]
    ok(len(data) >= 8 and sorted(a) == sorted(b), "the same lake files", f"{sorted(a)}\n{sorted(b)}")
    ok(all(a[k] == b.get(k) for k in data), "every data file byte-identical to the local run's",
       [k for k in data if a[k] != b.get(k)])
    digests = [(k, sorted((f["name"], f["sha256"], f["rows"]) for f in json.loads(a[k])["files"]),
                sorted((f["name"], f["sha256"], f["rows"]) for f in json.loads(b[k])["files"]))
               for k in a if k.endswith("manifest.json")]
    ok(digests and all(x == y for _, x, y in digests),
       "every manifest lists the same files, digests and row counts", digests)


if __name__ == "__main__":
    run_main(main, T, cleanup)
