#!/usr/bin/python3
"""Head-of-line blocking behind a keep-alive pool: one slow request among
short GETs.

Each chain runs in the same invocation, one after the other, with the same
load: wrk (2 threads, 32 connections, 10 s, --latency) asks for a short GET
("/") through the front proxy, and 2 s in one request sleeping 8 s
(/sleep?s=8) is sent beside it; the gateway has 4 workers and --harakiri 5,
so that request gets 504 at 5 s.  Reported per chain: the GETs' req/s, p50,
p99 and max latency, how many GETs took 1 s or more ("stuck": they waited
for the sleeping app although 3 workers were free), non-2xx answers, and
the slow request's own status.

Chains:
  ours-pool-nohandoff  our proxy -> our gateway, proxy_pass HTTP/1.1 with an
                       upstream keepalive pool, --idle-handoff 0 (the fault)
  ours-pool            the same with the default --idle-handoff (100 ms)
  nginx-pool-ours      nginx 1.22, the same keep-alive pool -> our gateway
                       (default hand-off): the fix does not depend on the proxy
  nginx-uwsgi          nginx 1.22 -> uWSGI 2.0.21, uwsgi_pass on a unix socket
                       (no pool: a fresh connection per request, the shared
                       accept queue balances)
  ours-uwsgi           our proxy -> our gateway, uwsgi_pass (no pool)

Not a test: the numbers depend on the machine.  Usage:
  bench/hol_bench.py [-d SECONDS] [-c CONNS] [-r ROUNDS] [--chains a,b,...]
"""
import argparse
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATEWAY = os.path.join(ROOT, "build", "gateway", "gateway")
PROXY = os.path.join(ROOT, "build", "proxy", "proxy")
NGINX = "/usr/sbin/nginx"
UWSGI = "/usr/bin/uwsgi"
CHAINS = ["ours-pool-nohandoff", "ours-pool", "nginx-pool-ours", "nginx-uwsgi", "ours-uwsgi"]

APP = '''
import time
def application(environ, start_response):
    if environ["PATH_INFO"] == "/sleep":
        time.sleep(float(environ["QUERY_STRING"].split("=")[1]))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
'''

