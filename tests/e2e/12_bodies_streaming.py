"""Bodies both ways, streamed with backpressure: Content-Length and chunked
uploads, Content-Length, chunked and close-delimited downloads (re-chunked
for HTTP/1.1 clients), and 1 GiB up and 1 GiB down between a slow and a
fast peer while the worker's peak RSS stays under 64 MiB."""
import hashlib
import os
import socket
import time

import harness
from harness import ProxyCase, StreamBackend

GIB = 1 << 30
# The sanitizer build is slower and its allocator keeps freed memory in a
# 256 MiB quarantine, so its RSS says nothing about the proxy's: a quarter of
# the traffic there and no RSS check (the normal build checks it).
SANITIZED = "ASAN_OPTIONS" in os.environ
BIG = int(os.environ.get("BIG_BODY_BYTES", GIB // 4 if SANITIZED else GIB))
RSS_LIMIT = 64 << 20

harness.need_proxy()


def read_head(sock, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed before the head")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, rest


class Bodies(ProxyCase):
    def setUp(self):
        super().setUp()
        self.fast = StreamBackend()
        self.slow = StreamBackend(read_pause=0.001)
        self.addCleanup(self.fast.stop)
        self.addCleanup(self.slow.stop)
        self.start_proxy("""
    upstream fast { server 127.0.0.1:%d; keepalive 4; }
    upstream slow { server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        location / { proxy_pass http://fast; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location /slow/ { proxy_pass http://slow; proxy_http_version 1.1; }
    }
""" % (self.fast.port, self.slow.port))
        pids = self.worker_pids()
        self.worker = pids[0] if pids else self.proxy.pid

    def upload(self, path, size, chunked=False, pause=0.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.addCleanup(s.close)
        if chunked:
            s.sendall(b"POST %s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" % path)
        else:
            s.sendall(b"POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (path, size))
        h = hashlib.md5()
        blk = os.urandom(256 * 1024)
        left = size
        while left:
            k = min(left, len(blk))
            h.update(blk[:k])
            s.sendall(b"%x\r\n%s\r\n" % (k, blk[:k]) if chunked else blk[:k])
            left -= k
            if pause:
                time.sleep(pause)
        if chunked:
            s.sendall(b"0\r\n\r\n")
        status, hdrs, rest = read_head(s)
        while len(rest) < int(hdrs["content-length"]):
            rest += s.recv(65536)
        return status, rest.decode(), "%d %s" % (size, h.hexdigest())

    def download(self, path, size, http10=False, pause=0.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.addCleanup(s.close)
        s.sendall(b"GET %s HTTP/1.%d\r\nHost: a\r\n\r\n" % (path, 0 if http10 else 1))
        status, hdrs, rest = read_head(s)
        got = 0
        if hdrs.get("transfer-encoding") == "chunked":
            buf, pos = bytearray(rest), 0  # parse by offset: no quadratic copying

            def need(n):
                nonlocal buf, pos
                while len(buf) - pos < n:
                    if pos > (1 << 20):
                        del buf[:pos]
                        pos = 0
                    d = s.recv(1 << 20)
                    if not d:
                        raise ConnectionError("truncated chunked body")
                    buf += d
                    if pause:
                        time.sleep(pause)
            while True:
                need(3)
                while buf.find(b"\r\n", pos) < 0:
                    need(len(buf) - pos + 1)
                e = buf.find(b"\r\n", pos)
                n = int(bytes(buf[pos:e]).split(b";")[0], 16)
                pos = e + 2
                if n == 0:
                    break
                need(n + 2)
                got += n
                pos += n + 2
        else:
            got = len(rest)
            limit = int(hdrs["content-length"]) if "content-length" in hdrs else None
            while limit is None or got < limit:
                d = s.recv(256 * 1024)
                if not d:
                    break
                got += len(d)
                if pause:
                    time.sleep(pause)
        return status, hdrs, got

    def test_small_bodies_all_framings(self):
        st, body, want = self.upload(b"/u", 100000)
        self.assertEqual((st, body), (200, want))
        st, body, want = self.upload(b"/u", 100000, chunked=True)
        self.assertEqual((st, body), (200, want))
        st, hdrs, got = self.download(b"/down/300000", 300000)
        self.assertEqual((st, got, hdrs.get("content-length")), (200, 300000, "300000"))
        st, hdrs, got = self.download(b"/down/300000/chunk", 300000)
        self.assertEqual((st, got, hdrs.get("transfer-encoding")), (200, 300000, "chunked"))
        st, hdrs, got = self.download(b"/down/300000/close", 300000)
        self.assertEqual((st, got), (200, 300000))
        self.assertEqual(hdrs.get("transfer-encoding"), "chunked")  # re-chunked for 1.1
        st, hdrs, got = self.download(b"/down/300000/chunk", 300000, http10=True)
        self.assertEqual((st, got), (200, 300000))
        self.assertNotIn("transfer-encoding", hdrs)  # 1.0: the end is the close
        self.assertEqual(hdrs.get("connection"), "close")

    def test_1gib_up_to_slow_peer_and_down_to_slow_client(self):
        # up: fast client, slow backend; down: fast backend, slow client
        st, body, want = self.upload(b"/slow/up", BIG)
        self.assertEqual((st, body), (200, want))
        st, hdrs, got = self.download(b"/down/%d" % BIG, BIG, pause=0.001)
        self.assertEqual((st, got), (200, BIG))
        st, hdrs, got = self.download(b"/down/%d/chunk" % (BIG // 4), BIG // 4, pause=0.001)
        self.assertEqual((st, got), (200, BIG // 4))
        peak = harness.proc_rss(self.worker, "VmHWM")
        if SANITIZED:
            return
        self.assertGreater(peak, 0)
        self.assertLess(peak, RSS_LIMIT, "worker peak RSS %d MiB" % (peak >> 20))


if __name__ == "__main__":
    harness.main()
