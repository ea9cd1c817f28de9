"""uwsgi_pass: requests as uwsgi packets (uwsgi_param templates, HTTP_*
headers, the body after the packet), responses parsed as HTTP, both the
"HTTP/1.1 200 OK" status line uWSGI sends and a CGI-style head with a
Status: field; over TCP and a unix socket, in front of Debian's uWSGI and a
small raw uwsgi peer.  PROXY_IMPL=nginx runs the same checks on nginx."""
import os
import shutil
import socket
import struct
import threading

import harness
from harness import ProxyCase

APP = r'''
import json
def application(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    out = json.dumps({k: v for k, v in environ.items() if isinstance(v, str)} | {"BODY": body.decode()})
    start_response("201 Created", [("Content-Type", "application/json"), ("X-App", "yes")])
    return [out.encode()]
'''

harness.need_proxy()


class RawUwsgi:
    """Reads one packet and its body, answers a CGI-style head, closes.
    `name` (sent as X-Peer and in the body) and `status` make it one peer of
    a balanced group."""

    def __init__(self, name=None, status="404 Not Found"):
        self.name, self.status = name, status
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.vars = []
        threading.Thread(target=self._run, daemon=True).start()

    def _recv(self, s, n):
        out = b""
        while len(out) < n:
            d = s.recv(n - len(out))
            if not d:
                raise ConnectionError
            out += d
        return out

    def _run(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            s.settimeout(10)  # a silent connection must not hold the accept loop
            try:
                _, size, _ = struct.unpack("<BHB", self._recv(s, 4))
                data = self._recv(s, size)
                env, i = {}, 0
                while i < len(data):
                    kl = struct.unpack("<H", data[i:i + 2])[0]
                    k = data[i + 2:i + 2 + kl].decode()
                    i += 2 + kl
                    vl = struct.unpack("<H", data[i:i + 2])[0]
                    env[k] = data[i + 2:i + 2 + vl].decode("latin-1")
                    i += 2 + vl
                body = self._recv(s, int(env.get("CONTENT_LENGTH") or 0))
                self.vars.append((env, body))
                if self.name is None:
                    s.sendall(b"Status: %s\r\nContent-Type: text/plain\r\n\r\nno such thing"
                              % self.status.encode())
                else:
                    s.sendall(b"Status: %s\r\nContent-Type: text/plain\r\nX-Peer: %s\r\n\r\npeer %s"
                              % (self.status.encode(), self.name.encode(), self.name.encode()))
            except (OSError, ConnectionError, struct.error):
                pass
            finally:
                s.close()

    def stop(self):
        self.ls.close()


class UwsgiPass(ProxyCase):
    def setUp(self):
        super().setUp()
        uwsgi = shutil.which("uwsgi")
        if not uwsgi:
            self.skipTest("uwsgi not installed")
        self.write("app.py", APP)
        self.sock = os.path.join(self.tmp, "app.sock")
        self.uport = harness.free_port()
        self.u = self.spawn([uwsgi, "--plugin", "python3", "--master", "--processes", "1",
                             "--die-on-term", "--socket", "127.0.0.1:%d" % self.uport,
                             "--socket", self.sock, "--chmod-socket=666",
                             "--wsgi-file", os.path.join(self.tmp, "app.py")], name="uwsgi",
                            env={"PYTHONHOME": "", "PYTHONPATH": ""})
        self.u.wait_port(self.uport, timeout=20)
        self.raw_peer = RawUwsgi()
        self.addCleanup(self.raw_peer.stop)
        params = os.path.join(harness.SRC_DIR, "conf", "uwsgi_params")
        self.start_proxy("""
    upstream app { server 127.0.0.1:%d; }
    upstream appunix { server unix:%s; }
    server {
        listen 127.0.0.1:{port};
        location / { include %s; uwsgi_pass app; uwsgi_param X_EXTRA "$request_method-$uri"; }
        location /unix/ { include %s; uwsgi_pass appunix; }
        location /cgi/ { include %s; uwsgi_pass 127.0.0.1:%d; }
    }
""" % (self.uport, self.sock, params, params, params, self.raw_peer.port))

    def test_get_and_post(self):
        r = self.get("/hello/world?x=1", headers={"X-Custom": "v"})
        self.assertEqual(r.status, 201)
        self.assertEqual(r.header("X-App"), "yes")
        env = r.json()
        self.assertEqual(env["REQUEST_METHOD"], "GET")
        self.assertEqual(env["PATH_INFO"], "/hello/world")
        self.assertEqual(env["QUERY_STRING"], "x=1")
        self.assertEqual(env["HTTP_X_CUSTOM"], "v")
        self.assertEqual(env["X_EXTRA"], "GET-/hello/world")
        r = self.get("/form", method="POST", body=b"a=1&b=2",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        env = r.json()
        self.assertEqual((env["BODY"], env["CONTENT_LENGTH"]), ("a=1&b=2", "7"))
        self.assertEqual(env["CONTENT_TYPE"], "application/x-www-form-urlencoded")

    def test_unix_socket_and_keepalive_client(self):
        c = self.raw()
        for i in range(3):
            c.send("GET /unix/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
            r = c.read_response()
            self.assertEqual(r.status, 201)
            self.assertEqual(r.json()["PATH_INFO"], "/unix/%d" % i)

    def test_cgi_style_status(self):
        r = self.get("/cgi/x", method="PUT", body=b"payload", headers={"X-A": "b"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, b"no such thing")
        env, body = self.raw_peer.vars[-1]
        self.assertEqual(body, b"payload")
        self.assertEqual(env["REQUEST_METHOD"], "PUT")
        self.assertEqual(env["HTTP_X_A"], "b")

    def test_no_forged_variables(self):
        self.get("/cgi/y", headers={"Content_Length": "99", "X_Extra": "forged"})
        env, _ = self.raw_peer.vars[-1]
        self.assertNotEqual(env.get("HTTP_CONTENT_LENGTH"), "99")
        self.assertNotEqual(env.get("HTTP_X_EXTRA"), "forged")


class UwsgiBalancing(ProxyCase):
    """uwsgi_pass to an upstream group is balanced and retried as proxy_pass
    is: round robin over two raw uwsgi peers, failover from a dead peer
    (uwsgi_next_upstream's default "error timeout"), none with off, and
    http_503 listed."""

    def setUp(self):
        super().setUp()
        self.a, self.b = RawUwsgi("a", "200 OK"), RawUwsgi("b", "200 OK")
        self.busy = RawUwsgi("busy", "503 Service Unavailable")
        for p in (self.a, self.b, self.busy):
            self.addCleanup(p.stop)
        self.dead = harness.free_port()  # nothing listens there
        params = os.path.join(harness.SRC_DIR, "conf", "uwsgi_params")
        self.start_proxy("""
    upstream pair { server 127.0.0.1:%(a)d; server 127.0.0.1:%(b)d; }
    upstream deadfirst { server 127.0.0.1:%(dead)d max_fails=0; server 127.0.0.1:%(b)d; }
    upstream deadfirst_off { server 127.0.0.1:%(dead)d max_fails=0; server 127.0.0.1:%(b)d; }
    upstream busyfirst { server 127.0.0.1:%(busy)d max_fails=0; server 127.0.0.1:%(b)d; }
    server {
        listen 127.0.0.1:{port};
        include %(params)s;
        location /rr/ { uwsgi_pass pair; }
        location /fo/ { uwsgi_pass deadfirst; }
        location /off/ { uwsgi_pass deadfirst_off; uwsgi_next_upstream off; }
        location /busy/ { uwsgi_pass busyfirst; uwsgi_next_upstream error http_503; }
        location /busy_no/ { uwsgi_pass busyfirst; }
    }
""" % {"a": self.a.port, "b": self.b.port, "dead": self.dead, "busy": self.busy.port,
       "params": params})

    def peers(self, prefix, n=4):
        out = []
        for i in range(n):
            r = self.get("%s%d" % (prefix, i))
            out.append((r.status, r.header("X-Peer")))
        return out

    def test_round_robin(self):
        self.assertEqual(self.peers("/rr/"), [(200, "a"), (200, "b")] * 2)
        self.assertEqual([e["PATH_INFO"] for e, _ in self.a.vars], ["/rr/0", "/rr/2"])
        self.assertEqual([e["PATH_INFO"] for e, _ in self.b.vars], ["/rr/1", "/rr/3"])

    def test_dead_peer_fails_over(self):
        self.assertEqual(self.peers("/fo/"), [(200, "b")] * 4)
        r = self.get("/fo/post", method="POST", body=b"abc")  # nothing reached the dead peer
        self.assertEqual((r.status, r.header("X-Peer")), (200, "b"))
        self.assertEqual(self.b.vars[-1][1], b"abc")
        self.assertEqual(self.peers("/off/"), [(502, None), (200, "b")] * 2)

    def test_next_upstream_status(self):
        self.assertEqual(self.peers("/busy/"), [(200, "b")] * 4)
        self.assertGreater(len(self.busy.vars), 0)
        self.assertEqual(self.peers("/busy_no/"), [(503, "busy"), (200, "b")] * 2)


if __name__ == "__main__":
    harness.main()