# wrk's done(): one parseable line
LUA = '''
done = function(summary, latency, requests)
    io.write(string.format("RESULT %d %d %d %.3f %.3f\\n",
        summary.requests, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(99) / 1000, latency.max / 1000))
end
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_connect(addr, proc, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("exited early, see %s:\n%s" % (log, open(log).read()[-2000:]))
        try:
            if isinstance(addr, str):
                s = socket.socket(socket.AF_UNIX)
                s.connect(addr)
            else:
                s = socket.create_connection(("127.0.0.1", addr), timeout=1)
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("%s did not open" % addr)


PROBES = 4  # probe connections beside wrk


class Probe(threading.Thread):
    """One keep-alive client asking for "/" back to back, timing each
    request itself (wrk's histogram corrects for coordinated omission, so it
    cannot say how many requests actually waited)."""

    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop, self.lat, self.errors = port, stop, [], 0
        self.start()

    def run(self):
        c = None
        while not self.stop.is_set():
            try:
                if c is None:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                t0 = time.perf_counter()
                c.request("GET", "/")
                r = c.getresponse()
                r.read()
                ms = (time.perf_counter() - t0) * 1000
                if r.status != 200:
                    self.errors += 1
                self.lat.append(ms)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                c = None


def pct(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))]


def proxy_conf(tmp, who, mode, sock, port):
    lines = ["worker_processes 1;", "error_log %s/%s-error.log warn;" % (tmp, who),
             "pid %s/%s.pid;" % (tmp, who)]
    if who.startswith("nginx"):
        lines += ["daemon off;", "user root;"]
    lines += ["events { worker_connections 4096; }", "http {", "  access_log off;"]
    if mode == "pool":
        lines.append("  upstream app { server unix:%s; keepalive 64; }" % sock)
    else:
        lines.append("  upstream app { server unix:%s; }" % sock)
    lines += ["  server {", "    listen 127.0.0.1:%d;" % port, "    location / {"]
    if mode == "pool":
        lines += ["      proxy_pass http://app;", "      proxy_http_version 1.1;",
                  '      proxy_set_header Connection "";', "      proxy_read_timeout 30s;"]
    else:
        lines += ["      include %s/conf/uwsgi_params;" % ROOT, "      uwsgi_pass app;",
                  "      uwsgi_read_timeout 30s;"]
    lines += ["    }", "  }", "}"]
    path = os.path.join(tmp, "%s-%s.conf" % (who, mode))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run_chain(chain, tmp, args):
    sock = os.path.join(tmp, chain + ".sock")
    port = free_port()
    app = os.path.join(tmp, "app.py")
    procs = []
    logs = []

    def start(argv, name):
        log = os.path.join(tmp, "%s-%s.log" % (chain, name))
        logs.append(log)
        p = subprocess.Popen(argv, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=tmp)
        procs.append((p, name))
        return p, log

    try:
        common = ["--processes", "4", "--harakiri", "5", "--disable-logging",
                  "--wsgi-file", app]
        if chain == "nginx-uwsgi":
            gw, log = start([UWSGI, "--plugin", "python3", "--master", "--die-on-term",
                             "--need-app", "--socket", sock, "--chmod-socket=666"] + common, "gw")
        else:
            flag = "--socket" if chain == "ours-uwsgi" else "--http-socket"
            extra = ["--idle-handoff", "0"] if chain == "ours-pool-nohandoff" else []
            gw, log = start([GATEWAY, flag, sock] + common + extra, "gw")
        wait_connect(sock, gw, log)
        os.chmod(sock, 0o666)
        who = "nginx" if chain.startswith("nginx") else "ours"
        mode = "pool" if "pool" in chain else "uwsgi"
        conf = proxy_conf(tmp, who + "-" + chain, mode, sock, port)
        if who == "nginx":
            px, log = start([NGINX, "-p", tmp + "/", "-c", conf], "px")
        else:
            px, log = start([PROXY, "-p", tmp + "/", "-c", conf], "px")
        wait_connect(port, px, log)
        url = "http://127.0.0.1:%d" % port
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            assert r.status == 200
        # warm-up fills the pool
        subprocess.run(["wrk", "-t2", "-c%d" % args.c, "-d2s", url + "/"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        slow = {}

        def sleeper():
            time.sleep(2)
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(url + "/sleep?s=8", timeout=30) as r:
                    slow["status"] = r.status
            except urllib.error.HTTPError as e:
                slow["status"] = e.code
            except Exception as e:  # a reset or a timeout is a result too
                slow["status"] = type(e).__name__
            slow["secs"] = time.monotonic() - t0

        stop = threading.Event()
        probes = [Probe(port, stop) for _ in range(PROBES)]
        t = threading.Thread(target=sleeper)
        t.start()
        out = subprocess.run(["wrk", "-t2", "-c%d" % args.c, "-d%ds" % args.d, "--timeout", "20s",
                              "-s", os.path.join(tmp, "stuck.lua"), url + "/"],
                             capture_output=True, text=True).stdout
        stop.set()
        for pr in probes:
            pr.join()
        t.join()
        lat = sorted(x for pr in probes for x in pr.lat)
        perr = sum(pr.errors for pr in probes)
        line = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
        if not line:
            sys.exit("%s: wrk said:\n%s" % (chain, out))
        n, non2xx, sockerr, p99, mx = line[0].split()[1:]
        return {"chain": chain, "rps": int(n) / args.d, "non2xx": int(non2xx),
                "sockerr": int(sockerr), "p99": float(p99), "max": float(mx),
                "slow": slow.get("status"), "slow_s": slow.get("secs", 0),
                "pn": len(lat), "pp50": pct(lat, 50), "pp99": pct(lat, 99),
                "pmax": lat[-1] if lat else 0, "pstuck": sum(1 for x in lat if x >= 1000),
                "perr": perr}
    finally:
        for p, name in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGINT if name == "gw" and chain == "nginx-uwsgi"
                              else signal.SIGTERM)
        for p, _ in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-d", type=int, default=10, help="seconds of load per chain")
    ap.add_argument("-c", type=int, default=32, help="wrk connections")
    ap.add_argument("--chains", default=",".join(CHAINS))
    ap.add_argument("-r", type=int, default=1, help="rounds (all chains once per round)")
    args = ap.parse_args()
    for b in (GATEWAY, PROXY):
        if not os.access(b, os.X_OK):
            sys.exit("build first: %s missing" % b)
    tmp = tempfile.mkdtemp(prefix="hol-bench-")
    os.chmod(tmp, 0o755)
    with open(os.path.join(tmp, "app.py"), "w") as f:
        f.write(APP)
    with open(os.path.join(tmp, "stuck.lua"), "w") as f:
        f.write(LUA)
    rows = []
    try:
        for chain in [c for _ in range(args.r) for c in args.chains.split(",")]:
            rows.append(run_chain(chain, tmp, args))
            r = rows[-1]
            print("%-20s wrk: %6.0f req/s p99 %7.1f ms max %6.0f ms non-2xx %3d sock-err %3d | "
                  "probes: %5d req p50 %5.1f p99 %6.1f max %6.0f ms >=1s %3d err %2d | "
                  "slow: %s at %.1f s"
                  % (r["chain"], r["rps"], r["p99"], r["max"], r["non2xx"], r["sockerr"],
                     r["pn"], r["pp50"], r["pp99"], r["pmax"], r["pstuck"], r["perr"],
                     r["slow"], r["slow_s"]), flush=True)
    finally:
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
