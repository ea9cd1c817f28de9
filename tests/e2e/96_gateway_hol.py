"""Gateway, black box: no head-of-line blocking across keep-alive
connections.  A front server keeps a pool of connections to the gateway and
sends each request on whichever one is free on its side; when the worker
owning it is inside a slow request, the request must not wait for it while
another worker is idle.  While one request is held (the app waits on a
socket this test controls), requests sent on the busy worker's other idle
keep-alive connections are answered, by the other worker; with
--idle-handoff 0 they are not (the fault this guards against)."""
import os
import socket
import sys

import harness
from harness import RawClient, wait_for

harness.need_gateway()
if harness.GATEWAY_IMPL == "uwsgi":
    print("skipped: uWSGI's --http-socket has no keep-alive")
    sys.exit(77)

APP = os.path.join(harness.TEST_APPS_DIR, "hold_app.py")
REQ = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


class Hol(harness.GatewayTestCase):
    def start(self, handoff):
        self.port = harness.free_port()
        self.gw = self.start_gateway(["--http-socket", "127.0.0.1:%d" % self.port,
                                      "--wsgi-file", APP, "--processes", "2",
                                      "--idle-handoff", str(handoff)])
        self.gw.wait_workers(2)
        # the app reports to this socket when the held request has begun
        self.hold_path = os.path.join(self.tmp, "hold.sock")
        self.hold = socket.socket(socket.AF_UNIX)
        self.hold.bind(self.hold_path)
        self.hold.listen(4)
        self.hold.settimeout(30)
        self.addCleanup(self.hold.close)

    def pid_of(self, c):
        c.send(REQ)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        return int(r.body.split(b"=")[1])

    def conns_on_both(self, n=3):
        """Keep-alive connections on both workers, made without relying on
        how the kernel spreads accepts: {pid: [RawClient]}.  While one
        worker is held inside the app only the other accepts, so the n
        connections opened then are all the other's; the first one stays
        the held worker's."""
        first = RawClient(self.port, timeout=30)
        self.addCleanup(first.close)
        x_pid = self.pid_of(first)
        held, pid = self.hold_one(first)
        self.assertEqual(pid, x_pid)
        ys = []
        for _ in range(n):
            c = RawClient(self.port, timeout=30)
            self.addCleanup(c.close)
            ys.append((self.pid_of(c), c))
        y_pids = {p for p, _ in ys}
        self.assertEqual(len(y_pids), 1, "a held worker accepted: %r" % y_pids)
        self.assertNotIn(x_pid, y_pids)
        held.sendall(b"x")  # release
        self.assertEqual(first.read_response().status, 200)
        return {ys[0][0]: [c for _, c in ys], x_pid: [first]}

    def hold_one(self, c):
        """Sends the held request on c; returns once the app is inside it."""
        c.send(b"GET /hold?sock=%s HTTP/1.1\r\nHost: x\r\n\r\n" % self.hold_path.encode())
        app, _ = self.hold.accept()
        self.addCleanup(app.close)
        app.settimeout(30)
        pid = b""
        while not pid.endswith(b"\n"):
            d = app.recv(64)
            if not d:
                break
            pid += d
        return app, int(pid)

    def test_idle_connections_of_a_busy_worker_are_served(self):
        self.start(handoff=50)
        by = self.conns_on_both()
        busy_pid, conns = next(iter(by.items()))
        other_pid = [p for p in by if p != busy_pid][0]
        held, pid = self.hold_one(conns[0])
        self.assertEqual(pid, busy_pid)
        # the held request is still running: the busy worker's other
        # connections must be answered meanwhile, by the other worker
        for c in conns[1:]:
            self.assertEqual(self.pid_of(c), other_pid)
        for c in by[other_pid]:
            self.assertEqual(self.pid_of(c), other_pid)
        held.sendall(b"x")  # release
        r = conns[0].read_response()
        self.assertEqual((r.status, r.body), (200, b"pid=%d" % busy_pid))
        # every connection goes on serving
        for cs in by.values():
            for c in cs:
                self.assertIn(self.pid_of(c), (busy_pid, other_pid))
        wait_for(lambda: "passed to idle workers" in self.gw.output(), 10,
                 what="the hand-off logged")

    def test_without_handoff_they_wait(self):
        self.start(handoff=0)
        by = self.conns_on_both()
        busy_pid, conns = next(iter(by.items()))
        held, pid = self.hold_one(conns[0])
        self.assertEqual(pid, busy_pid)
        c = conns[1]
        c.send(REQ)
        # it cannot be answered while the app holds its worker
        self.assertFalse(c.closed(timeout=0.5))
        self.assertEqual(c.buf, b"")
        c.sock.settimeout(30)
        held.sendall(b"x")
        self.assertEqual(conns[0].read_response().status, 200)
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"pid=%d" % busy_pid))


if __name__ == "__main__":
    harness.main()
