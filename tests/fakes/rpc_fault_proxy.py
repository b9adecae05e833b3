#!/usr/bin/env python3
# rpc_fault_proxy.py UPSTREAM_URL PORT_FILE STATS_FILE [SEED] [RATE]
#
# A JSON-RPC proxy for tests that misbehaves the way real nodes and load
# balancers do.  It forwards POST bodies to UPSTREAM_URL and, for a share
# RATE of requests (seeded, so runs repeat), answers instead with one of:
#   http500   HTTP 500 with an error page
#   http429   HTTP 429 Too Many Requests
#   timeout   nothing for 30 s (longer than the client's timeout)
#   drop      closes the connection without a response
#   truncate  the upstream answer cut in half
#   shuffle   the upstream batch answer in reverse order (valid: ids match)
#   wrongid   the upstream batch answer with one id changed
#   rpcerror  a transient JSON-RPC error (-32005 limit exceeded) for a batch
#   corrupt   the upstream answer with one hex value inside a result made
#             malformed (its last digit replaced by "g"), as a buggy node
#             or a flipped byte would: the client must not trust it
# It listens on a free loopback port, written to PORT_FILE, and keeps the
# count of each fault in STATS_FILE (JSON), so tests can check that every
# kind was seen.
import json
import os
import random
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

upstream, port_file, stats_file = sys.argv[1], sys.argv[2], sys.argv[3]
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.3
FAULTS = ["http500", "http429", "timeout", "drop", "truncate", "shuffle", "wrongid", "rpcerror", "corrupt"]
stats = {k: 0 for k in FAULTS + ["passed"]}
lock = threading.Lock()


def pick():
    with lock:
        fault = rng.choice(FAULTS) if rng.random() < rate else "passed"
        stats[fault] += 1
        with open(stats_file + ".tmp", "w") as f:
            json.dump(stats, f)
        os.replace(stats_file + ".tmp", stats_file)
    return fault


def hex_slots(v, out):
    """(container, key) of every "0x..." string with digits inside v."""
    items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else []
    for k, x in items:
        if isinstance(x, str) and x.startswith("0x") and len(x) > 2:
            out.append((v, k))
        else:
            hex_slots(x, out)
    return out


def corrupt(answer):
    """answer with one hex value of a result malformed; None when it has none."""
    parsed = json.loads(answer)
    slots = hex_slots([a.get("result") for a in parsed] if isinstance(parsed, list) else [], [])
    if not slots:
        return None
    with lock:
        box, key = rng.choice(slots)
    box[key] = box[key][:-1] + "g"
    return json.dumps(parsed).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fault = pick()
        if fault == "http500":
            return self.send(500, b"<html>internal error</html>", "text/html")
        if fault == "http429":
            return self.send(429, b"too many requests", "text/plain")
        if fault == "timeout":
            time.sleep(30)
            return
        if fault == "drop":
            self.close_connection = True
            self.connection.close()
            return
        if fault == "rpcerror":
            err = {"jsonrpc": "2.0", "id": None,
                   "error": {"code": -32005, "message": "limit exceeded"}}
            return self.send(200, json.dumps(err).encode())
        req = urllib.request.Request(upstream, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = r.read()
        if fault == "truncate":
            answer = answer[: len(answer) // 2]
        elif fault == "corrupt":
            answer = corrupt(answer) or answer
        elif fault in ("shuffle", "wrongid"):
            parsed = json.loads(answer)
            if isinstance(parsed, list) and parsed:
                if fault == "shuffle":
                    parsed.reverse()
                else:
                    parsed[0]["id"] = 10 ** 6
                answer = json.dumps(parsed).encode()
        self.send(200, answer)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
