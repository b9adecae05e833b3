#!/usr/bin/env python3
# lake_s3.py: `sta lake` against two S3 endpoints the test starts itself
# (and, briefly, against a local folder).
#
# tests/fakes/sigv4_check.py recomputes the SigV4 signature of every
# request independently (checked first against AWS's published examples)
# and refuses what does not verify, so these requests are proven signed
# correctly: keys with '=', spaces and non-ASCII, a session token, a 70 MiB
# multipart upload, paged listings with continuation tokens that need
# encoding, credentials from a fake STS (web identity), and 500s that the
# client must retry through.  s3rver (npm; it does not check signatures)
# is a second, independent S3 implementation: round trips, more than 1000
# keys (paged listing), a 70 MiB multipart upload checked against the
# bytes s3rver stored, not-found and bad-bucket messages.  Prints TAP.
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

STA = os.environ["STA"]
SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CHECK = os.path.join(SRC, "tests", "fakes", "sigv4_check.py")
T = tempfile.mkdtemp(prefix="sta-lake-s3-")
n = failed = 0
procs = []


def ok(cond, desc, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {desc}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print(f"#   {line}")
    sys.stdout.flush()


def is_(got, want, desc):
    detail = f"got:  {got!r}\nwant: {want!r}"
    if isinstance(got, list) and isinstance(want, list):
        diff = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        detail = (f"got {len(got)} items, want {len(want)}; first difference at {diff}: "
                  f"{got[diff:diff + 1]!r} vs {want[diff:diff + 1]!r}")
    ok(got == want, desc, detail)


# The environment of every sta run: no AWS settings from outside.
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("STA_S3_")}
BASE_ENV["STA_S3_BACKOFF_MS"] = "20"


def lake(*args, env=None, binary=False):
    return subprocess.run([STA, "lake", *args], cwd=T, capture_output=True, text=not binary,
                          env=dict(BASE_ENV, **(env or {})))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write(name, data):
    path = os.path.join(T, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def wait_file(path, what):
    for _ in range(200):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def checker(name, *opts):
    """Starts a signature-checking endpoint; returns (url, stats reader)."""
    port, stats = os.path.join(T, name + ".port"), os.path.join(T, name + ".stats")
    procs.append(subprocess.Popen([sys.executable, CHECK, port, stats, "--region", REGION, *opts]))
    wait_file(port, name)

    def read_stats():
        with open(stats) as f:
            return json.load(f)
    return "http://127.0.0.1:" + open(port).read(), read_stats


def s3rver():
    data, log = os.path.join(T, "s3rver-data"), os.path.join(T, "s3rver.log")
    os.makedirs(data)
    exe = os.path.join(SRC, "node_modules", ".bin", "s3rver")
    # s3rver 3.7 encrypts continuation tokens with DES, which node 20's
    # OpenSSL 3 only offers through its legacy provider.
    env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
    procs.append(subprocess.Popen([exe, "-d", data, "-a", "127.0.0.1", "-p", "0",
                                   "--configure-bucket", "bucket"], env=env,
                                  stdout=open(log, "w"), stderr=subprocess.STDOUT))
    for _ in range(200):
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(log).read())
        if m:
            return int(m.group(1)), data
        time.sleep(0.05)
    raise RuntimeError("s3rver did not start: " + open(log).read())


REGION = "eu-central-1"
KEY = "export/blocks/block_date=2024-03-01/a b+c~$\u00e9.csv"
CSV = b"number,hash\n1,0xab\n2,0xcd\n"
BIG = os.urandom(70 << 20)
BIG_SHA = hashlib.sha256(BIG).hexdigest()
big_path = write("big.bin", BIG)
small_path = write("small.csv", CSV)

