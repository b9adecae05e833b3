#!/usr/bin/env python3
# web_limits.py: the server's limits hold and it stays up: bodies over
# 1 MiB get 413 (declared or chunked), huge headers are refused, a slow
# client that never finishes its headers does not stop other requests and
# is dropped after the idle timeout, more connections than the limit are
# turned away, garbage requests get 4xx; after each, /healthz answers.
# Prints TAP.
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_common import dag, done, is_, ok, start, stop, wait_for  # noqa: E402

MIB = 1024 * 1024

dag("tiny", """dag_id: tiny
schedule: null
tasks:
  a:
    command: ['true']
""")
srv = start("web", "--bind", "127.0.0.1:0", env={"STA_WEB_TIMEOUT": "2"})


def raw(data, read=True):
    """Sends bytes on a new connection and returns what comes back."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    try:
        s.sendall(data)
    except OSError:
        pass        # the server may close before all is sent: read its answer
    out = b""
    while read:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def status(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


# ------------------------------------------------------------ bodies

r = raw(b"POST /api/v1/dags/tiny/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (MIB + 1))
ok(status(r) == 413 and b"larger than" in r, "a declared body of 1 MiB + 1 gets 413 at once", r[:300])
ok(srv.alive(), "the server answers afterwards")

body = b"x" * (MIB + 4096)
chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                  for i in range(0, len(body), 65536))
r = raw(b"POST /api/v1/dags/tiny/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
is_(status(r), 413, "a chunked body over 1 MiB gets 413")
ok(srv.alive(), "the server answers afterwards")

head, tail = b'{"conf": {"pad": "', b'"}}'
pad = head + b"p" * (MIB - len(head) - len(tail)) + tail
is_(len(pad), MIB, "(a JSON body of exactly 1 MiB)")
s, d = srv.json("POST", "/api/v1/dags/nosuch/runs", raw=pad, headers={"Content-Type": "application/json"})
is_(s, 404, "a body of exactly 1 MiB is read and handled (unknown DAG: 404)")

for cl in [b"-5", b"12abc", b"0x10", b""]:
    r = raw(b"POST /api/v1/dags/tiny/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/json\r\nContent-Length: " + cl + b"\r\nConnection: close\r\n\r\n{}")
    is_(status(r), 400, f"a malformed Content-Length {cl!r} gets 400, not 413")
ok(srv.alive(), "the server answers afterwards")

# ------------------------------------------------------------ headers

r = raw(b"GET /api/v1/dags HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (100 * 1024) +
        b"\r\nConnection: close\r\n\r\n")
ok(status(r) in (413, 431), "a 100 KiB header is refused (413/431)", r[:200])
r = raw(b"GET /api/v1/dags HTTP/1.1\r\nHost: x\r\n" +
        b"".join(b"X-H%d: v\r\n" % i for i in range(8000)) + b"Connection: close\r\n\r\n")
ok(status(r) in (413, 431), "8000 headers are refused (413/431)", r[:200])
ok(srv.alive(), "the server answers afterwards")

for junk in [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
             b"\x00\x01\x02\x03\r\n\r\n", b"GET /api/v1/dags HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"]:
    r = raw(junk)
    ok(r == b"" or (status(r) is not None and 400 <= status(r) < 600),
       f"garbage {junk[:20]!r} gets an error or a close", r[:200])
ok(srv.alive(), "the server answers afterwards")

# ------------------------------------------ clients that leave early

for i in range(20):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    path = b"/static/app.js" if i % 2 else b"/api/v1/dags"
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n" * 50)   # pipelined
    s.recv(10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()      # reset while answers are still being sent
ok(wait_for(srv.alive), "clients that reset mid-answer do not hurt the server (no SIGPIPE)")

# ---------------------------------------------------------- slow clients

slow = []
for i in range(10):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    s.sendall(b"GET /api/v1/dags HTTP/1.1\r\nHost: x\r\nX-Slow: ")   # never finished
    slow.append(s)
answers = [srv.json("GET", "/api/v1/dags")[0] for _ in range(20)]
is_(answers, [200] * 20, "while 10 clients hang in their headers, other requests are served")


def closed(s):
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True


for s in slow:
    s.settimeout(60)
ok(all(closed(s) for s in slow), "the slow clients are dropped after the idle timeout")
for s in slow:
    s.close()
ok(srv.alive(), "the server answers afterwards")

# One address may hold 16 connections: a client trickling its headers on
# all 256 would shut everyone else out until the idle timeout.
slow = []
for i in range(16):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    s.sendall(b"GET /api/v1/dags HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    slow.append(s)
extra = raw(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
is_(extra, b"", "while one address holds 16 connections, its 17th is closed unanswered")
for s in slow:
    s.close()
ok(wait_for(srv.alive), "once they close, that address is served again")

many = []
for i in range(300):
    try:
        many.append(socket.create_connection(("127.0.0.1", srv.port), timeout=60))
    except OSError:
        break
ok(len(many) >= 256, "300 idle connections can be opened (the backlog takes the rest)", len(many))
for s in many:
    s.close()
ok(wait_for(srv.alive), "after the idle connections close, the server answers")
is_(srv.json("GET", "/api/v1/dags/tiny")[0], 200, "and serves the API")
is_(stop(srv), 0, "sta web stops cleanly")

few = start("web", "--bind", "127.0.0.1:0", env={"STA_WEB_MAX_CONNECTIONS_PER_IP": "3"})
held = [socket.create_connection(("127.0.0.1", few.port), timeout=60) for _ in range(3)]
for s in held:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
s = socket.create_connection(("127.0.0.1", few.port), timeout=60)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
is_(closed(s), True, "STA_WEB_MAX_CONNECTIONS_PER_IP=3: the 4th connection is closed")
s.close()
for s in held:
    s.close()
ok(wait_for(few.alive), "and served once the others close")
is_(stop(few), 0, "that server stops cleanly")
done()
