"""Gateway, black box: PEP 3333 over HTTP on TCP, every app wrapped in
wsgiref.validate (tests/apps/wsgi_suite.py).  GATEWAY_IMPL=uwsgi runs the
same tests against Debian's uWSGI (--http-socket); known differences are
marked @uwsgi_differs."""
import hashlib
import json
import os
import socket
import time
import unittest

import harness
from harness import RawClient, uwsgi_differs, wait_for

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

APP = os.path.join(harness.TEST_APPS_DIR, "wsgi_suite.py")

PEP3333_KEYS = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
                "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "REQUEST_URI",
                "wsgi.version", "wsgi.url_scheme", "wsgi.input", "wsgi.errors",
                "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once", "wsgi.file_wrapper",
                "wsgi.input_terminated"]


def get(port, path, version="1.1", headers=None, method="GET", body=b"", close=True):
    c = RawClient(port)
    try:
        hs = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        if body and "Content-Length" not in (headers or {}) and "Transfer-Encoding" not in (headers or {}):
            hs += "Content-Length: %d\r\n" % len(body)
        if close and version == "1.1":
            hs += "Connection: close\r\n"
        c.send("%s %s HTTP/%s\r\nHost: localhost\r\n%s\r\n" % (method, path, version, hs))
        if body:
            c.send(body)
        return c.read_response(head_only=method == "HEAD")
    finally:
        c.close()


