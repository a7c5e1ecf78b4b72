"""An S3 store for the S3 runs of make bench: s3rver on 127.0.0.1.

s3rver comes from .deps (make deps) through the tests' wrapper
(tests/integ/s3rver.js: listing fixed, SigV4 checked), started once per
run so that every request it logs belongs to the replicator under test.
Its request log (S3RVER_REQUEST_LOG) gives the requests per operation in a
time window; its filesystem store keeps each object whole in a file named
KEY._S3rver_object, which the lag probe reads like a directory replica.
"""
import os
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WRAPPER = os.path.join(ROOT, "tests", "integ", "s3rver.js")
OBJECT_SUFFIX = "._S3rver_object"
BUCKET = "bench"
PREFIX = "app"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Store:
    def __init__(self, workdir, spawn, reap):
        self.dir = os.path.join(workdir, "s3rver")
        self.log = os.path.join(workdir, "s3rver-requests.log")
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ, S3RVER_REQUEST_LOG=self.log)
        self._reap = reap
        self.proc = spawn(["node", WRAPPER, str(self.port), self.dir, BUCKET],
                          os.path.join(workdir, "s3rver.log"), env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("s3rver did not start on %s" % self.endpoint)

    def stop(self):
        try:
            self.proc.terminate()
        except ProcessLookupError:
            pass
        self._reap(self.proc, 10)

    def replica_dir(self, path=PREFIX):
        """Where the objects of the replica at PATH are, as files."""
        return os.path.join(self.dir, BUCKET, path)

    def config(self, path=PREFIX, sync_interval="1s"):
        """The YAML replica entry (indented for a dbs[].replicas list)."""
        return ("      - type: s3\n"
                "        bucket: %s\n"
                "        path: %s\n"
                "        endpoint: %s\n"
                "        region: us-east-1\n"
                "        force-path-style: true\n"
                "        access-key-id: S3RVER\n"
                "        secret-access-key: S3RVER\n"
                "        sync-interval: %s\n" % (BUCKET, path, self.endpoint,
                                                 sync_interval))

    def requests(self, t0, t1):
        """Requests received in [t0, t1) (wall seconds), by operation."""
        ops = {}
        try:
            with open(self.log) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 3:
                        continue
                    t = int(parts[0]) / 1000.0
                    if t0 <= t < t1:
                        op = classify(parts[1], parts[2])
                        ops[op] = ops.get(op, 0) + 1
        except OSError:
            pass
        return ops


def classify(method, url):
    path, _, query = url.partition("?")
    params = {p.split("=", 1)[0] for p in query.split("&") if p}
    bucket_only = path.strip("/").count("/") == 0
    if method == "GET" and bucket_only:
        return "list"
    if method == "POST" and "delete" in params:
        return "delete"
    if "uploadId" in params or "uploads" in params:
        return "multipart"
    return method.lower()
