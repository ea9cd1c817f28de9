#!/usr/bin/env bash
# Request body benchmark: our proxy and nginx 1.22, both with request
# buffering on (the default in both), one worker each, the same config
# (HTTP/1.1 keep-alive to the upstream, no access log, the temp folder in
# /tmp), in front of the same upstream: a separate nginx with one worker
# answering `return 200 "ok"` (which reads and drops the body).  wrk POSTs
# bodies of each size; a body up to client_body_buffer_size (16k) stays in
# memory, a larger one goes through a temp file in both proxies.  With -r N
# the proxies take turns N times and the table shows medians.
#
#   bench/reqbody_bench.sh [-d SECONDS] [-c CONNS] [-r ROUNDS] [-s "1024 65536"] [-o OUT.md]
# EXTRA_LOC="proxy_request_buffering off;" adds that text to the location of both.
#
# Not a test (not in ctest): the numbers depend on the machine and its load.
# Everything listens on 127.0.0.1 only; every run is bounded by -d.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR=5
CONNS=32
ROUNDS=1
SIZES="1024 65536"
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
    -d) DUR=$2; shift ;;
    -c) CONNS=$2; shift ;;
    -r) ROUNDS=$2; shift ;;
    -s) SIZES=$2; shift ;;
    -o) OUT=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
unset PYTHONHOME PYTHONPATH
PROXY=${PROXY:-$ROOT/build/proxy/proxy}
NGINX=/usr/sbin/nginx
for b in wrk $NGINX $PROXY; do
    command -v "$b" >/dev/null || { echo "$b is missing" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/reqbody-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "port $1 did not open" >&2
    exit 1
}

UP=$(free_port)
mkdir -p "$WORK/up"
cat >"$WORK/up/nginx.conf" <<EOF
worker_processes 1; daemon off; user root; error_log $WORK/up/error.log; pid $WORK/up/nginx.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $WORK/up/body; client_max_body_size 0;
  server { listen 127.0.0.1:$UP; keepalive_requests 100000; location / { return 200 "ok"; } } }
EOF
$NGINX -p "$WORK/up/" -c "$WORK/up/nginx.conf" -e "$WORK/up/error.log" &
PIDS+=($!)
wait_port "$UP"

# the front proxy's http { } (the same text for both)
front_http() {
    cat <<EOF
  access_log off; client_max_body_size 0; client_body_temp_path $1/body;
  upstream up { server 127.0.0.1:$UP; keepalive 16; }
  server { listen 127.0.0.1:$2; keepalive_requests 100000;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";${EXTRA_LOC:-} } }
EOF
}

echo "impl|size|round|rps|p99" >"$WORK/results"
run_one() { # impl size round
    local impl=$1 size=$2 round=$3 port dir
    port=$(free_port)
    dir=$WORK/$impl-$size-$round
    mkdir -p "$dir"
    {
        echo "worker_processes 1; error_log $dir/error.log; pid $dir/proxy.pid;"
        echo "events { worker_connections 4096; }"
        echo "http {"
        front_http "$dir" "$port"
        echo "}"
    } >"$dir/proxy.conf"
    if [ "$impl" = nginx ]; then
        $NGINX -p "$dir/" -c "$dir/proxy.conf" -e "$dir/error.log" -g "daemon off; user root;" &
    else
        "$PROXY" -p "$dir/" -c "$dir/proxy.conf" &
    fi
    local pid=$!
    PIDS+=($pid)
    wait_port "$port"
    printf 'wrk.method = "POST"\nwrk.body = string.rep("x", %d)\nwrk.headers["Content-Type"] = "application/octet-stream"\n' \
        "$size" >"$dir/post.lua"
    wrk -t1 -c"$CONNS" -d1s -s "$dir/post.lua" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    timeout $((DUR + 30)) wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$dir/post.lua" \
        "http://127.0.0.1:$port/" >"$dir/wrk.txt" 2>&1 || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$dir/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$dir/wrk.txt")
    echo "$impl|$size|$round|${rps:-0}|${p99:--}" >>"$WORK/results"
    echo "  $impl $size B round $round: ${rps:-0} req/s, p99 ${p99:--}" >&2
    if grep -q "Non-2xx\|Socket errors" "$dir/wrk.txt"; then
        grep "Non-2xx\|Socket errors" "$dir/wrk.txt" | sed "s/^/  $impl $size: /" >&2
    fi
}

for r in $(seq 1 "$ROUNDS"); do
    for size in $SIZES; do
        for impl in ours nginx; do
            run_one "$impl" "$size" "$r"
        done
    done
done

/usr/bin/python3 - "$WORK/results" "$DUR" "$CONNS" "$ROUNDS" <<'EOF' | tee ${OUT:+"$OUT"}
import statistics, sys
rows = [l.strip().split("|") for l in open(sys.argv[1]) if not l.startswith("impl")]
dur, conns, rounds = sys.argv[2:5]
def ms(t):
    if t == "-":
        return None
    for suf, k in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if t.endswith(suf):
            return float(t[:-len(suf)]) * k
    return None
print("Request body bench: POST through one proxy worker to an nginx `return 200` upstream, "
      "wrk -c%s for %s s, %s round(s), medians; request buffering on in both.\n" % (conns, dur, rounds))
print("| body | ours req/s | nginx req/s | ratio | ours p99 ms | nginx p99 ms |")
print("|---|---|---|---|---|---|")
for size in sorted({int(r[1]) for r in rows}):
    def med(impl, col):
        v = [x for x in ((float(r[3]) if col == 3 else ms(r[4])) for r in rows
                         if r[0] == impl and int(r[1]) == size) if x is not None]
        return statistics.median(v) if v else 0.0
    o, n = med("ours", 3), med("nginx", 3)
    print("| %d B | %.0f | %.0f | %.2f | %.2f | %.2f |"
          % (size, o, n, o / n if n else 0, med("ours", 4), med("nginx", 4)))
EOF
