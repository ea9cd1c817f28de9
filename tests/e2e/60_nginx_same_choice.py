"""nginx 1.22 and our proxy, one after the other with the same configuration
in front of the same echo backends, must send every request to the same
backend: smooth weighted round robin, ip_hash by client address (clients
bound to 127.N.M.1 source addresses), hash and consistent hash of
$request_uri, least_conn with one request held, failover to the next server
after a refused connection, max_conns with a request held, hashing around
down and failing servers, backup servers, and consistent hashing of a key
made of a query argument and a cookie ($arg_u$cookie_c).

Each scenario runs against nginx first; its answers are also checked against
what nginx's documented algorithm must give (e.g. 5,1,1 -> a a b a c a a), so
the test checks itself on the reference.  Ours then runs the same requests.
When our proxy is not built the nginx half runs, then the test fails: there
is nothing to compare with (a pass would claim a sameness never checked)."""
import os
import socket
import threading
import unittest

import harness
from harness import Backend, Proc, RawClient, free_port

NGINX = harness.NGINX_BIN
NAMES = "abcdefgh"


def backend_of(resp):
    return resp.header("X-Backend") or "?%d" % resp.status


def get(port, path="/", source=None, timeout=10.0, headers=None):
    c = RawClient(port, timeout=timeout, source=source)
    try:
        hs = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        c.send("GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n" % (path, hs))
        return c.read_response()
    finally:
        c.close()


class Impl:
    """One proxy (nginx or ours) started on a config, in its own folder."""

    def __init__(self, case, which, http):
        self.which = which
        d = os.path.join(case.tmp, which)
        os.makedirs(os.path.join(d, "conf"), exist_ok=True)
        os.makedirs(os.path.join(d, "logs"), exist_ok=True)
        self.port = free_port()
        main_extra = "daemon off;\nmaster_process on;\n"
        if which == "nginx":
            main_extra += "user root;\n"
        conf = harness.PROXY_CONF % {"workers": 1, "tmp": d, "main_extra": main_extra,
                                     "events_extra": "", "wconn": 256,
                                     "http": http.replace("{port}", str(self.port))}
        conf = conf.replace("error_log %s/error.log info;" % d, "error_log stderr info;")
        path = os.path.join(d, "conf", "proxy.conf")
        with open(path, "w") as f:
            f.write(conf)
        binary = NGINX if which == "nginx" else harness.PROXY_BIN
        self.proc = Proc([binary, "-p", d + "/", "-c", path], d, name=which)
        self.proc.wait_port(self.port, timeout=20)

    def stop(self):
        self.proc.stop()


IMPLS = ["nginx", "ours"]


