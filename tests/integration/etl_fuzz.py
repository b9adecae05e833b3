#!/usr/bin/env python3
# etl_fuzz.py: fuzzes the JSON-RPC answers the extraction commands read.
# Seeds are the recorded answers of tests/fixtures/rpc/legacy.json (blocks,
# receipts, trace_block) plus a few written here (a geth call trace, code
# of two contracts, a token's eth_call answers, Transfer logs, the blocks
# get_block_range_for_date bisects); each case runs one seed
# command against a server that answers from them with one answer mutated:
# a value of another type, malformed or huge hex, unicode and control
# characters, a key deleted or duplicated, the result cut short or nested
# deep, or the envelope wrong (ids, result and error, batch shape).  With
# STA_RPC_RETRIES=0 every case must end without a crash or sanitizer
# report, with status 0 or 1; a failure names the block, transaction or
# request in one ERROR line and leaves no file; a success writes complete
# rows, as many as the unmutated run.  Where the mapping rules make the
# outcome certain (a field sta checks made malformed) the command must
# fail.  Fixed cases that once found bugs run every time.
#
# STA_FUZZ_SEED (default 1) and STA_FUZZ_CASES (default 300) choose the
# cases; STA_FUZZ_ONLY=N runs case N alone, to replay a failure.  Prints TAP.
import copy
import csv
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from tap import ok, run_main  # noqa: E402

STA = os.environ["STA"]
SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SEED = int(os.environ.get("STA_FUZZ_SEED", "1"))
NCASES = int(os.environ.get("STA_FUZZ_CASES", "300"))
ONLY = os.environ.get("STA_FUZZ_ONLY")
T = tempfile.mkdtemp(prefix="sta-fuzz-")
cleanups = []

# ---- the answers: recorded, and a few written here ----

ANSWERS = {}
with open(os.path.join(SRC, "tests", "fixtures", "rpc", "legacy.json")) as f:
    for c in json.load(f)["calls"]:
        ANSWERS[(c["method"], json.dumps(c["params"]))] = c["result"]

TX1 = "0xea1093d492a1dcb1bef708f771a99a96ff05dcab81ca76c31940300177fcf49f"
TX2 = "0xe9e91f1ee4b56c0df2e9f06c2b8c27c6076195a88a7b8537ba8313d80e6f124e"
TX3 = "0x" + "7a" * 32
OP1, OP2 = "0x" + "e1" * 32, "0x" + "e2" * 32
C1, C2 = "0x" + "c1" * 20, "0x" + "c2" * 20
TOKEN = "0x" + "70" * 20


def key(method, params):
    return (method, json.dumps(params))


def word(n):
    return "%064x" % n


def abi_string(s):
    b = s.encode() if isinstance(s, str) else s
    return "0x" + word(32) + word(len(b)) + (b.hex() + "00" * ((32 - len(b) % 32) % 32))


def frame(type_, frm, to, value, gas, used, inp, out, calls=None, error=None):
    f = {"type": type_, "from": frm, "to": to, "value": value, "gas": gas, "gasUsed": used,
         "input": inp, "output": out}
    if calls is not None:
        f["calls"] = calls
    if error is not None:
        f["error"] = error
    return f


ANSWERS[("debug_traceBlockByNumber", json.dumps(["0xf4240", {"tracer": "callTracer"}]))] = [
    {"txHash": TX1, "result": frame(
        "CALL", "0x39fa8c5f2793459d6622857e7d9fbb4bd91766d3", "0xc083e9947cf02b8ffc7d3090ae9aea72df98fd47",
        "0x56bc75e2d63100000", "0x1a6d4", "0x2034", "0x", "0x" + "00" * 32, [frame(
            "CALLCODE", "0xc083e9947cf02b8ffc7d3090ae9aea72df98fd47",
            "0xc083e9947cf02b8ffc7d3090ae9aea72df98fd47", "0x56bc75e2d63100000", "0x18c56", "0x5a4",
            "0x", "0x")])},
    {"txHash": TX3, "result": frame(
        "CALL", "0x32be343b94f860124dc4fee278fdcbd38c102d88", "0x5c0ffee000000000000000000000000000000001",
        "0x0", "0x30d40", "0x30d40", "0x12345678", "0x", [
            frame("CREATE", "0x5c0ffee000000000000000000000000000000001",
                  "0x1111111111111111111111111111111111111111", "0x1", "0x1000", "0x20", "0x6000", "0x", [
                      frame("SELFDESTRUCT", "0x1111111111111111111111111111111111111111",
                            "0x2222222222222222222222222222222222222222", "0x1", "0x0", "0x0", "0x", "0x")]),
            frame("STATICCALL", "0x5c0ffee000000000000000000000000000000001",
                  "0x0000000000000000000000000000000000000004", "0x0", "0x800", "0x18", "0x", "0x")],
        error="execution reverted")},
]
# Code whose first block pushes ERC-20's selectors, and one with none.
ERC20 = ["18160ddd", "70a08231", "a9059cbb", "23b872dd", "095ea7b3", "dd62ed3e"]
ANSWERS[("eth_getCode", json.dumps([C1, "latest"]))] = \
    "0x6080604052" + "".join("63" + s for s in ERC20) + "5b00"
ANSWERS[("eth_getCode", json.dumps([C2, "latest"]))] = "0x600160020100"
for sel, res in [("0x95d89b41", abi_string("FZT")), ("0x06fdde03", abi_string("Fuzz Token \u00e9")),
                 ("0x313ce567", "0x" + word(18)), ("0x18160ddd", "0x" + word(10 ** 24))]:
    ANSWERS[("eth_call", json.dumps([{"to": TOKEN, "data": sel}, "latest"]))] = res
