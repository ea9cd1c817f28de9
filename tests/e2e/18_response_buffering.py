"""Response buffering as nginx's: with proxy_buffering on (the default) a
client that reads slowly, or not at all, does not hold the upstream: the
response is read to its end into proxy_buffers and a temporary file, the
upstream is released, and a single-worker backend serves the next request
while the slow client is still reading.  Bodies larger than the buffers come
through intact (sha256, Content-Length, chunked and close-delimited), the
temporary file is gone afterwards.  proxy_buffering off and
`X-Accel-Buffering: no` stream (a handshake: the client gets the first part
before the app writes the second); proxy_max_temp_file_size 0 falls back to
backpressure without any file; uwsgi_pass buffers the same way
(uwsgi_temp_path).  PROXY_IMPL=nginx runs the same checks
against nginx."""
import hashlib
import os
import socket
import struct
import threading

import harness
from harness import ProxyCase, proc_children, wait_for

harness.need_proxy()

BIG = 5 * 1024 * 1024


class SerialBackend:
    """One request at a time, like a single-worker app server: each
    connection gets one response (Connection: close) before the next
    connection is accepted.  /big/N, /chunked/N, /eof/N: N bytes of a fixed
    random pattern; /small: "ok"; /sse and /sse-accel: "one", then, once
    the test says the client has it, "two" (chunked)."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.data = os.urandom(BIG)
        self.done = []  # paths whose response was sent completely
        self.go_on = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def body(self, n):
        return (self.data * (n // BIG + 1))[:n]

    def _run(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            try:
                self._serve(s)
            except OSError:
                pass
            finally:
                s.close()

    def _serve(self, s):
        s.settimeout(300)  # a whole sendall() to a slow client
        req = b""
        while b"\r\n\r\n" not in req:
            d = s.recv(65536)
            if not d:
                return
            req += d
        path = req.split(b" ", 2)[1].decode()
        parts = path.strip("/").split("/")
        kind = parts[0]
        if kind in ("big", "bigaccel", "chunked", "eof"):
            b = self.body(int(parts[1]))
            if kind in ("big", "bigaccel"):
                extra = b"X-Accel-Buffering: no\r\n" if kind == "bigaccel" else b""
                s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n%s\r\n"
                          % (len(b), extra))
                s.sendall(b)
            elif kind == "eof":
                s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                s.sendall(b)
            else:
                s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(b), 100000):
                    piece = b[i:i + 100000]
                    s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                s.sendall(b"0\r\n\r\n")
        elif kind in ("sse", "sse-accel"):
            extra = b"X-Accel-Buffering: no\r\n" if kind == "sse-accel" else b""
            s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                      + extra + b"\r\n3\r\none\r\n")
            if not self.go_on.wait(30):
                return  # the client never saw "one": the test fails on its side
            self.go_on.clear()
            s.sendall(b"3\r\ntwo\r\n0\r\n\r\n")
        else:
            s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        s.shutdown(socket.SHUT_WR)
        with self.lock:
            self.done.append(path)

    def stop(self):
        self.ls.close()


CONF = """
    upstream serial { server 127.0.0.1:%(port)d; }
    server {
        listen 127.0.0.1:{port};
        proxy_temp_path %(tmp)s/ptemp 1 2;
        location / { proxy_pass http://serial; }
        location /off/ {
            proxy_pass http://serial/;
            proxy_buffering off;
        }
        location /nofile/ {
            proxy_pass http://serial/;
            proxy_max_temp_file_size 0;
        }
        location /ignore/ {
            proxy_pass http://serial/;
            proxy_ignore_headers X-Accel-Buffering;
        }
    }
"""


class SlowReader:
    """A client with a small receive buffer that reads only when asked."""

    def __init__(self, port, path, rcvbuf=4096):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(60)
        self.s.connect(("127.0.0.1", port))
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % path).encode())
        self.buf = bytearray()

    def read_all(self):
        while True:
            d = self.s.recv(65536)
            if not d:
                break
            self.buf += d
        self.s.close()
        head, _, body = bytes(self.buf).partition(b"\r\n\r\n")
        return head, body

    def close(self):
        self.s.close()


def dechunk(b):
    out = b""
    while True:
        line, _, b = b.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        if n == 0:
            return out
        out += b[:n]
        b = b[n + 2:]


class TempCase(ProxyCase):
    """What the tests see of temporary files (under tmp/ptemp), and the
    slow client check; self.b is the serial backend."""

    def temp_fds(self):
        """The proxy workers' open files under the temp path."""
        out = []
        for pid in proc_children(self.proxy.pid):
            d = "/proc/%d/fd" % pid
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for n in names:
                try:
                    t = os.readlink(os.path.join(d, n))
                except OSError:
                    continue
                if t.startswith(self.tmp + "/ptemp/"):
                    out.append(t)
        return out

    def temp_files(self):
        out = []
        for root, _, files in os.walk(self.tmp + "/ptemp"):
            out += [os.path.join(root, f) for f in files]
        return out

    def slow_client_releases_upstream(self, path, decode=None, up_path=None):
        up_path = up_path or path
        c = SlowReader(self.port, path)
        self.addCleanup(c.close)
        # the whole response was taken from the backend while the client
        # has read nothing
        wait_for(lambda: up_path in self.b.done, timeout=60,
                 what="the backend finishing " + up_path)
        # it spilled into a temporary file, which the worker holds open
        wait_for(lambda: self.temp_fds(), what="a temporary file in use")
        # the single-worker backend serves the next request meanwhile
        r = self.get("/small")
        self.assertEqual((r.status, r.body), (200, b"ok"))
        head, body = c.read_all()
        self.assertIn(b" 200 ", head.split(b"\r\n")[0])
        if decode:
            body = decode(body)
        n = int(path.rsplit("/", 1)[1])
        self.assertEqual(len(body), n)
        self.assertEqual(hashlib.sha256(body).hexdigest(),
                         hashlib.sha256(self.b.body(n)).hexdigest())
        wait_for(lambda: not self.temp_fds(), what="the temporary file closed")
        self.assertEqual(self.temp_files(), [])



class Buffering(TempCase):
    def setUp(self):
        super().setUp()
        self.b = SerialBackend()
        self.addCleanup(self.b.stop)
        self.start_proxy(CONF % {"port": self.b.port, "tmp": self.tmp})

    def test_slow_client_length(self):
        self.slow_client_releases_upstream("/big/%d" % BIG)

    def test_slow_client_chunked(self):
        self.slow_client_releases_upstream("/chunked/%d" % BIG, decode=dechunk)

    def test_slow_client_close_delimited(self):
        self.slow_client_releases_upstream("/eof/%d" % BIG, decode=dechunk)

    def test_fast_client_intact(self):
        for path in ("/big/%d" % (3 * BIG), "/big/100", "/big/40000"):
            r = self.get(path, timeout=60)
            n = int(path.rsplit("/", 1)[1])
            self.assertEqual(r.status, 200)
            self.assertEqual(hashlib.sha256(r.body).digest(),
                             hashlib.sha256(self.b.body(n)).digest())
        wait_for(lambda: not self.temp_fds(), what="no temporary file left open")
        self.assertEqual(self.temp_files(), [])

    def stream_handshake(self, path):
        c = self.raw(timeout=30)
        c.send("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path)
        c.read_until(b"one")  # before the app wrote "two"
        self.b.go_on.set()
        c.read_until(b"two")

    def test_buffering_off_streams(self):
        self.stream_handshake("/off/sse")

    def test_x_accel_buffering_no_streams(self):
        self.stream_handshake("/sse-accel")

    def test_x_accel_buffering_ignored(self):
        """proxy_ignore_headers X-Accel-Buffering: the response is buffered."""
        n = BIG
        self.slow_client_releases_upstream("/ignore/bigaccel/%d" % n, up_path="/bigaccel/%d" % n)

    def test_x_accel_buffering_no_big(self):
        """X-Accel-Buffering: no: a slow client gets the response without
        any temporary file, and the header is not passed on."""
        n = 4 * BIG
        c = SlowReader(self.port, "/bigaccel/%d" % n, rcvbuf=0)
        self.addCleanup(c.close)
        while len(c.buf) < 65536:
            c.buf += c.s.recv(65536)
        self.assertEqual(self.temp_fds(), [])
        head, body = c.read_all()
        self.assertNotIn(b"x-accel", head.lower())
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(self.b.body(n)).digest())
        self.assertEqual(self.temp_files(), [])
        if self.ours():
            self.assertNotIn("temporary file", self.error_log())

    def test_no_temp_file_backpressure(self):
        c = SlowReader(self.port, "/nofile/big/%d" % (8 * BIG), rcvbuf=0)
        self.addCleanup(c.close)
        # the client reads a first piece: the response is flowing
        while len(c.buf) < 65536:
            c.buf += c.s.recv(65536)
        self.assertEqual(self.temp_fds(), [])
        head, body = c.read_all()
        self.assertEqual(len(body), 8 * BIG)
        self.assertEqual(self.temp_files(), [])
        if self.ours():
            self.assertNotIn("temporary file", self.error_log())

    def test_buffering_off_no_file(self):
        c = SlowReader(self.port, "/off/big/%d" % (8 * BIG), rcvbuf=0)
        self.addCleanup(c.close)
        while len(c.buf) < 65536:
            c.buf += c.s.recv(65536)
        self.assertEqual(self.temp_fds(), [])
        head, body = c.read_all()
        self.assertEqual(hashlib.sha256(body).digest(),
                         hashlib.sha256(self.b.body(8 * BIG)).digest())
        self.assertEqual(self.temp_files(), [])


class DefaultTempPath(ProxyCase):
    """Without proxy_temp_path the file goes under the prefix's proxy_temp."""

    def test_default_path(self):
        if not self.ours():
            self.skipTest("nginx's default temp path is compiled in")
        b = SerialBackend()
        self.addCleanup(b.stop)
        self.start_proxy("""
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://127.0.0.1:%d; }
    }
""" % b.port)
        c = SlowReader(self.port, "/big/%d" % BIG)
        self.addCleanup(c.close)
        want = "buffered to a temporary file %s/proxy_temp/" % self.tmp.rstrip("/")
        wait_for(lambda: want in self.error_log(), timeout=60, what="the temporary file")
        head, body = c.read_all()
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(b.body(BIG)).digest())



