#!/usr/bin/env python3
# web_fuzz.py: fuzzes the REST API of `sta web`.  The valid requests of
# web_api.py and web_auth.py (every route and method, authenticated as
# those tests do) are the seeds; a fixed-seed random.Random mutates their
# JSON bodies (types, numbers, strings, unknown, missing and duplicate
# keys, nesting, truncation, invalid UTF-8), path segments, query
# strings, methods and headers (Content-Type, credentials, Host, Origin).
# For every request: no 5xx; every error is the JSON error body naming
# the field, parameter or id at fault; every JSON answer is valid UTF-8
# JSON; requests that must be refused are; a refused request changes no
# row of the state database; the server stays up with no sanitizer
# report.  STA_FUZZ_SEED (default 1; the seed is printed) chooses the
# cases and replays a run, STA_FUZZ_CASES sets their number.  Prints TAP.
import http.client
import json
import os
import random
import sqlite3
import sys
import time
from urllib.parse import quote as urlquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_common import HOME, dag, done, is_, ok, q, sta, start, stop  # noqa: E402

SEED = int(os.environ.get("STA_FUZZ_SEED") or 1)
CASES = int(os.environ.get("STA_FUZZ_CASES") or 4000)
print(f"# seed {SEED} (STA_FUZZ_SEED={SEED} replays this run), {CASES} cases")
rng = random.Random(SEED)

dag("d1", """dag_id: d1
schedule: null
params: {greeting: hello}
tasks:
  a:
    command: [sh, -c, 'echo from a']
  b:
    command: ['true']
    depends_on: [a]
""")
r = sta("dags", "test", "d1", "2024-03-01")
is_(r.returncode, 0, "a finished run to fuzz against")
RUN = "test__2024-03-01T00:00:00+00:00"
sta("variables", "set", "region", "eu-west-1")
sta("variables", "set", "api_key", "s3cr3t-Value-42", "--secret")

TOKEN = {}
for role in ("viewer", "operator", "admin"):
    sta("users", "add", f"{role}1", "--role", role, stdin=f"pw-{role}-correct horse\n")
    TOKEN[role] = json.loads(sta("--json", "tokens", "create", f"{role}1", "--name", "fz").stdout)["token"]
ok(all(t.startswith("sta_") for t in TOKEN.values()), "tokens for a viewer, an operator and an admin")
adb = sqlite3.connect(os.path.join(HOME, "analytics.db"))
adb.execute("create table aggregate_metrics_by_day (day text primary key, blocks_cnt integer)")
adb.execute("insert into aggregate_metrics_by_day values ('2024-01-01', 7)")
adb.commit()
adb.close()

auth = start("web", "--bind", "127.0.0.1:0", "--require-auth")
local = start("web", "--bind", "127.0.0.1:0")
s, h, b = auth.request("POST", "/api/v1/login", {"username": "operator1",
                                                  "password": "pw-operator-correct horse"})
SESSION = [c for c in h.get("set-cookie", []) if c.startswith("sta_session=")][0].split(";")[0]
CSRF = json.loads(b)["csrf_token"]
is_(s, 200, "a session for the operator")

# ------------------------------------------------------------- seeds

TABLES = ["dags", "dag_runs", "task_instances", "task_tries", "audit_log", "users",
          "api_tokens", "sessions", "variables", "pools"]


def snapshot():
    c = sqlite3.connect(os.path.join(HOME, "sta.db"), timeout=10)
    c.text_factory = bytes      # what a bad request may have stored need not be UTF-8
    try:
        return {t: sorted(map(repr, c.execute(f"select * from {t}").fetchall())) for t in TABLES}
    finally:
        c.close()


counter = [0]


def fresh(prefix):
    counter[0] += 1
    return f"{prefix}{counter[0]}"


def fresh_date():
    return f"{rng.randrange(1971, 2099)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def token_id():
    """A token of our own to revoke (never one the fuzzer authenticates with)."""
    s, h, b = auth.request("POST", "/api/v1/tokens", {"user": "viewer1", "name": "victim"},
                           headers={"Authorization": "Bearer " + TOKEN["admin"]})
    return str(json.loads(b)["id"])


def user_name():
    name = fresh("fz-user-")
    sta("users", "add", name, "--role", "viewer", stdin="a fine password\n")
    return name