REVERT = {"code": 3, "message": "execution reverted"}

# Transfer logs of blocks 1000000-1000002, asked in two batches (-b 2):
# ERC-20 (three topics, one word of data), ERC-721 (four topics, none),
# one of six words (not a standard transfer: skipped, as ethereum-etl
# skips it), one whose value is a partial word (kept as it is, as
# ethereum-etl's split_to_words keeps it), topics and address in upper
# case.
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
A1, A2 = "0x" + "a1" * 20, "0x" + "a2" * 20


def transfer_log(block, index, tx, address, topics, data):
    return {"address": address, "topics": topics, "data": data, "blockNumber": "0x%x" % block,
            "transactionHash": tx, "transactionIndex": "0x0", "blockHash": "0x" + word(block),
            "logIndex": "0x%x" % index, "removed": False}


def transfers_key(first, last):
    return key("eth_getLogs", [{"fromBlock": "0x%x" % first, "toBlock": "0x%x" % last, "topics": [TRANSFER]}])


ANSWERS[transfers_key(1000000, 1000001)] = [
    transfer_log(1000000, 0, TX1, "0xA0b86991C6218b36c1d19D4a2e9Eb0cE3606eB48",
                 [TRANSFER, "0x" + word(int(A1, 16)), "0x" + word(int(A2, 16))], "0x" + word(5 * 10 ** 6)),
    transfer_log(1000000, 3, TX2, C1, [TRANSFER, "0x" + word(0), "0x" + word(int(A1, 16)), "0x" + word(7)],
                 "0x"),
    transfer_log(1000001, 0, TX3, C2, [TRANSFER, "0x" + word(int(A1, 16))], "0x" + word(1) + word(2) + word(3)
                 + word(4)),
    transfer_log(1000001, 1, TX3, C2.upper().replace("0X", "0x"), [TRANSFER.upper().replace("0X", "0x"),
                 "0x" + word(int(A2, 16)).upper(), "0x" + word(int(A1, 16))], "0x" + "ff" * 31),
]
ANSWERS[transfers_key(1000002, 1000002)] = [
    transfer_log(1000002, 31, TX1, TOKEN, [TRANSFER, "0x" + word(int(A2, 16)), "0x" + word(0)],
                 "0x" + word(2 ** 256 - 1)),
]
TRANSFER_ROWS = [
    ["0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", A1, A2, "5000000", TX1, "0", "1000000"],
    [C1, "0x" + "00" * 20, A1, "7", TX2, "3", "1000000"],
    [C2, A2, A1, str(2 ** 248 - 1), TX3, "1", "1000001"],
    [TOKEN, A2, "0x" + "00" * 20, str(2 ** 256 - 1), TX1, "31", "1000002"],
]

# Blocks 1-16 four hours apart, block 7 the first of 2021-01-01 and 12 its
# last; "latest" is block 16.
DATE, DAY = "2021-01-01", 1609459200


def date_block(n):
    return {"number": "0x%x" % n, "hash": "0x" + word(0xda7e0000 + n), "parentHash": "0x" + word(0xda7e0000 + n - 1),
            "timestamp": "0x%x" % (DAY - 86400 + (n - 1) * 14400), "miner": C1, "gasLimit": "0x1c9c380",
            "gasUsed": "0x0", "transactions": []}


for n in range(1, 17):
    ANSWERS[key("eth_getBlockByNumber", ["0x%x" % n, False])] = date_block(n)
ANSWERS[key("eth_getBlockByNumber", ["latest", False])] = date_block(16)
# The blocks the bisection asks for, in order: the latest, block 1, then
# the first block at 00:00 and the first at 24:00.
DATE_ASKS = ["latest", 1, 9, 5, 7, 6, 13, 11, 12]

# ---- the seed commands ----
# name: (arguments with {x} for the output extension, outputs, requests
# the command makes, in the order of its batch, and what names its
# failures: the block, or the item of each request, or a tuple of names
# any of which will do)


