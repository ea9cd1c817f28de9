"""Gateway, black box: the HTTP front end under awkward clients.  Unread
request bodies on keep-alive connections, Expect: 100-continue, malformed
requests (400, never a crash), oversized heads, clients that vanish mid-body
or stall mid-head (others are still served by the same single worker).
(A client stalling mid-body is not tested: a sync worker whose app reads
wsgi.input waits for it by design, as under gunicorn's sync workers.)"""
import os
import socket
import time

import harness
from harness import RawClient, uwsgi_differs, wait_for

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

APP = os.path.join(harness.TEST_APPS_DIR, "wsgi_suite.py")


class Robustness(harness.SharedGatewayTestCase):
    @classmethod
    def gateway_args(cls):
        cls.port = harness.free_port()
        return ["--http-socket", "127.0.0.1:%d" % cls.port, "--wsgi-file", APP,
                "--processes", "1"]

    def alive_check(self):
        r = harness.request(self.port, path="/pid")
        self.assertEqual(r.status, 200)
        return int(r.body)

    @uwsgi_differs("--http-socket has no keep-alive")
    def test_unread_body_then_next_request(self):
        c = RawClient(self.port)
        body = b"z" * 200000
        c.send(b"POST /pid HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
               b"GET /gen?n=2&cl=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        r = c.read_response()
        self.assertEqual(r.body, b"piece-0;piece-1;")
        c.close()

    @uwsgi_differs("--http-socket has no keep-alive")
    def test_unread_chunked_body_then_next_request(self):
        c = RawClient(self.port)
        c.send(b"POST /pid HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
               b"GET /gen?n=1&cl=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(c.read_response().body, b"piece-0;")
        c.close()

    @uwsgi_differs("--http-socket does not answer Expect: 100-continue")
    def test_expect_100_continue(self):
        c = RawClient(self.port, timeout=3)
        body = b"0123456789" * 300
        c.send("POST /echo?mode=read_n&n=1000 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
               "Expect: 100-continue\r\nConnection: close\r\n\r\n" % len(body))
        self.assertEqual(c.read_interim(), 100)
        c.send(body)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["len"], len(body))
        c.close()

    @uwsgi_differs("uWSGI calls the app without REQUEST_METHOD for garbage, answers HTTP/9.9")
    def test_malformed_requests_400(self):
        pid = self.alive_check()
        for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET  HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                    b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                    b"\x00\x01\x02\x03binary\r\n\r\n"):
            with self.subTest(raw=raw):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                s.sendall(raw)
                data = b""
                try:
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        data += d
                except OSError:
                    pass
                s.close()
                if data:  # uWSGI closes silently; ours answers 4xx/5xx
                    self.assertRegex(data[:12], rb"^HTTP/1\.[01] [45]\d\d", data[:200])
        self.assertEqual(self.alive_check(), pid, "the worker died on a malformed request")

    @uwsgi_differs("uWSGI closes the connection on a malformed request without a 400")
    def test_malformed_request_gets_400(self):
        c = RawClient(self.port)
        c.send(b"GARBAGE\r\n\r\n")
        self.assertEqual(c.read_response().status, 400)
        c.close()

    @uwsgi_differs("uWSGI closes the connection on an oversized head without a 431")
    def test_oversized_head_431(self):
        c = RawClient(self.port)
        try:
            c.send("GET / HTTP/1.1\r\nHost: x\r\n" + "".join(
                "X-H%d: %s\r\n" % (i, "v" * 8000) for i in range(64)) + "\r\n")
        except OSError:
            pass
        r = c.read_response()
        self.assertIn(r.status, (431, 413, 400))
        c.close()
        self.alive_check()

    def test_client_vanishes_mid_body(self):
        pid = self.alive_check()
        for _ in range(3):
            c = RawClient(self.port)
            c.send(b"POST /echo?mode=read_n&n=4096 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                   + b"a" * 50000)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()
        time.sleep(0.3)
        self.assertEqual(self.alive_check(), pid)

    @uwsgi_differs("a --http-socket worker blocks on one slow client")
    def test_stalled_head_does_not_block_others(self):
        stalled = RawClient(self.port)
        stalled.send("GET /pid HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
        try:
            for _ in range(5):
                r = harness.request(self.port, path="/pid", timeout=3)
                self.assertEqual(r.status, 200)
        finally:
            stalled.close()



if __name__ == "__main__":
    harness.main()
