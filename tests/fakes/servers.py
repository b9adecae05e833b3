# servers.py: the real servers integration tests start for themselves, on
# loopback and private ports: the devnet (anvil), PostgreSQL 15 and s3rver.
# Each returns what to connect with and, where needed, a function that
# stops it.
import os
import pwd
import shutil
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def devnet(src, datadir):
    """Starts the devnet (devnet/start.sh) in datadir; returns its URL."""
    p = subprocess.run(["bash", os.path.join(src, "devnet", "start.sh"), "0", datadir],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("devnet did not start: " + p.stderr)
    return p.stdout.strip().splitlines()[-1]


def _pg_bin(name):
    for v in ("15", "16", "14", "13"):
        path = f"/usr/lib/postgresql/{v}/bin/{name}"
        if os.path.exists(path):
            return path
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"{name} not found: install the Debian package postgresql")


def postgres(datadir):
    """initdb + pg_ctl start on a free port (as the postgres user when run
    as root, since initdb refuses root).  Returns (url, stop)."""
    port = free_port()
    os.makedirs(datadir, exist_ok=True)
    prefix = []
    if os.getuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(datadir, pw.pw_uid, pw.pw_gid)
        os.chmod(os.path.dirname(datadir), 0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = os.path.join(datadir, "data"), os.path.join(datadir, "log")
    subprocess.run(prefix + [_pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run(prefix + [_pg_bin("pg_ctl"), "-D", data, "-l", log, "-w", "-o",
                             f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off "
                             "-c synchronous_commit=off -c full_page_writes=off", "start"],
                   check=True, capture_output=True)

    def stop():
        subprocess.run(prefix + [_pg_bin("pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


def s3rver(src, datadir, bucket):
    """npm s3rver with one bucket.  Returns (environment for sta, stop)."""
    port = free_port()
    os.makedirs(datadir, exist_ok=True)
    log = open(os.path.join(datadir, "s3rver.log"), "w")
    proc = subprocess.Popen([os.path.join(src, "node_modules", ".bin", "s3rver"), "-d", datadir,
                             "-p", str(port), "-a", "127.0.0.1", "--configure-bucket", bucket,
                             "--silent"], stdout=log, stderr=subprocess.STDOUT,
                            # s3rver 3.7 encrypts list continuation tokens with DES,
                            # which node 20 refuses without the legacy provider.
                            env=dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    env = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
           "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}

    def stop():
        proc.kill()
        proc.wait()
    return env, stop
