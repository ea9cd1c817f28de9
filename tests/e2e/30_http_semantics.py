"""Proxy HTTP semantics, black box (PROXY_IMPL=ours|nginx, see harness.py):
keep-alive for HTTP/1.0 and 1.1, pipelining in order, Expect: 100-continue,
Content-Length and chunked bodies both ways, hop-by-hop headers, the
default and configured proxy_set_header, return, add_header, server_tokens,
extension methods (any token) forwarded as sent."""
import re
import shutil
import socket
import tempfile
import time
import unittest

import harness
from harness import RawClient

CHUNKED_BODY = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (b"hello ", b"chunked ", b"world")) + b"0\r\n\r\n"


def chunked_upstream(sock):
    """Answers each request with a chunked body "hello chunked world",
    keep-alive (HTTP/1.1 upstream) or close (HTTP/1.0 upstream)."""
    rest = b""
    while True:
        try:
            head, rest = harness.read_head(sock) if not rest else (rest, b"")
        except ConnectionError:
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                     b"X-Up: chunked\r\n\r\n" + CHUNKED_BODY)
        if b"HTTP/1.0" in head.split(b"\r\n", 1)[0] or b"connection: close" in head.lower():
            return


def hop_upstream(sock):
    """Answers with hop-by-hop headers the proxy must not pass on."""
    harness.read_head(sock)
    body = b"hop"
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n"
                 b"Keep-Alive: timeout=99\r\nX-End: kept\r\n\r\n%s" % (len(body), body))


