"""Client connections: keep-alive rules of HTTP/1.0 and 1.1, pipelined
requests answered in order, keepalive_requests / keepalive_timeout,
Expect: 100-continue, Connection: close ending the connection, header
timeout.  PROXY_IMPL=nginx runs the same checks on nginx."""
import time

import harness
from harness import Backend, ProxyCase

harness.need_proxy()


class KeepAlive(ProxyCase):
    def setUp(self):
        super().setUp()
        self.b = Backend("b")
        self.addCleanup(self.b.stop)
        self.start_proxy("""
    upstream backend { server 127.0.0.1:%d; keepalive 8; }
    server {
        listen 127.0.0.1:{port};
        keepalive_requests 3;
        keepalive_timeout 1s;
        client_header_timeout 1s;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location /local { return 200 "local\\n"; }
    }
""" % self.b.port)

    def test_pipelined_in_order(self):
        c = self.raw()
        c.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
               "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
               "GET /local HTTP/1.1\r\nHost: a\r\n\r\n")
        r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
        self.assertEqual(r1.json()["path"], "/one")
        self.assertEqual(r2.json()["path"], "/two")
        self.assertEqual(r2.json()["body"], "hello")
        self.assertEqual(r3.body, b"local\n")
        self.assertEqual(r3.header("Connection"), "close")  # the 3rd of keepalive_requests 3
        self.assertTrue(c.closed())

    def test_chunked_request_then_pipelined(self):
        c = self.raw()
        c.send("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body"], "hello world")
        self.assertEqual(c.read_response().json()["path"], "/after")

    def test_http10(self):
        c = self.raw()
        c.send("GET /a HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertTrue(c.closed())
        c = self.raw()
        c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.header("Connection").lower(), "keep-alive")
        c.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(c.read_response().json()["path"], "/b")

    def test_connection_close_ends_it(self):
        c = self.raw()
        n = len(self.b.hits)
        c.send("GET /first HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
               "GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.json()["path"], "/first")
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.closed())
        self.assertEqual(c.buf, b"")  # nothing answered after it
        self.assertEqual([h["path"] for h in self.b.hits[n:]], ["/first"])

    def test_keepalive_timeout(self):
        c = self.raw()
        c.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        t = time.monotonic()
        # keepalive_timeout 1s, not the default 75s (20 s: a safety net)
        self.assertTrue(c.closed(timeout=20))
        self.assertLess(time.monotonic() - t, 20)
        self.assertEqual(c.buf, b"")  # idle keep-alive: closed silently

    def test_expect_100_continue(self):
        c = self.raw()
        c.send("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        self.assertEqual(c.read_interim(), 100)
        c.send("abcd")
        r = c.read_response()
        self.assertEqual(r.json()["body"], "abcd")
        hit = self.b.hits[-1]
        self.assertNotIn("expect", [k.lower() for k, _ in hit["headers"]])

    def test_header_timeout(self):
        c = self.raw()
        c.send("GET / HTTP/1.1\r\nHost: a\r\n")
        t = time.monotonic()
        if self.ours():
            r = c.read_response()
            self.assertEqual(r.status, 408)
        # client_header_timeout 1s, not the default 60s (20 s: a safety net)
        self.assertTrue(c.closed(timeout=20))
        self.assertLess(time.monotonic() - t, 20)



class LargeThenSmall(ProxyCase):
    """A large request head and a large response head, then ordinary ones, on
    one keep-alive connection and on fresh ones: the proxy gives back what a
    large request grew (its request state is reused, trimmed) and every
    later request still goes through whole."""

    BIG = 40000  # a request field line (large_client_header_buffers 4 64k)
    BIG_RESP = 20000  # a response field line (above the 16 KiB a cached state keeps)

    def setUp(self):
        super().setUp()
        self.b = Backend("b", extra_headers=[("X-Big-Response", "r" * self.BIG_RESP)])
        self.addCleanup(self.b.stop)
        self.start_proxy("""
    upstream backend { server 127.0.0.1:%d; keepalive 8; }
    server {
        listen 127.0.0.1:{port};
        large_client_header_buffers 4 64k;
        location / {
            proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_buffer_size 64k; proxy_buffers 4 64k;  # nginx-only: its response head buffer
        }
    }
""" % self.b.port)

    def check(self, r, big):
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.header("X-Big-Response") or ""), self.BIG_RESP)
        got = dict((k.lower(), v) for k, v in r.json()["headers"])
        self.assertEqual(got.get("x-big"), big)

    def test_large_then_small(self):
        big = "q" * self.BIG
        c = self.raw()
        for i in range(4):
            if i % 2 == 0:
                c.send("GET /big%d HTTP/1.1\r\nHost: a\r\nX-Big: %s\r\n\r\n" % (i, big))
                self.check(c.read_response(), big)
            else:
                c.send("GET /small%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                self.check(c.read_response(), None)
        c.close()
        for i in range(3):  # fresh connections take the cached request states
            c = self.raw()
            c.send("GET /n%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % i)
            self.check(c.read_response(), None)
            c.close()


if __name__ == "__main__":
    harness.main()
