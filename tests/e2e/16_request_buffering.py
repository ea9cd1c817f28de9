"""Request body buffering, nginx's way (proxy_request_buffering and
uwsgi_request_buffering on by default): the whole body is read from the
client, in memory up to client_body_buffer_size and in a temp file past it,
before an upstream is connected; it goes upstream with a Content-Length
(a chunked one too), is sent again on a retry, and leaves no temp file
behind.  With buffering off, bodies still stream.  Runs against nginx 1.22
as well (PROXY_IMPL=nginx)."""
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import threading

import harness
from harness import ProxyCase, RawClient, StreamBackend

harness.need_proxy()

WAIT = 20.0  # seconds an expected event may take on a busy machine
# The sanitizer build's allocator keeps freed memory in quarantine, so its
# RSS says nothing about the proxy's: there the big upload is smaller and
# its RSS is not checked.
SANITIZED = "ASAN_OPTIONS" in os.environ
BIG = (32 if SANITIZED else 256) << 20
RSS_LIMIT = 48 << 20


def read_request(f):
    """Reads one HTTP/1.x request from a file object: (line, headers, body)."""
    line = f.readline()
    if not line:
        raise ConnectionError("no request")
    hdrs = {}
    while True:
        hl = f.readline()
        if hl in (b"\r\n", b""):
            break
        k, _, v = hl.decode("latin-1").partition(":")
        hdrs[k.strip().lower()] = v.strip()
    body = b""
    if "chunked" in hdrs.get("transfer-encoding", "").lower():
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                break
            body += f.read(size)
            f.readline()
    elif "content-length" in hdrs:
        n = int(hdrs["content-length"])
        body = f.read(n)
        if len(body) != n:
            raise ConnectionError("eof in body")
    return line.decode("latin-1").strip(), hdrs, body


def describe(hdrs, body):
    return {"sha": hashlib.sha256(body).hexdigest(), "len": len(body),
            "cl": hdrs.get("content-length"), "te": hdrs.get("transfer-encoding"),
            "xbody": hdrs.get("x-body"), "xfile": hdrs.get("x-body-file"),
            "xcl": hdrs.get("x-cl")}


class RecBackend:
    """An HTTP backend that serves one connection at a time (a single
    worker): each request is answered with JSON saying what arrived (sha256
    and length of the body, its framing headers).  Without a thread the test
    accepts itself (pending() tells whether a connection waits); with
    loop() a thread serves.  `drop` requests are read whole and answered by
    closing the connection."""

    def __init__(self, drop=0):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.hits = 0
        self.drop = drop
        self.seen = []
        self.done = False

    def pending(self, timeout=0.0):
        """Does a connection wait to be accepted (within timeout s)?"""
        return bool(select.select([self.ls], [], [], timeout)[0])

    def accept(self, timeout=WAIT):
        self.ls.settimeout(timeout)
        s, _ = self.ls.accept()
        s.settimeout(WAIT)
        return s

    def serve(self, s):
        """Answers the requests on connection s until it closes."""
        try:
            f = s.makefile("rb")
            while True:
                line, hdrs, body = read_request(f)
                self.hits += 1
                if self.drop > 0:
                    self.drop -= 1
                    return
                d = describe(hdrs, body)
                self.seen.append(d)
                out = json.dumps(d).encode()
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(out), out))
        except (OSError, ValueError, ConnectionError):
            pass
        finally:
            s.close()

    def loop(self):
        def run():
            while not self.done:
                try:
                    s, _ = self.ls.accept()
                except OSError:
                    return
                s.settimeout(WAIT)
                self.serve(s)
        threading.Thread(target=run, daemon=True).start()
        return self

    def stop(self):
        self.done = True
        self.ls.close()


