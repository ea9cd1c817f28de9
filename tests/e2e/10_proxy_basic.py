"""proxy_pass basics: the request the upstream sees (nginx's header rules),
the response the client sees, keep-alive to upstreams, errors and retries
(proxy_next_upstream).  PROXY_IMPL=nginx runs the same checks on nginx."""
import time

import harness
from harness import Backend, ProxyCase

harness.need_proxy()


class ProxyBasic(ProxyCase):
    def setUp(self):
        super().setUp()
        self.b1 = Backend("b1")
        self.addCleanup(self.b1.stop)
        self.dead = harness.free_port()  # nothing listens there
        self.start_proxy("""
    log_format up '$request $status up=$upstream_addr us=$upstream_status urt=$upstream_response_time';
    upstream backend { server 127.0.0.1:%d; keepalive 4; }
    upstream nopool { server 127.0.0.1:%d; }
    upstream dead { server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:{port};
        access_log %s/up.log up;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /set/ {
            proxy_pass http://nopool;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header User-Agent "";
        }
        location /app/ { proxy_pass http://nopool/v1/; }
        location /dead/ { proxy_pass http://dead; }
        location /slow/ {
            proxy_pass http://nopool/sleep/;
            proxy_read_timeout 1s;
        }
        location = /status { status; }  # ours-only
        location /timing/ {
            proxy_pass http://backend/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            server_timing on;  # ours-only
        }
    }
""" % (self.b1.port, self.b1.port, self.dead, self.tmp))

    def hit(self, i=-1):
        return self.b1.hits[i]

    def hdr(self, hit, name):
        for k, v in hit["headers"]:
            if k.lower() == name.lower():
                return v
        return None

    def test_roundtrip_and_header_rules(self):
        r = self.get("/a/b?x=1&y=2", headers={
            "X-Custom": "kept", "Connection": "X-Private, keep-alive", "X-Private": "secret",
            "Keep-Alive": "timeout=5", "TE": "trailers", "Upgrade": "foo",
            "Proxy-Connection": "keep-alive"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Backend"), "b1")
        body = r.json()
        self.assertEqual(body["path"], "/a/b?x=1&y=2")
        hit = self.hit()
        self.assertEqual(self.hdr(hit, "Host"), "backend")  # $proxy_host
        self.assertEqual(self.hdr(hit, "X-Custom"), "kept")
        for gone in ("Keep-Alive", "TE", "Upgrade"):
            self.assertIsNone(self.hdr(hit, gone), gone)
        if self.ours():  # RFC 9110 §7.6.1; nginx forwards fields named in Connection
            self.assertIsNone(self.hdr(hit, "X-Private"))
            self.assertIsNone(self.hdr(hit, "Proxy-Connection"))
        # our Date/Server, not the backend's
        self.assertEqual(len(r.header_all("Server")), 1)
        self.assertEqual(len(r.header_all("Date")), 1)
        if self.ours():
            self.assertTrue(r.header("Server").startswith("proxy"), r.header("Server"))

    def test_proxy_set_header(self):
        r = self.get("/set/x", headers={"Host": "Example.ORG:8080", "X-Forwarded-For": "10.0.0.1",
                                        "User-Agent": "ua"})
        self.assertEqual(r.status, 200)
        hit = self.hit()
        self.assertEqual(self.hdr(hit, "Host"), "example.org")
        self.assertEqual(self.hdr(hit, "X-Real-IP"), "127.0.0.1")
        self.assertEqual(self.hdr(hit, "X-Forwarded-For"), "10.0.0.1, 127.0.0.1")
        self.assertIsNone(self.hdr(hit, "User-Agent"))  # empty value: not sent
        self.assertEqual(self.hdr(hit, "Connection"), "close")  # nginx's default

    def test_pass_uri_replaces_prefix(self):
        r = self.get("/app/some%20thing/x?q=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["path"], "/v1/some%20thing/x?q=1")

    def test_upstream_keepalive_reuses_connections(self):
        for i in range(6):
            r = self.get("/ka/%d" % i)
            self.assertEqual(r.status, 200)
        ports = {h["client"][1] for h in self.b1.hits[-6:]}
        self.assertEqual(len(ports), 1, "one pooled upstream connection expected: %s" % ports)
        hit = self.hit()
        self.assertIsNone(self.hdr(hit, "Connection"))

    def test_refused_is_502(self):
        r = self.get("/dead/x")
        self.assertEqual(r.status, 502)
        self.assertIn(b"502 Bad Gateway", r.body)
        self.assertEqual(r.header("Content-Type"), "text/html")

    def test_read_timeout_is_504(self):
        """proxy_read_timeout 1s, not the default 60s: the 504 comes long
        before the upstream's answer (the bound is a safety net, far from 1 s
        for a busy machine and far from 60 s)."""
        t = time.monotonic()
        r = self.get("/slow/30", timeout=40)
        self.assertEqual(r.status, 504)
        self.assertLess(time.monotonic() - t, 20)

    def test_upstream_status_passed(self):
        r = self.get("/status/404")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("X-Backend"), "b1")  # the upstream's own page
        r = self.get("/status/503", method="POST", body=b"x")
        self.assertEqual(r.status, 503)

    def test_head_keeps_content_length(self):
        c = self.raw()
        c.send("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response(head_only=True)
        self.assertEqual(r.status, 200)
        self.assertIsNotNone(r.header("Content-Length"))
        r = c.read_response()
        self.assertEqual(r.json()["path"], "/g")

    def test_access_log_upstream_fields(self):
        self.get("/logme")
        self.get("/dead/x")
        self.get("/slow/0.3")  # the upstream sleeps 0.3 s before it answers
        path = self.tmp + "/up.log"

        def lines():
            with open(path) as f:
                return f.read().splitlines()
        harness.wait_for(lambda: len(lines()) >= 3, 5, what="log lines")
        lines = lines()
        self.assertRegex(lines[-3], r"GET /logme HTTP/1.1 200 up=127.0.0.1:%d us=200" % self.b1.port)
        self.assertRegex(lines[-2], r"GET /dead/x HTTP/1.1 502 up=127.0.0.1:%d us=502" % self.dead)
        # $upstream_response_time: seconds with milliseconds, like 0.001
        self.assertRegex(lines[-3], r" urt=\d+\.\d{3}$")
        self.assertRegex(lines[-2], r" urt=\d+\.\d{3}$")
        urt = float(lines[-1].rsplit("urt=", 1)[1])
        self.assertGreaterEqual(urt, 0.3, lines[-1])
        self.assertLess(urt, 5, lines[-1])

    def test_status_json(self):
        if not self.ours():
            self.skipTest("the status handler is ours")
        self.get("/st")
        r = self.get("/status")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        doc = r.json()
        peers = doc["upstreams"]["backend"]["peers"]
        self.assertEqual(peers[0]["server"], "127.0.0.1:%d" % self.b1.port)
        self.assertGreaterEqual(peers[0]["requests"], 1)

    def test_server_timing(self):
        if not self.ours():
            self.skipTest("Server-Timing is ours")
        r = self.get("/timing/t", headers={"X-Want-App-Us": "1500"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("X-Chain-App-Us"))
        st = r.header("Server-Timing")
        names = [p.split(";")[0].strip() for p in st.split(",")]
        self.assertEqual(names, ["read", "queue", "connect", "header", "app", "total"], st)
        durs = {p.split(";")[0].strip(): float(p.split("dur=")[1]) for p in st.split(",")}
        self.assertAlmostEqual(durs["app"], 1.5, places=3)
        # without the option: no header, and the gateway's header still removed
        r = self.get("/x", headers={"X-Want-App-Us": "7"})
        self.assertIsNone(r.header("Server-Timing"))
        self.assertIsNone(r.header("X-Chain-App-Us"))


class NextUpstream(ProxyCase):
    def setUp(self):
        super().setUp()
        self.sick = Backend("sick", fail_status=500)
        self.good = Backend("good")
        self.addCleanup(self.sick.stop)
        self.addCleanup(self.good.stop)
        self.dead = harness.free_port()
        self.start_proxy("""
    upstream both { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    upstream sickonly { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    upstream deadfirst { server 127.0.0.1:%d max_fails=0; server 127.0.0.1:%d; }
    upstream both_nf { server 127.0.0.1:%d max_fails=0; server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:{port};
        location /retry/ { proxy_pass http://both; proxy_next_upstream error timeout http_500; }
        location /retry_np/ {
            proxy_pass http://both;
            proxy_next_upstream error timeout http_500 non_idempotent;
        }
        location /retry_nf/ {
            proxy_pass http://both_nf;
            proxy_next_upstream error timeout http_500 non_idempotent;
        }
        location /noretry/ { proxy_pass http://both; }
        location /last/ { proxy_pass http://sickonly; proxy_next_upstream error http_500; }
        location /dead/ { proxy_pass http://deadfirst; }
        location /tries/ {
            proxy_pass http://both;
            proxy_next_upstream error http_500;
            proxy_next_upstream_tries 1;
        }
    }
""" % (self.sick.port, self.good.port, self.sick.port, self.sick.port, self.dead, self.good.port,
       self.sick.port, self.good.port))

    def test_get_goes_to_next_on_500(self):
        for i in range(4):
            r = self.get("/retry/%d" % i)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.header("X-Backend"), "good")
        self.assertGreater(len(self.sick.hits), 0)

    def test_post_not_retried_unless_non_idempotent(self):
        statuses = {self.get("/retry/p%d" % i, method="POST", body=b"data").status for i in range(4)}
        self.assertIn(500, statuses)  # the sick peer's answer reaches the client
        for i in range(4):
            r = self.get("/retry_np/p%d" % i, method="POST", body=b"data")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["body"], "data")  # the body was sent again

    def test_without_http_500_the_500_passes(self):
        statuses = {self.get("/noretry/%d" % i).status for i in range(4)}
        self.assertEqual(statuses, {200, 500})

    def test_last_try_gives_real_response(self):
        r = self.get("/last/x")
        self.assertEqual(r.status, 500)
        self.assertEqual(r.header("X-Backend"), "sick")  # not a blank 502

    def test_connect_error_fails_over(self):
        for i in range(4):
            r = self.get("/dead/%d" % i, method="POST", body=b"abc")
            self.assertEqual(r.status, 200)  # nothing was sent to the dead peer
            self.assertEqual(r.json()["body"], "abc")

    def test_tries_limit(self):
        statuses = {self.get("/tries/%d" % i).status for i in range(4)}
        self.assertIn(500, statuses)

    def test_patch_lock_not_retried_unless_non_idempotent(self):
        for method in ("PATCH", "LOCK"):
            with self.subTest(method=method):
                statuses = {self.get("/retry/%s%d" % (method, i), method=method, body=b"data").status
                            for i in range(4)}
                self.assertIn(500, statuses)  # sent once: the sick peer's answer stands
        # with non_idempotent they go on to the good peer (max_fails=0 keeps
        # the sick one in turn, so each method meets it first in half the cases)
        for method in ("PATCH", "LOCK"):
            with self.subTest(method=method, non_idempotent=True):
                for i in range(4):
                    r = self.get("/retry_nf/%s%d" % (method, i), method=method, body=b"data")
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.json()["method"], method)
                    self.assertEqual(r.json()["body"], "data")
                reached = [h for h in self.sick.hits
                           if h["method"] == method and h["path"].startswith("/retry_nf/")]
                self.assertGreater(len(reached), 0, "no %s met the sick peer first" % method)

    def test_passed_on_status_is_not_a_failure(self):
        """nginx counts an http_* status as a failure only when it moves on
        to another server: the 500 a POST gets back (not retried) leaves the
        sick peer in the rotation (max_fails=1), so round robin alternates."""
        statuses = [self.get("/retry/q%d" % i, method="POST", body=b"x").status for i in range(6)]
        self.assertEqual(statuses, [500, 200] * 3)
        statuses = [self.get("/tries/q%d" % i).status for i in range(6)]
        self.assertEqual(statuses, [500, 200] * 3)


def silent_upstream(sock):
    """Reads the request head, then says nothing until the proxy hangs up."""
    harness.read_head(sock)
    while sock.recv(4096):
        pass


def nul_header_upstream(sock):
    """A status line, then a header name holding a NUL byte (invalid for
    nginx's parser and ours)."""
    harness.read_head(sock)
    sock.sendall(b"HTTP/1.1 200 OK\r\nX-B\x00ad: 1\r\nContent-Length: 2\r\n\r\nok")
    while sock.recv(4096):
        pass


def huge_head_upstream(sock):
    """A response head of 100 KB: larger than any proxy buffer (nginx's
    proxy_buffer_size, our 64 KiB), "upstream sent too big header"."""
    harness.read_head(sock)
    sock.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000)
                                                   for i in range(100))
                 + b"Content-Length: 2\r\n\r\nok")
    while sock.recv(4096):
        pass


