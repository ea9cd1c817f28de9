"""Gateway, black box: the master keeps its workers: a SIGKILLed worker is
respawned (and the log says so), --harakiri replaces a stuck worker and
answers 504, --max-requests recycles after exactly N requests with no failed
request, --stats serves uWSGI-shaped JSON."""
import http.client
import json
import os
import re
import signal
import socket
import time

import harness
from harness import uwsgi_differs, wait_for

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

PID_APP = os.path.join(harness.TEST_APPS_DIR, "pid_app.py")
SUITE_APP = os.path.join(harness.TEST_APPS_DIR, "wsgi_suite.py")


def hit(port, path="/", timeout=15):
    r = harness.request(port, path=path, timeout=timeout)
    return r


def pid_n(r):
    d = dict(kv.split("=") for kv in r.body.decode().split())
    assert r.status == 200, r
    return int(d["pid"]), int(d["n"])


read_stats = harness.read_stats


class Workers(harness.GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.port = harness.free_port()

    def gw(self, *extra, app=PID_APP, processes=2):
        return self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", app,
                                   "--processes", str(processes)] + list(extra))

    def test_sigkill_respawn(self):
        stats_port = harness.free_port()
        g = self.gw("--stats", "127.0.0.1:%d" % stats_port)
        old = g.wait_workers(2)
        self.assertEqual(hit(self.port).status, 200)
        respawns = sum(w["respawn_count"] for w in read_stats(stats_port)["workers"])
        mark = len(g.output())
        victim = old[0]
        os.kill(victim, signal.SIGKILL)
        new = wait_for(lambda: (lambda w: w if len(w) == 2 and victim not in w else None)(g.workers()),
                       20, what="respawn")
        self.assertIn(old[1], new)
        for _ in range(40):
            self.assertEqual(hit(self.port).status, 200)
        wait_for(lambda: str(victim) in g.output()[mark:], 5, what="log naming the dead worker")
        # the line says why, not only who: killed by signal 9
        lines = [l for l in g.output()[mark:].splitlines() if str(victim) in l and "respawn" in l]
        self.assertTrue(lines, g.output()[mark:])
        self.assertTrue(any(re.search(r"\bsignal 9\b", l) for l in lines), lines)
        self.assertTrue(g.alive())
        st = read_stats(stats_port)
        self.assertEqual(sorted(w["pid"] for w in st["workers"]), sorted(g.workers()))
        self.assertEqual(sum(w["respawn_count"] for w in st["workers"]), respawns + 1)
        self.assertValidatorClean(g)

    @uwsgi_differs("uWSGI logs 'died' without the exit status")
    def test_exit_status_respawn(self):
        """A worker that exits on its own (status 3) is respawned, and the
        log line gives the status."""
        g = self.gw(processes=1)
        (victim,) = g.wait_workers(1)
        mark = len(g.output())
        try:
            hit(self.port, "/exit?code=3", timeout=10)
        except (ConnectionError, OSError, http.client.HTTPException):
            pass  # the worker died under the request: no answer, or a 5xx
        wait_for(lambda: (lambda w: len(w) == 1 and victim not in w)(g.workers()), 20, what="respawn")
        self.assertEqual(hit(self.port).status, 200)
        wait_for(lambda: str(victim) in g.output()[mark:], 5, what="log naming the dead worker")
        lines = [l for l in g.output()[mark:].splitlines() if str(victim) in l and "respawn" in l]
        self.assertTrue(any(re.search(r"\bexit (code|status) 3\b", l) for l in lines), lines)

    def test_sigkill_all_workers(self):
        g = self.gw()
        old = g.wait_workers(2)
        for p in old:
            os.kill(p, signal.SIGKILL)
        wait_for(lambda: (lambda w: len(w) == 2 and not set(old) & set(w))(g.workers()), 20, what="respawn")
        for _ in range(20):
            self.assertEqual(hit(self.port).status, 200)

    @uwsgi_differs("uWSGI's harakiri closes the connection without a response")
    def test_harakiri_504(self):
        g = self.gw("--harakiri", "2", processes=1)
        (before,) = g.wait_workers(1)
        t0 = time.monotonic()
        r = hit(self.port, "/sleep?s=30", timeout=40)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 504)
        self.assertLess(took, 20)  # harakiri 2 s; the app would answer at 30 s
        wait_for(lambda: (lambda w: len(w) == 1 and before not in w)(g.workers()), 15, what="replacement")
        self.assertEqual(hit(self.port).status, 200)

    @uwsgi_differs("uWSGI's harakiri closes the connection without a response")
    def test_harakiri_504_over_uwsgi(self):
        uw = harness.free_port()
        g = self.gw("--harakiri", "2", "--socket", "127.0.0.1:%d" % uw, processes=1)
        g.wait_port(uw)
        r = harness.uwsgi_request(port=uw, path="/sleep", query="s=8", script_name="", timeout=20)
        self.assertEqual(r.status, 504)
        r = harness.uwsgi_request(port=uw, path="/", script_name="", timeout=20)
        self.assertEqual(r.status, 200)

    def test_harakiri_replaces_worker(self):
        stats_port = harness.free_port()
        g = self.gw("--harakiri", "2", "--stats", "127.0.0.1:%d" % stats_port, processes=1)
        (before,) = g.wait_workers(1)
        try:
            hit(self.port, "/sleep?s=8", timeout=20)
        except (ConnectionError, OSError, harness.http.client.HTTPException):
            pass  # uWSGI closes; ours answers 504 (test_harakiri_504)
        wait_for(lambda: (lambda w: len(w) == 1 and before not in w)(g.workers()), 15, what="replacement")
        r = hit(self.port)
        self.assertEqual(r.status, 200)
        self.assertNotEqual(pid_n(r)[0], before)
        # fast requests under harakiri are left alone
        pids = {pid_n(hit(self.port, "/sleep?s=0.5"))[0] for _ in range(3)}
        self.assertEqual(len(pids), 1)
        st = read_stats(stats_port)
        self.assertGreaterEqual(sum(w["harakiri_count"] for w in st["workers"]), 1)

    @uwsgi_differs("uWSGI sometimes resets a connection queued while its worker recycles")
    def test_max_requests_exact(self):
        n = 5
        g = self.gw("--max-requests", str(n), processes=1)
        g.wait_workers(1)
        seen = []
        for _ in range(4 * n):
            r = hit(self.port)
            self.assertEqual(r.status, 200, "a request failed during recycling")
            seen.append(pid_n(r))
        pids = []
        for pid, count in seen:
            if not pids or pids[-1] != pid:
                pids.append(pid)
        self.assertEqual(len(pids), 4, seen)
        for i, (pid, count) in enumerate(seen):
            self.assertEqual(count, i % n + 1, "worker served %r" % seen)
        self.assertValidatorClean(g)

    def test_max_requests_two_workers_no_failure(self):
        g = self.gw("--max-requests", "3", processes=2)
        g.wait_workers(2)
        ok = 0
        pids = set()
        for _ in range(30):
            r = hit(self.port)
            self.assertEqual(r.status, 200)
            p, count = pid_n(r)
            self.assertLessEqual(count, 3)
            pids.add(p)
            ok += 1
        self.assertEqual(ok, 30)
        self.assertGreaterEqual(len(pids), 10)

    @uwsgi_differs("uWSGI 2.0 has no --max-requests-jitter (gunicorn's option)")
    def test_max_requests_jitter(self):
        g = self.gw("--max-requests", "4", "--max-requests-jitter", "3", processes=1)
        g.wait_workers(1)
        seen = [pid_n(hit(self.port)) for _ in range(30)]
        groups = {}
        order = []
        for pid, count in seen:
            if pid not in groups:
                order.append(pid)
            groups[pid] = count
        for pid in order[:-1]:  # the last worker may not be done
            self.assertTrue(4 <= groups[pid] <= 7, seen)

    @uwsgi_differs("uWSGI's option is spelled differently (no --preload; it imports in the master without --lazy-apps)")
    def test_preload_imports_in_master(self):
        g = self.gw("--preload")
        g.wait_workers(2)
        for _ in range(4):
            r = hit(self.port)
            d = dict(kv.split("=") for kv in r.body.decode().split())
            self.assertEqual(int(d["imported"]), g.pid)

    def test_default_imports_in_each_worker(self):
        g = self.gw()
        g.wait_workers(2)
        for _ in range(6):
            d = dict(kv.split("=") for kv in hit(self.port).body.decode().split())
            self.assertEqual(d["imported"], d["pid"])

    def test_stats_json(self):
        stats_port = harness.free_port()
        g = self.gw("--stats", "127.0.0.1:%d" % stats_port, app=SUITE_APP)
        pids = g.wait_workers(2)
        for _ in range(10):
            self.assertEqual(hit(self.port, "/pid").status, 200)
        try:
            hit(self.port, "/raise")
        except (ConnectionError, OSError, harness.http.client.HTTPException):
            pass
        st = read_stats(stats_port)
        self.assertIn("listen_queue", st)
        self.assertIsInstance(st["listen_queue"], int)
        self.assertEqual(len(st["workers"]), 2)
        for w in st["workers"]:
            for k in ("pid", "requests", "exceptions", "harakiri_count", "status", "rss",
                      "avg_rt", "respawn_count"):
                self.assertIn(k, w)
            self.assertIsInstance(w["requests"], int)
            self.assertIsInstance(w["rss"], int)
        got = sorted(w["pid"] for w in st["workers"])
        self.assertEqual(got, sorted(g.workers()))
        self.assertGreaterEqual(sum(w["requests"] for w in st["workers"]), 11)
        self.assertGreaterEqual(sum(w["exceptions"] for w in st["workers"]), 1)

    def test_usr1_logs_workers(self):
        g = self.gw()
        pids = g.wait_workers(2)
        for _ in range(4):
            hit(self.port)
        mark = len(g.output())
        g.signal(signal.SIGUSR1)

        def logged():
            out = g.output()[mark:]
            return all(str(p) in out for p in pids) or (
                g.impl == "uwsgi" and "requests" in out)  # uWSGI logs worker numbers
        wait_for(logged, 10, what="USR1 worker state in the log")
        self.assertTrue(g.alive())
        self.assertEqual(hit(self.port).status, 200)


if __name__ == "__main__":
    harness.main()
