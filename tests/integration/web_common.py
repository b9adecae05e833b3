# web_common.py: what the web tests share: TAP output, a private STA_HOME
# and DAG folder, starting `sta web` or `sta scheduler --web` on a free
# port, and plain HTTP requests (http.client, so paths are sent exactly
# as written).  Expected values in the tests come from the sqlite3 module
# reading the state database, from hashlib, or from what the test wrote.
import atexit
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

STA = os.environ["STA"]
SRC = os.environ.get("STA_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
T = tempfile.mkdtemp(prefix="sta-web-")
HOME = os.path.join(T, "home")
DAGS = os.path.join(T, "dags")
os.makedirs(DAGS)
ENV = dict(os.environ, STA_HOME=HOME, STA_DAGS_FOLDER=DAGS)
ENV.pop("STA_ANALYTICS_DB", None)

n = failed = 0
procs = []


def ok(cond, desc, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {desc}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:30]:
            print(f"#   {line}")
    sys.stdout.flush()
    return cond


def is_(got, want, desc):
    return ok(got == want, desc, f"got:  {got!r}\nwant: {want!r}")


def done():
    # Servers built with sanitizers report to their stderr: any report fails.
    reports = []
    for name in sorted(os.listdir(T)):
        if name.endswith(".log"):
            text = open(os.path.join(T, name), errors="replace").read()
            if "runtime error:" in text or "Sanitizer" in text:
                reports.append(f"{name}: " + text[text.find("ERROR") if "ERROR" in text else 0:][:2000])
    ok(not reports, "no sanitizer reports from the servers", "\n".join(reports))
    print(f"1..{n}")
    sys.exit(1 if failed else 0)


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    if failed == 0:
        shutil.rmtree(T, ignore_errors=True)
    else:
        print(f"# kept {T}")


atexit.register(cleanup)


def dag(name, text):
    with open(os.path.join(DAGS, name + ".yaml"), "w") as f:
        f.write(text)


def sta(*args, stdin=None, env=None):
    return subprocess.run([STA, *args], input=stdin, capture_output=True, text=True,
                          env=dict(ENV, **(env or {})), cwd=T)


def db():
    """A connection of our own to the state database (read-only use)."""
    c = sqlite3.connect(os.path.join(HOME, "sta.db"), timeout=10)
    c.row_factory = sqlite3.Row
    return c


def q(sql, *args):
    with db() as c:
        return [tuple(r) for r in c.execute(sql, args).fetchall()]


def wait_for(pred, limit=60.0):
    """Polls pred every 0.1 s; an upper bound against hangs, not a timing assertion."""
    end = time.time() + limit
    while time.time() < end:
        try:
            if pred():
                return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


class Server:
    def __init__(self, proc, port):
        self.proc, self.port = proc, port

    def request(self, method, path, body=None, headers=None, raw=None):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        # A Host given in headers replaces the one http.client would send.
        c.putrequest(method, path, skip_accept_encoding=True, skip_host="Host" in h)
        for k, v in h.items():
            c.putheader(k, v)
        if data is not None and "Transfer-Encoding" not in h:
            c.putheader("Content-Length", str(len(data)))
        c.endheaders()
        if data is not None:
            c.send(data)
        r = c.getresponse()
        out = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        c.close()
        return r.status, {k: ", ".join(v) if k != "set-cookie" else v for k, v in hdrs.items()}, out

    def json(self, method, path, body=None, headers=None, raw=None):
        s, h, b = self.request(method, path, body, headers, raw)
        try:
            return s, json.loads(b) if b else None
        except ValueError:
            return s, b.decode(errors="replace")

    def get(self, path, headers=None):
        return self.json("GET", path, headers=headers)

    def alive(self):
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False


def start(*args, env=None):
    """Starts sta with args (a web server) and waits for its URL line."""
    p = subprocess.Popen([STA, *args], stdout=subprocess.PIPE, stderr=open(os.path.join(
        T, f"server{len(procs)}.log"), "w"), text=True, env=dict(ENV, **(env or {})), cwd=T)
    procs.append(p)
    line = p.stdout.readline()
    if "http://" not in line:
        raise RuntimeError(f"sta {' '.join(args)} did not start: {line!r}, see {T}")
    port = int(line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    return Server(p, port)


def stop(server):
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
    return server.proc.returncode


def raw_socket(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    return s


def quote(s):
    from urllib.parse import quote as qu
    return qu(s, safe="")
