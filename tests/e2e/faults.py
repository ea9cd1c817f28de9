"""Helpers for the fault tests (97_faults_*.py), tests/soak.sh and
bench/fault_bench.sh: a whole stack on loopback (a proxy in front of one or
two gateways of two workers each, running tests/apps/fault_app.py), a
bounded load generator that counts every answer, and the faulty clients
(slow uploaders, slow readers).

impl "ours" runs our proxy and gateway; impl "peers" runs nginx 1.22 in
front of Debian's uWSGI (--plugin python3 --die-on-term) on the same
config.  proto "uwsgi" is uwsgi_pass (a connection per request, the
classic deployment); proto "http" is proxy_pass to the gateways'
--http-socket with upstream keep-alive (ours only).

Every loop here is bounded by a count and by a hard time cap; waits end on
events (ports, pids, bytes), never on a guess of how long something takes.

Cases whose fix has not landed yet are marked with pending(feature): a
unittest.expectedFailure naming the missing feature.  Remove the marker
when the feature is merged; the test then must pass."""
import functools
import hashlib
import http.client
import os
import select
import signal
import socket
import threading
import time
import unittest

import harness

APP = os.path.join(harness.TEST_APPS_DIR, "fault_app.py")
UWSGI_PARAMS = os.path.join(harness.SRC_DIR, "conf", "uwsgi_params")
MiB = 1 << 20


def pending(feature):
    """Marks a case that fails until `feature` (issue 16) is merged: an
    expected failure, with the feature kept on the test for the report."""
    def deco(fn):
        @functools.wraps(fn)
        def case(*a, **kw):
            return fn(*a, **kw)
        case = unittest.expectedFailure(case)  # a copy: the base class's case stays plain
        case.pending_feature = feature
        return case
    return deco


def peer_fails(reason):
    """For a case nginx -> uWSGI is known to fail (the faults this suite
    exists to show): its failure becomes a skip saying why and what
    happened; a pass is noted.  Ours never gets this marker."""
    def deco(fn):
        @functools.wraps(fn)
        def case(self, *a, **kw):
            try:
                fn(self, *a, **kw)
            except unittest.SkipTest:
                raise
            except Exception as e:  # noqa: BLE001 - reported in the skip
                raise unittest.SkipTest("nginx->uWSGI fails here (%s): %s: %s"
                                        % (reason, type(e).__name__, str(e)[:300]))
            print("note: nginx->uWSGI passed %s despite: %s" % (fn.__name__, reason))
        return case
    return deco


def need(impl):
    """Skips (exit 77) when the programs of `impl` are missing."""
    if impl == "ours":
        harness.need_binary(harness.PROXY_BIN)
        harness.need_binary(harness.GATEWAY_BIN)
    else:
        harness.need_binary(harness.NGINX_BIN)
        harness.need_binary(harness.UWSGI_BIN)


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))]