SEEDS = {
    "blocks+txs": (["export_blocks_and_transactions", "-s", "1000000", "-e", "1000000",
                    "--blocks-output", "blocks.{x}", "--transactions-output", "transactions.{x}"],
                   ["blocks.{x}", "transactions.{x}"], [key("eth_getBlockByNumber", ["0xf4240", True])],
                   ["1000000"]),
    "blocks": (["export_blocks_and_transactions", "-s", "1000000", "-e", "1000000",
                "--blocks-output", "blocks.{x}"],
               ["blocks.{x}"], [key("eth_getBlockByNumber", ["0xf4240", False])], ["1000000"]),
    "withdrawals": (["export_blocks_and_transactions", "-s", "17034870", "-e", "17034870",
                     "--blocks-output", "blocks.{x}"],
                    ["blocks.{x}"], [key("eth_getBlockByNumber", ["0x103ee76", False])], ["17034870"]),
    "receipts": (["export_receipts_and_logs", "-t", "@legacy.txt", "--receipts-output", "receipts.{x}",
                  "--logs-output", "logs.{x}"],
                 ["receipts.{x}", "logs.{x}"],
                 [key("eth_getTransactionReceipt", [h]) for h in (TX1, TX2, TX3)], [TX1, TX2, TX3]),
    "op-receipts": (["export_receipts_and_logs", "-t", "@op.txt", "--receipts-output", "receipts.{x}",
                     "--logs-output", "logs.{x}"],
                    ["receipts.{x}", "logs.{x}"],
                    [key("eth_getTransactionReceipt", [h]) for h in (OP1, OP2)], [OP1, OP2]),
    "traces": (["export_traces", "-s", "1000000", "-e", "1000000", "-o", "traces.{x}"],
               ["traces.{x}"], [key("trace_block", ["0xf4240"])], ["1000000"]),
    "geth": (["export_geth_traces", "-s", "1000000", "-e", "1000000", "-o", "geth.json"],
             ["geth.json"], [key("debug_traceBlockByNumber", ["0xf4240", {"tracer": "callTracer"}])],
             ["1000000"]),
    "contracts": (["export_contracts", "-c", "@contracts.txt", "-o", "contracts.{x}"],
                  ["contracts.{x}"], [key("eth_getCode", [a, "latest"]) for a in (C1, C2)], [C1, C2]),
    "tokens": (["export_tokens", "-t", "@tokens.txt", "-o", "tokens.{x}"], ["tokens.{x}"],
               [key("eth_call", [{"to": TOKEN, "data": s}, "latest"])
                for s in ("0x95d89b41", "0x06fdde03", "0x313ce567", "0x18160ddd")], [TOKEN] * 4),
    "transfers": (["export_token_transfers", "-s", "1000000", "-e", "1000002", "-b", "2", "-o", "transfers.{x}"],
                  ["transfers.{x}"], [transfers_key(1000000, 1000001), transfers_key(1000002, 1000002)],
                  ["1000000", "1000002"]),
    # A block's failure names it, or the day when the blocks do not make
    # one; a latest block that lies about its number sends the search to
    # blocks the node has not got, and those are named.
    "date": (["get_block_range_for_date", "-d", DATE, "-o", "range.txt"], ["range.txt"],
             [key("eth_getBlockByNumber", [n if n == "latest" else "0x%x" % n, False]) for n in DATE_ASKS],
             [("eth_getBlockByNumber", DATE) if n == "latest" else ('"0x%x"' % n, DATE) for n in DATE_ASKS]),
}
INPUTS = {"legacy.txt": [TX1, TX2, TX3], "op.txt": [OP1, OP2], "contracts.txt": [C1, C2],
          "tokens.txt": [TOKEN]}

# ---- what sta checks: the kind of each field, by where it is ----
# d quantity (at most 256 bits), n:LO:HI a quantity from LO to HI (a
# block number sta compares with the one it asked for), q quantity, h hex
# data, h32 a 32-byte hash, a an address, u a JSON integer >= 0, s text, f
# a float or its decimal text, obj an object, arr a list; "!" when it must
# be there and not null.
BLOCK = {"number": "d!", "hash": "h32!", "parentHash": "h", "nonce": "h", "sha3Uncles": "h",
         "logsBloom": "h", "transactionsRoot": "h", "stateRoot": "h", "receiptsRoot": "h", "miner": "a",
         "difficulty": "d", "totalDifficulty": "d", "size": "d", "extraData": "h", "gasLimit": "d",
         "gasUsed": "d", "timestamp": "d", "baseFeePerGas": "d", "withdrawalsRoot": "h",
         "transactions": "arr!", "withdrawals": "arr"}
TX = {"hash": "h!", "nonce": "d", "blockHash": "h!", "blockNumber": "d!", "transactionIndex": "d",
      "from": "a", "to": "a", "value": "d", "gas": "d", "gasPrice": "d", "input": "h",
      "maxFeePerGas": "d", "maxPriorityFeePerGas": "d", "type": "d"}
WITHDRAWAL = {"index": "d!", "validatorIndex": "d!", "address": "a!", "amount": "d!"}
RECEIPT = {"transactionHash": "h!", "transactionIndex": "d", "blockHash": "h!", "blockNumber": "d!",
           "cumulativeGasUsed": "d", "gasUsed": "d", "contractAddress": "a", "root": "h", "status": "d",
           "effectiveGasPrice": "d", "l1Fee": "d", "l1GasUsed": "d", "l1GasPrice": "d",
           "l1FeeScalar": "f", "logs": "arr!"}
LOG = {"logIndex": "d", "transactionHash": "h!", "transactionIndex": "d", "blockHash": "h",
       "blockNumber": "d", "address": "a!", "data": "h!", "topics": "arr!"}
TRACE = {"type": "s!", "blockNumber": "u!", "traceAddress": "arr!", "subtraces": "u!",
         "transactionPosition": "u", "transactionHash": "h", "error": "s", "action": "obj",
         "result": "obj"}
TRACE_FIELDS = {
    "call": {"action": {"from": "a", "value": "d", "gas": "d", "callType": "s", "to": "a", "input": "h"},
             "result": {"gasUsed": "d", "output": "h"}},
    "create": {"action": {"from": "a", "value": "d", "gas": "d", "init": "h"},
               "result": {"gasUsed": "d", "address": "h", "code": "h"}},
    "suicide": {"action": {"address": "a", "refundAddress": "a", "balance": "d"}, "result": {}},
    "reward": {"action": {"author": "a", "value": "d", "rewardType": "s"}, "result": {}},
}
# export_token_transfers reads these of a log (and checks the block is in
# the batch's range); get_block_range_for_date a block's number and
# timestamp.
TRANSFER_LOG = {"address": "a!", "topics": "arr!", "data": "h!", "transactionHash": "h32!", "logIndex": "d!"}
GETH = {"type": "s!", "from": "a", "to": "a", "value": "q", "gas": "q", "gasUsed": "q", "input": "h",
        "output": "h", "calls": "arr"}


