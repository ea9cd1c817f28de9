#!/usr/bin/env bash
# Gateway benchmark: our gateway, uWSGI 2.0.21 (--http-socket, and
# --http11-socket for reference) and gunicorn 20.1 (sync workers), one after
# the other in one run, same worker count, same hello-world app
# (apps/hello/app.py), loaded by wrk with 64 keep-alive connections.
# One table: req/s, p50, p99, wrk timeouts and errors, RSS per worker, and
# each row's req/s ratio to uWSGI (--http-socket) and to gunicorn.
#
#   bench/gateway_bench.sh [-d SECONDS] [-c CONNS] [-t WRK_THREADS] [-p PROCESSES] [-r ROUNDS]
#                          [-o OUT.md] [--only ours,uwsgi,uwsgi11,gunicorn]
# With -r N every server runs N times, the servers taking turns (so load from
# elsewhere on the machine hits all of them alike); the table shows medians.
#
# Not a test (not in ctest): the numbers depend on the machine and its load.
# Servers listen on 127.0.0.1 only; every run is bounded by -d.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR=10
CONNS=64
THREADS=2
PROCS=2
OUT=""
ROUNDS=1
ONLY="ours,uwsgi,uwsgi11,gunicorn"
while [ $# -gt 0 ]; do
    case "$1" in
    -d) DUR=$2; shift ;;
    -c) CONNS=$2; shift ;;
    -t) THREADS=$2; shift ;;
    -p) PROCS=$2; shift ;;
    -o) OUT=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -r) ROUNDS=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
unset PYTHONHOME PYTHONPATH
GATEWAY=${GATEWAY:-$ROOT/build/gateway/gateway}
UWSGI=/usr/bin/uwsgi
GUNICORN=/usr/bin/gunicorn
APP=$ROOT/apps/hello/app.py
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -f "$APP" ] || { echo "$APP is missing" >&2; exit 1; }
WORK=$(mktemp -d /tmp/gateway-bench.XXXXXX)
SERVER_PID=""

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -INT "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

children() { # worker pids of the master
    ps -o pid= --ppid "$SERVER_PID" 2>/dev/null | tr -d ' ' || true
}

rss_per_worker_kib() {
    local total=0 n=0 r
    for p in $(children); do
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        total=$((total + ${r:-0})); n=$((n + 1))
    done
    [ $n -gt 0 ] && echo $((total / n)) || echo 0
}

fairness_probe() { # port: the slowest first answer of $CONNS connections opened at once
    /usr/bin/python3 - "$1" "$CONNS" <<'PY'
import socket, sys, time, selectors
port, n = int(sys.argv[1]), int(sys.argv[2])
sel, socks, t0, done = selectors.DefaultSelector(), [], {}, {}
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    socks.append(s)
for s in socks:
    t0[s] = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
end = time.monotonic() + 5
while len(done) < n and time.monotonic() < end:
    for k, _ in sel.select(0.1):
        if k.fileobj not in done:
            try:
                if k.fileobj.recv(65536):
                    done[k.fileobj] = time.monotonic() - t0[k.fileobj]
            except OSError:
                pass
print("%.3f s" % max(done.values()) if len(done) == n else "%d/%d unanswered after 5 s" % (n - len(done), n))
PY
}

