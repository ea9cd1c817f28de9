"""Gateway, black box: worker life cycle under keep-alive clients (what a
proxy's upstream keep-alive pool does).  A worker recycled by
--max-requests announces it with Connection: close on its last response,
so a client reusing connections never sees a reset; HUP and graceful stop
close idle keep-alive connections cleanly (a client may have to retry a
request on a reused connection that closed before any byte came back, as
RFC 9112 9.3.1 allows and nginx does, but no request is lost)."""
import os
import signal
import threading
import time

import harness
from harness import RawClient, uwsgi_differs, wait_for

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

PID_APP = os.path.join(harness.TEST_APPS_DIR, "pid_app.py")


class KeepAliveClient:
    """Sequential HTTP/1.1 requests reusing one connection while the server
    allows it.  `resets` counts requests on a reused connection that failed
    before any response byte (retried once on a new connection); `failures`
    counts requests that failed anyway."""

    def __init__(self, port):
        self.port, self.conn, self.fresh = port, None, False
        self.resets, self.failures, self.answers = [], [], []

    def _once(self, path):
        if self.conn is None:
            self.conn, self.fresh = RawClient(self.port, timeout=20), True
        else:
            self.fresh = False
        self.conn.send("GET %s HTTP/1.1\r\nHost: ka\r\n\r\n" % path)
        r = self.conn.read_response()
        if (r.header("Connection") or "").lower() == "close":
            self.conn.close()
            self.conn = None
        return r

    def get(self, path="/"):
        for attempt in (1, 2):
            try:
                r = self._once(path)
                self.answers.append(r)
                return r
            except (ConnectionError, OSError) as e:
                got_bytes = self.conn is not None and bool(self.conn.buf)
                reused = not self.fresh
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None
                if attempt == 1 and reused and not got_bytes:
                    self.resets.append(repr(e))
                    continue
                self.failures.append(repr(e))
                return None

    def close(self):
        if self.conn is not None:
            self.conn.close()


def fields(r):
    return dict(kv.split("=") for kv in r.body.decode().split())


class KeepAliveLifecycle(harness.GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.port = harness.free_port()

    def gw(self, *extra, processes=1):
        g = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP,
                                "--processes", str(processes)] + list(extra))
        g.wait_workers(processes)
        return g

    @uwsgi_differs("--http-socket closes every connection without saying Connection: close")
    def test_max_requests_announces_close(self):
        self.gw("--max-requests", "4")
        c = KeepAliveClient(self.port)
        try:
            for _ in range(16):
                c.get()
        finally:
            c.close()
        self.assertEqual(c.failures, [])
        self.assertEqual(c.resets, [], "a recycled worker dropped a reused connection")
        self.assertEqual(len({fields(r)["pid"] for r in c.answers}), 4)
        # the connection was reused between recycles: 4 requests per connection
        self.assertEqual([r.header("Connection") for r in c.answers[:4]][-1].lower(), "close")

    def run_with_clients(self, action, n_clients=3, seconds=6):
        clients = [KeepAliveClient(self.port) for _ in range(n_clients)]
        stop = threading.Event()

        def loop(c):
            deadline = time.monotonic() + 30
            for _ in range(5000):
                if stop.is_set() or time.monotonic() > deadline:
                    break
                c.get()
                time.sleep(0.002)
            c.close()
        threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        try:
            time.sleep(1)
            action()
            time.sleep(seconds)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        return clients

    def test_hup_with_keepalive_clients(self):
        g = self.gw(processes=2)
        old = set(g.workers())
        clients = self.run_with_clients(lambda: g.signal(signal.SIGHUP))
        for c in clients:
            self.assertEqual(c.failures, [], "requests lost during the reload")
            self.assertGreater(len(c.answers), 10)
        wait_for(lambda: not set(g.workers()) & old, 20, what="all workers replaced")
        late = {fields(r)["pid"] for c in clients for r in c.answers[-3:]}
        self.assertFalse({str(p) for p in old} & late, "old workers still answering at the end")

    def test_idle_keepalive_then_graceful_stop(self):
        g = self.gw(processes=1)
        c = RawClient(self.port)
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        t0 = time.monotonic()
        g.signal(g.stop_signal())
        g.wait(20)  # an idle keep-alive connection does not hold the stop
        self.assertLess(time.monotonic() - t0, 15)
        self.assertTrue(c.closed(5))
        c.close()


if __name__ == "__main__":
    harness.main()
