"""Gateway: process behaviour beyond the basics - the app-time header the
proxy turns into Server-Timing, a reload whose new code does not load (the
running workers stay), harakiri once the head is out, workers outliving a
killed master, app threads running between requests, --preload."""
import os
import signal
import socket
import time

import harness
from harness import RawClient, free_port, main, need_gateway, request, wait_for

APP = r'''
import os, threading, time
VERSION = "1"
ticks = [0]

def ticker():
    while True:
        time.sleep(0.01)
        ticks[0] += 1

threading.Thread(target=ticker, daemon=True).start()
rec = os.environ.get("WSGI_RECORD_DIR")
if rec:
    with open(os.path.join(rec, "imports"), "a") as f:
        f.write("%d\n" % os.getpid())

def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/sleep":
        time.sleep(float(environ["QUERY_STRING"] or "0.3"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept"]
    if path == "/sleepgen":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        def g():
            time.sleep(0.3)
            yield b"slept"
        return g()
    if path == "/partial-then-hang":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"partial;")
        time.sleep(30)
        return [b"never"]
    if path == "/ticks":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(ticks[0]).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %d" % (VERSION, os.getpid())).encode()]
'''


class Processes(harness.GatewayTestCase):
    def gw(self, *extra, processes=2):
        self.app = self.write("app.py", APP)
        self.port = free_port()
        return self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port,
                                   "--wsgi-file", self.app, "--processes", str(processes)]
                                  + list(extra))

    def test_app_time_header(self):
        self.gw()
        for path in ("/sleep", "/sleepgen"):
            t0 = time.monotonic()
            r = request(self.port, "GET", path)
            wall_us = (time.monotonic() - t0) * 1e6
            self.assertEqual(r.body, b"slept")
            us = int(r.header("X-Chain-App-Us"))
            self.assertGreaterEqual(us, 300000, path)
            self.assertLessEqual(us, wall_us, path)
        us = int(request(self.port).header("X-Chain-App-Us"))
        self.assertLess(us, 300000)

    def test_reload_with_broken_code_keeps_serving(self):
        g = self.gw()
        old = g.wait_workers(2)
        # both workers have imported the app (not just forked) before it changes
        wait_for(lambda: len({request(self.port).body for _ in range(8)}) == 2, 20,
                 what="answers from both workers")
        self.assertTrue(request(self.port).body.startswith(b"1 "))
        with open(self.app, "a") as f:
            f.write("\nthis is not python(\n")
        mark = len(g.output())
        g.signal(signal.SIGHUP)
        wait_for(lambda: "reload" in g.output()[mark:] and "keeping" in g.output()[mark:], 20,
                 what="the failed reload in the log")
        self.assertIn("SyntaxError", g.output()[mark:])
        for _ in range(10):
            r = request(self.port)
            self.assertEqual(r.status, 200)
            self.assertTrue(r.body.startswith(b"1 "))
        self.assertEqual(g.workers(), old)
        with open(self.app, "w") as f:
            f.write(APP.replace('VERSION = "1"', 'VERSION = "2"'))
        g.signal(signal.SIGHUP)
        wait_for(lambda: all(request(self.port).body.startswith(b"2 ") for _ in range(4)), 30,
                 what="new code after the second reload")

    def test_harakiri_after_head_sent_closes(self):
        self.gw("--harakiri", "1")
        c = RawClient(self.port, timeout=15)
        t0 = time.monotonic()
        c.send("GET /partial-then-hang HTTP/1.1\r\nHost: a\r\n\r\n")
        head = c._line()
        self.assertIn(b"200", head)
        self.assertTrue(c.closed(15))
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIn(b"partial;", c.buf)
        self.assertNotIn(b"504", c.buf)  # no second response glued to the first
        c.close()
        self.assertEqual(request(self.port).status, 200)

    def test_workers_leave_with_a_killed_master(self):
        g = self.gw()
        pids = g.wait_workers(2)
        os.kill(g.pid, signal.SIGKILL)

        def gone():
            return all(not os.path.exists("/proc/%d" % p) or
                       open("/proc/%d/stat" % p).read().split(") ")[1][0] == "Z" for p in pids)
        wait_for(gone, 15, what="workers to exit after the master died")

    def test_app_threads_run_between_requests(self):
        self.gw(processes=1)
        a = int(request(self.port, "GET", "/ticks").body)
        time.sleep(0.5)
        b = int(request(self.port, "GET", "/ticks").body)
        self.assertGreater(b - a, 5, "the app's thread did not run while the worker was idle")

    def test_preload_imports_once(self):
        self.gw("--preload")
        wait_for(lambda: len(self.record_lines("imports")) >= 1, 10, what="import record")
        time.sleep(0.3)
        self.assertEqual(len(self.record_lines("imports")), 1)
        pids = {request(self.port).body.split()[1] for _ in range(6)}
        self.assertTrue(pids)

    def test_stats_listen_queue_unix(self):
        self.app = self.write("app.py", APP)
        sock = os.path.join(self.tmp, "gw.sock")
        stats = free_port()
        self.start_gateway(["--http-socket", sock, "--wsgi-file", self.app, "--processes", "1",
                            "--stats", "127.0.0.1:%d" % stats])
        clients = []
        try:
            for _ in range(6):  # one runs (2 s), the others wait in the queue
                s = socket.socket(socket.AF_UNIX)
                s.connect(sock)
                s.sendall(b"GET /sleep?2 HTTP/1.1\r\nHost: a\r\n\r\n")
                clients.append(s)

            wait_for(lambda: harness.read_stats(stats)["listen_queue"] >= 3, 5,
                     what="the unix socket's queue in the stats")
        finally:
            for s in clients:
                s.close()

    def test_stopping_worker_answers_keepalive_reuse(self):
        g = self.gw(processes=1)
        c = RawClient(self.port)
        c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        wpid = int(r.body.split()[1])
        os.kill(wpid, signal.SIGTERM)  # the master respawns it; the old one winds down
        if harness.GATEWAY_IMPL == "ours":  # wait until it has begun to stop
            wait_for(lambda: "(pid %d) stopping" % wpid in g.output(), 20, what="the worker stopping")
        else:
            time.sleep(0.05)
        # the client reuses its idle connection just as the worker stops
        c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.closed(5))
        c.close()
        wait_for(lambda: request(self.port).status == 200, 10, what="the respawned worker")

    def test_post_fork_import_by_default(self):
        g = self.gw()
        pids = g.wait_workers(2)
        wait_for(lambda: len(self.record_lines("imports")) >= 2, 10, what="imports")
        self.assertEqual(sorted(int(x) for x in self.record_lines("imports")), sorted(pids))


if __name__ == "__main__":
    need_gateway()
    main()