# A seed: method, path segments (decoded), query pairs, JSON body (or
# None) and the lowest role that may send it.  Made anew for each case,
# so that run ids, dates and names are fresh.
def seeds():
    R = ["api", "v1", "dags", "d1", "runs", RUN]
    return [
        ("GET", ["api", "v1", "dags"], [], None, "viewer"),
        ("GET", ["api", "v1", "dags", "d1"], [], None, "viewer"),
        ("PATCH", ["api", "v1", "dags", "d1"], [], {"is_paused": rng.random() < 0.5}, "operator"),
        ("GET", ["api", "v1", "dags", "d1", "grid"], [("limit", "5"), ("cursor", "1900000000")], None,
         "viewer"),
        ("GET", ["api", "v1", "dags", "d1", "runs"], [("limit", "3"), ("offset", "1"), ("state", "success")],
         None, "viewer"),
        ("GET", ["api", "v1", "dags", "d1", "runs"], [("limit", "2"), ("cursor", "1900000000")], None,
         "viewer"),
        ("POST", ["api", "v1", "dags", "d1", "runs"], [],
         {"conf": {"greeting": "hi", "n": [1, 2.5, True, None], "o": {"k": "v"}},
          "logical_date": fresh_date(), "run_id": fresh("fz_")}, "operator"),
        ("GET", R, [], None, "viewer"),
        ("POST", R + ["clear"], [], {"task_ids": ["b"], "downstream": True, "only_failed": False},
         "operator"),
        ("GET", R + ["tasks", "a"], [], None, "viewer"),
        ("PATCH", R + ["tasks", "b"], [], {"state": rng.choice(["success", "failed"])}, "operator"),
        ("GET", R + ["tasks", "a", "tries", "1", "log"], [("follow", "false")], None, "viewer"),
        ("GET", ["api", "v1", "pools"], [], None, "viewer"),
        ("GET", ["api", "v1", "variables"], [], None, "viewer"),
        ("GET", ["api", "v1", "audit"], [("dag_id", "d1"), ("limit", "5"), ("cursor", "1000000")], None,
         "viewer"),
        ("GET", ["api", "v1", "analytics"], [], None, "viewer"),
        ("GET", ["api", "v1", "analytics", "aggregate_metrics_by_day"], [("limit", "10")], None, "viewer"),
        ("GET", ["api", "v1", "session"], [], None, "viewer"),
        ("POST", ["api", "v1", "logout"], [], None, "viewer"),
        ("GET", ["api", "v1", "users"], [], None, "admin"),
        ("GET", ["api", "v1", "tokens"], [], None, "admin"),
        ("POST", ["api", "v1", "tokens"], [], {"user": "viewer1", "name": fresh("fz-token-")}, "admin"),
        ("GET", ["healthz"], [], None, "viewer"),
        ("GET", ["readyz"], [], None, "viewer"),
    ]


# Rare: these hash a password (Argon2id, slow under ASan) or need set-up.
def rare_seeds():
    return [
        ("POST", ["api", "v1", "login"], [], {"username": "viewer1", "password": "wrong password"}, "viewer"),
        ("POST", ["api", "v1", "users"], [], {"name": fresh("fz-new-"), "role": "viewer",
                                              "password": "a fine password"}, "admin"),
        ("DELETE", ["api", "v1", "users", user_name()], [], None, "admin"),
        ("DELETE", ["api", "v1", "tokens", token_id()], [], None, "admin"),
    ]


# Which body keys a route takes, and which it needs.
BODY_KEYS = {
    ("PATCH", 4): ({"is_paused"}, {"is_paused"}),
    ("POST", 5): ({"conf", "logical_date", "run_id"}, set()),
    ("POST", 7): ({"task_ids", "downstream", "only_failed"}, set()),
    ("PATCH", 8): ({"state"}, {"state"}),
    ("POST", "login"): ({"username", "password"}, {"username", "password"}),
    ("POST", "users"): ({"name", "role", "password"}, {"name", "role", "password"}),
    ("POST", "tokens"): ({"user", "name"}, set()),
}


def body_keys(method, segs):
    key = (method, segs[-1]) if segs[-1] in ("login", "users", "tokens") else (method, len(segs))
    return BODY_KEYS.get(key, (set(), set()))


# Path segments that are ids (index -> kind) per route shape.
def id_segments(segs):
    out = {}
    if len(segs) >= 4 and segs[:3] == ["api", "v1", "dags"]:
        out[3] = "dag"
        if len(segs) >= 6:
            out[5] = "run"
        if len(segs) >= 8:
            out[7] = "task"
        if len(segs) >= 10:
            out[9] = "try"
    elif len(segs) == 4 and segs[2] in ("users", "tokens", "analytics"):
        out[3] = segs[2]
    return out


# ------------------------------------------------------------- values

WEIRD_STRINGS = ["", " ", "x" * 5000, "é ü ñ 日本 🎉", "\u0000", "a\u0000b", "\x01\x1f\x7f",
                 "line\nbreak", "'\"\\", "../../etc/passwd", "%00", "${x}", "{{ var.value.api_key }}",
                 "\ud7ff\ue000\uffff", "<script>", "null", "true", "1", "-1"]
WEIRD_NUMBERS = [0, -1, 1.5, -0.0, 2 ** 31, 2 ** 53, 2 ** 53 + 1, 2 ** 63, 2 ** 63 + 1, -(2 ** 63) - 1,
                 2 ** 64, 10 ** 30, 1e308, -1e-308, 123456789.123456789]


def other_type(v):
    """A value of another JSON type than v's (never null)."""
    choices = [rng.choice(WEIRD_NUMBERS), rng.choice(WEIRD_STRINGS), True, False, [], [v], {},
               {"k": v}]
    kinds = {bool: "b", int: "n", float: "n", str: "s", list: "l", dict: "o", type(None): "z"}

    def kind(x):
        return kinds[type(x)]
    return rng.choice([c for c in choices if kind(c) != kind(v)])


