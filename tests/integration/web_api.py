#!/usr/bin/env python3
# web_api.py: every REST endpoint of `sta web` on loopback (no login):
# answers match the state database read with our own sqlite3 connection;
# trigger, clear, mark and pause change the store and are audited as
# api:local; runs and the grid page by cursor and by offset; a log follows
# a running try and ends when it ends; secret variables never appear;
# analytics rows come from a seeded analytical store; bad input gets a
# clear 4xx.  Prints TAP.
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_common import (ENV, HOME, SRC, STA, T, dag, done, is_, ok, procs, q, quote, start,  # noqa: E402
                        sta, stop, wait_for)

SECRET = "s3cr3t-Value-42"
GO = os.path.join(T, "go")

dag("fan", """dag_id: fan
schedule: null
params: {greeting: hello}
tasks:
  start:
    command: [sh, -c, 'echo starting; echo "STA_RESULT {\\"rows\\": 42}"']
  a:
    command: [sh, -c, 'echo a']
    depends_on: [start]
  b:
    command: [sh, -c, 'echo b']
    depends_on: [start]
  leak:
    command: [sh, -c, 'echo "key=$1 and again $1."', x, '{{ var.value.api_key }}']
    depends_on: [start]
  join:
    command: ['true']
    depends_on: [a, b, leak]
""")
dag("daily", """dag_id: daily
schedule: "@daily"
start_date: 2024-01-01
catchup: false
tasks:
  only:
    command: ['true']
""")
dag("slow", f"""dag_id: slow
schedule: null
tasks:
  wait:
    command: [sh, -c, 'echo first; printf %.7s "$1"; while [ ! -e {GO} ]; do sleep 0.1; done;
      printf "%s\\n" "${{1#???????}}"; echo second', x, '{{{{ var.value.api_key }}}}']
""")

sta("variables", "set", "api_key", SECRET, "--secret")
sta("variables", "set", "region", "eu-west-1")
r = sta("dags", "test", "fan", "2024-03-01")
is_(r.returncode, 0, "a finished run exists before the server starts (sta dags test)")
RUN = "test__2024-03-01T00:00:00+00:00"

srv = start("web", "--bind", "127.0.0.1:0")
get = srv.get
api = srv.json

# ----------------------------------------------------------------- health

s, h, b = srv.request("GET", "/healthz")
is_((s, b), (200, b"ok\n"), "/healthz answers ok")
s, h, b = srv.request("GET", "/readyz")
is_((s, b), (200, b"ready\n"), "/readyz is ready with a store and a DAG folder")

# ------------------------------------------------------------------- DAGs

s, d = get("/api/v1/dags")
is_(s, 200, "GET /api/v1/dags")
is_(sorted(x["dag_id"] for x in d["dags"]), ["daily", "fan", "slow"], "every DAG file is listed")
fan = next(x for x in d["dags"] if x["dag_id"] == "fan")
is_((fan["last_run"]["run_id"], fan["last_run"]["state"], fan["last_run"]["logical_date"]),
    (RUN, "success", "2024-03-01T00:00:00+00:00"), "fan's last run is the tested run")
