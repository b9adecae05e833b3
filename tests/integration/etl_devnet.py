#!/usr/bin/env python3
# etl_devnet.py: every `sta etl` command against the devnet.  Expected rows
# come from the devnet generator's own record of what it sent and what each
# transaction did (devnet/record.json), and from Foundry's `cast`, a second
# client; never from sta's own output.  Prints TAP.
import csv
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from tap import ok, finish  # noqa: E402

STA = os.environ["STA"]
SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CAST = os.path.join(SRC, "node_modules", ".bin", "cast")
T = tempfile.mkdtemp(prefix="sta-etl-")




def sta(*args, check=True, env=None):
    p = subprocess.run([STA, "etl", *args], cwd=T, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        ok(False, f"sta etl {args[0]} exits 0", p.stderr)
    return p


def rows(name):
    with open(os.path.join(T, name), newline="") as f:
        return list(csv.DictReader(f))


def jrows(name):
    with open(os.path.join(T, name)) as f:
        return [json.loads(line) for line in f]


def cast(*args):
    return subprocess.run([CAST, *args, "--rpc-url", url], capture_output=True, text=True,
                          check=True).stdout.strip()


dn = os.path.join(T, "devnet")
start = subprocess.run(["bash", os.path.join(SRC, "devnet", "start.sh"), "0", dn],
                       capture_output=True, text=True)
if start.returncode != 0:
    print("not ok 1 - the devnet starts")
    print("# " + start.stderr.replace("\n", "\n# "))
    print("1..1")
    sys.exit(1)
url = start.stdout.strip().splitlines()[-1]
try:
    with open(os.path.join(dn, "record.json")) as f:
        rec = json.load(f)
    blocks = rec["blocks"]
    last = blocks[-1]["number"]
    txs = [t for b in blocks for t in b["transactions"]]
    by_hash = {t["hash"]: t for t in txs}
    block_of = {t["hash"]: b["number"] for b in blocks for t in b["transactions"]}

    # ---- blocks and transactions ----
    sta("export_blocks_and_transactions", "-s", "0", "-e", str(last), "-b", "7", "-w", "3",
        "-p", url, "--blocks-output", "blocks.csv", "--transactions-output", "transactions.csv")
    b = rows("blocks.csv")
    ok([int(r["number"]) for r in b] == [x["number"] for x in blocks],
       "blocks: one row per block, in order")
    ok(all(int(r["timestamp"]) == x["timestamp"] and int(r["transaction_count"]) == len(x["transactions"])
           for r, x in zip(b, blocks)), "blocks: timestamps and transaction counts as generated")
    sample = [0, last // 2, last]
    ok(all(b[i]["hash"] == cast("block", str(i), "--field", "hash") for i in sample),
       "blocks: hashes equal cast's")
    ok(all(b[i]["miner"] == b[i]["miner"].lower() and b[i]["base_fee_per_gas"].isdigit() for i in sample),
       "blocks: lower-case miner, decimal base fee")
    t = rows("transactions.csv")
    ok(sorted(r["hash"] for r in t) == sorted(by_hash), "transactions: exactly the generated ones")
    bad = [r["hash"] for r in t
           if r["from_address"] != by_hash[r["hash"]]["from"]
           or (r["to_address"] or None) != by_hash[r["hash"]]["to"]
           or r["value"] != by_hash[r["hash"]]["value"]
           or int(r["nonce"]) != by_hash[r["hash"]]["nonce"]
           or int(r["block_number"]) != block_of[r["hash"]]
           or int(r["transaction_index"]) != by_hash[r["hash"]]["transaction_index"]]
    ok(not bad, "transactions: from, to, value, nonce, block and index as sent", bad[:3])
    big = max(txs, key=lambda x: int(x["value"]))
    ok(any(r["value"] == big["value"] and len(big["value"]) > 18 for r in t),
       "transactions: values beyond 64 bits exact in decimal", big["value"])

    # JSON form of the same export: same rows, typed as ethereum-etl types them.
    sta("export_blocks_and_transactions", "-s", "0", "-e", str(last), "-p", url,
        "--blocks-output", "blocks.json", "--transactions-output", "transactions.json")
    bj, tj = jrows("blocks.json"), jrows("transactions.json")
    ok([x["hash"] for x in bj] == [r["hash"] for r in b] and isinstance(bj[1]["number"], int)
       and bj[1]["withdrawals"] == [] and isinstance(tj[0]["value"], int)
       and tj[0]["value"] == int(t[0]["value"]), "blocks and transactions as JSON lines with typed fields")

    # Reproducible bytes: a second export with other batching is identical.
    sta("export_blocks_and_transactions", "-s", "0", "-e", str(last), "-b", "1", "-w", "1",
        "-p", url, "--blocks-output", "blocks2.csv", "--transactions-output", "transactions2.csv")
    same = all(open(os.path.join(T, a), "rb").read() == open(os.path.join(T, c), "rb").read()
               for a, c in (("blocks.csv", "blocks2.csv"), ("transactions.csv", "transactions2.csv")))
    ok(same, "the same range gives the same bytes whatever the batch size and workers")
    raw = open(os.path.join(T, "blocks.csv"), "rb").read()
    ok(raw.count(b"\r\n") == len(blocks) + 1, "CSV lines end in CRLF")

    # ---- receipts and logs ----
    sta("extract_csv_column", "-i", "transactions.csv", "-c", "hash", "-o", "hashes.txt")
    sta("export_receipts_and_logs", "-t", "hashes.txt", "-b", "9", "-p", url,
        "--receipts-output", "receipts.csv", "--logs-output", "logs.csv")
    rc = {r["transaction_hash"]: r for r in rows("receipts.csv")}
    ok(sorted(rc) == sorted(by_hash), "receipts: one per transaction")
    bad = [h for h, r in rc.items() if int(r["status"]) != by_hash[h]["status"]
           or (r["contract_address"] or None) != by_hash[h].get("contract_address")]
    ok(not bad, "receipts: status and created contract as generated", bad[:3])
    ok(any(by_hash[h]["status"] == 0 for h in rc), "the history has a reverted transaction")
    lg = rows("logs.csv")
    want = sorted((h, l["log_index"], l["address"], ",".join(l["topics"]), l["data"])
                  for h, x in by_hash.items() for l in x.get("logs", []))
    got = sorted((r["transaction_hash"], int(r["log_index"]), r["address"], r["topics"], r["data"]) for r in lg)
    ok(got == want, "logs: every emitted event with its topics and data", f"{len(got)} vs {len(want)}")

    # ---- token transfers, both ways ----
    want = sorted((x["token_address"], x["from"], x["to"], x.get("value", x.get("token_id")), h, x["log_index"])
                  for h, tx in by_hash.items() for x in tx.get("token_transfers", []))
    sta("extract_token_transfers", "-l", "logs.csv", "-o", "tt1.csv")
    sta("export_token_transfers", "-s", "0", "-e", str(last), "-b", "5", "-p", url, "-o", "tt2.csv")
    for name, how in (("tt1.csv", "extracted from logs"), ("tt2.csv", "exported with eth_getLogs")):
        got = sorted((r["token_address"], r["from_address"], r["to_address"], r["value"],
                      r["transaction_hash"], int(r["log_index"])) for r in rows(name))
        ok(got == want, f"token transfers {how}: as generated (ERC-20 and ERC-721)",
           f"{len(got)} vs {len(want)}")
    one = want[0][0]
    sta("export_token_transfers", "-s", "0", "-e", str(last), "-p", url, "-t", one, "-o", "tt3.csv")
    ok({r["token_address"] for r in rows("tt3.csv")} == {one}
       and len(rows("tt3.csv")) == sum(1 for w in want if w[0] == one), "--tokens filters by token")

    # ---- traces ----
    sta("export_traces", "-s", "0", "-e", str(last), "-p", url, "-o", "traces.csv")
    tr = rows("traces.csv")
    want = sorted((h, ",".join(str(i) for i in x["trace_address"]), x["type"], x["from"], x["to"] or "",
                   x["value"]) for h, tx in by_hash.items() for x in tx.get("traces", []))
    got = sorted((r["transaction_hash"], r["trace_address"], r["trace_type"], r["from_address"],
                  r["to_address"], r["value"]) for r in tr)
    ok(got == want, "traces: every call and create, nested ones included", f"{len(got)} vs {len(want)}")
    nested = [r for r in tr if r["trace_type"] == "create" and r["trace_address"].count(",") >= 1]
    ok(nested, "traces: a create inside a create inside a call")
    failed_tx = [h for h, x in by_hash.items() if x["status"] == 0]
    ok(all(r["status"] == "0" for r in tr if r["transaction_hash"] in failed_tx)
       and all(r["status"] == "1" for r in tr if r["transaction_hash"] not in failed_tx and not r["error"]),
       "traces: status 0 for failed calls and everything under them")
    ok(all(r["trace_id"] == "_".join([r["trace_type"], r["transaction_hash"]]
                                      + (r["trace_address"].split(",") if r["trace_address"] else [""]))
           for r in tr), "traces: trace_id is type_hash_address")

    sta("export_geth_traces", "-s", "0", "-e", str(last), "-p", url, "-o", "geth.json")
    sta("extract_geth_traces", "-i", "geth.json", "-o", "gtraces.csv")
    g = rows("gtraces.csv")
    key = lambda r: (r["block_number"], r["transaction_index"], r["trace_address"], r["trace_type"],
                     r["call_type"], r["from_address"], r["to_address"], r["value"])
    # ethereum-etl keeps geth's own words where the tracers differ: CREATE2
    # stays create2 and a staticcall has no value.
    def parity_like(r):
        r = dict(r, trace_type="create" if r["trace_type"] == "create2" else r["trace_type"])
        return dict(r, value=r["value"] or "0")
    ok(sorted(map(key, map(parity_like, g))) == sorted(map(key, tr)),
       "geth call traces flatten to the same traces as trace_block")
    ok(any(r["trace_type"] == "create2" for r in g)
       and all(r["value"] == "" for r in g if r["call_type"] == "staticcall"),
       "geth traces keep create2 and value-less staticcalls, as ethereum-etl does")
    ok(all(r["transaction_hash"] == "" and r["status"] == "" for r in g),
       "extract_geth_traces leaves hash and status empty, as ethereum-etl does")

    # ---- contracts and tokens ----
    sta("extract_csv_column", "-i", "receipts.csv", "-c", "contract_address", "-o", "ca_all.txt")
    created = [c["address"] for c in rec["contracts"]]
    with open(os.path.join(T, "contracts.txt"), "w") as f:
        f.write("\n".join(created) + "\n")
    sta("export_contracts", "-c", "contracts.txt", "-p", url, "-o", "contracts.json")
    cj = jrows("contracts.json")
    ok([c["address"] for c in cj] == created, "contracts: one per address, nested creations too")
    ok(all(c["bytecode"] == cast("code", c["address"]) for c in cj[:4]), "contracts: bytecode equals cast's")
    ok(all(isinstance(c["is_erc20"], bool) and c["block_number"] is None for c in cj),
       "contracts: booleans and an empty block number as ethereum-etl writes them")
    tokens = [c for c in rec["contracts"] if c.get("symbol")]
    with open(os.path.join(T, "tokens.txt"), "w") as f:
        f.write("\n".join(c["address"] for c in tokens + [rec["contracts"][-1]]) + "\n")
    sta("export_tokens", "-t", "tokens.txt", "-p", url, "-o", "tokens.csv")
    tk = {r["address"]: r for r in rows("tokens.csv")}
    bad = [c["address"] for c in tokens
           if tk[c["address"]]["symbol"] != c["symbol"] or tk[c["address"]]["name"] != c["name"]
           or tk[c["address"]]["decimals"] != ("" if c.get("decimals") is None else str(c["decimals"]))
           or tk[c["address"]]["total_supply"] != ("" if c.get("total_supply") is None else c["total_supply"])]
    ok(not bad, "tokens: name, symbol, decimals and supply as generated (bytes32 names too)", bad)
    plain = rec["contracts"][-1]
    ok(plain.get("symbol") or tk[plain["address"]]["symbol"] == "",
       "tokens: a contract without token functions gives empty fields")

    # ---- block ranges for dates ----
    got = [sta("get_block_range_for_date", "-d", d["date"], "-p", url).stdout.strip() for d in rec["days"]]
    want = [f'{d["first_block"]},{d["last_block"]}' for d in rec["days"]]
    ok(got == want, "get_block_range_for_date: each generated day's first and last block", got)
    p = sta("get_block_range_for_date", "-d", "2030-01-01", "-p", url, check=False)
    ok(p.returncode == 65 and "does not cover" in p.stderr, "a date past the chain fails with 65")

    # ---- bad input: clear errors, nothing written ----
    p = sta("export_blocks_and_transactions", "-e", str(last + 5), "-p", url, "--blocks-output", "x.csv",
            check=False, env=dict(os.environ, STA_RPC_RETRIES="1", STA_RPC_BACKOFF_MS="10"))
    ok(p.returncode == 1 and f"block {last + 1}" in p.stderr and not os.path.exists(os.path.join(T, "x.csv")),
       "a block the node does not have: fails naming it, writes no file", p.stderr)
    with open(os.path.join(T, "bad.txt"), "w") as f:
        f.write(txs[0]["hash"] + "\nnot-a-hash\n")
    p = sta("export_receipts_and_logs", "-t", "bad.txt", "-p", url, "--receipts-output", "y.csv", check=False)
    ok(p.returncode == 65 and "bad.txt:2" in p.stderr, "a malformed hash file: 65 naming file and line", p.stderr)
    p = sta("export_blocks_and_transactions", "-e", "1", "-p", "ftp://x", "--blocks-output", "y.csv",
            check=False)
    ok(p.returncode == 64 and "ftp://x" in p.stderr, "a bad provider URI: 64 naming it", p.stderr)
    p = sta("export_blocks_and_transactions", "-s", "3", "-e", "1", "--blocks-output", "y.csv", check=False)
    ok(p.returncode == 64 and "after end block" in p.stderr, "start after end: 64")
finally:
    status = finish(T, [lambda: subprocess.run(["bash", os.path.join(SRC, "devnet", "stop.sh"), dn])])
sys.exit(status)
