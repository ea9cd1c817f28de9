"""The long-running drivers on top of faults.py (not tests):

  fault_drive.py soak MINUTES [IMPL]   tests/soak.sh: mixed load with faults
  fault_drive.py bench [SECONDS]       bench/fault_bench.sh: ours and peers
                                       under each fault, in the same run

Both print what they measured; soak exits 1 when the stack's RSS or open
fds grew past the tolerance it states, or a master died."""
import os
import random
import signal
import sys
import tempfile
import threading
import time
import shutil

import faults
import harness

RSS_TOLERANCE = 0.25          # relative growth of the summed RSS ...
RSS_SLACK = 16 * faults.MiB   # ... beyond this absolute slack
FD_TOLERANCE = 16             # open fds more at the end than at the start


def _kill_worker(st):
    g = random.choice(st.gateways)
    old = g.workers()
    os.kill(random.choice(old), signal.SIGKILL)
    harness.wait_for(lambda: len(g.workers()) == len(old) and set(g.workers()) != set(old), 60,
                     what="a new worker")


def _hup_proxy(st):
    old = set(st.proxy.workers())
    os.kill(st.proxy.pid, signal.SIGHUP)
    harness.wait_for(lambda: len(set(st.proxy.workers()) - old) >= st.proxy_workers, 60, what="new proxy workers")


def _hup_gateway(st):
    g = random.choice(st.gateways)
    old = set(g.workers())
    os.kill(g.pid, signal.SIGHUP)
    harness.wait_for(lambda: len(set(g.workers()) - old) >= st.n_workers, 120, what="new gateway workers")


def _slow_clients(st, cls, n=3, hold=10.0):
    cs = [cls(st.port) for _ in range(n)]
    for c in cs:
        c.start()
    time.sleep(hold)  # how long the slow clients stay: the fault's length, not a wait for a result
    for c in cs:
        c.stop()


def _early(st):
    for _ in range(2):
        faults.early_response(st.port, 50 * faults.MiB, timeout=30)


def _harakiri(st):
    faults.get(st.port, "/sleep?s=%d" % (st.harakiri + 3), timeout=60)


FAULTS = [("kill -9 worker", _kill_worker), ("HUP proxy", _hup_proxy), ("HUP gateway", _hup_gateway),
          ("slow uploaders", lambda st: _slow_clients(st, faults.SlowUploader)),
          ("slow readers", lambda st: _slow_clients(st, faults.SlowReader)),
          ("early responses", _early), ("harakiri", _harakiri)]