class UwsgiBackend(RecBackend):
    """The same over the uwsgi protocol: the packet's CONTENT_LENGTH, then
    that many body bytes."""

    def serve(self, s):
        try:
            f = s.makefile("rb")
            while True:
                h = f.read(4)
                if len(h) < 4:
                    return
                _, size, _ = struct.unpack("<BHB", h)
                pkt, env, i = f.read(size), {}, 0
                while i < len(pkt):
                    kl = struct.unpack("<H", pkt[i:i + 2])[0]
                    k = pkt[i + 2:i + 2 + kl].decode("latin-1")
                    i += 2 + kl
                    vl = struct.unpack("<H", pkt[i:i + 2])[0]
                    env[k] = pkt[i + 2:i + 2 + vl].decode("latin-1")
                    i += 2 + vl
                n = int(env.get("CONTENT_LENGTH") or 0)
                body = f.read(n)
                self.hits += 1
                d = describe({"content-length": env.get("CONTENT_LENGTH")}, body)
                self.seen.append(d)
                out = json.dumps(d).encode()
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
                return
        except (OSError, ValueError, ConnectionError):
            pass
        finally:
            s.close()


def chunked(data, piece=7000):
    out = b""
    for i in range(0, len(data), piece):
        out += b"%x\r\n%s\r\n" % (len(data[i:i + piece]), data[i:i + piece])
    return out + b"0\r\n\r\n"