class Stack:
    """proxy -> `gateways` gateways of `workers` workers, in folder `tmp`."""

    def __init__(self, tmp, impl="ours", gateways=2, workers=2, proto="uwsgi", harakiri=0,
                 proxy_workers=2, keepalive=16, read_timeout="30s", http_extra="",
                 main_extra="", location_extra=""):
        if proto == "http" and impl != "ours":
            raise ValueError("proto http runs ours only")
        self.tmp, self.impl, self.proto = tmp, impl, proto
        self.n_gateways, self.n_workers, self.harakiri = gateways, workers, harakiri
        self.proxy_workers, self.keepalive, self.read_timeout = proxy_workers, keepalive, read_timeout
        self.http_extra, self.main_extra, self.location_extra = http_extra, main_extra, location_extra
        self.gw_impl = "ours" if impl == "ours" else "uwsgi"
        self.px_impl = "ours" if impl == "ours" else "nginx"
        self.port = harness.free_port()
        self.gw_ports = [harness.free_port() for _ in range(gateways)]
        self.gateways = [None] * gateways
        self.proxy = None
        self.env = {"WSGI_RECORD_DIR": tmp, "PYTHONDONTWRITEBYTECODE": "1"}

    # --- gateways --------------------------------------------------------
    def gateway_args(self, i):
        sock = "--http-socket" if self.proto == "http" else "--socket"
        args = [sock, "127.0.0.1:%d" % self.gw_ports[i], "--wsgi-file", APP,
                "--processes", str(self.n_workers)]
        if self.harakiri:
            args += ["--harakiri", str(self.harakiri)]
        return args

    def start_gateway(self, i):
        g = harness.GatewayProc(self.gateway_args(i), self.tmp, name="gateway%d" % i,
                                env=self.env, impl=self.gw_impl)
        self.gateways[i] = g
        try:
            g.wait_ready(60)
            g.wait_workers(self.n_workers, 60)
        except Exception:
            g.stop(signal.SIGKILL)
            raise
        return g

    def stop_gateway(self, i):
        g = self.gateways[i]
        if g and not g.log.closed:
            g.stop(g.stop_signal() if g.alive() else signal.SIGKILL, timeout=30)

    # --- proxy -------------------------------------------------------------
    def proxy_http(self):
        servers = "".join("        server 127.0.0.1:%d;\n" % p for p in self.gw_ports)
        if self.proto == "http":
            servers += "        keepalive %d;\n" % self.keepalive
            loc = ("            proxy_pass http://app;\n"
                   "            proxy_http_version 1.1;\n"
                   "            proxy_set_header Connection \"\";\n"
                   "            proxy_read_timeout %s;\n" % self.read_timeout)
        else:
            loc = ("            include %s;\n"
                   "            uwsgi_pass app;\n"
                   "            uwsgi_read_timeout %s;\n" % (UWSGI_PARAMS, self.read_timeout))
        temp = ""
        if self.px_impl == "nginx":
            temp = "    uwsgi_temp_path %s/nginx_uwsgi;\n" % self.tmp
        return ("    client_max_body_size 0;\n%s%s"
                "    upstream app {\n%s    }\n"
                "    server {\n"
                "        listen 127.0.0.1:%d;\n"
                "        location / {\n%s%s        }\n"
                "    }\n" % (temp, self.http_extra, servers, self.port, loc, self.location_extra))

    def start_proxy(self):
        main = self.main_extra  # (harness adds `user root;`: the workers read our temp folders)
        self.proxy = harness.start_proxy(self.tmp, self.proxy_http(), [self.port],
                                         workers=self.proxy_workers, main=main,
                                         impl=self.px_impl, timeout=60)
        return self.proxy

    def start(self):
        try:
            for i in range(self.n_gateways):
                self.start_gateway(i)
            self.start_proxy()
            self.wait_serving()
        except Exception:
            self.stop()
            raise
        return self

    def wait_serving(self, timeout=60.0):
        """Until a GET through the whole chain is answered 200."""
        def ok():
            try:
                return get(self.port, "/", timeout=5)[0] == 200
            except OSError:
                return False
        harness.wait_for(ok, timeout, step=0.1, what="a 200 through the stack")

    def stop(self):
        if self.proxy and not self.proxy.log.closed:
            self.proxy.stop(signal.SIGTERM if self.proxy.alive() else signal.SIGKILL, timeout=30)
        for i in range(self.n_gateways):
            self.stop_gateway(i)

    def logs(self):
        out = []
        for p in [self.proxy] + self.gateways:
            if p is not None:
                out.append("--- %s\n%s" % (p.args[0], _tail(p)))
        return "\n".join(out)

    def pids(self):
        """Every process of the stack (proxy master and workers, gateway
        masters and workers)."""
        out = list(self.proxy.pids()) if self.proxy and self.proxy.alive() else []
        for g in self.gateways:
            if g is not None and g.alive():
                out += [g.pid] + g.workers()
        return out

    def sanitizer_reports(self):
        return [ln for ln in self.logs().splitlines() if "Sanitizer" in ln or "runtime error:" in ln]


