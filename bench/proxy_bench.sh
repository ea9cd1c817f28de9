#!/usr/bin/env bash
# Proxy benchmark: our proxy, nginx 1.22 and HAProxy 2.6 (nbthread = the
# worker count, 1 by default), one after the other in one run, with the same
# worker count and an equivalent config (HTTP/1.1 keep-alive to the upstream,
# no access log), in front of the same fast upstream: a separate nginx with
# one worker answering `return 200 "hello"`.  Each is loaded by wrk on
# loopback; then 10,000 idle keep-alive connections are opened to it
# (bench/idle_conns.py: one request each, then idle) and its RSS is read.
# One table: req/s, p50, p99, RSS after the load, RSS at 10k idle keep-alive
# connections, each also as a ratio to nginx.
#
#   bench/proxy_bench.sh [-d SECONDS] [-c CONNS] [-t WRK_THREADS] [-w WORKERS] [-r ROUNDS]
#                        [-i IDLE_CONNS] [-o OUT.md] [--only ours,nginx,haproxy[,ours-yield]]
# (ours-yield: our proxy with `events { yield on; }`, the gateway's way of running its loop)
# With -r N every proxy runs N times, the proxies taking turns (load from
# elsewhere on the machine hits all of them alike); the table shows medians.
# RSS is the sum over the proxy's processes (master + workers), from /proc.
#
# Not a test (not in ctest): the numbers depend on the machine and its load.
# Everything listens on 127.0.0.1 only; every run is bounded by -d.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR=10
CONNS=64
THREADS=1
WORKERS=1
ROUNDS=1
IDLE=10000
OUT=""
ONLY="ours,nginx,haproxy"
while [ $# -gt 0 ]; do
    case "$1" in
    -d) DUR=$2; shift ;;
    -c) CONNS=$2; shift ;;
    -t) THREADS=$2; shift ;;
    -w) WORKERS=$2; shift ;;
    -r) ROUNDS=$2; shift ;;
    -i) IDLE=$2; shift ;;
    -o) OUT=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
unset PYTHONHOME PYTHONPATH
PROXY=${PROXY:-$ROOT/build/proxy/proxy}
NGINX=/usr/sbin/nginx
HAPROXY=/usr/sbin/haproxy
PY=/usr/bin/python3
for b in wrk $NGINX $HAPROXY; do
    command -v "$b" >/dev/null || { echo "$b is missing (bash deploy/install-deps.sh)" >&2; exit 1; }
done
# 10k client sockets + 10k proxy sockets + upstream ones
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((IDLE + 512)) ] || echo "warning: open files limit $(ulimit -n) is low for $IDLE idle connections" >&2
WORK=$(mktemp -d /tmp/proxy-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_pid() {
    local pid=$1
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
}

cleanup() {
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
    local port=$1 pid=$2
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

tree_stat() {  # $1 pid, $2 rss|cpu: VmRSS in KiB, or CPU time in ns (user +
    # system, /proc/PID/schedstat), summed over pid and its descendants
    $PY - "$1" "$2" <<'EOF'
import os, sys
root, what = int(sys.argv[1]), sys.argv[2]
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            st = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        f = st[st.rfind(")") + 2:].split()
        kids.setdefault(int(f[1]), []).append(int(d))
todo, total = [root], 0
while todo:
    p = todo.pop()
    todo.extend(kids.get(p, []))
    try:
        if what == "cpu":
            total += int(open("/proc/%d/schedstat" % p).read().split()[0])
            continue
        for line in open("/proc/%d/status" % p):
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    except OSError:
        pass
print(total)
EOF
}

# --- the upstream: nginx, one worker, return 200 "hello" ----------------------
UP_PORT=$(free_port)
mkdir -p "$WORK/up"
cat >"$WORK/up/up.conf" <<EOF
worker_processes 1;
pid $WORK/up/nginx.pid;
error_log $WORK/up/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$UP_PORT backlog=4096;
        location / { return 200 "hello"; }
    }
}
EOF
setsid $NGINX -p "$WORK/up/" -e "$WORK/up/error.log" -c "$WORK/up/up.conf" -g 'daemon off; master_process on;' \
    >"$WORK/up/out.log" 2>&1 &
UP_PID=$!
PIDS+=("$UP_PID")
wait_port "$UP_PORT" "$UP_PID" || { cat "$WORK/up/out.log" "$WORK/up/error.log"; echo "upstream did not start" >&2; exit 1; }

