"""A response that comes before the request body (an upstream answering 200 or
413 right after the head, client_max_body_size, return): the rest of the body
is read and dropped as nginx does (discarded, then lingering close), so the
client always gets its answer and then either the next request answered on
the same connection or the connection closed within lingering_time; never a
connection left open forever.  SIGQUIT completes while such a connection is
open, bounded by worker_shutdown_timeout.  PROXY_IMPL=nginx runs the same
cases against nginx 1.22, which passes them all; where it differs (it closes
after an upstream's early 200 with proxy_request_buffering off, we keep the
connection once the body is discarded) the test says so."""
import os
import select
import signal
import socket
import threading

import harness
from harness import ProxyCase, RawClient

harness.need_proxy()

MIB = 1024 * 1024
BIG = 50 * MIB
# safety bounds only: every wait below ends on an event (a response, EOF, a
# process exit) long before these on any machine
EVENT_WAIT = 120.0


class EarlyUpstream:
    """Answers `status` once a request head is in and `go` is set, without
    reading the body; then drops what comes until the proxy closes."""

    def __init__(self, status):
        self.go = threading.Event()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.status = status
        self.heads = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        try:
            s.settimeout(EVENT_WAIT)
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = s.recv(65536)
                if not d:
                    return
                buf += d
            self.heads += 1
            self.go.wait(EVENT_WAIT)
            body = b"early %d\n" % self.status
            s.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (self.status, len(body), body))
            # a lingering close of its own: the proxy sees the whole response
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except OSError:
            pass
        finally:
            s.close()

    def stop(self):
        self.ls.close()


def running(pid):
    """Is pid alive (not gone, not a zombie)?"""
    try:
        with open("/proc/%d/status" % pid) as f:
            return "State:\tZ" not in f.read()
    except OSError:
        return False


def upload_head(path, length=BIG):
    return ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" % (path, length)).encode()


class Sender(threading.Thread):
    """Sends `n` body bytes on the client's socket (blocking) and records
    whether all went out (the proxy may close before the end)."""

    def __init__(self, sock, n):
        super().__init__(daemon=True)
        self.sock, self.n, self.sent, self.error = sock, n, 0, None

    def run(self):
        piece = b"x" * (256 * 1024)
        try:
            while self.sent < self.n:
                k = min(len(piece), self.n - self.sent)
                self.sock.sendall(piece[:k])
                self.sent += k
        except OSError as e:
            self.error = e


