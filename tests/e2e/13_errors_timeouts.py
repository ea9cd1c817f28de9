"""Errors as nginx answers them (small HTML pages, the connection closed
after framing errors), the hostile framings Debian's llhttp 8.1.0 accepts but
we refuse, limits (413, 414, 431), timeouts (client_body_timeout, upstream
send/read), and upstreams that misbehave (invalid head 502, reset mid-body:
the client sees a cut response).  PROXY_IMPL=nginx runs what nginx shares."""
import socket
import threading
import time

import harness
from harness import Backend, ProxyCase

harness.need_proxy()


class BadUpstream:
    """Answers every connection with `reply` then closes (or stalls)."""

    def __init__(self, reply, stall=False):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.reply, self.stall = reply, stall
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            try:
                s.settimeout(5)
                s.recv(65536)
                s.sendall(self.reply)
                if self.stall:
                    time.sleep(3)
            except OSError:
                pass
            finally:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                except OSError:
                    pass
                s.close()

    def stop(self):
        self.ls.close()


class Errors(ProxyCase):
    def setUp(self):
        super().setUp()
        self.b = Backend("b")
        self.addCleanup(self.b.stop)
        self.invalid = BadUpstream(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
        self.cut = BadUpstream(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        for u in (self.invalid, self.cut):
            self.addCleanup(u.stop)
        self.start_proxy("""
    upstream backend { server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:{port};
        client_max_body_size 1k;
        client_body_timeout 1s;
        large_client_header_buffers 4 1k;
        location / { proxy_pass http://backend; }
        location /invalid/ { proxy_pass http://127.0.0.1:%d; }
        location /cut/ { proxy_pass http://127.0.0.1:%d; }
        location /gone { return 404; }
        location /teapot { return 418 "short and stout\\n"; }
        location /moved { return 301 http://example.com/new; }
    }
""" % (self.b.port, self.invalid.port, self.cut.port))

    def send_raw(self, data):
        c = self.raw()
        c.send(data)
        try:
            r = c.read_response()
        except (ConnectionError, socket.timeout):
            return None, c
        return r, c

    def test_error_page_shape(self):
        r = self.get("/gone")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("Content-Type"), "text/html")
        self.assertIn(b"<center><h1>404 Not Found</h1></center>", r.body)
        r = self.get("/teapot")
        self.assertEqual((r.status, r.body), (418, b"short and stout\n"))
        r = self.get("/moved")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "http://example.com/new")

    def test_limits(self):
        r, c = self.send_raw("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
        self.assertEqual(r.status, 413)
        r, c = self.send_raw("GET /" + "a" * 2000 + " HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(r.status, 414)
        r, c = self.send_raw("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "b" * 2000 + "\r\n\r\n")
        self.assertIn(r.status, (400, 431))
        self.assertTrue(c.closed())
        # chunked past the limit
        r, c = self.send_raw("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "800\r\n" + "z" * 2048 + "\r\n0\r\n\r\n")
        self.assertEqual(r.status, 413)

    def test_malformed(self):
        cases = [
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 1\r\n\r\nx", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: pigeons\r\n\r\n", 501),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("GARBAGE\r\n\r\n", 400),
        ]
        for raw, want in cases:
            r, c = self.send_raw(raw)
            self.assertIsNotNone(r, raw)
            self.assertEqual(r.status, want, raw)
            self.assertTrue(c.closed(), raw)

    def test_hostile_framing_refused(self):
        if not self.ours():
            self.skipTest("nginx 1.22 lets some of these through")
        n = len(self.b.hits)
        cases = [
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nLong: one\r\n two\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil HTTP/1.1\r\nHost: a\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nHost: evil\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nX: bell\x07\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nDummy: x\nContent-Length: 23\r\n\r\n",
        ]
        for raw in cases:
            r, c = self.send_raw(raw)
            if r is not None:
                self.assertEqual(r.status, 400, repr(raw))
            self.assertTrue(c.closed(), repr(raw))
        # the chunked cases may reach the backend before their body is judged
        # bad, but never as a complete request answered 2xx
        for h in self.b.hits[n:]:
            self.assertNotEqual(h["path"], "/evil")

    def test_client_body_timeout(self):
        c = self.raw()
        c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab")
        t = time.monotonic()
        try:
            r = c.read_response()
            self.assertEqual(r.status, 408)
        except ConnectionError:
            pass
        # client_body_timeout 1s, not the default 60s (20 s: a safety net)
        self.assertTrue(c.closed(timeout=20))
        self.assertLess(time.monotonic() - t, 20)

    def test_invalid_upstream_head_is_502(self):
        self.assertEqual(self.get("/invalid/x").status, 502)

    def test_upstream_cut_mid_body(self):
        c = self.raw()
        c.send("GET /cut/x HTTP/1.1\r\nHost: a\r\n\r\n")
        with self.assertRaises(ConnectionError):
            c.read_response()  # Content-Length 100000, 1000 bytes, then closed


if __name__ == "__main__":
    harness.main()
