#!/usr/bin/env python3
# etl_faults.py: exports through a proxy that answers a third of the
# requests with HTTP 500/429, timeouts, dropped connections, truncated,
# reordered or mislabelled batches and transient JSON-RPC errors
# (tests/fakes/rpc_fault_proxy.py) finish with files byte-identical to a
# fault-free run; a dead first provider fails over to the second; a node
# that never answers well fails the command with a message and no file.
# Prints TAP.
import os
import subprocess
import sys
import tempfile
import time
import json

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from tap import ok, finish  # noqa: E402

STA = os.environ["STA"]
SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
T = tempfile.mkdtemp(prefix="sta-faults-")
procs = []




def sta(*args, env=None):
    return subprocess.run([STA, "etl", *args], cwd=T, capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})))


def same(a, b):
    return open(os.path.join(T, a), "rb").read() == open(os.path.join(T, b), "rb").read()


def proxy(name, upstream, seed, rate):
    port_file, stats = os.path.join(T, name + ".port"), os.path.join(T, name + ".stats")
    procs.append(subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "fakes", "rpc_fault_proxy.py"),
                                   upstream, port_file, stats, str(seed), str(rate)]))
    for _ in range(100):
        if os.path.exists(port_file):
            return "http://127.0.0.1:" + open(port_file).read(), stats
        time.sleep(0.05)
    raise RuntimeError("proxy did not start")


dn = os.path.join(T, "devnet")
start = subprocess.run(["bash", os.path.join(SRC, "devnet", "start.sh"), "0", dn], capture_output=True, text=True)
if start.returncode != 0:
    print("not ok 1 - the devnet starts\n# " + start.stderr.replace("\n", "\n# ") + "\n1..1")
    sys.exit(1)
url = start.stdout.strip().splitlines()[-1]
try:
    last = json.load(open(os.path.join(dn, "record.json")))["blocks"][-1]["number"]
    rng = ["-s", "0", "-e", str(last)]
    faulty, stats = proxy("faulty", url, 7, 0.35)
    quick = {"STA_RPC_TIMEOUT": "2", "STA_RPC_RETRIES": "40", "STA_RPC_BACKOFF_MS": "20"}

    # Fault-free reference files, straight from the node.
    sta("export_blocks_and_transactions", *rng, "-p", url, "--blocks-output", "b0.csv",
        "--transactions-output", "t0.csv")
    sta("extract_csv_column", "-i", "t0.csv", "-c", "hash", "-o", "hashes.txt")
    sta("export_receipts_and_logs", "-t", "hashes.txt", "-p", url, "--receipts-output", "r0.csv",
        "--logs-output", "l0.csv")
    sta("export_traces", *rng, "-p", url, "-o", "tr0.csv")
    sta("export_geth_traces", *rng, "-p", url, "-o", "g0.json")
    sta("extract_csv_column", "-i", "r0.csv", "-c", "contract_address", "-o", "ca.txt")
    sta("export_tokens", "-t", "ca.txt", "-p", url, "-o", "tok0.csv")

    # The same through the faulty proxy, small batches and many workers.
    runs = [
        ("export_blocks_and_transactions", [*rng, "-b", "2", "-w", "4", "--blocks-output", "b1.csv",
                                            "--transactions-output", "t1.csv"], [("b0.csv", "b1.csv"), ("t0.csv", "t1.csv")]),
        ("export_receipts_and_logs", ["-t", "hashes.txt", "-b", "3", "-w", "4", "--receipts-output", "r1.csv",
                                      "--logs-output", "l1.csv"], [("r0.csv", "r1.csv"), ("l0.csv", "l1.csv")]),
        ("export_traces", [*rng, "-b", "2", "-w", "3", "-o", "tr1.csv"], [("tr0.csv", "tr1.csv")]),
        ("export_geth_traces", [*rng, "-b", "3", "-w", "3", "-o", "g1.json"], [("g0.json", "g1.json")]),
        ("export_tokens", ["-t", "ca.txt", "-w", "2", "-o", "tok1.csv"], [("tok0.csv", "tok1.csv")]),
    ]
    for cmd, args, pairs in runs:
        p = sta(cmd, *args, "-p", faulty, env=quick)
        ok(p.returncode == 0 and all(same(a, b) for a, b in pairs),
           f"{cmd} through faults: byte-identical to the fault-free run", p.stderr[-2000:])
    seen = json.load(open(stats))
    ok(all(seen[k] > 0 for k in seen), "every kind of fault was injected", seen)

    # Failover: the first provider refuses connections.
    p = sta("export_blocks_and_transactions", *rng, "-p", "http://127.0.0.1:9," + url, "-b", "4",
            "--blocks-output", "b2.csv", env=quick)
    ok(p.returncode == 0 and same("b0.csv", "b2.csv"), "a dead provider fails over to the next", p.stderr)

    # A node that always fails: the command fails, names the job, leaves no file.
    broken, _ = proxy("broken", url, 1, 1.0)
    p = sta("export_blocks_and_transactions", "-s", "0", "-e", "3", "-p", broken, "--blocks-output", "b3.csv",
            env={"STA_RPC_TIMEOUT": "1", "STA_RPC_RETRIES": "3", "STA_RPC_BACKOFF_MS": "10"})
    ok(p.returncode == 1 and "blocks 0-3" in p.stderr and "giving up" in p.stderr
       and not os.path.exists(os.path.join(T, "b3.csv"))
       and not [f for f in os.listdir(T) if f.startswith("b3.csv")],
       "a node that never answers well: exit 1 naming the blocks, no file or temporary left", p.stderr)
finally:
    # the proxies (procs) are killed before the devnet stops
    status = finish(T, [lambda: subprocess.run(["bash", os.path.join(SRC, "devnet", "stop.sh"), dn])]
                    + [p.kill for p in procs])
sys.exit(status)
