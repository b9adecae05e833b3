#!/usr/bin/env python3
# web_auth.py: authentication and roles.  Every endpoint is asked with no
# credentials, a bad token, and the tokens of a viewer, an operator and an
# admin: 401 / 403 / success exactly as the role table says.  Sessions
# from the JSON login and from the HTML form (with its CSRF token), CSRF
# on cookie writes, logout, revoked tokens and removed users; the database
# keeps only Argon2id hashes and SHA-256 of tokens and sessions; a
# non-loopback address needs credentials without being told to.
# Prints TAP.
import hashlib
import http.client
import json
import os
import re
import sys
import threading
import time
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_common import HOME, T, dag, done, is_, ok, q, quote, sta, start, stop, wait_for  # noqa: E402

dag("d1", """dag_id: d1
schedule: null
tasks:
  a:
    command: [sh, -c, 'echo from a']
  b:
    command: ['true']
    depends_on: [a]
""")
r = sta("dags", "test", "d1", "2024-03-01")
is_(r.returncode, 0, "a finished run to look at")
RUN = quote("test__2024-03-01T00:00:00+00:00")

ROLES = ["viewer", "operator", "admin"]
PW = {role: f"pw-{role}-correct horse" for role in ROLES}
TOKEN, TOKEN_ID = {}, {}
for role in ROLES:
    r = sta("users", "add", f"{role}1", "--role", role, stdin=PW[role] + "\n")
    is_(r.returncode, 0, f"sta users add {role}1")
    r = sta("--json", "tokens", "create", f"{role}1", "--name", "tests")
    t = json.loads(r.stdout)
    TOKEN[role], TOKEN_ID[role] = t["token"], t["id"]
    ok(t["token"].startswith("sta_") and len(t["token"]) == 68, f"a token for {role}1", t)

r = sta("users", "add", "x", "--role", "superuser", stdin="long enough pw\n")
is_(r.returncode, 64, "an unknown role is a usage error")
r = sta("users", "add", "x", "--role", "viewer", stdin="short\n")
is_(r.returncode, 65, "a short password is refused")
r = sta("users", "add", "viewer1", "--role", "viewer", stdin="long enough pw\n")
ok(r.returncode == 65 and "exists" in r.stderr, "a second user of one name is refused", r.stderr)
r = sta("--json", "users", "list")
is_(sorted((u["name"], u["role"]) for u in json.loads(r.stdout)),
    [("admin1", "admin"), ("operator1", "operator"), ("viewer1", "viewer")], "sta users list")

# ------------------------------------------------------ what is stored

hashes = dict(q("select username, password_hash from users"))
ok(all(h.startswith("$argon2id$") for h in hashes.values()), "passwords are Argon2id hashes")
is_(sorted(r[0] for r in q("select token_sha256 from api_tokens")),
    sorted(hashlib.sha256(t.encode()).hexdigest() for t in TOKEN.values()),
    "tokens are stored as their SHA-256")


def db_bytes():
    out = b""
    for f in ("sta.db", "sta.db-wal"):
        p = os.path.join(HOME, f)
        if os.path.exists(p):
            out += open(p, "rb").read()
    return out


blob = db_bytes()
ok(not any(t.encode() in blob for t in TOKEN.values()), "no token is in the database files")
ok(not any(p.encode() in blob for p in PW.values()), "no password is in the database files")
r = sta("tokens", "list")
ok(r.returncode == 0 and "viewer1" in r.stdout and TOKEN["viewer"] not in r.stdout,
   "sta tokens list shows owners, never tokens", r.stdout)

srv = start("web", "--bind", "127.0.0.1:0", "--require-auth")


def bearer(role):
    return {"Authorization": "Bearer " + TOKEN[role]}


# ------------------------------------------------------ the role matrix

LEVEL = {"viewer": 1, "operator": 2, "admin": 3}
created_token = {}


def token_delete_path(role):
    return f"/api/v1/tokens/{created_token.get(role, 999999)}"


