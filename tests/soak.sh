#!/usr/bin/env bash
# Opt-in soak (not run by ctest): MINUTES (default 30) of mixed load through
# proxy -> 2 gateways of 2 workers (tests/apps/fault_app.py), with a fault
# every few seconds in turn: kill -9 of a gateway worker, HUP of the proxy,
# HUP of a gateway, 3 slow uploaders, 3 slow readers, early responses to
# 50 MiB bodies, a harakiri victim.  The RSS and the open fds of every
# process of the stack are summed after a warm-up and at the end (both
# with the load stopped and the fd count settled); the soak fails when
# RSS grew more than 25% + 16 MiB, the open fds more than 16, or a master
# died.  It prints a summary (faults applied, the load's answers and
# failures, p50/p99, RSS and fds at start and end).
#   tests/soak.sh [MINUTES] [ours|peers]      (BUILD_DIR: default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
impl=${2:-ours}
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "soak.sh: MINUTES must be a number, not '$minutes'" >&2; exit 2; }
case "$impl" in ours|peers) ;; *) echo "soak.sh: the stack is ours or peers, not '$impl'" >&2; exit 2 ;; esac
unset PYTHONHOME PYTHONPATH
export SRC_DIR=$PWD BUILD_DIR=${BUILD_DIR:-$PWD/build} PYTHONDONTWRITEBYTECODE=1
exec nice /usr/bin/python3 tests/e2e/fault_drive.py soak "$minutes" "$impl"