def kind_at(seed, method, params, orig, path):
    """The kind of the value at path of the answer orig to the seed's
    request, or None when sta does not read it or its rules are not
    written down here."""
    p = list(path)
    if not p:
        return {"eth_getBlockByNumber": "obj!", "eth_getTransactionReceipt": "obj!", "trace_block": "arr!",
                "debug_traceBlockByNumber": "arr!", "eth_getCode": "h!", "eth_call": "call!",
                "eth_getLogs": "arr!"}.get(method)
    if seed == "date":
        if len(p) == 1 and p[0] == "number":
            return "d!" if params[0] == "latest" else "n:%d:%d!" % (int(params[0], 16), int(params[0], 16))
        return "d!" if p == ["timestamp"] else None
    if method == "eth_getLogs":
        if len(p) == 1:
            return "obj!"
        if len(p) == 2 and p[1] == "blockNumber":
            return "n:%d:%d!" % (int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16))
        if len(p) == 2:
            return TRANSFER_LOG.get(p[1])
        return "h32!" if p[1] == "topics" and len(p) == 3 else None
    if method == "eth_getBlockByNumber":
        if len(p) == 1:
            return BLOCK.get(p[0])
        if p[0] == "transactions" and params[1]:
            return "obj!" if len(p) == 2 else TX.get(p[2]) if len(p) == 3 else None
        if p[0] == "withdrawals":
            return "obj!" if len(p) == 2 else WITHDRAWAL.get(p[2]) if len(p) == 3 else None
    elif method == "eth_getTransactionReceipt":
        if len(p) == 1:
            return RECEIPT.get(p[0])
        if p[0] == "logs":
            if len(p) == 2:
                return "obj!"
            if len(p) == 3:
                return LOG.get(p[2])
            if p[2] == "topics" and len(p) == 4:
                return "h32!"
    elif method == "trace_block":
        if len(p) == 1:
            return "obj!"
        if len(p) == 2:
            return TRACE.get(p[1])
        if p[1] == "traceAddress" and len(p) == 3:
            return "u!"
        if p[1] in ("action", "result") and len(p) == 3:
            return TRACE_FIELDS.get(orig[p[0]].get("type"), {}).get(p[1], {}).get(p[2])
    elif method == "debug_traceBlockByNumber":
        if len(p) <= 2:
            return "obj!" if len(p) == 1 or p[1] == "result" else None
        q = p[2:]
        while len(q) >= 3 and q[0] == "calls":
            q = q[2:]
        if len(q) == 2 and q[0] == "calls":
            return "obj!"
        return GETH.get(q[0]) if len(q) == 1 else None
    return None


HEX = re.compile(r"0[xX][0-9a-fA-F]*\Z")
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def valid(kind, v):
    """Whether sta must accept v as a value of that kind ("!" stripped)."""
    if v is None:
        return True
    if kind == "obj":
        return isinstance(v, dict)
    if kind == "arr":
        return isinstance(v, list)
    if kind == "call":  # a revert is an error, never a result
        return valid("h", v)
    if kind == "u":
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and 0 <= v < 2 ** 63 and v == int(v))
    if kind == "f":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return math.isfinite(v)
        # The white space C's strtod skips (str.strip would take \x1c-\x1f too).
        v = v.strip(" \t\n\v\f\r") if isinstance(v, str) else v
        return isinstance(v, str) and bool(DECIMAL.match(v)) and math.isfinite(float(v))
    if not isinstance(v, str):
        return False
    if kind == "s":
        return "\0" not in v
    if not HEX.match(v):
        return False
    digits = v[2:]
    if kind.startswith("n:"):
        lo, hi = map(int, kind.split(":")[1:])
        return valid("d", v) and lo <= int(digits, 16) <= hi
    return {"d": 1 <= len(digits.lstrip("0") or "0") <= 64 and len(digits) >= 1,
            "q": len(digits) >= 1, "h": len(digits) % 2 == 0, "h32": len(digits) == 64,
            "a": len(digits) == 40}[kind]


def must_fail(kind, v, deleted=False):
    if kind is None:
        return False
    required, k = kind.endswith("!"), kind.rstrip("!")
    if deleted or v is None:
        return required
    return not valid(k, v)


# ---- mutations ----

ODD_VALUES = [None, 0, -1, 1.5, 2 ** 64, 1e300, True, False, {}, [], {"x": "0x1"}, ["0x1"], "",
              "x" * 70000]
UNICODE = ["\0", "\n", "\r", "\t", "\"", ",", "\\", "\u00e9", "\u202e", "\U0001f600", "\x7f", "\x01"]