class SerialUwsgi(SerialBackend):
    """The same, speaking uwsgi: one packet in, an HTTP response out."""

    def _serve(self, s):
        s.settimeout(300)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack("<BHB", buf[:4])[1]:
            d = s.recv(65536)
            if not d:
                return
            buf += d
        size = struct.unpack("<BHB", buf[:4])[1]
        data, env, i = buf[4:4 + size], {}, 0
        while i < len(data):
            kl = struct.unpack("<H", data[i:i + 2])[0]
            k = data[i + 2:i + 2 + kl].decode()
            i += 2 + kl
            vl = struct.unpack("<H", data[i:i + 2])[0]
            env[k] = data[i + 2:i + 2 + vl].decode()
            i += 2 + vl
        path = env.get("PATH_INFO", "/")
        parts = path.strip("/").split("/")
        if parts[0] == "big":
            b = self.body(int(parts[1]))
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(b))
            s.sendall(b)
        else:
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        s.shutdown(socket.SHUT_WR)
        with self.lock:
            self.done.append(path)


class UwsgiBuffering(TempCase):
    """uwsgi_buffering and uwsgi_temp_path: a slow client does not hold a
    single-worker uwsgi peer either."""

    def setUp(self):
        super().setUp()
        self.b = SerialUwsgi()
        self.addCleanup(self.b.stop)
        self.start_proxy("""
    server {
        listen 127.0.0.1:{port};
        uwsgi_temp_path %(tmp)s/ptemp 2;
        location / { uwsgi_param PATH_INFO $uri; uwsgi_pass 127.0.0.1:%(port)d; }
    }
""" % {"port": self.b.port, "tmp": self.tmp})

    def test_slow_client_uwsgi(self):
        self.slow_client_releases_upstream("/big/%d" % BIG)


if __name__ == "__main__":
    harness.main()