class EarlyResponse(ProxyCase):
    def setUp(self):
        super().setUp()
        self.ok = EarlyUpstream(200)
        self.big = EarlyUpstream(413)
        self.addCleanup(self.ok.stop)
        self.addCleanup(self.big.stop)

    def start(self, extra="", main_extra="", lingering="lingering_timeout 2s;"):
        http = """
    client_max_body_size 0;
    %(lingering)s
    server {
        listen 127.0.0.1:{port};
        %(extra)s
        location /ok { proxy_pass http://127.0.0.1:%(ok)d; proxy_request_buffering off; }
        location /big { proxy_pass http://127.0.0.1:%(big)d; proxy_request_buffering off; }
        location /ok-default { proxy_pass http://127.0.0.1:%(ok)d; }
        location /limit { client_max_body_size 1m; return 200 "not reached\\n"; }
        location /ret { return 200 "returned\\n"; }
    }
""" % {"ok": self.ok.port, "big": self.big.port, "extra": extra, "lingering": lingering}
        return self.start_proxy(http, main_extra=main_extra)

    def kept_or_closed(self, c, path):
        """After the whole body went: the next request on the connection is
        answered, or the connection is closed.  Returns "kept" or "closed"."""
        try:
            c.send("GET %s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" % path)
            r = c.read_response()
        except (ConnectionError, OSError):
            return "closed"
        self.assertIn(r.status, (200, 413))
        return "kept"

    def fill(self, c):
        """Sends body bytes until the client cannot send more (the upstream
        reads none: the proxy's buffers toward it and from the client are
        full, and it has stopped reading); returns how many went."""
        sent = 0
        c.sock.setblocking(False)
        piece = b"x" * (64 * 1024)
        try:
            while sent < BIG:  # bounded by the body's size
                try:
                    sent += c.sock.send(piece[:BIG - sent])
                    continue
                except BlockingIOError:
                    pass
                _, w, _ = select.select([], [c.sock], [], 0.5)
                if not w:
                    break
        finally:
            c.sock.setblocking(True)
            c.sock.settimeout(EVENT_WAIT)
        return sent

    def full_upload(self, path, want_status, up=None):
        """50 MiB sent in full while the early response is read; the
        upstream `up` answers once the client is held up (the case where
        the proxy had stopped reading the body when the response came)."""
        c = RawClient(self.port, timeout=EVENT_WAIT)
        self.addCleanup(c.close)
        c.send(upload_head(path))
        # (a proxy that buffers the body takes all of it first: nginx 1.22)
        first = self.fill(c) if up else 0
        if up:
            up.go.set()
        s = Sender(c.sock, BIG - first)
        s.start()
        r = c.read_response()
        self.assertEqual(r.status, want_status)
        s.join(EVENT_WAIT)
        self.assertFalse(s.is_alive(), "the body was not taken: the proxy stopped reading it")
        return c, s, r

    def test_early_200_then_keepalive(self):
        self.start()
        c, s, r = self.full_upload("/ok", 200, self.ok)
        self.assertEqual(r.body, b"early 200\n")
        self.assertIsNone(s.error)  # every byte was read (and dropped)
        # ours keeps the connection (the body was discarded in full, as
        # nginx does after `return`); nginx 1.22 closes it here
        want = ("kept",) if harness.PROXY_IMPL == "ours" else ("kept", "closed")
        self.assertIn(self.kept_or_closed(c, "/ret"), want)

    def test_early_413_from_upstream(self):
        self.start()
        c, s, r = self.full_upload("/big", 413, self.big)
        self.assertEqual(r.body, b"early 413\n")
        self.assertIn(self.kept_or_closed(c, "/ret"), ("kept", "closed"))

    def test_early_200_default_buffering(self):
        self.start()
        c, s, r = self.full_upload("/ok-default", 200, self.ok)
        self.assertIn(self.kept_or_closed(c, "/ret"), ("kept", "closed"))

    def test_return_before_body(self):
        self.start()
        c, s, r = self.full_upload("/ret", 200)
        self.assertEqual(r.body, b"returned\n")
        self.assertEqual(self.kept_or_closed(c, "/ret"), "kept")

    def test_client_max_body_size(self):
        # 413 before the body: framing is kept but nginx closes (lingering)
        self.start()
        c = RawClient(self.port, timeout=EVENT_WAIT)
        self.addCleanup(c.close)
        c.send(upload_head("/limit"))
        s = Sender(c.sock, BIG)
        s.start()
        r = c.read_response()
        self.assertEqual(r.status, 413)
        self.assertEqual(r.header("Connection"), "close")
        s.join(EVENT_WAIT)
        self.assertFalse(s.is_alive(), "the body was not taken after the 413")
        # then closed (EOF after the client's last byte and lingering_timeout)
        self.assertTrue(c.closed(timeout=EVENT_WAIT))

    def test_stalled_body_closed_within_lingering_time(self):
        # the client sends 1 MiB of its 50 and stops: the connection must end
        # (lingering_timeout without a byte), not stay open
        self.start(lingering="lingering_timeout 1s; lingering_time 3s;")
        self.ok.go.set()
        for path in ("/ok", "/limit", "/ret"):
            c = RawClient(self.port, timeout=EVENT_WAIT)
            self.addCleanup(c.close)
            c.send(upload_head(path))
            c.send(b"y" * MIB)
            r = c.read_response()
            self.assertIn(r.status, (200, 413), path)
            self.assertTrue(c.closed(timeout=EVENT_WAIT), path)

    def test_trickling_body_closed_at_lingering_time(self):
        # a client that keeps sending slowly forever: lingering_time ends it,
        # however often bytes come (each piece is sent when the previous
        # one was taken, so the pace follows the proxy, not a clock)
        self.start(lingering="lingering_timeout 30s; lingering_time 2s;")
        c = RawClient(self.port, timeout=EVENT_WAIT)
        self.addCleanup(c.close)
        c.send(upload_head("/limit"))
        r = c.read_response()
        self.assertEqual(r.status, 413)
        c.sock.settimeout(0.2)
        closed = False
        for _ in range(3000):  # bounded: the 413 case lingers 2 s
            try:
                c.sock.sendall(b"z" * 1024)
            except OSError:
                closed = True
                break
            try:
                if c.sock.recv(65536) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        self.assertTrue(closed, "the lingering connection outlived lingering_time")

    def test_quit_completes_with_stuck_body(self):
        # an early-answered upload that stalls, lingering_time far away: only
        # worker_shutdown_timeout can end it, and SIGQUIT must then complete
        p = self.start(main_extra="worker_shutdown_timeout 1s;",
                       lingering="lingering_timeout 600s; lingering_time 600s;")
        self.ok.go.set()
        c = RawClient(self.port, timeout=EVENT_WAIT)
        self.addCleanup(c.close)
        c.send(upload_head("/ok"))
        c.send(b"y" * MIB)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        p.signal(signal.SIGQUIT)
        p.wait(timeout=EVENT_WAIT)
        self.assertTrue(c.closed(timeout=EVENT_WAIT))

    def test_hup_old_worker_exits_with_stuck_body(self):
        # the same after a reload: the old worker ends at worker_shutdown_timeout
        p = self.start(main_extra="worker_shutdown_timeout 1s;",
                       lingering="lingering_timeout 600s; lingering_time 600s;")
        self.ok.go.set()
        old = harness.wait_for(lambda: harness.proc_children(p.pid), 20, what="the worker")
        c = RawClient(self.port, timeout=EVENT_WAIT)
        self.addCleanup(c.close)
        c.send(upload_head("/ok"))
        c.send(b"y" * MIB)
        self.assertEqual(c.read_response().status, 200)
        p.signal(signal.SIGHUP)
        harness.wait_for(lambda: not any(map(running, old)), EVENT_WAIT, step=0.05,
                         what="the old worker to exit")
        self.assertTrue(c.closed(timeout=EVENT_WAIT))
        self.assertEqual(harness.request(self.port, "GET", "/ret").status, 200)


if __name__ == "__main__":
    harness.main()
