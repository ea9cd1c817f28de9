#!/usr/bin/env bash
# Whole-chain benchmark (a benchmark, not a test): proxy with 1 worker in
# front of a gateway with 2 processes running a WSGI app, side by side in one
# run, each chain measured with wrk for a bounded time:
#
#   nginx-uwsgi    nginx 1.22 -> uWSGI 2.0.21, uwsgi_pass on a unix socket (the classic deployment; the baseline)
#   nginx-gunicorn nginx 1.22 -> gunicorn 20.1 (2 sync workers), proxy_pass on a unix socket
#   ours-uwsgi     our proxy -> our gateway, uwsgi_pass on a unix socket
#   ours-http      our proxy -> our gateway, proxy_pass HTTP/1.1 keep-alive on a unix socket
#   nginx-ours     nginx 1.22 -> our gateway, uwsgi_pass on a unix socket (which half gains what)
#
# for the hello-world app (apps/hello) and the Flask sample (apps/flask_app,
# route /hello/bench).  Prints req/s, p50, p99, errors, total RSS of all the
# chain's processes (proxy + gateway, masters and workers, sampled right after
# the load) and the ratios to nginx-uwsgi.  req/s counts only 2xx/3xx
# responses; errors = non-2xx/3xx responses + socket errors (wrk --timeout 5s).  Access logs are off everywhere.
#
#   bench/chain_bench.sh [--duration SECS] [--connections N] [--threads N]
#                        [--apps "hello flask"] [--chains "nginx-uwsgi ours-uwsgi ..."] [--rounds N]
#
# --rounds N runs every chain N times, interleaved, and keeps each chain's
# median round (by req/s): the machine is shared, so noise is real.
# Our chains are left out (with a note) while build/ lacks the binaries.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
unset PYTHONHOME PYTHONPATH
export PYTHONDONTWRITEBYTECODE=1

DURATION=10 CONNS=64 THREADS=1 APPS="hello flask" ROUNDS=1
CHAINS="nginx-uwsgi nginx-gunicorn nginx-ours ours-uwsgi ours-http"
while [ $# -gt 0 ]; do
    case "$1" in
    --duration) DURATION=$2; shift ;;
    --connections) CONNS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --apps) APPS=$2; shift ;;
    --chains) CHAINS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "chain_bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 300 ] || { echo "--duration must be 1..300" >&2; exit 2; }

BUILD=${BUILD_DIR:-$ROOT/build}
PROXY=$BUILD/proxy/proxy GATEWAY=$BUILD/gateway/gateway
for b in /usr/sbin/nginx /usr/bin/uwsgi /usr/bin/gunicorn /usr/bin/wrk; do
    [ -x "$b" ] || { echo "missing $b: bash deploy/install-deps.sh" >&2; exit 1; }
done
have_proxy=1 have_gateway=1
[ -x "$PROXY" ] || have_proxy=0
[ -x "$GATEWAY" ] || have_gateway=0

D=$(mktemp -d /tmp/chain-bench.XXXXXX)
chmod 755 "$D"
export CHAIN_RUN_DIR=$D/appstate
mkdir -p "$CHAIN_RUN_DIR"
PGIDS=()
cleanup() {
    local g
    for g in "${PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # LOG CMD... ; sets $started (pid = process group id)
    local log=$1; shift
    setsid "$@" </dev/null >"$log" 2>&1 &
    started=$!
    PGIDS+=("$started")
}
wait_sock() { # PATH PID LOG
    for _ in $(seq 1 300); do
        [ -S "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || { echo "start-up failed:" >&2; tail -n 20 "$3" >&2; return 1; }
        sleep 0.1
    done
    echo "no socket $1 after 30 s" >&2; tail -n 20 "$3" >&2; return 1
}
wait_port() { # PORT PID LOG
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "start-up failed:" >&2; tail -n 20 "$3" >&2; return 1; }
        sleep 0.1
    done
    echo "port $1 not open after 30 s" >&2; return 1
}
stop_group() { # PGID SIGNAL
    kill -"$2" -- "-$1" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL -- "-$1" 2>/dev/null || true
}
group_rss_kb() { # PGID... -> summed VmRSS of every process in the groups
    local total=0 p kb
    for g in "$@"; do
        for p in $(pgrep -g "$g" 2>/dev/null); do
            kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
            total=$((total + ${kb:-0}))
        done
    done
    echo $total
}

