"""Server-Timing through the whole chain (our proxy and gateway only: nginx
and uWSGI have no such feature, so CHAIN_IMPL=peers skips).

`server_timing on;` makes the proxy add
  Server-Timing: read;dur=R, queue;dur=Q, connect;dur=C, header;dur=H, app;dur=A, total;dur=T
where `app` is what the gateway measured around the app (sent to the proxy
as X-Chain-App-Us, which the client must never see).  Checked over both
ways to chain: proxy_pass on HTTP keep-alive (conf/proxy.conf, hello app)
and uwsgi_pass (conf/flask.conf); durations must be consistent: stages in
the fixed order, app <= header <= total, a slow app shows up in `app`."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import chainstack  # noqa: E402
import harness  # noqa: E402

chainstack.need_impl(proxy="ours", gateway="ours")  # nginx and uWSGI have no such feature

ORDER = ["read", "queue", "connect", "header", "app", "total"]
EPS = 0.01  # ms: values are printed with 3 decimals


class TimingChecks:
    def timing(self, resp):
        values = resp.header_all("Server-Timing")
        self.assertEqual(len(values), 1, resp.headers)
        entries = chainstack.parse_server_timing(values[0])
        names = [n for n, _ in entries]
        self.assertEqual(len(names), len(set(names)), values[0])
        for n in names:
            self.assertIn(n, ORDER, values[0])
        self.assertEqual(names, sorted(names, key=ORDER.index), "stages out of order: " + values[0])
        self.assertEqual(names[-1], "total", values[0])
        durs = {}
        for n, params in entries:
            self.assertIn("dur", params, values[0])
            durs[n] = float(params["dur"])
            self.assertGreaterEqual(durs[n], 0.0, values[0])
        self.assertIsNone(resp.header("X-Chain-App-Us"), "the gateway's header leaked to the client")
        return names, durs

    def check_proxied(self, resp):
        names, d = self.timing(resp)
        for n in ("read", "connect", "header", "app", "total"):
            self.assertIn(n, names, resp.header("Server-Timing"))
        self.assertLessEqual(d["app"], d["total"] + EPS, resp.header("Server-Timing"))
        self.assertLessEqual(d["app"], d["header"] + EPS, resp.header("Server-Timing"))
        seq = sum(d[n] for n in ("read", "queue", "connect", "header") if n in d)
        self.assertLessEqual(seq, d["total"] + 4 * EPS, resp.header("Server-Timing"))
        return d


class HelloOverHttp(TimingChecks, chainstack.DeployedTestCase):
    APP = "hello"  # conf/proxy.conf: proxy_pass, HTTP/1.1 keep-alive on a unix socket

    def test_header_on_every_response(self):
        for _ in range(5):
            r = self.dep.request("GET", "/")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"Hello, World!\n")
            self.check_proxied(r)

    def test_keepalive_requests_each_timed(self):
        c = harness.RawClient(self.dep.port)
        try:
            for _ in range(5):
                c.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                r = c.read_response()
                self.assertEqual(r.status, 200)
                d = self.check_proxied(r)
                self.assertLess(d["total"], 10000)  # per request, not per connection
        finally:
            c.close()

    def test_head_request(self):
        c = harness.RawClient(self.dep.port)
        try:
            c.send("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            r = c.read_response(head_only=True)
            self.assertEqual(r.status, 200)
            self.check_proxied(r)
        finally:
            c.close()

    def test_off_by_default(self):
        # the same chain without `server_timing on;`: no header, nothing leaked
        src = os.path.join(self.dep.run_dir, "proxy-hello.conf")
        port = harness.free_port()
        with open(src) as f:
            text = f.read()
        self.assertIn("server_timing on;", text)
        text = text.replace("server_timing on;", "").replace(":%d;" % self.dep.port, ":%d;" % port)
        text = text.replace("pid run/proxy.pid;", "pid run/proxy-off.pid;")
        conf = os.path.join(self.dep.run_dir, "proxy-off.conf")
        with open(conf, "w") as f:
            f.write(text)
        # as deploy/run.sh: root's workers stay root (the gateway's socket)
        root = ["-g", "user root;"] if os.geteuid() == 0 else []
        p = harness.Proc([harness.PROXY_BIN, "-p", self.dep.root + "/", "-c", conf] + root, self.tmp,
                         name="proxy-off", cwd=self.dep.root)
        try:
            p.wait_port(port, timeout=20)
            r = harness.request(port, "GET", "/", timeout=30)
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.header("Server-Timing"))
            self.assertIsNone(r.header("X-Chain-App-Us"))
        finally:
            p.stop(timeout=20)


class FlaskOverUwsgi(TimingChecks, chainstack.DeployedTestCase):
    APP = "flask"  # conf/flask.conf: uwsgi_pass on a unix socket

    def test_header_present(self):
        r = self.dep.request("GET", "/hello/timing", host="localhost")
        self.assertEqual(r.status, 200)
        self.check_proxied(r)

    def test_slow_app_shows_in_app_stage(self):
        t0 = time.monotonic()
        r = self.dep.request("GET", "/work?ms=300", host="localhost")
        elapsed_ms = (time.monotonic() - t0) * 1000
        self.assertEqual(r.status, 200, r.body)
        d = self.check_proxied(r)
        self.assertGreaterEqual(d["app"], 300.0, r.header("Server-Timing"))
        self.assertGreaterEqual(d["header"], d["app"] - EPS)
        self.assertLessEqual(d["total"], elapsed_ms + 1, "total longer than the client waited")

    def test_post_body_read_counts(self):
        r = self.dep.request("POST", "/api/messages", host="localhost",
                             body=b'{"name": "t", "text": "timed"}', headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 201)
        self.check_proxied(r)

    def test_error_from_app_still_timed(self):
        r = self.dep.request("GET", "/api/messages/987654321", host="localhost")
        self.assertEqual(r.status, 404)
        self.check_proxied(r)


if __name__ == "__main__":
    harness.main()