is_(fan["next_run"], None, "a manual-only DAG has no next run")
daily = next(x for x in d["dags"] if x["dag_id"] == "daily")
# catchup false, no runs yet: the next run is the latest complete day
now = datetime.now(timezone.utc)
today = now.replace(hour=0, minute=0, second=0, microsecond=0)
want = [(today - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00+00:00"),
        (today - timedelta(days=2)).strftime("%Y-%m-%dT00:00:00+00:00")]
ok(daily["next_run"]["logical_date"] in want, "a daily DAG's next run is the last complete day",
   daily["next_run"])
is_(daily["last_run"], None, "a DAG without runs has no last run")

s, d = get("/api/v1/dags/fan")
is_(s, 200, "GET /api/v1/dags/fan")
is_(sorted((e["source"], e["target"]) for e in d["edges"]),
    [("a", "join"), ("b", "join"), ("leak", "join"), ("start", "a"), ("start", "b"),
     ("start", "leak")], "the graph's edges are the file's depends_on")
order = d["order"]
ok(all(order.index(e["source"]) < order.index(e["target"]) for e in d["edges"]),
   "the task order is topological", order)
is_(d["params"], {"greeting": "hello"}, "params are shown")
s, d = get("/api/v1/dags/nosuch")
ok(s == 404 and "nosuch" in d["error"], "an unknown DAG is 404 and named", d)

# ------------------------------------------------------------ runs, grid

s, d = get("/api/v1/dags/fan/runs")
is_((s, [x["run_id"] for x in d["runs"]], d["total_entries"]), (200, [RUN], 1),
    "runs of fan: the tested run")
s, d = get("/api/v1/dags/fan/grid")
states = dict(q("select ti.task_id, ti.state from task_instances ti join dag_runs r"
                " on r.id = ti.run_pk where r.run_id = ?", RUN))
is_({t["task_id"]: c["state"] for t, c in zip(d["tasks"], d["runs"][0]["tis"])}, states,
    "grid cells are the store's task instance states")
s, d = get(f"/api/v1/dags/fan/runs/{quote(RUN)}")
is_((s, {t["task_id"]: t["state"] for t in d["task_instances"]}), (200, states),
    "a run with its task instances")
s, d = get(f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/start")
pid, exit_code, log_path = q("select t.handle, t.exit_code, t.log_path from task_tries t join"
                             " task_instances ti on ti.id = t.ti_pk where ti.task_id = 'start'")[0]
tr = d["tries"][0]
is_((s, tr["exit_code"], tr["result"], tr["pid"], tr["executor"]),
    (200, exit_code, {"rows": 42}, int(pid), "local"),
    "a try shows exit code, STA_RESULT, pid and executor")
ok("log_path" not in tr and log_path not in json.dumps(d), "no server path in the answer")
s, h, b = srv.request("GET", tr["log_url"])
is_((s, b), (200, open(log_path, "rb").read()), "the log of a finished try is its file")
ok(h.get("content-type", "").startswith("text/plain"), "logs are text/plain")

leak_log = q("select t.log_path from task_tries t join task_instances ti on ti.id = t.ti_pk"
             " where ti.task_id = 'leak'")[0][0]
raw = open(leak_log).read()
ok(SECRET in raw, "the task did print the secret (the file has it)")
s, h, b = srv.request("GET", f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/leak/tries/1/log")
is_((s, b.decode()), (200, raw.replace(SECRET, "***")), "the served log masks the secret value")

# ------------------------------------------------- path traversal in logs

for path in [
        f"/api/v1/dags/fan/runs/{quote('../../../../etc/passwd')}/tasks/start/tries/1/log",
        f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/{quote('../../../etc/passwd')}/tries/1/log",
        f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/start/tries/{quote('../1')}/log",
        f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/start/tries/0/log",
        f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/start/tries/2/log",
        f"/api/v1/dags/{quote('../fan')}/runs/{quote(RUN)}/tasks/start/tries/1/log",
        "/api/v1/dags/fan/runs/../../../../etc/passwd/tasks/start/tries/1/log",
        "/static/../../../../etc/passwd",
        "/static/" + quote("../../../../etc/passwd"),
        "/static/" + quote("../web.h"),
        "/static/%2e%2e%2f%2e%2e%2fconfigure.ac"]:
    s, h, b = srv.request("GET", path)
    ok(s == 404 and b"root:" not in b and b"AC_INIT" not in b, f"traversal refused: {path}", (s, b[:200]))

# ----------------------------------------------------------- trigger

s, d = api("POST", "/api/v1/dags/fan/runs", {"conf": {"greeting": "hi"}, "logical_date": "2024-04-01"})
is_((s, d["run_id"], d["state"], d["conf"]), (201, "manual__2024-04-01T00:00:00+00:00", "queued",
    {"greeting": "hi"}), "POST runs triggers a manual run with conf")
is_(q("select state, conf, run_type from dag_runs where run_id = ?", d["run_id"]),
    [("queued", '{"greeting":"hi"}', "manual")], "the run is in the store with its conf")
is_(q("select actor, action, dag_id from audit_log where run_id = ? and action = 'trigger'",
      d["run_id"]), [("api:local", "trigger", "fan")], "the trigger is audited as api:local")
s, d = api("POST", "/api/v1/dags/fan/runs", {"logical_date": "2024-04-01"})
ok(s == 409 and "already" in d["error"], "a second run for that date is 409", d)
bad = [({"conf": [1, 2]}, 400, "conf"), ({"conf": "x"}, 400, "conf"),
       ({"logical_date": "yesterday"}, 400, "logical_date"), ({"run_id": "../x"}, 400, "run_id"),
       ({"run_id": "a/b"}, 400, "run_id"), ({"color": "red"}, 400, "color"),
       ({"conf": {"n": 9007199254740993}, "logical_date": "2024-04-02"}, 400, "'n'")]
for body, want, word in bad:
    s, d = api("POST", "/api/v1/dags/fan/runs", body)
    ok(s == want and word in d["error"], f"trigger with {body} is {want} naming {word}", (s, d))
s, d = api("POST", "/api/v1/dags/fan/runs", raw=b'{"conf": {', headers={"Content-Type": "application/json"})
ok(s == 400 and "malformed" in d["error"], "malformed JSON is 400", (s, d))
s, d = api("POST", "/api/v1/dags/fan/runs", raw=b'[1]', headers={"Content-Type": "application/json"})
ok(s == 400 and "object" in d["error"], "a JSON array body is 400", (s, d))
s, d = api("POST", "/api/v1/dags/fan/runs", raw=b'{}', headers={"Content-Type": "text/plain"})
is_(s, 415, "a body that is not application/json is 415")
s, d = api("POST", "/api/v1/dags/nosuch/runs", {})
is_(s, 404, "trigger of an unknown DAG is 404")
s, d = api("POST", "/api/v1/dags/fan/runs", raw=b'\x00\xff\xfe{', headers={"Content-Type": "application/json"})
is_(s, 400, "binary garbage is 400")

# ------------------------------------------------------------ paging

for day in range(1, 8):
    s, _ = api("POST", "/api/v1/dags/fan/runs", {"logical_date": f"2024-05-0{day}"})
    assert s == 201
all_runs = [r[0] for r in q("select run_id from dag_runs where dag_id = 'fan' order by logical_date desc")]
seen, cursor, pages = [], None, 0
while True:
    s, d = get("/api/v1/dags/fan/runs?limit=3" + (f"&cursor={quote(cursor)}" if cursor else ""))
    seen += [x["run_id"] for x in d["runs"]]
    pages += 1
    cursor = d["next_cursor"]
    if cursor is None or pages > 10:
        break
is_((seen, pages), (all_runs, 3), "cursor paging walks every run once, newest first")
is_(d["total_entries"], len(all_runs), "total_entries counts the DAG's runs")
s, d = get("/api/v1/dags/fan/runs?limit=3&offset=3")
is_([x["run_id"] for x in d["runs"]], all_runs[3:6], "limit/offset gives the same second page")
s, d = get("/api/v1/dags/fan/runs?state=success")
is_([x["run_id"] for x in d["runs"]], [RUN], "runs filter by state")
for bad_q in ["limit=0", "limit=abc", "limit=100000", "offset=-1", "cursor=xyz", "state=bogus"]:
    s, d = get("/api/v1/dags/fan/runs?" + bad_q)
    is_(s, 400, f"runs?{bad_q} is 400")
seen, cursor = [], None
for _ in range(10):
    s, d = get("/api/v1/dags/fan/grid?limit=4" + (f"&cursor={quote(cursor)}" if cursor else ""))
    seen += [x["run_id"] for x in d["runs"]]
    ok(all(len(x["tis"]) == 5 for x in d["runs"]), "every grid column has a cell per task")
    cursor = d["next_cursor"]
    if cursor is None:
        break
is_(seen, all_runs, "the grid pages through every run")

# ------------------------------------------------------------ clear, mark

s, d = api("POST", f"/api/v1/dags/fan/runs/{quote(RUN)}/clear", {"task_ids": ["a"], "downstream": True})
is_((s, d["cleared"]), (200, 2), "clear a with downstream clears a and join")
is_(q("select ti.task_id, ti.state from task_instances ti join dag_runs r on r.id = ti.run_pk"
      " where r.run_id = ? and ti.state = 'none' order by ti.task_id", RUN),
    [("a", "none"), ("join", "none")], "the store has a and join cleared")
is_(q("select state from dag_runs where run_id = ?", RUN), [("queued",)], "the run is queued again")
is_(q("select count(*) from audit_log where actor = 'api:local' and action = 'clear'"), [(2,)],
    "each cleared task instance is audited")
s, d = api("POST", f"/api/v1/dags/fan/runs/{quote(RUN)}/clear", {"task_ids": ["nope"]})
ok(s == 400 and "nope" in d["error"], "clearing an unknown task is 400", d)
s, d = api("POST", f"/api/v1/dags/fan/runs/{quote('no-such-run')}/clear", {})
is_(s, 404, "clearing an unknown run is 404")
s, d = api("PATCH", f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/b", {"state": "failed"})
is_((s, d["state"]), (200, "failed"), "PATCH a task instance marks it")
is_(q("select ti.state from task_instances ti join dag_runs r on r.id = ti.run_pk where"
      " r.run_id = ? and ti.task_id = 'b'", RUN), [("failed",)], "the mark is in the store")
is_(q("select actor, task_id, detail from audit_log where action = 'mark'"),
    [("api:local", "b", '{"state":"failed"}')], "the mark is audited")
for body in [{"state": "running"}, {"state": 1}, {}, {"state": "success", "x": 1}]:
    s, d = api("PATCH", f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/b", body)
    is_(s, 400, f"mark with {body} is 400")
s, d = api("PATCH", f"/api/v1/dags/fan/runs/{quote(RUN)}/tasks/zz", {"state": "success"})
is_(s, 404, "marking an unknown task is 404")

# ------------------------------------------------------------ pause

s, d = api("PATCH", "/api/v1/dags/daily", {"is_paused": True})
is_((s, d["is_paused"]), (200, True), "PATCH a DAG pauses it")
is_(q("select is_paused from dags where dag_id = 'daily'"), [(1,)], "the store has it paused")
s, d = get("/api/v1/dags")
is_(next(x for x in d["dags"] if x["dag_id"] == "daily")["is_paused"], True, "the list shows it")
s, d = api("PATCH", "/api/v1/dags/daily", {"is_paused": False})
is_(q("select actor, action from audit_log where dag_id = 'daily' order by id"),
    [("api:local", "pause"), ("api:local", "unpause")], "pause and unpause are audited")
s, d = api("PATCH", "/api/v1/dags/daily", {"is_paused": "yes"})
is_(s, 400, "a non-boolean is_paused is 400")

# ------------------------------------------------ pools, variables, audit

s, d = get("/api/v1/pools")
is_([(p["name"], p["slots"]) for p in d["pools"]], q("select name, slots from pools order by name"),
    "pools are the store's")
s, h, b = srv.request("GET", "/api/v1/variables")
d = json.loads(b)
is_(sorted((v["key"], v["value"], v["is_secret"]) for v in d["variables"]),
    [("api_key", None, True), ("region", "eu-west-1", False)], "variables: secret values withheld")
ok(SECRET.encode() not in b, "the secret value is nowhere in the answer")
s, d = get("/api/v1/audit?limit=2")
ids = [r[0] for r in q("select id from audit_log order by id desc limit 3")]
is_([e["id"] for e in d["entries"]], ids[:2], "the audit log, newest first")
s, d = get(f"/api/v1/audit?limit=2&cursor={d['next_cursor']}")
is_(d["entries"][0]["id"], ids[2], "the audit log pages by cursor")
s, d = get("/api/v1/audit?dag_id=daily")
is_([e["action"] for e in d["entries"]], ["unpause", "pause"], "the audit log filters by DAG")

# --------------------------------------------------------------- metrics

s, h, b = srv.request("GET", "/metrics")
text = b.decode()
got = {m[0]: int(m[1]) for m in re.findall(r'^sta_dag_runs\{state="(\w+)"\} (\d+)$', text, re.M)}
want = dict(q("select state, count(*) from dag_runs group by state"))
is_({k: v for k, v in got.items() if v}, want, "/metrics counts runs by state as the store does")
got = {m[0]: int(m[1]) for m in re.findall(r'^sta_task_tries\{state="(\w+)"\} (\d+)$', text, re.M)}
is_({k: v for k, v in got.items() if v}, dict(q("select state, count(*) from task_tries group by state")),
    "/metrics counts tries by state")
for name in ["sta_queue_depth", "sta_scheduling_latency_seconds", "sta_pod_launches",
             "sta_pod_backoffs", "sta_http_responses_total"]:
    ok(re.search(f"^# TYPE {name} ", text, re.M), f"/metrics has {name}")

# ------------------------------------------------------------- analytics

s, d = get("/api/v1/analytics/aggregate_metrics_by_day")
ok(s == 200 and d["rows"] == [] and "does not exist" in d["note"],
   "analytics without an analytical store: no rows, a note", d)
s, d = get("/api/v1/analytics/sqlite_master")
is_(s, 404, "a table off the allow-list is 404")
adb = sqlite3.connect(os.path.join(HOME, "analytics.db"))
adb.execute("create table aggregate_metrics_by_day (day text primary key, blocks_cnt integer,"
            " gas_used integer, value_transferred_eth text, note text)")
rows = [("2024-01-03", 7050, 90000000, "9345.1", "c"), ("2024-01-01", 7000, 100000000, "12345.678901", "a"),
        ("2024-01-02", 7100, 120000000, "22345.5", None)]
adb.executemany("insert into aggregate_metrics_by_day values (?, ?, ?, ?, ?)", rows)
adb.commit()
adb.close()
s, d = get("/api/v1/analytics/aggregate_metrics_by_day")
is_([tuple(r.values()) for r in d["rows"]], sorted(rows), "analytics rows, ordered by day")
is_({c["name"]: c["numeric"] for c in d["columns"]},
    {"day": False, "blocks_cnt": True, "gas_used": True, "value_transferred_eth": True, "note": False},
    "numeric columns are flagged (decimal text included)")
is_(d["x"], "day", "the x column is day")
s, d = get("/api/v1/analytics/aggregate_metrics_by_day?limit=2")
is_([r["day"] for r in d["rows"]], ["2024-01-02", "2024-01-03"], "limit keeps the latest rows")
s, d = get("/api/v1/analytics/security_token_metrics_by_day")
ok(s == 200 and d["rows"] == [] and "not exist" in d["note"], "a table not computed yet: a note", d)
is_(get("/api/v1/analytics/aggregate_metrics_by_day")[1]["group"], None,
    "one row per day: no series grouping")
adb = sqlite3.connect(os.path.join(HOME, "analytics.db"))
adb.execute("create table security_token_metrics_by_day (day text, standard text, transfers integer,"
            " issued_amount text, primary key (day, standard))")
adb.executemany("insert into security_token_metrics_by_day values (?, ?, ?, ?)",
                [("2024-01-01", "ERC-1400", 3, "100"), ("2024-01-01", "ERC-3643", 5, "0"),
                 ("2024-01-02", "ERC-1400", 4, "250")])
adb.commit()
adb.close()
s, d = get("/api/v1/analytics/security_token_metrics_by_day")
is_((d["x"], d["group"], [(r["day"], r["standard"], r["transfers"]) for r in d["rows"]]),
    ("day", "standard", [("2024-01-01", "ERC-1400", 3), ("2024-01-01", "ERC-3643", 5),
                         ("2024-01-02", "ERC-1400", 4)]),
    "rows per day and standard: grouped by standard")
s, d = get("/api/v1/analytics")
is_([(t["name"], t["available"]) for t in d["tables"]],
    [("aggregate_metrics_by_day", True), ("aggregate_transaction_metrics_by_block", False),
     ("security_token_metrics_by_day", True)], "the analytics list says what exists")

# --------------------------------------------------------- HTTP errors

s, h, b = srv.request("DELETE", "/api/v1/dags/fan")
is_(s, 405, "a wrong method on a known path is 405")
is_(h.get("allow"), "GET, HEAD, PATCH", "... with an Allow header naming the path's methods")
s, h, b = srv.request("GET", "/api/v1/tokens/1")
is_((s, h.get("allow")), (405, "DELETE"), "a path with only DELETE: Allow: DELETE")
AUDIT_N = q("select count(*) from audit_log")[0][0]
s, d = get("/api/v1/audit")
ok(s == 200 and len(d["entries"]) > 1, "(the audit log has entries)", d)
s, d = get("/api/v1/audit?dag_id=%ZZ")
ok(s == 400 and "dag_id" in d["error"], "a malformed %-escape in a query value is 400 naming it,"
   " not a dropped filter", (s, d))
s, d = get("/api/v1/audit?dag_id=fan&limit=1%")
ok(s == 400 and "limit" in d["error"], "... whichever parameter it is in", (s, d))
s, d = get("/api/v1/nope")
is_(s, 404, "an unknown path is 404")
s, d = get("/api/v1/dags/%zz")
is_(s, 400, "a malformed %-escape is 400")
s, d = get("/api/v1/dags/a%00b")
is_(s, 400, "an encoded NUL is 400")
s, d = get("/api/v1/session")
is_((s, d["user"], d["role"], d["auth_required"]), (200, "local", "admin", False),
    "on loopback requests are the local admin")

# ------------------- loopback: no login, so only this machine's pages

CLEAR = f"/api/v1/dags/fan/runs/{quote(RUN)}/clear"
TOKENS_N = q("select count(*) from api_tokens")[0][0]
for host in ["evil.example", f"evil.example:{srv.port}", "127.0.0.1.evil.example",
             "localhost.evil.example", "10.0.0.1", "[::2]", "127.1", "localhost:80x"]:
    s, d = get("/api/v1/dags", headers={"Host": host})
    ok(s == 403 and "Host" in d["error"], f"Host: {host} is refused (DNS rebinding)", (s, d))
s, d = api("POST", "/api/v1/tokens", {"user": "local", "name": "x"}, headers={"Host": "evil.example"})
is_(s, 403, "a token cannot be minted through a foreign Host")
for host in ["127.0.0.1", f"127.0.0.1:{srv.port}", "127.8.9.10", f"localhost:{srv.port}",
             "LOCALHOST", f"[::1]:{srv.port}", "[::1]"]:
    is_(get("/api/v1/dags", headers={"Host": host})[0], 200, f"Host: {host} is this machine")
s, d = api("POST", CLEAR)
ok(s == 415 and "application/json" in d["error"], "a write with an empty body and no"
   " Content-Type is 415 (an HTML form could send it)", (s, d))
s, d = api("POST", CLEAR, raw=b"", headers={"Content-Type": "application/x-www-form-urlencoded"})
is_(s, 415, "a form-encoded empty write is 415")
s, d = api("DELETE", "/api/v1/tokens/999")
is_(s, 415, "a DELETE without Content-Type is 415")
s, d = api("POST", CLEAR, {}, headers={"Origin": "http://evil.example"})
ok(s == 403 and "Origin" in d["error"], "a write from another Origin is 403", (s, d))
s, d = api("POST", CLEAR, {}, headers={"Origin": f"http://localhost:{srv.port}"})
is_(s, 403, "... also from another loopback origin than the Host's")
s, d = api("PATCH", "/api/v1/dags/daily", {"is_paused": False}, headers={"Sec-Fetch-Site": "cross-site"})
is_(s, 403, "a write with Sec-Fetch-Site: cross-site is 403")
is_(q("select count(*) from audit_log")[0][0], AUDIT_N, "none of the refused writes changed anything")
is_(q("select count(*) from api_tokens")[0][0], TOKENS_N, "... and no token was minted")
s, d = api("PATCH", "/api/v1/dags/daily", {"is_paused": False},
           headers={"Origin": f"http://127.0.0.1:{srv.port}", "Sec-Fetch-Site": "same-origin"})
is_(s, 200, "a write from the server's own origin is served")
s, d = api("DELETE", "/api/v1/tokens/999", raw=b"", headers={"Content-Type": "application/json"})
is_(s, 404, "an empty write with Content-Type: application/json is served")
s, d = get("/api/v1/dags", headers={"Origin": "http://evil.example"})
is_(s, 200, "a read with a foreign Origin is served (the browser keeps the answer from that page)")

# ------------------------------------------- the OpenAPI file's paths

spec = open(os.path.join(SRC, "docs", "openapi.yaml")).read()
doc_paths = re.findall(r"^  (/\S+):$", spec, re.M)
ok(len(doc_paths) >= 20, "docs/openapi.yaml lists the paths", doc_paths)
values = {"dag_id": "fan", "run_id": quote(RUN), "task_id": "start", "try_number": "1",
          "table": "aggregate_metrics_by_day", "name": "nobody", "id": "999"}
for p in doc_paths:
    real = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], p)
    s, d = srv.json("OPTIONS", real)
    ok(s == 405, f"documented path {p} exists (a wrong method gets 405, not 404)", (s, d))

# ---------------------------------------------- a log that follows a try

sched = subprocess.Popen([STA, "scheduler", "--rescan-seconds", "1"], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(T, "scheduler.log"), "w"), env=ENV, cwd=T)
procs.append(sched)
s, d = api("POST", "/api/v1/dags/slow/runs", {})
SLOW = d["run_id"]
TRY_STATE = ("select t.state from task_tries t join task_instances ti on ti.id = t.ti_pk"
             " join dag_runs r on r.id = ti.run_pk where r.run_id = ? and ti.task_id = 'wait'")
ok(wait_for(lambda: q(TRY_STATE, SLOW) == [("running",)]),
   "the scheduler (another process) was woken and started the try")
LOG_OF = lambda run: q("select t.log_path from task_tries t join task_instances ti on ti.id = t.ti_pk"  # noqa: E731
                       " join dag_runs r on r.id = ti.run_pk where r.run_id = ?", run)[0][0]
c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
c.request("GET", f"/api/v1/dags/slow/runs/{quote(SLOW)}/tasks/wait/tries/1/log")
resp = c.getresponse()
is_((resp.status, resp.getheader("X-Sta-Try-State")), (200, "running"), "the log of a running try")
got = b""
while b"first" not in got:
    chunk = resp.read1(4096)
    if not chunk:
        break
    got += chunk
ok(b"first" in got, "the first line arrives while the try runs", got)
is_(q(TRY_STATE, SLOW), [("running",)], "... and the try is still running (waits for a file)")
ok(wait_for(lambda: SECRET[:7] in open(LOG_OF(SLOW)).read()), "the try wrote half of the secret")
open(GO, "w").close()
rest = resp.read()
c.close()
is_((got + rest).decode(), "first\n***\nsecond\n",
    "the stream follows the file to the end of the try, a secret written in halves masked")
ok(SECRET[:7].encode() not in got + rest, "no half of the secret was sent")
is_(q(TRY_STATE, SLOW), [("success",)], "the stream ended once the try had ended")
ok(srv.alive(), "the server answers after all of the above")
sched.terminate()
is_(sched.wait(), 0, "the scheduler stops cleanly")

# ------------------------- a try's result and reason are masked like logs

dag("secretres", """dag_id: secretres
schedule: null
tasks:
  res:
    command: [sh, -c, 'echo "STA_RESULT {\\"k\\": \\"$1\\", \\"$1\\": 1, \\"n\\": [\\"x$1y\\"]}"', x,
      '{{ var.value.api_key }}']
  bad:
    command: ['{{ var.value.api_key }}']
""")
sta("dags", "test", "secretres", "2024-03-01")
SR = f"/api/v1/dags/secretres/runs/{quote(RUN)}/tasks"
stored = q("select t.result, t.reason from task_tries t join task_instances ti on ti.id = t.ti_pk"
           " join dag_runs r on r.id = ti.run_pk where r.dag_id = 'secretres' order by ti.task_id")
ok(len(stored) == 2 and SECRET in (stored[0][1] or "") and SECRET in (stored[1][0] or ""),
   "(the store holds the secret in the result of res and the reason of bad)", stored)
ok(wait_for(lambda: get(f"{SR}/res")[0] == 200), "(the server has read the new DAG)")
s, d = get(f"{SR}/res")
is_((s, d["tries"][0]["result"] if s == 200 else d),
    (200, {"k": "***", "***": 1, "n": ["x***y"]}), "a try's result is shown with secrets masked")
s, d = get(f"{SR}/bad")
reason = d["tries"][0]["reason"] if s == 200 else ""
ok(s == 200 and SECRET not in reason and "***" in reason, "... and so is its reason", (s, d))
is_(stop(srv), 0, "sta web exits 0 on SIGTERM")
done()