def weird_value():
    return rng.choice([rng.choice(WEIRD_STRINGS), rng.choice(WEIRD_NUMBERS), None, True, [], {},
                       [rng.choice(WEIRD_NUMBERS)] * rng.randrange(1, 50), {"": None}])


def nested(depth):
    """JSON text nested depth deep (as text: Python's json would recurse too deep)."""
    opens = [rng.choice([b"[", b'{"k": ']) for _ in range(depth)]
    return b"".join(opens) + b"1" + b"".join(b"]" if o == b"[" else b"}" for o in reversed(opens))


def enc(obj):
    return json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


# ----------------------------------------------------------- requests

class Raw(str):
    """A path segment sent as written (already %-encoded)."""


class Case:
    def __init__(self, seed):
        self.method, self.segs, self.query, self.body, self.role = seed
        self.segs = list(self.segs)
        self.query = list(self.query)
        self.raw_body = None        # bytes instead of body
        self.raw_path = None        # the path as sent, instead of segs
        self.headers = {}
        self.server = auth
        self.cred = "admin"         # admin, operator, viewer, session, none, or a header value
        self.what = "seed"
        self.must_reject = None     # None, or the statuses it must get
        self.names = None           # a word the error must contain
        self.same_as = None         # another path that must get the same status

    def path(self):
        if self.raw_path is not None:
            return self.raw_path
        p = "/" + "/".join(s if isinstance(s, Raw) else urlquote(s, safe="") for s in self.segs)
        if self.query:
            p += "?" + "&".join(k if v is None else f"{k}={v}" for k, v in self.query)
        return p

    def data(self):
        if self.raw_body is None and self.body is not None:
            self.raw_body = enc(self.body)      # once: enc draws from rng
        return self.raw_body

    def send(self, path=None):
        h = {}
        if self.method not in ("GET", "HEAD") or self.data() is not None:
            h["Content-Type"] = "application/json"
        if self.server is auth:
            if self.cred in TOKEN:
                h["Authorization"] = "Bearer " + TOKEN[self.cred]
            elif self.cred == "session":
                h["Cookie"] = SESSION
                h["X-CSRF-Token"] = CSRF
            elif self.cred.startswith("Cookie: "):
                h["Cookie"] = self.cred[8:]
            elif self.cred != "none":
                h["Authorization"] = self.cred
        h.update(self.headers)
        h = {k: v for k, v in h.items() if v is not None}
        return self.server.request(self.method, path or self.path(), raw=self.data(), headers=h)

    def describe(self):
        d = self.data()
        return (f"{self.what}: {self.method} {self.path()[:300]}"
                f" on {'auth' if self.server is auth else 'loopback'} server as {str(self.cred)[:40]}"
                f" headers {self.headers}\nbody {d[:300] if d is not None else None!r}")


# ---------------------------------------------------------- mutations

def mut_body_type(c, keys, need):
    if not isinstance(c.body, dict) or not c.body:
        return False
    k = rng.choice(sorted(c.body))
    c.body[k] = other_type(c.body[k])
    c.what = f"body: {k} of another type"
    c.must_reject, c.names = {400}, k
    return True


def mut_body_value(c, keys, need):
    if not isinstance(c.body, dict) or not c.body:
        return False
    k = rng.choice(sorted(c.body))
    v = c.body[k]
    if isinstance(v, str):
        c.body[k] = rng.choice([rng.choice(WEIRD_STRINGS), v * rng.randrange(2, 2000), v + "\u0000x",
                                v + rng.choice(WEIRD_STRINGS)])
    elif k == "logical_date":
        c.body[k] = rng.choice(["0001-01-01", "9999-12-31T23:59:59+00:00", "2024-02-30", "2024-13-01",
                                "1969-12-31T23:59", "2024-01-01T24:00", "2024-01-01T00:00+14:00",
                                "2024-01-01T00:00-99:99", "-2024-01-01", "99999-01-01", "2024-1-1",
                                "2024-01-01T00:00:60", "2024-01-01T00:00:00.5Z", "0000-00-00"])
    elif k == "run_id":
        c.body[k] = rng.choice(["r" * 250, "r" * 251, ".hidden", "a/b", "a\\b", "a b", "ü", "-", "~"])
    elif isinstance(v, dict):
        c.body[k] = dict(v, **{rng.choice(WEIRD_STRINGS): weird_value(), "n": rng.choice(WEIRD_NUMBERS)})
    elif isinstance(v, list):
        c.body[k] = v + [weird_value()]
    else:
        c.body[k] = rng.choice(WEIRD_NUMBERS)
        c.must_reject, c.names = {400}, k     # a bool field given a number
    c.what = f"body: odd value for {k}"
    c.names = k
    return True


