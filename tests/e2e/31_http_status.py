"""Proxy status codes, black box (PROXY_IMPL=ours|nginx): refused, reset and
invalid upstreams -> 502, upstream timeout -> 504, body too large -> 413,
request line too long -> 414, headers too large -> 431 (or 400 as nginx),
slow client -> 408 or a close, malformed -> 400, unknown transfer coding ->
501.  Fake upstreams are tiny raw sockets in this process."""
import shutil
import socket
import struct
import tempfile
import time
import unittest

import harness
from harness import RawClient


def reset_upstream(sock):
    """Reads the request head, then resets the connection (RST)."""
    harness.read_head(sock)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def garbage_upstream(sock):
    harness.read_head(sock)
    sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")


def bad_length_upstream(sock):
    harness.read_head(sock)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello")


def silent_upstream(sock):
    """Reads the request and says nothing for 20 s."""
    harness.read_head(sock)
    time.sleep(20)


def close_upstream(sock):
    """Reads the request head and closes without a word."""
    harness.read_head(sock)


class HttpStatus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.need_proxy()
        cls.tmp = tempfile.mkdtemp(prefix="chain-e2e-")
        cls.echo = harness.Backend("echo")
        cls.ups = {n: harness.ScriptedUpstream(f) for n, f in (
            ("reset", reset_upstream), ("garbage", garbage_upstream), ("badlen", bad_length_upstream),
            ("silent", silent_upstream), ("close", close_upstream))}
        cls.refused = harness.free_port()  # nothing listens there
        cls.port = harness.free_port()
        locs = "".join("""
        location /%s/ {
            proxy_pass http://127.0.0.1:%d;
            proxy_read_timeout 1s;
            proxy_next_upstream off;
        }""" % (n, u.port) for n, u in cls.ups.items())
        body = """
    server {
        listen 127.0.0.1:%(port)d;
        client_max_body_size 1k;
        client_header_timeout 1s;
        client_body_timeout 1s;
        large_client_header_buffers 4 1k;
        location / {
            proxy_pass http://127.0.0.1:%(echo)d;
        }
        location /refused/ {
            proxy_pass http://127.0.0.1:%(refused)d;
        }
        %(locs)s
    }
""" % {"port": cls.port, "echo": cls.echo.port, "refused": cls.refused, "locs": locs}
        cls.proxy = harness.start_proxy(cls.tmp, body, [cls.port])

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.echo.stop()
        for u in cls.ups.values():
            u.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, timeout=10):
        return harness.request(self.port, path=path, timeout=timeout)

    def assertSmallErrorPage(self, r, code):
        self.assertEqual(r.status, code)
        self.assertLess(len(r.body), 2048)
        self.assertIn(str(code).encode(), r.body)

    def test_ok_baseline(self):
        self.assertEqual(self.get("/fine").status, 200)

    def test_refused_upstream_502(self):
        self.assertSmallErrorPage(self.get("/refused/x"), 502)

    def test_reset_upstream_502(self):
        self.assertSmallErrorPage(self.get("/reset/x"), 502)

    def test_closed_upstream_502(self):
        self.assertSmallErrorPage(self.get("/close/x"), 502)

    @harness.nginx_differs("nginx passes a non-HTTP upstream answer on as HTTP/0.9")
    def test_invalid_upstream_response_502(self):
        self.assertSmallErrorPage(self.get("/garbage/x"), 502)

    @harness.nginx_differs("nginx 1.22 accepts two different upstream Content-Length values")
    def test_duplicate_length_upstream_response_502(self):
        self.assertSmallErrorPage(self.get("/badlen/x"), 502)

    def test_upstream_timeout_504(self):
        t0 = time.monotonic()
        r = self.get("/silent/x", timeout=30)
        self.assertSmallErrorPage(r, 504)
        self.assertLess(time.monotonic() - t0, 12, "proxy_read_timeout 1s not applied")

    def test_body_too_large_413(self):
        c = RawClient(self.port)
        c.send(b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 2048\r\n\r\n" + b"a" * 2048)
        self.assertSmallErrorPage(c.read_response(), 413)
        c.close()
        self.assertEqual(self.echo.hits and [h for h in self.echo.hits if h["path"] == "/big"], [])

    def test_body_too_large_chunked_413(self):
        c = RawClient(self.port)
        c.send(b"POST /bigc HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n"
               + b"a" * 2048 + b"\r\n0\r\n\r\n")
        self.assertEqual(c.read_response().status, 413)
        c.close()

    def test_body_too_large_expect_413_before_body(self):
        c = RawClient(self.port)
        c.send(b"POST /bige HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n")
        self.assertEqual(c.read_interim(), 413)
        c.close()

    def test_request_line_too_long_414(self):
        c = RawClient(self.port)
        c.send("GET /%s HTTP/1.1\r\nHost: t\r\n\r\n" % ("a" * 4000))
        self.assertSmallErrorPage(c.read_response(), 414)
        c.close()

    def test_headers_too_large_431_or_400(self):
        c = RawClient(self.port)
        c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n" % ("b" * 4000))
        r = c.read_response()
        self.assertIn(r.status, (400, 431))
        c.close()

    def test_too_many_header_bytes_431_or_400(self):
        c = RawClient(self.port)
        c.send("GET / HTTP/1.1\r\nHost: t\r\n" + "".join("X-H%d: %s\r\n" % (i, "v" * 600) for i in range(10))
               + "\r\n")
        self.assertIn(c.read_response().status, (400, 431))
        c.close()

    def test_slow_client_header_408_or_close(self):
        c = RawClient(self.port, timeout=20)
        c.send("GET /slow HTTP/1.1\r\nHost: t\r\n")
        t0 = time.monotonic()
        try:
            r = c.read_response()
            self.assertEqual(r.status, 408)
        except ConnectionError:
            pass  # closed without an answer (nginx)
        self.assertLess(time.monotonic() - t0, 12, "client_header_timeout 1s not applied")  # generous: shared machine
        c.close()

    def test_slow_client_body_408_or_close(self):
        c = RawClient(self.port, timeout=20)
        c.send("POST /slowbody HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        t0 = time.monotonic()
        try:
            self.assertEqual(c.read_response().status, 408)
        except ConnectionError:
            pass
        self.assertLess(time.monotonic() - t0, 12, "client_body_timeout 1s not applied")
        c.close()
        self.assertEqual([h for h in self.echo.hits if h["path"] == "/slowbody"], [],
                         "an incomplete body reached the upstream as a complete request")

    def test_malformed_400(self):
        for raw in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n",
                    b"GET / HTTP/9.9\r\nHost: t\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"):
            with self.subTest(raw=raw):
                st = harness.status_of(raw, self.port)
                self.assertTrue(st == [] or st[0] >= 400, "malformed answered %s" % st)
                self.assertFalse(any(200 <= s < 300 for s in st))
        self.assertEqual(harness.status_of(b"GARBAGE\r\n\r\n", self.port), [400])

    def test_unknown_transfer_coding_501(self):
        """A coding we do not implement before a final chunked: 501.  Without
        a final chunked the length cannot be known: RFC 9112 section 6.3 asks
        400 there (nginx says 501), so either is a refusal."""
        for te, want in (("x-unknown, chunked", (501,)), ("pigeons, chunked", (501,)),
                         ("gzip", (400, 501)), ("pigeons", (400, 501))):
            with self.subTest(te=te):
                c = RawClient(self.port)
                c.send("POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: %s\r\n\r\n"
                       "4\r\nxxxx\r\n0\r\n\r\n" % te)
                self.assertIn(c.read_response().status, want)
                c.close()

    @harness.nginx_differs("nginx answers 501 to any coding but chunked (gunicorn's corpus: valid)")
    def test_registered_coding_passed_on(self):
        """gzip before a final chunked is valid HTTP: the body is de-chunked
        or passed on, and the upstream sees the gzip coding (never a body
        silently stripped of it)."""
        c = RawClient(self.port)
        c.send("POST /gz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
               "4\r\nxxxx\r\n0\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        c.close()
        hit = [h for h in self.echo.hits if h["path"] == "/gz"][-1]
        te = [v.lower() for k, v in hit["headers"] if k.lower() == "transfer-encoding"]
        self.assertTrue(te and te[0].startswith("gzip"), "upstream lost the gzip coding: %r" % hit["headers"])

    def test_proxy_survives(self):
        """After all of the above the proxy still answers, workers alive."""
        self.assertEqual(self.get("/still").status, 200)
        self.assertTrue(self.proxy.alive())



class ResponseHeadLimit(harness.ProxyCase):
    """proxy_buffer_size: a response head that does not fit is a 502 (nginx:
    "upstream sent too big header"), one that fits passes, and the limit is
    per location."""

    def setUp(self):
        super().setUp()
        self.b = harness.Backend("b", extra_headers=[("X-Filler", "p" * 1500)])
        self.addCleanup(self.b.stop)
        self.start_proxy("""
    upstream backend { server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:{port};
        proxy_buffer_size 4k;
        location / { proxy_pass http://backend; }
        location /tiny/ { proxy_pass http://backend; proxy_buffer_size 1k; }
    }
""" % self.b.port)

    def test_limit(self):
        r = harness.request(self.port, "GET", "/fits")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.header("X-Filler") or ""), 1500)
        r = harness.request(self.port, "GET", "/tiny/x")
        self.assertEqual(r.status, 502)
        self.assertIsNone(r.header("X-Filler"))
        r = harness.request(self.port, "GET", "/fits/again")
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    harness.need_proxy()  # exits 77 (skip) when the proxy under test is missing
    harness.main()
