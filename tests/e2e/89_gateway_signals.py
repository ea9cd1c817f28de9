"""Gateway, black box: signals.  HUP reloads the workers with no failed
request under a bounded client loop and picks up new app code; TERM, INT and
QUIT stop gracefully, finishing the request in flight (TERM stops, it does
not reload)."""
import os
import shutil
import signal
import threading
import time

import harness
from harness import uwsgi_differs, wait_for

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built


def body_fields(r):
    return dict(kv.split("=") for kv in r.body.decode().split())


class Signals(harness.GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.port = harness.free_port()
        self.app = os.path.join(self.tmp, "app", "pid_app.py")
        os.makedirs(os.path.dirname(self.app))
        shutil.copy(os.path.join(harness.TEST_APPS_DIR, "pid_app.py"), self.app)

    def gw(self, processes=2):
        return self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port,
                                   "--wsgi-file", self.app, "--processes", str(processes)])

    def test_hup_reload_no_failed_request(self):
        g = self.gw()
        old = g.wait_workers(2)
        results, stop = [], threading.Event()

        def loop():
            deadline = time.monotonic() + 40
            for _ in range(3000):  # bounded in count and time
                if stop.is_set() or time.monotonic() > deadline:
                    break
                try:
                    r = harness.request(self.port, timeout=20)
                    results.append((r.status, body_fields(r) if r.status == 200 else r.body))
                except Exception as e:  # a failed request
                    results.append((None, repr(e)))
        threads = [threading.Thread(target=loop) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(results) >= 20, 20, what="traffic before the reload")
            with open(self.app) as f:
                src = f.read()
            with open(self.app, "w") as f:
                f.write(src.replace('VERSION = "1"', 'VERSION = "2-reloaded"'))
            g.signal(signal.SIGHUP)

            def new_code_everywhere():
                recent = [f for s, f in results[-20:] if s == 200]
                return len(recent) == 20 and all(f["version"] == "2-reloaded" for f in recent)
            wait_for(new_code_everywhere, 30, what="new code in every answer")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        failed = [r for r in results if r[0] != 200]
        self.assertEqual(failed, [], "requests failed during the reload")
        self.assertTrue(g.alive())
        new = g.wait_workers(2)
        self.assertFalse(set(old) & set(new), "old workers still running")
        self.assertValidatorClean(g)

    @uwsgi_differs("uWSGI's HUP stops every worker, then starts new ones")
    def test_hup_one_worker_at_a_time(self):
        g = self.gw(processes=2)
        old = set(g.wait_workers(2))
        harness.request(self.port)
        g.signal(signal.SIGHUP)
        lowest = 2
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = set(g.workers())
            lowest = min(lowest, len(now))
            if len(now) == 2 and not now & old:
                break
            time.sleep(0.005)
        self.assertFalse(set(g.workers()) & old, "old workers not replaced within 30 s")
        self.assertGreaterEqual(lowest, 1, "all workers were down at once during the reload")

    def graceful(self, sig):
        g = self.gw(processes=1)
        g.wait_workers(1)
        # the worker has imported the app and waits in its loop
        self.assertEqual(harness.request(self.port, timeout=20).status, 200)
        out = {}

        def slow():
            try:
                out["r"] = harness.request(self.port, path="/sleep?s=2", timeout=20)
            except Exception as e:
                out["e"] = e
        t = threading.Thread(target=slow)
        t.start()
        wait_for(lambda: self.record_lines("sleep.log"), 20, what="the request in the app")
        t0 = time.monotonic()
        g.signal(sig)
        t.join(20)
        self.assertNotIn("e", out, "the in-flight request failed: %r" % out.get("e"))
        self.assertEqual(out["r"].status, 200)
        g.wait(15)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(g.p.returncode, 0, g.output()[-2000:])
        self.assertFalse(harness.port_open(self.port), "still listening after stopping")
        return g

    @uwsgi_differs("uWSGI --die-on-term kills the workers at once")
    def test_term_graceful(self):
        self.graceful(signal.SIGTERM)

    @uwsgi_differs("uWSGI's INT kills the workers at once")
    def test_int_graceful(self):
        self.graceful(signal.SIGINT)

    @uwsgi_differs("uWSGI's QUIT kills the workers at once")
    def test_quit_graceful(self):
        self.graceful(signal.SIGQUIT)

    def test_term_stops_not_reloads(self):
        g = self.gw(processes=2)
        workers = g.wait_workers(2)
        g.signal(signal.SIGTERM)
        g.wait(15)  # the master exits: no reload
        self.assertFalse(harness.port_open(self.port))
        for p in workers:
            wait_for(lambda: not os.path.exists("/proc/%d" % p) or
                     open("/proc/%d/stat" % p).read().split(") ")[1][0] == "Z", 10,
                     what="worker %d gone" % p)


if __name__ == "__main__":
    harness.main()
