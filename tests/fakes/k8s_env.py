# k8s_env.py: a private Kubernetes API test server for a test or bench:
# a test CA and server certificate made with openssl, tests/fakes/k8s_api.py
# started on a free port, a kubeconfig pointing at it, and small helpers to
# call its API and its /_fake control endpoints with the test CA.
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
    def __init__(self, folder, fake_args=(), namespace="team-a"):
        self.dir = folder
        self.ns = namespace
        os.makedirs(folder, exist_ok=True)
        self._certs()
        pf = os.path.join(folder, "port")
        self.log = open(os.path.join(folder, "fake.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--port-file", pf, "--cert", self.path("server.crt"),
             "--key", self.path("server.key"), "--token", TOKEN] + list(fake_args),
            stdout=self.log, stderr=self.log)
        for _ in range(200):
            if os.path.exists(pf):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the fake API server did not start; see " + self.log.name)
        self.port = int(open(pf).read())
        self.kubeconfig = self.path("kubeconfig")
        with open(self.kubeconfig, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:{self.port}
    certificate-authority: ca.crt
users:
- name: u
  user:
    token: {TOKEN}
contexts:
- name: test
  context:
    cluster: c
    user: u
    namespace: {namespace}
""")
        self.ctx = ssl.create_default_context(cafile=self.path("ca.crt"))

    def path(self, name):
        return os.path.join(self.dir, name)

    def _sh(self, *cmd):
        subprocess.run(cmd, check=True, cwd=self.dir, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def _certs(self):
        if os.path.exists(self.path("server.crt")):
            return
        self._sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=sta test ca")
        with open(self.path("san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        self._sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
                 "-out", "server.csr", "-subj", "/CN=kubernetes")
        self._sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")

    def call(self, method, path, body=None, auth=True):
        """(status, parsed JSON or text) of one request."""
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = "Bearer " + TOKEN
        c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data

    def control(self, path, body=None, method="POST"):
        return self.call(method, path, body if body is not None or method != "POST" else {},
                         auth=False)[1]

    def pods(self):
        """The namespace's pods as the API lists them."""
        st, d = self.call("GET", f"/api/v1/namespaces/{self.ns}/pods")
        return d["items"] if st == 200 else []

    def env(self):
        """Environment for a client of this cluster."""
        e = {k: v for k, v in os.environ.items()
             if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
        e["KUBECONFIG"] = self.kubeconfig
        return e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