# (method, path or f(role), body or f(role), lowest role, status it gets)
MATRIX = [
    ("GET", "/metrics", None, "viewer", 200),
    ("GET", "/api/v1/dags", None, "viewer", 200),
    ("GET", "/api/v1/dags/d1", None, "viewer", 200),
    ("GET", "/api/v1/dags/d1/grid", None, "viewer", 200),
    ("GET", "/api/v1/dags/d1/runs", None, "viewer", 200),
    ("GET", f"/api/v1/dags/d1/runs/{RUN}", None, "viewer", 200),
    ("GET", f"/api/v1/dags/d1/runs/{RUN}/tasks/a", None, "viewer", 200),
    ("GET", f"/api/v1/dags/d1/runs/{RUN}/tasks/a/tries/1/log", None, "viewer", 200),
    ("GET", "/api/v1/pools", None, "viewer", 200),
    ("GET", "/api/v1/variables", None, "viewer", 200),
    ("GET", "/api/v1/audit", None, "viewer", 200),
    ("GET", "/api/v1/analytics", None, "viewer", 200),
    ("GET", "/api/v1/analytics/aggregate_metrics_by_day", None, "viewer", 200),
    ("PATCH", "/api/v1/dags/d1", {"is_paused": False}, "operator", 200),
    ("POST", "/api/v1/dags/d1/runs", lambda role: {"logical_date": f"2024-04-0{LEVEL[role]}"},
     "operator", 201),
    ("POST", f"/api/v1/dags/d1/runs/{RUN}/clear", {"task_ids": ["b"]}, "operator", 200),
    ("PATCH", f"/api/v1/dags/d1/runs/{RUN}/tasks/b", {"state": "success"}, "operator", 200),
    ("GET", "/api/v1/users", None, "admin", 200),
    ("POST", "/api/v1/users", lambda role: {"name": f"new-{role}", "role": "viewer",
                                            "password": "a fine password"}, "admin", 201),
    ("DELETE", lambda role: f"/api/v1/users/new-{role}", None, "admin", 204),
    ("GET", "/api/v1/tokens", None, "admin", 200),
    ("POST", "/api/v1/tokens", {"user": "viewer1", "name": "made by the API"}, "admin", 201),
    ("DELETE", token_delete_path, None, "admin", 204),
    ("POST", "/api/v1/logout", None, "viewer", 200),
]

for method, path, body, lowest, good in MATRIX:
    p0 = path(lowest) if callable(path) else path
    s, h, b = srv.request(method, p0, body=body(lowest) if callable(body) else body)
    ok(s == 401 and "bearer" in h.get("www-authenticate", "").lower(),
       f"{method} {p0} without credentials: 401 asking for a token", (s, b[:200]))
    s, h, b = srv.request(method, p0, body=body(lowest) if callable(body) else body,
                          headers={"Authorization": "Bearer sta_" + "0" * 64})
    is_(s, 401, f"{method} {p0} with a made-up token: 401")
    for role in ROLES:
        p = path(role) if callable(path) else path
        bd = body(role) if callable(body) else body
        s, h, b = srv.request(method, p, body=bd, headers=bearer(role))
        want = good if LEVEL[role] >= LEVEL[lowest] else 403
        is_(s, want, f"{method} {p} as {role}: {want}")
        if method == "POST" and p == "/api/v1/tokens" and s == 201:
            created_token[role] = json.loads(b)["id"]

is_(q("select distinct actor from audit_log where actor like 'api:%'"
      " order by actor"), [("api:admin1",), ("api:operator1",)],
    "API actions are audited with the user who did them")

# ---------------------------------------------------------------- pages

for path in ["/", "/static/app.js"]:
    s, h, b = srv.request("GET", path)
    is_((s, h.get("location")), (303, "/login"), f"GET {path} without credentials goes to /login")
    s, h, b = srv.request("GET", path, headers=bearer("viewer"))
    is_(s, 200, f"GET {path} with a token")
s, h, b = srv.request("GET", "/static/style.css")
is_(s, 200, "the login page's stylesheet needs no login")
for path in ["/healthz", "/readyz"]:
    is_(srv.request("GET", path)[0], 200, f"{path} needs no login (probes)")
s, d = srv.get("/api/v1/session")
is_((s, d["auth_required"]), (401, True), "the session endpoint says a login is needed")

# ------------------------------------------------------- JSON sessions


def cookie_of(h, name):
    for c in h.get("set-cookie", []):
        if c.startswith(name + "="):
            return c
    return None


s, d = srv.json("POST", "/api/v1/login", {"username": "operator1", "password": "wrong password"})
is_((s, d.get("error")), (401, "wrong user name or password"), "a wrong password: 401")
s, d = srv.json("POST", "/api/v1/login", {"username": "nobody", "password": "wrong password"})
is_((s, d.get("error")), (401, "wrong user name or password"), "an unknown user: the same 401")
FORGED = "x\n2026-01-01 INFO web: admin1 logged in"
s, d = srv.json("POST", "/api/v1/login", {"username": FORGED, "password": "wrong password"})
is_(s, 401, "a user name with a newline: 401")
LOG0 = os.path.join(T, "server0.log")
ok(wait_for(lambda: f"failed login for (invalid name, {len(FORGED)} bytes)" in open(LOG0).read()),
   "the failed login is logged without the invalid name, by its length", open(LOG0).read()[-2000:])
log0 = open(LOG0).read()
ok("INFO web: admin1 logged in" not in log0 and "failed login for 'nobody'" in log0,
   "... so it forges no line; a valid unknown name is logged as sent", log0[-2000:])
