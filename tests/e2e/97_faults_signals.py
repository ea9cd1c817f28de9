"""Fault suite: signals under load (issue 16, point 8).

- HUP to the proxy six times under load, each after the previous one's new
  workers are up: 0 non-2xx answers;
- HUP to a gateway six times under load (its workers are replaced one by
  one): 0 non-2xx answers;
- QUIT to the proxy while request bodies are in flight: every upload
  completes (its sha256 as the app read it equals the sender's), then the
  proxy exits.

Ours: proxy -> 2 gateways of 2 workers over uwsgi_pass; peers: nginx 1.22
-> uWSGI on the same config."""
import os
import signal
import sys
import threading

import faults
import harness

AFTER = 1000
UPLOADS = 4


class Signals:
    IMPL = None

    def setUp(self):
        faults.need(self.IMPL)
        super().setUp()

    def stack(self, **kw):
        st = faults.Stack(self.tmp, impl=self.IMPL, **kw).start()
        self.addCleanup(st.stop)
        return st

    def hup_six_times(self, st, proc, what, n_workers):
        load = faults.Load(st.port, conns=8, max_requests=200000, cap=240).start()
        try:
            load.wait_ok(200, 60)
            for i in range(6):
                old = set(proc.workers())
                os.kill(proc.pid, signal.SIGHUP)
                # the event: a full set of new workers (pids not seen before;
                # old ones may still be finishing their connections)
                harness.wait_for(lambda: len(set(proc.workers()) - old) >= n_workers, 120,
                                 what="new %s workers after HUP %d" % (what, i + 1))
            n = load.stats.ok + load.stats.failed
            load.wait_ok(n + AFTER, 90)
        finally:
            stats = load.stop()
        print("%s: six HUPs to the %s: %s" % (self.IMPL, what, stats.summary()))
        self.assertEqual(stats.failed, 0, stats.summary())

    def test_hup_proxy_six_times(self):
        st = self.stack()
        self.hup_six_times(st, st.proxy, "proxy", st.proxy_workers)

    def test_hup_gateway_six_times(self):
        st = self.stack()
        self.hup_six_times(st, st.gateways[0], "gateway", st.n_workers)

    def test_quit_with_bodies_in_flight(self):
        st = self.stack()
        size, piece = 4 * faults.MiB, 64 * 1024
        halfway, go = threading.Barrier(UPLOADS + 1, timeout=120), threading.Event()
        results = [None] * UPLOADS

        def upload(i):
            def after(n):
                if n == 8:  # 512 KiB sent: wait here until QUIT went out
                    halfway.wait()
                    go.wait(120)
            try:
                results[i] = faults.post_body(st.port, "/upload", size, piece=piece, after_piece=after)
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                results[i] = e
        threads = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(UPLOADS)]
        for t in threads:
            t.start()
        halfway.wait()
        # every upload was accepted (a connection still in the accept queue
        # is reset when QUIT closes the listening socket, in nginx as in ours)
        harness.wait_for(lambda: faults.accept_queue(st.port) == 0, 60, what="the uploads accepted")
        os.kill(st.proxy.pid, signal.SIGQUIT)
        go.set()
        for t in threads:
            t.join(180)
        for r in results:
            self.assertIsInstance(r, tuple, "an upload in flight at QUIT failed: %r" % (r,))
            status, body, sha = r
            self.assertEqual(status, 200)
            self.assertEqual(body.decode(), "n=%d sha256=%s" % (size, sha))
        st.proxy.wait(60)  # then it exits


class Ours(Signals, harness.TempDirTestCase):
    IMPL = "ours"


class Peers(Signals, harness.TempDirTestCase):
    IMPL = "peers"

    def test_hup_gateway_six_times(self):
        self.skipTest("uWSGI's HUP is a different operation: the master re-executes itself and "
                      "waits for every worker (reload-mercy), where ours replaces its workers one by one")


if __name__ == "__main__":
    sys.exit(harness.main())
