"""Gateway, black box: request bodies are bounded.  A declared length over
--limit-post is refused with 413 before the app runs (uWSGI closes without
an answer instead); without --limit-post an absurd declared length (10^18
in a uwsgi packet) is refused the same way; a chunked body that grows past
the limit gets 413; wsgi.input.read() grows its memory as bytes arrive
instead of allocating the declared length up front.  Framing the proxy
refuses is refused here too (400): a chunk size followed by a space, an
unterminated quoted chunk extension, a Host value with a space or '/'."""
import os
import socket

import harness
from harness import RawClient, UwsgiClient, uwsgi_differs, uwsgi_vars

harness.need_gateway()

APP = os.path.join(harness.TEST_APPS_DIR, "wsgi_suite.py")
LIMIT = 1000


def status(port, raw):
    c = RawClient(port, timeout=10)
    try:
        c.send(raw)
        return c.read_response()
    finally:
        c.close()


class Framing(harness.SharedGatewayTestCase):
    @classmethod
    def gateway_args(cls):
        cls.port = harness.free_port()
        return ["--http-socket", "127.0.0.1:%d" % cls.port, "--wsgi-file", APP,
                "--processes", "1"]

    @uwsgi_differs("uWSGI's HTTP parser is lax about chunk framing")
    def test_chunk_size_with_space(self):
        r = status(self.port, b"POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n0 \r\n\r\n")
        self.assertEqual(r.status, 400)

    @uwsgi_differs("uWSGI's HTTP parser is lax about chunk framing")
    def test_unterminated_quoted_extension(self):
        r = status(self.port, b"POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n5;a=\"bc\r\nhello\r\n0\r\n\r\n")
        self.assertEqual(r.status, 400)

    @uwsgi_differs("uWSGI does not check Host")
    def test_host_with_space(self):
        self.assertEqual(status(self.port, b"GET /pid HTTP/1.1\r\nHost: a b\r\n\r\n").status, 400)

    @uwsgi_differs("uWSGI does not check Host")
    def test_host_with_slash(self):
        self.assertEqual(status(self.port, b"GET /pid HTTP/1.1\r\nHost: a/b\r\n\r\n").status, 400)

    def test_valid_chunked_still_served(self):
        r = status(self.port, b"POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   b"5;a=\"b c\"\r\nhello\r\n0\r\n\r\n")
        self.assertEqual(r.status, 200)

    @uwsgi_differs("uWSGI allocates the declared length up front (MemoryError)")
    def test_huge_declared_length_read_in_pieces(self):
        # 10^12 bytes declared, 5 sent, then the client stops sending: read()
        # must fail on the missing bytes, never on allocating the promise
        mark = self.log_mark()
        c = RawClient(self.port, timeout=30)
        c.send(b"POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 1000000000000\r\n\r\nhello")
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 500)
        log = self.log_since(mark)
        self.assertIn("OSError", log)
        self.assertNotIn("MemoryError", log)


class Limits(harness.SharedGatewayTestCase):
    @classmethod
    def gateway_args(cls):
        cls.port = harness.free_port()
        cls.uport = harness.free_port()
        return ["--http-socket", "127.0.0.1:%d" % cls.port, "--socket",
                "127.0.0.1:%d" % cls.uport, "--wsgi-file", APP, "--processes", "1",
                "--limit-post", str(LIMIT)]

    @uwsgi_differs("uWSGI closes without an answer")
    def test_declared_over_limit_refused_before_the_body(self):
        # no body byte is sent: the answer must come from the head alone
        c = RawClient(self.port, timeout=10)
        c.send(b"POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
               % (LIMIT + 1))
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 413)
        self.assertEqual(r.header("connection"), "close")

    def test_at_limit_served(self):
        body = b"b" * LIMIT
        r = status(self.port, b"POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: %d\r\nConnection: close\r\n\r\n" % LIMIT + body)
        self.assertEqual(r.status, 200)

    @uwsgi_differs("uWSGI does not count chunked bodies against --limit-post")
    def test_chunked_over_limit(self):
        n = LIMIT + 24
        r = status(self.port, b"POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % n + b"c" * n + b"\r\n0\r\n\r\n")
        self.assertEqual(r.status, 413)

    @uwsgi_differs("uWSGI closes without an answer")
    def test_uwsgi_declared_over_limit(self):
        c = UwsgiClient(self.uport, timeout=10)
        env = uwsgi_vars(method="POST", path="/echo", port=self.uport)
        env = [(k, v) for k, v in env if k != "CONTENT_LENGTH"] + [("CONTENT_LENGTH", "5000")]
        r = c.request(env)
        c.close()
        self.assertEqual(r.status, 413)


class HardCap(harness.SharedGatewayTestCase):
    """No --limit-post: 10^18 declared in a uwsgi packet is still refused at
    once (413), with no allocation and no drain."""

    @classmethod
    def gateway_args(cls):
        cls.uport = harness.free_port()
        return ["--socket", "127.0.0.1:%d" % cls.uport, "--wsgi-file", APP, "--processes", "1"]

    @uwsgi_differs("uWSGI hands 10^18 to the app")
    def test_absurd_length(self):
        c = UwsgiClient(self.uport, timeout=10)
        env = uwsgi_vars(method="POST", path="/echo", query="mode=read_all", port=self.uport)
        env = [(k, v) for k, v in env if k != "CONTENT_LENGTH"]
        env.append(("CONTENT_LENGTH", "999999999999999999"))
        r = c.request(env)
        c.close()
        self.assertEqual(r.status, 413)
        # the worker is still there and serves the next request
        r = harness.uwsgi_request(self.uport, path="/pid")
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    harness.main()