class NextUpstreamConditions(ProxyCase):
    """Each proxy_next_upstream condition on a group of a misbehaving peer
    (max_fails=0: it stays in the rotation) and a good one: with the
    condition listed every request ends at the good peer; without it the
    misbehaving peer's answer (or the error for it) reaches the client on
    every other request (round robin)."""

    STATUSES = (502, 503, 504, 429)

    def setUp(self):
        super().setUp()
        self.good = Backend("good")
        self.addCleanup(self.good.stop)
        self.sick = {}
        for st in self.STATUSES:
            self.sick[st] = Backend("sick%d" % st, fail_status=st)
            self.addCleanup(self.sick[st].stop)
        self.silent = harness.ScriptedUpstream(silent_upstream)
        self.nul = harness.ScriptedUpstream(nul_header_upstream)
        self.huge = harness.ScriptedUpstream(huge_head_upstream)
        for u in (self.silent, self.nul, self.huge):
            self.addCleanup(u.stop)
        self.dead = harness.free_port()
        ups = {"st%d" % st: b.port for st, b in self.sick.items()}
        ups.update(silent=self.silent.port, nul=self.nul.port, huge=self.huge.port, dead=self.dead)
        conf = "".join("    upstream u_%s { server 127.0.0.1:%d max_fails=0; server 127.0.0.1:%d; }\n"
                       % (n, port, self.good.port) for n, port in ups.items())
        conf += "    server {\n        listen 127.0.0.1:{port};\n"
        for st in self.STATUSES:
            conf += ("        location /n%d/ { proxy_pass http://u_st%d; proxy_next_upstream http_%d; }\n"
                     "        location /p%d/ { proxy_pass http://u_st%d; }\n" % (st, st, st, st, st))
        conf += """
        location /to/ {
            proxy_pass http://u_silent;
            proxy_read_timeout 1s;
            proxy_next_upstream timeout;
        }
        location /to_no/ {
            proxy_pass http://u_silent;
            proxy_read_timeout 1s;
            proxy_next_upstream error;
        }
        location /nut/ {
            proxy_pass http://u_silent;
            proxy_read_timeout 1s;
            proxy_next_upstream timeout;
            proxy_next_upstream_timeout 500ms;
        }
        location /ih_nul/ { proxy_pass http://u_nul; proxy_next_upstream invalid_header; }
        location /ih_huge/ { proxy_pass http://u_huge; proxy_next_upstream invalid_header; }
        location /ih_no/ { proxy_pass http://u_huge; proxy_next_upstream error; }
        location /off/ { proxy_pass http://u_dead; proxy_next_upstream off; }
        location /dflt/ { proxy_pass http://u_dead; }
    }
"""
        self.start_proxy(conf)

    def assertAllGood(self, prefix, n=4):
        for i in range(n):
            r = self.get("%s%d" % (prefix, i))
            self.assertEqual((r.status, r.header("X-Backend")), (200, "good"), prefix)

    def test_http_statuses(self):
        for st in self.STATUSES:
            with self.subTest(status=st):
                self.assertAllGood("/n%d/" % st)
                self.assertGreater(len(self.sick[st].hits), 0)
                # not listed (default "error timeout"): the status passes
                statuses = [self.get("/p%d/%d" % (st, i)).status for i in range(4)]
                self.assertEqual(statuses, [st, 200, st, 200])

    def test_timeout(self):
        times = []
        for i in range(2):
            t0 = time.monotonic()
            r = self.get("/to/%d" % i, timeout=30)
            times.append(time.monotonic() - t0)
            self.assertEqual((r.status, r.header("X-Backend")), (200, "good"))
        self.assertGreaterEqual(self.silent.accepted, 1)
        self.assertGreater(max(times), 0.9, "the first try did not wait proxy_read_timeout")
        # without "timeout" the 504 reaches the client
        statuses = [self.get("/to_no/%d" % i, timeout=30).status for i in range(2)]
        self.assertEqual(statuses, [504, 200])

    def test_next_upstream_timeout(self):
        """The 1 s read timeout outlasts proxy_next_upstream_timeout 500ms:
        no second try, the 504 stands (/to/ shows the same group retried
        without the limit)."""
        t0 = time.monotonic()
        r = self.get("/nut/a", timeout=30)
        self.assertEqual(r.status, 504)
        self.assertLess(time.monotonic() - t0, 12)
        self.assertEqual(self.good.hits, [])
        r = self.get("/nut/b", timeout=30)
        self.assertEqual((r.status, r.header("X-Backend")), (200, "good"))

    def test_invalid_header(self):
        self.assertAllGood("/ih_nul/")
        self.assertGreaterEqual(self.nul.accepted, 1)
        self.assertAllGood("/ih_huge/")
        self.assertGreaterEqual(self.huge.accepted, 1)
        statuses = [self.get("/ih_no/%d" % i, timeout=30).status for i in range(4)]
        self.assertEqual(statuses, [502, 200, 502, 200])

    def test_off_never_retries(self):
        statuses = [self.get("/off/%d" % i).status for i in range(4)]
        self.assertEqual(statuses, [502, 200, 502, 200])
        self.assertAllGood("/dflt/")  # the same group with the default retries


if __name__ == "__main__":
    harness.main()
