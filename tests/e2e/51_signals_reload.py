"""e2e 51: the master process and its signals, as nginx has them.

HUP re-reads the configuration and replaces the workers while a bounded
client loop runs: no request fails and the new configuration answers; a bad
configuration on HUP keeps the old workers serving and logs FILE:LINE; QUIT
lets an in-flight request finish; TERM stops at once; USR1 reopens the access
log after rotation; a killed worker is logged and replaced; `-s reload|quit`
signal the master through the pid file.  The workers share a listen socket
with the configured backlog and take connections one per wake-up (nginx's
multi_accept off) or all pending (multi_accept on).  Runs against nginx too
(PROXY_IMPL=nginx), where the log wording is not checked."""
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness

SLOW_BACKEND = """
    server {
        listen 127.0.0.1:%(port)d%(opts)s;
        location / { return 200 "%(body)s"; }
        location /slow/ { proxy_pass http://127.0.0.1:%(bport)d; proxy_read_timeout 30s; }
    }
"""


def holds(path):
    """A predicate on a pid: whether that process has `path` open."""
    def held(pid):
        fds = "/proc/%d/fd" % pid
        try:
            names = os.listdir(fds)
        except OSError:  # gone
            return False
        for fd in names:
            try:
                if os.readlink(os.path.join(fds, fd)) == path:
                    return True
            except OSError:
                pass
        return False
    return held


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Signals(harness.ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.port = harness.free_port()
        self.backend = harness.Backend("slow")
        self.addCleanup(self.backend.stop)

    def conf(self, body, opts=""):
        return SLOW_BACKEND % {"port": self.port, "body": body, "bport": self.backend.port,
                               "opts": opts}

    def write_conf(self, body, workers=2, opts=""):
        with open(os.path.join(self.tmp, "proxy.conf"), "w") as f:
            f.write(harness.proxy_conf(self.conf(body, opts), self.tmp, workers=workers))

    def body(self):
        return harness.request(self.port, path="/").body

    def wait_body(self, want, timeout=20):
        harness.wait_for(lambda: self.body() == want, timeout, what="body %r" % want)

    def test_hup_replaces_workers_without_failed_requests(self):
        self.hup_under_load("")

    def test_hup_with_reuseport_sockets(self):
        # one socket per worker; the new workers take over the same sockets
        self.hup_under_load(" reuseport")

    def hup_under_load(self, opts):
        p = self.start(self.conf("v1", opts), [self.port], workers=2)
        old = set(p.workers())
        self.assertEqual(len(old), 2)
        failures, bodies, stop = [], [], threading.Event()

        def loop():
            deadline = time.time() + 20
            n = 0
            while not stop.is_set() and n < 4000 and time.time() < deadline:
                n += 1
                try:
                    r = harness.request(self.port, path="/", timeout=10)
                    if r.status != 200:
                        failures.append(r.status)
                    bodies.append(r.body)
                except Exception as e:  # a refused or reset connection is a failure
                    failures.append(repr(e))

        threads = [threading.Thread(target=loop) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            harness.wait_for(lambda: len(bodies) > 50, 20, what="the client loop")
            self.write_conf("v2", opts=opts)
            os.kill(p.pid, signal.SIGHUP)
            harness.wait_for(lambda: bodies and bodies[-1] == b"v2", 20, what="v2 answers")
            harness.wait_for(lambda: not (old & set(p.workers())), 20,
                             what="the old workers to leave")
            n_at_switch = len(bodies)
            harness.wait_for(lambda: len(bodies) > n_at_switch + 50, 20, what="more requests")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(failures, [], p.error_log()[-3000:])
        self.assertEqual(len(p.workers()), 2)
        self.assertTrue(p.alive())
        self.assertGreater(len(bodies), 100)

    def test_bad_config_on_hup_keeps_old_workers(self):
        p = self.start(self.conf("v1"), [self.port], workers=2)
        old = set(p.workers())
        with open(os.path.join(self.tmp, "proxy.conf"), "a") as f:
            f.write("\nbogus_directive on;\n")
        lines = read(os.path.join(self.tmp, "proxy.conf")).count("\n")
        os.kill(p.pid, signal.SIGHUP)
        conf = os.path.join(self.tmp, "proxy.conf")
        if p.impl == "ours":
            harness.wait_for(lambda: "%s:%d: unknown directive \"bogus_directive\"" % (conf, lines)
                             in p.error_log(), 20, what="the FILE:LINE error in the log")
        else:
            harness.wait_for(lambda: "bogus_directive" in p.error_log(), 20, what="the error")
        time.sleep(0.5)
        self.assertEqual(set(p.workers()), old)
        for _ in range(20):
            self.assertEqual(self.body(), b"v1")
        self.assertTrue(p.alive())

    def test_quit_finishes_in_flight_request(self):
        p = self.start(self.conf("v1"), [self.port], workers=1)
        res = {}

        def slow():
            try:
                res["r"] = harness.request(self.port, path="/slow/sleep/1.5", timeout=20)
            except Exception as e:
                res["e"] = e

        t = threading.Thread(target=slow)
        t.start()
        harness.wait_for(lambda: self.backend.hits, 10, what="the request to reach the backend")
        os.kill(p.pid, signal.SIGQUIT)
        t.join(30)
        self.assertNotIn("e", res)
        self.assertEqual(res["r"].status, 200)
        self.assertEqual(p.wait(20), 0)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "proxy.pid")))

    def test_term_stops_fast(self):
        p = self.start(self.conf("v1"), [self.port], workers=2)
        workers = p.workers()
        t0 = time.time()
        os.kill(p.pid, signal.SIGTERM)
        p.wait(20)
        self.assertLess(time.time() - t0, 10)
        for w in workers:
            harness.wait_for(lambda: not os.path.exists("/proc/%d" % w) or
                             "Z" in read("/proc/%d/stat" % w).split()[2:3], 10,
                             what="worker %d to exit" % w)
        self.assertFalse(harness.port_open(self.port))

    def test_usr1_reopens_access_log(self):
        p = self.start(self.conf("v1"), [self.port], workers=2)
        log = os.path.join(self.tmp, "access.log")
        harness.request(self.port, path="/before")
        harness.wait_for(lambda: "/before" in read(log), 10, what="the first line")
        os.rename(log, log + ".1")
        os.kill(p.pid, signal.SIGUSR1)

        def moved():
            harness.request(self.port, path="/after")
            return os.path.exists(log) and "/after" in read(log)

        harness.wait_for(moved, 20, step=0.2, what="a new access.log after USR1")
        # each worker reopens on its own: wait until none writes to the old file
        rotated = holds(os.path.realpath(log + ".1"))
        harness.wait_for(lambda: not any(map(rotated, p.workers())), 20,
                         what="every worker to close the rotated access.log")
        for i in range(10):
            harness.request(self.port, path="/final%d" % i)
        harness.wait_for(lambda: "/final9" in read(log), 10, what="the last lines")
        self.assertNotIn("/final", read(log + ".1"))

    def test_dead_worker_is_respawned(self):
        p = self.start(self.conf("v1"), [self.port], workers=2)
        victim = p.workers()[0]
        os.kill(victim, signal.SIGKILL)
        # one scan per check: two scans could see the victim alive, then gone
        # before the master reaped it
        harness.wait_for(lambda: (lambda w: len(w) == 2 and victim not in w)(p.workers()), 20,
                         what="a new worker")
        if p.impl == "ours":
            self.assertIn("worker process %d exited on signal 9" % victim, p.error_log())
        for _ in range(10):
            self.assertEqual(self.body(), b"v1")

    def test_cli_signals(self):
        p = self.start(self.conf("v1"), [self.port], workers=1)
        argv = harness.proxy_argv(os.path.join(self.tmp, "proxy.conf"), self.tmp)
        self.write_conf("v2", workers=1)
        rc = harness.subprocess.run(argv + ["-s", "reload"], capture_output=True, timeout=30)
        self.assertEqual(rc.returncode, 0, rc.stderr)
        self.wait_body(b"v2")
        rc = harness.subprocess.run(argv + ["-s", "quit"], capture_output=True, timeout=30)
        self.assertEqual(rc.returncode, 0, rc.stderr)
        p.wait(20)
        rc = harness.subprocess.run(argv + ["-s", "quit"], capture_output=True, timeout=30)
        self.assertNotEqual(rc.returncode, 0)
        self.assertIn(b"proxy.pid", rc.stderr)