class SameChoice(harness.TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        harness.need_binary(NGINX)
        cls.backends = [Backend(name=NAMES[i]) for i in range(6)]

    @classmethod
    def tearDownClass(cls):
        for b in cls.backends:
            b.stop()

    def upstream(self, lines, n, weights=None, extra=""):
        srv = []
        for i in range(n):
            w = " weight=%d" % weights[i] if weights else ""
            srv.append("        server 127.0.0.1:%d%s;" % (self.backends[i].port, w))
        return ("    upstream u {\n%s\n%s\n    }\n" % (lines, "\n".join(srv) + extra) +
                "    server { listen 127.0.0.1:{port}; location / { proxy_pass http://u; } }\n")

    def each(self, http, scenario):
        """Runs scenario(port) on every implementation; returns {impl: result}
        and asserts they are equal."""
        out = {}
        for which in IMPLS:
            if which == "ours" and not os.path.exists(harness.PROXY_BIN):
                self.fail("our proxy is not built (%s): nginx's answers %r were compared with "
                          "nothing" % (harness.PROXY_BIN, out["nginx"]))
            impl = Impl(self, which, http)
            try:
                out[which] = scenario(impl.port)
            finally:
                impl.stop()
        self.assertEqual(out["ours"], out["nginx"], "ours differs from nginx")
        return out["nginx"]

    def hits(self):
        """How many requests the backends have received so far."""
        return sum(len(b.hits) for b in self.backends)

    def wait_hits(self, n):
        """Waits until the backends have received `n` requests in all."""
        harness.wait_for(lambda: self.hits() >= n, 20, step=0.01, what="%d backend requests" % n)

    def seq(self, port, n, path="/"):
        return "".join(backend_of(get(port, path)) for _ in range(n))

    def test_round_robin_weights(self):
        got = self.each(self.upstream("", 3, [5, 1, 1]), lambda p: self.seq(p, 14))
        self.assertEqual(got, "aabacaa" * 2)
        got = self.each(self.upstream("", 3, [3, 2, 1]), lambda p: self.seq(p, 12))
        self.assertEqual(got, "abacba" * 2)

    def test_ip_hash(self):
        sources = ["127.%d.%d.1" % (n, m) for n in (1, 7, 33, 200) for m in range(0, 250, 19)]

        def run(port):
            return [backend_of(get(port, source=s)) for s in sources]
        got = self.each(self.upstream("        ip_hash;", 4, [1, 2, 1, 3]), run)
        self.assertGreaterEqual(len(set(got)), 3, got)
        # the same client stays on its server
        again = self.each(self.upstream("        ip_hash;", 4, [1, 2, 1, 3]),
                          lambda p: [backend_of(get(p, source=s)) for s in sources[:5]])
        self.assertEqual(again, got[:5])

    def uris(self):
        return ["/item/%d?x=%d" % (i * 7919 % 1000, i) for i in range(60)]

    def test_hash(self):
        got = self.each(self.upstream("        hash $request_uri;", 5, [1, 1, 2, 1, 3]),
                        lambda p: [backend_of(get(p, u)) for u in self.uris()])
        self.assertGreaterEqual(len(set(got)), 4, got)

    def test_consistent_hash(self):
        got = self.each(self.upstream("        hash $request_uri consistent;", 5, [1, 1, 2, 1, 1]),
                        lambda p: [backend_of(get(p, u)) for u in self.uris()])
        self.assertGreaterEqual(len(set(got)), 4, got)
        # without server e, only e's keys move
        fewer = self.each(self.upstream("        hash $request_uri consistent;", 4, [1, 1, 2, 1]),
                          lambda p: [backend_of(get(p, u)) for u in self.uris()])
        for a, b in zip(got, fewer):
            if a != "e":
                self.assertEqual(a, b)

    def test_consistent_hash_arg_and_cookie(self):
        """hash $arg_u$cookie_c consistent: the key joins a query argument
        and a cookie (either may be missing: an empty part, or an empty
        key)."""
        reqs = []
        for i in range(48):
            u = "" if i % 11 == 0 else "user%d" % (i * 37 % 100)
            path = "/p/%d" % i + ("?u=%s&z=%d" % (u, i) if u or i % 2 else "")
            cookie = None if i % 7 == 0 else "a=1; c=s%d; d=2" % (i * 13 % 50)
            reqs.append((path, {"Cookie": cookie} if cookie else {}))

        def run(port):
            return [backend_of(get(port, path, headers=h)) for path, h in reqs]
        got = self.each(self.upstream("        hash $arg_u$cookie_c consistent;", 5,
                                      [1, 2, 1, 1, 1]), run)
        self.assertGreaterEqual(len(set(got)), 4, got)
        # the key is the argument and the cookie, nothing else: the same
        # pair on another path goes to the same server
        same = self.each(self.upstream("        hash $arg_u$cookie_c consistent;", 5,
                                       [1, 2, 1, 1, 1]),
                         lambda p: [backend_of(get(p, "/other" + path[path.find("?"):]
                                                   if "?" in path else "/other", headers=h))
                                    for path, h in reqs[:12]])
        self.assertEqual(same, got[:12])

    def test_least_conn_with_one_held(self):
        def run(port):
            order = []
            held = []
            # two slow requests hold connections to the first two servers
            # (long enough that the picks below happen while they are held)
            for _ in range(2):
                n = self.hits()
                c = RawClient(port, timeout=20)
                c.send("GET /sleep/4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                held.append(c)
                self.wait_hits(n + 1)
            order.append(self.seq(port, 6))
            for c in held:
                order.append(backend_of(c.read_response()))
                c.close()
            order.append(self.seq(port, 4))
            return order
        got = self.each(self.upstream("        least_conn;", 3), run)
        self.assertNotIn(got[1], got[0])  # the held servers got nothing new
        self.assertNotIn(got[2], got[0])

    def test_max_conns_with_one_held(self):
        def run(port):
            n = self.hits()
            c = RawClient(port, timeout=20)
            c.send("GET /sleep/4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            self.wait_hits(n + 1)  # held from here on, for 4 s
            during = self.seq(port, 6)
            first = backend_of(c.read_response())
            c.close()
            return [first, during, self.seq(port, 6)]
        got = self.each(self.upstream("", 3, [3, 1, 1]).replace(
            "%d weight=3;" % self.backends[0].port, "%d weight=3 max_conns=1;" % self.backends[0].port),
            run)
        self.assertEqual(got[0], "a")
        self.assertNotIn("a", got[1])  # a is at max_conns while held
        self.assertIn("a", got[2])

    def dead_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens: connections are refused
        return port

    def sick_upstream(self, method):
        """a, b down, a refusing server, d, e: hashing must rehash the same way."""
        dead = self.dead_port()
        b = self.backends
        return ("    upstream u {\n        %s\n        server 127.0.0.1:%d;\n"
                "        server 127.0.0.1:%d down;\n        server 127.0.0.1:%d;\n"
                "        server 127.0.0.1:%d weight=2;\n        server 127.0.0.1:%d;\n    }\n"
                "    server { listen 127.0.0.1:{port}; location / { proxy_pass http://u; } }\n"
                % (method, b[0].port, b[1].port, dead, b[3].port, b[4].port))

    def test_hashing_around_down_and_failed_servers(self):
        sources = ["127.%d.%d.1" % (n, m) for n in (3, 90) for m in range(0, 250, 23)]
        got = self.each(self.sick_upstream("ip_hash;"),
                        lambda p: [backend_of(get(p, source=s)) for s in sources])
        self.assertNotIn("b", got)
        for method in ("hash $request_uri;", "hash $request_uri consistent;"):
            got = self.each(self.sick_upstream(method),
                            lambda p: [backend_of(get(p, u)) for u in self.uris()[:30]])
            self.assertNotIn("b", got)
            self.assertGreaterEqual(len(set(got)), 3, got)

    def test_failover_to_next(self):
        dead = self.dead_port()
        http = ("    upstream u {\n        server 127.0.0.1:%d;\n        server 127.0.0.1:%d;\n"
                "        server 127.0.0.1:%d max_fails=2;\n        server 127.0.0.1:%d;\n    }\n"
                "    server { listen 127.0.0.1:{port}; location / { proxy_pass http://u; } }\n"
                % (self.backends[0].port, dead, dead, self.backends[3].port))
        got = self.each(http, lambda p: self.seq(p, 12))
        self.assertEqual(set(got), {"a", "d"}, got)

    def test_next_on_404_is_not_a_failure(self):
        """proxy_next_upstream http_404 (and http_403) moves on without
        counting a failure (nginx's NGX_PEER_NEXT): the peer answering 404
        stays in rotation even with max_fails=1, where http_500 takes it out."""
        for status, stays in ((404, True), (403, True), (500, False)):
            sick = Backend(name="n", fail_status=status)
            try:
                http = ("    upstream u {\n        server 127.0.0.1:%d max_fails=1;\n"
                        "        server 127.0.0.1:%d;\n        server 127.0.0.1:%d;\n    }\n"
                        "    server { listen 127.0.0.1:{port}; location / { proxy_pass http://u;"
                        " proxy_next_upstream error http_%d; } }\n"
                        % (sick.port, self.backends[1].port, self.backends[2].port, status))

                def run(port):
                    before = len(sick.hits)
                    picks = self.seq(port, 12)
                    return picks, len(sick.hits) - before
                picks, tried = self.each(http, run)
                self.assertNotIn("n", picks)
                if stays:
                    self.assertGreaterEqual(tried, 4, (status, picks, tried))
                else:
                    self.assertEqual(tried, 1, (status, picks, tried))
            finally:
                sick.stop()

    def test_backup(self):
        dead = self.dead_port()
        http = ("    upstream u {\n        server 127.0.0.1:%d;\n        server 127.0.0.1:%d;\n"
                "        server 127.0.0.1:%d backup;\n        server 127.0.0.1:%d backup;\n    }\n"
                "    server { listen 127.0.0.1:{port}; location / { proxy_pass http://u; } }\n"
                % (dead, self.backends[1].port, self.backends[2].port, self.backends[3].port))
        got = self.each(http, lambda p: self.seq(p, 8))
        self.assertEqual(set(got), {"b"}, got)
        dead2 = self.dead_port()
        http = ("    upstream u {\n        server 127.0.0.1:%d;\n        server 127.0.0.1:%d down;\n"
                "        server 127.0.0.1:%d backup;\n        server 127.0.0.1:%d backup weight=2;\n"
                "    }\n"
                "    server { listen 127.0.0.1:{port}; location / { proxy_pass http://u; } }\n"
                % (dead, dead2, self.backends[2].port, self.backends[3].port))
        got = self.each(http, lambda p: self.seq(p, 9))
        self.assertEqual(sorted(set(got)), ["c", "d"], got)


if __name__ == "__main__":
    harness.main()
