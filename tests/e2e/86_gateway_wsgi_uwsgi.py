"""Gateway, black box: PEP 3333 over the uwsgi binary protocol (TCP and unix
sockets) and HTTP over a unix socket, all sockets of one gateway at once,
apps wrapped in wsgiref.validate (tests/apps/wsgi_suite.py)."""
import hashlib
import os
import socket

import harness
from harness import RawClient, uwsgi_differs, wait_for

harness.need_gateway()  # exits 77 (skip) when the gateway under test is not built

APP = os.path.join(harness.TEST_APPS_DIR, "wsgi_suite.py")


def uwsgi_request(**kw):
    """Packets without SCRIPT_NAME, as nginx's uwsgi_params sends them.
    uWSGI does not default a missing SCRIPT_NAME (the validator then fails
    with KeyError): under GATEWAY_IMPL=uwsgi the packets carry SCRIPT_NAME=""
    except in test_script_name_defaulted."""
    if harness.GATEWAY_IMPL == "uwsgi" and "script_name" not in kw:
        kw["script_name"] = ""
    return harness.uwsgi_request(**kw)


class WsgiOverUwsgi(harness.SharedGatewayTestCase):
    @classmethod
    def gateway_args(cls):
        cls.http_port = harness.free_port()
        cls.uw_port = harness.free_port()
        cls.uw_unix = os.path.join(cls.tmp, "uw.sock")
        cls.http_unix = os.path.join(cls.tmp, "http.sock")
        return ["--http-socket", "127.0.0.1:%d" % cls.http_port,
                "--socket", "127.0.0.1:%d" % cls.uw_port,
                "--socket", cls.uw_unix,  # a plain path is a unix socket
                "--http-socket", cls.http_unix,
                "--wsgi-file", APP, "--processes", "2"]

    def targets(self):
        return [{"port": self.uw_port}, {"unix": self.uw_unix}]

    def test_environ_from_packet(self):
        for t in self.targets():
            with self.subTest(**t):
                r = uwsgi_request(path="/environ/caf\u00c3\u00a9 x", query="a=1&b=%20",
                                  headers={"X-Multi": "one, two", "Host": "example.test"}, **t)
                self.assertEqual(r.status, 200, r.body)
                env = r.json()
                self.assertTrue(env["environ_is_dict"])
                self.assertEqual(env["PATH_INFO"], "/environ/caf\u00c3\u00a9 x")
                self.assertEqual(env["QUERY_STRING"], "a=1&b=%20")
                self.assertEqual(env["REQUEST_METHOD"], "GET")
                self.assertEqual(env["HTTP_X_MULTI"], "one, two")
                self.assertEqual(env["HTTP_HOST"], "example.test")
                self.assertEqual(env["REMOTE_ADDR"], "127.0.0.1")
                self.assertEqual(env["SERVER_NAME"], "localhost")
                self.assertEqual(env["SERVER_PROTOCOL"], "HTTP/1.1")
                self.assertEqual(env["SCRIPT_NAME"], "")
                self.assertEqual(env["wsgi.version"], [1, 0])
                self.assertEqual(env["wsgi.url_scheme"], "http")
                self.assertIs(env["wsgi.multithread"], False)
                self.assertIs(env["wsgi.multiprocess"], True)
                self.assertIs(env["wsgi.run_once"], False)
                for k in ("wsgi.input", "wsgi.errors", "wsgi.file_wrapper"):
                    self.assertIn(k, env["_types"])
                self.assertNotIn("HTTP_CONTENT_TYPE", env)
                self.assertNotIn("HTTP_CONTENT_LENGTH", env)

    @uwsgi_differs("uWSGI leaves SCRIPT_NAME out when the packet has none")
    def test_script_name_defaulted(self):
        """nginx's uwsgi_params has no SCRIPT_NAME: it must default to ""."""
        for t in self.targets():
            r = harness.uwsgi_request(path="/environ/y", **t)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["SCRIPT_NAME"], "")

    def test_script_name_passed_through(self):
        r = uwsgi_request(port=self.uw_port, path="/environ/x", script_name="/mount")
        self.assertEqual(r.status, 200, r.body)
        env = r.json()
        self.assertEqual(env["SCRIPT_NAME"], "/mount")
        self.assertEqual(env["PATH_INFO"], "/environ/x")

    @uwsgi_differs("uWSGI 2.0.21 has no wsgi.input_terminated")
    def test_input_terminated(self):
        env = uwsgi_request(port=self.uw_port, path="/environ").json()
        self.assertIs(env.get("wsgi.input_terminated"), True)

    def test_body_after_packet(self):
        body = b"line one\nsecond line\n\nlast"
        for t in self.targets():
            for mode in ("read_n", "read_all", "readline", "readlines", "iter", "cl"):
                with self.subTest(mode=mode, **t):
                    r = uwsgi_request(method="POST", path="/echo", query="mode=%s&n=3" % mode,
                                      body=body, headers={"Content-Type": "text/plain"}, **t)
                    self.assertEqual(r.status, 200, r.body)
                    j = r.json()
                    self.assertEqual(j["body"].encode("latin-1"), body)
                    self.assertEqual(j["CONTENT_LENGTH"], str(len(body)))

    def test_big_body(self):
        body = os.urandom(2 << 20)
        r = uwsgi_request(unix=self.uw_unix, method="POST", path="/echo",
                          query="mode=read_n&n=65536", body=body)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["sha256"], hashlib.sha256(body).hexdigest())

    def test_environ_post_content_type(self):
        r = uwsgi_request(port=self.uw_port, method="POST", path="/environ", body=b"a=b",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        env = r.json()
        self.assertEqual(env["CONTENT_TYPE"], "application/x-www-form-urlencoded")
        self.assertEqual(env["CONTENT_LENGTH"], "3")

    def test_responses(self):
        r = uwsgi_request(port=self.uw_port, path="/gen", query="n=3")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"piece-0;piece-1;piece-2;")
        r = uwsgi_request(port=self.uw_port, path="/write")
        self.assertEqual(r.body, b"abc")
        r = uwsgi_request(unix=self.uw_unix, path="/status", query="code=418")
        self.assertEqual(r.status, 418)

    def test_close_called(self):
        uwsgi_request(port=self.uw_port, path="/close", query="id=u1")
        uwsgi_request(unix=self.uw_unix, path="/close", query="id=u2")
        wait_for(lambda: len(self.record_lines("close.log")) >= 2, 10, what="close() calls")
        self.assertEqual(sorted(l.split()[1] for l in self.record_lines("close.log")), ["u1", "u2"])

    def test_file_wrapper(self):
        data = os.urandom(1 << 20)
        path = os.path.join(self.tmp, "f.bin")
        with open(path, "wb") as f:
            f.write(data)
        for route in ("/file", "/raw/file"):
            r = uwsgi_request(unix=self.uw_unix, path=route, query="path=" + path)
            self.assertEqual(r.status, 200)
            self.assertEqual(hashlib.sha256(r.body).digest(), hashlib.sha256(data).digest())

    @uwsgi_differs("uWSGI closes the connection without a 500 on an app exception")
    def test_app_exception_500(self):
        r = uwsgi_request(port=self.uw_port, path="/raise")
        self.assertEqual(r.status, 500)
        self.assertNotIn(b"secret-detail-xyzzy", r.body)

    def test_malformed_packets(self):
        bad = [
            b"\x00\x10\x00\x00" + b"\x05\x00ABC",                    # truncated, then EOF
            b"\x00\x08\x00\x00" + b"\x40\x00ABCDEF",                 # key length runs past the end
            b"\x00\x06\x00\x00" + b"\x01\x00A\x09\x00b",             # value length runs past the end
        ]
        for pkt in bad:
            with self.subTest(pkt=pkt):
                s = socket.create_connection(("127.0.0.1", self.uw_port), timeout=10)
                s.sendall(pkt)
                s.shutdown(socket.SHUT_WR)
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
                self.assertFalse(data.startswith(b"HTTP/1.1 200"), data)
        # the workers survive
        for _ in range(4):
            self.assertEqual(uwsgi_request(port=self.uw_port, path="/pid").status, 200)

    def test_http_over_unix(self):
        c = RawClient(None, unix=self.http_unix)
        c.send("GET /environ HTTP/1.0\r\nHost: u\r\n\r\n")
        r = c.read_response()
        c.close()
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["SCRIPT_NAME"], "")
        body = b"x" * 100000
        c = RawClient(None, unix=self.http_unix)
        c.send(b"POST /echo?mode=read_n&n=4096 HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        r = c.read_response()
        c.close()
        self.assertEqual(r.json()["len"], len(body))

    def test_uwsgi_keepalive_not_required(self):
        """Several requests, each on its own connection, mixing sockets."""
        for i in range(10):
            t = self.targets()[i % 2]
            self.assertEqual(uwsgi_request(path="/pid", **t).status, 200)
        self.assertEqual(harness.request(self.http_port, path="/pid").status, 200)


if __name__ == "__main__":
    harness.main()
