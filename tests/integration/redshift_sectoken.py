#!/usr/bin/env python3
# redshift_sectoken.py: the Redshift dialect of security_token_contracts and
# security_token_metrics_by_day (tasks/sql/redshift) run for real.  Amazon
# Redshift cannot run here, so what a redshift:// store sends (printed with
# dry_run=1: its tables, each partition's load, the aggregates) is replayed
# on a PostgreSQL 15 server, as a role that may not call the PostgreSQL
# functions Redshift lacks (string_agg, array_agg, unnest, string_to_array,
# generate_series, the json operators, SUBSTR, ...), with PostgreSQL
# stand-ins for the two Redshift functions the dialect uses (LISTAGG,
# JSON_EXTRACT_PATH_TEXT); only COPY FROM 's3://...' becomes \copy of the
# same file.  Token amounts are therefore VARCHAR(78), as in Redshift.
#
# The reference is the PostgreSQL dialect (tasks/sql/postgres, through a
# postgresql:// store) on the same data: every metric, per day and
# standard, daily increments and full refresh, must be equal.  The data has
# amounts above 10^38, sums that carry from one 26-digit chunk to the next
# and balances that return to exactly zero through a carry; a few big sums
# and counts are also checked against values worked out by hand.
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
import servers  # noqa: E402  (tests/fakes/servers.py)
from tap import ok, finish  # noqa: E402

STA = os.environ["STA"]
T = tempfile.mkdtemp(prefix="sta-redshift-sectoken-")
ENV = dict(os.environ, STA_HOME=os.path.join(T, "home"), AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
           AWS_SECRET_ACCESS_KEY="secret", AWS_REGION="us-east-1")
ENV.pop("STA_STORE", None)
ENV.pop("STA_LAKE", None)
RS = ("redshift://loader:pw@example.invalid:5439/dev?iam_role=arn:aws:iam::123456789012:role/loader"
      "&region=us-east-1&dry_run=1")
LAKE = "s3://lake/eth"
ZERO = "0x" + "0" * 40
DAYS = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"]
SEC = ["erc1400", "erc1410", "erc1594", "erc1643", "erc1644", "erc3643"]
U256 = 2 ** 256 - 1
# Written out by hand, not computed: 10^52, and 2 * (2^256 - 1) = 2^257 - 2.
TEN52 = "10000000000000000000000000000000000000000000000000000"
TWO_MAX = "231584178474632390847141970017375815706539969331281128078915168015826259279870"
# PostgreSQL functions and operators Amazon Redshift does not have (its
# "Unsupported PostgreSQL functions" page), plus SUBSTR, which Redshift runs
# on the leader node only: the replaying role may not call them.
NOT_IN_REDSHIFT = ["string_agg", "array_agg", "every", "unnest", "string_to_array", "array_to_string",
                   "array_length", "cardinality", "generate_series", "generate_subscripts",
                   "regexp_split_to_table", "regexp_split_to_array", "json_object_field_text",
                   "jsonb_object_field_text", "json_array_elements", "json_each", "to_json", "substr",
                   "overlay", "format", "div", "width_bucket"]
cleanup = []


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, **kw)


def sta(*args):
    p = run([STA, *args])
    if p.returncode != 0:
        raise RuntimeError(f"sta {' '.join(args)}: {p.stderr[-2000:]}")
    return p.stdout


def statements(out):
    """The statements a dry-run store printed: (sql, date bound to $1)."""
    found = []
    for m in re.finditer(r"(.*?);(?: -- \$1 = (\S+))?\n", out, re.S):
        found.append((m.group(1).strip(), m.group(2)))
    return found


def psql(url, script):
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url], input=script,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {p.stderr[-3000:]}")
    return p.stdout