def mut_body_unknown(c, keys, need):
    if c.body is None or not isinstance(c.body, dict):
        return False
    k = rng.choice(["color", "downstrem", "conf ", "Conf", "x" * 300, "ü", "is_paused2"])
    if k in keys:
        return False
    c.body[k] = weird_value()
    c.what = f"body: unknown key {k[:20]!r}"
    c.must_reject, c.names = {400}, k
    return True


def mut_body_missing(c, keys, need):
    if not need:
        return False
    k = rng.choice(sorted(need))
    del c.body[k]
    c.what = f"body: required {k} missing"
    c.must_reject, c.names = {400}, k
    return True


def mut_body_duplicate(c, keys, need):
    if not isinstance(c.body, dict) or not c.body:
        return False
    k = rng.choice(sorted(c.body))
    text = enc(c.body)
    dup = json.dumps(k).encode() + b": " + enc(other_type(c.body[k]))
    c.raw_body = text[:-1] + b", " + dup + b"}" if rng.random() < 0.5 else b"{" + dup + b", " + text[1:]
    c.what = f"body: {k} given twice"
    c.must_reject, c.names = {400}, k
    return True


def mut_body_nesting(c, keys, need):
    if c.body is None:
        return False
    depth = rng.choice([50, 900, 1100, 5000])
    k = "conf" if "conf" in keys else rng.choice(sorted(keys) or ["x"])
    text = enc(dict(c.body or {}, **{k: {"deep": "@@"} if k == "conf" else "@@"}))
    c.raw_body = text.replace(b'"@@"', nested(depth))
    c.what = f"body: {k} nested {depth} deep"
    if k != "conf" or depth > 1000:
        c.must_reject = {400}
    c.names = k if depth < 1000 else "JSON"
    return True


def mut_body_truncated(c, keys, need):
    text = enc(c.body if c.body is not None else {"k": 1})
    c.raw_body = text[:rng.randrange(1, len(text))]
    c.what = "body: truncated JSON"
    c.must_reject, c.names = {400}, "JSON"
    return True


def mut_body_not_object(c, keys, need):
    c.raw_body = rng.choice([b"[]", b"[1, 2]", b"1", b"\"x\"", b"null", b"true", b"  ", b"{}{}",
                             enc([c.body]), b"\xef\xbb\xbf[]"])
    c.what = "body: not one JSON object"
    if c.raw_body.strip() == b"" and c.segs[-1] == "clear":
        c.must_reject = None        # clear takes an empty body: every task
    else:
        c.must_reject = {400}
    c.names = "JSON"
    return True


def mut_body_bad_utf8(c, keys, need):
    if not isinstance(c.body, dict):
        return False
    k = rng.choice(sorted(c.body)) if c.body else "x"
    bad = rng.choice([b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                      b"\x80abc", b"\xf4\x90\x80\x80"])
    v = c.body.get(k)
    if isinstance(v, dict):
        text = enc(dict(v, note="@@"))
        val = text.replace(b"@@", bad)
    else:
        val = b"\"" + bad + b"\""
    c.raw_body = enc(dict(c.body, **{k: 0})).replace(json.dumps(k).encode() + b": 0", json.dumps(k).encode()
                                                      + b": " + val, 1)
    c.what = f"body: invalid UTF-8 in {k}"
    c.must_reject, c.names = {400}, "UTF-8"
    return True


def mut_body_control(c, keys, need):
    """Raw control characters and NUL bytes inside a JSON string: not JSON."""
    if not isinstance(c.body, dict) or not c.body:
        return False
    k = rng.choice(sorted(c.body))
    ch = rng.choice([b"\x00", b"\x01", b"\n", b"\x1f"])
    c.raw_body = enc(dict(c.body, **{k: "@@"})).replace(b"@@", b"a" + ch + b"b")
    c.what = f"body: raw control byte {ch!r} in {k}"
    c.must_reject, c.names = {400}, "JSON"
    return True


def mut_path_id(c, keys, need):
    ids = id_segments(c.segs)
    if not ids:
        return False
    i = rng.choice(sorted(ids))
    kind = ids[i]
    if kind in ("try", "tokens"):
        v = rng.choice(["0", "-1", "9223372036854775808", "99999999", "abc", "1.5", "0x1", "1e3",
                        "99999999999999999999", "\u0661", "--1"])
    else:
        v = rng.choice(["nosuch", "x" * rng.choice([300, 5000]), "ü日本", "a b", "..", ".", "%", "%zz",
                        "a;b", "a'b\"c", "d1 ", " d1", "D1", "\x01", "\x7f", "a/b", "{{x}}", "🎉"])
    if rng.random() < 0.25:
        v = Raw(rng.choice(["%FF", "%C3%28", "%ED%A0%80", "%C0%AF", "x%F4%90%80%80", "%E2%82", "%80"]))
    c.segs[i] = v
    c.what = f"path: {kind} id {v[:20]!r}"
    c.must_reject, c.names = {400, 404, 405}, None
    if v not in (".", ".."):
        c.must_reject = {404}
        c.names = None if isinstance(v, Raw) else v
    return True


