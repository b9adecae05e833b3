#!/usr/bin/env python3
# rpc_replay.py FIXTURE_JSON PORT_FILE [IPC_PATH]: a JSON-RPC server that
# answers from recorded calls ({"calls": [{"method", "params", "result"}]}),
# single or batched, so exports can be checked on chain data a devnet
# cannot make.  A call that is not in the fixture gets JSON-RPC error -32601
# naming it.  Listens on a free loopback port, written to PORT_FILE, and
# with IPC_PATH also on a Unix socket speaking geth's IPC framing (JSON
# values back to back on one connection).
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

with open(sys.argv[1]) as f:
    answers = {(c["method"], json.dumps(c["params"])): c["result"] for c in json.load(f)["calls"]}


def answer(req):
    key = (req.get("method"), json.dumps(req.get("params", [])))
    out = {"jsonrpc": "2.0", "id": req.get("id")}
    if key in answers:
        out["result"] = answers[key]
    else:
        out["error"] = {"code": -32601, "message": "not in the fixture: %s %s" % key}
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        resp = [answer(r) for r in req] if isinstance(req, list) else answer(req)
        body = json.dumps(resp).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_ipc(path):
    import socket
    import threading

    def client(conn):
        dec, buf = json.JSONDecoder(), ""
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk.decode()
                while buf.strip():
                    try:
                        req, end = dec.raw_decode(buf.lstrip())
                    except ValueError:
                        break
                    buf = buf.lstrip()[end:]
                    resp = [answer(r) for r in req] if isinstance(req, list) else answer(req)
                    conn.sendall(json.dumps(resp).encode() + b"\n")

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(8)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


if len(sys.argv) > 3:
    import threading
    threading.Thread(target=serve_ipc, args=(sys.argv[3],), daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
