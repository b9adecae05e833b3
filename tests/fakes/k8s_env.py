# k8s_env.py: a private Kubernetes API test server for a test or bench:
# a test CA and server certificate made with openssl (more CAs and client
# certificates on request), tests/fakes/k8s_api.py started on a free port,
# a kubeconfig pointing at it (and a writer for others), and small helpers
# to call its API and its /_fake control endpoints with the test CA.
import base64
import http.client
import json
import os
import ssl
import subprocess
import sys
import time

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "k8s_api.py")
TOKEN = "t0ken-for-tests"


class FakeCluster:
    """The fake API server, its files in folder: ca.crt/ca.key (the CA the
    server's certificate comes from), server.crt/server.key, port, fake.log
    and kubeconfig.  token is the one call() and the kubeconfig use; tokens
    are more the server accepts; client_ca makes it accept client
    certificates issued by ca.crt."""

    def __init__(self, folder, fake_args=(), namespace="team-a", token=TOKEN, tokens=(),
                 client_ca=False):
        self.dir = folder
        self.ns = namespace
        self.token = token
        os.makedirs(folder, exist_ok=True)
        self._certs()
        pf = os.path.join(folder, "port")
        args = ["--token", token]
        for t in tokens:
            args += ["--token", t]
        if client_ca:
            args += ["--client-ca", self.path("ca.crt")]
        self.log = open(os.path.join(folder, "fake.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--port-file", pf, "--cert", self.path("server.crt"),
             "--key", self.path("server.key")] + args + list(fake_args),
            stdout=self.log, stderr=self.log)
        for _ in range(200):
            if os.path.exists(pf):
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("the fake API server did not start; see " + self.log.name)
        self.port = int(open(pf).read())
        self.server = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = self.write_kubeconfig("kubeconfig", context="test")
        self.ctx = ssl.create_default_context(cafile=self.path("ca.crt"))

    def path(self, name):
        return os.path.join(self.dir, name)

    def b64(self, name):
        """A file of the folder base64-encoded, for a kubeconfig's *-data fields."""
        with open(self.path(name), "rb") as f:
            return base64.b64encode(f.read()).decode()

    def _sh(self, *cmd):
        subprocess.run(cmd, check=True, cwd=self.dir, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def make_ca(self, name):
        """A self-signed CA, name.crt and name.key."""
        self._sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN=sta test {name}")

    def make_cert(self, name, subject, extension, ca="ca"):
        """name.crt and name.key for subject (/CN=...), issued by the CA ca with
        one extension line (e.g. subjectAltName=... or extendedKeyUsage=clientAuth)."""
        with open(self.path(f"{name}.ext"), "w") as f:
            f.write(extension + "\n")
        self._sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", "-subj", subject)
        self._sh("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")

    def _certs(self):
        if os.path.exists(self.path("server.crt")):
            return
        self.make_ca("ca")
        self.make_cert("server", "/CN=kubernetes", "subjectAltName=IP:127.0.0.1,DNS:localhost")

    def write_kubeconfig(self, name, cluster=None, user=None, namespace=None, context="main",
                         extra_contexts=""):
        """Writes the kubeconfig name in the folder and returns its path: one
        cluster c, one user u and the current context (named context) of the
        two in namespace (default this cluster's).  cluster and user are the
        stanzas' bodies, indented four spaces; by default this server with
        ca.crt (a path relative to the file) and the token.  extra_contexts
        is appended to the contexts list as it is."""
        if cluster is None:
            cluster = f"    server: {self.server}\n    certificate-authority: ca.crt"
        if user is None:
            user = f"    token: {self.token}"
        path = self.path(name)
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
current-context: {context}
clusters:
- name: c
  cluster:
{cluster}
users:
- name: u
  user:
{user}
contexts:
- name: {context}
  context:
    cluster: c
    user: u
    namespace: {namespace or self.ns}
{extra_contexts}""")
        return path

    def conn(self, timeout=30):
        """An HTTPS connection to the server that trusts the test CA."""
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)

    def call(self, method, path, body=None, auth=True):
        """(status, parsed JSON or text) of one request; auth: send the token."""
        c = self.conn()
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = "Bearer " + self.token
        c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data

    def control(self, path, body=None, method="POST"):
        """The answer of one /_fake control endpoint (a POST sends {} if no body)."""
        return self.call(method, path, body if body is not None or method != "POST" else {},
                         auth=False)[1]

    def requests_seen(self):
        """The server's request log: [method, path, who, status] each."""
        return self.control("/_fake/requests", method="GET")

    def pods(self):
        """The namespace's pods as the API lists them."""
        st, d = self.call("GET", f"/api/v1/namespaces/{self.ns}/pods")
        return d["items"] if st == 200 else []

    def env(self, kubeconfig=True):
        """Environment for a client of this cluster: none of the caller's
        Kubernetes settings, KUBECONFIG the cluster's kubeconfig if asked."""
        e = {k: v for k, v in os.environ.items()
             if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
        if kubeconfig:
            e["KUBECONFIG"] = self.kubeconfig
        return e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
