#!/usr/bin/env python3
# k8s_api.py: a Kubernetes API test server (python3 stdlib only) for the
# client in lib/k8s.c and the pod executor.  No real cluster runs where
# the tests run, so this speaks the parts of the API the runner uses, in
# the documented format:
#
#   HTTPS only (--cert/--key); every request but /_fake/* needs
#   "Authorization: Bearer T" for a T given with --token, or a client
#   certificate signed by --client-ca; otherwise 401 with a Status object.
#   /api/v1/namespaces/NS/pods            POST, GET (?labelSelector=,
#                                         ?limit=&continue=, ?watch=1)
#   /api/v1/namespaces/NS/pods/NAME       GET, DELETE (?gracePeriodSeconds=)
#   /api/v1/namespaces/NS/pods/NAME/log   GET (text/plain; ?container=,
#                                         ?follow=true, ?previous=true,
#                                         ?tailLines=, ?limitBytes=)
#   /apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME]  GET POST PUT
#
# Errors are metav1.Status objects with the API's codes and reasons (400
# BadRequest for a body of the wrong shape, 404 NotFound, 409
# AlreadyExists and Conflict, 410 Expired, 422 Invalid for a bad name,
# label, container name, image, restartPolicy, activeDeadlineSeconds or
# env name, 429 TooManyRequests with Retry-After, 500).  A created pod
# gets the API server's defaults (restartPolicy Always,
# terminationGracePeriodSeconds 30, serviceAccountName default, the
# not-ready/unreachable tolerations, imagePullPolicy, qosClass...).
# Watches are chunked streams of one JSON event per line
# ({"type":..,"object":..}); a resourceVersion older than the compaction
# point gets an ERROR event carrying a 410 Status, as the real API sends it.
#
# Scripted pods (the default): a new pod is Pending, then Running, then
# Succeeded or Failed with containerStatuses[0].state.terminated.exitCode
# taken from the annotation fake.sta/exit-code (default 0), each step
# after fake.sta/step-seconds (default --step-seconds).  Its log is the
# annotation fake.sta/log (default "log of NAME\n").  fake.sta/script:
# manual leaves the phases to /_fake/set-phase.  Deleting one is immediate.
#
# Kubelet mode (--kubelet): a pod without the annotation fake.sta/script
# is run for real on this machine, on one node "fake-node" (its first
# container only; volumes, probes, resources and securityContext are
# recorded, not applied):
# - the scheduler places pods first come, first placed, at most
#   --capacity N (POST /_fake/capacity) at once (placed and not finished);
#   the others stay Pending with PodScheduled False, Unschedulable, "0/1
#   nodes are available: 1 Insufficient cpu.".  A nodeSelector must match
#   the node's labels (kubernetes.io/hostname, kubernetes.io/os,
#   kubernetes.io/arch, plus --node-label K=V) or the pod stays
#   Unschedulable.  Placing sets spec.nodeName, PodScheduled True, then
#   startTime (from which activeDeadlineSeconds counts) and the container
#   waiting in ContainerCreating.
# - images: one containing "pull-error" waits in ErrImagePull, then
#   ImagePullBackOff (after --pull-backoff-seconds); "invalid-image" or a
#   reference the image grammar refuses (upper case, spaces...) waits in
#   InvalidImageName.  No image is pulled: any other runs the command.
# - env: value (with the kubelet's $(VAR) expansion of earlier variables),
#   valueFrom.secretKeyRef, fieldRef (metadata.name/namespace/uid,
#   metadata.labels['k'], metadata.annotations['k'], spec.nodeName,
#   spec.serviceAccountName, status.podIP, status.hostIP) and
#   envFrom[].secretRef (with prefix); secrets come from --secrets FILE
#   (JSON {"name": {"KEY": "VALUE"}}, any namespace) or POST /_fake/secret
#   {"namespace","name","data":{}} (plain values, not base64).  A missing
#   secret or key (not optional) keeps the pod Pending with the container
#   waiting in CreateContainerConfigError, message 'secret "x" not found'
#   or "couldn't find key K in Secret NS/x", until the secret is posted.
#   ConfigMap references are never found (there are none).
# - the process: command + args, each expanded like the kubelet does
#   ($(VAR) from the container's env, $$ for $), no shell, cwd a fresh temp
#   folder, its own session and process group, stdin /dev/null, the fake's
#   environment overlaid with HOSTNAME=pod name and the container's env;
#   stdout and stderr interleaved into the pod's log.  An executable not
#   found ends the container with exitCode 128, reason StartError.
# - status: Running (startTime, containerStatuses[0] running, ready), then
#   Succeeded (exit 0, reason Completed) or Failed (reason Error; a death
#   by signal N is exitCode 128+N).  restartPolicy Always/OnFailure restart
#   the container after a CrashLoopBackOff (--restart-backoff-seconds,
#   doubled each time, at most 300 s), restartCount and lastState as the
#   kubelet reports them; ?previous=true gives the previous log.
# - spec.activeDeadlineSeconds, counted from startTime: the process group
#   gets SIGKILL, the pod Failed with reason DeadlineExceeded and message
#   "Pod was active on the node longer than the specified deadline", the
#   container terminated with exitCode 137, reason Error (a container that
#   never started: 137, ContainerStatusUnknown).
# - DELETE of a placed, unfinished pod: MODIFIED with deletionTimestamp
#   (now + grace) and deletionGracePeriodSeconds (?gracePeriodSeconds=, a
#   DeleteOptions body, else spec.terminationGracePeriodSeconds; at most
#   --grace-cap), SIGTERM to the process group, SIGKILL when the grace
#   period ends, a MODIFIED with the terminated container, then DELETED.
#   A finished or unplaced pod, or gracePeriodSeconds=0, is deleted at once.
# - every change bumps resourceVersion and is a MODIFIED watch event.
# - the processes never outlive the fake: a small guardian process kills
#   their process groups when the fake ends, however it ends.  They do not
#   depend on any client: killing a client leaves them running.
#
# - sidecars (POST /_fake/sidecar {"enabled": true}): pods created while
#   enabled get a second container, istio-proxy, appended after validation
#   (as a mutating webhook injects it; /_fake/created keeps the body as
#   POSTed).  It is not run; it "runs" until the pod is deleted, so when the
#   first container ends the pod stays Running, with the first container
#   terminated and istio-proxy running, as classic Istio sidecars keep pods
#   of batch jobs alive.  A DELETE then removes the pod at once.
#
# Control (no auth): POST /_fake/fault {"method","path" (regex),"status",
# "retry_after","count","drop":bool,"message"} queues faults for matching
# requests ("drop" closes the connection without an answer; a 403 is
# Forbidden, with message as the Status message); POST /_fake/drop-watches
# cuts every open watch; POST /_fake/compact makes every resourceVersion
# so far too old (410); GET /_fake/requests lists the requests seen as
# [method, path, identity, status]; POST /_fake/set-phase {"namespace",
# "name","phase","exit_code"} changes a scripted pod by hand; GET
# /_fake/created lists every pod body exactly as POSTed (those answered
# 201); GET /_fake/pods lists the current pods as {"namespace","name",
# "phase","labels","annotations","nodeName","deletionTimestamp","pid"}
# (pid: the kubelet-mode process's, while it runs, else null); POST
# /_fake/secret and /_fake/capacity {"pods": N or null} as above.
import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# The image reference grammar (distribution/reference): [domain/]path[:tag][@digest].
_COMP = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
IMAGE_REF = re.compile(rf"^(?:{_DOMAIN}/)?{_COMP}(?:/{_COMP})*(?::[\w][\w.-]{{0,127}})?"
                       r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")
NODE = "fake-node"
UNSCHEDULABLE_CPU = "0/1 nodes are available: 1 Insufficient cpu."
UNSCHEDULABLE_SELECTOR = ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. "
                          "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
DEADLINE_MSG = "Pod was active on the node longer than the specified deadline"

lock = threading.Condition()
rv_counter = 100
compacted_rv = 0
events = []            # (rv, kind, ns, type, object)
pods = {}              # (ns, name) -> pod
leases = {}            # (ns, name) -> lease
faults = []            # dicts
requests_seen = []
created_bodies = []    # pod bodies as POSTed (201 only)
watch_socks = set()
args = None

# kubelet mode (all under lock)
kubelets = {}          # (ns, name) -> Kubelet, for pods run for real
sched_queue = []       # keys of pods not placed yet, in creation order
sidecars = False       # inject istio-proxy into new pods (kubelet mode)
slots = set()          # keys of placed pods not finished
capacity = None        # None: unlimited
secrets = {}           # (ns or None, name) -> {key: value}
secrets_gen = 0        # bumped on every secret posted
node_labels = {}
workroot = None
guardian = None


def now_iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


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


# --- pod validation and defaults (as the API server does at create) ---

def qualified_name_ok(key):
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123.match(prefix)):
        return False
    return len(name) <= 63 and bool(LABEL_NAME.match(name))


