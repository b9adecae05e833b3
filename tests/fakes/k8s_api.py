#!/usr/bin/env python3
# k8s_api.py: a Kubernetes API test server (python3 stdlib only) for the
# client in lib/k8s.c.  No real cluster runs where the tests run, so this
# speaks the parts of the API the runner uses, in the documented format:
#
#   HTTPS only (--cert/--key); every request but /_fake/* needs
#   "Authorization: Bearer T" for a T given with --token, or a client
#   certificate signed by --client-ca; otherwise 401 with a Status object.
#   /api/v1/namespaces/NS/pods            POST, GET (?labelSelector=,
#                                         ?limit=&continue=, ?watch=1)
#   /api/v1/namespaces/NS/pods/NAME       GET, DELETE
#   /api/v1/namespaces/NS/pods/NAME/log   GET (text/plain)
#   /apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME]  GET POST PUT
#
# Errors are metav1.Status objects with the API's codes and reasons (404
# NotFound, 409 AlreadyExists and Conflict, 410 Expired, 422 Invalid for
# bad label values, 429 TooManyRequests with Retry-After, 500).  Watches
# are chunked streams of one JSON event per line ({"type":..,"object":..});
# a resourceVersion older than the compaction point gets an ERROR event
# carrying a 410 Status, as the real API sends it.
#
# Pods are scripted: a new pod is Pending, then Running, then Succeeded or
# Failed with containerStatuses[0].state.terminated.exitCode taken from
# the annotation fake.sta/exit-code (default 0), each step after
# fake.sta/step-seconds (default --step-seconds).  Its log is the
# annotation fake.sta/log (default "log of NAME\n").
#
# Control (no auth): POST /_fake/fault {"method","path" (regex),"status",
# "retry_after","count","drop":bool} queues faults for matching requests
# ("drop" closes the connection without an answer); POST /_fake/drop-watches
# cuts every open watch; POST /_fake/compact makes every resourceVersion
# so far too old (410); GET /_fake/requests lists the requests seen as
# [method, path, identity, status]; POST /_fake/set-phase {"namespace",
# "name","phase","exit_code"} changes a pod by hand.
import argparse
import copy
import json
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

lock = threading.Condition()
rv_counter = 100
compacted_rv = 0
events = []            # (rv, kind, ns, type, object)
pods = {}              # (ns, name) -> pod
leases = {}            # (ns, name) -> lease
faults = []            # dicts
requests_seen = []
watch_socks = set()
args = None


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def status(code, reason, message, name=None, kind=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
          "status": "Failure", "message": message, "reason": reason, "code": code}
    if name is not None:
        st["details"] = {"name": name, "kind": kind}
    return st


def bump(kind, ns, etype, obj):
    """Gives obj the next resourceVersion and records the event (lock held)."""
    global rv_counter
    rv_counter += 1
    obj["metadata"]["resourceVersion"] = str(rv_counter)
    events.append((rv_counter, kind, ns, etype, copy.deepcopy(obj)))
    lock.notify_all()


