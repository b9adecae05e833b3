#!/usr/bin/env python3
# lake_custody.py: the chain of custody between the lake, sta verify and
# sta load, on the devnet with a local lake, the SQLite store and a
# PostgreSQL 15 server started here.
#
#   sta verify  fails when the manifest's file list is emptied (and the data
#               altered), when a recorded field (block hash) or an input's
#               sha256 is changed, when an input partition changed; it
#               replays the recorded options, so a contracts partition
#               exported --with-standards verifies
#   sta load    refuses a partition without a manifest, or whose file does
#               not have the manifest's sha256, naming partition and file
#   sta etl     a rerun removes the old manifest before it replaces the data;
#               credentials of every provider URL in a list are left out of
#               the recorded command
#   postgres    a read error on the loaded file rolls back (the old rows stay)
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
import servers  # noqa: E402  (tests/fakes/servers.py)
from tap import ok, run_main  # noqa: E402

STA = os.environ["STA"]
SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
T = tempfile.mkdtemp(prefix="sta-lake-custody-")
HOME = os.path.join(T, "home")
LAKE = os.path.join(T, "lake")
ENV = dict(os.environ, STA_HOME=HOME, STA_LAKE="file://" + LAKE)
for k in ("STA_STORE", "STA_PROVIDER_URI"):
    ENV.pop(k, None)
cleanup = []


def sta(*args, check=True, env=None):
    p = subprocess.run([STA, *args], capture_output=True, text=True, env=env or ENV, timeout=600)
    if check and p.returncode != 0:
        ok(False, f"sta {' '.join(args[:3])} exits 0", p.stdout[-1000:] + p.stderr[-2000:])
    return p


def part(table, d, name):
    return os.path.join(LAKE, "export", table, f"block_date={d}", name)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def verify(table, d):
    p = sta("verify", table, d, check=False)
    return p.returncode, p.stdout + p.stderr


