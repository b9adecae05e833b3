#!/usr/bin/env bash
# k8s_manifests: renders k8s/base and both overlays with `kubectl kustomize`
# and checks what the objects promise (RBAC, security contexts, probes,
# NetworkPolicy reachability, overlays, the workflows ConfigMap) with
# python3-yaml; validates every object against the Kubernetes API schema
# (tests/fakes/k8s_validate.mjs, npm kubernetes-models), after checking
# the validator refuses bad objects; checks the Dockerfile's runtime
# packages against Debian (apt-cache, dpkg -S on the libraries the built
# binary needs).  No cluster and no image build: see docs/kubernetes.md.
. "$(dirname "$0")/../lib.sh"
cd "$STA_SRCDIR" || exit 1

PY=/usr/bin/python3
if ! command -v kubectl >/dev/null 2>&1; then
	echo "1..0 # SKIP kubectl is not installed (Debian: kubernetes-client)"; exit 0
fi
if ! "$PY" -c 'import yaml' 2>/dev/null; then
	echo "1..0 # SKIP python3-yaml is not installed"; exit 0
fi

# --- the workflows copy kustomize can read stays in sync -----------------
want=$(cd workflows && ls -1 -- *.yaml)
got=$(cd k8s/base/app/workflows && ls -1 -- *.yaml)
is "k8s/base/app/workflows holds the same files as workflows/ (k8s/sync-workflows.sh)" "$got" "$want"
same=yes
for f in workflows/*.yaml; do
	cmp -s "$f" "k8s/base/app/workflows/${f#workflows/}" || same="differs: $f"
done
is "k8s/base/app/workflows copies equal workflows/*.yaml" "$same" yes
listed=$(sed -n '/# workflows:begin/,/# workflows:end/s#^ *- workflows/##p' k8s/base/app/kustomization.yaml)
is "configMapGenerator lists every workflow" "$listed" "$want"

# --- render ------------------------------------------------------------
for k in base overlays/dev overlays/prod; do
	out="$T/$(basename "$k").yaml"
	if kubectl kustomize "k8s/$k" > "$out" 2> "$T/err"; then
		ok "kubectl kustomize k8s/$k"
	else
		not_ok "kubectl kustomize k8s/$k"; sed 's/^/#   /' "$T/err"
		: > "$out"
	fi
done

# --- every object against the API's OpenAPI schema ----------------------
# tests/fakes/k8s_validate.mjs (npm kubernetes-models): types, formats,
# enums, required and unknown fields; an unknown kind fails.
if command -v node >/dev/null 2>&1 && [ -d node_modules/kubernetes-models ]; then
	# First, that the validator refuses what the API reference forbids
	# (PodSpec.containers is a list, activeDeadlineSeconds and
	# leaseDurationSeconds integers, a Quantity a number or quantity
	# string, Container.name required, Service type and restartPolicy
	# enums, no such field as activeDeadlineSecond) and passes what it allows.
	cat > "$T/bad.json" <<'EOF'
[{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "list"}, "spec": {"containers": "x"}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "int"},
  "spec": {"activeDeadlineSeconds": "10", "containers": [{"name": "c", "image": "i"}]}},
 {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "lease"},
  "spec": {"holderIdentity": "a", "leaseDurationSeconds": "abc"}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "qty"},
  "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "lots"}}}]}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "noname"}, "spec": {"containers": [{"image": "i"}]}},
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "enum"}, "spec": {"type": "Loadbalancer"}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "policy"},
  "spec": {"restartPolicy": "Sometimes", "containers": [{"name": "c", "image": "i"}]}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "typo"},
  "spec": {"activeDeadlineSecond": 5, "containers": [{"name": "c", "image": "i"}]}},
 {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "crd"}},
 {"apiVersion": "apps/v1", "kind": "Pod", "metadata": {"name": "group"}},
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "good"},
  "spec": {"restartPolicy": "Never", "activeDeadlineSeconds": 60, "containers": [{"name": "c", "image": "i",
   "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}}]}},
 {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "good"},
  "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "renewTime": "2024-01-01T00:00:00.000000Z"}}]
EOF
	res=$(node tests/fakes/k8s_validate.mjs "$T/bad.json" 2>&1)
	is "validator: exit 1 when an object is invalid" "$?" 1
	while IFS= read -r want; do
		line=$(printf '%s\n' "$res" | grep -F -- "$want")
		if [ -n "$line" ]; then ok "validator: $want"; else not_ok "validator: $want"; printf '%s\n' "$res" | sed 's/^/#   /'; fi
	done <<'EOF'
invalid Pod list: spec.containers: must be array
invalid Pod int: spec.activeDeadlineSeconds: must be integer
invalid Lease lease: spec.leaseDurationSeconds: must be integer
invalid Pod qty: spec.containers[0].resources.limits.cpu:
invalid Pod noname: spec.containers[0]: must have required property name
invalid Service enum: spec.type: must be equal to one of the allowed values
invalid Pod policy: spec.restartPolicy: must be equal to one of the allowed values
invalid Pod typo: spec.activeDeadlineSecond: unknown field
invalid Widget crd: apiVersion: no model
invalid Pod group: apiVersion: no model
ok Pod good
ok Lease good
EOF
	is "validator: one line per object" "$(printf '%s\n' "$res" | wc -l)" 12
	printf '[{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]' > "$T/one.json"
	is "validator: exit 0 when all are valid" "$(node tests/fakes/k8s_validate.mjs "$T/one.json")|$?" "ok Namespace x|0"
	for r in base dev prod; do
		"$PY" -c 'import json, sys, yaml
print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))' "$T/$r.yaml" > "$T/$r.json"
		res=$(node tests/fakes/k8s_validate.mjs "$T/$r.json" 2>&1)
		rc=$?
		n=$(printf '%s\n' "$res" | grep -c '^ok ')
		if [ "$rc" -eq 0 ] && [ "$n" -gt 10 ]; then
			ok "$r: all $n objects valid for the Kubernetes API schema"
		else
			not_ok "$r: objects valid for the Kubernetes API schema ($n valid, exit $rc)"
			printf '%s\n' "$res" | grep -v '^ok ' | sed 's/^/#   /'
		fi
	done
else
	ok "# SKIP node or npm kubernetes-models missing: objects not validated against the schema"
fi

# --- object checks (each line printed is one TAP result) -----------------
while IFS=$'\t' read -r res desc detail; do
	if [ "$res" = PASS ]; then ok "$desc"; else not_ok "$desc"; [ -n "$detail" ] && echo "#   $detail"; fi
done < <("$PY" - "$T" <<'EOF' 2>&1 | sed 's/^Traceback/FAIL\tpython checker crashed\tTraceback/'
import glob, os, sys, yaml

T = sys.argv[1]

def res(good, desc, detail=""):
    print(("PASS" if good else "FAIL") + "\t" + desc + "\t" + str(detail).replace("\n", " ")[:400])
    sys.stdout.flush()

def load(name):
    with open(os.path.join(T, name + ".yaml")) as f:
        return [d for d in yaml.safe_load_all(f) if d]

R = {n: load(n) for n in ("base", "dev", "prod")}
NS = {"base": "sta", "dev": "sta-dev", "prod": "sta-prod"}

def find(objs, kind, name=None):
    return [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]

def one(objs, kind, name):
    l = find(objs, kind, name)
    return l[0] if len(l) == 1 else None

def sel_match(sel, labels):
    """A LabelSelector against a label map (empty selector matches all)."""
    if sel is None:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vals: return False
        if op == "NotIn" and labels.get(k) in vals: return False
        if op == "Exists" and k not in labels: return False
        if op == "DoesNotExist" and k in labels: return False
    return True

def qty(s):
    s = str(s)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for u, m in units.items():
        if s.endswith(u):
            return float(s[:-len(u)]) * m
    return float(s)

def pod_specs(objs):
    for o in objs:
        if o["kind"] in ("StatefulSet", "Deployment", "DaemonSet", "Job"):
            yield o, o["spec"]["template"]

# --- NetworkPolicy evaluation (the API's documented semantics) ----------
# A peer is (namespace, namespace labels, pod labels) or "external".
def peer_ok(peer_rule, src, pol_ns):
    if "ipBlock" in peer_rule:
        return src == "external" and peer_rule["ipBlock"].get("cidr") in ("0.0.0.0/0", "::/0")
    if src == "external":
        return False
    ns, ns_labels, labels = src
    if "namespaceSelector" in peer_rule:
        if not sel_match(peer_rule["namespaceSelector"], ns_labels):
            return False
    elif ns != pol_ns:
        return False
    if "podSelector" in peer_rule:
        return sel_match(peer_rule["podSelector"], labels)
    return True

def port_ok(rule, port, proto):
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == proto and ("port" not in p or p["port"] == port) for p in ports)

def allowed(objs, direction, pod_ns, pod_labels, other, port, proto):
    """May traffic cross this pod's policies in DIRECTION (Ingress from /
    Egress to OTHER) on port/proto?  Only this side's policies."""
    pols = [p for p in find(objs, "NetworkPolicy")
            if p["metadata"].get("namespace") == pod_ns and sel_match(p["spec"]["podSelector"], pod_labels)
            and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not pols:
        return True
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for p in pols:
        for rule in p["spec"].get(key) or []:
            if port_ok(rule, port, proto) and (not rule.get(peers) or any(peer_ok(r, other, pod_ns) for r in rule[peers])):
                return True
    return False

def reach(objs, ns, src, dst, port, proto="TCP"):
    """src/dst: pod label maps in namespace ns, or 'external' / a tuple."""
    s = (ns, {"kubernetes.io/metadata.name": ns}, src) if isinstance(src, dict) else src
    d = (ns, {"kubernetes.io/metadata.name": ns}, dst) if isinstance(dst, dict) else dst
    e_ok = True if s == "external" or s[0] != ns else allowed(objs, "Egress", ns, src, d, port, proto)
    i_ok = True if d == "external" or d[0] != ns else allowed(objs, "Ingress", ns, dst, s, port, proto)
    return e_ok and i_ok

WF = {os.path.basename(p): open(p).read() for p in sorted(glob.glob("workflows/*.yaml"))}
ROLE_RULES = {("", "pods"): {"create", "get", "list", "watch", "delete"},
              ("", "pods/log"): {"get"},
              ("coordination.k8s.io", "leases"): {"get", "create", "update"}}
SEC = {"runAsNonRoot": True, "runAsUser": 10001, "readOnlyRootFilesystem": True,
       "allowPrivilegeEscalation": False}

for r, objs in R.items():
    ns = NS[r]
    res(len(objs) > 10, f"{r}: rendered objects", len(objs))
    # Namespace and labels
    nss = find(objs, "Namespace")
    res([n["metadata"]["name"] for n in nss] == [ns], f"{r}: one Namespace, {ns}", [n["metadata"]["name"] for n in nss])
    bad = [f'{o["kind"]}/{o["metadata"]["name"]}' for o in objs
           if (o["metadata"].get("labels") or {}).get("app.kubernetes.io/part-of") != "sta"]
    res(not bad, f"{r}: every object has app.kubernetes.io/part-of: sta", bad)
    bad = [f'{o["kind"]}/{o["metadata"]["name"]}' for o in objs
           if o["kind"] != "Namespace" and o["metadata"].get("namespace") != ns]
    res(not bad, f"{r}: every other object is in namespace {ns}", bad)
    bad = [f'{o["kind"]}/{o["metadata"]["name"]}' for o in pod_specs(objs) for o in [o[0]]
           if not sel_match(o["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"])]
    res(not bad, f"{r}: workload selectors match their pod templates", bad)

    # RBAC: exactly one Role with exactly these rules, bound to the runner's SA.
    res(not find(objs, "ClusterRole") and not find(objs, "ClusterRoleBinding"), f"{r}: no cluster-wide RBAC")
    roles = find(objs, "Role")
    got = {}
    for rule in (roles[0]["rules"] if len(roles) == 1 else []):
        for g in rule.get("apiGroups", []):
            for res_ in rule.get("resources", []):
                got.setdefault((g, res_), set()).update(rule.get("verbs", []))
        if rule.get("resourceNames") or rule.get("nonResourceURLs"):
            got[("extra", "resourceNames/nonResourceURLs")] = set()
    res(len(roles) == 1 and got == ROLE_RULES, f"{r}: the Role grants exactly pods, pods/log, leases with their verbs",
        sorted((k, sorted(v)) for k, v in got.items()))
    rbs = find(objs, "RoleBinding")
    rb_ok = (len(rbs) == 1 and rbs[0]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": roles[0]["metadata"]["name"] if roles else None}
             and [(s["kind"], s["name"], s.get("namespace", ns)) for s in rbs[0]["subjects"]] == [("ServiceAccount", "sta-runner", ns)])
    res(rb_ok, f"{r}: the RoleBinding binds the Role to ServiceAccount sta-runner in {ns}", rbs)
    res(one(objs, "ServiceAccount", "sta-runner") is not None, f"{r}: ServiceAccount sta-runner")

    # Containers: security context, resources.
    for o, tpl in pod_specs(objs):
        spec = tpl["spec"]
        psc = spec.get("securityContext") or {}
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c.get("securityContext") or {}
            eff = {k: sc.get(k, psc.get(k)) for k in SEC}
            seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            good = eff == SEC and (sc.get("capabilities") or {}).get("drop") == ["ALL"] \
                and not (sc.get("capabilities") or {}).get("add") and seccomp == "RuntimeDefault" and not sc.get("privileged")
            res(good, f'{r}: {o["metadata"]["name"]}/{c["name"]} runs non-root 10001, read-only root, no privilege escalation, drops ALL, RuntimeDefault seccomp', sc)
            rq = c.get("resources") or {}
            good = all(k in (rq.get(x) or {}) for x in ("requests", "limits") for k in ("cpu", "memory")) and \
                all(qty(rq["requests"][k]) <= qty(rq["limits"][k]) for k in ("cpu", "memory"))
            res(good, f'{r}: {o["metadata"]["name"]}/{c["name"]} has cpu/memory requests <= limits', rq)

    # Runner
    run = one(objs, "StatefulSet", "sta-runner")
    res(run is not None and run["spec"]["replicas"] == 1, f"{r}: runner StatefulSet with 1 replica")
    if run is None:
        continue
    pod = run["spec"]["template"]
    c = pod["spec"]["containers"][0]
    res((c.get("command") or []) + (c.get("args") or []) ==
        ["sta", "scheduler", "--web", "0.0.0.0:8080", "--lease", "sta-scheduler"],
        f"{r}: runner runs sta scheduler --web 0.0.0.0:8080 --lease sta-scheduler", c.get("command"))
    res(pod["spec"].get("serviceAccountName") == "sta-runner", f"{r}: runner uses ServiceAccount sta-runner")
    env = {e["name"]: e for e in c.get("env", [])}
    cms = {cm["metadata"]["name"]: cm for cm in find(objs, "ConfigMap")}
    for ef in c.get("envFrom", []):
        for k, v in (cms.get(ef.get("configMapRef", {}).get("name"), {}).get("data") or {}).items():
            env.setdefault(k, {"name": k, "value": v, "from": "configmap"})
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    pvcs = [t["metadata"]["name"] for t in run["spec"].get("volumeClaimTemplates", [])]
    home = env.get("STA_HOME", {}).get("value")
    res(home == "/data" and mounts.get("data") == "/data" and "data" in pvcs and "data" not in vols,
        f"{r}: STA_HOME=/data on the PersistentVolumeClaim template", (home, mounts, pvcs))
    wf_vol = [n for n, v in vols.items() if "configMap" in v and mounts.get(n) == env.get("STA_DAGS_FOLDER", {}).get("value")]
    wf_cm = cms.get(vols[wf_vol[0]]["configMap"]["name"]) if wf_vol else None
    res(wf_cm is not None and wf_cm.get("data") == WF, f"{r}: STA_DAGS_FOLDER is a ConfigMap holding exactly workflows/*.yaml",
        sorted((wf_cm or {}).get("data", {})))
    for k in ("STA_LAKE", "STA_STORE", "STA_PROVIDER_URI"):
        res(env.get(k, {}).get("from") == "configmap" and env[k]["value"], f"{r}: {k} comes from a ConfigMap", env.get(k))
    geth_svc = one(objs, "Service", "geth")
    uri = env.get("STA_PROVIDER_URI", {}).get("value")
    res(geth_svc is not None and uri == "http://geth:8545" and
        any(p["port"] == 8545 for p in geth_svc["spec"]["ports"]), f"{r}: STA_PROVIDER_URI points at the geth Service's 8545", uri)
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    def probe_port(pr):
        p = (pr or {}).get("httpGet", {}).get("port")
        return ports.get(p, p)
    res((c.get("readinessProbe") or {}).get("httpGet", {}).get("path") == "/readyz" and probe_port(c.get("readinessProbe")) == 8080,
        f"{r}: readiness probe GET /readyz on 8080", c.get("readinessProbe"))
    res((c.get("livenessProbe") or {}).get("httpGet", {}).get("path") == "/healthz" and probe_port(c.get("livenessProbe")) == 8080,
        f"{r}: liveness probe GET /healthz on 8080", c.get("livenessProbe"))
    svc = one(objs, "Service", "sta-runner")
    res(svc is not None and sel_match({"matchLabels": svc["spec"]["selector"]}, pod["metadata"]["labels"])
        and any(p["port"] == 8080 and ports.get(p.get("targetPort"), p.get("targetPort")) == 8080 for p in svc["spec"]["ports"]),
        f"{r}: Service sta-runner reaches the runner on 8080")

    # geth
    g = one(objs, "StatefulSet", "geth")
    gc = g["spec"]["template"]["spec"]["containers"][0] if g else {}
    args = " ".join(gc.get("args", []))
    need = ["--syncmode=full", "--gcmode=archive", "--http", "--http.addr=0.0.0.0",
            "--http.api=eth,net,web3,debug,txpool", "--http.vhosts=*"]
    res(g is not None and gc.get("image", "").startswith("ethereum/client-go:") and all(a in gc["args"] for a in need),
        f"{r}: geth archive node (ethereum/client-go, full sync, archive gc, http APIs)", args)
    gmounts = {m["name"]: m["mountPath"] for m in gc.get("volumeMounts", [])}
    res(g is not None and "data" in [t["metadata"]["name"] for t in g["spec"].get("volumeClaimTemplates", [])]
        and gmounts.get("data") == "/data" and "--datadir=/data" in gc.get("args", []), f"{r}: geth data on a PersistentVolumeClaim")
    res(geth_svc is not None and geth_svc["spec"].get("clusterIP") == "None" and g is not None
        and g["spec"]["serviceName"] == "geth"
        and sel_match({"matchLabels": geth_svc["spec"]["selector"]}, g["spec"]["template"]["metadata"]["labels"])
        and {(p["port"], p.get("protocol", "TCP")) for p in geth_svc["spec"]["ports"]} == {(8545, "TCP"), (30303, "TCP"), (30303, "UDP")},
        f"{r}: geth behind a headless Service with 8545 and 30303 TCP/UDP")

    # PodDisruptionBudgets
    for w in (run, g):
        labels = w["spec"]["template"]["metadata"]["labels"]
        pdbs = [p for p in find(objs, "PodDisruptionBudget") if sel_match(p["spec"]["selector"], labels)]
        res(len(pdbs) == 1, f'{r}: a PodDisruptionBudget covers {w["metadata"]["name"]}')

    # NetworkPolicies
    deny = [p for p in find(objs, "NetworkPolicy") if p["spec"]["podSelector"] == {}
            and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    res(len(deny) == 1, f"{r}: a default-deny NetworkPolicy for all ingress and egress")
    geth_l = g["spec"]["template"]["metadata"]["labels"]
    run_l = pod["metadata"]["labels"]
    task_l = {"app.kubernetes.io/part-of": "sta", "app.kubernetes.io/component": "task", "sta/dag": "x"}
    other_l = {"app.kubernetes.io/part-of": "sta", "app.kubernetes.io/component": "debug"}
    bare_l = {"run": "shell"}
    foreign = ("elsewhere", {"kubernetes.io/metadata.name": "elsewhere"}, task_l)
    dns = ("kube-system", {"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"})
    ingress_8545 = [p for p in find(objs, "NetworkPolicy") if sel_match(p["spec"]["podSelector"], geth_l)
                    and any(port_ok(rule, 8545, "TCP") for rule in p["spec"].get("ingress") or [])]
    peers = [peer for p in ingress_8545 for rule in p["spec"]["ingress"] if port_ok(rule, 8545, "TCP") for peer in rule.get("from") or [{}]]
    res(bool(peers) and all(set(peer) == {"podSelector"} and (sel_match(peer["podSelector"], run_l) or sel_match(peer["podSelector"], task_l))
                            and not sel_match(peer["podSelector"], other_l) for peer in peers),
        f"{r}: geth's 8545 ingress allows only runner/task pod selectors", peers)
    cases = [
        ("runner -> geth 8545", run_l, geth_l, 8545, "TCP", True),
        ("task pod -> geth 8545", task_l, geth_l, 8545, "TCP", True),
        ("other sta pod -> geth 8545", other_l, geth_l, 8545, "TCP", False),
        ("unlabelled pod -> geth 8545", bare_l, geth_l, 8545, "TCP", False),
        ("task-labelled pod in another namespace -> geth 8545", foreign, geth_l, 8545, "TCP", False),
        ("outside -> geth 8545", "external", geth_l, 8545, "TCP", False),
        ("runner -> geth 8546 (ws)", run_l, geth_l, 8546, "TCP", False),
        ("outside -> geth p2p 30303/TCP", "external", geth_l, 30303, "TCP", True),
        ("outside -> geth discovery 30303/UDP", "external", geth_l, 30303, "UDP", True),
        ("geth -> outside p2p 30303/TCP", geth_l, "external", 30303, "TCP", True),
        ("geth -> outside discovery 30303/UDP", geth_l, "external", 30303, "UDP", True),
        ("geth -> outside 443", geth_l, "external", 443, "TCP", False),
        ("outside -> runner web 8080", "external", run_l, 8080, "TCP", True),
        ("outside -> runner 22", "external", run_l, 22, "TCP", False),
        ("runner -> cluster DNS 53/UDP", run_l, dns, 53, "UDP", True),
        ("geth -> cluster DNS 53/UDP", geth_l, dns, 53, "UDP", True),
        ("task pod -> cluster DNS 53/TCP", task_l, dns, 53, "TCP", True),
        ("unlabelled pod -> outside 80", bare_l, "external", 80, "TCP", False),
        ("unlabelled pod -> outside 443", bare_l, "external", 443, "TCP", False),
        ("runner -> Kubernetes API / S3 443", run_l, "external", 443, "TCP", True),
    ]
    for desc, s, d, port, proto, want in cases:
        src = s if not isinstance(s, tuple) else s
        got = reach(objs, ns, s, d, port, proto)
        res(got == want, f'{r}: NetworkPolicy {"allows" if want else "blocks"} {desc}')

# --- overlays differ as intended ---------------------------------------
def sts(r, n): return one(R[r], "StatefulSet", n)
def storage(r, n): return qty(sts(r, n)["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"])
def req(r, n, k): return qty(sts(r, n)["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"][k])
def image(r): return sts(r, "sta-runner")["spec"]["template"]["spec"]["containers"][0]["image"]
try:
    res(sts("prod", "geth")["spec"]["replicas"] == 2, "prod: two geth replicas")
    res(sts("dev", "geth")["spec"]["replicas"] == 1 and sts("base", "geth")["spec"]["replicas"] == 1, "dev and base: one geth replica")
    res(sts("prod", "sta-runner")["spec"]["replicas"] == 1 and sts("dev", "sta-runner")["spec"]["replicas"] == 1, "dev and prod: one runner")
    for n in ("sta-runner", "geth"):
        res(storage("dev", n) < storage("base", n) < storage("prod", n), f"{n} volume: dev < base < prod",
            [storage(x, n) for x in ("dev", "base", "prod")])
        res(all(req("dev", n, k) < req("base", n, k) < req("prod", n, k) for k in ("cpu", "memory")),
            f"{n} requests: dev < base < prod")
    res(image("dev") == "sta:dev" and image("prod") == "sta:0.1.0", "overlays pin the sta image tag", (image("dev"), image("prod")))
    res(len({NS[r] for r in R}) == 3, "base, dev and prod use different namespaces")
except Exception as e:  # a missing object already failed above
    res(False, "overlay comparison", repr(e))
EOF
)

# --- Dockerfile ------------------------------------------------------------
runtime=$(awk '/^FROM debian:12-slim/{s=1} s&&/rm -rf \/var\/lib\/apt/{i=0} i{print} s&&/apt-get install/{i=1}' Dockerfile |
	tr ' \\&' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|update|DEBIAN_FRONTEND)$' | sort -u)
wantrt=$(printf '%s\n' libsqlite3-0 libcurl4 libcjson1 libyaml-0-2 libev4 libsodium23 libnettle8 libpq5 libmicrohttpd12 ca-certificates | sort)
is "Dockerfile runtime stage installs exactly the runtime libraries" "$runtime" "$wantrt"
check "Dockerfile: multi-stage (debian:12 build, debian:12-slim runtime)" \
	grep -qzE 'FROM debian:12 AS build.*FROM debian:12-slim' Dockerfile
check "Dockerfile: runs as USER 10001 with ENTRYPOINT [\"sta\"]" \
	bash -c 'grep -qx "USER 10001" Dockerfile && grep -qx "ENTRYPOINT \[\"sta\"\]" Dockerfile'
build_pkgs=$(awk '/^FROM debian:12 AS build/{s=1} /^FROM debian:12-slim/{s=0} s' Dockerfile | tr ' \\' '\n' | sort -u)
missing=""
for p in $(sed -n '/^APT_PACKAGES=(/,/^)/p' dev | tr ' \t' '\n' | grep -E -- '-dev$|^(gcc|make|autoconf|automake|autoconf-archive|libtool|pkg-config)$'); do
	printf '%s\n' "$build_pkgs" | grep -qx -- "$p" || missing="$missing $p"
done
is "Dockerfile build stage installs every build package ./dev lists" "$missing" ""

if apt-cache show libc6 >/dev/null 2>&1; then
	bad=""
	for p in $wantrt; do apt-cache show "$p" >/dev/null 2>&1 || bad="$bad $p"; done
	is "runtime packages exist in the Debian archive (apt-cache show)" "$bad" ""
	# owner FILE: the package holding FILE (dpkg knows /lib paths under
	# usrmerge by either name).
	owner() {
		local f r
		r=$(readlink -f "$1")
		for f in "$1" "$r" "${r#/usr}"; do
			dpkg -S "$f" 2>/dev/null | sed 's/:.*//' | head -1 | grep . && return
		done
	}
	# The packages (with their dependencies) apt would install into the slim image.
	closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances $wantrt 2>/dev/null | grep -v '^ ' | sed 's/:.*//' | sort -u)
	direct=$(objdump -p "$STA" 2>/dev/null | awk '$1 == "NEEDED" {print $2}')
	[ -n "$direct" ] || direct=$(ldd "$STA" | awk '/=>/ {print $1}')
	bad=""
	for lib in $direct; do
		case $lib in libasan.so*|libubsan.so*|libc.so*|libm.so*|ld-linux*) continue ;; esac
		path=$(ldd "$STA" | awk -v l="$lib" '$1 == l {print $3}')
		pkg=$(owner "$path")
		printf '%s\n' $wantrt | grep -qx -- "$pkg" || bad="$bad $lib($pkg)"
	done
	is "every library sta links directly comes from a listed runtime package (dpkg -S)" "$bad" ""
	bad=""
	for path in $(ldd "$STA" | awk '/=> \// {print $3}'); do
		case $path in *libasan.so*|*libubsan.so*|*libstdc++*|*libgcc_s*) continue ;; esac
		pkg=$(owner "$path")
		[ "$pkg" = libc6 ] && continue
		printf '%s\n' "$closure" | grep -qx -- "$pkg" || bad="$bad $(basename "$path")(${pkg:-none})"
	done
	is "every library ldd finds comes with the runtime packages' dependencies" "$bad" ""
else
	ok "# SKIP apt lists missing: runtime package names not checked"
fi

done_testing