def rows(url, sql):
    out = subprocess.run(["psql", "-X", "-A", "-t", "-F", "\t", "-d", url, "-c", sql],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


LISTAGG = re.compile(r"LISTAGG\(([^()]*?), ('[^']*')\) WITHIN GROUP \(ORDER BY ([^()]*?)\)")


def for_postgres(sql, date):
    """A Redshift statement as PostgreSQL takes it: the date bound, and
    LISTAGG(x, d) WITHIN GROUP (ORDER BY k) written listagg(x, d ORDER BY k)
    (PostgreSQL has no syntax for an ordered aggregate with per-row
    arguments outside its parentheses; the aggregate is the stand-in)."""
    if date:
        sql = sql.replace("$1", f"'{date}'")
    n = len(re.findall(r"LISTAGG", sql))
    sql, done_n = LISTAGG.subn(r"listagg(\1, \2 ORDER BY \3)", sql)
    if done_n != n:
        raise RuntimeError("a LISTAGG this test cannot translate: " + sql[:300])
    return sql


def replay(url, out, copy_files=None):
    """Runs on PostgreSQL what the dry-run store printed, from BEGIN on
    (the tables are made once, see make_tables), COPY FROM S3 replaced by
    \\copy of copy_files[table]."""
    stmts = statements(out)
    begin = next(i for i, (s, _) in enumerate(stmts) if s == "BEGIN")
    script = []
    for sql, date in stmts[begin:]:
        m = re.match(r"COPY (stage_(\w+)) \(([^)]*)\) FROM 's3://", sql)
        if m:
            script.append(f"\\copy {m.group(1)} ({m.group(3)}) FROM '{copy_files[m.group(2)]}' "
                          "WITH (FORMAT csv, HEADER true)")
        else:
            script.append(for_postgres(sql, date) + ";")
    psql(url, "\n".join(script) + "\n")
    return stmts


def make_tables(url, out):
    """The tables as the Redshift store creates them, without DISTKEY and
    SORTKEY (PostgreSQL has neither)."""
    stmts = statements(out)
    begin = next(i for i, (s, _) in enumerate(stmts) if s == "BEGIN")
    ddl = [re.sub(r'\) DISTKEY \("?\w+"?\) COMPOUND SORTKEY \([\w, "]+\)$', ")", s) + ";"
           for s, _ in stmts[:begin]]
    psql(url, "\n".join(ddl) + "\n")
    return {m.group(1): re.findall(r'(?:^|, )"?(\w+)"? [A-Z]', m.group(2))
            for s, _ in stmts[:begin]
            for m in [re.match(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*)\) DISTKEY", s)] if m}


def addr(n):
    return "0x" + format(n, "040x")


# ---- the data: five days of a few tokens ----
rng = random.Random(20240301)
BIG, T1, T2, PROXY, IMPL, REG, ALL9, OLD, PLAIN = (addr(0xA000 + i) for i in range(9))
people = [addr(0xB000 + i) for i in range(12)]
A, B, C, D = people[:4]
blocks = {d: [100 + 10 * i, 101 + 10 * i] for i, d in enumerate(DAYS)}
data = {t: {d: [] for d in DAYS} for t in ("blocks", "contracts", "tokens", "token_transfers",
                                            "security_token_events")}
for d in DAYS:
    for n in blocks[d]:
        data["blocks"][d].append({"number": n, "hash": "0x" + format(n, "064x"), "miner": A,
                                  "timestamp": 1709251200 + n, "transaction_count": 1})


def contract(day, address, standards):
    data["contracts"][day].append({"address": address, "bytecode": "0x6000", "block_number": blocks[day][0],
                                   "standards": standards})


def token(day, address, name, symbol, decimals):
    data["tokens"][day].append({"address": address, "name": name, "symbol": symbol, "decimals": decimals,
                                "block_number": blocks[day][0]})


contract(DAYS[0], BIG, "erc20,erc1644")                     # the only erc1644 token that moves
contract(DAYS[0], T1, "erc20,erc1400,erc1410,erc1594,erc1643")
contract(DAYS[1], T2, "erc20,erc3643")
contract(DAYS[0], PROXY, "")                                # a proxy: seen by its events only
contract(DAYS[0], IMPL, "erc20,erc1400,erc1410,erc1594,erc1643")  # nameless implementation: left out
contract(DAYS[0], REG, "")                                  # identity registry: left out
contract(DAYS[2], ALL9, "erc20,erc721,erc1155,erc1400,erc1410,erc1594,erc1643,erc1644,erc3643")
contract(DAYS[0], PLAIN, "erc20")                           # not a security token
token(DAYS[0], BIG, "Big", "BIG", "18")
token(DAYS[0], T1, "Tranche", "TR1", "9")
token(DAYS[1], T1, "Tranche", "TR1", "18")                   # two rows: the larger is 18, not "9"
token(DAYS[1], T2, "Trex", "TRX", "0")
token(DAYS[0], PROXY, "Proxy Token", "PXY", "6")
token(DAYS[2], ALL9, "Everything", "ALL", "")
token(DAYS[0], PLAIN, "Plain", "PLN", "18")
log_index = [0]


def transfer(day, tok, frm, to, value):
    log_index[0] += 1
    data["token_transfers"][day].append({
        "token_address": tok, "from_address": frm, "to_address": to, "value": str(value),
        "transaction_hash": "0x" + format(log_index[0], "064x"), "log_index": log_index[0],
        "block_number": blocks[day][log_index[0] % 2]})


def event(day, tok, standard, name, block=0, **cols):
    log_index[0] += 1
    row = {"token_address": tok, "standard": standard, "event": name, "block_number": blocks[day][block],
           "transaction_hash": "0x" + format(log_index[0], "064x"), "log_index": log_index[0], "args": "{}"}
    row.update(cols)
    data["security_token_events"][day].append(row)


# BIG, worked out by hand: day 1 mints 10^52 - 1 to A and 1 to B (issued
# 10^52, a carry through both lower chunks); day 2 A sends B 10^26 - 1
# (B received 10^26 in all: a carry) and B sends C 10^26 (one unit of the
# middle chunk), so B holds exactly 0 and the holders are A and C; day 3
# mints 2^256 - 1 twice to D, day 4 burns both (2^257 - 2 each way).
transfer(DAYS[0], BIG, ZERO, A, 10 ** 52 - 1)
transfer(DAYS[0], BIG, ZERO, B, 1)
transfer(DAYS[1], BIG, A, B, 10 ** 26 - 1)
transfer(DAYS[1], BIG, B, C, 10 ** 26)
transfer(DAYS[2], BIG, ZERO, D, U256)
transfer(DAYS[2], BIG, ZERO, D, U256)
transfer(DAYS[3], BIG, D, ZERO, U256)
transfer(DAYS[3], BIG, D, ZERO, U256)

# The others at random, with balances kept to drain some exactly.
bal = {}
EDGES = [10 ** 26 - 1, 10 ** 26, 10 ** 26 + 1, 10 ** 52 - 1, 10 ** 52, 10 ** 38, 10 ** 38 - 1]


def amount():
    r = rng.random()
    if r < 0.3:
        return rng.randint(1, 10 ** 6)
    if r < 0.6:
        return rng.randint(10 ** 20, 10 ** 30)
    if r < 0.8:
        return rng.randint(10 ** 38, 10 ** 76)
    return rng.choice(EDGES)


for d in DAYS[:4]:
    for _ in range(40):
        tok = rng.choice([T1, T2, PROXY, PLAIN])
        r = rng.random()
        holders = [p for p in people if bal.get((tok, p), 0) > 0]
        if r < 0.25 or not holders:
            frm, to, v = ZERO, rng.choice(people), amount()
        elif r < 0.35:
            frm = rng.choice(holders)
            to, v = ZERO, bal[(tok, frm)] if rng.random() < 0.5 else rng.randint(1, bal[(tok, frm)])
        else:
            frm = rng.choice(holders)
            to = rng.choice([p for p in people if p != frm])
            v = bal[(tok, frm)] if rng.random() < 0.3 else rng.randint(1, bal[(tok, frm)])
        bal[(tok, frm)] = bal.get((tok, frm), 0) - v
        bal[(tok, to)] = bal.get((tok, to), 0) + v
        transfer(d, tok, frm, to, v)

# Events: partitions, documents, forced transfers, freezes.
P1, P2, P3 = ("0x" + format(0x7001 + i, "064x") for i in range(3))
event(DAYS[0], T1, "erc1410", "TransferByPartition", partition=P1, from_address=A, to_address=B, value="5")
event(DAYS[0], T1, "erc1410", "TransferByPartition", partition=P1, from_address=B, to_address=C, value="1")
event(DAYS[1], T1, "erc1410", "ChangedPartition", partition=P1, to_partition=P2, value="3")
event(DAYS[1], T1, "erc1643", "DocumentUpdated", document_name="0x" + "aa" * 32, document_uri="https://x/1",
      args='{"name": "0xaa", "uri": "https://x/1", "documentHash": "0xbb"}')
event(DAYS[2], T1, "erc1643", "DocumentUpdated", document_name="0x" + "ab" * 32, document_uri="https://x/2")
event(DAYS[2], ALL9, "erc1644", "ControllerTransfer", from_address=B, to_address=C, operator_address=D,
      value=str(10 ** 40))
event(DAYS[3], ALL9, "erc1644", "ControllerTransfer", from_address=C, to_address=B, operator_address=D,
      value="7")
event(DAYS[1], PROXY, "erc1410", "TransferByPartition", partition=P3, from_address=A, to_address=B, value="9")
event(DAYS[2], PROXY, "erc1594", "Issued", to_address=A, operator_address=D, value=str(10 ** 45))
event(DAYS[2], OLD, "erc1643", "DocumentUpdated", document_name="0x" + "cc" * 32)  # created before the data
event(DAYS[1], REG, "erc3643", "IdentityRegistered", from_address=A)


def frozen(day, user, flag, block=0):
    event(day, T2, "erc3643", "AddressFrozen", block=block, from_address=user, operator_address=D,
          args='{"userAddress": "%s", "isFrozen": %s, "owner": "%s"}'
          % (user, "true" if flag else "false", D))


# T2's freezes worked out by hand: frozen at each day's end are A; B; A and B; A and B.
frozen(DAYS[1], A, True)
frozen(DAYS[2], B, True, block=0)
frozen(DAYS[2], A, True, block=0)
frozen(DAYS[2], A, False, block=1)          # a later block unfreezes A
frozen(DAYS[3], A, True, block=1)
frozen(DAYS[3], A, False, block=0)          # an earlier block: A stays frozen
FROZEN_BY_HAND = {DAYS[1]: 1, DAYS[2]: 1, DAYS[3]: 2, DAYS[4]: 2}


def write_csvs(columns):
    """One CSV per table and day, every column of the table in order."""
    files = {}
    for table, by_day in data.items():
        cols = [c for c in columns[table] if c != "block_date"]
        for d, items in by_day.items():
            path = os.path.join(T, f"{table}-{d}.csv")
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(cols)
                for item in items:
                    w.writerow([item.get(c, "") for c in cols])
            files[(table, d)] = path
    return files


METRICS = ("tokens_deployed, tokens_active, transfers, holders, issued_amount, redeemed_amount, "
           "partitions_in_use, documents_published, controller_transfers, frozen_addresses")


def metrics(url):
    return {(r[0], r[1]): r[2:] for r in rows(
        url, f"SELECT day, standard, {METRICS} FROM security_token_metrics_by_day ORDER BY day, standard")}


def contracts(url):
    return rows(url, "SELECT address, standards, name, symbol, decimals, first_seen_block, first_seen_date "
                     "FROM security_token_contracts ORDER BY address")


def differences(got, want):
    names = METRICS.split(", ")
    diff = [f"{k} missing" for k in want if k not in got] + [f"{k} extra" for k in got if k not in want]
    for k in sorted(set(got) & set(want)):
        for n, g, w in zip(names, got[k], want[k]):
            if g != w:
                diff.append(f"{k} {n}: redshift {g}, postgres {w}")
    return diff


try:
    pg_url, stop_pg = servers.postgres(os.path.join(T, "pg"))
    cleanup.append(stop_pg)
    base = pg_url.rsplit("/", 1)[0]
    psql(pg_url, "CREATE ROLE rs_user LOGIN;\nCREATE DATABASE rs OWNER rs_user;\nCREATE DATABASE pgref;\n")
    RS_URL, REF_URL = base.replace("postgres@", "rs_user@") + "/rs", base + "/pgref"
    psql(base + "/rs", """
DO $$ DECLARE f regprocedure; BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p WHERE p.proname = ANY (ARRAY[%s]) LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %%s FROM PUBLIC', f);
  END LOOP;
END $$;
""" % ", ".join(f"'{f}'" for f in NOT_IN_REDSHIFT))
    # Stand-ins for Redshift functions, as Redshift documents them: LISTAGG
    # skips NULLs and empty strings; JSON_EXTRACT_PATH_TEXT takes text.
    psql(RS_URL, """
CREATE FUNCTION listagg_step(acc text, v text, delim text) RETURNS text LANGUAGE sql IMMUTABLE AS
  'SELECT CASE WHEN v IS NULL OR v = '''' THEN acc WHEN acc IS NULL THEN v ELSE acc || delim || v END';
CREATE AGGREGATE listagg(text, text) (SFUNC = listagg_step, STYPE = text);
CREATE FUNCTION json_extract_path_text(j text, k text) RETURNS text LANGUAGE sql IMMUTABLE AS
  'SELECT json_extract_path_text(j::json, k)';
""")
    refused = subprocess.run(["psql", "-X", "-d", RS_URL, "-c", "SELECT string_agg('a', ',')"],
                             capture_output=True, text=True)
    names = ", ".join(f"'{f}'" for f in NOT_IN_REDSHIFT)
    allowed = rows(base + "/rs", f"SELECT DISTINCT proname FROM pg_proc WHERE proname = ANY (ARRAY[{names}]) "
                   "AND has_function_privilege('rs_user', oid, 'EXECUTE')")
    ok(refused.returncode != 0 and "permission denied" in refused.stderr and not allowed,
       "the replaying role may not call string_agg, nor the rest Redshift lacks",
       refused.stderr + str(allowed))

    # ---- the Redshift side: tables, loads and aggregates as sta sends them ----
    columns = make_tables(RS_URL, sta("aggregate", "security_token_contracts", "--full", "--store", RS))
    types = {f"{t}.{c}": f"{ty}({n})" for t, c, ty, n in rows(
        RS_URL, "SELECT table_name, column_name, data_type, character_maximum_length "
                "FROM information_schema.columns WHERE table_schema = 'public'")}
    amounts = ["token_transfers.value", "security_token_metrics_by_day.issued_amount",
               "security_token_metrics_by_day.redeemed_amount"]
    ok([types.get(a) for a in amounts] == ["character varying(78)"] * 3,
       "token amounts are VARCHAR(78) in the Redshift tables", [types.get(a) for a in amounts])
    files = write_csvs(columns)
    for (table, d), path in sorted(files.items()):
        replay(RS_URL, sta("load", table, d, "--lake", LAKE, "--store", RS), {table: path})
        sta("load", table, d, "--file", path, "--store", REF_URL)
    n = rows(RS_URL, "SELECT (SELECT count(*) FROM token_transfers), "
                     "(SELECT count(*) FROM security_token_events)")
    want_n = [str(sum(map(len, data[t].values()))) for t in ("token_transfers", "security_token_events")]
    ok(n == [want_n], "the Redshift loads, replayed, hold every generated row", f"{n} vs {want_n}")

    sent = replay(RS_URL, sta("aggregate", "security_token_contracts", "--full", "--store", RS))
    text = "\n".join(s for s, _ in sent)
    ok("LISTAGG" in text and "SPLIT_PART" in text and "string_agg" not in text,
       "the Redshift store sends its own dialect of security_token_contracts")
    sta("aggregate", "security_token_contracts", "--full", "--store", REF_URL)
    got, want = contracts(RS_URL), contracts(REF_URL)
    ok(got == want and got, "security_token_contracts: the Redshift dialect's rows equal PostgreSQL's",
       "\n".join(f"redshift {g}\npostgres {w}" for g, w in zip(got, want) if g != w) or f"{got}\n{want}")
    by_addr = {r[0]: r for r in got}
    ok(set(by_addr) == {BIG, T1, T2, PROXY, ALL9, OLD},
       "... the tokens, proxy and event-only token included; implementation, registry, plain ERC-20 not",
       sorted(by_addr))
    ok(by_addr.get(ALL9, [None, None])[1] ==
       "erc1155,erc1400,erc1410,erc1594,erc1643,erc1644,erc20,erc3643,erc721"
       and by_addr.get(PROXY, [None, None])[1] == "erc1410,erc1594",
       "... a list of nine standards is split and joined whole; a proxy's come from its events",
       [by_addr.get(ALL9), by_addr.get(PROXY)])
    ok([by_addr.get(a, [None] * 5)[4] for a in (T1, T2, ALL9, OLD)] == ["18", "0", "", ""],
       "... decimals: the numerically largest of two rows (18, not 9), 0 kept, none stays null",
       [by_addr.get(a) for a in (T1, T2, ALL9, OLD)])
    cat = [c for c in map(json.loads, sta("etl", "security_token_catalog").splitlines())
           if c["kind"] == "standard"]
    ok(0 < len(cat) <= 16, f"the catalogue's {len(cat)} standards fit the 16 places the dialect splits")

    # Daily increments, then the full refresh, on both sides.
    for d in DAYS:
        sent = replay(RS_URL, sta("aggregate", "security_token_metrics_by_day", d, "--store", RS))
        sta("aggregate", "security_token_metrics_by_day", d, "--store", REF_URL)
    text = "\n".join(s for s, _ in sent)
    ok("SPLIT_PART" in text and "DECIMAL(38, 0)" in text and "unnest" not in text,
       "the Redshift store sends its own dialect of security_token_metrics_by_day")
    got, want = metrics(RS_URL), metrics(REF_URL)
    diff = differences(got, want)
    ok(want and not diff, f"daily increments: every metric of the Redshift dialect equals PostgreSQL's "
       f"({len(want)} rows of a day and a standard)", "\n".join(diff[:20]))
    daily = got
    replay(RS_URL, sta("aggregate", "security_token_metrics_by_day", "--full", "--store", RS))
    sta("aggregate", "security_token_metrics_by_day", "--full", "--store", REF_URL)
    got, want = metrics(RS_URL), metrics(REF_URL)
    diff = differences(got, want)
    ok(want and not diff, "full refresh: every metric of the Redshift dialect equals PostgreSQL's",
       "\n".join(diff[:20]))
    ok(got == daily, "the Redshift full refresh equals its daily increments")
    names = METRICS.split(", ")
    zero = [n for i, n in enumerate(names) if all(v[i] == "0" for v in got.values())]
    ok(not zero, "every metric is non-zero on some day and standard", zero)
    ok(set(k[1] for k in got) == set(SEC) and set(k[0] for k in got) == set(DAYS),
       "a row for every day and every standard")
    longest = max(len(v[i]) for v in got.values() for i in (4, 5))
    ok(longest > 38, f"issued and redeemed sums go past 38 digits ({longest})")

    # Worked out by hand (see the data above).
    big = {d: got.get((d, "erc1644")) for d in DAYS}
    hand = [
        ("day 1 issued 10^52 - 1 + 1", big[DAYS[0]][4], TEN52),
        ("day 1 holders A and B", big[DAYS[0]][3], "2"),
        ("day 2 holders A and C (B back to 0 through a carry)", big[DAYS[1]][3], "2"),
        ("day 2 transfers", big[DAYS[1]][2], "2"),
        ("day 3 issued 2 x (2^256 - 1)", big[DAYS[2]][4], TWO_MAX),
        ("day 3 holders A, C, D", big[DAYS[2]][3], "3"),
        ("day 4 redeemed 2 x (2^256 - 1)", big[DAYS[3]][5], TWO_MAX),
        ("day 4 holders A and C", big[DAYS[3]][3], "2"),
        ("day 5 issued nothing", big[DAYS[4]][4], "0"),
    ]
    bad = [f"{what}: got {g}, want {w}" for what, g, w in hand if g != w]
    ok(not bad, "erc1644 (one moving token): sums and holders equal the hand-worked values", "\n".join(bad))
    frz = {d: got[(d, "erc3643")][9] for d in DAYS[1:]}
    ok(frz == {d: str(n) for d, n in FROZEN_BY_HAND.items()},
       "erc3643 frozen addresses at each day's end equal the hand-worked ones (block, then log order)", frz)
finally:
    status = finish(T, cleanup)
sys.exit(status)