def match_selector(labels, selector):
    labels = labels or {}
    for req in [s.strip() for s in (selector or "").split(",") if s.strip()]:
        if "!=" in req:
            k, v = req.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in req:
            k, v = re.split("==?", req, 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif req.startswith("!"):
            if req[1:] in labels:
                return False
        elif req not in labels:
            return False
    return True


def set_phase(ns, name, phase, exit_code=0, reason=None):
    with lock:
        pod = pods.get((ns, name))
        if pod is None or pod["status"].get("phase") in ("Succeeded", "Failed"):
            return
        cname = pod["spec"]["containers"][0].get("name", "main")
        st = pod["status"]
        st["phase"] = phase
        if phase == "Running":
            st["startTime"] = now_iso()
            st["containerStatuses"] = [{"name": cname, "ready": True, "restartCount": 0,
                                        "state": {"running": {"startedAt": now_iso()}}}]
        elif phase in ("Succeeded", "Failed"):
            term = {"exitCode": exit_code, "reason": reason or ("Completed" if exit_code == 0 else "Error"),
                    "startedAt": st.get("startTime", now_iso()), "finishedAt": now_iso()}
            st["containerStatuses"] = [{"name": cname, "ready": False, "restartCount": 0,
                                        "state": {"terminated": term}}]
        bump("pods", ns, "MODIFIED", pod)


def script_pod(ns, name, step, exit_code):
    time.sleep(step)
    set_phase(ns, name, "Running")
    time.sleep(step)
    set_phase(ns, name, "Succeeded" if exit_code == 0 else "Failed", exit_code)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        if args.verbose:
            sys.stderr.write("k8s_api: " + (fmt % a) + "\n")

    # --- plumbing ---
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.record(code)

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.record(code)

    def record(self, code):
        with lock:
            requests_seen.append([self.command, self.path, getattr(self, "who", None), code])

    def identity(self):
        h = self.headers.get("Authorization", "")
        if h.startswith("Bearer ") and h[7:] in args.token:
            return "token:" + h[7:]
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return "cert:" + v
        return None

    def take_fault(self):
        with lock:
            for f in faults:
                if f.get("method", self.command) == self.command and re.search(f.get("path", ""), self.path):
                    f["count"] = f.get("count", 1) - 1
                    if f["count"] <= 0:
                        faults.remove(f)
                    return f
        return None

    def handle_any(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path.startswith("/_fake/"):
            self.who = "control"
            return self.control(u.path, self.body())
        body = self.body()
        self.who = self.identity()
        if self.who is None:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        f = self.take_fault()
        if f is not None:
            if f.get("drop"):
                self.record("drop")
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            code = f["status"]
            reasons = {409: "Conflict", 410: "Expired", 429: "TooManyRequests", 500: "InternalError",
                       503: "ServiceUnavailable"}
            extra = {"Retry-After": str(f["retry_after"])} if "retry_after" in f else {}
            return self.send_json(code, status(code, reasons.get(code, "Unknown"), "injected fault"), extra)
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?(/log)?", u.path)
        if m:
            return self.pods(m.group(1), m.group(2), m.group(3), q, body)
        m = re.fullmatch(r"/apis/coordination\.k8s\.io/v1/namespaces/([^/]+)/leases(?:/([^/]+))?", u.path)
        if m:
            return self.leases(m.group(1), m.group(2), body)
        return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    # --- control ---
    def control(self, path, body):
        global compacted_rv
        req = json.loads(body) if body else {}
        with lock:
            if path == "/_fake/fault":
                faults.append(req)
            elif path == "/_fake/drop-watches":
                for s in list(watch_socks):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            elif path == "/_fake/compact":
                compacted_rv = rv_counter
            elif path == "/_fake/requests":
                return self.send_json(200, requests_seen)
            elif path == "/_fake/pods":
                return self.send_json(200, {f"{k[0]}/{k[1]}": v for k, v in pods.items()})
        if path == "/_fake/set-phase":
            set_phase(req["namespace"], req["name"], req["phase"], req.get("exit_code", 0))
        return self.send_json(200, {"ok": True})

    # --- pods ---
    def pods(self, ns, name, log, q, body):
        if self.command == "POST" and name is None:
            return self.pod_create(ns, body)
        if self.command == "GET" and name is None:
            if q.get("watch") in ("1", "true"):
                return self.watch(ns, q)
            return self.pod_list(ns, q)
        with lock:
            pod = pods.get((ns, name))
            if pod is None:
                return self.send_json(404, status(404, "NotFound", f'pods "{name}" not found', name, "pods"))
            if self.command == "GET" and log:
                if pod["status"]["phase"] == "Pending":
                    return self.send_json(400, status(400, "BadRequest",
                                                      f'container "main" in pod "{name}" is waiting to start: ContainerCreating'))
                text = pod["metadata"].get("annotations", {}).get("fake.sta/log", f"log of {name}\n")
                return self.send_text(200, text)
            if self.command == "GET":
                return self.send_json(200, pod)
            if self.command == "DELETE":
                del pods[(ns, name)]
                pod["metadata"]["deletionTimestamp"] = now_iso()
                bump("pods", ns, "DELETED", pod)
                return self.send_json(200, pod)
        return self.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))

    def pod_create(self, ns, body):
        try:
            pod = json.loads(body)
        except ValueError as e:
            return self.send_json(400, status(400, "BadRequest", f"invalid JSON: {e}"))
        md = pod.setdefault("metadata", {})
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        name = md.get("name", "")
        bad = []
        if not DNS1123.match(name) or len(name) > 253:
            bad.append(f"metadata.name: Invalid value: \"{name}\"")
        for k, v in (md.get("labels") or {}).items():
            if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
                bad.append(f"metadata.labels: Invalid value: \"{v}\": a valid label must be an empty string or "
                           "consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                           "an alphanumeric character")
        if not pod.get("spec", {}).get("containers"):
            bad.append("spec.containers: Required value")
        if bad:
            return self.send_json(422, status(422, "Invalid", f'Pod "{name}" is invalid: ' + "; ".join(bad),
                                              name, "pods"))
        with lock:
            if (ns, name) in pods:
                return self.send_json(409, status(409, "AlreadyExists", f'pods "{name}" already exists',
                                                  name, "pods"))
            md["namespace"] = ns
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_iso()
            pod["status"] = {"phase": "Pending"}
            pods[(ns, name)] = pod
            bump("pods", ns, "ADDED", pod)
            out = copy.deepcopy(pod)
        ann = md.get("annotations") or {}
        if ann.get("fake.sta/script", "auto") == "auto":
            step = float(ann.get("fake.sta/step-seconds", args.step_seconds))
            threading.Thread(target=script_pod, daemon=True,
                             args=(ns, name, step, int(ann.get("fake.sta/exit-code", "0")))).start()
        return self.send_json(201, out)

    def pod_list(self, ns, q):
        with lock:
            items = [copy.deepcopy(p) for (pns, _), p in sorted(pods.items())
                     if pns == ns and match_selector(p["metadata"].get("labels"), q.get("labelSelector"))]
            rv = str(rv_counter)
        start = int(q.get("continue") or 0)
        limit = int(q.get("limit") or 0)
        meta = {"resourceVersion": rv}
        if limit and start + limit < len(items):
            meta["continue"] = str(start + limit)
            items = items[start:start + limit]
        else:
            items = items[start:]
        return self.send_json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items})

    def chunk(self, obj):
        data = (json.dumps(obj) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, ns, q):
        sel = q.get("labelSelector")
        rv = q.get("resourceVersion") or ""
        timeout = float(q.get("timeoutSeconds") or 1800)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.record(200)
        with lock:
            watch_socks.add(self.connection)
            if rv in ("", "0"):
                last = rv_counter
                initial = [copy.deepcopy(p) for (pns, _), p in sorted(pods.items())
                           if pns == ns and match_selector(p["metadata"].get("labels"), sel)]
            else:
                last = int(rv)
                initial = []
            expired = rv not in ("", "0") and last < compacted_rv
        deadline = time.time() + timeout
        next_bookmark = time.time() + args.bookmark_seconds
        try:
            if expired:
                self.chunk({"type": "ERROR", "object": status(
                    410, "Expired", f"too old resource version: {last} ({compacted_rv})")})
                return self.end_stream()
            for p in initial:
                self.chunk({"type": "ADDED", "object": p})
            while time.time() < deadline:
                with lock:
                    pending = [e for e in events if e[0] > last and e[1] == "pods" and e[2] == ns]
                    if not pending:
                        lock.wait(0.2)
                        pending = [e for e in events if e[0] > last and e[1] == "pods" and e[2] == ns]
                    cur = rv_counter
                for (erv, _, _, etype, obj) in pending:
                    last = erv
                    if match_selector(obj["metadata"].get("labels"), sel):
                        self.chunk({"type": etype, "object": obj})
                if bookmarks and time.time() >= next_bookmark:
                    last = max(last, cur) if not pending else last
                    self.chunk({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                               "metadata": {"resourceVersion": str(last)}}})
                    next_bookmark = time.time() + args.bookmark_seconds
            self.end_stream()
        except OSError:
            self.close_connection = True
        finally:
            with lock:
                watch_socks.discard(self.connection)

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # --- leases ---
    def leases(self, ns, name, body):
        what = "leases.coordination.k8s.io"
        with lock:
            if self.command == "GET" and name:
                lease = leases.get((ns, name))
                if lease is None:
                    return self.send_json(404, status(404, "NotFound", f'{what} "{name}" not found', name, "leases"))
                return self.send_json(200, lease)
            try:
                obj = json.loads(body)
            except ValueError as e:
                return self.send_json(400, status(400, "BadRequest", f"invalid JSON: {e}"))
            md = obj.setdefault("metadata", {})
            if self.command == "POST" and not name:
                lname = md.get("name", "")
                if (ns, lname) in leases:
                    return self.send_json(409, status(409, "AlreadyExists", f'{what} "{lname}" already exists',
                                                      lname, "leases"))
                md.update(namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=now_iso())
                leases[(ns, lname)] = obj
                bump("leases", ns, "ADDED", obj)
                return self.send_json(201, obj)
            if self.command == "PUT" and name:
                cur = leases.get((ns, name))
                if cur is None:
                    return self.send_json(404, status(404, "NotFound", f'{what} "{name}" not found', name, "leases"))
                want = md.get("resourceVersion")
                if want and want != cur["metadata"]["resourceVersion"]:
                    return self.send_json(409, status(
                        409, "Conflict", f'Operation cannot be fulfilled on {what} "{name}": the object has been '
                        "modified; please apply your changes to the latest version and try again", name, "leases"))
                md.update(namespace=ns, uid=cur["metadata"]["uid"],
                          creationTimestamp=cur["metadata"]["creationTimestamp"])
                leases[(ns, name)] = obj
                bump("leases", ns, "MODIFIED", obj)
                return self.send_json(200, obj)
        return self.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca")
    p.add_argument("--token", action="append", default=[])
    p.add_argument("--step-seconds", type=float, default=0.3)
    p.add_argument("--bookmark-seconds", type=float, default=1.0)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
