#!/usr/bin/env python3
# pipeline.py [sqlite|postgres]: the shipped workflows end to end on the
# devnet under the standalone scheduler: export every day to the lake, load
# it, aggregate it.  Expected values come from the devnet generator's record
# (devnet/record.json), never from sta's output.
#
#   sqlite    local lake (file://) and the SQLite store (the defaults)
#   postgres  an S3 lake (s3rver) and a PostgreSQL 15 server, both started
#             here
#
# Also: reruns change nothing (tables and manifests), a load killed midway
# leaves the old partition or the new one, never a mix, sta verify passes
# on an untouched partition and names the row of an altered one, and the
# load DAG starts only after the export DAG's run of the same day.
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
import servers  # noqa: E402  (tests/fakes/servers.py)
from tap import ok, finish  # noqa: E402

STA = os.environ["STA"]
SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODE = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
T = tempfile.mkdtemp(prefix=f"sta-pipeline-{MODE}-")
HOME = os.path.join(T, "home")
cleanup = []




def sta(*args, check=True, **kw):
    p = subprocess.run([STA, *args], capture_output=True, text=True, env=ENV, **kw)
    if check and p.returncode != 0:
        ok(False, f"sta {' '.join(args[:3])} exits 0", p.stdout[-1000:] + p.stderr[-2000:])
    return p


def lake_get(uri):
    """An object's bytes (text mode would turn its CRLF into LF)."""
    return subprocess.run([STA, "lake", "get", uri, "-"], capture_output=True, env=ENV).stdout


def lake_put(data, uri):
    path = os.path.join(T, "put.tmp")
    open(path, "wb").write(data)
    sta("lake", "put", path, uri)


def query(sql):
    """Rows of a query on the analytical store, as lists of strings."""
    out = sta("query", sql).stdout.splitlines()
    return [line.split("\t") for line in out[1:]]