class Accepting(harness.ProxyCase):
    """The listen socket every worker accepts on."""

    HTTP = """
    server {
        listen 127.0.0.1:{port} backlog=77;
        location / { return 200 "ok"; }
    }
"""

    def backlog(self, port):
        """The listen backlogs on `port`: Send-Q in `ss -ltn`, one per socket."""
        out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True,
                             text=True, timeout=10).stdout.split("\n")
        return [int(l.split()[2]) for l in out if l.strip()]

    def syn_recv(self):
        """Connections to the port the kernel holds back (SYN-RECV)."""
        out = subprocess.run(["ss", "-tnH", "state", "syn-recv", "sport = :%d" % self.port],
                             capture_output=True, text=True, timeout=10).stdout
        return len([l for l in out.split("\n") if l.strip()])

    def burst(self, n=128):
        """n connections opened at once, then one request on each: all answered."""
        socks = []
        try:
            for _ in range(n):
                socks.append(socket.create_connection(("127.0.0.1", self.port), timeout=20))
            for s in socks:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            for i, s in enumerate(socks):
                data = b""
                while b"\r\n\r\nok" not in data:
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, "connection %d closed before its answer" % i)
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
        finally:
            for s in socks:
                s.close()

    def test_backlog_reaches_listen(self):
        # the socket the master opened keeps backlog=77 (a listener that
        # called listen() again would leave libevent's 128 there)
        self.start_proxy(self.HTTP, workers=2)
        self.assertEqual(self.backlog(self.port), [77])
        # not deferred: a silent connection is handed over at once
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        time.sleep(0.3)
        self.assertEqual(self.syn_recv(), 0)
        s.close()
        self.burst()

    def test_backlog_changed_on_reload(self):
        # a socket kept across HUP takes the new backlog= (nginx calls listen() again)
        self.start_proxy(self.HTTP, workers=1)
        self.assertEqual(self.backlog(self.port), [77])
        with open(self.conf_path) as f:
            text = f.read()
        with open(self.conf_path, "w") as f:
            f.write(text.replace("backlog=77", "backlog=99"))
        os.kill(self.proxy.pid, signal.SIGHUP)
        harness.wait_for(lambda: self.backlog(self.port) == [99], 20, what="backlog 99 after HUP")
        self.burst(16)

    def test_backlog_with_reuseport(self):
        self.start_proxy(self.HTTP.replace("backlog=77", "reuseport backlog=77"), workers=2)
        self.assertEqual(self.backlog(self.port), [77, 77])
        self.burst()

    def test_one_worker_takes_a_burst(self):
        # one connection per wake-up: a burst is still taken, a wake-up each
        self.start_proxy(self.HTTP, workers=1)
        self.burst(200)

    @staticmethod
    def cpu_ticks(pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def test_out_of_descriptors(self):
        """worker_rlimit_nofile below the connections: accept() fails with
        EMFILE; the worker stops accepting (no busy loop), logs it, and takes
        the waiting connections once some close (or, as nginx, after a
        while); every request is answered in the end."""
        self.start_proxy("""
    server {
        listen 127.0.0.1:{port};
        location / { return 200 "ok"; }
    }
""", workers=1, main_extra="worker_rlimit_nofile 64;")
        socks = [socket.create_connection(("127.0.0.1", self.port), timeout=10) for _ in range(100)]
        try:
            for s in socks:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answered, waiting = [], []
            deadline = time.monotonic() + 3
            for s in socks:  # a worker holds about 50 of them: the rest wait
                s.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    data = None
                (answered if data else waiting).append(s)
                if data:
                    self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
            self.assertGreater(len(answered), 10)
            self.assertGreater(len(waiting), 10, "the limit did not bite")
            harness.wait_for(lambda: "Too many open files" in self.error_log(), 10,
                             what="the accept() failure in the error log")
            # paused, not spinning on the readable listen socket
            worker = self.worker_pids()[0]
            t0 = self.cpu_ticks(worker)
            time.sleep(1.0)
            self.assertLess(self.cpu_ticks(worker) - t0, 30, "the worker spins while out of fds")
            for s in answered:  # descriptors come free: the rest gets in
                s.close()
            for s in waiting:
                s.settimeout(10)
                data = s.recv(4096)
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
        finally:
            for s in socks:
                s.close()
        r = harness.request(self.port, "GET", "/")
        self.assertEqual(r.status, 200)

    def test_deferred(self):
        """listen ... deferred (TCP_DEFER_ACCEPT): a connection that has sent
        nothing is not handed to the proxy yet (the kernel keeps it in
        SYN-RECV); once its request arrives it is answered."""
        self.start_proxy(self.HTTP.replace("backlog=77", "deferred"), workers=1)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            harness.wait_for(lambda: self.syn_recv() == 1, 5,
                             what="the silent connection in SYN-RECV")
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\nok" not in data:
                chunk = s.recv(4096)
                self.assertTrue(chunk, "closed before the answer")
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
        finally:
            s.close()

    def test_multi_accept_on(self):
        self.start_proxy(self.HTTP, workers=2, events_extra="multi_accept on; ")
        self.assertEqual(self.backlog(self.port), [77])
        self.burst(200)


if __name__ == "__main__":
    harness.need_proxy()
    harness.main()
