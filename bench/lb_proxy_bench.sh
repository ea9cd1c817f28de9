#!/usr/bin/env bash
# Balancing policies end to end: our proxy and nginx 1.22, one after the
# other, each with one worker and the same config (HTTP/1.1 keep-alive to
# the upstream, no access log), balancing over 4 upstream servers (one
# separate nginx worker answering `return 200 "ok"` on 4 ports), loaded by
# wrk with URIs that vary (a wrk Lua script) so hash policies spread.
# Prints req/s per policy for both and the ratio ours/nginx; policies nginx
# 1.22 lacks (least_time is nginx plus, bounded loads and peak_ewma are
# ours) show only ours.  Not a test: numbers depend on the machine's load.
#
#   bench/lb_proxy_bench.sh [-d SECONDS] [-c CONNS]      (defaults 5, 32)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR=5
CONNS=32
while [ $# -gt 0 ]; do
    case "$1" in
    -d) DUR=$2; shift ;;
    -c) CONNS=$2; shift ;;
    *) echo "usage: $0 [-d SECONDS] [-c CONNS]" >&2; exit 2 ;;
    esac
    shift
done
PROXY=$ROOT/build/proxy/proxy
[ -x "$PROXY" ] || { echo "build first: $PROXY missing" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing (apt-get install wrk)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/lb-proxy-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 did not open" >&2; exit 1
}

# the upstream: one nginx worker, 4 ports
UP=()
for i in 1 2 3 4; do UP+=("$(port)"); done
mkdir -p "$TMP/up/logs"
{
    echo "worker_processes 1; daemon off; master_process off; user root;"
    echo "error_log $TMP/up/error.log; pid $TMP/up/up.pid;"
    echo "events { worker_connections 4096; } http { access_log off; keepalive_requests 1000000;"
    for p in "${UP[@]}"; do echo "server { listen 127.0.0.1:$p; location / { return 200 \"ok\"; } }"; done
    echo "}"
} > "$TMP/up/up.conf"
/usr/sbin/nginx -p "$TMP/up/" -c "$TMP/up/up.conf" &
PIDS+=($!)
for p in "${UP[@]}"; do wait_port "$p"; done

cat > "$TMP/uris.lua" <<'LUA'
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", "/item/" .. (n % 10007) .. "?u=" .. n)
end
LUA

run() { # impl policy-line -> req/s
    local impl=$1 policy=$2 d="$TMP/$1" p
    p=$(port)
    mkdir -p "$d/logs" "$d/conf"
    {
        echo "worker_processes 1; daemon off; master_process on; error_log $d/error.log; pid $d/p.pid;"
        echo "user root;"
        echo "events { worker_connections 4096; } http { access_log off;"
        echo "upstream u { $policy"
        for up in "${UP[@]}"; do echo "server 127.0.0.1:$up;"; done
        echo "keepalive 64; }"
        echo "server { listen 127.0.0.1:$p; location / { proxy_pass http://u;"
        echo "proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }"
    } > "$d/conf/p.conf"
    local bin=$PROXY
    [ "$impl" = nginx ] && bin=/usr/sbin/nginx
    "$bin" -p "$d/" -c "$d/conf/p.conf" > "$d/out.log" 2>&1 &
    local pid=$!
    wait_port "$p"
    wrk -t1 -c"$CONNS" -d1s -s "$TMP/uris.lua" "http://127.0.0.1:$p/" > /dev/null 2>&1 || true
    local rps
    rps=$(wrk -t1 -c"$CONNS" -d"${DUR}s" -s "$TMP/uris.lua" "http://127.0.0.1:$p/" 2>/dev/null |
        awk '/Requests\/sec/ {print $2}')
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "${rps:-0}"
}

printf "%-40s %12s %12s %8s\n" "policy (4 servers, wrk -c$CONNS, ${DUR}s)" "ours req/s" "nginx req/s" "ratio"
while IFS='|' read -r label line both; do
    ours=$(run ours "$line")
    if [ "$both" = both ]; then
        ng=$(run nginx "$line")
        ratio=$(awk -v a="$ours" -v b="$ng" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    else
        ng="-"; ratio="-"
    fi
    printf "%-40s %12s %12s %8s\n" "$label" "$ours" "$ng" "$ratio"
done <<'LIST'
round_robin||both
ip_hash|ip_hash;|both
least_conn|least_conn;|both
hash $request_uri|hash $request_uri;|both
hash $request_uri consistent|hash $request_uri consistent;|both
random|random;|both
random two least_conn|random two least_conn;|both
hash consistent bounded=1.25|hash $request_uri consistent bounded=1.25;|ours
least_time header|least_time header;|ours
peak_ewma|peak_ewma;|ours
LIST