# --- the proxies ---------------------------------------------------------------
nginx_like_conf() {  # $1 dir, $2 port: the same text for ours and nginx
    cat >"$1/proxy.conf" <<EOF
worker_processes $WORKERS;
pid $1/proxy.pid;
error_log $1/error.log warn;
events { worker_connections $((IDLE + 1024)); }
http {
    access_log off;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    upstream fast {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$2 backlog=4096;
        location / {
            proxy_pass http://fast;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

haproxy_conf() {
    cat >"$1/haproxy.cfg" <<EOF
global
    nbthread $WORKERS
    maxconn $((IDLE + 256))
    # the fd limit may be below HAProxy's 2 x maxconn wish: idle client
    # connections hold no server side, so a warning is enough
    no strict-limits
    pidfile $1/proxy.pid
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 120s
    http-reuse always
frontend fe
    bind 127.0.0.1:$2 backlog 4096
    default_backend be
backend be
    server up 127.0.0.1:$UP_PORT
EOF
}

start_proxy() {  # $1 name, $2 dir, $3 port -> PROXY_PID
    local name=$1 dir=$2 port=$3
    mkdir -p "$dir"
    case "$name" in
    ours|ours-yield)
        nginx_like_conf "$dir" "$port"
        if [ "$name" = ours-yield ]; then  # the gateway's way of running its loop
            sed -i 's/^events { /events { yield on; /' "$dir/proxy.conf"
            grep -q 'yield on' "$dir/proxy.conf" || { echo "ours-yield: could not set yield on" >&2; exit 1; }
        fi
        setsid "$PROXY" -p "$dir/" -c "$dir/proxy.conf" >"$dir/out.log" 2>&1 & ;;
    nginx)
        nginx_like_conf "$dir" "$port"
        setsid $NGINX -p "$dir/" -e "$dir/error.log" -c "$dir/proxy.conf" -g 'daemon off; master_process on;' \
            >"$dir/out.log" 2>&1 & ;;
    haproxy)
        haproxy_conf "$dir" "$port"
        setsid $HAPROXY -W -db -f "$dir/haproxy.cfg" >"$dir/out.log" 2>&1 & ;;
    esac
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    wait_port "$port" "$PROXY_PID"
}

run_one() {  # $1 name, $2 round
    local name=$1 round=$2 dir="$WORK/$1.$2" port
    port=$(free_port)
    if ! start_proxy "$name" "$dir" "$port"; then
        echo "$name did not start:" >&2; tail -5 "$dir/out.log" "$dir/error.log" >&2 2>/dev/null || true
        echo "$name|$round|failed" >>"$WORK/results"; return
    fi
    sleep 0.3
    # warm-up (fills the upstream keep-alive pool), then the measured run
    wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    local cpu0 cpu1; cpu0=$(tree_stat "$PROXY_PID" cpu)
    timeout $((DUR + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$port/" \
        >"$dir/wrk.txt" 2>&1 || true
    cpu1=$(tree_stat "$PROXY_PID" cpu)
    local rss_load; rss_load=$(tree_stat "$PROXY_PID" rss)
    # RSS at $IDLE idle keep-alive connections
    local rss_idle=0 ready="" fifo="$dir/hold"
    mkfifo "$fifo"
    $PY "$ROOT/bench/idle_conns.py" "$port" "$IDLE" 90 120 <"$fifo" >"$dir/idle.txt" 2>&1 &
    local idle_pid=$!
    exec 7>"$fifo"
    for _ in $(seq 900); do
        ready=$(grep -o '^ready.*' "$dir/idle.txt" 2>/dev/null || true)
        [ -n "$ready" ] && break
        kill -0 "$idle_pid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1
    rss_idle=$(tree_stat "$PROXY_PID" rss)
    exec 7>&-
    wait "$idle_pid" 2>/dev/null || true
    stop_pid "$PROXY_PID"
    echo "$name|$round|ok|$rss_load|$rss_idle|$ready|$dir/wrk.txt|$((cpu1 - cpu0))" >>"$WORK/results"
    echo "  $name round $round: $(grep -E 'Requests/sec' "$dir/wrk.txt" | tr -s ' ') ; idle: $ready" >&2
}

names=()
for n in ours ours-yield nginx haproxy; do
    case ",$ONLY," in *",$n,"*) ;; *) continue ;; esac
    if [ "${n%-yield}" = ours ] && [ ! -x "$PROXY" ]; then
        echo "note: $PROXY is not built: ours is left out (bash deploy/build.sh build)" >&2
        continue
    fi
    names+=("$n")
done
: >"$WORK/results"
echo "proxy bench: ${names[*]}; $WORKERS worker(s); wrk -t$THREADS -c$CONNS -d${DUR}s; $IDLE idle conns; $ROUNDS round(s)" >&2
for r in $(seq "$ROUNDS"); do
    # odd rounds in the listed order, even rounds reversed: a drift in the
    # machine's load over the run does not always favour the one that runs first
    order=("${names[@]}")
    if [ $((r % 2)) -eq 0 ]; then
        order=(); for ((i = ${#names[@]} - 1; i >= 0; i--)); do order+=("${names[i]}"); done
    fi
    for n in "${order[@]}"; do run_one "$n" "$r"; done
done

$PY - "$WORK/results" "$WORKERS" "$CONNS" "$DUR" "$IDLE" >"$WORK/table.md" <<'EOF'
import re, statistics, sys
path, workers, conns, dur, idle = sys.argv[1:6]

def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

runs = {}   # name -> {round: measures}
for line in open(path):
    f = line.rstrip("\n").split("|")
    name = f[0]
    runs.setdefault(name, {})
    if f[2] != "ok":
        continue
    txt = open(f[6]).read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", txt)
    n = re.search(r"^\s+(\d+) requests in", txt, re.M)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)", txt, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", txt, re.M)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
    sock = re.search(r"Socket errors: (.*)", txt)
    ready = re.search(r"ready (\d+)", f[5])
    reqs = int(n.group(1)) if n else 0
    runs[name][f[1]] = {
        "rps": float(m.group(1)) if m else 0.0,
        "p50": ms(*p50.groups()) if p50 else float("nan"),
        "p99": ms(*p99.groups()) if p99 else float("nan"),
        "rss": int(f[3]) / 1024.0, "idle": int(f[4]) / 1024.0,
        # CPU of the proxy's processes during the measured load, per request
        "cpu": int(f[7]) / 1000.0 / reqs if reqs else float("nan"),
        "ready": int(ready.group(1)) if ready else 0,
        "bad": (int(errs.group(1)) if errs else 0), "sockerr": sock.group(1) if sock else ""}

KEYS = ("rps", "p50", "p99", "cpu", "rss", "idle", "ready", "bad")
rows = {}
for name, rs in runs.items():
    if rs:
        rows[name] = {k: statistics.median(r[k] for r in rs.values()) for k in KEYS}
        rows[name]["sockerr"] = "; ".join(sorted({r["sockerr"] for r in rs.values() if r["sockerr"]}))
ref = runs.get("nginx", {})
label = {"ours": "ours (build/proxy/proxy)", "ours-yield": "ours, events { yield on; }", "nginx": "nginx 1.22", "haproxy": "HAProxy 2.6 (nbthread %s)" % workers}

def paired(name, k):
    """per-round ratios to nginx (the same round: the same load on the machine)"""
    return [rs[k] / ref[r][k] for r, rs in runs[name].items() if r in ref and ref[r][k]]

def ratio(name, k):
    q = paired(name, k)
    return "%.2f" % statistics.median(q) if q else "-"

nrounds = max(len(rs) for rs in runs.values()) if runs else 0
print("Proxy bench: %s worker(s), wrk %s connections for %s s, upstream nginx `return 200` (1 worker), loopback; "
      "RSS = master + workers; idle = RSS holding %s idle keep-alive connections; CPU = user + system time of the "
      "proxy's processes during the load, per request.%s" % (workers, conns, dur, idle,
      " Values are medians over %d rounds; ratios are medians of the per-round ratios to nginx." % nrounds if nrounds > 1 else ""))
print()
print("| proxy | req/s | p50 ms | p99 ms | CPU us/req | RSS MiB | idle RSS MiB (conns held) | non-2xx | req/s vs nginx | p99 vs nginx | CPU vs nginx | RSS vs nginx | idle RSS vs nginx |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in ("ours", "ours-yield", "nginx", "haproxy"):
    if name not in runs:
        continue
    if name not in rows:
        print("| %s | failed to start | | | | | | | | | | | |" % label[name])
        continue
    r = rows[name]
    print("| %s | %.0f | %.2f | %.2f | %.2f | %.1f | %.1f (%d) | %d | %s | %s | %s | %s | %s |" % (
        label[name], r["rps"], r["p50"], r["p99"], r["cpu"], r["rss"], r["idle"], r["ready"], r["bad"],
        ratio(name, "rps"), ratio(name, "p99"), ratio(name, "cpu"), ratio(name, "rss"), ratio(name, "idle")))
if nrounds > 1:
    print()
    for name in runs:
        if name == "nginx" or not runs[name]:
            continue
        q, l = paired(name, "rps"), paired(name, "p99")
        print("%s vs nginx per round: req/s %s (ahead in %d of %d); p99 %s (at or below in %d of %d)" % (
            label[name], " ".join("%.2f" % x for x in q), sum(x > 1 for x in q), len(q),
            " ".join("%.2f" % x for x in l), sum(x <= 1 for x in l), len(l)))
for name, r in rows.items():
    if r["sockerr"]:
        print("\n%s wrk socket errors: %s" % (name, r["sockerr"]))
EOF
cat "$WORK/table.md"
if [ -n "$OUT" ]; then cp "$WORK/table.md" "$OUT"; fi
