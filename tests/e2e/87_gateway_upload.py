"""Gateway, black box: a big request body is streamed to the app, not
buffered: the worker's resident memory grows by far less than the body
(256 MiB over HTTP with Content-Length, over the uwsgi protocol, and 64 MiB
chunked).  The app reads 64 KiB at a time and reports its RSS
(tests/apps/wsgi_suite.py /upload)."""
import hashlib
import os
import socket

import harness
from harness import RawClient, uwsgi_differs

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

APP = os.path.join(harness.TEST_APPS_DIR, "wsgi_suite.py")
MiB = 1 << 20
BLOCK = os.urandom(MiB)
LIMIT = 48 * MiB  # allowed RSS growth while reading the body


def expected(n_mib):
    h = hashlib.sha256()
    for _ in range(n_mib):
        h.update(BLOCK)
    return h.hexdigest()


class Upload(harness.SharedGatewayTestCase):
    @classmethod
    def gateway_args(cls):
        cls.port = harness.free_port()
        cls.uw_port = harness.free_port()
        return ["--http-socket", "127.0.0.1:%d" % cls.port, "--socket", "127.0.0.1:%d" % cls.uw_port,
                "--wsgi-file", APP, "--processes", "1"]

    @classmethod
    def gateway_env(cls):
        # in the sanitizer build, ASan's quarantine (256 MiB by default) keeps
        # freed buffers resident: bound it so RSS means what it means
        opts = os.environ.get("ASAN_OPTIONS", "")
        return {"ASAN_OPTIONS": (opts + ":" if opts else "") + "quarantine_size_mb=8"}

    def setUp(self):
        super().setUp()
        # the worker's peak RSS before: a server that buffered the body
        # before calling the app would raise it (the app could not see that)
        self.hwm = {p: harness.proc_rss(p, "VmHWM") for p in self.gateway.workers()}

    def check(self, r, n_mib):
        self.assertEqual(r.status, 200, r.body)
        pid = r.json()["pid"]
        if pid in self.hwm:
            peak = harness.proc_rss(pid, "VmHWM") - self.hwm[pid]
            self.assertLess(peak, LIMIT, "worker peak RSS grew by %d MiB" % (peak // MiB))
        j = r.json()
        self.assertEqual(j["len"], n_mib * MiB)
        self.assertEqual(j["sha256"], expected(n_mib))
        grew = j["rss_max"] - j["rss_start"]
        self.assertLess(grew, LIMIT, "worker RSS grew by %d MiB for a %d MiB body"
                        % (grew // MiB, n_mib))
        self.assertLess(harness.proc_rss(self.gateway.pid), 256 * MiB, "master RSS")

    def test_http_content_length_256mib(self):
        n = 256
        c = RawClient(self.port, timeout=120)
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (n * MiB))
        for _ in range(n):
            c.sock.sendall(BLOCK)
        r = c.read_response()
        c.close()
        self.check(r, n)

    def test_uwsgi_256mib(self):
        n = 256
        c = harness.UwsgiClient(self.uw_port, timeout=120)
        env = harness.uwsgi_vars(method="POST", path="/upload", port=self.uw_port, script_name="")
        env = [(k, str(n * MiB) if k == "CONTENT_LENGTH" else v) for k, v in env]
        c.send(harness.uwsgi_packet(env))
        for _ in range(n):
            c.sock.sendall(BLOCK)
        r = c.read_response()
        c.close()
        self.check(r, n)

    @uwsgi_differs("--http-socket does not decode chunked request bodies")
    def test_http_chunked_64mib(self):
        n = 64
        c = RawClient(self.port, timeout=120)
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        for _ in range(n):
            c.sock.sendall(b"%x\r\n" % len(BLOCK) + BLOCK + b"\r\n")
        c.sock.sendall(b"0\r\n\r\n")
        r = c.read_response()
        c.close()
        self.check(r, n)


if __name__ == "__main__":
    harness.main()
