"""A request sent on a kept-alive upstream connection that the upstream had
closed meanwhile (its worker was killed, or it timed the connection out as
the request went out) is sent again on a new connection to the same server,
as nginx does: the client gets 200, not 502, and $upstream_status shows both
attempts.  POST is retried only with proxy_next_upstream non_idempotent, and
`proxy_next_upstream off` turns it off.  The backend drops requests on its
old connections only when told to, and counts what it dropped: every test
checks that the stale path was really taken.  PROXY_IMPL=nginx runs the same
checks against nginx."""
import socket
import threading

import harness
from harness import ProxyCase, wait_for

harness.need_proxy()


class StaleBackend:
    """HTTP/1.1 keep-alive backend.  doom() marks every connection open now:
    the next request read on one of them is not answered, the connection is
    closed (reset when rst), as when a worker dies with pooled connections."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = {}  # socket -> doomed (None, "fin" or "rst")
        self.dropped = 0
        self.served = []
        threading.Thread(target=self._accept, daemon=True).start()

    def doom(self, rst=False):
        with self.lock:
            for s in self.conns:
                self.conns[s] = "rst" if rst else "fin"

    def _accept(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                self.conns[s] = None
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        f = s.makefile("rb")
        try:
            while True:
                line = f.readline(65536)
                if not line:
                    return
                clen = 0
                while True:
                    h = f.readline(65536)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.partition(b":")
                    if k.strip().lower() == b"content-length":
                        clen = int(v.strip())
                body = f.read(clen) if clen else b""
                with self.lock:
                    doomed = self.conns.get(s)
                    if doomed:
                        self.dropped += 1
                if doomed:
                    if doomed == "rst":
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return
                path = line.split()[1].decode()
                with self.lock:
                    self.served.append((path, body))
                out = ("%s %d" % (path, len(body))).encode()
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
        except (OSError, ValueError):
            return
        finally:
            with self.lock:
                self.conns.pop(s, None)
            f.close()
            s.close()

    def stop(self):
        self.ls.close()


CONF = """
    log_format up '$request_uri $status us=$upstream_status ua=$upstream_addr';
    upstream b {
        server 127.0.0.1:%(port)d;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:{port};
        access_log %(tmp)s/up.log up;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / { proxy_pass http://b; }
        location /post-retry/ {
            proxy_pass http://b;
            proxy_next_upstream error timeout non_idempotent;
        }
        location /off/ {
            proxy_pass http://b;
            proxy_next_upstream off;
        }
    }
"""


class StaleRetry(ProxyCase):
    def setUp(self):
        super().setUp()
        self.b = StaleBackend()
        self.addCleanup(self.b.stop)
        self.start_proxy(CONF % {"port": self.b.port, "tmp": self.tmp})

    def up_log(self, uri):
        """The access log line of `uri` (written once the response is done)."""
        lines = []

        def seen():
            try:
                with open(self.tmp + "/up.log") as f:
                    lines[:] = [l for l in f.read().splitlines() if l.startswith(uri + " ")]
            except OSError:
                return False
            return bool(lines)

        wait_for(seen, what="access log line of " + uri)
        return lines[-1]

    def warm(self):
        """One answered request: a connection now idles in the pool."""
        r = self.get("/warm")
        self.assertEqual(r.status, 200)
        wait_for(lambda: len(self.b.conns) >= 1, what="a pooled connection")

    def stale_get(self, rst):
        self.warm()
        self.b.doom(rst=rst)
        r = self.get("/after")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, b"/after 0")
        self.assertEqual(self.b.dropped, 1)  # the stale path was taken
        line = self.up_log("/after")
        self.assertIn("us=502, 200", line)
        addr = "127.0.0.1:%d" % self.b.port
        self.assertIn("ua=%s, %s" % (addr, addr), line)

    def test_get_after_close(self):
        self.stale_get(rst=False)

    def test_get_after_reset(self):
        self.stale_get(rst=True)

    def test_many_requests_after_kill(self):
        """Several pooled connections all gone: every request gets 200."""
        cs = [self.raw() for _ in range(4)]
        for c in cs:  # four requests at once: four pooled connections
            c.send(b"GET /w HTTP/1.1\r\nHost: a\r\n\r\n")
        for c in cs:
            self.assertEqual(c.read_response().status, 200)
        wait_for(lambda: len(self.b.conns) >= 2, what="pooled connections")
        self.b.doom(rst=True)
        for i in range(6):
            r = self.get("/n%d" % i)
            self.assertEqual(r.status, 200, r.body)
        self.assertGreaterEqual(self.b.dropped, 1)

    def test_post_not_retried(self):
        """nginx does not send a POST twice unless non_idempotent is set."""
        self.warm()
        self.b.doom()
        r = self.get("/p", method="POST", body=b"abc")
        self.assertEqual(r.status, 502)
        self.assertEqual(self.b.dropped, 1)
        self.assertIn("us=502", self.up_log("/p"))

    def test_post_retried_with_non_idempotent(self):
        self.warm()
        self.b.doom()
        r = self.get("/post-retry/x", method="POST", body=b"abcd")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, b"/post-retry/x 4")
        self.assertEqual(self.b.dropped, 1)
        self.assertIn("us=502, 200", self.up_log("/post-retry/x"))

    def test_next_upstream_off(self):
        r = self.get("/off/warm")
        self.assertEqual(r.status, 200)
        wait_for(lambda: len(self.b.conns) >= 1, what="a pooled connection")
        self.b.doom()
        r = self.get("/off/x")
        self.assertEqual(r.status, 502)
        self.assertEqual(self.b.dropped, 1)



class NotAFailure(ProxyCase):
    """The stale connection's server is not marked failed (max_fails=1):
    it keeps getting its share.  Ours only: with several servers nginx's
    balancer moves on to another one and counts the failure."""

    def test_server_not_marked_failed(self):
        if not self.ours():
            self.skipTest("nginx moves on to the other server")
        a, b = StaleBackend(), StaleBackend()
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        self.start_proxy("""
    upstream two {
        server 127.0.0.1:%d max_fails=1 fail_timeout=60s;
        server 127.0.0.1:%d max_fails=1 fail_timeout=60s;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location / { proxy_pass http://two; }
    }
""" % (a.port, b.port))
        for i in range(2):  # round robin: one each, both pooled
            self.assertEqual(self.get("/w%d" % i).status, 200)
        wait_for(lambda: len(a.conns) >= 1 and len(b.conns) >= 1, what="pooled connections")
        a.doom()
        for i in range(2):  # one of them goes to a's stale connection
            self.assertEqual(self.get("/x%d" % i).status, 200)
        self.assertEqual(a.dropped, 1)
        before = len(a.served)
        for i in range(4):
            self.assertEqual(self.get("/y%d" % i).status, 200)
        # a failed server would get nothing for fail_timeout (60 s)
        self.assertGreaterEqual(len(a.served) - before, 1)


if __name__ == "__main__":
    harness.main()