def mut_path_bad_escape(c, keys, need):
    p = c.path()
    cut = p.find("?")
    head, tail = (p, "") if cut < 0 else (p[:cut], p[cut:])
    segs = head.split("/")
    i = rng.randrange(1, len(segs))
    segs[i] += rng.choice(["%", "%z", "%zz", "%0", "%00", "%G0"])
    c.raw_path = "/".join(segs) + tail
    c.what = "path: malformed %-escape"
    c.must_reject, c.names = {400}, "escape"
    return True


def mut_path_same(c, keys, need):
    """An encoding of the same path: must get the same answer (reads only)."""
    if c.method != "GET":
        return False
    p = c.path()
    cut = p.find("?")
    head, tail = (p, "") if cut < 0 else (p[:cut], p[cut:])
    choice = rng.randrange(3)
    if choice == 0:
        segs = head.split("/")
        i = rng.randrange(1, len(segs))
        segs[i] = "".join(f"%{b:02X}" if rng.random() < 0.5 else chr(b) for b in segs[i].encode()
                          if chr(b) != "%") if "%" not in segs[i] else segs[i]
        alt = "/".join(segs)
    elif choice == 1:
        alt = head + "/"
    else:
        alt = head.replace("/", "//", 1)
    c.same_as = alt + tail
    c.what = f"path: same as {c.same_as[:80]}"
    return True


def mut_path_odd(c, keys, need):
    p = c.path()
    cut = p.find("?")
    head, tail = (p, "") if cut < 0 else (p[:cut], p[cut:])
    odd = [head + "/..", head + "/../x", head + "/extra", head + "/" + "y" * 4000, "/api/v1/" + "a/" * 300,
           "/API/V1/dags", "/%00/api/v1/dags", "/api/v1/dags/%2e%2e/d1"]
    if head.startswith("/api/v1/"):
        odd += ["/api/v2/" + head[8:], head.replace("/api/", "/api/./", 1)]
    c.raw_path = rng.choice(odd) + tail
    c.what = f"path: odd {c.raw_path[:60]!r}"
    c.must_reject, c.names = {400, 404, 405}, None
    return True


def int_params(segs):
    """The integer query parameters a route reads."""
    if segs[-1] in ("grid", "audit") and segs[:2] == ["api", "v1"]:
        return ["limit", "cursor"]
    if segs[-1] == "runs" and len(segs) == 5:
        return ["limit", "offset", "cursor"]
    if len(segs) == 4 and segs[2] == "analytics":
        return ["limit"]
    return []


def mut_query(c, keys, need):
    if c.method != "GET":
        return False
    names = [k for k, v in c.query] or ["limit"]
    k = rng.choice(names)
    choice = rng.randrange(6)
    if choice == 0:
        k = rng.choice(int_params(c.segs) or ["limit"])
        v = rng.choice(["-1", "abc", "1.5", "", "99999999999999999999", "9223372036854775808", "0",
                        "1e3", "0x10", "%2D5", "5%00", "%FF", "0" * 300 + "x", "-9223372036854775809",
                        "100000", "5%20", "%09", "5;6"])
        c.query = [(kk, vv) for kk, vv in c.query if kk != k] + [(k, v)]
        rng.shuffle(c.query)
        c.what = f"query: {k}={v[:20]}"
        valid = {"cursor": ("-1", "%2D5", "0", "100000"), "offset": ("0", "100000")}.get(k, ())
        if k in int_params(c.segs) and v not in valid:
            c.must_reject, c.names = {400}, k
    elif choice == 1:
        c.query.append((k, rng.choice(["abc", "-5", "1", ""])))
        c.what = f"query: {k} repeated"
        c.names = k
    elif choice == 2:
        c.query = [(kk, vv) for kk, vv in c.query if kk != k] + [(k, "")]
        c.what = f"query: {k} empty"
        c.names = k
    elif choice == 3:
        c.query.append((k, rng.choice(["%", "%z", "%zz", "%0", "%00"])))
        c.query = c.query[-1:] + c.query[:-1]
        c.what = f"query: {k} malformed escape"
        c.must_reject, c.names = {400}, k
    elif choice == 4:
        c.query.append((rng.choice(["state", "dag_id", "follow", "x", ""]), rng.choice(
            ["bogus", "%E2%82%AC", "a+b", "%2B", "x" * 3000, None])))
        c.what = "query: another parameter"
        c.names = "state" if c.query[-1][0] == "state" and c.segs[-1] == "runs" else None
    else:
        c.query = [(kk, None) for kk, vv in c.query]
        c.what = "query: keys without values"
    return True


def mut_method(c, keys, need):
    c.method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD", "TRACE"])
    c.what = f"method: {c.method}"
    return True


def mut_content_type(c, keys, need):
    if c.method in ("GET", "HEAD"):
        return False
    ct = rng.choice(["text/plain", None, "application/jsonx", "application/x-www-form-urlencoded",
                     "multipart/form-data; boundary=x", "json", "application/json-patch+json", ""])
    c.headers["Content-Type"] = ct
    c.what = f"header: Content-Type {ct!r}"
    if c.server is local or c.data() is not None:
        c.must_reject, c.names = {415}, "application/json"
    if c.segs[-1] == "logout" and c.server is auth:
        c.must_reject = None
    return True