def main():
    dn = os.path.join(T, "devnet")
    url = servers.devnet(SRC, dn)
    cleanup.append(lambda: subprocess.run(["bash", os.path.join(SRC, "devnet", "stop.sh"), dn]))
    ENV["STA_PROVIDER_URI"] = url
    rec = json.load(open(os.path.join(dn, "record.json")))
    d = rec["days"][0]["date"]  # the tokens and factories are deployed on the first day

    # Two provider URLs with credentials: neither is recorded with them.
    host = url.split("://", 1)[1]
    creds = f"http://alice:s3cret@{host},http://bob:pw@{host}"
    sta("etl", "export_blocks_and_transactions", "--date", d, "--lake", "", "-p", creds)
    m = read(part("transactions", d, "manifest.json")).decode()
    cmd = json.loads(m)["command"]
    ok("s3cret" not in m and "bob:pw" not in m and f"http://{host},http://{host}" in cmd,
       "credentials of every provider URL in a list are left out of the manifest", cmd)
    sta("etl", "export_receipts_and_logs", "--date", d, "--lake", "")
    sta("etl", "export_traces", "--date", d, "--lake", "")
    sta("etl", "export_contracts", "--date", d, "--lake", "", "--with-standards")
    contracts = read(part("contracts", d, "contracts.csv")).decode()
    ok(contracts.split("\r\n")[0].endswith("standards"), "the contracts file has a standards column",
       contracts[:200])

    rc, out = verify("transactions", d)
    ok(rc == 0 and "equal" in out, "sta verify passes on an untouched partition", out)
    rc, out = verify("contracts", d)
    ok(rc == 0 and "equal" in out,
       "sta verify passes on contracts exported --with-standards (the recorded options replayed)", out)

    # An emptied file list with altered data.
    mpath, fpath = part("transactions", d, "manifest.json"), part("transactions", d, "transactions.csv")
    m0, f0 = read(mpath), read(fpath)
    mj = json.loads(m0)
    mj["files"] = []
    write(mpath, json.dumps(mj).encode())
    lines = f0.split(b"\r\n")
    lines[1] = lines[1].replace(b",0x", b",0x0", 1)
    write(fpath, b"\r\n".join(lines))
    rc, out = verify("transactions", d)
    ok(rc == 1 and "transactions.csv" in out,
       "sta verify fails on altered data whose manifest lists no files", out)
    write(fpath, f0)
    rc, out = verify("transactions", d)
    ok(rc == 1 and "manifest" in out, "... and on an emptied file list alone", out)

    # A recorded field changed: the fresh extraction's manifest disagrees.
    mj = json.loads(m0)
    mj["last_block_hash"] = "0x" + "ab" * 32
    write(mpath, json.dumps(mj).encode())
    rc, out = verify("transactions", d)
    ok(rc == 1 and "last_block_hash" in out, "sta verify fails on a changed block hash in the manifest", out)
    mj = json.loads(m0)
    mj["files"][0]["rows"] += 1
    write(mpath, json.dumps(mj).encode())
    rc, out = verify("transactions", d)
    ok(rc == 1 and "rows" in out, "sta verify fails on a manifest whose rows are wrong", out)
    write(mpath, m0)

    # Inputs: the receipts' recorded input against the transactions partition.
    rpath = part("receipts", d, "manifest.json")
    r0 = read(rpath)
    rj = json.loads(r0)
    rj["inputs"][0]["sha256"] = "0" * 64
    write(rpath, json.dumps(rj).encode())
    rc, out = verify("receipts", d)
    ok(rc == 1 and "input" in out, "sta verify fails on a changed input sha256", out)
    write(rpath, r0)
    write(fpath, f0 + b"\r\n")
    rc, out = verify("receipts", d)
    ok(rc == 1 and "input" in out and "changed" in out,
       "sta verify fails when the input partition changed after the export", out)
    write(fpath, f0)
    rc, out = verify("receipts", d)
    ok(rc == 0, "sta verify passes on the restored receipts", out)

    # sta load: a manifest is required and must vouch for the file.
    p = sta("load", "transactions", d, check=False)
    ok(p.returncode == 0, "sta load loads a partition its manifest vouches for", p.stderr)
    os.rename(mpath, mpath + ".away")
    p = sta("load", "transactions", d, check=False)
    ok(p.returncode == 65 and "no manifest" in p.stderr and f"transactions {d}" in p.stderr,
       "sta load refuses a partition without a manifest, naming it", p.stderr)
    os.rename(mpath + ".away", mpath)
    write(fpath, b"\r\n".join(lines))
    p = sta("load", "transactions", d, check=False)
    ok(p.returncode == 65 and "transactions.csv" in p.stderr and "manifest says" in p.stderr,
       "sta load refuses a file whose sha256 is not the manifest's, naming the file", p.stderr)
    write(fpath, f0)

    # A rerun removes the old manifest before it replaces the data: here
    # the data cannot be replaced (its name is taken by a folder), so the
    # partition is left without a manifest, never with the old one.
    tpath = part("traces", d, "traces.csv")
    os.unlink(tpath)
    os.makedirs(os.path.join(tpath, "x"))
    p = sta("etl", "export_traces", "--date", d, "--lake", "", check=False)
    ok(p.returncode != 0 and not os.path.exists(part("traces", d, "manifest.json")),
       "a rerun that fails to replace the data leaves no manifest", p.stderr[-500:])
    shutil.rmtree(tpath)
    sta("etl", "export_traces", "--date", d, "--lake", "")
    ok(os.path.exists(part("traces", d, "manifest.json")), "... and a rerun that succeeds writes it")

    # PostgreSQL: a file that cannot be read to its end rolls back.
    pg_url, stop_pg = servers.postgres(os.path.join(T, "pg"))
    cleanup.append(stop_pg)
    penv = dict(ENV, STA_STORE=pg_url)
    sta("load", "blocks", d, env=penv)
    before = sta("query", f"select count(*) from blocks where block_date = '{d}'", env=penv).stdout
    folder = os.path.join(T, "a-folder.csv")
    os.makedirs(folder)
    p = sta("load", "blocks", d, "--file", folder, check=False, env=penv)
    after = sta("query", f"select count(*) from blocks where block_date = '{d}'", env=penv).stdout
    ok(p.returncode == 1 and "read error" in p.stderr and after == before and before.split()[-1] != "0",
       "a read error during COPY rolls the load back (the old rows stay)", f"{p.stderr}\n{before!r} {after!r}")


run_main(main, T, cleanup)
