"""Shared helpers for end-to-end tests: start the real binaries on loopback,
talk raw HTTP to them, run small backends.  Standard library only (Debian's
/usr/bin/python3).  Every wait here is bounded in time."""
import contextlib
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
CORPORA_DIR = os.environ.get("CORPORA_DIR") or os.path.abspath(os.path.join(SRC_DIR, "..", "shared", "corpora"))


def _worktree_corpora():
    """In a git worktree (.git is a file "gitdir: MAIN/.git/worktrees/NAME")
    ../shared sits beside the main checkout, not beside the worktree."""
    try:
        with open(os.path.join(SRC_DIR, ".git")) as f:
            gitdir = f.read().split("gitdir:", 1)[1].strip()
    except (OSError, IndexError):
        return None
    main = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(gitdir))))
    return os.path.join(os.path.dirname(main), "shared", "corpora")


if not os.environ.get("CORPORA_DIR") and not os.path.isdir(CORPORA_DIR):
    CORPORA_DIR = _worktree_corpora() or CORPORA_DIR

# The external request corpora the conformance replays use, and where they
# come from (said whenever a test skips for want of them).
CORPORA = {
    "gunicorn_requests.json": "gunicorn's tests/requests/{valid,invalid} (MIT), as JSON",
    "llhttp_head_vectors.json": "llhttp's test/**/*.md request vectors at its 9.4.x head (MIT), as JSON",
}


def corpora_missing(name):
    """None when corpus file `name` is there, else the reason to skip: where
    it was looked for, what it is and how to provide it."""
    path = os.path.join(CORPORA_DIR, name)
    if os.path.isfile(path):
        return None
    return ("corpus %s not found at %s: it is %s, kept outside the repository in "
            "../shared/corpora beside the checkout (or the main checkout of a git worktree), "
            "described by the README.md there; set CORPORA_DIR to its folder to run this test"
            % (name, path, CORPORA.get(name, "an external corpus")))
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

    def stop(self, sig=None, timeout=10.0):
        """Stops the process group (SIGTERM by default); kills it if it does
        not stop in time."""
        if sig is None:  # (a default of signal.SIGTERM would see the method)
            sig = signal.SIGTERM
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

    def read_until(self, marker, timeout=30.0):
        """Reads until `marker` (bytes) is in the buffer, within `timeout` s."""
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("%r not seen within %s s" % (marker, timeout))
            self._fill()

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
                line = self.rfile.readline()
                if not line:  # the sender gave up mid-body: no request
                    self.close_connection = True
                    return
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        elif self.headers.get("Content-Length"):
            n = int(self.headers["Content-Length"])
            body = self.rfile.read(n)
            if len(body) < n:  # the sender gave up mid-body: no request (as a real server)
                self.close_connection = True
                return
        srv = self.server
        with srv.lock:
            srv.hits.append({"method": self.command, "path": self.path,
                             "headers": list(self.headers.items()), "body": body,
                             "client": self.client_address})
        status = getattr(srv, "fail_status", None) or 200
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
        if self.headers.get("X-Want-App-Us"):  # what a gateway reports (Server-Timing)
            self.send_header("X-Chain-App-Us", self.headers["X-Want-App-Us"])
        for k, v in getattr(srv, "extra_headers", ()):
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_LOCK = _handle


class Backend:
    """An echo HTTP/1.1 backend on 127.0.0.1 (or `host`) in a thread.
    `fail_status` makes it answer that status to everything (a sick peer);
    `extra_headers` are added to every response."""

    def __init__(self, name="b", port=0, host="127.0.0.1", fail_status=None, extra_headers=()):
        self.srv = ThreadingHTTPServer((host, port), EchoHandler)
        self.srv.daemon_threads = True
        self.srv.name = name
        self.srv.fail_status = fail_status
        self.srv.extra_headers = list(extra_headers)
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
        # a cleanup, not only tearDown: it also runs when setUp fails after
        # spawning something (a slow start under load), so nothing is leaked
        self.addCleanup(self._stop_all)

    def _stop_all(self):
        for p in reversed(self.procs):
            if p.log.closed:
                continue
            p.stop(signal.SIGKILL if not p.alive() else signal.SIGTERM)
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def tearDown(self):
        self._stop_all()

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


