"""Bodies are streamed with backpressure, never held whole in memory
(PROXY_IMPL=ours|nginx): 1 GiB up from a fast client to a slow upstream, and
1 GiB down from a fast upstream to a slow client, through the proxy, while
the proxy's RSS (master + workers, from /proc, sampled every 20 ms, and
their peaks VmHWM) stays under 64 MiB.  Both peers live in this process;
bytes are checked by count and CRC-32.  Under an ASan build the transfer is
256 MiB (time) and the allocator quarantine 8 MiB; the limit stays 64 MiB
(measured: 37 MiB peak under ASan, 5.5 MiB without)."""
import json
import os
import shutil
import socket
import tempfile
import time
import unittest
import zlib

import harness

MiB = 1 << 20
SANITIZED = harness.PROXY_IMPL == "ours" and harness.is_sanitized(harness.PROXY_BIN)
TOTAL = (256 if SANITIZED else 1024) * MiB
RSS_LIMIT = 64 * MiB
BLOCK = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(MiB))  # not all one byte
SLOW_READ = 128 * 1024  # the slow peer reads this much, then naps
SLOW_NAP = 0.0004


def crc_of_total(total):
    c = 0
    for _ in range(total // MiB):
        c = zlib.crc32(BLOCK, c)
    return c




def slow_read(sock, n, already=b""):
    """Reads exactly n bytes slowly; returns (count, crc32)."""
    got, c = len(already), zlib.crc32(already)
    while got < n:
        d = sock.recv(min(SLOW_READ, n - got))
        if not d:
            break
        got += len(d)
        c = zlib.crc32(d, c)
        time.sleep(SLOW_NAP)
    return got, c


def upstream(sock):
    head, rest = harness.read_head(sock)
    line = head.split(b"\r\n", 1)[0]
    if line.startswith(b"POST /up"):
        hd = {k.strip().lower(): v.strip() for k, _, v in
              (l.partition(b":") for l in head.split(b"\r\n")[1:] if l)}
        n = int(hd.get(b"content-length", b"0"))
        got, c = slow_read(sock, n, rest)
        out = json.dumps({"n": got, "crc": c}).encode()
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(out), out))
    else:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % TOTAL)
        for _ in range(TOTAL // MiB):
            sock.sendall(BLOCK)


class Streaming(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.need_proxy()
        cls.tmp = tempfile.mkdtemp(prefix="chain-e2e-")
        cls.up = harness.ScriptedUpstream(upstream)
        cls.port = harness.free_port()
        body = """
    client_max_body_size 0;
    proxy_buffering off;
    proxy_read_timeout 120s;
    proxy_send_timeout 120s;
    client_body_timeout 120s;
    send_timeout 120s;
    server {
        listen 127.0.0.1:%d;
        location / {
            proxy_pass http://127.0.0.1:%d;
        }
    }
""" % (cls.port, cls.up.port)
        env = None
        if SANITIZED:  # ASan keeps 256 MiB of freed memory by default
            env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"}
        cls.proxy = harness.start_proxy(cls.tmp, body, [cls.port], env=env)
        cls.expected_crc = crc_of_total(TOTAL)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.up.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def peak(self, sampler):
        hwm = self.proxy.rss("VmHWM")
        return max(sampler.stop(), hwm)

    def test_1_upload_fast_client_slow_upstream(self):
        sampler = harness.RssSampler(self.proxy)
        t0 = time.monotonic()
        c = harness.RawClient(self.port, timeout=120)
        c.send(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % TOTAL)
        for _ in range(TOTAL // MiB):
            c.sock.sendall(BLOCK)
        r = c.read_response()
        c.close()
        peak = self.peak(sampler)
        print("upload %d MiB in %.1f s, proxy RSS peak %.1f MiB" % (TOTAL // MiB, time.monotonic() - t0,
                                                                    peak / MiB))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"n": TOTAL, "crc": self.expected_crc})
        self.assertLess(peak, RSS_LIMIT)

    def test_2_download_fast_upstream_slow_client(self):
        sampler = harness.RssSampler(self.proxy)
        t0 = time.monotonic()
        c = harness.RawClient(self.port, timeout=120)
        c.send(b"GET /down HTTP/1.1\r\nHost: t\r\n\r\n")
        while b"\r\n\r\n" not in c.buf:
            c._fill()
        head, _, rest = c.buf.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"content-length: %d" % TOTAL, head.lower())
        got, crc = slow_read(c.sock, TOTAL, rest)
        c.close()
        peak = self.peak(sampler)
        print("download %d MiB in %.1f s, proxy RSS peak %.1f MiB" % (TOTAL // MiB, time.monotonic() - t0,
                                                                      peak / MiB))
        self.assertEqual((got, crc), (TOTAL, self.expected_crc))
        self.assertLess(peak, RSS_LIMIT)


if __name__ == "__main__":
    harness.need_proxy()  # exits 77 (skip) when the proxy under test is missing
    harness.main()
