"""Gateway: WSGI to the letter over HTTP/1.1 and uwsgi (PEP 3333, apps wrapped
in wsgiref.validate.validator), keep-alive, pipelining, chunked bodies both
ways, HEAD, extension methods, app errors."""
import json
import os
import socket

from harness import (GatewayTestCase, RawClient, UwsgiClient, free_port, main, need_gateway,
                     request, wait_for)

APP = r'''
import json, os, sys
from wsgiref.validate import validator

def raw(environ, start_response):
    path = environ["PATH_INFO"]
    if path.startswith("/boom"):
        raise RuntimeError("boom from the app")
    if path == "/badheader":
        start_response("200 OK", [("X-Bad", "a\r\nInjected: 1")])
        return [b"never"]
    if path == "/gen":
        start_response("200 OK", [("Content-Type", "text/plain")])
        def g():
            yield b"one,"
            yield b""
            yield b"two,"
            yield b"three"
        return g()
    if path == "/pid":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]
    if path == "/lines":
        inp = environ["wsgi.input"]
        lines = [l.decode() for l in inp]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(lines).encode()]
    n = int(environ.get("CONTENT_LENGTH") or 0)
    if environ.get("HTTP_TRANSFER_ENCODING") == "chunked":
        body = b""
        while True:
            b = environ["wsgi.input"].read(7)
            if not b:
                break
            body += b
    else:
        body = environ["wsgi.input"].read(n)
    env = {k: v for k, v in environ.items() if isinstance(v, (str, bool, tuple))}
    env["body"] = body.decode("latin-1")
    out = json.dumps(env).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]

def application(environ, start_response):
    # /ext: extension methods, which wsgiref.validate warns about (it knows
    # only GET HEAD POST OPTIONS PATCH PUT DELETE TRACE)
    if environ["PATH_INFO"] in ("/boom", "/badheader", "/boom-validated") \
            or environ["PATH_INFO"].startswith("/ext"):
        return raw(environ, start_response)
    return validator(raw)(environ, start_response)
'''

PEP3333_KEYS = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
                "SERVER_PORT", "SERVER_PROTOCOL", "wsgi.version", "wsgi.url_scheme",
                "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
                "wsgi.input_terminated"]


def uwsgi_req(env, body=b"", unix=None, port=None):
    c = UwsgiClient(port, unix=unix)
    try:
        return c.request(env, body)
    finally:
        c.close()