def pod_shape_error(pod):
    """A body the API could not even decode into a Pod (400), or None."""
    spec = pod.get("spec")
    if not isinstance(pod.get("metadata", {}), dict) or not isinstance(spec, dict):
        return "metadata and spec must be objects"
    cs = spec.get("containers")
    if cs is not None and (not isinstance(cs, list) or not all(isinstance(c, dict) for c in cs)):
        return "json: cannot unmarshal into Go struct field PodSpec.spec.containers of type []v1.Container"
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and (not isinstance(ads, int) or isinstance(ads, bool)):
        return "json: cannot unmarshal into Go struct field PodSpec.spec.activeDeadlineSeconds of type int64"
    return None


def pod_invalid(pod):
    """The API's validation messages for a Pod (empty when valid)."""
    md, spec = pod["metadata"], pod.get("spec", {})
    name = md.get("name", "")
    bad = []
    if not DNS1123.match(name) or len(name) > 253:
        bad.append(f"metadata.name: Invalid value: \"{name}\"")
    for k, v in (md.get("labels") or {}).items():
        if not qualified_name_ok(k):
            bad.append(f"metadata.labels: Invalid value: \"{k}\": name part must consist of alphanumeric "
                       "characters, '-', '_' or '.', and must start and end with an alphanumeric character")
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
            bad.append(f"metadata.labels: Invalid value: \"{v}\": a valid label must be an empty string or "
                       "consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                       "an alphanumeric character")
    for k in (md.get("annotations") or {}):
        if not qualified_name_ok(k):
            bad.append(f"metadata.annotations: Invalid value: \"{k}\": name part must consist of alphanumeric "
                       "characters, '-', '_' or '.', and must start and end with an alphanumeric character")
    if not spec.get("containers"):
        bad.append("spec.containers: Required value")
    seen = set()
    for i, c in enumerate(spec.get("containers") or []):
        cn = c.get("name") or ""
        if not cn:
            bad.append(f"spec.containers[{i}].name: Required value")
        elif len(cn) > 63 or not DNS1123_LABEL.match(cn):
            bad.append(f"spec.containers[{i}].name: Invalid value: \"{cn}\": a lowercase RFC 1123 label must "
                       "consist of lower case alphanumeric characters or '-', and must start and end with an "
                       "alphanumeric character")
        elif cn in seen:
            bad.append(f"spec.containers[{i}].name: Duplicate value: \"{cn}\"")
        seen.add(cn)
        if not c.get("image"):
            bad.append(f"spec.containers[{i}].image: Required value")
        for j, e in enumerate(c.get("env") or []):
            if not ENV_NAME.match(e.get("name") or ""):
                bad.append(f"spec.containers[{i}].env[{j}].name: Invalid value: \"{e.get('name', '')}\": a valid "
                           "environment variable name must consist of alphabetic characters, digits, '_', '-', "
                           "or '.', and must not start with a digit")
    rp = spec.get("restartPolicy", "Always")
    if rp not in ("Always", "OnFailure", "Never"):
        bad.append(f"spec.restartPolicy: Unsupported value: \"{rp}\": supported values: \"Always\", "
                   "\"OnFailure\", \"Never\"")
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and not 1 <= ads <= 2147483647:
        bad.append(f"spec.activeDeadlineSeconds: Invalid value: {ads}: must be between 1 and 2147483647, inclusive")
    return bad


def qos_class(spec):
    rs = [c.get("resources") or {} for c in spec.get("containers", [])]
    if not any(r.get("requests") or r.get("limits") for r in rs):
        return "BestEffort"
    for r in rs:
        lim, req = r.get("limits") or {}, r.get("requests") or {}
        if not all(k in lim for k in ("cpu", "memory")) or any(req.get(k, lim[k]) != lim[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


def pod_defaults(pod):
    spec = pod["spec"]
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tol = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tol):
            tol.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    for c in spec["containers"]:
        image = c.get("image", "")
        tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
        c.setdefault("imagePullPolicy", "Always" if not tagged or image.endswith(":latest") else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})


# --- kubelet mode ---

GUARDIAN = r"""
import os, shutil, signal, sys
groups = set()
for line in sys.stdin:
    (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
for g in groups:
    try:
        os.killpg(g, signal.SIGKILL)
    except OSError:
        pass
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


def guardian_tell(op, pgid):
    """The guardian kills the groups it was told of, and removes the work
    folder, when our end of its pipe closes (we exited, however we did)."""
    try:
        guardian.stdin.write(f"{op}{pgid}\n".encode())
        guardian.stdin.flush()
    except (OSError, ValueError):
        pass


def expand(text, env):
    """The kubelet's $(VAR) expansion: $$ is $, $(VAR) is VAR's value when
    env has it (else left as is), any other $ stays."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append("$(")
                i += 2
            else:
                var = text[i + 2:end]
                out.append(env[var] if var in env else f"$({var})")
                i = end + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def secret_lookup(ns, name):
    if (ns, name) in secrets:
        return secrets[(ns, name)]
    return secrets.get((None, name))


def field_ref(pod, path):
    md, spec, st = pod["metadata"], pod["spec"], pod["status"]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        return (md.get(m.group(1)) or {}).get(m.group(2), "")
    simple = {"metadata.name": md.get("name"), "metadata.namespace": md.get("namespace"),
              "metadata.uid": md.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"),
              "status.podIP": st.get("podIP"), "status.hostIP": st.get("hostIP")}
    return simple.get(path)


def resolve_env(pod):
    """The container's env as the kubelet builds it: (ordered dict, None),
    or (None, the CreateContainerConfigError message).  Lock held."""
    ns = pod["metadata"]["namespace"]
    c = pod["spec"]["containers"][0]
    env = {}
    for ef in c.get("envFrom") or []:
        if "secretRef" in ef:
            ref = ef["secretRef"]
            data = secret_lookup(ns, ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                return None, f'secret "{ref.get("name", "")}" not found'
            for k, v in data.items():
                if "=" not in k:
                    env[ef.get("prefix", "") + k] = v
        elif "configMapRef" in ef:
            ref = ef["configMapRef"]
            if not ref.get("optional"):
                return None, f'configmap "{ref.get("name", "")}" not found'
    for e in c.get("env") or []:
        name, vf = e["name"], e.get("valueFrom")
        if vf is None:
            env[name] = expand(e.get("value", ""), env)
        elif "secretKeyRef" in vf:
            ref = vf["secretKeyRef"]
            data = secret_lookup(ns, ref.get("name", ""))
            if data is None or ref.get("key") not in data:
                if ref.get("optional"):
                    continue
                if data is None:
                    return None, f'secret "{ref.get("name", "")}" not found'
                return None, f"couldn't find key {ref.get('key')} in Secret {ns}/{ref.get('name')}"
            env[name] = data[ref["key"]]
        elif "fieldRef" in vf:
            v = field_ref(pod, vf["fieldRef"].get("fieldPath", ""))
            if v is None:
                return None, f"unsupported fieldPath: {vf['fieldRef'].get('fieldPath')} (fake)"
            env[name] = v
        elif "configMapKeyRef" in vf:
            if not vf["configMapKeyRef"].get("optional"):
                return None, f'configmap "{vf["configMapKeyRef"].get("name", "")}" not found'
        else:
            return None, f"env {name}: valueFrom {sorted(vf)} is not supported by the fake"
    return env, None


def image_problem(image):
    """(waiting reason, message) for an image that will not run, else None."""
    if "pull-error" in image:
        return ("ErrImagePull", f'failed to pull and unpack image "{image}": failed to resolve reference '
                f'"{image}": pull access denied, repository does not exist or may require authorization')
    if "invalid-image" in image or len(image) > 255 or not IMAGE_REF.match(image):
        return ("InvalidImageName", f'Failed to apply default image tag "{image}": couldn\'t parse image '
                f'reference "{image}": invalid reference format')
    return None


def set_condition(st, ctype, value, reason=None, message=None):
    conds = st.setdefault("conditions", [])
    cur = next((c for c in conds if c["type"] == ctype), None)
    if cur is None:
        cur = {"type": ctype}
        conds.append(cur)
    if cur.get("status") != value:
        cur["lastTransitionTime"] = now_iso()
    cur.update(status=value, lastProbeTime=None)
    for k, v in (("reason", reason), ("message", message)):
        if v is None:
            cur.pop(k, None)
        else:
            cur[k] = v


class Kubelet:
    """A pod run for real: where it is in its life, its process.  Every
    field is read and written with lock held."""

    def __init__(self, pod):
        md = pod["metadata"]
        self.ns, self.name = md["namespace"], md["name"]
        self.key = (self.ns, self.name)
        self.cname = pod["spec"]["containers"][0]["name"]
        self.image = pod["spec"]["containers"][0]["image"]
        self.placed = False
        self.start = None        # monotonic time of startTime
        self.deadline = None     # monotonic time activeDeadlineSeconds ends
        self.deleting = False    # graceful DELETE seen
        self.kill_at = None      # monotonic time SIGKILL follows SIGTERM
        self.removed = False     # gone from the API (DELETED sent)
        self.proc = None
        self.rc = None
        self.started_iso = None
        self.ever_started = False
        self.restarts = 0
        self.last_state = {}
        self.sidecar = len(pod["spec"]["containers"]) > 1
        self.lingering = False   # ours ended, the sidecar keeps the pod Running
        self.dir = tempfile.mkdtemp(prefix=f"{self.ns}.{self.name}.", dir=workroot)
        self.log = os.path.join(self.dir, "log")
        self.cwd = os.path.join(self.dir, "cwd")

    def pod(self):
        return pods.get(self.key)

    def cstatus(self, state, ready=False):
        cs = {"name": self.cname, "state": state, "lastState": self.last_state, "ready": ready,
              "restartCount": self.restarts, "image": self.image,
              "imageID": "", "started": "running" in state}
        if self.ever_started:
            cs["imageID"] = f"{self.image}@sha256:" + hashlib.sha256(self.image.encode()).hexdigest()
            cs["containerID"] = "containerd://" + hashlib.sha256(f"{self.key}{self.restarts}".encode()).hexdigest()
        return cs

    def update(self, **fields):
        """Sets status fields and sends the MODIFIED event."""
        pod = self.pod()
        if pod is None:
            return
        pod["status"].update(fields)
        bump("pods", self.ns, "MODIFIED", pod)

    def waiting(self, reason, message=None):
        w = {"reason": reason}
        if message is not None:
            w["message"] = message
        pod = self.pod()
        if pod is None:
            return
        st = pod["status"]
        set_condition(st, "ContainersReady", "False", "ContainersNotReady", f"containers with unready status: [{self.cname}]")
        set_condition(st, "Ready", "False", "ContainersNotReady", f"containers with unready status: [{self.cname}]")
        self.update(containerStatuses=[self.cstatus({"waiting": w})])

    def signal(self, sig):
        if self.proc is not None and self.rc is None:
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass

    def wait_for(self, until=None, gen=None):
        """Sleeps (lock released) until deleted, past the deadline, past
        until, or the secrets changed from gen; says which."""
        while True:
            now = time.monotonic()
            if self.removed or self.deleting:
                return "deleted"
            if self.deadline is not None and now >= self.deadline:
                return "deadline"
            if gen is not None and secrets_gen != gen:
                return "secret"
            if until is not None and now >= until:
                return "timeout"
            wake = [t for t in (until, self.deadline) if t is not None]
            lock.wait(min([1.0] + [t - now for t in wake]))


def schedule():
    """Places waiting pods, first come first placed, while there is room
    (lock held)."""
    for key in list(sched_queue):
        kl, pod = kubelets.get(key), pods.get(key)
        if kl is None or pod is None:
            sched_queue.remove(key)
            continue
        sel = pod["spec"].get("nodeSelector") or {}
        if any(node_labels.get(k) != v for k, v in sel.items()):
            unschedulable(kl, pod, UNSCHEDULABLE_SELECTOR)
        elif capacity is not None and len(slots) >= capacity:
            unschedulable(kl, pod, UNSCHEDULABLE_CPU)
        else:
            sched_queue.remove(key)
            slots.add(key)
            place(kl, pod)


def unschedulable(kl, pod, message):
    cond = next((c for c in pod["status"].get("conditions", []) if c["type"] == "PodScheduled"), {})
    if cond.get("message") != message:
        set_condition(pod["status"], "PodScheduled", "False", "Unschedulable", message)
        kl.update()


def place(kl, pod):
    """The scheduler's binding, then the kubelet taking the pod."""
    pod["spec"]["nodeName"] = NODE
    set_condition(pod["status"], "PodScheduled", "True")
    kl.update()
    kl.placed = True
    kl.start = time.monotonic()
    ads = pod["spec"].get("activeDeadlineSeconds")
    if ads is not None:
        kl.deadline = kl.start + ads
    st = pod["status"]
    set_condition(st, "Initialized", "True")
    ip = {"hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}], "podIP": "127.0.0.1",
          "podIPs": [{"ip": "127.0.0.1"}], "startTime": now_iso()}
    st.update(ip)
    kl.waiting("ContainerCreating")


def release(kl):
    if kl.key in slots:
        slots.discard(kl.key)
        schedule()


def remove_pod(kl):
    """The pod leaves the API: DELETED, its files go."""
    pod = pods.pop(kl.key, None)
    kl.removed = True
    if pod is not None:
        pod["metadata"].setdefault("deletionTimestamp", now_iso())
        pod["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        bump("pods", kl.ns, "DELETED", pod)
    if kl.key in sched_queue:
        sched_queue.remove(kl.key)
    release(kl)
    if kubelets.get(kl.key) is kl:
        del kubelets[kl.key]
    if kl.proc is None or kl.rc is not None:
        shutil.rmtree(kl.dir, ignore_errors=True)


def finish(kl, term, reason=None, message=None):
    """The container ended (term: its terminated state): the pod's final
    status, then DELETED if a deletion waited for it."""
    pod = kl.pod()
    if pod is not None and not kl.removed and kl.sidecar and not kl.deleting and reason is None:
        side = {"name": "istio-proxy", "ready": True, "restartCount": 0, "started": True,
                "image": "docker.io/istio/proxyv2:1.20.0", "imageID": "", "lastState": {},
                "state": {"running": {"startedAt": kl.started_iso or now_iso()}}}
        kl.lingering = True
        kl.update(containerStatuses=[kl.cstatus({"terminated": term}), side])
        return
    if pod is not None and not kl.removed:
        st = pod["status"]
        st["phase"] = "Succeeded" if term["exitCode"] == 0 and reason is None else "Failed"
        for k, v in (("reason", reason), ("message", message)):
            if v is not None:
                st[k] = v
        for ctype in ("ContainersReady", "Ready"):
            set_condition(st, ctype, "False", "PodCompleted")
        kl.update(containerStatuses=[kl.cstatus({"terminated": term})])
    release(kl)
    if kl.deleting and not kl.removed:
        remove_pod(kl)
    elif kl.removed:
        shutil.rmtree(kl.dir, ignore_errors=True)


def kubelet_main(kl):
    with lock:
        while not kl.placed and not kl.removed:
            lock.wait(1.0)
        try:
            if not kl.removed:
                kubelet_live(kl)
        except Exception as e:  # a bug here must not leave the pod hanging unseen
            sys.stderr.write(f"k8s_api: kubelet {kl.key}: {e!r}\n")
            kl.signal(signal.SIGKILL)
            raise


def never_started(kl, why):
    """Deleted or past the deadline before a process ran."""
    if why == "deadline":
        term = {"exitCode": 137, "reason": "ContainerStatusUnknown",
                "message": "The container could not be located when the pod was terminated",
                "finishedAt": now_iso()}
        finish(kl, term, "DeadlineExceeded", DEADLINE_MSG)
    else:
        release(kl)
        if not kl.removed:
            remove_pod(kl)


def kubelet_live(kl):
    """From placement to the end: image, env, process, restarts (lock held)."""
    backoff = args.restart_backoff_seconds
    while True:
        why = wait_startable(kl)
        if why is not None:
            return never_started(kl, why)
        pod = kl.pod()
        env, _ = resolve_env(pod)
        term, by_deadline = run_container(kl, pod, env)
        if term is None:            # could not start: already finished
            return
        if by_deadline:
            return finish(kl, term, "DeadlineExceeded", DEADLINE_MSG)
        rp = pod["spec"]["restartPolicy"]
        again = rp == "Always" or (rp == "OnFailure" and term["exitCode"] != 0)
        if kl.deleting or kl.removed or not again:
            return finish(kl, term)
        kl.restarts += 1
        kl.last_state = {"terminated": term}
        kl.waiting("CrashLoopBackOff", f"back-off {backoff:g}s restarting failed container={kl.cname} "
                   f"pod={kl.name}_{kl.ns}({pod['metadata']['uid']})")
        why = kl.wait_for(until=time.monotonic() + backoff)
        backoff = min(backoff * 2, 300)
        if why != "timeout":
            return never_started(kl, why)


def wait_startable(kl):
    """Waits while the image or the env keeps the container from starting;
    None when it can start, else "deleted" or "deadline"."""
    problem = image_problem(kl.image)
    if problem is not None:
        kl.waiting(*problem)
        if problem[0] == "ErrImagePull":
            why = kl.wait_for(until=time.monotonic() + args.pull_backoff_seconds)
            if why != "timeout":
                return why
            kl.waiting("ImagePullBackOff", f'Back-off pulling image "{kl.image}"')
        return kl.wait_for()
    while True:
        _, err = resolve_env(kl.pod())
        if err is None:
            return None
        kl.waiting("CreateContainerConfigError", err)
        why = kl.wait_for(gen=secrets_gen)
        if why != "secret":
            return why


def run_container(kl, pod, env):
    """Runs the process and waits for it, killing it for the deadline or a
    deletion: (its terminated state, killed by the deadline), or (None,
    False) when it could not start (the pod is then finished)."""
    c = pod["spec"]["containers"][0]
    argv = [expand(a, env) for a in (c.get("command") or []) + (c.get("args") or [])]
    penv = dict(os.environ, HOSTNAME=kl.name)
    penv.update(env)
    if os.path.exists(kl.log):
        os.replace(kl.log, kl.log + ".previous")
    shutil.rmtree(kl.cwd, ignore_errors=True)
    os.mkdir(kl.cwd)
    started = now_iso()
    try:
        if not argv:
            raise FileNotFoundError("no command (the fake has no image entrypoints)")
        with open(kl.log, "wb") as logf:
            kl.proc = subprocess.Popen(argv, cwd=kl.cwd, env=penv, stdin=subprocess.DEVNULL, stdout=logf,
                                       stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    except OSError as e:
        open(kl.log, "ab").close()
        kl.ever_started = True
        msg = (f"failed to create containerd task: failed to create shim task: OCI runtime create failed: "
               f"runc create failed: unable to start container process: exec: \"{argv[0] if argv else ''}\": "
               f"{e.strerror or e}: unknown")
        finish(kl, {"exitCode": 128, "reason": "StartError", "message": msg, "finishedAt": now_iso()})
        return None, False
    kl.rc = None
    kl.ever_started = True
    kl.started_iso = started
    guardian_tell("+", kl.proc.pid)
    threading.Thread(target=reap, args=(kl, kl.proc), daemon=True).start()
    st = pod["status"]
    st["phase"] = "Running"
    set_condition(st, "ContainersReady", "True")
    set_condition(st, "Ready", "True")
    kl.update(containerStatuses=[kl.cstatus({"running": {"startedAt": started}}, ready=True)])
    by_deadline = watch_process(kl)
    rc = kl.rc
    code = 128 - rc if rc < 0 else rc
    term = {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "startedAt": started,
            "finishedAt": now_iso()}
    return term, by_deadline


def watch_process(kl):
    """Until the process has exited: SIGKILL at the deadline, SIGTERM on
    deletion and SIGKILL when its grace period ends.  True when the
    deadline killed it."""
    by_deadline = term_sent = False
    while kl.rc is None:
        now = time.monotonic()
        if kl.deadline is not None and now >= kl.deadline and not by_deadline:
            kl.signal(signal.SIGKILL)
            by_deadline = True
        if (kl.deleting or kl.removed) and not term_sent:
            kl.signal(signal.SIGKILL if kl.removed else signal.SIGTERM)
            term_sent = True
        if kl.kill_at is not None and now >= kl.kill_at:
            kl.signal(signal.SIGKILL)
        wake = [t - now for t in (kl.deadline, kl.kill_at) if t is not None and t > now]
        lock.wait(min([1.0] + wake))
    return by_deadline


def reap(kl, proc):
    rc = proc.wait()
    guardian_tell("-", proc.pid)
    # the group may hold children of the process still: the container is gone
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    with lock:
        kl.rc = rc
        lock.notify_all()


def kill_all_children(*_):
    with lock:
        for kl in list(kubelets.values()):
            kl.signal(signal.SIGKILL)
    if workroot:
        shutil.rmtree(workroot, ignore_errors=True)


def on_term(signum, _frame):
    kill_all_children()
    os._exit(128 + signum)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY,
    # Nagle's algorithm and the client's delayed ACK add 40 ms to each
    # keep-alive request.
    disable_nagle_algorithm = True

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
        data = text.encode() if isinstance(text, str) else text
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
            reasons = {403: "Forbidden", 409: "Conflict", 410: "Expired", 429: "TooManyRequests",
                       500: "InternalError", 503: "ServiceUnavailable"}
            extra = {"Retry-After": str(f["retry_after"])} if "retry_after" in f else {}
            return self.send_json(code, status(code, reasons.get(code, "Unknown"),
                                               f.get("message", "injected fault")), extra)
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
        global compacted_rv, capacity, secrets_gen, sidecars
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
            elif path == "/_fake/created":
                return self.send_json(200, created_bodies)
            elif path == "/_fake/pods":
                return self.send_json(200, [pod_summary(k, p) for k, p in sorted(pods.items())])
            elif path == "/_fake/secret":
                secrets[(req.get("namespace"), req["name"])] = dict(req.get("data") or {})
                secrets_gen += 1
                lock.notify_all()
            elif path == "/_fake/capacity":
                capacity = req.get("pods")
                schedule()
            elif path == "/_fake/sidecar":
                sidecars = bool(req.get("enabled"))
        if path == "/_fake/set-phase":
            set_phase(req["namespace"], req["name"], req["phase"], req.get("exit_code", 0))
        return self.send_json(200, {"ok": True})

    # --- pods ---
    def pods(self, ns, name, log, q, body):
        for k in ("gracePeriodSeconds", "tailLines", "limitBytes", "limit"):
            if k in q and not re.fullmatch(r"-?[0-9]+", q[k]):
                return self.send_json(400, status(400, "BadRequest", f"{k}: invalid integer {q[k]!r}"))
        if self.command == "POST" and name is None:
            return self.pod_create(ns, body)
        if self.command == "GET" and name is None:
            if q.get("watch") in ("1", "true"):
                return self.watch(ns, q)
            return self.pod_list(ns, q)
        if self.command == "GET" and log:
            return self.pod_log(ns, name, q)
        with lock:
            pod = pods.get((ns, name))
            if pod is None:
                return self.send_json(404, status(404, "NotFound", f'pods "{name}" not found', name, "pods"))
            if self.command == "GET":
                return self.send_json(200, pod)
            if self.command == "DELETE":
                return self.send_json(200, self.pod_delete(ns, name, pod, q, body))
        return self.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))

    def pod_delete(self, ns, name, pod, q, body):
        """The deleted (or now deleting) pod (lock held)."""
        kl = kubelets.get((ns, name))
        if kl is None or not kl.placed or kl.lingering or pod["status"].get("phase") in ("Succeeded", "Failed"):
            if kl is not None:
                remove_pod(kl)
            else:
                del pods[(ns, name)]
                pod["metadata"]["deletionTimestamp"] = now_iso()
                pod["metadata"]["deletionGracePeriodSeconds"] = 0
                bump("pods", ns, "DELETED", pod)
            return copy.deepcopy(pod)
        grace = q.get("gracePeriodSeconds")
        if grace is None and body:
            try:
                grace = json.loads(body).get("gracePeriodSeconds")
            except (ValueError, AttributeError):
                grace = None
        if grace is None:
            grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        grace = int(grace)
        if args.grace_cap is not None:
            grace = min(grace, args.grace_cap)
        if grace <= 0:
            pod["metadata"]["deletionTimestamp"] = now_iso()
            pod["metadata"]["deletionGracePeriodSeconds"] = 0
            kl.kill_at = time.monotonic()
            remove_pod(kl)
            return copy.deepcopy(pod)
        kill_at = time.monotonic() + grace
        if not kl.deleting or kill_at < kl.kill_at:
            kl.deleting = True
            kl.kill_at = kill_at
            pod["metadata"]["deletionTimestamp"] = now_iso(time.time() + grace)
            pod["metadata"]["deletionGracePeriodSeconds"] = grace
            bump("pods", ns, "MODIFIED", pod)
        return copy.deepcopy(pod)

    def pod_create(self, ns, body):
        try:
            pod = json.loads(body)
            if not isinstance(pod, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return self.send_json(400, status(400, "BadRequest", f"invalid JSON: {e}"))
        as_posted = copy.deepcopy(pod)
        shape = pod_shape_error(pod)
        if shape is not None:
            return self.send_json(400, status(400, "BadRequest", shape))
        md = pod.setdefault("metadata", {})
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        name = md.get("name", "")
        try:
            bad = pod_invalid(pod)
        except (AttributeError, TypeError, KeyError) as e:
            return self.send_json(400, status(400, "BadRequest", f"cannot decode the Pod: {e!r}"))
        if bad:
            return self.send_json(422, status(422, "Invalid", f'Pod "{name}" is invalid: ' + "; ".join(bad),
                                              name, "pods"))
        ann = md.get("annotations") or {}
        real = args.kubelet and "fake.sta/script" not in ann
        with lock:
            if (ns, name) in pods:
                return self.send_json(409, status(409, "AlreadyExists", f'pods "{name}" already exists',
                                                  name, "pods"))
            md["namespace"] = ns
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_iso()
            pod_defaults(pod)
            if real and sidecars:
                pod["spec"]["containers"].append({
                    "name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.20.0",
                    "imagePullPolicy": "IfNotPresent", "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"})
            pod["status"] = {"phase": "Pending", "qosClass": qos_class(pod["spec"])}
            pods[(ns, name)] = pod
            created_bodies.append(as_posted)
            bump("pods", ns, "ADDED", pod)
            out = copy.deepcopy(pod)
            if real:
                kl = Kubelet(pod)
                kubelets[(ns, name)] = kl
                sched_queue.append((ns, name))
                threading.Thread(target=kubelet_main, args=(kl,), daemon=True).start()
                schedule()
        if not real and ann.get("fake.sta/script", "auto") == "auto":
            step = float(ann.get("fake.sta/step-seconds", args.step_seconds))
            threading.Thread(target=script_pod, daemon=True,
                             args=(ns, name, step, int(ann.get("fake.sta/exit-code", "0")))).start()
        return self.send_json(201, out)

    def pod_log(self, ns, name, q):
        with lock:
            pod = pods.get((ns, name))
            if pod is None:
                return self.send_json(404, status(404, "NotFound", f'pods "{name}" not found', name, "pods"))
            cname = pod["spec"]["containers"][0].get("name", "main")
            if q.get("container") not in (None, cname):
                return self.send_json(400, status(400, "BadRequest", f'container {q["container"]} is not valid '
                                                  f'for pod {name}'))
            kl = kubelets.get((ns, name))
            if kl is None:
                if pod["status"]["phase"] == "Pending":
                    return self.send_json(400, status(400, "BadRequest", f'container "{cname}" in pod "{name}" '
                                                      "is waiting to start: ContainerCreating"))
                text = pod["metadata"].get("annotations", {}).get("fake.sta/log", f"log of {name}\n")
                return self.send_text(200, text)
            if not kl.ever_started:
                w = (pod["status"].get("containerStatuses") or [{}])[0].get("state", {}).get("waiting", {})
                why = {"ErrImagePull": "trying and failing to pull image",
                       "ImagePullBackOff": "image can't be pulled"}.get(w.get("reason"),
                                                                        w.get("reason", "ContainerCreating"))
                return self.send_json(400, status(400, "BadRequest", f'container "{cname}" in pod "{name}" '
                                                  f"is waiting to start: {why}"))
            path = kl.log + (".previous" if q.get("previous") in ("true", "1") else "")
            if not os.path.exists(path):
                return self.send_json(400, status(400, "BadRequest", f'previous terminated container "{cname}" '
                                                  f'in pod "{name}" not found'))
        if q.get("follow") in ("true", "1") and not path.endswith(".previous"):
            return self.follow_log(kl, path)
        data = open(path, "rb").read()
        if q.get("tailLines"):
            n = int(q["tailLines"])
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-n:]) if n > 0 else b""
        if q.get("limitBytes"):
            data = data[:int(q["limitBytes"])]
        return self.send_text(200, data)

    def follow_log(self, kl, path):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.record(200)
        try:
            with open(path, "rb") as f:
                while True:
                    with lock:
                        done = kl.rc is not None or kl.removed or kl.proc is None
                    data = f.read()
                    if data:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    elif done:
                        break
                    else:
                        time.sleep(0.1)
            self.end_stream()
        except OSError:
            self.close_connection = True

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


def pod_summary(key, pod):
    kl = kubelets.get(key)
    md = pod["metadata"]
    return {"namespace": key[0], "name": key[1], "phase": pod["status"].get("phase"),
            "labels": md.get("labels") or {}, "annotations": md.get("annotations") or {},
            "nodeName": pod["spec"].get("nodeName"), "deletionTimestamp": md.get("deletionTimestamp"),
            "pid": kl.proc.pid if kl is not None and kl.proc is not None and kl.rc is None else None}


def start_kubelet_mode():
    global workroot, guardian, capacity
    workroot = tempfile.mkdtemp(prefix="sta-fake-kubelet-")
    guardian = subprocess.Popen([sys.executable, "-c", GUARDIAN, workroot], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    node_labels.update({"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64"})
    for kv in args.node_label:
        k, _, v = kv.partition("=")
        node_labels[k] = v
    if args.secrets:
        with open(args.secrets) as f:
            for name, data in json.load(f).items():
                secrets[(None, name)] = dict(data)
    capacity = args.capacity
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)


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
    p.add_argument("--kubelet", action="store_true", help="run pods' commands for real")
    p.add_argument("--capacity", type=int, help="at most this many pods placed at once")
    p.add_argument("--secrets", help='JSON file {"name": {"KEY": "VALUE"}}')
    p.add_argument("--grace-cap", type=int, help="cap on a deletion's grace period, seconds")
    p.add_argument("--node-label", action="append", default=[], help="K=V label of the node")
    p.add_argument("--pull-backoff-seconds", type=float, default=1.0)
    p.add_argument("--restart-backoff-seconds", type=float, default=10.0)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    if args.kubelet:
        start_kubelet_mode()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    # The TLS handshake happens in each connection's thread, as a real API
    # server's does, not in accept(): a client that opened a connection and
    # is busy elsewhere (a watch on an event loop) must not stall the rest.
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    finally:
        kill_all_children()


if __name__ == "__main__":
    main()
