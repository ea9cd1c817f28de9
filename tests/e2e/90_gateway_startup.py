"""Gateway, black box: the command line.  Bad start-up input (missing file,
import error, syntax error, missing callable, missing module, bad address,
port in use, unknown option) exits non-zero within seconds naming the culprit;
--help, --version, --module/--callable/--pythonpath/--chdir, --env, --ini,
--pidfile, address forms, default buffer size, access log and
--disable-logging work."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

import harness
from harness import RawClient, uwsgi_differs, wait_for

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

APPS = harness.TEST_APPS_DIR
PID_APP = os.path.join(APPS, "pid_app.py")


read_stats = harness.read_stats


class BadStartup(harness.GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.port = harness.free_port()

    def fails(self, args, *needles, within=20.0):
        """Starts the gateway with `args`; it must exit non-zero within
        `within` seconds with every needle in its output."""
        g = self.start_gateway(args, wait=False)
        t0 = time.monotonic()
        try:
            rc = g.wait(within)
        except subprocess.TimeoutExpired:
            self.fail("still running after %.0f s with %r:\n%s" % (within, args, g.output()[-3000:]))
        out = g.output()
        self.assertNotEqual(rc, 0, out[-3000:])
        for n in needles:
            self.assertIn(n, out, "the error output does not mention %r" % n)
        self.assertFalse(harness.port_open(self.port))
        return out

    def http(self):
        return ["--http-socket", "127.0.0.1:%d" % self.port]

    @uwsgi_differs("uWSGI logs the failure but keeps running or exits 0")
    def test_missing_wsgi_file(self):
        path = os.path.join(self.tmp, "nope", "missing_app.py")
        self.fails(self.http() + ["--wsgi-file", path], "missing_app.py")

    @uwsgi_differs("uWSGI logs the failure but keeps running or exits 0")
    def test_import_error(self):
        out = self.fails(self.http() + ["--wsgi-file", os.path.join(APPS, "bad_import.py")],
                         "bad_import.py", "gw_no_such_module_xyzzy")
        self.assertIn("Traceback", out)

    @uwsgi_differs("uWSGI logs the failure but keeps running or exits 0")
    def test_syntax_error(self):
        path = os.path.join(self.tmp, "broken_syntax.py")
        shutil.copy(os.path.join(APPS, "syntax_error.py.txt"), path)
        self.fails(self.http() + ["--wsgi-file", path], "broken_syntax.py", "SyntaxError")

    @uwsgi_differs("uWSGI logs the failure but keeps running or exits 0")
    def test_missing_callable(self):
        self.fails(self.http() + ["--wsgi-file", os.path.join(APPS, "no_callable.py")],
                   "application")

    @uwsgi_differs("uWSGI logs the failure but keeps running or exits 0")
    def test_missing_named_callable(self):
        self.fails(self.http() + ["--wsgi-file", PID_APP, "--callable", "no_such_callable_q"],
                   "no_such_callable_q")

    @uwsgi_differs("uWSGI logs the failure but keeps running or exits 0")
    def test_missing_module(self):
        out = self.fails(self.http() + ["--pythonpath", APPS, "--module", "gwpkg.no_such_mod_w"],
                         "gwpkg.no_such_mod_w")
        self.assertIn("Traceback", out)

    @uwsgi_differs("uWSGI keeps running on an unusable address")
    def test_bad_address(self):
        # (no host names: a resolver without network may take longer than
        # the test allows to say no)
        for addr in ("127.0.0.1:99999", "127.0.0.1:http-ish", "127.0.0.1:"):
            with self.subTest(addr=addr):
                self.fails(["--http-socket", addr, "--wsgi-file", PID_APP], addr.split(":")[0])

    def test_port_in_use(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(5)
        try:
            g = self.start_gateway(self.http() + ["--wsgi-file", PID_APP], wait=False)
            rc = g.wait(10)
            self.assertNotEqual(rc, 0)
            self.assertIn(str(self.port), g.output())
        finally:
            s.close()

    def test_unknown_option(self):
        self.fails(self.http() + ["--wsgi-file", PID_APP, "--no-such-option-zz"],
                   "no-such-option-zz")

    @uwsgi_differs("uWSGI's exit status without an app varies (sometimes 0)")
    def test_no_app(self):
        self.fails(self.http())


class GoodStartup(harness.GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.port = harness.free_port()

    def run_once(self, args):
        p = subprocess.run(harness.gateway_argv(args), capture_output=True, timeout=20,
                           env=harness.clean_env(), cwd=self.tmp)
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def test_help(self):
        rc, out = self.run_once(["--help"])
        self.assertEqual(rc, 0, out[-2000:])
        for opt in ("--http-socket", "--socket", "--wsgi-file", "--module", "--processes",
                    "--harakiri", "--max-requests", "--stats"):
            self.assertIn(opt, out)

    def test_version(self):
        rc, out = self.run_once(["--version"])
        self.assertEqual(rc, 0, out)
        self.assertRegex(out.strip(), r"\d+\.\d+")

    def get_json(self, port=None):
        r = harness.request(port or self.port)
        self.assertEqual(r.status, 200, r.body)
        return r.json()

    def test_module_callable_pythonpath_chdir_env(self):
        chdir = os.path.join(self.tmp, "wd")
        os.makedirs(chdir)
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--pythonpath", APPS,
                            "--module", "gwpkg.web:app", "--chdir", chdir,
                            "--env", "GW_TEST_ENV=hello world=1"])
        j = self.get_json()
        self.assertEqual(j["callable"], "app")
        self.assertEqual(j["env"], "hello world=1")
        self.assertEqual(os.path.realpath(j["cwd"]), os.path.realpath(chdir))
        self.assertValidatorClean()

    def test_module_default_and_callable_option(self):
        p2 = harness.free_port()
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--pythonpath", APPS,
                            "--module", "gwpkg.web"], name="gw1")
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % p2, "--pythonpath", APPS,
                            "--module", "gwpkg.web", "--callable", "app"], name="gw2")
        self.assertEqual(self.get_json()["callable"], "application")
        self.assertEqual(self.get_json(p2)["callable"], "app")

    def test_ini(self):
        ini = self.write("gw.ini", "[other]\nprocesses = 7\n\n[uwsgi]\n"
                         "http-socket = 127.0.0.1:%d\npythonpath = %s\nmodule = gwpkg.web:app\n"
                         "processes = 2\nenv = GW_TEST_ENV=from-ini\n" % (self.port, APPS))
        g = self.start_gateway(["--ini", ini], wait=False)
        g.wait_port(self.port, 20)
        j = self.get_json()
        self.assertEqual(j["callable"], "app")
        self.assertEqual(j["env"], "from-ini")
        g.wait_workers(2)

    def test_pidfile(self):
        pidfile = os.path.join(self.tmp, "gw.pid")
        g = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP,
                                "--pidfile", pidfile])
        def written():
            try:
                with open(pidfile) as f:
                    return f.read().strip()
            except FileNotFoundError:
                return ""
        wait_for(written, 10, what="pidfile")
        with open(pidfile) as f:
            self.assertEqual(int(f.read().strip()), g.pid)

    def test_address_colon_port(self):
        self.start_gateway(["--http-socket", ":%d" % self.port, "--wsgi-file", PID_APP])
        self.assertEqual(harness.request(self.port).status, 200)

    @uwsgi_differs("uWSGI takes unix:/path for a TCP address")
    def test_address_unix_prefix(self):
        unix_a = os.path.join(self.tmp, "a.sock")
        unix_b = os.path.join(self.tmp, "b.sock")
        self.start_gateway(["--http-socket", ":%d" % self.port, "--http-socket", "unix:" + unix_a,
                            "--socket", "unix:" + unix_b, "--wsgi-file", PID_APP],
                           wait=False).wait_port(self.port, 20)
        wait_for(lambda: harness.unix_open(unix_a) and harness.unix_open(unix_b), 10, what="unix sockets")
        self.assertEqual(harness.request(self.port).status, 200)
        c = RawClient(None, unix=unix_a)
        c.send("GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        c.close()
        r = harness.uwsgi_request(unix=unix_b, path="/", script_name="")
        self.assertEqual(r.status, 200)

    @uwsgi_differs("uWSGI's default --buffer-size is 4 KiB")
    def test_big_headers_default(self):
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP])
        r = harness.request(self.port, headers={"X-Big": "b" * 40000, "Cookie": "c" * 16000})
        self.assertEqual(r.status, 200)

    def test_listen_and_buffer_size_options(self):
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP,
                            "--listen", "64", "--buffer-size", "32768"])
        self.assertEqual(harness.request(self.port, headers={"X-Big": "b" * 20000}).status, 200)
        self.assertEqual(self.backlog(self.port), 64)  # --listen reaches listen(2)

    @uwsgi_differs("uWSGI closes the connection on a head over --buffer-size (no 431)")
    def test_buffer_size_refuses_bigger_head(self):
        """docs/gateway.md: a request head bigger than --buffer-size gets
        431; one just under it is served."""
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP,
                            "--buffer-size", "32768"])
        self.assertEqual(self.head_status(40 * 1024), 431)
        self.assertEqual(self.head_status(32768 - 100), 200)

    def head_status(self, size):
        """The status answered to a GET whose whole head (request line to
        the blank line) is `size` bytes, in headers of at most 8000 bytes."""
        start, end = b"GET / HTTP/1.1\r\nHost: x\r\n", b"Connection: close\r\n\r\n"
        left, fields, i = size - len(start) - len(end), [], 0
        while left > 0:
            n = min(left, 8000)
            name = b"X-H%d: " % i
            if n < len(name) + 3:  # too short for a field: widen the previous one
                fields[-1] = fields[-1][:-2] + b"p" * n + b"\r\n"
                break
            fields.append(name + b"v" * (n - len(name) - 2) + b"\r\n")
            left -= n
            i += 1
        head = start + b"".join(fields) + end
        self.assertEqual(len(head), size)
        st = harness.status_of(head, self.port)
        self.assertEqual(len(st), 1, "no response to a %d-byte head" % size)
        return st[0]

    def backlog(self, port):
        """The listen backlog of the socket on `port`: Send-Q in `ss -ltn`."""
        out = subprocess.run(["ss", "-ltnH", "sport = :%d" % port], capture_output=True,
                             text=True, timeout=10).stdout.split("\n")
        lines = [l.split() for l in out if l.strip()]
        self.assertEqual(len(lines), 1, out)
        return int(lines[0][2])

    @uwsgi_differs("uWSGI's default --buffer-size is 4 KiB and --listen 100")
    def test_default_head_limit_and_backlog(self):
        """Room for 64 KiB of request head by default (docs/gateway.md:
        --buffer-size 65536, a bigger head gets 431) and a listen backlog
        of at least 1024 (capped by net.core.somaxconn)."""
        self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP])
        self.assertEqual(self.head_status(65536 - 200), 200)
        self.assertEqual(self.head_status(65536 + 200), 431)
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read())
        self.assertGreaterEqual(self.backlog(self.port), min(1024, somaxconn))

    def test_workers_option(self):
        """--workers (the alias of --processes) 3: three worker processes,
        and three requests held at once are served by all three (a busy
        worker is inside the app and cannot take the next one)."""
        stats = harness.free_port()
        g = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP,
                                "--workers", "3", "--stats", "127.0.0.1:%d" % stats])
        workers = set(g.wait_workers(3))
        time.sleep(0.5)
        self.assertEqual(set(g.workers()), workers)  # no fourth one later
        self.assertEqual({w["pid"] for w in read_stats(stats)["workers"]}, workers)

        def busy():
            return sum(w["status"] == "busy" for w in read_stats(stats)["workers"])
        clients = []
        for k in range(1, 4):
            c = RawClient(self.port, timeout=30)
            clients.append(c)
            c.send("GET /sleep?s=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            wait_for(lambda: busy() >= k, 10, what="%d busy workers" % k)
        pids = set()
        for c in clients:
            r = c.read_response()
            c.close()
            self.assertEqual(r.status, 200)
            pids.add(int(r.body.split()[0].split(b"=")[1]))
        self.assertEqual(pids, workers)

    def test_logto(self):
        logfile = os.path.join(self.tmp, "gw.log")
        g = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP,
                                "--logto", logfile])
        harness.request(self.port, path="/?marker=logto-zxcv")

        def logged():
            try:
                with open(logfile) as f:
                    return "logto-zxcv" in f.read()
            except FileNotFoundError:
                return False
        wait_for(logged, 10, what="access log line in --logto file")
        self.assertNotIn("logto-zxcv", g.output())

    @uwsgi_differs("uWSGI's --vacuum sometimes leaves the unix socket when stopped by INT")
    def test_vacuum(self):
        sock = os.path.join(self.tmp, "v.sock")
        pidfile = os.path.join(self.tmp, "v.pid")
        g = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--socket", sock,
                                "--wsgi-file", PID_APP, "--pidfile", pidfile, "--vacuum"])
        wait_for(lambda: os.path.exists(pidfile), 10, what="pidfile")
        g.signal(g.stop_signal())
        g.wait(15)
        self.assertFalse(os.path.exists(sock), "--vacuum left the unix socket")
        self.assertFalse(os.path.exists(pidfile), "--vacuum left the pidfile")

    def test_stale_unix_socket_replaced(self):
        """A socket file left by a crashed run does not stop a new start."""
        sock = os.path.join(self.tmp, "stale.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(sock)
        s.close()  # the file stays, nobody listens
        self.start_gateway(["--socket", sock, "--wsgi-file", PID_APP])
        r = harness.uwsgi_request(unix=sock, path="/", script_name="")
        self.assertEqual(r.status, 200)

    @uwsgi_differs("uWSGI writes its own log line format")
    def test_access_log_bytes_and_duration(self):
        """docs/gateway.md's line: ADDR - [date] "METHOD URI VERSION"
        status, body bytes, duration in microseconds, worker id."""
        g = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP])
        fast = harness.request(self.port, path="/?marker=fast-bytes-zxq")
        slow = harness.request(self.port, path="/sleep?s=0.3&marker=slow-bytes-zxq")
        self.assertEqual((fast.status, slow.status), (200, 200))
        wait_for(lambda: "slow-bytes-zxq" in g.output(), 10, what="access log lines")
        pattern = (r'^127\.0\.0\.1 - \[[^]]+\] "GET (\S+) HTTP/1\.1" (\d{3}) (\d+) (\d+) w\d+$')
        for marker, r, at_least in (("fast-bytes-zxq", fast, 0), ("slow-bytes-zxq", slow, 300000)):
            with self.subTest(marker=marker):
                line = [l for l in g.output().splitlines() if marker in l][0]
                m = re.match(pattern, line)
                self.assertTrue(m, line)
                self.assertEqual(int(m.group(2)), 200)
                self.assertEqual(int(m.group(3)), len(r.body), line)  # body bytes
                us = int(m.group(4))
                self.assertGreaterEqual(us, at_least, line)
                self.assertLess(us, 10000000, line)

    def test_access_log_and_disable_logging(self):
        g = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port, "--wsgi-file", PID_APP])
        harness.request(self.port, path="/?marker=logged-qwerty")
        wait_for(lambda: "logged-qwerty" in g.output(), 10, what="access log line")
        line = [l for l in g.output().splitlines() if "logged-qwerty" in l][0]
        self.assertIn("GET", line)
        self.assertIn("200", line)
        p2 = harness.free_port()
        g2 = self.start_gateway(["--http-socket", "127.0.0.1:%d" % p2, "--wsgi-file", PID_APP,
                                 "--disable-logging"], name="quiet")
        for _ in range(3):
            self.assertEqual(harness.request(p2, path="/?marker=quiet-asdfg").status, 200)
        time.sleep(0.5)
        self.assertNotIn("quiet-asdfg", g2.output())


if __name__ == "__main__":
    harness.main()