_RUNNING = False  # set by main(): tests are running


def need_binary(path):
    """Exit with ctest's skip code when a binary this test needs is missing.
    Called from inside a test (setUp, setUpClass), it skips that test instead
    (SystemExit there would count as an error); main() then exits 77 when
    every test was skipped that way."""
    if not os.path.exists(path):
        if _RUNNING:
            raise unittest.SkipTest("%s not built" % path)
        print("SKIP: %s not built" % path)
        sys.exit(77)


def main():
    """Runs the calling module's tests; exits non-zero on failure, 77 (ctest's
    skip) when every test was skipped for a binary that is not built."""
    global _RUNNING
    _RUNNING = True
    prog = unittest.main(module="__main__", verbosity=2, exit=False)
    r = prog.result
    if (r.testsRun and not r.failures and not r.errors and len(r.skipped) == r.testsRun
            and all(why.endswith(" not built") for _, why in r.skipped)):
        sys.exit(77)
    sys.exit(0 if r.wasSuccessful() else 1)


# --- the gateway under test (ours or Debian's uWSGI) ------------------------
# GATEWAY_IMPL=ours (default; build/gateway/gateway) or GATEWAY_IMPL=uwsgi
# (/usr/bin/uwsgi --plugin python3): the e2e gateway tests speak uWSGI's option
# names, so they can be validated against uWSGI itself.  Where uWSGI is known
# to behave differently, tests say so with @uwsgi_differs(reason).
GATEWAY_IMPL = os.environ.get("GATEWAY_IMPL", "ours")
UWSGI_BIN = os.environ.get("UWSGI_BIN", "/usr/bin/uwsgi")
TEST_APPS_DIR = os.path.join(SRC_DIR, "tests", "apps")
APPS_DIR = os.path.join(SRC_DIR, "apps")


def need_gateway():
    """Exits 77 (skip) when the gateway under test is not built/installed."""
    if GATEWAY_IMPL not in ("ours", "uwsgi"):
        print("GATEWAY_IMPL must be ours or uwsgi, not %r" % GATEWAY_IMPL)
        sys.exit(2)
    need_binary(UWSGI_BIN if GATEWAY_IMPL == "uwsgi" else GATEWAY_BIN)


def gateway_argv(args, impl=None):
    """The command line running the gateway under test with `args` (uWSGI's
    option names).  For uWSGI the flags that make it behave like ours by
    default are added: a master, TERM stops, a failed import is fatal, the app
    is imported after the fork, --max-requests works at once (uWSGI >= 2.0.15
    ignores it during a worker's first 60 s)."""
    impl = impl or GATEWAY_IMPL
    args = [str(a) for a in args]
    if impl == "uwsgi":
        return [UWSGI_BIN, "--plugin", "python3", "--master", "--die-on-term", "--need-app",
                "--lazy-apps", "--min-worker-lifetime", "0"] + args
    return [GATEWAY_BIN] + args


def gateway_addrs(args):
    """The listening addresses in `args`: ("tcp", port) or ("unix", path)."""
    out = []
    args = [str(a) for a in args]
    for i, a in enumerate(args):
        if a in ("--http-socket", "--socket", "--stats") and i + 1 < len(args):
            v = args[i + 1]
        elif a.startswith(("--http-socket=", "--socket=")):
            v = a.split("=", 1)[1]
        else:
            continue
        if v.startswith("unix:"):
            out.append(("unix", v[5:]))
        elif "/" in v or ":" not in v:
            out.append(("unix", v))
        else:
            out.append(("tcp", int(v.rsplit(":", 1)[1])))
    return out


