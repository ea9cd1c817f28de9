"""Gateway, black box: concurrency is fair.  With --processes 2, 64
keep-alive connections opened at once each get their request answered while
all of them stay open, twice in a row on the same connections (uWSGI's
--http11-socket fails this: each worker holds one keep-alive connection and
the others wait until it is closed).  How long the answers take is printed,
not judged: on a busy machine that is the scheduler's business; a gateway
that is not fair leaves some connection unanswered however long one waits
(ROUND_LIMIT is only the safety net)."""
import os
import selectors
import socket
import time

import harness
from harness import uwsgi_differs

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

PID_APP = os.path.join(harness.TEST_APPS_DIR, "pid_app.py")
N = 64
ROUND_LIMIT = 30.0  # seconds: safety net for one round, far beyond a fair one


def one_round(socks, sel, timeout=ROUND_LIMIT):
    """Sends one request on every socket at once; returns each latency
    (infinite when the connection was closed first or never answered)."""
    start = {}
    bufs = {s: b"" for s in socks}
    for s in socks:
        start[s] = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\nHost: fair\r\n\r\n")
    lat = {}
    deadline = time.monotonic() + timeout
    while len(lat) < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            if s in lat:
                continue
            try:
                d = s.recv(65536)
            except BlockingIOError:
                continue
            if not d:
                lat[s] = float("inf")  # closed without (the whole) answer
                continue
            bufs[s] += d
            head, sep, body = bufs[s].partition(b"\r\n\r\n")
            if not sep:
                continue
            cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if cl and len(body) >= int(cl[0].split(b":")[1]):
                lat[s] = time.monotonic() - start[s]
                bufs[s] = b""
    return [lat.get(s, float("inf")) for s in socks]


class Fairness(harness.GatewayTestCase):
    def run_fairness(self, sockopt="--http-socket"):
        port = harness.free_port()
        g = self.start_gateway([sockopt, "127.0.0.1:%d" % port, "--wsgi-file", PID_APP,
                                "--processes", "2", "--disable-logging"])
        g.wait_workers(2)
        harness.request(port)
        sel = selectors.DefaultSelector()
        socks = []
        try:
            for _ in range(N):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
                socks.append(s)
            for what in ("first", "keep-alive"):
                lat = one_round(socks, sel)
                unanswered = sum(1 for x in lat if x == float("inf"))
                print("%s round: slowest answers after %r s" % (what, sorted(lat)[-3:]))
                self.assertEqual(unanswered, 0, "%s round: %d of %d connections unanswered or closed"
                                 % (what, unanswered, N))
        finally:
            for s in socks:
                sel.unregister(s)
                s.close()
            sel.close()

    @uwsgi_differs("--http-socket closes every connection: no second round")
    def test_64_keepalive_connections(self):
        self.run_fairness()

    @uwsgi_differs("--http11-socket: each worker holds one keep-alive connection")
    def test_uwsgi_http11_socket(self):
        if harness.GATEWAY_IMPL != "uwsgi":
            self.skipTest("uWSGI only (--http11-socket is not an option of ours)")
        self.run_fairness("--http11-socket")


if __name__ == "__main__":
    harness.main()