# nginx-style config for the proxy in front; $1 = uwsgi|http|http-close,
# $2 = socket path, $3 = port, $4 = "nginx" or "ours"
write_conf() {
    local mode=$1 sock=$2 port=$3 who=$4 f=$D/$4-$1.conf
    {
        echo "worker_processes 1;"
        # both: root's workers stay root (the scratch folder is 0700)
        [ "$who" = nginx ] && echo "daemon off;"
        echo "user root;"
        echo "error_log $D/$who-error.log warn;"
        echo "pid $D/$who.pid;"
        echo "events { worker_connections 4096; }"
        echo "http {"
        echo "    access_log off;"
        case $mode in
        uwsgi) echo "    upstream app { server unix:$sock; }" ;;
        http) echo "    upstream app { server unix:$sock; keepalive 128; }" ;;  # pool >= the 64 connections
        http-close) echo "    upstream app { server unix:$sock; }" ;;
        esac
        echo "    server {"
        echo "        listen 127.0.0.1:$port;"
        echo "        location / {"
        case $mode in
        uwsgi) echo "            include $ROOT/conf/uwsgi_params;"
               echo "            uwsgi_pass app;" ;;
        http) echo "            proxy_pass http://app;"
              echo "            proxy_http_version 1.1;"
              echo "            proxy_set_header Connection \"\";"
              echo "            proxy_set_header Host \$host;" ;;
        http-close) echo "            proxy_pass http://app;"
                    echo "            proxy_set_header Host \$host;" ;;
        esac
        echo "        }"
        echo "    }"
        echo "}"
    } >"$f"
    echo "$f"
}

# app -> (gateway args, gunicorn app spec, path)
app_args() {
    case $1 in
    hello) WSGI=(--wsgi-file "$ROOT/apps/hello/app.py" --callable application)
           GUNI=(--chdir "$ROOT/apps/hello" app:application); URLPATH=/ ;;
    flask) WSGI=(--pythonpath "$ROOT/apps" --module flask_app.wsgi:app)
           GUNI=(--pythonpath "$ROOT/apps" flask_app.wsgi:app); URLPATH=/hello/bench ;;
    *) echo "unknown app $1" >&2; exit 2 ;;
    esac
}

# Runs one chain for one app; appends "app chain rps p50_ms p99_ms errors rss_kb" to $D/results.
run_chain() {
    local app=$1 chain=$2 port sock gw_pid px_pid conf out rps p50 p99 errs rss
    app_args "$app"
    port=$(free_port)
    sock=$D/$chain.sock
    rm -f "$sock"
    case $chain in
    nginx-uwsgi)
        start "$D/$chain-gw.log" /usr/bin/uwsgi --plugin python3 --master --die-on-term --processes 2 \
            --socket "$sock" --chmod-socket=666 --disable-logging --need-app "${WSGI[@]}"
        gw_pid=$started; wait_sock "$sock" "$gw_pid" "$D/$chain-gw.log"
        conf=$(write_conf uwsgi "$sock" "$port" nginx)
        start "$D/$chain-px.log" /usr/sbin/nginx -p "$D/" -c "$conf" ;;
    nginx-gunicorn)
        start "$D/$chain-gw.log" /usr/bin/gunicorn --workers 2 --worker-class sync --bind "unix:$sock" "${GUNI[@]}"
        gw_pid=$started; wait_sock "$sock" "$gw_pid" "$D/$chain-gw.log"
        conf=$(write_conf http-close "$sock" "$port" nginx)
        start "$D/$chain-px.log" /usr/sbin/nginx -p "$D/" -c "$conf" ;;
    nginx-ours)
        start "$D/$chain-gw.log" "$GATEWAY" --processes 2 --socket "$sock" --disable-logging "${WSGI[@]}"
        gw_pid=$started; wait_sock "$sock" "$gw_pid" "$D/$chain-gw.log"
        conf=$(write_conf uwsgi "$sock" "$port" nginx)
        start "$D/$chain-px.log" /usr/sbin/nginx -p "$D/" -c "$conf" ;;
    ours-uwsgi|ours-http)
        local flag=--socket mode=uwsgi
        [ "$chain" = ours-http ] && flag=--http-socket mode=http
        start "$D/$chain-gw.log" "$GATEWAY" --processes 2 "$flag" "$sock" --disable-logging "${WSGI[@]}"
        gw_pid=$started; wait_sock "$sock" "$gw_pid" "$D/$chain-gw.log"
        conf=$(write_conf "$mode" "$sock" "$port" ours)
        start "$D/$chain-px.log" "$PROXY" -p "$D/" -c "$conf" ;;
    esac
    px_pid=$started
    wait_port "$port" "$px_pid" "$D/$chain-px.log"
    # the request must work before it is timed
    out=$(/usr/bin/python3 -c 'import sys,urllib.request; r=urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status)' \
        "http://127.0.0.1:$port$URLPATH" 2>&1) || { echo "$chain/$app: probe failed: $out" >&2; tail -n 20 "$D/$chain-px.log" "$D/$chain-gw.log" >&2; return 1; }
    wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$port$URLPATH" >/dev/null 2>&1 || true   # warm-up
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "http://127.0.0.1:$port$URLPATH" 2>&1)
    rss=$(group_rss_kb "$gw_pid" "$px_pid")
    echo "$out" >"$D/$app-$chain.wrk"
    # req/s counts good (2xx/3xx) responses only: a fast 502 is not a request served
    rps=$(awk -v d="$DURATION" '/requests in/ {n = $1; t = $4 + 0} /Non-2xx or 3xx/ {bad = $NF}
        END { if (t > 0) printf "%.1f", (n - bad) / t; else print 0 }' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(awk '/Socket errors:/ {gsub(",", ""); s += $4 + $6 + $8 + $10} /Non-2xx or 3xx/ {s += $NF} END {print s + 0}' <<<"$out")
    stop_group "$px_pid" QUIT
    if [ "${chain#nginx-}" = uwsgi ]; then stop_group "$gw_pid" INT; else stop_group "$gw_pid" TERM; fi
    echo "$app $chain ${rps:-0} $(to_ms "${p50:-0}") $(to_ms "${p99:-0}") $errs $rss" >>"$D/results"
}
to_ms() { # wrk latency ("812.00us", "1.23ms", "2.01s") -> ms
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

echo "chain benchmark: $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d${DURATION}s, rounds $ROUNDS, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "versions: $(/usr/sbin/nginx -v 2>&1 | sed 's/.*\///'), uWSGI $(/usr/bin/uwsgi --version), gunicorn $(/usr/bin/gunicorn --version 2>&1 | awk '{print $NF}' | tr -d ')')"
run_chains=()
for c in $CHAINS; do
    case $c in
    ours-*) if [ $have_proxy -eq 0 ] || [ $have_gateway -eq 0 ]; then echo "note: $c left out: $PROXY or $GATEWAY not built"; continue; fi ;;
    nginx-ours) if [ $have_gateway -eq 0 ]; then echo "note: $c left out: $GATEWAY not built"; continue; fi ;;
    nginx-uwsgi|nginx-gunicorn) ;;
    *) echo "unknown chain $c" >&2; exit 2 ;;
    esac
    run_chains+=("$c")