def proc_children(pid):
    """The pids whose parent is `pid` (from /proc)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            kids.append(int(d))
    return sorted(kids)


def proc_rss(pid, field="VmRSS"):
    """Resident set size of `pid` in bytes (0 when gone); field="VmHWM"
    gives its peak instead."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def read_stats(port):
    """The gateway's --stats JSON (uWSGI serves it bare, or after an HTTP head)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    if data.startswith(b"HTTP/"):
        data = data.split(b"\r\n\r\n", 1)[1]
    return json.loads(data)


class GatewayProc(Proc):
    """A running gateway under test; `impl` is "ours" or "uwsgi"."""

    def __init__(self, args, workdir, name="gateway", env=None, cwd=None, impl=None):
        self.impl = impl or GATEWAY_IMPL
        self.gw_args = [str(a) for a in args]
        super().__init__(gateway_argv(args, self.impl), workdir, name=name, env=env, cwd=cwd)

    def wait_ready(self, timeout=20.0):
        for kind, where in gateway_addrs(self.gw_args):
            if kind == "tcp":
                self.wait_port(where, timeout)
            else:
                self.wait_unix(where, timeout)
        return self

    def workers(self):
        """The worker pids (children of the master)."""
        return proc_children(self.pid)

    def wait_workers(self, n, timeout=20.0):
        return wait_for(lambda: (lambda w: len(w) == n and w)(self.workers()), timeout,
                        what="%d workers of %s" % (n, self.impl))

    def stop_signal(self):
        """The signal that stops this implementation (uWSGI: INT)."""
        return signal.SIGINT if self.impl == "uwsgi" else signal.SIGTERM


def uwsgi_packet(env, mod1=0, mod2=0):
    """Encodes a uwsgi protocol request packet: header (mod1, u16 LE size,
    mod2) then each var as u16 LE length + bytes (key, then value)."""
    data = b""
    for k, v in (env.items() if isinstance(env, dict) else env):
        k = k.encode("latin-1") if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        data += len(k).to_bytes(2, "little") + k + len(v).to_bytes(2, "little") + v
    if len(data) > 0xFFFF:
        raise ValueError("uwsgi packet too large")
    return bytes([mod1]) + len(data).to_bytes(2, "little") + bytes([mod2]) + data


def uwsgi_vars(method="GET", path="/", query="", headers=None, body=b"", port=0,
               server_protocol="HTTP/1.1", extra=None, script_name=None):
    """Variables like nginx's uwsgi_params would send (no SCRIPT_NAME unless
    given, as nginx leaves it out)."""
    env = [("QUERY_STRING", query), ("REQUEST_METHOD", method),
           ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", str(len(body)) if body else ""),
           ("REQUEST_URI", path + ("?" + query if query else "")), ("PATH_INFO", path),
           ("DOCUMENT_ROOT", "/nonexistent"), ("SERVER_PROTOCOL", server_protocol),
           ("REQUEST_SCHEME", "http"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "40000"),
           ("SERVER_PORT", str(port)), ("SERVER_NAME", "localhost")]
    if script_name is not None:
        env.append(("SCRIPT_NAME", script_name))
    for k, v in (headers or {}).items():
        key = k.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            env[2] = ("CONTENT_TYPE", v)
        else:
            env.append(("HTTP_" + key, v))
    env += list((extra or {}).items())
    return env


class UwsgiClient(RawClient):
    """A uwsgi protocol client: sends a packet (and body), reads back the
    HTTP-shaped response the server writes."""

    def request(self, env, body=b"", head_only=False):
        self.send(uwsgi_packet(env) + body)
        return self.read_response(head_only=head_only)


def uwsgi_request(port=None, unix=None, body=b"", timeout=10.0, **kw):
    """One uwsgi request on a fresh connection; kw go to uwsgi_vars()."""
    c = UwsgiClient(port, unix=unix, timeout=timeout)
    try:
        return c.request(uwsgi_vars(body=body, port=port or 0, **kw), body,
                         head_only=kw.get("method") == "HEAD")
    finally:
        c.close()


def uwsgi_differs(reason):
    """Decorator for a test that uWSGI is known to fail: under
    GATEWAY_IMPL=uwsgi its failure becomes a skip that says why (and a pass
    is noted).  Under ours the test runs normally."""
    def deco(fn):
        def wrapper(self, *a, **kw):
            if GATEWAY_IMPL != "uwsgi":
                return fn(self, *a, **kw)
            # subTest would swallow the failure: let it propagate here
            self.subTest = lambda *sa, **skw: contextlib.nullcontext()
            try:
                fn(self, *a, **kw)
            except unittest.SkipTest:
                raise
            except Exception as e:
                forget = getattr(self, "forget_records", None)
                if forget:  # validator complaints are part of the difference
                    forget()
                raise unittest.SkipTest("uWSGI differs (expected: %s): %s: %s"
                                        % (reason, type(e).__name__, str(e)[:300]))
            print("note: uWSGI passed %s despite: %s" % (fn.__name__, reason))
        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper
    return deco


class GatewayTestCase(TempDirTestCase):
    """A test case that starts the gateway under test.  self.records is a
    folder the test apps write to ($WSGI_RECORD_DIR)."""

    def setUp(self):
        super().setUp()
        self.records = os.path.join(self.tmp, "records")
        os.makedirs(self.records)

    def start_gateway(self, args, name="gateway", env=None, cwd=None, wait=True, timeout=20.0):
        e = {"WSGI_RECORD_DIR": self.records}
        e.update(env or {})
        p = GatewayProc(args, self.tmp, name=name, env=e, cwd=cwd)
        self.procs.append(p)
        if wait:
            p.wait_ready(timeout)
        return p

    def forget_records(self):
        for f in os.listdir(self.records):
            os.unlink(os.path.join(self.records, f))

    def record_lines(self, name):
        try:
            with open(os.path.join(self.records, name)) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def assertValidatorClean(self, gw=None):
        """The validator raised nothing: no record and nothing in the log."""
        self.assertEqual(self.record_lines("validator.log"), [])
        if gw is not None:
            out = gw.output()
            for bad in ("AssertionError", "WSGIWarning"):
                self.assertNotIn(bad, out, "validator complaint in the gateway log")


class SharedGatewayTestCase(unittest.TestCase):
    """One gateway for the whole class: subclasses define
    gateway_args(cls) -> list (cls.tmp, cls.records and free ports are
    ready by then).  Each test starts with empty record files and ends
    checking the validator raised nothing."""
    gateway = None

    @classmethod
    def gateway_args(cls):
        raise NotImplementedError

    @classmethod
    def gateway_env(cls):
        """Extra environment for the gateway process."""
        return {}

    @classmethod
    def setUpClass(cls):
        need_gateway()
        cls.tmp = tempfile.mkdtemp(prefix="chain-e2e-")
        cls.records = os.path.join(cls.tmp, "records")
        os.makedirs(cls.records)
        env = {"WSGI_RECORD_DIR": cls.records}
        env.update(cls.gateway_env())
        cls.gateway = GatewayProc(cls.gateway_args(), cls.tmp, name="gateway", env=env)
        try:
            cls.gateway.wait_ready(30)
        except Exception:
            cls.gateway.stop(signal.SIGKILL)
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.gateway:
            cls.gateway.stop(cls.gateway.stop_signal())
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.forget_records()

    def tearDown(self):
        self.assertEqual(self.record_lines("validator.log"), [], "wsgiref.validate complained")
        # e.g. "Iterator garbage collected without being closed" from __del__
        time.sleep(0.05)
        new = self.log_since(self._log_mark)
        for bad in ("AssertionError", "WSGIWarning"):
            self.assertNotIn(bad, new, "validator complaint in the gateway log")

    record_lines = GatewayTestCase.record_lines

    def forget_records(self):
        GatewayTestCase.forget_records(self)
        self._log_mark = self.log_mark()

    def log_mark(self):
        """The gateway log's current length (to look only at what follows)."""
        return len(self.gateway.output())

    def log_since(self, mark):
        return self.gateway.output()[mark:]


