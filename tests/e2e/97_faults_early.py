"""Fault suite: early responses (issue 16, points 1 and 8).

- an early response to a 50 MiB body, from the app (which answers before
  reading) and from an HTTP upstream that never reads the body: the
  client gets the answer, then the connection is either kept alive (it
  takes the rest of the body and answers the next request) or closed;
  never stuck (no byte taken for 30 s with the connection still open);
- QUIT while a client holds a half-sent body: the proxy exits within
  worker_shutdown_timeout (5 s; the bound is 60 s).

Ours: proxy -> 2 gateways of 2 workers over uwsgi_pass; peers: nginx 1.22
-> uWSGI on the same config."""
import os
import signal
import socket
import sys
import threading

import faults
import harness


class Early:
    IMPL = None

    def setUp(self):
        faults.need(self.IMPL)
        super().setUp()

    def stack(self, **kw):
        st = faults.Stack(self.tmp, impl=self.IMPL, **kw).start()
        self.addCleanup(st.stop)
        return st

    EARLY_STATUSES = (200,)

    def early_three_times(self, port, statuses):
        for i in range(3):
            out = faults.early_response(port, 50 * faults.MiB, timeout=30)
            print("%s: early response %d: %s" % (self.IMPL, i, out))
            self.assertIn(out["status"], statuses, out)
            self.assertFalse(out["stuck"], out)
            self.assertTrue(out["closed"] or out["alive"], out)

    def test_early_response_to_large_body(self):
        st = self.stack()
        self.early_three_times(st.port, self.EARLY_STATUSES)
        self.assertEqual(faults.get(st.port)[0], 200)

    def test_early_response_from_an_upstream_that_never_reads(self):
        """An HTTP upstream answers after the head and then holds the
        connection without reading the body (until the test ends).  With
        proxy_send_timeout 10s, the connection must be usable or closed
        well within the 30 s that count as stuck."""
        halt = threading.Event()
        self.addCleanup(halt.set)

        def answer_early(sock):
            harness.read_head(sock)
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            halt.wait(120)
        up = harness.ScriptedUpstream(answer_early)
        self.addCleanup(up.stop)
        port = harness.free_port()
        http = ("    client_max_body_size 0;\n"
                "    server {\n        listen 127.0.0.1:%d;\n"
                "        location / {\n            proxy_pass http://127.0.0.1:%d;\n"
                "            proxy_http_version 1.1;\n            proxy_send_timeout 10s;\n"
                "        }\n    }\n" % (port, up.port))
        px = harness.start_proxy(self.tmp, http, [port], impl="ours" if self.IMPL == "ours" else "nginx")
        self.addCleanup(px.stop)
        self.early_three_times(port, (200,))

    def test_quit_with_a_half_sent_body(self):
        st = self.stack(main_extra="worker_shutdown_timeout 5s;\n",
                        http_extra="    client_body_timeout 300s;\n")
        s = socket.create_connection(("127.0.0.1", st.port), timeout=60)
        self.addCleanup(s.close)
        s.sendall(b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % (50 * faults.MiB))
        s.sendall(b"b" * faults.MiB)  # then nothing more
        harness.wait_for(lambda: faults.get(st.port)[0] == 200, 30, what="the proxy serving beside it")
        os.kill(st.proxy.pid, signal.SIGQUIT)
        st.proxy.wait(60)  # worker_shutdown_timeout 5s closes what is left


class Ours(Early, harness.TempDirTestCase):
    IMPL = "ours"


class Peers(Early, harness.TempDirTestCase):
    IMPL = "peers"
    # uWSGI answers and closes without reading the body: nginx, still
    # sending it, may get a reset first and answer 502 (our gateway drains
    # the body, so ours always answers the app's 200)
    EARLY_STATUSES = (200, 502)

    # nginx -> uWSGI: uWSGI's reset after its early answer can leave the
    # client's connection with neither an answer to the next request nor a close
    test_early_response_to_large_body = faults.peer_fails("a stuck connection after uWSGI's reset")(
        Early.test_early_response_to_large_body)
    # nginx too holds the client's connection past the 30 s bound while the
    # upstream takes no more of the body
    test_early_response_from_an_upstream_that_never_reads = faults.peer_fails(
        "nginx waits on the upstream that does not read")(
        Early.test_early_response_from_an_upstream_that_never_reads)


if __name__ == "__main__":
    sys.exit(harness.main())