class GatewayWSGI(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.app = self.write("app.py", APP)
        self.sock = os.path.join(self.tmp, "uw.sock")
        self.port = free_port()
        self.gw = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port,
                                      "--wsgi-file", self.app, "--socket", self.sock,
                                      "--processes", "2"])

    def tearDown(self):
        self.gw.stop()  # workers exit: a sanitizer build reports leaks then
        with open(self.gw.log_path, encoding="utf-8", errors="replace") as f:
            out = f.read()
        super().tearDown()
        self.assertNotIn("AssertionError", out)  # the validator never complained
        self.assertNotIn("Sanitizer", out)
        self.assertNotIn("runtime error", out)

    def test_environ_http(self):
        r = request(self.port, "POST", "/a%20b/%C3%A9?x=1&y=%20",
                    headers={"Content-Type": "text/plain", "X-Rep": "1"}, body=b"hello")
        self.assertEqual(r.status, 200, r.body)
        env = r.json()
        for k in PEP3333_KEYS:
            self.assertIn(k, env)
        self.assertEqual(env["REQUEST_METHOD"], "POST")
        self.assertEqual(env["SCRIPT_NAME"], "")
        self.assertEqual(env["PATH_INFO"], "/a b/\u00c3\u00a9")  # latin-1 str of the bytes
        self.assertEqual(env["QUERY_STRING"], "x=1&y=%20")
        self.assertEqual(env["REQUEST_URI"], "/a%20b/%C3%A9?x=1&y=%20")
        self.assertEqual(env["CONTENT_TYPE"], "text/plain")
        self.assertEqual(env["CONTENT_LENGTH"], "5")
        self.assertNotIn("HTTP_CONTENT_TYPE", env)
        self.assertNotIn("HTTP_CONTENT_LENGTH", env)
        self.assertEqual(env["SERVER_PROTOCOL"], "HTTP/1.1")
        self.assertEqual(env["SERVER_PORT"], str(self.port))
        self.assertEqual(env["REMOTE_ADDR"], "127.0.0.1")
        self.assertTrue(env["REMOTE_PORT"].isdigit())
        self.assertEqual(env["wsgi.version"], [1, 0])
        self.assertEqual(env["wsgi.url_scheme"], "http")
        self.assertIs(env["wsgi.input_terminated"], True)
        self.assertIs(env["wsgi.multithread"], False)
        self.assertIs(env["wsgi.multiprocess"], True)
        self.assertIs(env["wsgi.run_once"], False)
        self.assertEqual(env["HTTP_X_REP"], "1")
        self.assertEqual(env["body"], "hello")
        self.assertTrue(r.header("X-Chain-App-Us").isdigit())

    def test_repeated_headers_joined(self):
        c = RawClient(self.port)
        c.send("GET / HTTP/1.1\r\nHost: h\r\nX-Rep: a\r\nX-Rep: b\r\nX_Rep: spoof\r\n\r\n")
        env = c.read_response().json()
        self.assertEqual(env["HTTP_X_REP"], "a, b")
        self.assertEqual(env["SERVER_NAME"], "h")
        c.close()

    def test_environ_uwsgi(self):
        # what nginx's uwsgi_params sends: no SCRIPT_NAME, empty CONTENT_TYPE
        params = {"QUERY_STRING": "q=1", "REQUEST_METHOD": "PUT", "CONTENT_TYPE": "",
                  "CONTENT_LENGTH": "4", "REQUEST_URI": "/u%20x?q=1", "PATH_INFO": "/u x",
                  "DOCUMENT_ROOT": "/srv", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "https",
                  "HTTPS": "on", "REMOTE_ADDR": "10.0.0.1", "REMOTE_PORT": "5555",
                  "SERVER_PORT": "443", "SERVER_NAME": "ex.com", "HTTP_HOST": "ex.com"}
        for kw in ({"unix": self.sock},):
            r = uwsgi_req(params, b"data", **kw)
            self.assertEqual(r.status, 200, r.body)
            env = r.json()
            for k in PEP3333_KEYS:
                self.assertIn(k, env)
            self.assertEqual(env["SCRIPT_NAME"], "")
            self.assertNotIn("CONTENT_TYPE", env)
            self.assertEqual(env["PATH_INFO"], "/u x")
            self.assertEqual(env["REQUEST_METHOD"], "PUT")
            self.assertEqual(env["wsgi.url_scheme"], "https")
            self.assertEqual(env["REMOTE_ADDR"], "10.0.0.1")
            self.assertEqual(env["body"], "data")
            self.assertTrue(r.header("X-Chain-App-Us").isdigit())
        # a minimal packet gets every PEP 3333 key with defaults
        r = uwsgi_req({"REQUEST_URI": "/min?a=b"}, unix=self.sock)
        env = r.json()
        for k in PEP3333_KEYS:
            self.assertIn(k, env)
        self.assertEqual(env["PATH_INFO"], "/min")
        self.assertEqual(env["REQUEST_METHOD"], "GET")

    def test_keepalive_pipelining(self):
        c = RawClient(self.port)
        c.send("GET /pid HTTP/1.1\r\nHost: a\r\n\r\nGET /x?n=2 HTTP/1.1\r\nHost: a\r\n\r\n"
               "POST /y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        r1 = c.read_response()
        r2 = c.read_response()
        r3 = c.read_response()
        self.assertEqual(r1.status, 200)
        self.assertEqual(r2.json()["QUERY_STRING"], "n=2")
        self.assertEqual(r3.json()["body"], "abc")
        c.send("GET /pid HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(c.read_response().body, r1.body)  # same connection, same worker
        c.close()

    def test_chunked_request(self):
        c = RawClient(self.port)
        c.send("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["body"], "hello, world")
        c.send("POST /lines HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\na\nb\r\n4\r\n\nc\nd\r\n0\r\n\r\n")
        self.assertEqual(c.read_response().json(), ["a\n", "b\n", "c\n", "d"])
        c.close()

    def test_bad_chunked_request(self):
        c = RawClient(self.port)
        c.send("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "zz\r\nhello\r\n0\r\n\r\n")
        r = c.read_response()
        self.assertNotEqual(r.status, 200)
        self.assertTrue(c.closed())
        c.close()

    def test_streamed_response(self):
        c = RawClient(self.port)
        c.send("GET /gen HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertEqual(r.body, b"one,two,three")
        c.close()
        c = RawClient(self.port)
        c.send("GET /gen HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertEqual(r.body, b"one,two,three")
        c.close()

    def test_head(self):
        c = RawClient(self.port)
        c.send("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /pid HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response(head_only=True)
        self.assertEqual(r.status, 200)
        self.assertIsNotNone(r.header("Content-Length"))
        r2 = c.read_response()  # a body after HEAD would break this one
        self.assertEqual(r2.status, 200)
        self.assertTrue(r2.body.isdigit())
        c.close()

    def test_app_exception(self):
        pid = request(self.port, "GET", "/pid").body
        c = RawClient(self.port)
        c.send("GET /boom HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 500)
        self.assertNotIn(b"boom", r.body)
        c.send("GET /badheader HTTP/1.1\r\nHost: a\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 500)
        self.assertNotIn("Injected", [k for k, v in r.headers])
        c.close()
        # the traceback reaches the log through a pipe: wait for it to arrive
        wait_for(lambda: "RuntimeError: boom from the app" in self.gw.output(), 20,
                 what="the app's traceback in the gateway log")
        out = self.gw.output()
        self.assertIn("RuntimeError: boom from the app", out)
        self.assertIn("Traceback", out)
        # the workers live on
        pids = {request(self.port, "GET", "/pid").body for _ in range(6)}
        self.assertTrue(pids)
        self.assertNotIn("respawning", self.gw.output())

    def test_extension_methods(self):
        """Any token is a method (RFC 9110 section 9.1): REQUEST_METHOD is
        the method as sent, and such requests' bodies are framed by their
        Content-Length or chunked coding, so the request behind them on the
        connection is read right."""
        c = RawClient(self.port)
        c.send(b"QUERY /ext/q?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: example/query\r\n"
               b"Content-Length: 5\r\n\r\nhello"
               b"FOO-BAR /ext/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
               b"GET /ext/after HTTP/1.1\r\nHost: a\r\n\r\n")
        envs = [c.read_response().json() for _ in range(3)]
        c.close()
        self.assertEqual([(e["REQUEST_METHOD"], e["PATH_INFO"], e["body"]) for e in envs],
                         [("QUERY", "/ext/q", "hello"), ("FOO-BAR", "/ext/c", "hello, world"),
                          ("GET", "/ext/after", "")])
        self.assertEqual(envs[0]["QUERY_STRING"], "x=1")
        self.assertEqual(envs[0]["CONTENT_TYPE"], "example/query")
        self.assertEqual(envs[0]["CONTENT_LENGTH"], "5")

    def test_non_token_method_rejected(self):
        for m in (b"QU/ERY", b"FOO(BAR)", b"FO\x01O", b""):
            c = RawClient(self.port)
            c.send(m + b" /ext/bad HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 400, m)
            self.assertTrue(c.closed())
            c.close()

    def test_hostile_framing_rejected(self):
        for raw in ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
                    "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
                    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"):
            c = RawClient(self.port)
            c.send(raw)
            r = c.read_response()
            self.assertEqual(r.status, 400, raw)
            self.assertTrue(c.closed())
            c.close()


if __name__ == "__main__":
    need_gateway()
    main()