class HttpSemantics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.need_proxy()
        cls.tmp = tempfile.mkdtemp(prefix="chain-e2e-")
        cls.echo = harness.Backend("echo")
        cls.chunked = harness.ScriptedUpstream(chunked_upstream)
        cls.hop = harness.ScriptedUpstream(hop_upstream)
        cls.rec = harness.RecordingBackend()  # records any method as it arrives
        cls.port = harness.free_port()
        cls.port_tokens = harness.free_port()
        body = """
    upstream named_pool {
        server 127.0.0.1:%(echo)d;
    }
    upstream rec_pool {
        server 127.0.0.1:%(rec)d;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:%(port)d;
        server_tokens off;
        location / {
            proxy_pass http://127.0.0.1:%(echo)d;
        }
        location /named/ {
            proxy_pass http://named_pool;
        }
        location /set/ {
            proxy_pass http://127.0.0.1:%(echo)d;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Method $request_method;
        }
        location /v11/ {
            proxy_pass http://127.0.0.1:%(echo)d;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /chunked/ {
            proxy_pass http://127.0.0.1:%(chunked)d;
        }
        location /chunked11/ {
            proxy_pass http://127.0.0.1:%(chunked)d;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /hop/ {
            proxy_pass http://127.0.0.1:%(hop)d;
        }
        location /ext/ {
            proxy_pass http://127.0.0.1:%(rec)d;
            proxy_set_header X-Method $request_method;
        }
        location /recpool/ {
            proxy_pass http://rec_pool;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location = /ret/text {
            return 200 "plain text";
        }
        location = /ret/url {
            return 301 http://example.com/elsewhere;
        }
        location = /ret/404 {
            return 404;
        }
        location /hdr/ {
            add_header X-Added yes;
            add_header X-Always always-here always;
            proxy_pass http://127.0.0.1:%(echo)d/status/;
        }
    }
    server {
        listen 127.0.0.1:%(tokens)d;
        server_tokens on;
        location / {
            return 200 "tokens";
        }
    }
""" % {"echo": cls.echo.port, "port": cls.port, "chunked": cls.chunked.port, "hop": cls.hop.port,
       "rec": cls.rec.port, "tokens": cls.port_tokens}
        cls.proxy = harness.start_proxy(cls.tmp, body, [cls.port, cls.port_tokens])

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        for b in (cls.echo, cls.chunked, cls.hop, cls.rec):
            b.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        with self.echo.srv.lock:
            del self.echo.srv.hits[:]
        self.rec.clear()

    def client(self):
        return RawClient(self.port, timeout=10)

    def last_hit(self):
        harness.wait_for(lambda: self.echo.hits, 5, what="a backend hit")
        return self.echo.hits[-1]

    def hit_header(self, hit, name):
        return [v for k, v in hit["headers"] if k.lower() == name.lower()]

    # --- keep-alive -------------------------------------------------------
    def test_keepalive_http11_default(self):
        c = self.client()
        for i in range(3):
            c.send("GET /ka/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["path"], "/ka/%d" % i)
        self.assertFalse(c.closed(0.3), "HTTP/1.1 connection closed without Connection: close")
        c.close()

    def test_http11_connection_close(self):
        c = self.client()
        c.send("GET /close HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual((r.header("connection") or "").lower(), "close")
        self.assertTrue(c.closed(5), "connection stays open after Connection: close")
        c.close()

    def test_keepalive_http10(self):
        c = self.client()
        for i in range(2):
            c.send("GET /ka10/%d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" % i)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual((r.header("connection") or "").lower(), "keep-alive")
            self.assertEqual(r.json()["path"], "/ka10/%d" % i)
        c.close()

    def test_http10_closes_by_default(self):
        c = self.client()
        c.send("GET /c10 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.version.startswith("HTTP/1."))
        self.assertTrue(c.closed(5), "HTTP/1.0 connection without keep-alive stays open")
        c.close()

    # --- pipelining -------------------------------------------------------
    def test_pipelined_in_order(self):
        c = self.client()
        # the first one is slow upstream: the answers must still come in order
        c.send("GET /sleep/0.3 HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /p/2 HTTP/1.1\r\nHost: t\r\n\r\n"
               "POST /p/3 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nbody3"
               "HEAD /p/4 HTTP/1.1\r\nHost: t\r\n\r\n"
               "GET /p/5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        paths = []
        for i in range(5):
            r = c.read_response(head_only=(i == 3))
            self.assertEqual(r.status, 200)
            if i != 3:
                paths.append(r.json()["path"])
            else:
                self.assertEqual(r.body, b"")
        self.assertEqual(paths, ["/sleep/0.3", "/p/2", "/p/3", "/p/5"])
        self.assertTrue(c.closed(5))
        c.close()

    # --- Expect: 100-continue ---------------------------------------------
    def test_expect_100_continue(self):
        c = self.client()
        c.send("POST /expect HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        self.assertEqual(c.read_interim(), 100)
        c.send("hello world")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        j = r.json()
        self.assertEqual(j["body"], "hello world")
        self.assertEqual([v for k, v in j["headers"] if k.lower() == "expect"], [],
                         "Expect passed upstream")
        c.close()

    def test_expect_without_body_sent_early(self):
        """A client that sends the body without waiting still gets one answer."""
        c = self.client()
        c.send("POST /expect2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body"], "abc")
        c.close()

    # --- bodies both ways -------------------------------------------------
    def test_request_body_content_length(self):
        body = bytes(range(256)) * 300
        c = self.client()
        c.send(b"PUT /cl HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(self.last_hit()["body"], body)
        c.close()

    def test_request_body_chunked(self):
        c = self.client()
        c.send(b"POST /ch HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED_BODY)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(self.last_hit()["body"], b"hello chunked world")
        # the backend got one framing only
        hit = self.last_hit()
        te = [v.lower() for v in self.hit_header(hit, "transfer-encoding")]
        cl = self.hit_header(hit, "content-length")
        self.assertTrue(bool(cl) != bool(te), "upstream framing: CL %r TE %r" % (cl, te))
        # the connection still works after a chunked body
        c.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(c.read_response().json()["path"], "/after")
        c.close()

    def test_request_body_chunked_with_trailer_and_ext(self):
        c = self.client()
        c.send(b"POST /ch2 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3;name=value\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(self.last_hit()["body"], b"abc")
        c.close()

    def test_response_body_content_length(self):
        c = self.client()
        c.send("GET /bytes/100000 HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"x" * 100000)
        self.assertEqual(r.header("content-length"), "100000")
        c.close()

    def test_response_chunked_to_http11_client(self):
        for loc in ("/chunked/", "/chunked11/"):
            with self.subTest(loc=loc):
                c = self.client()
                for _ in range(2):
                    c.send("GET %sx HTTP/1.1\r\nHost: t\r\n\r\n" % loc)
                    r = c.read_response()
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.body, b"hello chunked world")
                    self.assertEqual(r.header("x-up"), "chunked")
                c.close()

    def test_response_chunked_to_http10_client(self):
        """An HTTP/1.0 client cannot take chunked: it gets the plain body,
        delimited by Content-Length or the close."""
        c = self.client()
        c.send("GET /chunked/x HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("transfer-encoding"))
        self.assertEqual(r.body, b"hello chunked world")
        c.close()

    def test_head_has_no_body(self):
        c = self.client()
        c.send("HEAD /bytes/1000 HTTP/1.1\r\nHost: t\r\n\r\nGET /bytes/3 HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response(head_only=True)
        self.assertEqual(r.status, 200)
        r = c.read_response()
        self.assertEqual(r.body, b"xxx", "HEAD response carried a body")
        c.close()

    def test_upstream_keepalive_http11(self):
        c = self.client()
        for i in range(3):
            c.send("GET /v11/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            self.assertEqual(c.read_response().status, 200)
        c.close()
        hit = self.last_hit()
        self.assertEqual(self.hit_header(hit, "connection"), [])

    # --- headers ----------------------------------------------------------
    def test_default_proxy_headers(self):
        """nginx's defaults: Host is $proxy_host, Connection: close to an
        HTTP/1.0 upstream, and the client's hop-by-hop headers are gone."""
        c = self.client()
        c.send("GET /defaults HTTP/1.1\r\nHost: client.example\r\nKeep-Alive: timeout=5\r\n"
               "TE: trailers\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
               "X-Kept: 1\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        hit = self.last_hit()
        self.assertEqual(self.hit_header(hit, "host"), ["127.0.0.1:%d" % self.echo.port])
        for h in ("keep-alive", "te", "upgrade"):
            self.assertEqual(self.hit_header(hit, h), [], "%s passed upstream" % h)
        self.assertEqual([v.lower() for v in self.hit_header(hit, "connection")], ["close"])
        self.assertEqual(self.hit_header(hit, "x-kept"), ["1"])
        c.close()

    def test_default_host_named_upstream(self):
        r = harness.request(self.port, path="/named/x", headers={"Host": "client.example"})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.hit_header(self.last_hit(), "host"), ["named_pool"])

    @harness.nginx_differs("nginx passes on headers named in Connection")
    def test_connection_listed_headers_stripped(self):
        c = self.client()
        c.send("GET /listed HTTP/1.1\r\nHost: t\r\nConnection: X-Secret\r\nX-Secret: s\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(self.hit_header(self.last_hit(), "x-secret"), [])
        c.close()

    def test_proxy_set_header(self):
        r = harness.request(self.port, path="/set/x", headers={"Host": "client.example",
                                                                "X-Forwarded-For": "203.0.113.7"})
        self.assertEqual(r.status, 200)
        hit = self.last_hit()
        self.assertEqual(self.hit_header(hit, "host"), ["client.example"])
        self.assertEqual(self.hit_header(hit, "x-forwarded-for"), ["203.0.113.7, 127.0.0.1"])
        self.assertEqual(self.hit_header(hit, "x-real-ip"), ["127.0.0.1"])
        self.assertEqual(self.hit_header(hit, "x-method"), ["GET"])
        r = harness.request(self.port, path="/set/y", headers={"Host": "h2.example"})
        self.assertEqual(self.hit_header(self.last_hit(), "x-forwarded-for"), ["127.0.0.1"])

    def test_response_hop_by_hop_stripped(self):
        c = self.client()
        c.send("GET /hop/x HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"hop")
        self.assertEqual(r.header("x-end"), "kept")
        self.assertNotIn("timeout=99", r.header("keep-alive") or "")
        # the upstream's Connection: close is not the client's: still open
        c.send("GET /after-hop HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual(c.read_response().json()["path"], "/after-hop")
        c.close()

    # --- methods ----------------------------------------------------------
    def test_extension_methods_forwarded(self):
        """Any token is a method (RFC 9110 section 9.1): QUERY with a
        Content-Length body and FOO-BAR with a chunked one reach the upstream
        as sent, $request_method is the real method, and the request behind
        them on the same connection is framed right."""
        c = self.client()
        q = b"SELECT surname, email LIMIT 10"
        c.send(b"QUERY /ext/contacts?x=1 HTTP/1.1\r\nHost: t\r\nContent-Type: example/query\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(q), q)
               + b"FOO-BAR /ext/two HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               + CHUNKED_BODY
               + b"GET /ext/three HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual([c.read_response().status for _ in range(3)], [200, 200, 200])
        c.close()
        hits = self.rec.snapshot()
        self.assertEqual([(h["method"], h["uri"], h["body"]) for h in hits],
                         [("QUERY", "/ext/contacts?x=1", q), ("FOO-BAR", "/ext/two", b"hello chunked world"),
                          ("GET", "/ext/three", b"")])
        for h, m in zip(hits, ("QUERY", "FOO-BAR", "GET")):
            self.assertEqual([v for k, v in h["headers"] if k.lower() == "x-method"], [m])
        self.assertEqual([v for k, v in hits[0]["headers"] if k.lower() == "content-type"],
                         ["example/query"])

    def test_body_then_bodiless_on_pooled_upstream(self):
        """A request body goes upstream once: requests without a body that
        follow one on the same client connection (kept alive, and pipelined)
        and the same pooled upstream connection carry nothing of it.  (The
        copy kept for retries once leaked into the next request.)"""
        c = self.client()
        for _ in range(2):  # one at a time, the client connection kept alive
            c.send(b"POST /recpool/a HTTP/1.1\r\nHost: t\r\nContent-Length: 14\r\n\r\ntitle=x&body=y")
            self.assertEqual(c.read_response().status, 200)
            c.send(b"GET /recpool/b HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        c.send(b"POST /recpool/c HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
               b"GET /recpool/d HTTP/1.1\r\nHost: t\r\n\r\n"
               b"PUT /recpool/e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nxy"
               b"GET /recpool/f HTTP/1.1\r\nHost: t\r\n\r\n")
        self.assertEqual([c.read_response().status for _ in range(4)], [200] * 4)
        c.close()
        self.assertEqual([(h["method"], h["uri"], h["body"]) for h in self.rec.snapshot()],
                         [("POST", "/recpool/a", b"title=x&body=y"), ("GET", "/recpool/b", b""),
                          ("POST", "/recpool/a", b"title=x&body=y"), ("GET", "/recpool/b", b""),
                          ("POST", "/recpool/c", b"abc"), ("GET", "/recpool/d", b""),
                          ("PUT", "/recpool/e", b"xy"), ("GET", "/recpool/f", b"")])

    @harness.nginx_differs("nginx 1.22 refuses methods with lowercase letters (400)")
    def test_lowercase_head_is_not_head(self):
        """Methods are case-sensitive: "head" is an extension method, so
        the body of its response is relayed, not left on the connection."""
        c = self.client()
        c.send(b"head /ext/h HTTP/1.1\r\nHost: t\r\n\r\nGET /ext/after HTTP/1.1\r\nHost: t\r\n\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        c.close()
        self.assertEqual([(h["method"], h["uri"]) for h in self.rec.snapshot()],
                         [("head", "/ext/h"), ("GET", "/ext/after")])

    def test_non_token_method_refused(self):
        for m in (b"QU/ERY", b"FOO(BAR)", b"FO\x01O", b"QU\xc3\x89RY"):
            with self.subTest(method=m):
                c = self.client()
                c.send(m + b" /ext/bad HTTP/1.1\r\nHost: t\r\n\r\n")
                self.assertEqual(c.read_response().status, 400)
                c.close()
        self.assertEqual(self.rec.snapshot(), [])

    # --- return, add_header, server_tokens --------------------------------
    def test_return_text(self):
        r = harness.request(self.port, path="/ret/text")
        self.assertEqual((r.status, r.body), (200, b"plain text"))

    def test_return_url(self):
        r = harness.request(self.port, path="/ret/url")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("location"), "http://example.com/elsewhere")

    def test_return_code_only(self):
        r = harness.request(self.port, path="/ret/404")
        self.assertEqual(r.status, 404)
        self.assertIn(b"404", r.body)
        self.assertIn("text/html", r.header("content-type") or "")

    def test_add_header(self):
        r = harness.request(self.port, path="/hdr/200")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["path"], "/status/200", "proxy_pass URI part not applied")
        self.assertEqual(r.header("x-added"), "yes")
        self.assertEqual(r.header("x-always"), "always-here")
        r = harness.request(self.port, path="/hdr/404")
        self.assertEqual(r.status, 404)
        self.assertIsNone(r.header("x-added"), "add_header without always on a 404")
        self.assertEqual(r.header("x-always"), "always-here")

    def test_server_tokens(self):
        off = harness.request(self.port, path="/ret/text").header("server") or ""
        on = harness.request(self.port_tokens, path="/").header("server") or ""
        self.assertTrue(re.search(r"/\d", on), "server_tokens on: no version in %r" % on)
        self.assertFalse(re.search(r"\d", off), "server_tokens off: version in %r" % off)
        r = harness.request(self.port, path="/ret/404")
        self.assertFalse(re.search(rb"/\d+\.\d+", r.body), "error page shows a version")

    def test_date_header(self):
        r = harness.request(self.port, path="/ret/text")
        self.assertTrue(re.match(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", r.header("date") or ""))


if __name__ == "__main__":
    harness.need_proxy()  # exits 77 (skip) when the proxy under test is missing
    harness.main()