wait_ready() { # port
    for _ in $(seq 200); do
        if curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/"; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

run_one() { # name, then the server command (with PORT substituted)
    local name=$1 round=$ROUND; shift
    local port; port=$(free_port)
    local args=("${@//PORT/$port}")
    echo "=== $name (round $round): ${args[*]}" >&2
    setsid "${args[@]}" >"$WORK/$name.server.log" 2>&1 &
    SERVER_PID=$!
    if ! wait_ready "$port"; then
        echo "$name did not start; see its log:" >&2
        tail -20 "$WORK/$name.server.log" >&2
        echo "$name|failed to start" >>"$WORK/results"
        stop_server
        return 0
    fi
    wrk -t "$THREADS" -c "$CONNS" -d 2s --timeout 2s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true # warm-up
    local fair; fair=$(fairness_probe "$port")
    wrk -t "$THREADS" -c "$CONNS" -d "${DUR}s" --timeout 2s --latency "http://127.0.0.1:$port/" \
        >"$WORK/$name.$round.wrk" 2>&1 || true
    local rss; rss=$(rss_per_worker_kib)
    local nworkers; nworkers=$(children | wc -l)
    cat "$WORK/$name.$round.wrk" >&2
    echo "$name|ok|$rss|$nworkers|$WORK/$name.$round.wrk|$fair" >>"$WORK/results"
    stop_server
    sleep 1
}

: >"$WORK/results"
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for ROUND in $(seq "$ROUNDS"); do
    if want ours; then
        if [ -x "$GATEWAY" ]; then
            run_one ours "$GATEWAY" --http-socket 127.0.0.1:PORT --wsgi-file "$APP" --processes "$PROCS" \
                --disable-logging
        elif [ "$ROUND" = 1 ]; then
            echo "ours|not built ($GATEWAY)" >>"$WORK/results"
        fi
    fi
    if want uwsgi; then
        run_one uwsgi "$UWSGI" --plugin python3 --master --die-on-term --http-socket 127.0.0.1:PORT \
            --wsgi-file "$APP" --processes "$PROCS" --disable-logging
    fi
    if want uwsgi11; then
        run_one uwsgi11 "$UWSGI" --plugin python3 --master --die-on-term --http11-socket 127.0.0.1:PORT \
            --wsgi-file "$APP" --processes "$PROCS" --disable-logging
    fi
    if want gunicorn; then
        run_one gunicorn "$GUNICORN" --workers "$PROCS" --worker-class sync --bind 127.0.0.1:PORT \
            --chdir "$(dirname "$APP")" app:application
    fi
done

/usr/bin/python3 - "$WORK/results" "$DUR" "$CONNS" "$PROCS" "$OUT" "$ROUNDS" <<'EOF'
import re, statistics, sys, subprocess
results, dur, conns, procs, out, rounds = sys.argv[1:7]
labels = {"ours": "ours (gateway --http-socket)", "uwsgi": "uWSGI 2.0.21 --http-socket",
          "uwsgi11": "uWSGI 2.0.21 --http11-socket", "gunicorn": "gunicorn 20.1 sync"}

def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n if u == "ms" else n * 1000 if u == "s" else n * 60000

rows = []
for line in open(results):
    f = line.rstrip("\n").split("|")
    row = {"name": f[0], "status": f[1]}
    if f[1] == "ok":
        row["rss"], row["workers"], row["fair"] = int(f[2]), int(f[3]), f[5]
        txt = open(f[4]).read()
        m = re.search(r"Requests/sec:\s+([\d.]+)", txt)
        row["rps"] = float(m.group(1)) if m else 0.0
        for p in ("50", "99"):
            m = re.search(r"^\s+%s%%\s+(\S+)" % p, txt, re.M)
            row["p" + p] = ms(m.group(1)) if m else None
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", txt)
        c, r, w, t = map(int, m.groups()) if m else (0, 0, 0, 0)
        row["timeouts"] = t
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
        row["errors"] = "connect %d, read %d, write %d, non-2xx %d" % (c, r, w, int(m.group(1)) if m else 0)
        m = re.search(r"(\d+) requests in", txt)
        row["requests"] = int(m.group(1)) if m else 0
    rows.append(row)

# one row per server: medians over the rounds (the run with the median req/s
# gives the error counts and the fairness probe), RSS the largest seen
merged, order = {}, []
for r in rows:
    if r["name"] not in merged:
        order.append(r["name"])
    merged.setdefault(r["name"], []).append(r)
rows = []
for name in order:
    runs = [r for r in merged[name] if r["status"] == "ok"]
    if not runs:
        rows.append(merged[name][0])
        continue
    runs.sort(key=lambda r: r["rps"])
    mid = dict(runs[(len(runs) - 1) // 2])
    mid["rps"] = statistics.median(r["rps"] for r in runs)
    for k in ("p50", "p99"):
        vals = [r[k] for r in runs if r[k] is not None]
        mid[k] = statistics.median(vals) if vals else None
    mid["timeouts"] = max(r["timeouts"] for r in runs)
    mid["rss"] = max(r["rss"] for r in runs)
    mid["all_rps"] = [round(r["rps"]) for r in runs]
    rows.append(mid)

base = {r["name"]: r.get("rps") for r in rows if r.get("rps")}

def ratio(r, other):
    b = base.get(other)
    return "%.2f×" % (r["rps"] / b) if b and r.get("rps") is not None else "–"

cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = ["Gateway benchmark: hello world (apps/hello/app.py), %s processes each, wrk %s connections, %s s, "
         "timeout 2 s; %s CPUs, machine shared, servers take turns, %s round(s), medians shown "
         "(wrk timeouts: the worst round)." % (procs, conns, dur, cpu, rounds), "",
         "| server | req/s | p50 ms | p99 ms | wrk timeouts | wrk errors | RSS/worker MiB | slowest of %s first answers | vs uWSGI | vs gunicorn |" % conns,
         "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
for r in rows:
    label = labels.get(r["name"], r["name"])
    if r["status"] != "ok":
        lines.append("| %s | %s | | | | | | | | |" % (label, r["status"]))
        continue
    f = lambda v: "%.2f" % v if v is not None else "–"
    lines.append("| %s | %.0f | %s | %s | %d | %s | %.1f | %s | %s | %s |" % (
        label, r["rps"], f(r["p50"]), f(r["p99"]), r["timeouts"], r["errors"], r["rss"] / 1024.0,
        r["fair"], ratio(r, "uwsgi"), ratio(r, "gunicorn")))
lines += ["", "Targets: ours ≥ 1.5× uWSGI --http-socket, ≥ 3× gunicorn, zero wrk timeouts, "
          "p99 ≤ both, RSS per worker ≤ uWSGI's.  uWSGI --http11-socket holds one keep-alive "
          "connection per worker, so with 64 connections most wait (see the fairness column; wrk only "
          "measures the connections that get served): its numbers are not comparable.  wrk read errors on "
          "uWSGI --http-socket are its connection closes after each response (no keep-alive)."]
if rounds != "1":
    lines += ["", "req/s per round: " + "; ".join("%s %s" % (r["name"], r.get("all_rps", "–")) for r in rows)]
text = "\n".join(lines)
print(text)
if out:
    with open(out, "w") as fh:
        fh.write(text + "\n")
EOF