class WsgiOverHttp(harness.SharedGatewayTestCase):
    @classmethod
    def gateway_args(cls):
        cls.port = harness.free_port()
        return ["--http-socket", "127.0.0.1:%d" % cls.port, "--wsgi-file", APP,
                "--processes", "2"]

    # --- environ ---------------------------------------------------------
    def test_environ_get(self):
        c = RawClient(self.port)
        c.send("GET /environ/caf%C3%A9%20x%2Fy?a=1&b=%20 HTTP/1.1\r\nHost: localhost:1234\r\n"
               "X-Multi: one\r\nX-Multi: two\r\nConnection: close\r\n\r\n")
        r = c.read_response()
        local_port = c.sock.getsockname()[1]
        c.close()
        self.assertEqual(r.status, 200, r.body)
        env = r.json()
        for k in PEP3333_KEYS:
            if k not in ("REMOTE_PORT", "wsgi.input_terminated"):  # see test_environ_extras
                self.assertIn(k, env["_types"], "environ lacks %s" % k)
        self.assertTrue(env["environ_is_dict"])
        self.assertEqual(env["REQUEST_METHOD"], "GET")
        self.assertEqual(env["SCRIPT_NAME"], "")
        # percent-decoded, then the bytes as latin-1 (%2F decodes too)
        self.assertEqual(env["PATH_INFO"], "/environ/caf\u00c3\u00a9 x/y")
        self.assertEqual(env["QUERY_STRING"], "a=1&b=%20")
        self.assertEqual(env["REQUEST_URI"], "/environ/caf%C3%A9%20x%2Fy?a=1&b=%20")
        self.assertEqual(env["SERVER_PROTOCOL"], "HTTP/1.1")
        # the port the request came in on (RFC 3875, uWSGI, wsgiref), not the
        # Host header's (gunicorn's choice)
        self.assertEqual(env["SERVER_PORT"], str(self.port))
        self.assertTrue(env["SERVER_NAME"])
        self.assertEqual(env["REMOTE_ADDR"], "127.0.0.1")
        self.assertEqual(env["HTTP_X_MULTI"], "one, two")
        self.assertEqual(env["HTTP_HOST"], "localhost:1234")
        self.assertEqual(env["wsgi.version"], [1, 0])
        self.assertEqual(env["_types"]["wsgi.version"], "tuple")
        self.assertEqual(env["wsgi.url_scheme"], "http")
        self.assertIs(env["wsgi.multithread"], False)
        self.assertIs(env["wsgi.multiprocess"], True)
        self.assertIs(env["wsgi.run_once"], False)
        self.assertNotIn("HTTP_CONTENT_TYPE", env)
        self.assertNotIn("HTTP_CONTENT_LENGTH", env)
        self.assertIn(env.get("CONTENT_LENGTH"), (None, ""))

    def test_environ_post(self):
        r = get(self.port, "/environ", method="POST", body=b"k=v",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 200, r.body)
        env = r.json()
        self.assertEqual(env["REQUEST_METHOD"], "POST")
        self.assertEqual(env["CONTENT_TYPE"], "application/x-www-form-urlencoded")
        self.assertEqual(env["CONTENT_LENGTH"], "3")
        self.assertNotIn("HTTP_CONTENT_TYPE", env)
        self.assertNotIn("HTTP_CONTENT_LENGTH", env)

    def test_environ_content_keys_only_when_known(self):
        """CONTENT_TYPE and CONTENT_LENGTH only when known.  PEP
        3333 allows them empty or absent; this gateway leaves them out (not
        empty) when the request has no such header, each on its own."""
        cases = (("GET", {}, b"", {}),
                 ("POST", {}, b"abc", {"CONTENT_LENGTH": "3"}),
                 ("POST", {"Content-Type": "text/plain", "Content-Length": "0"}, b"",
                  {"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "0"}),
                 ("OPTIONS", {"Content-Type": "text/plain"}, b"", {"CONTENT_TYPE": "text/plain"}))
        for method, headers, body, want in cases:
            with self.subTest(method=method, headers=headers):
                r = get(self.port, "/environ", method=method, headers=headers, body=body)
                self.assertEqual(r.status, 200, r.body)
                env = r.json()
                got = {k: env[k] for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if k in env["_types"]}
                self.assertEqual(got, want)

    @uwsgi_differs("--http-socket does not decode chunked request bodies")
    def test_environ_no_content_length_for_chunked(self):
        """A chunked body has no length to tell: no CONTENT_LENGTH key."""
        c = RawClient(self.port)
        c.send("POST /echo?mode=read_all HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               "Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        j = c.read_response().json()
        c.close()
        self.assertEqual(j["len"], 3)
        self.assertIs(j["has_CONTENT_LENGTH"], False)

    def test_environ_http10(self):
        r = get(self.port, "/environ", version="1.0")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["SERVER_PROTOCOL"], "HTTP/1.0")

    @uwsgi_differs("uWSGI 2.0.21 sets neither REMOTE_PORT nor wsgi.input_terminated")
    def test_environ_extras(self):
        c = RawClient(self.port)
        c.send("GET /environ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        env = c.read_response().json()
        local_port = c.sock.getsockname()[1]
        c.close()
        self.assertEqual(env.get("REMOTE_PORT"), str(local_port))
        self.assertIs(env.get("wsgi.input_terminated"), True)

    # --- wsgi.input --------------------------------------------------------
    BODY = b"line one\nsecond line is longer\n\nfourth\nno newline at the end"

    def test_input_modes(self):
        for mode, n in (("read_n", 1), ("read_n", 7), ("read_n", 4096), ("read_all", 0),
                        ("readline", 0), ("readlines", 0), ("iter", 0),
                        ("rawiter", 0), ("cl", 0)):
            with self.subTest(mode=mode, n=n):
                r = get(self.port, "/echo?mode=%s&n=%d" % (mode, n), method="POST", body=self.BODY)
                self.assertEqual(r.status, 200, r.body)
                j = r.json()
                self.assertEqual(j["body"].encode("latin-1"), self.BODY)
                if mode == "readline" and n == 0:
                    self.assertEqual(j["pieces"], 5)
                if mode in ("readlines", "iter", "rawiter"):
                    self.assertEqual(j["pieces"], 5)

    @uwsgi_differs("uWSGI's readline() ignores its size argument")
    def test_input_readline_size(self):
        r = get(self.port, "/echo?mode=readline&n=5", method="POST", body=self.BODY)
        j = r.json()
        self.assertEqual(j["body"].encode("latin-1"), self.BODY)
        self.assertTrue(all(x <= 5 for x in j["piece_lens"]), j["piece_lens"])
        want = []
        for line in self.BODY.splitlines(keepends=True):
            want += [line[i:i + 5] for i in range(0, len(line), 5)]
        self.assertEqual(j["piece_lens"], [len(w) for w in want])

    def test_input_empty(self):
        for mode in ("read_n", "read_all", "readline", "readlines", "iter"):
            r = get(self.port, "/echo?mode=%s" % mode, method="POST", body=b"",
                    headers={"Content-Length": "0"})
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["len"], 0)

    def test_input_binary_1mib(self):
        body = os.urandom(1 << 20)
        r = get(self.port, "/echo?mode=read_n&n=65536", method="POST", body=body)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["sha256"], hashlib.sha256(body).hexdigest())

    @uwsgi_differs("--http-socket does not decode chunked request bodies")
    def test_chunked_request_body(self):
        chunks = [b"line one\nsec", b"ond line\n", b"x" * 3000, b"\ntail"]
        enc = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        want = b"".join(chunks)
        for mode in ("read_n", "read_all", "readline", "readlines", "rawiter"):
            with self.subTest(mode=mode):
                c = RawClient(self.port)
                c.send("POST /echo?mode=%s&n=100 HTTP/1.1\r\nHost: x\r\n"
                       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % mode)
                for i in range(0, len(enc), 700):  # in several packets
                    c.send(enc[i:i + 700])
                    time.sleep(0.005)
                r = c.read_response()
                c.close()
                self.assertEqual(r.status, 200, r.body)
                j = r.json()
                self.assertEqual(j["len"], len(want))
                self.assertEqual(j["sha256"], hashlib.sha256(want).hexdigest())
                self.assertIs(j["input_terminated"], True)
                self.assertFalse(j["CONTENT_LENGTH"], "CONTENT_LENGTH must not be invented")

    # --- responses --------------------------------------------------------
    def test_content_length_kept(self):
        r = get(self.port, "/gen?n=5&cl=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"".join(b"piece-%d;" % i for i in range(5)))
        self.assertEqual(r.header("Content-Length"), str(len(r.body)))
        self.assertIsNone(r.header("Transfer-Encoding"))

    @uwsgi_differs("--http-socket never chunks (it closes the connection instead)")
    def test_chunked_response_on_11(self):
        c = RawClient(self.port)
        c.send("GET /gen?n=5 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertIsNone(r.header("Content-Length"))
        self.assertEqual(r.body, b"".join(b"piece-%d;" % i for i in range(5)))
        # the connection stays usable
        c.send("GET /gen?n=2&cl=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        r2 = c.read_response()
        self.assertEqual(r2.body, b"piece-0;piece-1;")
        c.close()

    def test_streamed_as_produced(self):
        """The first piece of a generator reaches the client before the app
        produces the second: the app waits for the client to say it has the
        first (the gateway writes each piece as it comes, never the whole
        body; one that buffered would leave read_until to time out)."""
        for version in ("1.1", "1.0"):
            with self.subTest(version=version):
                go = "go-%s-%d" % (version, os.getpid())
                c = RawClient(self.port, timeout=30)
                c.send("GET /handgen?go=%s HTTP/%s\r\nHost: x\r\n\r\n" % (go, version))
                c.read_until(b"hand-0;")  # while the app waits for `go`
                open(os.path.join(self.records, go), "w").close()
                r = c.read_response()
                c.close()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, b"hand-0;hand-1;")

    def test_close_delimited_on_10(self):
        c = RawClient(self.port)
        c.send("GET /gen?n=4 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertEqual(r.body, b"".join(b"piece-%d;" % i for i in range(4)))

    @uwsgi_differs("--http-socket sends the body to HEAD requests")
    def test_head_sends_no_body(self):
        for path in ("/gen?n=3&cl=1", "/gen?n=3", "/write", "/status?code=404"):
            with self.subTest(path=path):
                c = RawClient(self.port)
                c.send("HEAD %s HTTP/1.0\r\n\r\n" % path)
                r = c.read_response(head_only=True)
                self.assertTrue(c.closed(5))
                c.close()
                self.assertEqual(c.buf, b"", "HEAD answered with a body")
                self.assertIn(r.status, (200, 404))

    @uwsgi_differs("--http-socket has no keep-alive")
    def test_head_keepalive(self):
        c = RawClient(self.port)
        c.send("HEAD /gen?n=3 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response(head_only=True)
        self.assertEqual(r.status, 200)
        c.send("GET /gen?n=1&cl=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.body, b"piece-0;")
        c.close()

    @uwsgi_differs("--http-socket has no keep-alive or pipelining")
    def test_pipelining(self):
        c = RawClient(self.port)
        c.send("".join("GET /gen?n=1&piece=p%d-&cl=1 HTTP/1.1\r\nHost: x\r\n\r\n" % i
                       for i in range(5)))
        for i in range(5):
            self.assertEqual(c.read_response().body, b"p%d-0;" % i)
        c.close()

    def test_write_callable(self):
        r = get(self.port, "/write")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"abc")

    def test_status_codes(self):
        for code in (201, 404, 418, 503):
            r = get(self.port, "/status?code=%d" % code)
            self.assertEqual(r.status, code)
            self.assertEqual(r.body, b"status %d" % code)
        for code in (204, 304):
            c = RawClient(self.port)
            c.send("GET /status?code=%d HTTP/1.0\r\n\r\n" % code)
            r = c.read_response()
            self.assertEqual(r.status, code)
            self.assertTrue(c.closed(5))
            self.assertEqual(c.buf, b"")
            c.close()

    def test_not_found_route(self):
        self.assertEqual(get(self.port, "/nope").status, 404)

    # --- start_response checks -------------------------------------------
    @uwsgi_differs("uWSGI accepts CR/LF in status and headers, and a 2-digit status")
    def test_start_response_rejects_bad_input(self):
        for kind in ("status_int", "status_bytes", "status_short", "status_crlf", "hdr_crlf",
                     "hdr_lf", "hdr_name_crlf", "hdr_nonlatin1", "hdr_bytes",
                     "hdr_not_tuple"):
            with self.subTest(kind=kind):
                r = get(self.port, "/raw/badstatus?kind=%s&catch=1" % kind)
                self.assertEqual(r.status, 200, r.body)
                self.assertTrue(r.json()["raised"], "start_response accepted %s" % kind)
                self.assertIsNone(r.header("X-Bad"))

    @uwsgi_differs("uWSGI sends CR/LF headers as they are (response splitting)")
    def test_bad_start_response_uncaught_is_500(self):
        for kind in ("status_int", "status_crlf", "hdr_crlf", "hdr_name_crlf", "hdr_nonlatin1"):
            with self.subTest(kind=kind):
                c = RawClient(self.port)
                c.send("GET /raw/badstatus?kind=%s&catch=0 HTTP/1.0\r\n\r\n" % kind)
                raw = b""
                try:
                    while True:
                        d = c.sock.recv(65536)
                        if not d:
                            break
                        raw += d
                except OSError:
                    pass
                c.close()
                self.assertTrue(raw.startswith(b"HTTP/1.") and raw.split(b" ")[1] == b"500", raw)
                self.assertNotIn(b"X-Injected", raw)
                self.assertNotIn(b"bad input accepted", raw)

    # --- exc_info ---------------------------------------------------------
    @uwsgi_differs("uWSGI fails with SystemError from uwsgi_spit on a second start_response")
    def test_exc_info_replaces_before_send(self):
        r = get(self.port, "/excinfo/before")
        self.assertEqual(r.status, 500)
        self.assertEqual(r.body, b"replaced")
        self.assertIsNone(r.header("X-First"))

    @uwsgi_differs("uWSGI raises OSError('headers already sent'), not the exc_info exception")
    def test_exc_info_reraises_after_send(self):
        c = RawClient(self.port)
        c.send("GET /excinfo/after HTTP/1.0\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.body.startswith(b"first-piece;"))
        self.assertNotIn(b"never", r.body)
        lines = wait_for(lambda: self.record_lines("excinfo.log"), 5, what="excinfo.log")
        self.assertIn("reraised boom-after", lines[0])

    @uwsgi_differs("--http-socket does not chunk, so a truncated body looks complete")
    def test_exc_info_after_send_closes_chunked(self):
        c = RawClient(self.port)
        c.send("GET /excinfo/after HTTP/1.1\r\nHost: x\r\n\r\n")
        with self.assertRaises((ConnectionError, socket.timeout)):
            c.read_response()  # the last chunk never comes: the connection is closed
        c.close()

    # --- close() ----------------------------------------------------------
    def closed_ids(self):
        return [l.split()[1] for l in self.record_lines("close.log")]

    def test_close_called(self):
        get(self.port, "/close?id=ok1")
        get(self.port, "/close?id=head1", method="HEAD")
        c = RawClient(self.port)
        c.send("GET /close?id=raise1&mode=raise HTTP/1.0\r\n\r\n")
        c.closed(5)
        c.close()
        # a client that goes away in the middle of a slow body
        c = RawClient(self.port)
        c.send("GET /close?id=gone1&mode=slow HTTP/1.0\r\n\r\n")
        c.sock.recv(10)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
        wait_for(lambda: len(self.closed_ids()) >= 4, 20, what="4 close() calls")
        self.assertEqual(sorted(self.closed_ids()), ["gone1", "head1", "ok1", "raise1"])

    # --- file_wrapper -----------------------------------------------------
    def test_file_wrapper(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        path = os.path.join(self.tmp, "blob.bin")
        with open(path, "wb") as f:
            f.write(data)
        for route in ("/file", "/raw/file"):
            with self.subTest(route=route):
                r = get(self.port, "%s?path=%s" % (route, path))
                self.assertEqual(r.status, 200)
                self.assertEqual(r.header("Content-Length"), str(len(data)))
                self.assertEqual(hashlib.sha256(r.body).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_file_wrapper_uses_sendfile(self):
        data = os.urandom(2 * 1024 * 1024 + 5)
        path = os.path.join(self.tmp, "sf.bin")
        with open(path, "wb") as f:
            f.write(data)
        r = get(self.port, "/raw/sendfile?path=%s" % path)
        self.assertEqual(r.status, 200)
        self.assertEqual(hashlib.sha256(r.body).digest(), hashlib.sha256(data).digest())
        self.assertEqual(self.record_lines("fileread.log"), [],
                         "the file went through Python reads, not sendfile")

    def test_file_wrapper_filelike(self):
        for version in ("1.0", "1.1"):
            r = get(self.port, "/raw/filelike?n=100000", version=version)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, bytes(i % 251 for i in range(100000)))

    @uwsgi_differs("--http-socket sends the body to HEAD requests")
    def test_file_wrapper_head(self):
        path = os.path.join(self.tmp, "blob-head.bin")
        with open(path, "wb") as f:
            f.write(b"y" * 100000)
        c = RawClient(self.port)
        c.send("HEAD /raw/file?path=%s HTTP/1.0\r\n\r\n" % path)
        r = c.read_response(head_only=True)
        self.assertEqual(r.header("Content-Length"), "100000")
        self.assertTrue(c.closed(5))
        self.assertEqual(c.buf, b"")
        c.close()

    # --- application errors ----------------------------------------------
    @uwsgi_differs("--http-socket closes the connection without a 500 on an app exception")
    def test_app_exception_500(self):
        before = self.gateway.wait_workers(2)  # the 2nd may still be starting (ASan)
        mark = self.log_mark()
        for _ in range(4):
            r = get(self.port, "/raise")
            self.assertEqual(r.status, 500)
            self.assertNotIn(b"secret-detail-xyzzy", r.body)
            self.assertNotIn(b"Traceback", r.body)
        wait_for(lambda: "secret-detail-xyzzy" in self.log_since(mark), 5, what="traceback in log")
        self.assertIn("Traceback", self.log_since(mark))
        self.assertEqual(get(self.port, "/pid").status, 200)
        self.assertEqual(self.gateway.workers(), before, "a worker died on an app exception")

    def test_wsgi_errors_reach_the_log(self):
        r = get(self.port, "/errors?m=zork-marker")
        self.assertEqual(r.status, 200)
        wait_for(lambda: "wsgi.errors says zork-marker" in self.gateway.output(), 5, what="wsgi.errors line")
        wait_for(lambda: "second line zork-marker" in self.gateway.output(), 5, what="writelines line")

    def test_app_exception_after_headers(self):
        c = RawClient(self.port)
        c.send("GET /raise_after HTTP/1.0\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"partial;")
        self.assertEqual(get(self.port, "/pid").status, 200)

    @uwsgi_differs("--http-socket does not chunk, so a truncated body looks complete")
    def test_app_exception_after_headers_chunked(self):
        c = RawClient(self.port)
        c.send("GET /raise_after HTTP/1.1\r\nHost: x\r\n\r\n")
        with self.assertRaises((ConnectionError, socket.timeout)):
            c.read_response()
        c.close()


if __name__ == "__main__":
    harness.main()