try:
    # ---- a local lake through the same commands ----
    root = os.path.join(T, "lake")
    furi = "file://" + root + "/export/blocks/block_date=2024-03-01/blocks%20a.csv"
    r = lake("put", small_path, furi)
    stored = os.path.join(root, "export", "blocks", "block_date=2024-03-01", "blocks a.csv")
    ok(r.returncode == 0 and open(stored, "rb").read() == CSV,
       "local: put to a file:// URI (%20 decoded) stores the bytes in the partition folder", r.stderr)
    r = lake("ls", root)
    is_(r.stdout, furi + "\n", "local: ls of a plain path prints the file:// URI")
    r = lake("get", stored, "-", binary=True)
    is_(r.stdout, CSV, "local: get of a plain path to stdout")
    r1 = lake("rm", furi)
    r2 = lake("exists", furi)
    is_((r1.returncode, r2.returncode, os.path.exists(stored)), (0, 1, False), "local: rm, then exists says 1")
    r = lake("put", small_path, "s3://bucket/a/../b.csv")
    ok(r.returncode == 64 and "'..'" in r.stderr, "a key with '..' is a usage error (64), before any request",
       r.stderr)
    r = lake("get")
    is_(r.returncode, 64, "get without a URI: usage (64)")

    # ---- the signature checker ----
    r = subprocess.run([sys.executable, CHECK, "--self-test"], capture_output=True, text=True)
    ok(r.returncode == 0, "the signature checker reproduces AWS's published SigV4 examples", r.stdout)

    url, stats = checker("plain", "--key", "AKIDPLAIN:se/cr+et")
    env = {"AWS_ACCESS_KEY_ID": "AKIDPLAIN", "AWS_SECRET_ACCESS_KEY": "se/cr+et",
           "AWS_REGION": REGION, "AWS_ENDPOINT_URL": url}
    uri = "s3://bucket/pre/" + KEY
    r = lake("put", small_path, uri, env=env)
    ok(r.returncode == 0, "put of a key with '=', ' ', '+', '~', '$' and 'é' is accepted", r.stderr)
    r = lake("ls", "s3://bucket/pre", env=env)
    is_(r.stdout, uri + "\n", "ls lists it under its full URI")
    r = lake("get", uri, "-", env=env, binary=True)
    is_(r.stdout, CSV, "get returns the bytes stored")
    r1 = lake("exists", uri, env=env)
    r2 = lake("rm", uri, env=env)
    r3 = lake("exists", uri, env=env)
    is_((r1.returncode, r2.returncode, r3.returncode), (0, 0, 1), "exists, rm, exists: 0, 0, 1 (HEAD and DELETE)")
    s = stats()
    ok(s["rejected"] == 0 and s["verified"] == 6,
       "the checker verified all 6 requests (PUT, list, GET, HEAD, DELETE, HEAD) and rejected none", s)

    r = lake("put", small_path, "s3://bucket/x.csv", env=dict(env, AWS_SECRET_ACCESS_KEY="wrong"))
    ok(r.returncode == 69 and "SignatureDoesNotMatch" in r.stderr and stats()["rejected"] == 1,
       "a request signed with the wrong secret is refused (the checker checks)", r.stderr)

    # Session token, multipart upload, paged listing.
    token = "IQoJb3JpZ2luX2VjE/token+with/odd=chars=="
    url, stats = checker("token", "--key", "ASIATOKEN:tsecret:" + token)
    env = {"AWS_ACCESS_KEY_ID": "ASIATOKEN", "AWS_SECRET_ACCESS_KEY": "tsecret",
           "AWS_SESSION_TOKEN": token, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL_S3": url}
    r = lake("put", big_path, "s3://bucket/big/blocks.bin", env=env)
    ok(r.returncode == 0, "a 70 MiB upload with a session token is accepted", r.stderr)
    s = stats()
    ops = s["ops"]
    ok(ops.get("CreateMultipartUpload") == 1 and ops.get("UploadPart") == 5 and
       ops.get("CompleteMultipartUpload") == 1 and s.get("last_multipart_parts") == 5 and
       "PutObject" not in ops,
       "it went up as one multipart upload of 5 parts (16 MiB each, the last 6 MiB)", s)
    ok(s["rejected"] == 0 and s["with_token"] == s["verified"] == 7,
       "all 7 requests verified, each with the session token signed", s)
    dl = os.path.join(T, "big.down")
    r = lake("get", "s3://bucket/big/blocks.bin", dl, env=env)
    ok(r.returncode == 0 and sha256_file(dl) == BIG_SHA, "the download's sha256 equals the source's", r.stderr)

    names = [f"page/block_date=2024-03-0{i}/k{i}.csv" for i in range(1, 9)]
    for name in names:
        lake("put", small_path, "s3://bucket/" + name, env=env)
    before = stats()["ops"].get("ListObjectsV2", 0)
    r = lake("ls", "s3://bucket/page/", env=dict(env, STA_S3_LIST_PAGE="3"))
    is_(r.stdout.splitlines(), ["s3://bucket/" + k for k in sorted(names)],
        "ls in pages of 3 lists all 8 keys, sorted")
    s = stats()
    ok(s["ops"]["ListObjectsV2"] - before == 3 and s["rejected"] == 0,
       "in 3 signed requests, continuation tokens with '+', '/', '=' encoded right", s)

    r = lake("put", small_path, "s3://bucket/t.csv", env=dict(env, AWS_SESSION_TOKEN=""))
    ok(r.returncode == 69 and "InvalidToken" in r.stderr, "without the session token: refused, S3's code shown",
       r.stderr)

    # 500, 500, then OK.
    url, stats = checker("fault", "--key", "AKIDFAULT:fsecret", "--fail", "2")
    env = {"AWS_ACCESS_KEY_ID": "AKIDFAULT", "AWS_SECRET_ACCESS_KEY": "fsecret",
           "AWS_REGION": REGION, "AWS_ENDPOINT_URL": url}
    r = lake("put", small_path, "s3://bucket/retried.csv", env=env)
    s = stats()
    ok(r.returncode == 0 and s["injected"] == 2 and r.stderr.count("retry") == 2,
       "an endpoint answering 500 twice: the put is retried and succeeds", r.stderr + json.dumps(s))
    r = lake("get", "s3://bucket/retried.csv", "-", env=env, binary=True)
    is_(r.stdout, CSV, "the object stored after the retries is whole")

    # Web identity (EKS IRSA) through a fake STS.
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdGEifQ.c2ln"
    url, stats = checker("sts", "--sts-token", jwt)
    write("token", (jwt + "\n").encode())
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": os.path.join(T, "token"),
           "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/sta", "AWS_REGION": REGION,
           "AWS_ENDPOINT_URL": url}
    r1 = lake("put", small_path, "s3://bucket/irsa.csv", env=env)
    r2 = lake("get", "s3://bucket/irsa.csv", "-", env=env, binary=True)
    s = stats()
    ok(r1.returncode == 0 and r2.stdout == CSV and s["sts"] == 2 and s["with_token"] == 2 and s["rejected"] == 0,
       "web identity: STS credentials (one exchange per run) sign put and get", (r1.stderr, s))
    write("badtoken", b"not-the-token")
    r = lake("ls", "s3://bucket/", env=dict(env, AWS_WEB_IDENTITY_TOKEN_FILE=os.path.join(T, "badtoken")))
    ok(r.returncode == 69 and "AssumeRoleWithWebIdentity" in r.stderr and "AccessDenied" in r.stderr,
       "a token STS refuses: exit 69 naming the call and STS's code", r.stderr)
    r = lake("ls", "s3://bucket/", env={"AWS_REGION": REGION, "AWS_ENDPOINT_URL": url})
    ok(r.returncode == 69 and "no AWS credentials" in r.stderr, "no credentials at all: exit 69, says which variables",
       r.stderr)

    # ---- s3rver ----
    port, data = s3rver()
    env = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    uri = "s3://bucket/lake/export/transactions/block_date=2024-03-01/transactions.csv"
    r1 = lake("put", small_path, uri, env=env)
    r2 = lake("get", uri, "-", env=env, binary=True)
    ok(r1.returncode == 0 and r2.stdout == CSV, "s3rver: put and get of a partition file", r1.stderr)
    r = lake("exists", uri, env=env)
    is_(r.returncode, 0, "s3rver: exists (HEAD) finds it")

    # More keys than one page: stored straight over HTTP (s3rver takes
    # unsigned requests), listed by sta.
    many = [f"many/block_date=2024-01-01/part-{i:05d}.csv" for i in range(1005)]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for k in many:
        conn.request("PUT", "/bucket/" + k.replace("=", "%3D"), body=b"x")
        conn.getresponse().read()
    conn.close()
    want = ["s3://bucket/" + k for k in sorted(many)]
    r = lake("ls", "s3://bucket/many", env=env)
    is_(r.stdout.splitlines(), want, "s3rver: ls of 1005 keys (pages of 1000) lists every one, sorted")
    r = lake("ls", "s3://bucket/many/", env=dict(env, STA_S3_LIST_PAGE="250"))
    is_(r.stdout.splitlines(), want, "s3rver: the same in pages of 250")

    r = lake("put", big_path, "s3://bucket/big/blocks.bin", env=env)
    stored = os.path.join(data, "bucket", "big", "blocks.bin._S3rver_object")
    ok(r.returncode == 0 and os.path.exists(stored) and sha256_file(stored) == BIG_SHA,
       "s3rver: 70 MiB multipart upload; the object s3rver stored has the source's sha256", r.stderr)
    dl = os.path.join(T, "big.s3rver")
    r = lake("get", "s3://bucket/big/blocks.bin", dl, env=env)
    ok(r.returncode == 0 and sha256_file(dl) == BIG_SHA, "s3rver: and downloads with the same sha256", r.stderr)

    r = lake("get", "s3://bucket/lake/none.csv", "-", env=env)
    ok(r.returncode == 1 and "s3://bucket/lake/none.csv: no such object" in r.stderr,
       "s3rver: a missing key is 'no such object', exit 1", r.stderr)
    ok(not os.path.exists(os.path.join(T, "none.csv")), "and leaves no local file")
    r = lake("put", small_path, "s3://nobucket/x/y.csv", env=env)
    ok(r.returncode == 69 and "s3://nobucket/x/y.csv: PutObject: HTTP 404 NoSuchBucket" in r.stderr,
       "s3rver: a bad bucket: exit 69, the URI, the operation and S3's code", r.stderr)
    r = lake("ls", "s3://nobucket/x", env=env)
    ok(r.returncode == 69 and "NoSuchBucket" in r.stderr, "s3rver: ls of a bad bucket says so too", r.stderr)
    r1 = lake("rm", uri, env=env)
    r2 = lake("exists", uri, env=env)
    is_((r1.returncode, r2.returncode), (0, 1), "s3rver: rm, then exists says it is gone")
except Exception as e:  # a broken step must show as a failure, not a traceback
    ok(False, "the test ran to its end", f"{type(e).__name__}: {e}")
finally:
    for p in procs:
        p.kill()
        p.wait()
    if failed == 0:
        shutil.rmtree(T, ignore_errors=True)
    else:
        print(f"# kept {T}")
    print(f"1..{n}")
sys.exit(1 if failed else 0)