s, d = srv.json("POST", "/api/v1/login", raw=json.dumps({"username": "operator1",
                "password": PW["operator"]}).encode(), headers={"Content-Type": "text/plain"})
is_(s, 415, "a login posted as text/plain (a cross-site form could) is refused")
s, h, b = srv.request("POST", "/api/v1/login", {"username": "operator1", "password": PW["operator"]})
d = json.loads(b)
c = cookie_of(h, "sta_session")
is_((s, d["user"], d["role"]), (200, "operator1", "operator"), "the JSON login works")
ok(c is not None and "HttpOnly" in c and "SameSite=Strict" in c and "Path=/" in c,
   "the session cookie is HttpOnly and SameSite=Strict", c)
ok("Secure" not in c, "on loopback (plain HTTP) it is not Secure", c)
sid = c.split(";", 1)[0].split("=", 1)[1]
is_(q("select count(*) from sessions where id_sha256 = ?", hashlib.sha256(sid.encode()).hexdigest()),
    [(1,)], "the session is stored as its SHA-256")
ok(sid.encode() not in db_bytes(), "the session id itself is not stored")
CK = {"Cookie": "sta_session=" + sid}
csrf = d["csrf_token"]
is_(srv.request("GET", "/api/v1/dags", headers=CK)[0], 200, "the cookie authenticates reads")
is_(srv.get("/api/v1/session", headers=CK)[1]["csrf_token"], csrf, "the session endpoint gives its CSRF token")
s, d = srv.json("PATCH", "/api/v1/dags/d1", {"is_paused": True}, headers=CK)
ok(s == 403 and "CSRF" in d["error"], "a cookie write without the CSRF token: 403", d)
s, d = srv.json("PATCH", "/api/v1/dags/d1", {"is_paused": True}, headers=dict(CK, **{"X-CSRF-Token": "0" * 64}))
is_(s, 403, "a cookie write with a wrong CSRF token: 403")
is_(q("select is_paused from dags where dag_id = 'd1'"), [(0,)], "neither changed anything")
s, d = srv.json("PATCH", "/api/v1/dags/d1", {"is_paused": True}, headers=dict(CK, **{"X-CSRF-Token": csrf}))
is_(s, 200, "with the CSRF token the write goes through")
is_(q("select actor from audit_log where action = 'pause'"), [("api:operator1",)], "audited as the session's user")
s, h, b = srv.request("POST", "/api/v1/logout", headers=dict(CK, **{"X-CSRF-Token": csrf}))
ok(s == 200 and "Max-Age=0" in (cookie_of(h, "sta_session") or ""), "logout clears the cookie")
is_(q("select count(*) from sessions"), [(0,)], "and ends the session in the store")
is_(srv.request("GET", "/api/v1/dags", headers=CK)[0], 401, "the old cookie no longer works")

s, h, b = srv.request("POST", "/api/v1/login", {"username": "viewer1", "password": PW["viewer"]})
vck = {"Cookie": "sta_session=" + cookie_of(h, "sta_session").split(";", 1)[0].split("=", 1)[1],
       "X-CSRF-Token": json.loads(b)["csrf_token"]}
is_(srv.request("PATCH", "/api/v1/dags/d1", {"is_paused": False}, headers=vck)[0], 403,
    "a viewer's session cannot write, CSRF token or not")

# --------------------------------------------------- the HTML login form

s, h, b = srv.request("GET", "/login")
page = b.decode()
m = re.search(r'name="csrf" value="([0-9a-f]{32})"', page)
lc = cookie_of(h, "sta_login_csrf")
ok(s == 200 and m and lc and m.group(1) in lc and "HttpOnly" in lc, "the login form carries a CSRF token", page[:300])
form_csrf = m.group(1)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post_form(fields, cookie=True):
    hdr = dict(FORM, **({"Cookie": "sta_login_csrf=" + form_csrf} if cookie else {}))
    return srv.request("POST", "/login", raw=urlencode(fields).encode(), headers=hdr)


s, h, b = post_form({"username": "admin1", "password": PW["admin"], "csrf": form_csrf}, cookie=False)
is_(s, 403, "a form post without the CSRF cookie: 403")
s, h, b = post_form({"username": "admin1", "password": PW["admin"], "csrf": "f" * 32})
is_(s, 403, "a form post whose token differs from the cookie: 403")
s, h, b = post_form({"username": "admin1", "password": "not it", "csrf": form_csrf})
is_((s, h.get("location")), (303, "/login?error=1"), "a wrong password goes back to the form")
s, h, b = post_form({"username": "admin1", "password": PW["admin"], "csrf": form_csrf})
c = cookie_of(h, "sta_session")
ok(s == 303 and h.get("location") == "/" and c and "HttpOnly" in c, "the form logs in and goes to /", (s, h))
s, d = srv.get("/api/v1/session", headers={"Cookie": c.split(";", 1)[0]})
is_((s, d["user"], d["role"]), (200, "admin1", "admin"), "the form's session is admin1's")

