"""Shared helpers for end-to-end tests: start the real binaries on loopback,
talk raw HTTP to them, run small backends.  Standard library only (Debian's
/usr/bin/python3).  Every wait here is bounded in time."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SRC_DIR = os.environ.get("SRC_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("BUILD_DIR") or os.path.join(SRC_DIR, "build")
PROXY_BIN = os.path.join(BUILD_DIR, "proxy", "proxy")
GATEWAY_BIN = os.path.join(BUILD_DIR, "gateway", "gateway")
CORPORA_DIR = os.path.abspath(os.path.join(SRC_DIR, "..", "shared", "corpora"))
SYSTEM_PYTHON = "/usr/bin/python3"


def clean_env(extra=None):
    """The environment for child processes: no pyenv Python settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    env.update(extra or {})
    return env


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, step=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError("timed out waiting for %s" % what)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def unix_open(path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(0.2)
            s.connect(path)
            return True
    except OSError:
        return False


class Proc:
    """A child process with its output captured to a file in `workdir`."""

    def __init__(self, args, workdir, name="proc", env=None, cwd=None):
        self.args = [str(a) for a in args]
        self.log_path = os.path.join(workdir, name + ".out")
        self.log = open(self.log_path, "wb")
        self.p = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=clean_env(env), cwd=cwd or workdir, start_new_session=True)

    @property
    def pid(self):
        return self.p.pid

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.p.poll() is None

    def wait_port(self, port, timeout=10.0):
        def ready():
            if not self.alive():
                raise RuntimeError("%s exited with %s:\n%s" % (self.args[0], self.p.returncode, self.output()))
            return port_open(port)
        wait_for(ready, timeout, what="port %d of %s" % (port, self.args[0]))

    def wait_unix(self, path, timeout=10.0):
        def ready():
            if not self.alive():
                raise RuntimeError("%s exited with %s:\n%s" % (self.args[0], self.p.returncode, self.output()))
            return unix_open(path)
        wait_for(ready, timeout, what="socket %s of %s" % (path, self.args[0]))

    def signal(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def wait(self, timeout=10.0):
        return self.p.wait(timeout)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Stops the process group; kills it if it does not stop in time."""
        if self.alive():
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        else:
            # workers may outlive a crashed master: never leave them behind
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()
        return self.p.returncode


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status, self.reason, self.headers, self.body, self.version = status, reason, headers, body, version

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r %d bytes>" % (self.status, self.headers, len(self.body))


class RawClient:
    """A raw HTTP/1.x client on one connection: send bytes, read responses.
    `head_only` tells read_response a HEAD was sent (no body follows)."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0, unix=None, source=None):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout,
                                                 source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head_only=False):
        """Reads one response (skipping 1xx interim ones unless asked)."""
        while True:
            line = self._line().decode("latin-1")
            parts = line.split(" ", 2)
            version, status = parts[0], int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            headers = []
            while True:
                h = self._line()
                if not h:
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers.append((k.strip(), v.strip()))
            if 100 <= status < 200 and status != 101:
                continue
            break
        resp = Response(status, reason, headers, b"", version)
        if head_only or status in (204, 304) or 100 <= status < 200:
            return resp
        te = (resp.header("transfer-encoding") or "").lower()
        cl = resp.header("content-length")
        if "chunked" in te:
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._exact(size)
                self._exact(2)
            resp.body = body
        elif cl is not None:
            resp.body = self._exact(int(cl))
        else:
            try:
                while True:
                    self._fill()
            except (ConnectionError, socket.timeout):
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def read_interim(self):
        """Reads one status line + headers without skipping 1xx."""
        line = self._line().decode("latin-1")
        status = int(line.split(" ", 2)[1])
        while self._line():
            pass
        return status

    def closed(self, timeout=2.0):
        """True when the peer has closed (EOF or reset) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except ConnectionError:
            return True

    def close(self):
        self.sock.close()


def request(port, method="GET", path="/", headers=None, body=None, host="127.0.0.1", timeout=10.0):
    """One request on a fresh connection with http.client; returns Response."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data, "HTTP/%d.%d" % divmod(r.version, 10))
    finally:
        c.close()


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with JSON describing it, and its server's name.
    Path /status/NNN answers that status; /sleep/SECS waits first;
    /bytes/N sends N bytes."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _handle(self):
        body = b""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        elif self.headers.get("Content-Length"):
            body = self.rfile.read(int(self.headers["Content-Length"]))
        srv = self.server
        with srv.lock:
            srv.hits.append({"method": self.command, "path": self.path,
                             "headers": list(self.headers.items()), "body": body,
                             "client": self.client_address})
        status = 200
        parts = self.path.split("?")[0].split("/")
        if len(parts) >= 3 and parts[1] == "status":
            status = int(parts[2])
        if len(parts) >= 3 and parts[1] == "sleep":
            time.sleep(float(parts[2]))
        if len(parts) >= 3 and parts[1] == "bytes":
            out = b"x" * int(parts[2])
            ctype = "application/octet-stream"
        else:
            out = json.dumps({"server": srv.name, "method": self.command, "path": self.path,
                              "headers": [[k, v] for k, v in self.headers.items()],
                              "body": body.decode("latin-1")}).encode()
            ctype = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.send_header("X-Backend", srv.name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class Backend:
    """An echo HTTP/1.1 backend on 127.0.0.1 (or `host`) in a thread."""

    def __init__(self, name="b", port=0, host="127.0.0.1"):
        self.srv = ThreadingHTTPServer((host, port), EchoHandler)
        self.srv.daemon_threads = True
        self.srv.name = name
        self.srv.hits = []
        self.srv.lock = threading.Lock()
        self.port = self.srv.server_address[1]
        self.name = name
        self.t = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.t.start()

    @property
    def hits(self):
        return self.srv.hits

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class TempDirTestCase(unittest.TestCase):
    """A test case with a fresh temporary folder in self.tmp, removed after
    (kept when KEEP_TMP is set, for debugging)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chain-e2e-")
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop(signal.SIGKILL if not p.alive() else signal.SIGTERM)
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def spawn(self, args, name="proc", env=None, cwd=None):
        p = Proc(args, self.tmp, name=name, env=env, cwd=cwd)
        self.procs.append(p)
        return p

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path


def need_binary(path):
    """Exit with ctest's skip code when a binary this test needs is missing."""
    if not os.path.exists(path):
        print("SKIP: %s not built" % path)
        sys.exit(77)


def main():
    """Runs the calling module's tests; exits non-zero on failure."""
    unittest.main(module="__main__", verbosity=2)
