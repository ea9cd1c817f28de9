"""Gateway, black box, behind real nginx: nginx (Debian's 1.22) forwards to
the gateway's uwsgi socket with `uwsgi_pass` and `include
/etc/nginx/uwsgi_params`, as a deployment does, and the app runs inside
wsgiref.validate (tests/apps/nginx_body.py).

- 5 MiB and 100 MiB request bodies reach the app intact (its sha256 of what
  it read equals the sender's), with Content-Length and chunked from the
  client (nginx buffers a chunked body and sends CONTENT_LENGTH);
- an app that answers before reading a large body: the client gets the
  app's answer, not a 502 (nginx is still writing the body when the answer
  comes; the gateway must not reset the connection under it), also when
  the answer (8 MiB) is larger than the sockets' buffers;
- nginx sends the request headers with its params, Content-Length and
  Content-Type among them: the environ has them as CONTENT_LENGTH and
  CONTENT_TYPE only (the validator refuses HTTP_CONTENT_*)."""
import hashlib
import os

import harness
from harness import RawClient

harness.need_gateway()
harness.need_binary(harness.NGINX_BIN)

APP = os.path.join(harness.TEST_APPS_DIR, "nginx_body.py")
MiB = 1 << 20
BLOCK = os.urandom(MiB)
IO_TIMEOUT = 300.0  # a bound on each socket read, not a measure: the test ends on events


class BehindNginx(harness.SharedGatewayTestCase):
    @classmethod
    def gateway_args(cls):
        cls.uw_port = harness.free_port()
        return ["--socket", "127.0.0.1:%d" % cls.uw_port, "--wsgi-file", APP, "--processes", "1"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = harness.free_port()
        http = ("    client_max_body_size 0;\n"
                "    uwsgi_temp_path %s/nginx_uwsgi;\n"
                "    server {\n"
                "        listen 127.0.0.1:%d;\n"
                "        location / {\n"
                "            include /etc/nginx/uwsgi_params;\n"
                "            uwsgi_pass 127.0.0.1:%d;\n"
                "        }\n"
                "    }\n" % (cls.tmp, cls.port, cls.uw_port))
        try:
            cls.nginx = harness.start_proxy(cls.tmp, http, [cls.port], impl="nginx")
        except Exception:
            cls.gateway.stop(cls.gateway.stop_signal())
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        super().tearDownClass()

    def post(self, path, n_mib, chunked=False):
        """POSTs n_mib MiB (BLOCK repeated) through nginx; returns the
        response and the sender's sha256."""
        c = RawClient(self.port, timeout=IO_TIMEOUT)
        try:
            head = "POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\n" % path
            if chunked:
                head += "Transfer-Encoding: chunked\r\n"
            else:
                head += "Content-Length: %d\r\n" % (n_mib * MiB)
            c.send(head + "Connection: close\r\n\r\n")
            h = hashlib.sha256()
            for i in range(n_mib):
                # chunked: pieces of varying size, so chunk edges move around
                piece = BLOCK[:MiB - (i % 7) * 4099] if chunked else BLOCK
                h.update(piece)
                if chunked:
                    c.send(b"%x\r\n" % len(piece) + piece + b"\r\n")
                else:
                    c.send(piece)
            if chunked:
                c.send(b"0\r\n\r\n")
            return c.read_response(), h.hexdigest()
        finally:
            c.close()

    def check_environ(self, j, length):
        env = j["environ"]
        self.assertNotIn("HTTP_CONTENT_LENGTH", env)
        self.assertNotIn("HTTP_CONTENT_TYPE", env)
        self.assertEqual(env.get("CONTENT_LENGTH"), str(length))
        self.assertEqual(env.get("CONTENT_TYPE"), "application/octet-stream")

    def check_intact(self, n_mib, chunked=False):
        r, sha = self.post("/sha", n_mib, chunked)
        self.assertEqual(r.status, 200, r.body[:500])
        j = r.json()
        sent = n_mib * MiB if not chunked else sum(MiB - (i % 7) * 4099 for i in range(n_mib))
        self.assertEqual(j["len"], sent)
        self.assertEqual(j["sha256"], sha)
        self.check_environ(j, sent)

    def test_5mib_intact(self):
        self.check_intact(5)

    def test_100mib_intact(self):
        self.check_intact(100)

    def test_chunked_5mib_intact(self):
        self.check_intact(5, chunked=True)

    def test_chunked_100mib_intact(self):
        self.check_intact(100, chunked=True)

    def test_answer_before_body_5mib(self):
        r, _ = self.post("/early", 5)
        self.assertEqual(r.status, 200, r.body[:500])
        self.check_environ(r.json(), 5 * MiB)

    def test_answer_before_body_100mib(self):
        r, _ = self.post("/early", 100)
        self.assertEqual(r.status, 200, r.body[:500])
        self.check_environ(r.json(), 100 * MiB)

    def test_big_answer_before_body_100mib(self):
        r, _ = self.post("/early_big", 100)
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertEqual(r.body, b"x" * (8 << 20))

    def test_answer_before_body_then_more_requests(self):
        """The worker goes on serving while it drops the unread body."""
        for _ in range(3):
            r, _ = self.post("/early", 5)
            self.assertEqual(r.status, 200, r.body[:500])
            self.check_intact(1)


if __name__ == "__main__":
    harness.main()