def mut_auth(c, keys, need):
    c.server = auth
    c.cred = rng.choice(["none", "Bearer sta_" + "0" * 64, "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=",
                         "Bearer  " + TOKEN["admin"], "Bearer " + TOKEN["admin"][:-1],
                         "Bearer " + TOKEN["admin"] + "x", "Bearer " + "A" * 8000, "Token " + TOKEN["admin"],
                         "Bearer " + TOKEN["admin"].upper(), "Cookie: sta_session=", "Cookie: sta_session",
                         "Cookie: sta_session=" + "x" * 5000, "Cookie: sta_session=a; sta_session=b",
                         "Cookie: =; ;", "Cookie: " + SESSION + "x", "Cookie: " + SESSION.upper()])
    c.what = f"auth: {c.cred[:30]!r}"
    public = c.segs in (["healthz"], ["readyz"], ["api", "v1", "session"], ["api", "v1", "login"])
    if not public:
        c.must_reject, c.names = {401}, None
    return True


def mut_role(c, keys, need):
    low = {"viewer": [], "operator": ["viewer"], "admin": ["viewer", "operator", "session"]}[c.role]
    if not low:
        return False
    c.server = auth
    c.cred = rng.choice(low)
    c.what = f"auth: role {c.cred}"
    c.must_reject, c.names = {403}, None
    return True


def mut_session(c, keys, need):
    if c.method in ("GET", "HEAD") or c.role != "operator":
        return False
    c.server = auth
    c.cred = "session"
    c.headers["X-CSRF-Token"] = rng.choice([None, "", "0" * 64, CSRF[:-1], CSRF.upper(), CSRF + "0"])
    c.what = f"auth: session with CSRF token {c.headers['X-CSRF-Token']!r}"
    c.must_reject, c.names = {403}, "CSRF"
    return True


def mut_loopback_guard(c, keys, need):
    c.server = local
    choice = rng.randrange(2) if c.method not in ("GET", "HEAD") else 0
    if choice == 0:
        c.headers["Host"] = rng.choice(["evil.example", "127.0.0.1.evil.example", "localhost:80x",
                                        "[::1", "[::2]", "127.0.0.1:", "", "\u00e9",
                                        "127.0.0.1:8080:1", "localhost.", "0x7f.1"])
        c.what = f"header: Host {c.headers['Host']!r}"
        c.must_reject, c.names = {403}, "Host"
    else:
        c.headers["Origin"] = rng.choice(["http://evil.example", "null", "https://127.0.0.1",
                                          "http://localhost", ""])
        c.what = f"header: Origin {c.headers['Origin']!r}"
        c.must_reject, c.names = {403}, "Origin"
    if c.segs in (["healthz"], ["readyz"]) and c.must_reject == {403}:
        pass        # the guard comes before routing: probes too
    return True


def mut_body_escape(c, keys, need):
    """\\u escapes cJSON decodes itself: NUL, lone surrogates."""
    if not isinstance(c.body, dict) or not c.body:
        return False
    k = rng.choice(sorted(c.body))
    esc = rng.choice([b"\\u0000", b"x\\u0000y", b"\\ud800", b"\\udc00", b"\\ud800\\u0041", b"\\uDBFF\\uDFFF",
                      b"\\u00e9", b"\\/", b"\\x41", b"\\u12", b"\\"])
    v = c.body[k]
    if isinstance(v, dict):
        text = enc(dict(c.body, **{k: dict(v, note="@@")}))
    else:
        text = enc(dict(c.body, **{k: "@@"}))
    c.raw_body = text.replace(b"@@", esc)
    c.what = f"body: escape {esc.decode()} in {k}"
    if b"0000" in esc or esc in (b"\\ud800", b"\\udc00", b"\\ud800\\u0041", b"\\x41", b"\\u12", b"\\"):
        c.must_reject, c.names = {400}, "JSON"
    return True


def mut_body_trailing(c, keys, need):
    if c.body is None:
        return False
    c.raw_body = enc(c.body) + rng.choice([b"x", b"{}", b"\x00", b",", b" 1", b"\n]", b"\x00\x00{}"])
    c.what = "body: more after the object"
    c.must_reject, c.names = {400}, "JSON"
    return True


BODY_MUTATIONS = [mut_body_escape, mut_body_trailing, mut_body_type, mut_body_value, mut_body_unknown,
                  mut_body_missing, mut_body_duplicate,
                  mut_body_nesting, mut_body_truncated, mut_body_not_object, mut_body_bad_utf8,
                  mut_body_control]
OTHER_MUTATIONS = [mut_path_id, mut_path_bad_escape, mut_path_same, mut_path_odd, mut_query, mut_method,
                   mut_content_type, mut_auth, mut_role, mut_session, mut_loopback_guard]