class RequestBuffering(ProxyCase):
    def setUp(self):
        super().setUp()
        self.be = RecBackend()
        self.addCleanup(self.be.stop)
        self.temp = os.path.join(self.tmp, "cbt")

    def start(self, extra_http="", locations=""):
        self.start_proxy("""
    client_body_temp_path %s 1 2;
    %s
    server {
        listen 127.0.0.1:{port};
        client_max_body_size 8m;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /off/ { proxy_pass http://127.0.0.1:%d; proxy_request_buffering off; }
        location /small/ { proxy_pass http://127.0.0.1:%d; client_max_body_size 1k; }
        location /vars/ {
            proxy_pass http://127.0.0.1:%d;
            proxy_set_header X-Body $request_body;
            proxy_set_header X-Body-File $request_body_file;
            proxy_set_header X-CL $content_length;
        }
        location /keep/ {
            proxy_pass http://127.0.0.1:%d;
            client_body_in_file_only on;
            proxy_set_header X-Body-File $request_body_file;
        }
        location /clean/ {
            proxy_pass http://127.0.0.1:%d;
            client_body_in_file_only clean;
            client_body_in_single_buffer on;
            proxy_set_header X-Body-File $request_body_file;
        }
        %s
    }
""" % ((self.temp, extra_http) + (self.be.port,) * 6 + (locations,)))

    def post(self, path, body, is_chunked=False, method="POST", headers=b""):
        c = RawClient(self.port, timeout=WAIT)
        self.addCleanup(c.close)
        framing = (b"Transfer-Encoding: chunked\r\n" if is_chunked
                   else b"Content-Length: %d\r\n" % len(body))
        c.send(b"%s %s HTTP/1.1\r\nHost: a\r\n%s%s\r\n%s"
               % (method.encode(), path, framing, headers, chunked(body) if is_chunked else body))
        return c.read_response()

    def temp_files(self):
        out = []
        for d, _, files in os.walk(self.temp):
            out += [os.path.join(d, f) for f in files]
        return out

    def test_bodies_reach_the_upstream_intact_with_content_length(self):
        self.be.loop()
        self.start()
        for n in (1, 1000, 16384, 16385, 100000, 3 << 20):
            body = os.urandom(n)
            with self.subTest(size=n):
                r = self.post(b"/u", body)
                self.assertEqual(r.status, 200)
                d = r.json()
                self.assertEqual((d["sha"], d["len"], d["cl"], d["te"]),
                                 (hashlib.sha256(body).hexdigest(), n, str(n), None))
        self.assertEqual(self.temp_files(), [])

    def test_chunked_body_goes_upstream_with_content_length(self):
        self.be.loop()
        self.start()
        for n in (0, 100, 300000):
            body = os.urandom(n)
            with self.subTest(size=n):
                r = self.post(b"/vars/", body, is_chunked=True)
                self.assertEqual(r.status, 200)
                d = r.json()
                self.assertEqual((d["sha"], d["len"], d["cl"], d["te"]),
                                 (hashlib.sha256(body).hexdigest(), n, str(n), None))
                # $content_length is the de-chunked length, as nginx's
                self.assertEqual(d["xcl"], str(n))

    def test_upstream_is_connected_only_once_the_body_is_complete(self):
        self.start()
        body = os.urandom(200000)
        c = RawClient(self.port, timeout=WAIT)
        self.addCleanup(c.close)
        # "100 Continue" comes when the proxy begins to read the body; a
        # streaming proxy has connected upstream by then
        c.send(b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
               b"Expect: 100-continue\r\n\r\n" % len(body))
        self.assertEqual(c.read_interim(), 100)
        c.send(body[:-1])
        self.assertFalse(self.be.pending(), "upstream connected before the body was complete")
        c.send(body[-1:])
        s = self.be.accept()
        self.be.serve(s)
        r = c.read_response()
        self.assertEqual((r.status, r.json()["sha"]), (200, hashlib.sha256(body).hexdigest()))

    def test_without_buffering_the_body_streams(self):
        self.start()
        body = os.urandom(200000)
        c = RawClient(self.port, timeout=WAIT)
        self.addCleanup(c.close)
        c.send(b"POST /off/x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body))
        c.send(body[:1000])
        # the upstream gets the head and the first bytes while the client
        # still holds the rest
        s = self.be.accept()
        f = s.makefile("rb")
        while f.readline() not in (b"\r\n", b""):
            pass
        self.assertEqual(f.read(1000), body[:1000])
        c.send(body[1000:])
        self.assertEqual(f.read(len(body) - 1000), body[1000:])
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        s.close()
        self.assertEqual(c.read_response().status, 200)

    def test_bodies_on_a_keepalive_connection_and_pipelined(self):
        self.be.loop()
        self.start()
        c = RawClient(self.port, timeout=WAIT)
        self.addCleanup(c.close)
        bodies = [os.urandom(n) for n in (20000, 300, 70000, 0, 5)]
        reqs = b""
        for i, b in enumerate(bodies):
            if i % 2:
                reqs += b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                reqs += chunked(b)
            else:
                reqs += b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s" % (
                    len(b), b)
        c.send(reqs[:len(reqs) // 2])  # all in one go, cut in the middle of a body
        c.send(reqs[len(reqs) // 2:])
        for b in bodies:
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["sha"], hashlib.sha256(b).hexdigest())
        self.assertEqual(self.temp_files(), [])

    def test_chunked_is_buffered_when_the_upstream_needs_a_length(self):
        # as nginx: with buffering off a chunked body is still read whole for
        # an HTTP/1.0 upstream and for uwsgi; over HTTP/1.1 it streams chunked
        self.be.loop()
        ub = UwsgiBackend().loop()
        self.addCleanup(ub.stop)
        self.start(locations="location /off11/ { proxy_pass http://127.0.0.1:%d; "
                   "proxy_request_buffering off; proxy_http_version 1.1; }\n"
                   "location /uwoff/ { uwsgi_pass 127.0.0.1:%d; uwsgi_request_buffering off; "
                   "uwsgi_param CONTENT_LENGTH $content_length; }" % (self.be.port, ub.port))
        body = os.urandom(50000)
        sha = hashlib.sha256(body).hexdigest()
        d = self.post(b"/off/10", body, is_chunked=True).json()
        self.assertEqual((d["sha"], d["cl"], d["te"]), (sha, "50000", None))
        d = self.post(b"/off11/", body, is_chunked=True).json()
        self.assertEqual((d["sha"], d["cl"], d["te"]), (sha, None, "chunked"))
        d = self.post(b"/uwoff/", body, is_chunked=True).json()
        self.assertEqual((d["sha"], d["cl"]), (sha, "50000"))

    def test_slow_uploader_does_not_hold_the_upstream(self):
        self.be.loop()  # one request at a time, as a single-worker app
        self.start()
        slow = RawClient(self.port, timeout=WAIT)
        self.addCleanup(slow.close)
        body = os.urandom(50000)
        slow.send(b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\n\r\n" % len(body))
        self.assertEqual(slow.read_interim(), 100)
        slow.send(body[:30000])
        for i in range(3):  # the backend serves others while the slow body trickles in
            r = self.post(b"/u", b"quick %d" % i)
            self.assertEqual(r.status, 200)
        self.assertEqual(self.be.hits, 3)
        slow.send(body[30000:])
        r = slow.read_response()
        self.assertEqual((r.status, r.json()["sha"]), (200, hashlib.sha256(body).hexdigest()))

    def test_too_large_bodies_get_413_and_never_reach_the_upstream(self):
        self.start()
        r = self.post(b"/small/", b"x" * 2000)
        self.assertEqual(r.status, 413)
        r = self.post(b"/small/", b"x" * 2000, is_chunked=True)
        self.assertEqual(r.status, 413)
        self.assertFalse(self.be.pending(), "a refused body reached the upstream")

    def test_request_body_variables(self):
        self.be.loop()
        self.start()
        r = self.post(b"/vars/", b"hello-world")
        d = r.json()
        # small: in memory, so $request_body has it and there is no file
        self.assertEqual((r.status, d["xbody"], d["xfile"]), (200, "hello-world", None))
        big = os.urandom(100000)
        d = self.post(b"/vars/", big).json()
        # large: in a temp file; $request_body is empty then (as nginx)
        self.assertEqual((d["sha"], d["xbody"]), (hashlib.sha256(big).hexdigest(), None))
        self.assertTrue(d["xfile"] and d["xfile"].startswith(self.temp + "/"), d["xfile"])

    def test_client_body_in_file_only(self):
        self.be.loop()
        self.start()
        body = b"kept on disk"
        d = self.post(b"/keep/", body).json()
        path = d["xfile"]
        # "on": the file stays, named as nginx names them: levels 1 2
        self.assertTrue(path.startswith(self.temp + "/"), path)
        rel = os.path.relpath(path, self.temp).split("/")
        self.assertEqual([len(p) for p in rel], [1, 2, 10], rel)
        self.assertEqual((rel[0], rel[1]), (rel[2][-1], rel[2][-3:-1]))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), body)
        os.unlink(path)
        # "clean": a file while the request runs, removed when it ends; the
        # next request on the connection is read only after that (the
        # response can reach the client first)
        c = RawClient(self.port, timeout=WAIT)
        self.addCleanup(c.close)
        body = b"gone afterwards"
        c.send(b"POST /clean/ HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s"
               % (len(body), body))
        d = c.read_response().json()
        self.assertTrue(d["xfile"].startswith(self.temp + "/"), d["xfile"])
        c.send(b"GET /u HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        self.assertEqual(self.temp_files(), [])

    def test_retry_resends_the_buffered_body(self):
        bad = RecBackend(drop=100)  # reads each request whole, then closes
        self.addCleanup(bad.stop)
        bad.loop()
        self.be.loop()
        # max_fails=0: the failing server stays in the round, so one request
        # in two goes to it first and must be sent again to the other
        self.start(extra_http="upstream two { server 127.0.0.1:%d max_fails=0; "
                   "server 127.0.0.1:%d; }" % (bad.port, self.be.port),
                   locations="location /retry/ { proxy_pass http://two; }")
        for n in (5000, 200000):  # in memory, and in a temp file
            before = bad.hits
            for i in range(2):
                body = os.urandom(n)
                r = self.post(b"/retry/", body, method="PUT")
                self.assertEqual(r.status, 200, r.body[:200])
                self.assertEqual(r.json()["sha"], hashlib.sha256(body).hexdigest())
            self.assertEqual(bad.hits - before, 1, "size %d" % n)
        self.assertEqual(self.temp_files(), [])

    def test_uwsgi_gets_a_chunked_body_with_its_length(self):
        ub = UwsgiBackend().loop()
        self.addCleanup(ub.stop)
        # nginx sends what uwsgi_params says (its file has this line); ours
        # adds CONTENT_LENGTH itself unless a uwsgi_param sets it
        self.start(locations="location /uw/ { uwsgi_pass 127.0.0.1:%d; "
                   "uwsgi_param CONTENT_LENGTH $content_length; }" % ub.port)
        for n in (10, 100000):
            body = os.urandom(n)
            r = self.post(b"/uw/", body, is_chunked=True)
            self.assertEqual(r.status, 200)
            d = r.json()
            self.assertEqual((d["sha"], d["cl"]), (hashlib.sha256(body).hexdigest(), str(n)))

    def test_big_upload_goes_to_disk_not_to_memory(self):
        sb = StreamBackend()  # hashes as it reads
        self.addCleanup(sb.stop)
        self.start(locations="location /big/ { proxy_pass http://127.0.0.1:%d; "
                   "client_max_body_size 0; }" % sb.port)
        worker = (self.worker_pids() or [self.proxy.pid])[0]
        c = RawClient(self.port, timeout=60)
        self.addCleanup(c.close)
        c.send(b"PUT /big/ HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % BIG)
        h, blk, left = hashlib.md5(), os.urandom(1 << 20), BIG
        while left:
            k = min(left, len(blk))
            h.update(blk[:k])
            c.send(blk[:k])
            left -= k
        r = c.read_response()
        self.assertEqual((r.status, r.body.decode()), (200, "%d %s" % (BIG, h.hexdigest())))
        self.assertEqual(self.temp_files(), [])
        if not SANITIZED:
            peak = harness.proc_rss(worker, "VmHWM")
            print("worker peak RSS %.1f MiB" % (peak / 1048576.0))
            self.assertLess(peak, RSS_LIMIT, "worker peak RSS %d MiB" % (peak >> 20))

    def test_reload_makes_the_new_temp_dir(self):
        self.start()
        self.assertTrue(os.path.isdir(self.temp))  # made at start
        with open(self.conf_path) as f:
            text = f.read()
        with open(self.conf_path, "w") as f:
            f.write(text.replace(self.temp + " ", self.temp + "2 "))
        os.kill(self.proxy.pid, signal.SIGHUP)
        harness.wait_for(lambda: os.path.isdir(self.temp + "2"), WAIT, what="the new temp dir")
        self.assertEqual(os.stat(self.temp + "2").st_mode & 0o777, 0o700)

    def test_a_temp_file_that_cannot_be_made_answers_500(self):
        self.be.loop()
        self.start()
        shutil.rmtree(self.temp)
        with open(self.temp, "w") as f:  # a file where the folder was
            f.write("x")
        r = self.post(b"/u", os.urandom(100000))
        self.assertEqual(r.status, 500)
        self.assertEqual(self.be.hits, 0)
        r = self.post(b"/u", b"small enough for memory")  # no file needed
        self.assertEqual(r.status, 200)
        if self.ours():
            harness.wait_for(lambda: "client request body" in self.error_log(), WAIT,
                             what="the error in the log")

    def test_default_temp_dir_is_made_under_the_prefix(self):
        if not self.ours():
            self.skipTest("Debian's nginx has a compiled-in client_body_temp_path")
        self.start_proxy("""
    server { listen 127.0.0.1:{port}; location / { proxy_pass http://127.0.0.1:%d; } }
""" % self.be.port)
        st = os.stat(os.path.join(self.tmp, "client_body_temp"))
        self.assertEqual(st.st_mode & 0o777, 0o700)


if __name__ == "__main__":
    harness.main()
