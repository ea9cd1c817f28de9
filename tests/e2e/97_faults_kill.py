"""Fault suite: kill -9 under load (issue 16, point 8).

A load of 8 keep-alive clients runs GETs through the stack; a gateway
worker, or a gateway master, is killed with SIGKILL; the load goes on until
the tier is whole again (a new worker, detected by its pid) and for a fixed
number of requests more.  Every GET is counted.

- worker, two upstream servers: 0 failed GETs (the proxy retries an
  idempotent request that failed on the next server);
- worker, one upstream server: the killed worker is busy with a sleeping
  request outside the counted load (lost with it: no server to retry on,
  for nginx too); 0 failed GETs of the load.  A GET queued on a pooled
  keep-alive connection the killed worker owned must be retried on a fresh
  connection (proto http, ours only);
- master, two upstream servers: 0 failed GETs;
- master, one upstream server: the proxy answers 502 at once while no
  gateway listens (never hangs), and once the gateway is restarted on the
  same address every GET succeeds again (nothing stale is kept).

Ours runs proxy -> gateways over uwsgi_pass (and over proxy_pass with
upstream keep-alive); peers run nginx 1.22 -> uWSGI with uwsgi_pass."""
import os
import signal
import sys
import threading

import faults
import harness

WARMUP = 500      # answers before the kill
AFTER = 1500      # answers after the tier is whole again


class KillUnderLoad:
    IMPL = None
    PROTO = "uwsgi"

    def setUp(self):
        faults.need(self.IMPL)
        super().setUp()

    def stack(self, gateways):
        st = faults.Stack(self.tmp, impl=self.IMPL, gateways=gateways, proto=self.PROTO).start()
        self.addCleanup(st.stop)
        return st

    def run_load_around(self, st, fault):
        """Load, `fault()` after WARMUP answers, AFTER answers more once
        fault() returned; returns the load's Stats."""
        load = faults.Load(st.port, conns=8, max_requests=10 ** 7, cap=150).start()
        self.answers = lambda: load.stats.ok + load.stats.failed
        self.load = load
        try:
            load.wait_ok(WARMUP, 60)
            fault()
            n = load.stats.ok + load.stats.failed
            load.wait_ok(n + AFTER, 90)
        finally:
            stats = load.stop()
        print("%s/%s: %s" % (self.IMPL, self.PROTO, stats.summary()))
        self.assertGreaterEqual(stats.ok, WARMUP + AFTER - stats.failed)
        return stats

    def kill_worker(self, st):
        def fault():
            g = st.gateways[0]
            old = g.workers()
            victim = old[0]
            os.kill(victim, signal.SIGKILL)
            # whole again: the master has a new worker in the victim's place
            harness.wait_for(lambda: (lambda w: len(w) == len(old) and victim not in w)(g.workers()), 60,
                             what="a new worker after kill -9")
        return fault

    def test_kill_worker_two_servers(self):
        st = self.stack(2)
        stats = self.run_load_around(st, self.kill_worker(st))
        self.assertEqual(stats.failed, 0, stats.summary())

    def test_kill_worker_one_server(self):
        st = self.stack(1)
        victim = {}

        def sleep_request():
            try:
                victim["status"] = faults.get(st.port, "/sleep?s=40", timeout=90)[0]
            except OSError as e:
                victim["error"] = e

        def fault():
            # the killed worker is busy with a request outside the counted
            # load (it is lost with the worker); a request of the load that
            # was queued on a pooled connection of that worker must not be
            t = threading.Thread(target=sleep_request, daemon=True)
            t.start()
            pid = harness.wait_for(lambda: faults.sleeping_pids(self.tmp), 30, what="the victim in the app")[0]
            n = self.answers()
            harness.wait_for(lambda: self.answers() >= n + 300, 60, what="load beside the sleeping request")
            # a burst of 32 more clients: the proxy then takes every idle
            # pooled connection, the busy worker's too, before opening new
            # ones.  Where GETs can queue behind the busy worker, wait until
            # one does (bounded: where they cannot, none ever will)
            burst = faults.Load(st.port, conns=32, max_requests=96, cap=120).start()
            self.addCleanup(burst.stop)
            try:
                harness.wait_for(lambda: max(self.load.oldest_wait(), burst.oldest_wait()) > 1.0, 15,
                                 what="a GET queued behind it")
            except TimeoutError:
                pass
            g = st.gateways[0]
            old = g.workers()
            os.kill(pid, signal.SIGKILL)
            harness.wait_for(lambda: (lambda w: len(w) == len(old) and pid not in w)(g.workers()), 60,
                             what="a new worker after kill -9")
            t.join(90)
            harness.wait_for(lambda: not burst.running(), 90, what="the burst's answers")
            bursts.append(burst.stop())
        bursts = []
        stats = self.run_load_around(st, fault)
        print("the killed worker's own request: %s; the burst: %s" % (victim, bursts[0].summary()))
        self.assertTrue(victim, "the killed worker's request was never answered")
        self.assertEqual(stats.failed + bursts[0].failed, 0, stats.summary() + "; burst: " + bursts[0].summary())
        self.assertEqual(bursts[0].ok, 96)

    def test_kill_master_two_servers(self):
        st = self.stack(2)

        def fault():
            g = st.gateways[0]
            os.kill(g.pid, signal.SIGKILL)
            g.p.wait(30)  # reaped; its workers exit or serve on, the load goes on
        stats = self.run_load_around(st, fault)
        self.assertEqual(stats.failed, 0, stats.summary())

    def test_kill_master_one_server(self):
        st = self.stack(1)
        g = st.gateways[0]
        workers = g.workers()
        os.kill(g.pid, signal.SIGKILL)
        g.p.wait(30)
        for w in workers:  # as systemd's KillMode=control-group would
            try:
                os.kill(w, signal.SIGKILL)
            except ProcessLookupError:
                pass
        harness.wait_for(lambda: not harness.port_open(st.gw_ports[0]), 30, what="the gateway gone")
        for _ in range(5):
            status, _ = faults.get(st.port, timeout=30)
            self.assertEqual(status, 502)
        st.stop_gateway(0)
        st.start_gateway(0)
        load = faults.Load(st.port, conns=8, max_requests=AFTER, cap=90).start()
        load.wait_ok(AFTER, 90)
        stats = load.stop()
        print("%s/%s after restart: %s" % (self.IMPL, self.PROTO, stats.summary()))
        self.assertEqual(stats.failed, 0, stats.summary())
        self.assertEqual(stats.ok, AFTER)


class Ours(KillUnderLoad, harness.TempDirTestCase):
    IMPL = "ours"


class OursKeepalive(KillUnderLoad, harness.TempDirTestCase):
    """proxy_pass to the gateways' --http-socket with upstream keep-alive."""
    IMPL = "ours"
    PROTO = "http"


class Peers(KillUnderLoad, harness.TempDirTestCase):
    IMPL = "peers"


if __name__ == "__main__":
    sys.exit(harness.main())
