"""Fault suite: harakiri under load (issue 16, points 4 and 8).

The gateways run with --harakiri 3.  One request sleeps 10 s in the app
(the victim); while it sleeps, a load of 4 keep-alive clients runs GETs,
and a burst of 32 clients sends 96 more.
The victim gets 502 or 504 (its worker is killed, never a hang); every
other GET is answered 200.  None of the others may wait as long as the
harakiri: a request queued behind the busy worker (on a pooled keep-alive
connection that worker owns) waits exactly until the harakiri kill, while
idle workers could serve it.  That bound is 2.5 s, far above any normal
answer, so a busy machine cannot fail it.

Ours over uwsgi_pass (a connection per request) and over proxy_pass with
upstream keep-alive; peers: nginx 1.22 -> uWSGI with uwsgi_pass."""
import sys
import threading

import faults
import harness

HARAKIRI = 3
HOL_BOUND = 2.5  # seconds: below the harakiri, far above a normal answer


class Harakiri:
    IMPL = None
    PROTO = "uwsgi"

    def setUp(self):
        faults.need(self.IMPL)
        super().setUp()

    def test_harakiri_under_load(self):
        st = faults.Stack(self.tmp, impl=self.IMPL, proto=self.PROTO, harakiri=HARAKIRI).start()
        self.addCleanup(st.stop)
        load = faults.Load(st.port, conns=4, max_requests=200000, cap=120).start()
        victim = {}

        def sleep_request():
            try:
                victim["status"] = faults.get(st.port, "/sleep?s=10", timeout=60)[0]
            except OSError as e:
                victim["error"] = e
        try:
            load.wait_ok(200, 60)
            t = threading.Thread(target=sleep_request, daemon=True)
            t.start()
            harness.wait_for(lambda: faults.sleeping_pids(self.tmp), 30, what="the victim in the app")
            # a burst of 32 more clients: the proxy takes every idle pooled
            # connection, the busy worker's too, before opening new ones
            burst = faults.Load(st.port, conns=32, max_requests=96, cap=120).start()
            self.addCleanup(burst.stop)
            t.join(90)
            harness.wait_for(lambda: not burst.running(), 90, what="the burst's answers")
            bstats = burst.stop()
            self.assertFalse(t.is_alive(), "the victim was never answered")
            n = load.stats.ok + load.stats.failed
            load.wait_ok(n + 200, 60)
        finally:
            stats = load.stop()
        print("%s/%s: victim %s; others: %s" % (self.IMPL, self.PROTO, victim, stats.summary()))
        self.assertIn(victim.get("status"), (502, 504), victim)
        print("the burst: %s" % bstats.summary())
        self.assertEqual(stats.failed + bstats.failed, 0, stats.summary() + "; burst: " + bstats.summary())
        self.assertEqual(bstats.ok, 96)
        slow = [x for x in stats.latencies + bstats.latencies if x >= HOL_BOUND]
        self.assertEqual(slow, [], "%d requests waited behind the victim: %s" % (len(slow), stats.summary()))


class Ours(Harakiri, harness.TempDirTestCase):
    IMPL = "ours"


class OursKeepalive(Harakiri, harness.TempDirTestCase):
    IMPL = "ours"
    PROTO = "http"


class Peers(Harakiri, harness.TempDirTestCase):
    IMPL = "peers"

    # uWSGI's harakiri also fails requests of other clients (502s): the
    # issue measured 6,313 errors; shown as a skip with the count
    test_harakiri_under_load = faults.peer_fails("uWSGI's harakiri fails other requests too")(
        Harakiri.test_harakiri_under_load)


if __name__ == "__main__":
    sys.exit(harness.main())
