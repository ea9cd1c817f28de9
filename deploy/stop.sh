#!/usr/bin/env bash
# Stops what deploy/run.sh started (pid files in ./run/): the proxy first,
# gracefully (QUIT: in-flight requests finish), then the gateway (TERM for
# ours, INT for uWSGI, which reloads on TERM).  Anything still running after
# 30 s is killed with its whole process group.  Safe to run when nothing runs.
# Run as root in a run/ owned by another user, it hands what is left there
# back to that user.
#   deploy/stop.sh [--quiet]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=$ROOT/run
quiet=0
[ "${1:-}" = --quiet ] && quiet=1
say() { [ $quiet -eq 1 ] || echo "$@"; }

[ -d "$RUN" ] || { say "nothing to stop (no run/ folder)"; exit 0; }
gateway_impl=$(cut -d' ' -f2 "$RUN/impl" 2>/dev/null || echo ours)

# A pid counts only if that process still runs in this repository (its
# working folder is $ROOT): a stale pid file never hits an unrelated process.
ours_pid() {
    local pid=$1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$ROOT" ]
}

stop_one() { # NAME SIGNAL PIDFILE...
    local name=$1 sig=$2 pids=() f pid
    shift 2
    for f in "$@"; do
        [ -f "$f" ] || continue
        pid=$(tr -dc '0-9' <"$f")
        if ours_pid "$pid" && [[ ! " ${pids[*]} " =~ " $pid " ]]; then pids+=("$pid"); fi
    done
    if [ ${#pids[@]} -eq 0 ]; then
        rm -f "$@"
        return 0
    fi
    say "stopping $name (pid ${pids[*]}, SIG$sig)"
    for pid in "${pids[@]}"; do kill -"$sig" "$pid" 2>/dev/null; done
    for _ in $(seq 1 300); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop.sh: $name (pid $pid) did not stop within 30 s; killing its process group" >&2
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        fi
    done
    rm -f "$@"
}

# Workers left behind by a master that died: each tree was started in its
# own session (setsid), so its process group id is the spawned pid.
reap_group() { # PGID
    local pgid=$1 p
    [ -n "$pgid" ] || return 0
    for p in $(pgrep -g "$pgid" 2>/dev/null); do
        [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$ROOT" ] && kill -KILL "$p" 2>/dev/null
    done
    return 0
}

pgids=$(cat "$RUN/proxy.spawn.pid" "$RUN/gateway.spawn.pid" 2>/dev/null | tr -dc '0-9\n')
gw_sig=TERM
[ "$gateway_impl" = uwsgi ] && gw_sig=INT   # uWSGI reloads on TERM
stop_one proxy QUIT "$RUN/proxy.pid" "$RUN/proxy.spawn.pid"
stop_one gateway "$gw_sig" "$RUN"/gateway-*.pid "$RUN/gateway.spawn.pid"
for g in $pgids; do reap_group "$g"; done
rm -f "$RUN"/*.sock "$RUN/impl"
# Files the stopped programs created as root in a run/ that belongs to
# another user (www-data, for the systemd units) go back to that owner.
if [ "$(id -u)" -eq 0 ]; then
    owner=$(stat -c %u:%g "$RUN" 2>/dev/null || echo 0:0)
    [ "$owner" = 0:0 ] || chown -R -h "$owner" "$RUN"
fi
exit 0