def state_db(sql):
    con = sqlite3.connect(os.path.join(HOME, "sta.db"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


ENV = dict(os.environ, STA_HOME=HOME, STA_DAGS_FOLDER=os.path.join(T, "dags"))
try:
    dn = os.path.join(T, "devnet")
    url = servers.devnet(SRC, dn)
    cleanup.append(lambda: subprocess.run(["bash", os.path.join(SRC, "devnet", "stop.sh"), dn]))
    ENV["STA_PROVIDER_URI"] = url
    if MODE == "postgres":
        pg_url, stop_pg = servers.postgres(os.path.join(T, "pg"))
        cleanup.append(stop_pg)
        s3_env, stop_s3 = servers.s3rver(SRC, os.path.join(T, "s3"), "lake")
        cleanup.append(stop_s3)
        ENV.update(s3_env, STA_STORE=pg_url, STA_LAKE="s3://lake/ethereum")
    rec = json.load(open(os.path.join(dn, "record.json")))
    days = [d["date"] for d in rec["days"]]

    # The shipped DAGs, dated to the devnet's days.
    os.makedirs(ENV["STA_DAGS_FOLDER"])
    for name in ("ethereum_export_dag", "ethereum_load_dag", "redshift_increment_aggregates",
                 "redshift_refresh_aggregates", "security_tokens_dag"):
        text = open(os.path.join(SRC, "workflows", name + ".yaml")).read()
        text = re.sub(r"(?m)^start_date: .*$", f"start_date: {days[0]}\nend_date: {days[-1]}", text)
        # fail fast here: one quick retry instead of five after 5 minutes
        text = re.sub(r"(?m)^  retries: .*$", "  retries: 1", text)
        text = re.sub(r"(?m)^  retry_delay: .*$", "  retry_delay: 1s", text)
        open(os.path.join(ENV["STA_DAGS_FOLDER"], name + ".yaml"), "w").write(text)

    sta("scheduler", "--exit-when-idle", "--rescan-seconds", "2", timeout=900)
    runs = state_db("select dag_id, state, count(*) from dag_runs group by dag_id, state")
    ok(sorted(runs) == sorted([("ethereum_export_dag", "success", len(days)),
                               ("ethereum_load_dag", "success", len(days)),
                               ("redshift_increment_aggregates", "success", len(days)),
                               ("security_tokens_dag", "success", len(days))]),
       "every day's export, load and aggregate runs succeeded", runs)

    # The load of a day started only after the export of that day ended.
    order = state_db("""
        select e.logical_date, e.end_ms, min(ti.start_ms) from dag_runs e
        join dag_runs l on l.dag_id = 'ethereum_load_dag' and l.logical_date = e.logical_date
        join task_instances ti on ti.run_pk = l.id and ti.task_id like 's3_to_redshift_%'
        where e.dag_id = 'ethereum_export_dag' group by e.logical_date""")
    ok(len(order) == len(days) and all(load >= end for _, end, load in order),
       "each day's loads start after that day's export run ended (cross-DAG wait)", order)

    # Rows per table and day against the generator's record.
    by_day = {d: [t for b in rec["blocks"] if b["date"] == d for t in b["transactions"]] for d in days}
    want = {}
    for d in days:
        txs = by_day[d]
        want[("blocks", d)] = sum(1 for b in rec["blocks"] if b["date"] == d)
        want[("transactions", d)] = len(txs)
        want[("receipts", d)] = len(txs)
        want[("logs", d)] = sum(len(t.get("logs", [])) for t in txs)
        want[("token_transfers", d)] = sum(len(t.get("token_transfers", [])) for t in txs)
        want[("traces", d)] = sum(len(t.get("traces", [])) for t in txs)
    got = {}
    for table in ("blocks", "transactions", "receipts", "logs", "token_transfers", "traces"):
        for d, c in query(f"select block_date, count(*) from {table} group by block_date"):
            got[(table, d[:10])] = int(c)
    ok(got == want, "rows per table and day equal the record's",
       "\n".join(f"{k}: got {got.get(k)} want {v}" for k, v in sorted(want.items()) if got.get(k) != v))

    # The daily metrics, computed here from the record.
    bad = []
    rows = {r[0][:10]: r for r in query(
        "select day, blocks_cnt, transactions_cnt, unique_senders, unique_receivers, new_addresses, "
        "value_transferred_wei, value_transferred_eth, total_gas_provided from aggregate_metrics_by_day")}
    for d in days:
        txs = by_day[d]
        wei = sum(int(t["value"]) for t in txs)
        expect = [d, want[("blocks", d)], len(txs), len({t["from"] for t in txs}),
                  len({t["to"] for t in txs if t["to"]}), len({t["from"] for t in txs if t["nonce"] == 0}),
                  wei, (Decimal(wei) / Decimal(10 ** 18)).quantize(Decimal("0.000001"), ROUND_HALF_UP),
                  sum(t["gas"] for t in txs)]
        r = rows.get(d)
        if r is None or [r[0][:10], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]),
                         Decimal(r[7]), int(r[8])] != expect:
            bad.append(f"{d}: got {r} want {expect}")
    ok(not bad, "aggregate_metrics_by_day equals the metrics computed from the record", "\n".join(bad))
    per_block = {int(b): int(c) for b, c in query(
        "select block_number, transactions_cnt from aggregate_transaction_metrics_by_block")}
    ok(per_block == {b["number"]: len(b["transactions"]) for b in rec["blocks"] if b["transactions"]},
       "aggregate_transaction_metrics_by_block: transactions per block as generated")

    # Security tokens: the contracts and the daily metrics per standard,
    # computed here from the record's contracts, logs and token transfers.
    SEC = {"erc1400", "erc1410", "erc1594", "erc1643", "erc1644", "erc3643"}
    ZERO = "0x" + "0" * 40
    date_of = {b["number"]: b["date"] for b in rec["blocks"]}
    toks = {c["address"]: (set(c.get("standards", [])) & SEC, date_of[c["block_number"]])
            for c in rec["contracts"] if set(c.get("standards", [])) & SEC}
    got = {r[0]: (set(r[1].split(",")) & SEC, r[2][:10]) for r in query(
        "select address, standards, first_seen_date from security_token_contracts")}
    ok(got == toks, "security_token_contracts: the tokens built with a security standard, proxy "
       "included, implementation and identity registry not", f"got {got}\nwant {toks}")
    logs = [(b["date"], t, lg) for b in rec["blocks"] for t in b["transactions"] for lg in t.get("logs", [])]
    xfers = [(b["date"], x) for b in rec["blocks"] for t in b["transactions"]
             for x in t.get("token_transfers", []) if x["token_address"] in toks]
    stds = sorted({s for v in toks.values() for s in v[0]})
    want = {}
    for d in days:
        for st in stds:
            mine = {a for a, v in toks.items() if st in v[0]}
            day_x = [x for dd, x in xfers if dd == d and x["token_address"] in mine]
            day_l = [lg for dd, _, lg in logs if dd == d and lg["address"] in mine]
            bal = {}
            for dd, x in xfers:
                if dd <= d and x["token_address"] in mine:
                    v = int(x["value"])
                    bal[(x["token_address"], x["to"])] = bal.get((x["token_address"], x["to"]), 0) + v
                    bal[(x["token_address"], x["from"])] = bal.get((x["token_address"], x["from"]), 0) - v
            frozen = {}
            for dd, _, lg in logs:
                if dd <= d and lg["address"] in mine and lg["event"] == "AddressFrozen":
                    frozen[(lg["address"], lg["args"]["userAddress"])] = lg["args"]["isFrozen"]
            parts = {(lg["address"], lg["args"].get(k)) for lg in day_l if lg.get("standard") in SEC
                     for k in ("partition", "fromPartition", "toPartition") if lg["args"].get(k)}
            want[(d, st)] = [
                sum(1 for a in mine if toks[a][1] == d),
                len({lg["address"] for lg in day_l if lg.get("standard") in SEC or lg["event"] == "Transfer"}),
                sum(1 for x in day_x if ZERO not in (x["from"], x["to"])),
                len({h for (a, h), v in bal.items() if v != 0 and h != ZERO}),
                sum(int(x["value"]) for x in day_x if x["from"] == ZERO),
                sum(int(x["value"]) for x in day_x if x["to"] == ZERO),
                len(parts),
                sum(1 for lg in day_l if lg["event"] == "DocumentUpdated"),
                sum(1 for lg in day_l if lg["event"] == "ControllerTransfer"),
                len({u for (a, u), f in frozen.items() if f}),
            ]
    got = {(r[0][:10], r[1]): [int(v) for v in r[2:]] for r in query(
        "select day, standard, tokens_deployed, tokens_active, transfers, holders, issued_amount, "
        "redeemed_amount, partitions_in_use, documents_published, controller_transfers, frozen_addresses "
        "from security_token_metrics_by_day")}
    diff = [f"{k}: got {got.get(k)} want {v}" for k, v in sorted(want.items()) if got.get(k) != v]
    ok(want and not diff and len(got) == len(want),
       "security_token_metrics_by_day equals the metrics computed from the record, per day and standard",
       "\n".join(diff[:8]))
    nonzero = {i for v in want.values() for i, x in enumerate(v) if x}
    ok(len(nonzero) == 10, "every security-token metric is non-zero on some day of the devnet", nonzero)

    # The full refresh gives the same tables as the daily increments.
    before = query("select * from aggregate_metrics_by_day order by day")
    sta("dags", "trigger", "redshift_refresh_aggregates")
    sta("scheduler", "--exit-when-idle", "--rescan-seconds", "2", timeout=300)
    ok(query("select * from aggregate_metrics_by_day order by day") == before,
       "the full refresh rebuilds the same daily metrics")

    # Idempotence: the same day exported and loaded again changes nothing.
    d = days[1]
    snap = {t: query(f"select * from {t} where block_date = '{d}' order by 1, 2")
            for t in ("blocks", "transactions", "logs")}
    mkey = f"export/transactions/block_date={d}/manifest.json"
    lake_root = ENV.get("STA_LAKE", "file://" + os.path.join(HOME, "lake"))
    m1 = lake_get(f"{lake_root}/{mkey}")
    run = f"{d}T00:00:00+00:00"
    sta("tasks", "clear", "ethereum_export_dag", "-r", run, "-t", "export_blocks_and_transactions")
    sta("tasks", "clear", "ethereum_load_dag", "-r", run, "-t", "s3_to_redshift_.*")
    sta("scheduler", "--exit-when-idle", "--rescan-seconds", "2", timeout=300)
    tries = state_db("select max(try_number) from task_instances ti join dag_runs r on r.id = ti.run_pk "
                     f"where r.dag_id = 'ethereum_export_dag' and r.logical_date = strftime('%s', '{d}') "
                     "and ti.task_id = 'export_blocks_and_transactions'")
    m2 = lake_get(f"{lake_root}/{mkey}")
    ok(tries == [(2,)] and m1 == m2 and m1.startswith(b"{"),
       "a cleared and rerun export writes a byte-identical manifest", f"tries={tries}")
    ok(all(query(f"select * from {t} where block_date = '{d}' order by 1, 2") == snap[t] for t in snap),
       "a rerun of export and load leaves the tables as they were (no duplicate rows)")

    # sta verify: equal, then an altered lake file named down to the row.
    p = sta("verify", "transactions", d, check=False)
    ok(p.returncode == 0 and "equal" in p.stdout, "sta verify passes on an untouched partition",
       p.stdout + p.stderr)
    key = f"{lake_root}/export/transactions/block_date={d}/transactions.csv"
    orig = lake_get(key)
    lines = orig.split(b"\r\n")
    lines[3] = lines[3].replace(b",0x", b",0x0", 1)
    lake_put(b"\r\n".join(lines), key)
    p = sta("verify", "transactions", d, check=False)
    ok(p.returncode == 1 and "altered" in p.stdout and "row 3" in p.stdout,
       "sta verify fails on an altered file and names the row", p.stdout + p.stderr)
    lake_put(orig, key)

    # A load killed midway: the partition holds all old rows or all new ones.
    big = os.path.join(T, "big.csv")
    header = "token_address,from_address,to_address,value,transaction_hash,log_index,block_number"
    for version in (1, 2):
        with open(big if version == 1 else big + "2", "w", newline="") as f:
            f.write(header + "\r\n")
            for i in range(200000):
                f.write(f"0x{'a' * 40},0x{'b' * 40},0x{'c' * 40},{version},0x{i:064x},{i},{i}\r\n")
    sta("load", "token_transfers", "2030-01-01", "--file", big)
    killed = False
    for delay in (0.05, 0.15, 0.3, 0.6):
        proc = subprocess.Popen([STA, "load", "token_transfers", "2030-01-01", "--file", big + "2"],
                                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed = True
            break
        proc.wait()
    values = query("select value, count(*) from token_transfers where block_date = '2030-01-01' group by value")
    ok(killed and values in ([["1", "200000"]], [["2", "200000"]]),
       "a load killed with SIGKILL midway leaves all old or all new rows", f"killed={killed} {values}")
finally:
    status = finish(T, cleanup)
sys.exit(status)