def nodes(v, path=()):
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from nodes(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from nodes(x, path + (i,))


def put(v, path, new):
    if not path:
        return new
    v = copy.deepcopy(v)
    at = v
    for p in path[:-1]:
        at = at[p]
    at[path[-1]] = new
    return v


def hex_variants(rng, s):
    body = s[2:] if HEX.match(s) else "1234"
    return [
        "0x" + body + "g", "0x" + body[:-1] + "z" if body else "0xz", body, "0x", "0x" + body + "0",
        "0x" + body[:-2], "0x" + body + "ab", "-" + s, "-1", "0x-1", "0x" + "f" * 65, "0x" + "f" * 64,
        "0x" + "0" * 100 + "1", "0X" + body.upper(), " " + s, s + " ", "0x" + "ab" * rng.choice([1, 19, 21, 31, 33]),
        "0x" + "f" * 200001, "0x" + "ab" * 100000, "1e5", "0.684", "0x1.8p3", "inf", "nan",
    ]


def raw_nested(depth):
    return "[" * depth + "]" * depth


def result_mutation(rng, seed, method, params, orig):
    """One mutation of a recorded result: (text of the mutated result,
    what it did, path, whether sta must reject it, the level it can name:
    "item" when the mapping sees it, "request" when the answer is not
    even JSON sta can read)."""
    all_nodes = list(nodes(orig))
    scalars = [(p, v) for p, v in all_nodes if not isinstance(v, (dict, list))]
    strings = [(p, v) for p, v in scalars if isinstance(v, str)]
    objects = [(p, v) for p, v in all_nodes if isinstance(v, dict) and v]
    op = rng.choice(["type", "type", "node", "hex", "hex", "hex", "unicode", "raw", "delete", "duplicate",
                     "truncate", "deep", "whole"])
    if op in ("hex", "unicode", "raw") and not strings:
        op = "type"
    if op in ("type", "node"):
        path, old = rng.choice(scalars if op == "type" and scalars else all_nodes)
        new = rng.choice(ODD_VALUES)
        return (json.dumps(put(orig, path, new)), "%s -> %s" % (op, short(new)), path,
                must_fail(kind_at(seed, method, params, orig, path), new), "item")
    if op in ("hex", "unicode"):
        path, s = rng.choice(strings)
        if op == "hex":
            new = rng.choice(hex_variants(rng, s))
        else:
            at = rng.randrange(len(s) + 1)
            new = s[:at] + rng.choice(UNICODE) + s[at:]
        return (json.dumps(put(orig, path, new)), "%s -> %s" % (op, short(new)), path,
                must_fail(kind_at(seed, method, params, orig, path), new), "request" if "\0" in new else "item")
    if op == "raw":
        # A control character as it is, not escaped (not valid JSON).
        path, s = rng.choice(strings)
        c, at = rng.choice(["\0", "\x01", "\x1f", "\x7f", "\n"]), rng.randrange(len(s) + 1)
        text = json.dumps(put(orig, path, s[:at] + "@@raw@@" + s[at:])).replace("@@raw@@", c, 1)
        return (text, "raw %r in %s" % (c, short(s)), path,
                must_fail(kind_at(seed, method, params, orig, path), s[:at] + c + s[at:]),
                "request" if c == "\0" else "item")
    if op == "delete" and objects:
        path, obj = rng.choice(objects)
        k = rng.choice(list(obj))
        v = copy.deepcopy(orig)
        at = v
        for p in path:
            at = at[p]
        del at[k]
        return (json.dumps(v), "delete key", path + (k,),
                must_fail(kind_at(seed, method, params, orig, path + (k,)), None, deleted=True), "item")
    if op == "duplicate" and objects:
        # The same key twice, the odd value first or second: sta reads the
        # first (cJSON), so only an odd first one must be rejected.
        path, obj = rng.choice(objects)
        k = rng.choice(list(obj))
        odd = rng.choice(ODD_VALUES[:-1] + hex_variants(rng, obj[k] if isinstance(obj[k], str) else "0x")[:8])
        first = rng.random() < 0.5
        text = json.dumps(put(orig, path + (k,), "@@dup@@"))
        pair = [json.dumps(odd), json.dumps(obj[k])]
        if not first:
            pair.reverse()
        text = text.replace('%s: "@@dup@@"' % json.dumps(k), "%s: %s, %s: %s" % (json.dumps(k), pair[0],
                                                                           json.dumps(k), pair[1]), 1)
        kind = kind_at(seed, method, params, orig, path + (k,))
        return (text, "duplicate key, %s %s" % ("first" if first else "second", short(odd)), path + (k,),
                first and must_fail(kind, odd), "request" if first and "\0" in str(odd) else "item")
    if op == "truncate":
        text = json.dumps(orig)
        cut = rng.randrange(len(text))
        return text[:cut], "truncated at %d of %d" % (cut, len(text)), (), True, "request"
    if op == "deep":
        path, _ = rng.choice(all_nodes)
        depth = rng.choice([10, 900, 1001, 20000])
        text = json.dumps(put(orig, path, "@@deep@@")).replace('"@@deep@@"', raw_nested(depth), 1)
        kind = kind_at(seed, method, params, orig, path)
        return (text, "nested %d deep" % depth, path, depth > 1000 or must_fail(kind, []),
                "request" if depth > 1000 else "item")
    new = rng.choice([None, [], {}, "0x", 0, True, "x"])
    return (json.dumps(new), "whole result -> %s" % short(new), (),
            must_fail(kind_at(seed, method, params, orig, ()), new), "item")


def short(v):
    s = json.dumps(v)
    return s if len(s) <= 40 else s[:30] + "...(%d chars)" % len(s)


def answer_text(id_, result_text, extra=""):
    return '{"jsonrpc": "2.0", "id": %s, "result": %s%s}' % (json.dumps(id_), result_text, extra)


# Envelope mutations: (name, must fail, how the answer to the target is
# written (id, result text) -> text, or how the whole batch is).
ENVELOPES = [
    ("id + 1", True, lambda i, r: answer_text(i + 1, r)),
    ("id as text", True, lambda i, r: answer_text(str(i), r)),
    ("id null", True, lambda i, r: answer_text(None, r)),
    ("id -1", True, lambda i, r: answer_text(-1, r)),
    ("id 0.5", True, lambda i, r: '{"jsonrpc": "2.0", "id": %s, "result": %s}' % (i + 0.5, r)),
    ("id 1e300", True, lambda i, r: '{"jsonrpc": "2.0", "id": 1e300, "result": %s}' % r),
    ("no id", True, lambda i, r: '{"jsonrpc": "2.0", "result": %s}' % r),
    ("no result", True, lambda i, r: '{"jsonrpc": "2.0", "id": %d}' % i),
    ("error", True, lambda i, r: '{"jsonrpc": "2.0", "id": %d, "error": {"code": -32000, '
                                 '"message": "header not found"}}' % i),
    ("invalid params error", True, lambda i, r: '{"jsonrpc": "2.0", "id": %d, "error": {"code": -32602, '
                                                '"message": "invalid argument 0"}}' % i),
    ("error as text", True, lambda i, r: '{"jsonrpc": "2.0", "id": %d, "error": "boom"}' % i),
    ("result and error", True, lambda i, r: answer_text(i, r, ', "error": {"code": -32000, "message": "x"}')),
    ("error null", False, lambda i, r: answer_text(i, r, ', "error": null')),
    ("no jsonrpc", False, lambda i, r: '{"id": %d, "result": %s}' % (i, r)),
    ("answer not an object", True, lambda i, r: "[%d, %s]" % (i, r)),
    ("answer twice", True, "twice"),
    ("answer left out", True, "drop"),
    ("not a batch", True, "single"),
    ("body cut short", True, "cut"),
    ("body not JSON", True, "html"),
    ("body empty", True, "empty"),
]


class Server:
    """Answers from ANSWERS over HTTP and an IPC socket, the answer to the
    case's target request written by the case."""

    def __init__(self):
        self.case = None
        self.lock = threading.Lock()
        self.asked = set()

    def respond(self, body):
        try:
            req = json.loads(body)
        except ValueError:
            return b'{"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}}'
        reqs = req if isinstance(req, list) else [req]
        case, at, parts = self.case, None, []
        for r in reqs:
            k = (r.get("method"), json.dumps(r.get("params", [])))
            self.asked.add(k)
            if k in ANSWERS:
                res = json.dumps(ANSWERS[k])
                if case and at is None and k == case["key"]:
                    at = len(parts)
                    parts.append(case["answer"](r["id"], res) if case.get("answer") else answer_text(r["id"], case["result"]))
                    continue
                parts.append(answer_text(r["id"], res))
            elif r.get("method") == "eth_call":
                parts.append(json.dumps({"jsonrpc": "2.0", "id": r["id"], "error": REVERT}))
            else:
                parts.append(json.dumps({"jsonrpc": "2.0", "id": r["id"], "error": {
                    "code": -32601, "message": "not answered: %s %s" % k}}))
        batch = case.get("batch") if case and at is not None else None
        if batch == "twice":
            parts.insert(at, parts[at])
        elif batch == "drop":
            del parts[at]
        text = "[" + ", ".join(parts) + "]"
        if batch == "single":
            text = parts[at]
        elif batch == "cut":
            text = text[:case["cut"] % len(text)]
        elif batch == "html":
            text = "<html><body>502 Bad Gateway</body></html>"
        elif batch == "empty":
            text = ""
        return text.encode()


SERVER = Server()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the
    # body of each answer after the first on a connection waits for the
    # client's delayed ACK (40 ms per get_block_range_for_date request).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = SERVER.respond(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_ipc(sock):
    # One exchange per connection, as sta makes them; a body cut short
    # ends with the connection.
    while True:
        conn, _ = sock.accept()
        with conn:
            buf = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buf += chunk
                try:
                    json.loads(buf)
                except ValueError:
                    continue
                conn.sendall(SERVER.respond(buf))
                break


class HTTPServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # sta hangs up on the batches still in flight when one fails.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def start_servers():
    http = HTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    cleanups.append(http.shutdown)
    path = os.path.join(T, "node.ipc")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(8)
    threading.Thread(target=serve_ipc, args=(sock,), daemon=True).start()
    cleanups.append(sock.close)
    return "http://127.0.0.1:%d" % http.server_address[1], "file://" + path


# ---- running a case ----

def run(seed, ext, provider, case):
    """Runs the seed command with the case's answers in an empty folder:
    (exit status, stderr, files left, rows per output or None)."""
    args, outs, _, _ = SEEDS[seed]
    folder = os.path.join(T, "case")
    shutil.rmtree(folder, ignore_errors=True)
    os.mkdir(folder)
    argv = [STA, "etl"] + [a.replace("{x}", ext) if not a.startswith("@") else os.path.join(T, a[1:])
                           for a in args] + ["-p", provider]
    SERVER.case = case
    p = subprocess.run(argv, cwd=folder, capture_output=True, text=True, errors="replace", timeout=60,
                       env=dict(os.environ, STA_RPC_RETRIES="0", STA_RPC_TIMEOUT="10"))
    SERVER.case = None
    left = sorted(os.listdir(folder))
    rows = {}
    for o in outs:
        o = o.replace("{x}", ext)
        rows[o] = count_rows(os.path.join(folder, o)) if o in left else None
    return p.returncode, p.stderr, left, rows


csv.field_size_limit(1 << 30)


def count_rows(path):
    """Rows of an output, or a text saying why it is not whole."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        if path.endswith(".txt"):  # get_block_range_for_date's line
            return 1 if re.match(r"[0-9]+,[0-9]+\n\Z", f.read()) else "not one line start,end"
        if path.endswith(".json"):
            n = 0
            for line in f:
                if not isinstance(json.loads(line), dict):
                    return "a line that is not an object"
                n += 1
            return n
        recs = list(csv.reader(f))
    if not recs or any(len(r) != len(recs[0]) for r in recs):
        return "rows of differing widths"
    return len(recs) - 1


# What two seeds must write: ethereum-etl's transfers (the six-word event
# skipped, the partial word kept) and the day's first and last block.
WANT = {"transfers": TRANSFER_ROWS, "date": "7,12\n"}


def unmutated_output(seed, ext):
    """The output of the run just made, for the seeds WANT knows (CSV rows
    without the header, or the text), else None."""
    if seed not in WANT or ext != "csv":
        return None
    with open(os.path.join(T, "case", SEEDS[seed][1][0].replace("{x}", ext)), newline="") as f:
        return list(csv.reader(f))[1:] if seed == "transfers" else f.read()


def make_case(i):
    rng = random.Random("%d:%d" % (SEED, i))
    seed = rng.choice(sorted(SEEDS))
    _, _, targets, names = SEEDS[seed]
    t = rng.randrange(len(targets))
    method, params = targets[t][0], json.loads(targets[t][1])
    case = {"i": i, "seed": seed, "key": targets[t], "ext": "json" if seed == "geth" or rng.random() < 0.4
            else "csv", "ipc": rng.random() < 0.15, "item": names[t], "request": names[0]}
    if rng.random() < 0.25:
        name, fail, how = rng.choice(ENVELOPES)
        case.update(mut="envelope: " + name, path=(), fail=fail, level="request")
        if callable(how):
            case["answer"] = how
        else:
            case["batch"], case["cut"] = how, rng.randrange(1, 1 << 20)
            case["result"] = json.dumps(ANSWERS[targets[t]])
    else:
        text, what, path, fail, level = result_mutation(rng, seed, method, params, ANSWERS[targets[t]])
        case.update(result=text, mut=what, path=path, fail=fail, level=level)
        # A list of items made shorter or empty may give fewer rows.
        at = ANSWERS[targets[t]]
        for p in path:
            at = at[p] if isinstance(at, (dict, list)) else None
        case["rows_may_change"] = not path or isinstance(at, list) and len(at) > 0
        # ... and so may a log whose topics or data no longer make a
        # standard Transfer event (skipped, not an error).
        case["rows_may_change"] |= seed == "transfers" and len(path) >= 2 and path[1] in ("topics", "data")
    return case


# Cases that found bugs, kept: (seed, request, path, value, what the
# failure names), each of which sta once accepted, writing a guessed row.
REGRESSIONS = [
    # cJSON ends a string at \u0000: block 244 written for 0xf4\u0000240.
    ("receipts", 0, ("blockNumber",), "0xf4\u0000240", "request"),
    ("withdrawals", 0, ("baseFeePerGas",), "0x8b6f4bf\u0000cd", "request"),
    # ... and at a raw NUL byte.
    ("receipts", 1, ("logs", 0, "blockNumber"), "0xf4@@raw@@240", "request"),
    # A trace's action or result of the wrong type read as absent, its
    # error too (a failed call written as a successful one).
    ("traces", 0, (3, "action"), True, "item"),
    ("traces", 0, (1, "result"), "", "item"),
    ("traces", 0, (3, "error"), 5, "item"),
    # Withdrawals that are not a list read as none.
    ("withdrawals", 0, ("withdrawals",), "x", "item"),
    # A JSON integer past 2^63 cast to long long: undefined (UBSan).
    ("traces", 0, (5, "subtraces"), 2 ** 64, "item"),
    ("traces", 0, (0, "blockNumber"), 1e300, "item"),
    # l1FeeScalar as hex text read by strtod as a hex float.
    ("op-receipts", 1, ("l1FeeScalar",), "0x12340", "item"),
    # A Transfer log's index past 256 bits written as an empty log_index.
    ("transfers", 0, (1, "logIndex"), "0x" + "f" * 65, "item"),
    # A log of block 1000003 in the answer for 1000002 alone: the check
    # took the batch's end past -e.
    ("transfers", 1, (0, "blockNumber"), "0xf4243", "item"),
    # Block 8 answered for block 7 taken as block 7 by the bisection.
    ("date", DATE_ASKS.index(7), ("number",), "0x8", "item"),
]


# Answers that must pass: a field sta does not read holding an escaped
# backslash before "u0000" (text, not a NUL).
PASSING = [("receipts", 0, ("note",), "a\\u0000b", "item")]


def regression_case(seed, t, path, value, level, fail=True):
    _, _, targets, names = SEEDS[seed]
    text = json.dumps(put(ANSWERS[targets[t]], path, value)).replace("@@raw@@", "\0")
    return {"i": "fixed", "seed": seed, "key": targets[t], "ext": "csv", "ipc": False, "item": names[t],
            "request": names[0], "result": text, "mut": "set to %s" % short(value), "path": path,
            "fail": fail, "must_pass": not fail, "level": level}


def describe(c, rc, err):
    return "case %s (STA_FUZZ_SEED=%d): %s, %s %s: %s at %s%s; exit %s\n  %s" % (
        c["i"], SEED, c["seed"], c["key"][0], c["key"][1][:80], c["mut"],
        "/".join(map(str, c["path"])) or "(result)", " over IPC" if c["ipc"] else "", rc,
        "\n  ".join(ln[:300] for ln in err.splitlines()[:6]))


def report(desc, failed):
    """One TAP line for a property over all cases; the failing cases (the
    first 20) as diagnostics."""
    for d in failed[:20]:
        print("#   " + d.replace("\n", "\n#   "))
    ok(not failed, desc, "%d cases" % len(failed) if failed else "")


def main():
    for name, lines in INPUTS.items():
        with open(os.path.join(T, name), "w") as f:
            f.write("\n".join(lines) + "\n")
    http, ipc = start_servers()
    print("# STA_FUZZ_SEED=%d STA_FUZZ_CASES=%d" % (SEED, NCASES))

    base, bad = {}, []
    for seed in sorted(SEEDS):
        for ext in ("csv", "json"):
            SERVER.asked = set()
            rc, err, left, rows = run(seed, ext, http, None)
            base[seed, ext] = rows
            if rc != 0 or any(not isinstance(n, int) for n in rows.values()) or not sum(rows.values()):
                bad.append("%s .%s: exit %d, rows %s\n%s" % (seed, ext, rc, rows, err))
            if not SERVER.asked >= set(SEEDS[seed][2]):
                bad.append("%s .%s: never asked %s" % (seed, ext, set(SEEDS[seed][2]) - SERVER.asked))
            got = unmutated_output(seed, ext)
            if got is not None and got != WANT[seed]:
                bad.append("%s .%s: wrote %s, not %s" % (seed, ext, got, WANT[seed]))
    ok(not bad, "every seed command succeeds on the unmutated answers, with rows (the transfers and "
       "the date's range as ethereum-etl finds them)", "\n".join(bad))

    # A token's name is text as Python's strict UTF-8 decoder reads it:
    # ethereum-etl decodes none from an overlong "/", a surrogate or a code
    # point past U+10FFFF, and goes on to read the answer as a bytes32
    # name, whose first word (the string's offset, 32) leaves " " once its
    # NULs are dropped; a 4-byte character is kept.
    name_key = SEEDS["tokens"][2][1]
    kept, names = ANSWERS[name_key], []
    for raw in (b"\xc0\xaf", b"a\xed\xa0\x80", b"\xf4\x90\x80\x80", "\U0001F525".encode()):
        ANSWERS[name_key] = abi_string(raw)
        rc, err, _, _ = run("tokens", "csv", http, None)
        with open(os.path.join(T, "case", "tokens.csv"), newline="", encoding="utf-8", errors="replace") as f:
            names.append(list(csv.DictReader(f))[0]["name"] if rc == 0 else err)
    ANSWERS[name_key] = kept
    ok(names == [" ", " ", " ", "\U0001F525"], "token names that are not UTF-8 as Python decodes it "
       "are read as ethereum-etl reads them", repr(names))

    cases = [make_case(i) for i in range(NCASES)] if ONLY is None else [make_case(int(ONLY))]
    cases += [regression_case(*r) for r in REGRESSIONS] if ONLY is None else []
    cases += [regression_case(*r, fail=False) for r in PASSING] if ONLY is None else []
    fails = {k: [] for k in ("crash", "status", "named", "files", "rows", "oracle", "fixed")}
    nfail = nok = noracle = 0
    for c in cases:
        rc, err, left, rows = run(c["seed"], c["ext"], ipc if c["ipc"] else http, c)
        d = describe(c, rc, err)
        if rc < 0 or re.search(r"AddressSanitizer|LeakSanitizer|runtime error:", err):
            fails["crash"].append(d)
        if rc not in (0, 1):
            fails["status"].append(d)
        if rc != 0:
            nfail += 1
            names = [n for x in [c["item"]] + ([c["request"]] if c["level"] == "request" else [])
                     for n in (x if isinstance(x, tuple) else (x,))]
            if not any(" ERROR " in ln and any(n.lower() in ln.lower() for n in names) for ln in err.splitlines()):
                fails["named"].append(d)
            if left:
                fails["files"].append("%s\nleft: %s" % (d, left))
        else:
            nok += 1
            want = base[c["seed"], c["ext"]]
            whole = all(isinstance(n, int) for n in rows.values())
            if not whole or (rows != want and not c.get("rows_may_change")) or len(left) != len(rows):
                fails["rows"].append("%s\nrows %s, unmutated %s; files %s" % (d, rows, base[c["seed"], c["ext"]], left))
        if c["fail"]:
            noracle += 1
            if rc == 0:
                fails["fixed" if c["i"] == "fixed" else "oracle"].append(d)
        if c.get("must_pass") and rc != 0:
            fails["fixed"].append(d)
    print("# %d cases: %d failed, %d succeeded; %d had to fail" % (len(cases), nfail, nok, noracle))
    report("no case crashes sta or makes a sanitizer report", fails["crash"])
    report("every case exits 0 or 1", fails["status"])
    report("a failure names the block, transaction or request in an ERROR line", fails["named"])
    report("a failure leaves no output or temporary file", fails["files"])
    report("a success writes whole rows, as many as the unmutated answers give", fails["rows"])
    report("an answer with a field sta checks made malformed fails the command", fails["oracle"])
    if ONLY is None:
        report("the cases that found bugs (NUL in a string, a trace's action, result or error or "
               "a block's withdrawals of another type, a trace number past 2^63, l1FeeScalar in hex, a Transfer "
               "log's index past 256 bits or block past -e, another block in the date's bisection) fail the "
               "command, and an escaped backslash before u0000 passes", fails["fixed"])


run_main(main, T, cleanups)
