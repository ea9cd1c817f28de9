#!/usr/bin/env bash
# Faults under load, ours and nginx 1.22 -> uWSGI in the same run, on the
# same app (tests/apps/fault_app.py), 2 gateways of 2 workers (1 for the
# single-server case), uwsgi_pass.  For each case a normal client (4
# keep-alive connections) runs GETs for SECONDS (default 20) while the fault
# happens; its answers, failures and p50/p99/max latency are printed as a
# markdown table (bench/fault_bench.md records a run):
#   no fault                    the baseline
#   slow uploaders + readers    6 POSTs at 1 byte/s, 6 readers of 5 MiB at 1 KB/s
#   kill -9 worker, 1 server    one gateway worker killed once, single upstream
#   kill -9 worker, 2 servers   the same with two upstream servers
#   harakiri                    one request sleeps past --harakiri 3
#   bench/fault_bench.sh [SECONDS]        (BUILD_DIR: default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fault_bench.sh: SECONDS must be a number" >&2; exit 2; }
unset PYTHONHOME PYTHONPATH
export SRC_DIR=$PWD BUILD_DIR=${BUILD_DIR:-$PWD/build} PYTHONDONTWRITEBYTECODE=1
for b in "$BUILD_DIR/proxy/proxy" "$BUILD_DIR/gateway/gateway" /usr/sbin/nginx /usr/bin/uwsgi; do
    [ -x "$b" ] || { echo "fault_bench.sh: $b is missing (deploy/build.sh, deploy/install-deps.sh)" >&2; exit 1; }
done
echo "# fault bench: $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${seconds} s per case"
exec /usr/bin/python3 tests/e2e/fault_drive.py bench "$seconds"
