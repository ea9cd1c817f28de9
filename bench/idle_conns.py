#!/usr/bin/python3
"""Opens N keep-alive connections to 127.0.0.1:PORT, sends one GET on each
and reads its answer (so every connection is an established, idle
keep-alive connection), then prints "ready N" and holds them until stdin
closes or HOLD seconds pass.  Used by bench/proxy_bench.sh to measure RSS at
10,000 idle keep-alive connections.  Bounded: gives up after TIMEOUT s.

  idle_conns.py PORT [N] [TIMEOUT] [HOLD]
"""
import resource
import selectors
import socket
import sys
import time


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    socks, pending, failed = [], 0, 0
    # connect in batches so the listen backlog is not overrun
    batch = 500
    for start in range(0, n, batch):
        for _ in range(min(batch, n - start)):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect_ex(("127.0.0.1", port))
            except OSError:
                failed += 1
                s.close()
                continue
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, [b"", False])
            pending += 1
        # drive this batch: write the request when connected, read the answer
        while pending > 0 and time.monotonic() < deadline:
            for key, ev in sel.select(0.5):
                s, st = key.fileobj, key.data
                if ev & selectors.EVENT_WRITE:
                    try:
                        s.send(req)
                        sel.modify(s, selectors.EVENT_READ, st)
                    except OSError:
                        sel.unregister(s)
                        pending -= 1
                        failed += 1
                    continue
                try:
                    d = s.recv(4096)
                except OSError:
                    d = b""
                if not d:
                    sel.unregister(s)
                    pending -= 1
                    failed += 1
                    continue
                st[0] += d
                if b"\r\n\r\n" in st[0]:  # the answer is tiny: head is enough
                    sel.unregister(s)
                    pending -= 1
        if time.monotonic() >= deadline:
            break
    ok = len(socks) - failed - pending
    print("ready %d failed %d pending %d" % (ok, failed, pending), flush=True)
    end = time.monotonic() + hold
    while time.monotonic() < end:
        if sys.stdin.readline() == "":
            break
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
