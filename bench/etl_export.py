#!/usr/bin/env python3
# bench/etl_export.py [BLOCKS] [TX_PER_BLOCK]: how fast `sta etl` exports
# compared with the node's own ceiling, measured in the same run.
#
# Starts anvil with BLOCKS blocks of TX_PER_BLOCK ether transfers each, then
# for blocks (eth_getBlockByNumber with transactions) and receipts
# (eth_getTransactionReceipt) times, three times each, alternating:
#   ceiling  the same JSON-RPC batches (100 per batch, 5 in flight) sent by
#            curl --parallel, the answers thrown away: what a minimal client
#            gets from this node;
#   sta      sta etl export_blocks_and_transactions / export_receipts_and_logs
#            with -b 100 -w 5, writing CSV.
# Each case runs twice: with the node and the client sharing every core
# (they compete for CPU), and split, the node on the first half of the cores
# and the client on the other half, as when the node runs on a machine of
# its own.  Prints the median blocks/s, rows/s, the client's CPU seconds per
# 1,000 blocks and the node's, and sta's share of the ceiling of the same
# placement.  Figures, never pass/fail.
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STA = os.environ.get("STA", os.path.join(ROOT, "build", "release", "sta"))
ANVIL = os.path.join(ROOT, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil")
NBLOCKS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
PER = int(sys.argv[2]) if len(sys.argv) > 2 else 10
BATCH, WORKERS, RUNS = 100, 5, 5
T = tempfile.mkdtemp(prefix="sta-bench-etl-")
TICK = os.sysconf("SC_CLK_TCK")


def rpc(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def cpu_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


CPUS = sorted(os.sched_getaffinity(0))


def placements():
    """(name, the node's CPUs, the client's CPUs) for each placement measured."""
    yield "shared", CPUS, CPUS
    if len(CPUS) >= 2:
        half = len(CPUS) // 2
        yield "split", CPUS[:half], CPUS[half:]


def pin(pid, cpus):
    """Pins every thread of pid (threads it starts later inherit it)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except ProcessLookupError:
            pass


def measure(anvil_pid, argv, cpus):
    """Runs argv on cpus; returns (wall seconds, its CPU seconds, the node's CPU seconds)."""
    c0, n0, t0 = children_cpu(), cpu_of(anvil_pid), time.monotonic()
    subprocess.run(argv, cwd=T, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    return time.monotonic() - t0, children_cpu() - c0, cpu_of(anvil_pid) - n0


def batch_files(name, requests):
    paths = []
    for i in range(0, len(requests), BATCH):
        body = [dict(r, jsonrpc="2.0", id=k) for k, r in enumerate(requests[i:i + BATCH])]
        p = os.path.join(T, f"{name}{i // BATCH}.json")
        with open(p, "w") as f:
            json.dump(body, f)
        paths.append(p)
    return paths


def curl_argv(url, files):
    argv = ["curl", "-s", "-Z", "--parallel-max", str(WORKERS), "-H", "Content-Type: application/json"]
    for i, p in enumerate(files):
        if i:
            argv.append("--next")
        argv += ["-H", "Content-Type: application/json", "--data-binary", "@" + p, "-o", "/dev/null", url]
    return argv


log = open(os.path.join(T, "anvil.log"), "w")
# Historical states anvil moves out of memory go to T, removed at the end
# (by default they pile up in ~/.foundry/anvil/tmp: gigabytes per run).
anvil = subprocess.Popen([ANVIL, "--port", "0", "--no-mining", "--cache-path", os.path.join(T, "anvil-states")],
                         stdout=log, stderr=subprocess.STDOUT)
try:
    url = None
    for _ in range(100):
        m = re.search(r"Listening on 127\.0\.0\.1:(\d+)", open(log.name).read())
        if m:
            url = "http://127.0.0.1:" + m.group(1)
            break
        time.sleep(0.1)
    accounts = rpc(url, {"jsonrpc": "2.0", "id": 1, "method": "eth_accounts", "params": []})["result"]
    print(f"generating {NBLOCKS} blocks x {PER} transfers on anvil ...", file=sys.stderr)
    for b in range(NBLOCKS):
        sends = [{"jsonrpc": "2.0", "id": k, "method": "eth_sendTransaction",
                  "params": [{"from": accounts[k % len(accounts)], "to": "0x%040x" % (b * PER + k + 1),
                              "value": hex(10 ** 12 + b), "gas": "0x5208"}]} for k in range(PER)]
        rpc(url, sends)
        rpc(url, {"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []})
    last = NBLOCKS
    ranges = ["-s", "1", "-e", str(last), "-b", str(BATCH), "-w", str(WORKERS), "-p", url]
    subprocess.run([STA, "etl", "export_blocks_and_transactions", *ranges, "--transactions-output", "t.csv"],
                   cwd=T, check=True, capture_output=True)
    subprocess.run([STA, "etl", "extract_csv_column", "-i", "t.csv", "-c", "hash", "-o", "h.txt"], cwd=T, check=True)
    hashes = open(os.path.join(T, "h.txt")).read().split()
    block_reqs = [{"method": "eth_getBlockByNumber", "params": [hex(n), True]} for n in range(1, last + 1)]
    receipt_reqs = [{"method": "eth_getTransactionReceipt", "params": [h]} for h in hashes]
    cases = [
        ("blocks+transactions", last, last * (1 + PER), curl_argv(url, batch_files("b", block_reqs)),
         [STA, "etl", "export_blocks_and_transactions", *ranges, "--blocks-output", "blocks.csv",
          "--transactions-output", "transactions.csv"]),
        ("receipts+logs", last, len(hashes), curl_argv(url, batch_files("r", receipt_reqs)),
         [STA, "etl", "export_receipts_and_logs", "-t", "h.txt", "-b", str(BATCH), "-w", str(WORKERS),
          "-p", url, "--receipts-output", "receipts.csv", "--logs-output", "logs.csv"]),
    ]
    print(f"\n{last} blocks, {len(hashes)} transactions; batches of {BATCH}, {WORKERS} in flight; "
          f"median of {RUNS} runs each, alternating; {len(CPUS)} cores\n")
    print(f"{'export':20} {'cores':6} {'client':8} {'blocks/s':>9} {'rows/s':>9} {'client CPU s/1k blk':>20} "
          f"{'node CPU s/1k blk':>18} {'of ceiling':>10}")
    for name, blocks, nrows, ceiling_argv, sta_argv in cases:
        for where, node_cpus, client_cpus in placements():
            pin(anvil.pid, node_cpus)
            res = {"ceiling": [], "sta": []}
            for _ in range(RUNS):
                res["ceiling"].append(measure(anvil.pid, ceiling_argv, client_cpus))
                res["sta"].append(measure(anvil.pid, sta_argv, client_cpus))
            ceil_wall = statistics.median(r[0] for r in res["ceiling"])
            for who in ("ceiling", "sta"):
                wall = statistics.median(r[0] for r in res[who])
                cpu = statistics.median(r[1] for r in res[who])
                node = statistics.median(r[2] for r in res[who])
                print(f"{name:20} {where:6} {who:8} {blocks / wall:9.0f} {nrows / wall:9.0f} "
                      f"{cpu / blocks * 1000:20.3f} {node / blocks * 1000:18.3f} {ceil_wall / wall:10.0%}")
        pin(anvil.pid, CPUS)
finally:
    anvil.terminate()
    anvil.wait()
    shutil.rmtree(T, ignore_errors=True)
