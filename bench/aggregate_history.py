#!/usr/bin/env python3
# bench/aggregate_history.py [DAYS] [BLOCKS_PER_DAY] [TX_PER_BLOCK]: the
# daily incremental aggregates on a store holding DAYS days of history and
# on one holding 10 x DAYS, measured in the same run, alternating, median of
# 5.  Bar: the 10x store within 1.5x of the 1x store.  Figures, never
# pass/fail.
#
# The history is synthetic (blocks and transactions with random senders,
# receivers and values) written straight into sta's SQLite schema; both
# stores get the same last day, which is the one aggregated.
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STA = os.environ.get("STA", os.path.join(ROOT, "build", "release", "sta"))
DAYS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
BPD = int(sys.argv[2]) if len(sys.argv) > 2 else 200
TPB = int(sys.argv[3]) if len(sys.argv) > 3 else 50
T = tempfile.mkdtemp(prefix="sta-bench-agg-")
DAY0 = 1704067200  # 2024-01-01


def build(path, days):
    """A store with `days` days ending on the same last day."""
    env = dict(os.environ, STA_HOME=T)
    subprocess.run([STA, "query", "select 1", "--store", "sqlite://" + path], env=env, check=True,
                   capture_output=True)
    con = sqlite3.connect(path)
    rng = random.Random(days)
    first_day = 10 * DAYS - days  # so every store ends on day 10*DAYS-1
    number = first_day * BPD
    for d in range(first_day, 10 * DAYS):
        date = time.strftime("%Y-%m-%d", time.gmtime(DAY0 + d * 86400))
        blocks, txs = [], []
        for b in range(BPD):
            ts = DAY0 + d * 86400 + b * (86400 // BPD)
            blocks.append((number, f"0x{number:064x}", f"0x{number - 1:064x}", "0x0", "0x", "0x", "0x",
                           "0x", "0x", f"0x{rng.randrange(20):040x}", "0", "0", 1000, "0x", 30000000,
                           21000 * TPB, ts, TPB, "1000000000", None, None, date))
            for i in range(TPB):
                txs.append((f"0x{number:056x}{i:08x}", rng.randrange(5), f"0x{number:064x}", number, i,
                            f"0x{rng.randrange(100000):040x}", f"0x{rng.randrange(100000):040x}",
                            str(rng.randrange(10 ** 20)), 21000, "1000000000", "0x", ts, None, None, 0,
                            date))
            number += 1
        con.executemany("insert into blocks values (" + ",".join("?" * 22) + ")", blocks)
        con.executemany("insert into transactions values (" + ",".join("?" * 16) + ")", txs)
    con.commit()
    con.execute("analyze")
    con.close()
    return time.strftime("%Y-%m-%d", time.gmtime(DAY0 + (10 * DAYS - 1) * 86400))


def aggregate(path, day):
    env = dict(os.environ, STA_HOME=T)
    t0 = time.monotonic()
    for name in ("aggregate_transaction_metrics_by_block", "aggregate_metrics_by_day"):
        subprocess.run([STA, "aggregate", name, day, "--store", "sqlite://" + path], env=env,
                       check=True, capture_output=True)
    return time.monotonic() - t0


try:
    small, big = os.path.join(T, "1x.db"), os.path.join(T, "10x.db")
    print(f"building stores: {DAYS} and {10 * DAYS} days x {BPD} blocks x {TPB} transactions ...",
          file=sys.stderr)
    day = build(small, DAYS)
    build(big, 10 * DAYS)
    sizes = {p: os.path.getsize(p) / 2 ** 20 for p in (small, big)}
    times = {small: [], big: []}
    for _ in range(5):
        for p in (small, big):
            times[p].append(aggregate(p, day))
    s, b = statistics.median(times[small]), statistics.median(times[big])
    print(f"\ndaily increment of {day}: both aggregates, median of 5, alternating\n")
    print(f"{'history':>10} {'transactions':>14} {'store MB':>9} {'time s':>8}")
    print(f"{DAYS:>7} d {DAYS * BPD * TPB:>14} {sizes[small]:>9.0f} {s:>8.3f}")
    print(f"{10 * DAYS:>7} d {10 * DAYS * BPD * TPB:>14} {sizes[big]:>9.0f} {b:>8.3f}")
    print(f"\n10x history / 1x history: {b / s:.2f}x (bar: 1.5x)")
finally:
    shutil.rmtree(T, ignore_errors=True)