done
: >"$D/results"
for app in $APPS; do
    for r in $(seq 1 "$ROUNDS"); do
        for c in "${run_chains[@]}"; do
            echo "  $app / $c (round $r) ..." >&2
            run_chain "$app" "$c" || echo "$app $c 0 0 0 -1 0" >>"$D/results"
        done
    done
done

# The table: per app and chain the median round by req/s; ratios to nginx-uwsgi.
/usr/bin/python3 - "$D/results" "$CONNS" <<'PY'
import collections, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    app, chain, rps, p50, p99, errs, rss = line.split()
    rows[(app, chain)].append((float(rps), float(p50), float(p99), int(errs), int(rss)))
apps = list(dict.fromkeys(a for a, _ in rows))
for app in apps:
    med = {}
    for (a, c), rs in rows.items():
        if a == app:
            rs.sort()
            med[c] = rs[len(rs) // 2]
    base = med.get("nginx-uwsgi")
    print()
    print("### %s app, %s connections" % (app, sys.argv[2]))
    print()
    print("| chain | req/s | p50 ms | p99 ms | errors | RSS MiB | req/s vs nginx-uwsgi | p99 vs | RSS vs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c, (rps, p50, p99, errs, rss) in med.items():
        if errs < 0:
            print("| %s | failed to start or run | | | | | | | |" % c)
            continue
        def ratio(x, y):
            return "%.2fx" % (x / y) if base and y else "-"
        print("| %s | %.0f | %.2f | %.2f | %d | %.1f | %s | %s | %s |" % (
            c, rps, p50, p99, errs, rss / 1024.0,
            ratio(rps, base[0]) if base else "-", ratio(p99, base[2]) if base else "-",
            ratio(rss, base[4]) if base else "-"))
    if "ours-uwsgi" in med and "ours-http" in med:
        u, h = med["ours-uwsgi"][0], med["ours-http"][0]
        if u > 0 and h > 0:
            print()
            print("Between our proxy and gateway: %s is faster (%.0f vs %.0f req/s, %.2fx)." % (
                "uwsgi_pass" if u >= h else "proxy_pass HTTP keep-alive", max(u, h), min(u, h), max(u, h) / min(u, h)))
PY