def make_case(seed):
    c = Case(seed)
    if rng.random() < 0.3:
        c.server, c.cred = local, "local"
    keys, need = body_keys(c.method, c.segs)
    for _ in range(20):
        pool = BODY_MUTATIONS if keys and rng.random() < 0.6 else OTHER_MUTATIONS
        if rng.choice(pool)(c, keys, need):
            break
    c.data()
    return c


# ----------------------------------------------------------- checking

PROPS = {
    "5xx": "no request gets a 5xx",
    "error_body": "every 4xx is the JSON error body {error, status}",
    "json": "every JSON answer is valid UTF-8 JSON",
    "names": "errors name the field, parameter or id at fault",
    "reject": "requests that must be refused are refused with the right status",
    "state": "refused requests change no row of the state database",
    "headers": "405 has Allow, 401 has WWW-Authenticate",
    "same": "encodings of one path get the same answer",
    "alive": "the server answers /healthz after every case",
}
fails = {k: [] for k in PROPS}
counts = {k: 0 for k in PROPS}


def fail(prop, c, detail):
    fails[prop].append(f"seed {SEED} {c.describe()}\n{detail}")


def parse_json(body):
    try:
        return json.loads(body.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as e:
        return None, f"{type(e).__name__}: {e}"


def shown(s):
    """Whether the server can be expected to quote s as it is."""
    return s and s.isprintable() and len(s) < 400


def check(c):
    before = snapshot()
    try:
        s, h, b = c.send()
    except (OSError, http.client.HTTPException) as e:     # a dropped connection is a finding too
        fail("5xx", c, f"no answer: {e!r}")
        return
    after = snapshot()
    resp = f"-> {s} {h.get('content-type')} {b[:400]!r}"
    counts["5xx"] += 1
    if s >= 500:
        fail("5xx", c, resp)
    err = None
    if h.get("content-type", "").startswith("application/json") and c.method != "HEAD":
        counts["json"] += 1
        v, why = parse_json(b)
        if why is not None:
            fail("json", c, f"{why}\n{resp}")
        elif isinstance(v, dict):
            err = v.get("error")
    if 400 <= s < 500 and c.method != "HEAD":
        counts["error_body"] += 1
        v, why = parse_json(b)
        if not (isinstance(v, dict) and isinstance(v.get("error"), str) and v["error"].strip()
                and v.get("status") == s):
            fail("error_body", c, resp)
    if c.must_reject is not None:
        counts["reject"] += 1
        if s not in c.must_reject:
            fail("reject", c, f"want one of {sorted(c.must_reject)}\n{resp}")
    if s in (400, 403, 404, 415) and err is not None and c.names is not None:
        counts["names"] += 1
        generic = s == 404 and "no such resource" in err
        if not generic and shown(c.names) and c.names.lower() not in err.lower() and not (
                c.names != "JSON" and ("JSON" in err or "UTF-8" in err) and c.what.startswith("body")):
            fail("names", c, f"the error does not name {c.names[:60]!r}\n{resp}")
    if s >= 400:
        counts["state"] += 1
        if before != after:
            diff = {t: (sorted(set(before[t]) - set(after[t]))[:3], sorted(set(after[t]) - set(before[t]))[:3])
                    for t in TABLES if before[t] != after[t]}
            fail("state", c, f"{resp}\nchanged: {diff}")
    if s in (401, 405):
        counts["headers"] += 1
        want = "allow" if s == 405 else "www-authenticate"
        if not h.get(want):
            fail("headers", c, f"no {want} header\n{resp}")
    if c.same_as is not None and s < 500:
        counts["same"] += 1
        s2, h2, b2 = c.send(c.same_as)
        if s2 != s:
            fail("same", c, f"{c.same_as} -> {s2} {b2[:200]!r}\n{resp}")


# ------------------------------------------------ fixed regression cases

def fixed(what, method, path, raw=None, must=None, names=None, server=None):
    c = Case((method, path.split("?")[0].strip("/").split("/"), [], None, "admin"))
    c.raw_path, c.raw_body, c.what = path, raw, f"regression: {what}"
    c.must_reject, c.names = must, names
    if server is not None:
        c.server, c.cred = server, "local"
    return c


RUNS = "/api/v1/dags/d1/runs"
CLEAR = f"{RUNS}/{urlquote(RUN, safe='')}/clear"
# Each of these was found by this fuzzer and got a 2xx or an answer that
# was not JSON before the fix it names (web/server.c unless said).
REGRESSIONS = [
    # web_body_json: bytes that are not UTF-8 were stored, and every later
    # answer showing them (runs, audit) was no longer valid JSON
    fixed("invalid UTF-8 in conf", "POST", RUNS, b'{"conf": {"note": "\xf8\x88\x80\x80\x80"},'
          b' "logical_date": "2031-01-01"}', {400}, "UTF-8"),
    fixed("invalid UTF-8 in a token name", "POST", "/api/v1/tokens", b'{"user": "viewer1", "name": "\xc3"}',
          {400}, "UTF-8", local),
    # ... a NUL, raw or as \u0000, cut a string short: run "a" was made
    fixed("raw NUL in run_id", "POST", RUNS, b'{"run_id": "a\x00b", "logical_date": "2031-01-02"}',
          {400}, "JSON"),
    fixed("\\u0000 in run_id", "POST", RUNS, b'{"run_id": "x\\u0000y", "logical_date": "2031-01-03"}',
          {400}, "JSON"),
    fixed("\\u0000 in a user name", "POST", "/api/v1/users",
          b'{"name": "fz-nul\\u0000x", "role": "viewer", "password": "a fine password"}', {400}, "JSON"),
    fixed("raw control character in a token name", "POST", "/api/v1/tokens",
          b'{"user": "viewer1", "name": "a\x01b"}', {400}, "JSON", local),
    # ... data after the object was ignored: the first object was applied
    fixed("data after the object", "PATCH", "/api/v1/dags/d1", b'{"is_paused": true} x', {400}, "JSON"),
    fixed("two objects", "PATCH", "/api/v1/dags/d1", b'{"is_paused": true}{"is_paused": false}', {400},
          "JSON", local),
    # ... a field given twice: the first was used, a proxy may read the last
    fixed("run_id given twice", "POST", RUNS, b'{"run_id": "dup1", "run_id": "dup2",'
          b' "logical_date": "2031-01-04"}', {400}, "run_id"),
    fixed("user given twice", "POST", "/api/v1/tokens", b'{"user": "viewer1", "user": "admin1"}', {400},
          "user"),
    # ... unknown fields were ignored by all but trigger: a misspelt
    # "downstream" cleared only the task itself
    fixed("misspelt field in clear", "POST", CLEAR, b'{"task_ids": ["a"], "downstrem": true}', {400},
          "downstrem"),
    fixed("unknown field in mark", "PATCH", f"{RUNS}/{urlquote(RUN, safe='')}/tasks/b",
          b'{"state": "success", "note": "x"}', {400}, "note", local),
    fixed("unknown field in pause", "PATCH", "/api/v1/dags/d1", b'{"is_paused": true, "dag": "d2"}', {400},
          "dag"),
    fixed("unknown field in a new user", "POST", "/api/v1/users",
          b'{"name": "fz-r", "role": "viewer", "password": "a fine password", "rol": "admin"}', {400}, "rol"),
    fixed("unknown field in a token", "POST", "/api/v1/tokens", b'{"user": "viewer1", "expires": 1}', {400},
          "expires"),
    fixed("unknown field in a login", "POST", "/api/v1/login",
          b'{"username": "viewer1", "password": "x", "remember": true}', {400}, "remember"),
    # web_reply_error: an id from the path quoted in an error as sent
    # made the error body invalid JSON
    fixed("invalid UTF-8 DAG id", "GET", "/api/v1/dags/%FF", None, {404}),
    fixed("invalid UTF-8 user name", "DELETE", "/api/v1/users/%C3%28", None, {404}, None, local),
    fixed("invalid UTF-8 run id", "GET", f"{RUNS}/%ED%A0%80/tasks/a", None, {404}),
    # what the requests above must not have left behind
    fixed("the audit log is JSON", "GET", "/api/v1/audit?limit=1000"),
    fixed("the runs are JSON", "GET", f"{RUNS}?limit=1000"),
    fixed("the tokens are JSON", "GET", "/api/v1/tokens"),
]

# ------------------------------------------------------------- run

t0 = time.time()
for c in REGRESSIONS:
    check(c)
n_cases = 0
for i in range(CASES):
    pool = rare_seeds() if rng.random() < 0.03 else seeds()
    c = make_case(rng.choice(pool))
    check(c)
    n_cases += 1
    if i % 100 == 99:
        counts["alive"] += 2
        for srv in (auth, local):
            if not srv.alive():
                fail("alive", c, f"server on port {srv.port} does not answer /healthz after this case")
    if sum(map(len, fails.values())) > 200:
        break
print(f"# {n_cases} cases and {len(REGRESSIONS)} regression cases in {time.time() - t0:.1f} s")

for k, desc in PROPS.items():
    ok(not fails[k] and (counts[k] > 0 or CASES == 0), f"{desc} ({counts[k]} checked)",
       f"{len(fails[k])} failing cases; the first ones follow" if fails[k] else "no case checked this")
    for f in fails[k][:10]:
        print("#   ---")
        for line in f.splitlines()[:12]:
            print(f"#   {line}")
bad = sorted({f.split(": ", 2)[1] for k in fails for f in fails[k] if " regression: " in f.split("\n")[0]})
ok(not bad, f"the {len(REGRESSIONS)} regression cases hold", "\n".join(bad))
ok(auth.alive() and local.alive(), "both servers answer /healthz at the end")
ok(auth.proc.poll() is None and local.proc.poll() is None, "both server processes are alive")
is_(stop(auth), 0, "the server with logins stops cleanly")
is_(stop(local), 0, "the loopback server stops cleanly")
done()