# ------------------------------------------ logins run beside other work

results = []


def login():
    results.append(srv.request("POST", "/api/v1/login", {"username": "admin1", "password": PW["admin"]})[0])


threads = [threading.Thread(target=login) for _ in range(4)]
for t in threads:
    t.start()
others = [srv.request("GET", "/api/v1/dags", headers=bearer("viewer"))[0] for _ in range(10)]
# /metrics runs in a worker thread too: logins have their own pool
others.append(srv.request("GET", "/metrics", headers=bearer("viewer"))[0])
for t in threads:
    t.join()
is_((sorted(results), others), ([200] * 4, [200] * 11),
    "four logins at once, and reads and /metrics meanwhile, all answered")

# After 5 failed logins in a row an address waits (1 s, doubling), then a
# right password works again.
fails = [srv.json("POST", "/api/v1/login", {"username": "admin1", "password": "no"})[0] for _ in range(5)]
s, h, b = srv.request("POST", "/api/v1/login", {"username": "admin1", "password": PW["admin"]})
is_((fails, s, h.get("retry-after")), ([401] * 5, 429, "1"),
    "5 failed logins from one address: the next is refused with 429 and Retry-After")
time.sleep(1.2)
is_(srv.request("POST", "/api/v1/login", {"username": "admin1", "password": PW["admin"]})[0], 200,
    "after the wait the right password logs in (and clears the count)")
is_(srv.json("POST", "/api/v1/login", {"username": "admin1", "password": "no"})[0], 401,
    "... so the next failure is an ordinary 401")

# -------------------------------------------- revoked tokens, removed users

r = sta("tokens", "revoke", str(TOKEN_ID["operator"]))
is_(r.returncode, 0, "sta tokens revoke")
is_(srv.request("GET", "/api/v1/dags", headers=bearer("operator"))[0], 401, "a revoked token gets 401")
r = sta("tokens", "revoke", "999999")
is_(r.returncode, 65, "revoking an unknown token is an error")
r = sta("users", "remove", "viewer1")
is_(r.returncode, 0, "sta users remove")
is_(srv.request("GET", "/api/v1/dags", headers=bearer("viewer"))[0], 401, "a removed user's token gets 401")
is_(srv.request("GET", "/api/v1/dags", headers={"Cookie": vck["Cookie"]})[0], 401,
    "a removed user's session gets 401")
is_(q("select action from audit_log where actor like 'cli:%' and (action like 'user_%'"
      " or action like 'token_%') order by id"),
    [("user_add",), ("token_create",)] * 3 + [("token_revoke",), ("user_remove",)],
    "user and token changes from the CLI are audited")
is_(q("select actor, action, detail from audit_log where actor like 'api:%' and (action like 'user_%'"
      " or action like 'token_%') order by id"),
    [("api:admin1", "user_add", '{"user":"new-admin","role":"viewer"}'),
     ("api:admin1", "user_remove", '{"user":"new-admin"}'),
     ("api:admin1", "token_create", json.dumps({"id": created_token["admin"], "user": "viewer1",
                                                "name": "made by the API"}, separators=(",", ":"))),
     ("api:admin1", "token_revoke", json.dumps({"token_id": created_token["admin"]},
                                               separators=(",", ":")))],
    "user and token changes through the API are audited, with no token in them")
is_(stop(srv), 0, "sta web stops cleanly")

# ---------------------------------------- a public address needs a login

pub = start("web", "--bind", "0.0.0.0:0")
s, h, b = pub.request("GET", "/api/v1/dags")
is_(s, 401, "bound to 0.0.0.0, requests need credentials without --require-auth")
is_(pub.request("GET", "/api/v1/dags", headers=bearer("admin"))[0], 200, "and a token opens it")
s, h, b = pub.request("POST", "/api/v1/login", {"username": "admin1", "password": PW["admin"]})
c = cookie_of(h, "sta_session")
ok(s == 200 and c is not None and "; Secure" in c,
   "off loopback the session cookie is Secure (an HTTPS proxy is in front)", (s, c))
s, h, b = pub.request("GET", "/login")
c = cookie_of(h, "sta_login_csrf") or ""
ok(s == 200 and "; Secure" in c, "... and so is the login form's CSRF cookie", (s, h.get("set-cookie")))
s, h, b = pub.request("GET", "/api/v1/dags", headers=dict(bearer("admin"), Host="sta.example.com"))
is_(s, 200, "with a login required, the Host is not checked (a proxy may name any)")
is_(stop(pub), 0, "and it stops cleanly")
done()