def _tail(proc, n=4000):
    """The end of a process's output (also after it was stopped)."""
    with open(proc.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    if isinstance(proc, harness.ProxyProc):
        text += proc.error_log()
    return text[-n:]


def get(port, path="/", timeout=30.0):
    """One GET on a fresh connection: (status, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.errors = {}  # what -> count
        self.latencies = []
        self.resent = 0  # requests resent once after an idle keep-alive close

    def add(self, ok, latency, what=None):
        with self.lock:
            if ok:
                self.ok += 1
                self.latencies.append(latency)
            else:
                self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def failed(self):
        return sum(self.errors.values())

    def summary(self):
        return ("%d ok, %d failed %s, %d resent on a new connection, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
                % (self.ok, self.failed, self.errors or "", self.resent, percentile(self.latencies, 50) * 1e3,
                   percentile(self.latencies, 99) * 1e3, max(self.latencies or [0]) * 1e3))


class Load:
    """`conns` keep-alive clients sending GET `path` in a loop until stop(),
    `max_requests` in all, or `cap` seconds (the hard bound).  A request
    fails on any status but 200, a body not starting with `expect`, or a
    connection error (the client then reconnects).  `pace` seconds between
    one client's requests (0: back to back)."""

    def __init__(self, port, conns=8, path="/", max_requests=200000, cap=120.0, expect=b"ok pid=",
                 pace=0.0, timeout=30.0):
        self.port, self.conns, self.path, self.expect = port, conns, path, expect
        self.max_requests, self.cap, self.pace, self.timeout = max_requests, cap, pace, timeout
        self.stats = Stats()
        self.done = threading.Event()
        self.sent = 0
        self.lock = threading.Lock()
        self.inflight = [None] * conns  # when each client's pending request went out
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(conns)]

    def start(self):
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()
        return self

    def _take(self):
        with self.lock:
            if self.done.is_set() or self.sent >= self.max_requests or time.monotonic() - self.t0 > self.cap:
                return False
            self.sent += 1
            return True

    def oldest_wait(self):
        """How long the longest-waiting request now pending has waited (s)."""
        now, ts = time.monotonic(), [t for t in self.inflight if t is not None]
        return max((now - t for t in ts), default=0.0)

    def _run(self, idx):
        c, reused = None, False
        while self._take():
            t = time.monotonic()
            self.inflight[idx] = t
            for attempt in (0, 1):
                if c is None:
                    c, reused = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout), False
                try:
                    c.request("GET", self.path)
                    r = c.getresponse()
                    body = r.read()
                    good = r.status == 200 and body.startswith(self.expect)
                    self.stats.add(good, time.monotonic() - t, None if good else "status %d" % r.status)
                    reused = True
                    if r.will_close:
                        c.close()
                        c = None
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                    # a keep-alive connection the server closed as the
                    # request went out (an idle close, a graceful reload):
                    # HTTP clients resend an idempotent request once on a
                    # new connection (RFC 9112 9.3.1); counted apart
                    c.close()
                    c = None
                    if reused and attempt == 0:
                        with self.stats.lock:
                            self.stats.resent += 1
                        continue
                    self.stats.add(False, time.monotonic() - t, type(e).__name__)
                except (OSError, http.client.HTTPException) as e:
                    self.stats.add(False, time.monotonic() - t, type(e).__name__)
                    c.close()
                    c = None
                break
            self.inflight[idx] = None
            if self.pace:
                self.done.wait(self.pace)
        if c is not None:
            c.close()

    def wait_ok(self, n, timeout=60.0):
        """Until `n` requests have been answered (an event, not a pause)."""
        harness.wait_for(lambda: self.stats.ok + self.stats.failed >= n or not self.running(), timeout,
                         step=0.01, what="%d answers" % n)

    def running(self):
        return any(t.is_alive() for t in self.threads)

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(self.timeout + 10)
        return self.stats


class SlowUploader(threading.Thread):
    """POSTs a body of `size` bytes to /upload at one byte every `every`
    seconds, until stop() (or `cap` seconds).  `started` is set once the head
    and a first byte went out."""

    def __init__(self, port, size=10000, every=1.0, cap=300.0):
        super().__init__(daemon=True)
        self.port, self.size, self.every, self.cap = port, size, every, cap
        self.started, self.halt = threading.Event(), threading.Event()
        self.sent = 0
        self.error = None

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            s.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % self.size)
            t0 = time.monotonic()
            while not self.halt.is_set() and self.sent < self.size and time.monotonic() - t0 < self.cap:
                s.sendall(b"x")
                self.sent += 1
                self.started.set()
                self.halt.wait(self.every)
            s.close()
        except OSError as e:
            self.error = e
            self.started.set()

    def stop(self):
        self.halt.set()
        self.join(40)