def soak(minutes, impl="ours"):
    faults.need(impl)
    tmp = tempfile.mkdtemp(prefix="chain-soak-")
    os.chmod(tmp, 0o755)
    st = faults.Stack(tmp, impl=impl, harakiri=4).start()
    try:
        warm = faults.Load(st.port, conns=8, max_requests=3000, cap=120).start()
        warm.wait_ok(3000, 120)
        warm.stop()
        rss0, fds0 = faults.settled_footprint(st)
        masters = [st.proxy.pid] + [g.pid for g in st.gateways]
        print("soak: %s, %g min; start: RSS %.1f MiB, %d fds over %d processes"
              % (impl, minutes, rss0 / faults.MiB, fds0, len(st.pids())), flush=True)
        end = time.monotonic() + minutes * 60
        load = faults.Load(st.port, conns=8, max_requests=10 ** 9, cap=minutes * 60 + 120, pace=0.002).start()
        done, i = {}, 0
        while time.monotonic() < end:
            name, fn = FAULTS[i % len(FAULTS)]
            i += 1
            t = time.monotonic()
            try:
                fn(st)
                done[name] = done.get(name, 0) + 1
            except Exception as e:  # noqa: BLE001 - a fault that could not be applied is reported
                print("soak: %s failed: %s" % (name, e), flush=True)
                done[name + " (failed)"] = done.get(name + " (failed)", 0) + 1
            print("soak: %4.0f s left: %s (%.1f s); load so far: %s"
                  % (end - time.monotonic(), name, time.monotonic() - t, load.stats.summary()), flush=True)
            time.sleep(2)  # quiet load between two faults
        stats = load.stop()
        rss1, fds1 = faults.settled_footprint(st)
        dead = [p for p in masters if not os.path.exists("/proc/%d" % p)]
        print("\nsoak summary (%s, %g min)" % (impl, minutes))
        print("  faults applied: %s" % ", ".join("%s x%d" % kv for kv in sorted(done.items())))
        print("  load: %s" % stats.summary())
        print("  RSS: %.1f -> %.1f MiB (tolerance +%d%% + %d MiB)"
              % (rss0 / faults.MiB, rss1 / faults.MiB, RSS_TOLERANCE * 100, RSS_SLACK // faults.MiB))
        print("  open fds: %d -> %d (tolerance +%d)" % (fds0, fds1, FD_TOLERANCE))
        bad = []
        if rss1 > rss0 * (1 + RSS_TOLERANCE) + RSS_SLACK:
            bad.append("RSS grew")
        if fds1 > fds0 + FD_TOLERANCE:
            bad.append("open fds grew")
        if dead:
            bad.append("masters died: %s" % dead)
        if st.sanitizer_reports():
            bad.append("sanitizer reports")
        print("  result: %s" % ("FAIL (" + "; ".join(bad) + ")" if bad else "ok"))
        return 1 if bad else 0
    finally:
        st.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def bench_case(impl, name, seconds):
    """One fault case for one implementation: the normal client's stats."""
    tmp = tempfile.mkdtemp(prefix="chain-fbench-")
    os.chmod(tmp, 0o755)
    gateways = 1 if name == "kill -9 worker, 1 server" else 2
    st = faults.Stack(tmp, impl=impl, gateways=gateways, harakiri=3 if name == "harakiri" else 0,
                      read_timeout="10s").start()
    slow = []
    try:
        if name == "slow uploaders + readers":
            slow = [faults.SlowUploader(st.port) for _ in range(6)] + [faults.SlowReader(st.port) for _ in range(6)]
            for c in slow:
                c.start()
            for c in slow:
                c.started.wait(30)
        load = faults.Load(st.port, conns=4, max_requests=10 ** 9, cap=seconds, timeout=15).start()
        load.wait_ok(50, 60)
        if name.startswith("kill -9 worker"):
            threading.Thread(target=_kill_worker, args=(st,), daemon=True).start()
        elif name == "harakiri":
            threading.Thread(target=_harakiri, args=(st,), daemon=True).start()
        while load.running():
            time.sleep(0.2)  # the load ends by itself after `seconds`
        return load.stop()
    finally:
        for c in slow:
            c.halt.set()
        st.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(seconds=20):
    cases = ["no fault", "slow uploaders + readers", "kill -9 worker, 1 server", "kill -9 worker, 2 servers",
             "harakiri"]
    print("| case | impl | answered | failed | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        for impl in ("ours", "peers"):
            s = bench_case(impl, case, seconds)
            print("| %s | %s | %d | %d %s | %.1f | %.1f | %.1f |"
                  % (case, "ours" if impl == "ours" else "nginx->uWSGI", s.ok, s.failed,
                     "" if not s.errors else "(%s)" % ", ".join("%s: %d" % kv for kv in s.errors.items()),
                     faults.percentile(s.latencies, 50) * 1e3, faults.percentile(s.latencies, 99) * 1e3,
                     max(s.latencies or [0]) * 1e3), flush=True)


if __name__ == "__main__":
    # a TERM (kill, a timeout) still stops the stack: the finally blocks run
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    if len(sys.argv) >= 2 and sys.argv[1] == "soak":
        sys.exit(soak(float(sys.argv[2]) if len(sys.argv) > 2 else 30, sys.argv[3] if len(sys.argv) > 3 else "ours"))
    if len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(int(sys.argv[2]) if len(sys.argv) > 2 else 20)
        sys.exit(0)
    sys.exit(__doc__)