# --- the proxy under test -----------------------------------------------------

# PROXY_IMPL=nginx runs the proxy tests against Debian's nginx with the same
# configuration (a reference for the tests themselves); tests of behaviour
# only ours has skip there.
PROXY_IMPL = os.environ.get("PROXY_IMPL", "ours")
NGINX_BIN = "/usr/sbin/nginx"

PROXY_CONF = """worker_processes %(workers)d;
error_log %(tmp)s/error.log info;
pid %(tmp)s/proxy.pid;
%(main_extra)s
events { worker_connections %(wconn)d; %(events_extra)s}
http {
    access_log %(tmp)s/access.log;
%(http)s
}
"""


def need_proxy():
    """Module level: skip the whole file (ctest's code 77) when the proxy
    under test is not there."""
    need_binary(NGINX_BIN if PROXY_IMPL == "nginx" else PROXY_BIN)


class ProxyCase(TempDirTestCase):
    """Starts the proxy (ours, or nginx with PROXY_IMPL=nginx) with an
    nginx-syntax configuration whose http { } block is given."""

    def start_proxy(self, http, workers=1, wconn=1024, main_extra="", port=None, events_extra=""):
        if PROXY_IMPL == "nginx":
            need_binary(NGINX_BIN)
            main_extra = "daemon off;\nuser root;\n" + main_extra
            # directives only we have carry this marker
            http = "\n".join(l for l in http.split("\n") if "# ours-only" not in l)
        else:
            need_binary(PROXY_BIN)
            http = "\n".join(l for l in http.split("\n") if "# nginx-only" not in l)
            # run as root, a master's workers would be `nobody`, who cannot
            # enter the 0700 scratch folder nor use the tests' sockets
            if os.geteuid() == 0 and not has_user(main_extra):
                main_extra = "user root;\n" + main_extra
        self.port = port or free_port()
        conf = PROXY_CONF % {"workers": workers, "tmp": self.tmp, "main_extra": main_extra,
                             "wconn": wconn, "events_extra": events_extra,
                             "http": http.replace("{port}", str(self.port))}
        self.conf_path = self.write("conf/proxy.conf", conf)
        binary = NGINX_BIN if PROXY_IMPL == "nginx" else PROXY_BIN
        self.proxy = self.spawn([binary, "-p", self.tmp + "/", "-c", self.conf_path], name="proxy")
        self.proxy.wait_port(self.port)
        return self.proxy

    def ours(self):
        return PROXY_IMPL != "nginx"

    def worker_pids(self):
        return proc_children(self.proxy.pid)

    def access_log(self):
        path = os.path.join(self.tmp, "access.log")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def error_log(self):
        try:
            with open(os.path.join(self.tmp, "error.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def get(self, path, headers=None, method="GET", body=None, timeout=10.0):
        return request(self.port, method, path, headers=headers, body=body, timeout=timeout)

    def raw(self, timeout=10.0):
        c = RawClient(self.port, timeout=timeout)
        self.addCleanup(c.close)
        return c


class StreamBackend:
    """A raw HTTP/1.1 backend for big bodies, in threads, never holding a
    body: POST/PUT answer "<bytes read> <md5>"; GET /down/N sends N bytes
    (Content-Length), /down/N/chunk chunked, /down/N/close close-delimited.
    `read_pause`/`write_pause` (seconds per 256 KiB) make it a slow peer."""

    BLOCK = 256 * 1024

    def __init__(self, read_pause=0.0, write_pause=0.0):
        import hashlib
        self.hashlib = hashlib
        self.read_pause, self.write_pause = read_pause, write_pause
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.done = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.done:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(s,), daemon=True).start()

    def _read_body(self, f, hdrs, h):
        n = 0
        def take(left):
            nonlocal n
            while left:
                d = f.read(min(left, self.BLOCK))
                if not d:
                    raise ConnectionError("eof in body")
                h.update(d)
                n += len(d)
                left -= len(d)
                if self.read_pause:
                    time.sleep(self.read_pause)
        if "chunked" in hdrs.get("transfer-encoding", ""):
            while True:
                size = int(f.readline().split(b";")[0], 16)
                if size == 0:
                    while f.readline() not in (b"\r\n", b""):
                        pass
                    break
                take(size)
                f.readline()
        elif "content-length" in hdrs:
            take(int(hdrs["content-length"]))
        return n

    def _conn(self, s):
        try:
            f = s.makefile("rb")
            while True:
                line = f.readline()
                if not line:
                    return
                hdrs = {}
                while True:
                    hl = f.readline()
                    if hl in (b"\r\n", b""):
                        break
                    k, _, v = hl.decode("latin-1").partition(":")
                    hdrs[k.strip().lower()] = v.strip().lower()
                method, path = line.decode("latin-1").split(" ")[:2]
                h = self.hashlib.md5()
                n = self._read_body(f, hdrs, h)
                if path.startswith("/down/"):
                    parts = path.split("/")
                    size, mode = int(parts[2]), (parts[3] if len(parts) > 3 else "")
                    if mode == "chunk":
                        s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    elif mode == "close":
                        s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    else:
                        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                    blk, left = b"d" * self.BLOCK, size
                    while left:
                        k = min(left, len(blk))
                        s.sendall(b"%x\r\n%s\r\n" % (k, blk[:k]) if mode == "chunk" else blk[:k])
                        left -= k
                        if self.write_pause:
                            time.sleep(self.write_pause)
                    if mode == "chunk":
                        s.sendall(b"0\r\n\r\n")
                    if mode == "close":
                        s.close()
                        return
                else:
                    out = b"%d %s" % (n, h.hexdigest().encode())
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
        except (OSError, ValueError, ConnectionError):
            pass
        finally:
            s.close()

    def stop(self):
        self.done = True
        self.ls.close()


# --- the proxy under test (ours or Debian's nginx) ---------------------------
# PROXY_IMPL=ours (default; build/proxy/proxy) or PROXY_IMPL=nginx
# (/usr/sbin/nginx -g 'daemon off; master_process on;', as root, pid and
# error_log in the test's folder).  Tests write one nginx config text and run
# it through either, so each test can be validated against nginx itself.
# Where nginx is known to be more lenient than this project, the test says
# so with @nginx_differs(reason).
# (PROXY_IMPL and NGINX_BIN are defined above, with ProxyCase.)


def proxy_bin(impl=None):
    impl = impl or PROXY_IMPL
    if impl not in ("ours", "nginx"):
        print("PROXY_IMPL must be ours or nginx, not %r" % impl)
        sys.exit(2)
    return NGINX_BIN if impl == "nginx" else PROXY_BIN


def need_proxy(impl=None):
    """Exits 77 (skip) when the proxy under test is not built/installed."""
    need_binary(proxy_bin(impl))


def has_user(main):
    """Does this main-context text set `user` already?"""
    return any(l.split()[:1] == ["user"] for l in main.splitlines())


def proxy_conf(http_body, tmp, workers=1, main="", events="worker_connections 1024;",
               access_log=True, impl=None):
    """A complete config: `http_body` goes inside http {}; pid, error_log
    (level info) and, unless access_log is False, a combined access log
    (tmp/access.log) live in `tmp`."""
    al = "    access_log %s/access.log;\n" % tmp if access_log else ""
    if os.geteuid() == 0 and not has_user(main):
        main = "user root;\n" + main  # as start_proxy: the workers stay root
    if (impl or PROXY_IMPL) == "nginx":
        # its own temp folders: /var/lib/nginx/* may belong to another user
        al += ("    client_body_temp_path %s/nginx_body;\n    proxy_temp_path %s/nginx_proxy;\n"
               % (tmp, tmp))
    return ("worker_processes %s;\npid %s/proxy.pid;\nerror_log %s/error.log info;\n%s\n"
            "events {\n    %s\n}\n\nhttp {\n%s%s\n}\n"
            % (workers, tmp, tmp, main, events, al, http_body))


def proxy_argv(conf_path, prefix, impl=None, test=False):
    """The command line running the proxy under test on `conf_path`."""
    impl = impl or PROXY_IMPL
    argv = [proxy_bin(impl), "-p", prefix.rstrip("/") + "/", "-c", conf_path]
    if impl == "nginx":
        # -e: nginx opens its compiled-in error log before reading the config
        argv += ["-e", os.path.join(prefix, "error.log"), "-g", "daemon off; master_process on;"]
    if test:
        argv.append("-t")
    return argv


class ProxyProc(Proc):
    """A running proxy under test (master + workers)."""

    def __init__(self, conf_path, workdir, name="proxy", impl=None, env=None):
        self.impl = impl or PROXY_IMPL
        self.workdir = workdir
        self.conf_path = conf_path
        super().__init__(proxy_argv(conf_path, workdir, self.impl), workdir, name=name, env=env)

    def pids(self):
        """The master and all its descendants (workers)."""
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(proc_children(p))
        return out

    def workers(self):
        return proc_children(self.pid)

    def wait_workers(self, n, timeout=20.0):
        return wait_for(lambda: (lambda w: len(w) >= n and w)(self.workers()), timeout,
                        what="%d workers of %s" % (n, self.impl))

    def rss(self, field="VmRSS"):
        """Sum of the resident sizes of the master and its workers (bytes)."""
        return sum(proc_rss(p, field) for p in self.pids())

    def error_log(self):
        try:
            with open(os.path.join(self.workdir, "error.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def output(self):
        return super().output() + self.error_log()


def start_proxy(tmp, http_body, ports, workers=1, main="", impl=None, timeout=20.0, env=None, **kw):
    """Writes tmp/proxy.conf from proxy_conf(...) and starts the proxy under
    test; waits until every port in `ports` accepts.  Returns the ProxyProc."""
    if (impl or PROXY_IMPL) == "nginx":
        os.chmod(tmp, 0o755)  # nginx's workers (nobody) reach temp files here
    conf = os.path.join(tmp, "proxy.conf")
    with open(conf, "w") as f:
        f.write(proxy_conf(http_body, tmp, workers=workers, main=main, impl=impl, **kw))
    p = ProxyProc(conf, tmp, impl=impl, env=env)
    try:
        for port in ports:
            p.wait_port(port, timeout)
        p.wait_workers(workers, timeout)
    except Exception:
        p.stop(signal.SIGKILL)
        raise
    return p


def nginx_differs(reason):
    """Decorator for a test that nginx is known to fail (it is more lenient
    than this project): under PROXY_IMPL=nginx its failure becomes a skip
    that says why (a pass is noted).  Under ours the test runs normally."""
    def deco(fn):
        def wrapper(self, *a, **kw):
            if PROXY_IMPL != "nginx":
                return fn(self, *a, **kw)
            self.subTest = lambda *sa, **skw: contextlib.nullcontext()
            try:
                fn(self, *a, **kw)
            except unittest.SkipTest:
                raise
            except Exception as e:
                raise unittest.SkipTest("nginx differs (expected: %s): %s: %s"
                                        % (reason, type(e).__name__, str(e)[:300]))
            print("note: nginx passed %s despite: %s" % (fn.__name__, reason))
        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper
    return deco


class ProxyTestCase(TempDirTestCase):
    """A test case that starts the proxy under test with self.start(...)."""

    @classmethod
    def setUpClass(cls):
        need_proxy()

    def start(self, http_body, ports, **kw):
        p = start_proxy(self.tmp, http_body, ports, **kw)
        self.procs.append(p)
        return p

    def read_tmp(self, name):
        with open(os.path.join(self.tmp, name), errors="replace") as f:
            return f.read()


def status_of(raw, port, timeout=5.0, n=1):
    """Sends `raw` bytes on a fresh connection to 127.0.0.1:port and returns
    the status codes of the responses read (up to n; fewer when the
    connection closes or nothing more comes within `timeout`)."""
    c = RawClient(port, timeout=timeout)
    out = []
    try:
        try:
            c.send(raw)
        except OSError:
            pass  # the server may close before reading everything
        for _ in range(n):
            try:
                out.append(c.read_response().status)
            except (ConnectionError, socket.timeout, OSError, ValueError, IndexError):
                break
    finally:
        c.close()
    return out


class RecordingBackend:
    """A lenient HTTP/1.1 upstream on raw sockets that records what it
    receives (method, uri, version, headers, de-chunked body) and answers
    every request 200 "ok" with keep-alive.  Unlike Backend (http.server) it
    refuses nothing a proxy may pass on, so a refusal seen by the client is
    the proxy's own.  hits is a list of dicts, in arrival order."""

    def __init__(self, host="127.0.0.1"):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.hits = []
        self.lock = threading.Lock()
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def clear(self):
        with self.lock:
            del self.hits[:]

    def snapshot(self):
        with self.lock:
            return list(self.hits)

    def _accept(self):
        while self.running:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        f = s.makefile("rb")
        s.settimeout(30)
        try:
            while True:
                line = f.readline(1 << 20)
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue
                parts = line.rstrip(b"\r\n").split(b" ")
                method, uri = parts[0].decode("latin-1"), parts[1].decode("latin-1") if len(parts) > 1 else ""
                version = parts[2].decode("latin-1") if len(parts) > 2 else ""
                headers = []
                while True:
                    h = f.readline(1 << 20)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers.append((k.strip(), v.strip()))
                hd = {k.lower(): v for k, v in headers}
                body = b""
                if "chunked" in hd.get("transfer-encoding", "").lower():
                    while True:
                        size = int(f.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while f.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        body += f.read(size)
                        f.readline()
                elif hd.get("content-length"):
                    body = f.read(int(hd["content-length"]))
                with self.lock:
                    self.hits.append({"method": method, "uri": uri, "version": version,
                                      "headers": headers, "body": body})
                close = (hd.get("connection", "").lower() == "close" or version == "HTTP/1.0")
                out = b"ok\n"
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s"
                          % (len(out), b"Connection: close\r\n" if close else b"",
                             b"" if method == "HEAD" else out))
                if close:
                    return
        except (OSError, ValueError):
            return
        finally:
            f.close()
            s.close()

    def stop(self):
        self.running = False
        self.lsock.close()


def read_head(sock, limit=1 << 20):
    """Reads from `sock` up to the end of an HTTP head; returns (head bytes,
    bytes already read past it).  Raises ConnectionError on EOF first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed before the end of the head")
        buf += d
        if len(buf) > limit:
            raise ValueError("head too large")
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


class ScriptedUpstream:
    """A raw-socket upstream on 127.0.0.1: every accepted connection is
    handed to `handler(sock)` in its own thread (the socket is closed after
    it returns).  For fake upstreams that misbehave on purpose."""

    def __init__(self, handler):
        self.handler = handler
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.accepted = 0
        self.errors = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._run, args=(s,), daemon=True).start()

    def _run(self, s):
        try:
            s.settimeout(60)
            self.handler(s)
        except Exception as e:  # recorded for the test to look at
            self.errors.append(e)
        finally:
            s.close()

    def stop(self):
        self.lsock.close()


def is_sanitized(path):
    """True when the binary at `path` is built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


class RssSampler:
    """Samples the summed RSS of a ProxyProc (master + workers) every
    `step` seconds in a thread; .peak is the largest sum seen."""

    def __init__(self, proc, step=0.02):
        self.proc, self.step, self.peak = proc, step, 0
        self.stopped = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopped.is_set():
            self.peak = max(self.peak, self.proc.rss())
            time.sleep(self.step)

    def stop(self):
        self.stopped.set()
        self.t.join(5)
        return self.peak