class SlowReader(threading.Thread):
    """GETs /big?n=`size` and reads `rate` bytes a second (a small receive
    buffer, so the sender really has to wait), until stop() or `cap` s.
    `started` is set once the request went out; `got` counts what came."""

    def __init__(self, port, size=5 * MiB, rate=1024, cap=300.0):
        super().__init__(daemon=True)
        self.port, self.size, self.rate, self.cap = port, size, rate, cap
        self.started, self.halt = threading.Event(), threading.Event()
        self.got = 0
        self.error = None

    def run(self):
        try:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(1)
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: t\r\n\r\n" % self.size)
            self.started.set()
            t0 = time.monotonic()
            while not self.halt.is_set() and self.got < self.size and time.monotonic() - t0 < self.cap:
                try:
                    d = s.recv(self.rate // 4)
                except socket.timeout:
                    continue  # not served yet (a pinned tier): wait on, until stop()
                if not d:
                    break
                self.got += len(d)
                self.halt.wait(0.25)
            s.close()
        except OSError as e:
            self.error = e
            self.started.set()

    def stop(self):
        self.halt.set()
        self.join(70)


def accept_queue(port):
    """Connections waiting in the accept queue of the listening sockets on
    `port` (127.0.0.1 or ::1), from /proc/net/tcp{,6}: a LISTEN socket's
    rx_queue is its accept queue.  A server that closes its listening
    sockets (QUIT) resets the connections still waiting there."""
    n = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                n += int(fields[4].split(":")[1], 16)
    return n


def post_body(port, path, size, piece=256 * 1024, after_piece=None, timeout=120.0):
    """POSTs `size` bytes (a pattern) to `path` on a fresh connection and
    reads the answer: (status, body, sha256 of what was sent).
    after_piece(i) is called after each piece went out."""
    c = harness.RawClient(port, timeout=timeout)
    h = hashlib.sha256()
    try:
        c.send("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (path, size))
        block = os.urandom(piece)
        left, i = size, 0
        while left > 0:
            p = block[:min(left, piece)]
            c.send(p)
            h.update(p)
            left -= len(p)
            i += 1
            if after_piece:
                after_piece(i)
        r = c.read_response()
        return r.status, r.body, h.hexdigest()
    finally:
        c.close()


def early_response(port, size, timeout=60.0):
    """POSTs a `size`-byte body to /early, an answer that comes before the
    body is read.  The client reads the answer while sending, then sends
    the rest of the body for as long as the peer takes it.  Returns a dict:
    status, sent (bytes of body that went out), closed (the peer closed or
    reset), alive (the same connection then answered another GET), stuck
    (no byte could be sent for `timeout` s and the connection stayed open)."""
    out = {"status": None, "sent": 0, "closed": False, "alive": False, "stuck": False}
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"b" * (64 * 1024)
        buf = b""
        s.setblocking(False)
        last = time.monotonic()
        while True:
            want_w = out["sent"] < size
            r, w, _ = select.select([s], [s] if want_w else [], [], 0.5)
            if r:
                try:
                    d = s.recv(65536)
                except ConnectionError:
                    out["closed"] = True
                    break
                if not d:
                    out["closed"] = True
                    break
                buf += d
                last = time.monotonic()
                if out["status"] is None and b"\r\n" in buf:
                    out["status"] = int(buf.split(b" ", 2)[1])
            if w:
                try:
                    n = s.send(block[:min(len(block), size - out["sent"])])
                except (BrokenPipeError, ConnectionError):
                    out["closed"] = True
                    break
                except BlockingIOError:
                    n = 0
                if n:
                    out["sent"] += n
                    last = time.monotonic()
            if not want_w and out["status"] is not None:
                break  # the whole body went out: the connection is still usable?
            if time.monotonic() - last > timeout:
                out["stuck"] = True
                return out
        if out["closed"]:
            return out
        # every byte was taken: the same connection must answer again
        s.setblocking(True)
        s.settimeout(timeout)
        head_end = buf.find(b"\r\n\r\n")
        cl = 0
        for line in buf[:head_end].split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                cl = int(v)
        while len(buf) < head_end + 4 + cl:
            d = s.recv(65536)
            if not d:
                out["closed"] = True
                return out
            buf += d
        buf = buf[head_end + 4 + cl:]
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        try:
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    out["closed"] = True
                    return out
                buf += d
            out["alive"] = buf.startswith(b"HTTP/1.1 200 ")
        except socket.timeout:
            out["stuck"] = True
        except ConnectionError:
            out["closed"] = True
        return out
    finally:
        s.close()


def sleeping_pids(tmp):
    """Pids that logged "sleeping" in tmp/sleep.log (fault_app /sleep)."""
    try:
        with open(os.path.join(tmp, "sleep.log")) as f:
            return [int(ln.split()[0]) for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


# --- footprint: RSS and open fds of the stack's processes ---------------

def footprint(stack):
    """(RSS bytes, open fds) summed over every process of the stack."""
    pids = stack.pids()
    return sum(harness.proc_rss(p) for p in pids), sum(proc_fds(p) for p in pids)


def settled_footprint(stack, tries=40):
    """The footprint once it stops moving: two equal fd counts 0.5 s apart
    (connections closing, workers exiting), at most `tries` readings."""
    last = footprint(stack)
    for _ in range(tries):
        time.sleep(0.5)
        now = footprint(stack)
        if now[1] == last[1]:
            return now
        last = now
    return last
