#!/usr/bin/env python3
# sectoken.py: the security-token catalogue and decoder.  Topics and
# selectors are checked against Foundry's `cast` (an independent Keccak);
# events emitted on the devnet are decoded with every field as the
# generator's record says; variants the devnet does not emit and malformed
# logs are hand-encoded here; detection by selectors is checked against the
# standards the generator built each contract with.  Prints TAP.
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
T = tempfile.mkdtemp(prefix="sta-sectoken-")




def sta(*args):
    return subprocess.run([STA, "etl", *args], cwd=T, capture_output=True, text=True)


def cast(*args):
    return subprocess.run([CAST, *args], capture_output=True, text=True, check=True).stdout.strip()


def word(x):
    return "0x" + format(x, "064x")


def addr_word(a):
    return "0x" + "0" * 24 + a[2:]


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


dn = os.path.join(T, "devnet")
start = subprocess.run(["bash", os.path.join(SRC, "devnet", "start.sh"), "0", dn], capture_output=True, text=True)
if start.returncode != 0:
    print("not ok 1 - the devnet starts\n# " + start.stderr.replace("\n", "\n# ") + "\n1..1")
    sys.exit(1)
url = start.stdout.strip().splitlines()[-1]
try:
    # ---- the catalogue against cast ----
    cat = [json.loads(line) for line in sta("security_token_catalog").stdout.splitlines()]
    events = [c for c in cat if c["kind"] == "event"]
    bad = [e["signature"] for e in events if cast("keccak", e["signature"]) != e["topic0"]]
    ok(events and not bad, f"every event's topic0 equals cast keccak of its signature ({len(events)})", bad)
    sels = [(s, v) for c in cat if c["kind"] == "standard" for s, v in c["selectors"].items()]
    bad = [s for s, v in sels if cast("sig", s) != v]
    ok(sels and not bad, f"every standard's selectors equal cast sig ({len(sels)})", bad)
    want_std = {"erc20", "erc721", "erc1155", "erc1400", "erc1410", "erc1594", "erc1643", "erc1644", "erc3643"}
    ok({c["standard"] for c in cat if c["kind"] == "standard"} == want_std, "the catalogue covers the standards")

    # ---- every event emitted on the devnet, decoded ----
    rec = json.load(open(os.path.join(dn, "record.json")))
    last = rec["blocks"][-1]["number"]
    sta("export_blocks_and_transactions", "-e", str(last), "-p", url, "--transactions-output", "tx.csv")
    sta("extract_csv_column", "-i", "tx.csv", "-c", "hash", "-o", "h.txt")
    sta("export_receipts_and_logs", "-t", "h.txt", "-p", url, "--logs-output", "logs.csv")
    p = sta("extract_security_token_events", "-l", "logs.csv", "-o", "ev.csv")
    ok(p.returncode == 0 and "malformed" not in p.stderr, "the devnet's logs decode without complaint", p.stderr)
    sec = {"erc1410", "erc1594", "erc1643", "erc1644", "erc3643"}
    variants = {}
    for e in events:
        variants.setdefault(e["signature"], []).append(e["indexed"])
    want = {}
    for b in rec["blocks"]:
        for t in b["transactions"]:
            for lg in t.get("logs", []):
                if lg.get("standard") in sec:
                    args = dict(lg["args"])
                    # an indexed string is in the log as its hash; the
                    # variant is the one indexing as many as the log has
                    idx = [v for v in variants.get(lg["signature"], [])
                           if sum(v) == len(lg["topics"]) - 1]
                    types = lg["signature"].split("(")[1].rstrip(")").split(",")
                    for i, name in enumerate(list(args)):
                        if idx and idx[0][i] and types[i] == "string":
                            args[name] = cast("keccak", args[name])
                    want[(t["hash"], lg["log_index"])] = (lg["standard"], lg["event"], lg["address"], args)
    got = {(r["transaction_hash"], int(r["log_index"])): (r["standard"], r["event"], r["token_address"],
                                                          json.loads(r["args"])) for r in rows(os.path.join(T, "ev.csv"))}
    diff = [f"{k}: got {got.get(k)} want {v}" for k, v in want.items() if got.get(k) != v]
    ok(want and not diff and len(got) == len(want),
       f"each of the {len(want)} security-token events decodes with every field as generated", "\n".join(diff[:5]))
    kinds = {(v[0], v[1]) for v in want.values()}
    ok(len(kinds) >= 20, f"the devnet emits {len(kinds)} kinds of catalogued events")
    ev = rows(os.path.join(T, "ev.csv"))
    tbp = [r for r in ev if r["event"] == "TransferByPartition"][0]
    ok(tbp["partition"].startswith("0x") and len(tbp["partition"]) == 66 and tbp["operator_address"]
       and tbp["from_address"] and tbp["to_address"] and tbp["value"].isdigit(),
       "TransferByPartition fills partition, operator, from, to and value")
    doc = [r for r in ev if r["event"] == "DocumentUpdated"][0]
    ok(doc["document_uri"].startswith("https://") and len(doc["document_hash"]) == 66 and doc["document_name"],
       "DocumentUpdated fills the document's name, URI (a dynamic string) and hash")
    proxy = [c["address"] for c in rec["contracts"] if c["contract"] == "TokenProxy"]
    ok(proxy and any(r["token_address"] == proxy[0] and r["standard"] == "erc3643" for r in ev),
       "the token behind a proxy is seen by its events")

    # ---- variants the devnet does not emit, and malformed logs ----
    a1, a2, op = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
    part = "0x" + "70" * 4 + "00" * 28
    t_ibp4 = cast("keccak", "IssuedByPartition(bytes32,address,uint256,bytes)")
    t_rbp6 = cast("keccak", "RedeemedByPartition(bytes32,address,address,uint256,bytes,bytes)")
    t_rec = cast("keccak", "RecoverySuccess(address,address,address)")
    t_tbp = cast("keccak", "TransferByPartition(bytes32,address,address,address,uint256,bytes,bytes)")
    t_iss = cast("keccak", "Issued(address,address,uint256,bytes)")
    empty_bytes = word(0)  # length word of an empty bytes
    logs = [
        # Polymath's IssuedByPartition: value and an empty bytes in data
        (t_ibp4, [part, addr_word(a1)], word(5) + word(64)[2:] + empty_bytes[2:], "ok"),
        # RedeemedByPartition with data and operatorData
        (t_rbp6, [part, addr_word(op), addr_word(a2)],
         word(7) + word(96)[2:] + word(128)[2:] + empty_bytes[2:] + empty_bytes[2:], "ok"),
        # ERC-3643's RecoverySuccess with nothing indexed
        (t_rec, [], addr_word(a1) + addr_word(a2)[2:] + addr_word(op)[2:], "ok"),
        # malformed: TransferByPartition with one topic missing
        (t_tbp, [part, addr_word(a1)], word(1), "bad"),
        # malformed: Issued with data too short for its value
        (t_iss, [addr_word(op), addr_word(a1)], "0x" + "00" * 10, "bad"),
        # malformed: an address topic with non-zero high bytes
        (t_iss, [addr_word(op), "0x" + "ff" * 32], word(1) + word(64)[2:] + empty_bytes[2:], "bad"),
    ]
    with open(os.path.join(T, "synthetic.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["log_index", "transaction_hash", "transaction_index", "block_hash", "block_number",
                    "address", "data", "topics"])
        for i, (t0, topics, data, _) in enumerate(logs):
            w.writerow([i, "0x" + "ab" * 32, 0, "0x" + "cd" * 32, 100, "0x" + "44" * 20, data,
                        ",".join([t0] + topics)])
    p = sta("extract_security_token_events", "-l", "synthetic.csv", "-o", "syn.csv")
    out = {int(r["log_index"]): r for r in rows(os.path.join(T, "syn.csv"))}
    ok(p.returncode == 0 and sorted(out) == [0, 1, 2], "variants decode; malformed logs are left out",
       p.stderr)
    ok(out.get(0, {}).get("to_address") == a1 and out.get(0, {}).get("value") == "5"
       and out[0]["operator_address"] == "", "IssuedByPartition (partition, to, value, data) decodes")
    ok(out.get(1, {}).get("from_address") == a2 and out[1]["operator_address"] == op and out[1]["value"] == "7",
       "RedeemedByPartition with data and operatorData decodes")
    ok(out.get(2, {}).get("from_address") == a1 and out[2]["to_address"] == a2,
       "RecoverySuccess with no indexed parameter decodes")
    ok("3 malformed items counted" in p.stderr
       and "synthetic.csv:5:" in p.stderr and "synthetic.csv:6:" in p.stderr and "synthetic.csv:7:" in p.stderr,
       "each malformed log is reported with its file and line, and counted", p.stderr)

    # ---- detection from bytecode ----
    with open(os.path.join(T, "ca.txt"), "w") as f:
        f.write("\n".join(c["address"] for c in rec["contracts"]) + "\n")
    sta("export_contracts", "-c", "ca.txt", "-p", url, "-o", "c.csv", "--with-standards")
    wantstd = {c["address"]: sorted(c.get("bytecode_standards", [])) for c in rec["contracts"]}
    diff = [r["address"] for r in rows(os.path.join(T, "c.csv"))
            if sorted(x for x in r["standards"].split(",") if x) != wantstd[r["address"]]]
    ok(not diff and any("erc1400" in v for v in wantstd.values()) and any("erc3643" in v for v in wantstd.values()),
       "export_contracts --with-standards finds the standards each contract was built with", diff)
    ok(proxy and wantstd[proxy[0]] == [], "a proxy's own code shows no standard (its events do)")
    plain = sta("export_contracts", "-c", "ca.txt", "-p", url, "-o", "c2.csv")
    ok(plain.returncode == 0 and open(os.path.join(T, "c2.csv")).readline().strip().endswith("block_number"),
       "without the flag the columns stay ethereum-etl's")
finally:
    status = finish(T, [lambda: subprocess.run(["bash", os.path.join(SRC, "devnet", "stop.sh"), dn])])
sys.exit(status)
