"""Our proxy's upstream runtime seen from outside: active health checks
(`health_check interval= fails= passes= uri= timeout=`) take a sick server
out and bring it back, logging both; the JSON status page (`location /status
{ status; }`) shows per-server state, requests and failures; max_fails marks
a refusing server unavailable; `server NAME resolve` with `resolver` follows
a DNS change while running (a small DNS server in this test answers)."""
import json
import os
import socket
import struct
import threading
import time

import harness
from harness import Backend, free_port, wait_for

harness.need_proxy()


class TinyDNS:
    """Answers A queries for every name with self.ip (TTL 1), AAAA with no
    record; UDP on 127.0.0.1."""

    def __init__(self):
        self.ip = "127.0.0.1"
        self.queries = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stopped:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(q) < 12:
                continue
            i = 12
            while i < len(q) and q[i] != 0:
                i += q[i] + 1
            qend = i + 5
            qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
            self.queries += 1
            an = 1 if qtype == 1 else 0
            head = q[:2] + struct.pack("!HHHHH", 0x8180, 1, an, 0, 0)
            out = head + q[12:qend]
            if an:
                out += struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(self.ip)
            self.sock.sendto(out, peer)

    def stop(self):
        self.stopped = True
        self.sock.close()


class HealthStatus(harness.ProxyCase):
    def status(self):
        r = self.get("/status")
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("application/json", r.header("Content-Type"))
        return json.loads(r.body)

    def peers(self):
        return {p["server"]: p for p in self.status()["upstreams"]["u"]["peers"]}

    def test_health_checks_and_status(self):
        good = Backend(name="good")
        sick = Backend(name="sick", fail_status=503)
        self.addCleanup(good.stop)
        self.addCleanup(sick.stop)
        dead = free_port()
        http = """
    upstream u {
        server 127.0.0.1:%d;
        server 127.0.0.1:%d;
        server 127.0.0.1:%d;
        health_check interval=200ms fails=2 passes=2 uri=/health timeout=500ms;
    }
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://u; proxy_next_upstream off; }
        location /status { status; }
    }
""" % (good.port, sick.port, dead)
        self.start_proxy(http)
        g, s, d = ("127.0.0.1:%d" % p for p in (good.port, sick.port, dead))
        wait_for(lambda: self.peers()[s]["state"] == "unhealthy" and
                 self.peers()[d]["state"] == "unhealthy", timeout=15, what="checks to fail")
        self.assertTrue(any(h["path"] == "/health" for h in good.hits))
        st = self.peers()
        self.assertEqual(st[g]["state"], "up")
        self.assertGreaterEqual(st[s]["health_checks"]["fails"], 2)
        before = len(sick.hits)
        for _ in range(8):
            r = self.get("/x")
            self.assertEqual((r.status, r.header("X-Backend")), (200, "good"))
        self.assertTrue(all(h["path"] == "/health" for h in sick.hits[before:]))
        st = self.peers()
        self.assertGreaterEqual(st[g]["requests"], 8)
        self.assertEqual(st[s]["requests"], 0)
        self.assertIsNotNone(st[g]["response_time_avg"])
        self.assertEqual(st[g]["weight"], 1)
        self.assertFalse(st[g]["backup"])
        # the sick server recovers: two passes bring it back
        sick.srv.fail_status = None
        wait_for(lambda: self.peers()[s]["state"] == "up", timeout=15, what="recovery")
        names = {self.get("/y").header("X-Backend") for _ in range(6)}
        self.assertEqual(names, {"good", "sick"})
        log = self.proxy.output() + self.error_log()
        self.assertIn("127.0.0.1:%d is unhealthy" % sick.port, log)
        self.assertIn("127.0.0.1:%d is healthy again" % sick.port, log)

    def test_max_fails_unavailable(self):
        good = Backend(name="good")
        self.addCleanup(good.stop)
        dead = free_port()
        http = """
    upstream u {
        server 127.0.0.1:%d max_fails=1 fail_timeout=30s;
        server 127.0.0.1:%d;
    }
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://u; }
        location = /status { status; }
    }
""" % (dead, good.port)
        self.start_proxy(http)
        for _ in range(4):
            r = self.get("/")
            self.assertEqual((r.status, r.header("X-Backend")), (200, "good"))
        st = self.peers()
        d = st["127.0.0.1:%d" % dead]
        self.assertEqual((d["state"], d["failures"], d["requests"]), ("unavailable", 1, 1))
        self.assertEqual(st["127.0.0.1:%d" % good.port]["requests"], 4)

    def test_active_connections(self):
        """A request held in an upstream shows as active == 1 on its peer
        only, and 0 once it is answered."""
        a, b = Backend(name="a"), Backend(name="b")
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        http = """
    upstream u { server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://u; }
        location = /status { status; }
    }
""" % (a.port, b.port)
        self.start_proxy(http)
        names = {"127.0.0.1:%d" % a.port: "a", "127.0.0.1:%d" % b.port: "b"}
        self.assertEqual({p["active"] for p in self.peers().values()}, {0})
        held = {}
        t = threading.Thread(target=lambda: held.update(r=self.get("/sleep/1.5", timeout=30)))

        def busy_view():
            st = self.peers()
            return st if any(p["active"] for p in st.values()) else None
        t.start()
        try:
            st = wait_for(busy_view, timeout=10, what="the held request to show")
            busy = [names[k] for k, p in st.items() if p["active"]]
            self.assertEqual(sorted(p["active"] for p in st.values()), [0, 1])
        finally:
            t.join(30)
        self.assertEqual(held["r"].status, 200)
        self.assertEqual(busy, [held["r"].header("X-Backend")])
        st = self.peers()
        self.assertEqual({k: p["active"] for k, p in st.items()}, {k: 0 for k in names})
        self.assertEqual(sum(p["requests"] for p in st.values()), 1)

    def test_dns_re_resolution(self):
        port = free_port()
        a = Backend(name="a", host="127.0.0.1", port=port)
        self.addCleanup(a.stop)
        try:
            b = Backend(name="b", host="127.0.0.2", port=port)
        except OSError as e:
            self.skipTest("cannot bind 127.0.0.2: %s" % e)
        self.addCleanup(b.stop)
        dns = TinyDNS()
        self.addCleanup(dns.stop)
        http = """
    resolver 127.0.0.1:%d valid=300ms;
    upstream u {
        server localhost:%d resolve;
    }
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://u; }
        location = /status { status; }
    }
""" % (dns.port, port)
        self.start_proxy(http)
        self.assertEqual(self.get("/").header("X-Backend"), "a")
        dns.ip = "127.0.0.2"
        wait_for(lambda: self.get("/").header("X-Backend") == "b", timeout=15,
                 what="the new address")
        for _ in range(4):
            self.assertEqual(self.get("/").header("X-Backend"), "b")
        self.assertGreater(dns.queries, 0)
        self.assertIn("now resolves to 127.0.0.2:%d" % port, self.proxy.output() + self.error_log())


if __name__ == "__main__":
    harness.main()
