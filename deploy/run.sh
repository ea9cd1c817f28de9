#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the
# proxy in front of the gateway carrying a sample app, on 127.0.0.1:8080.
#
#   deploy/run.sh [--app flask|django|hello] [--port N] [--detach] [--peers] [--no-build]
#                 [--proxy ours|nginx] [--gateway ours|uwsgi]
#
#   --app      which sample (default flask): flask  = conf/flask.conf + conf/flask.ini
#              (uwsgi protocol), django = conf/django.conf + conf/django.ini (HTTP on a
#              unix socket, static files served by the proxy), hello = conf/proxy.conf
#              + conf/hello.ini
#   --port     listen on 127.0.0.1:N instead of 8080 (also CHAIN_PORT)
#   --detach   leave everything running and return; stop it with deploy/stop.sh
#   --peers    run the same configs with nginx and uWSGI (from apt) instead of ours
#   --proxy, --gateway  mix: e.g. --proxy nginx runs nginx in front of our gateway
#   --no-build skip deploy/install-deps.sh and deploy/build.sh
#
# Logs, pid files and sockets go to ./run/.  In the foreground, Ctrl-C stops
# everything.  Running it again first stops what a previous run left behind.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN=$ROOT/run
PORT=${CHAIN_PORT:-8080}

app=flask detach=0 proxy_impl=ours gateway_impl=ours build=1
while [ $# -gt 0 ]; do
    case "$1" in
    --app) app=${2:-}; shift ;;
    --app=*) app=${1#--app=} ;;
    --port) PORT=${2:-}; shift ;;
    --port=*) PORT=${1#--port=} ;;
    --detach|-d) detach=1 ;;
    --peers) proxy_impl=nginx gateway_impl=uwsgi ;;
    --proxy) proxy_impl=${2:-}; shift ;;
    --gateway) gateway_impl=${2:-}; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$app" in
flask|django) conf=conf/$app.conf ;;
hello) conf=conf/proxy.conf ;;
*) echo "run.sh: --app must be flask, django or hello (got '$app')" >&2; exit 2 ;;
esac
ini=conf/$app.ini
case "$proxy_impl" in ours|nginx) ;; *) echo "run.sh: --proxy must be ours or nginx" >&2; exit 2 ;; esac
case "$gateway_impl" in ours|uwsgi) ;; *) echo "run.sh: --gateway must be ours or uwsgi" >&2; exit 2 ;; esac
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || { echo "run.sh: bad port '$PORT'" >&2; exit 2; }

die() { echo "run.sh: $*" >&2; exit 1; }

unset PYTHONHOME PYTHONPATH   # the pyenv python on PATH must not leak in
PY=/usr/bin/python3

if [ $build -eq 1 ]; then
    bash deploy/install-deps.sh
    if [ $proxy_impl = ours ] || [ $gateway_impl = ours ]; then
        echo "building (deploy/build.sh) ..."
        mkdir -p "$RUN"
        bash deploy/build.sh >"$RUN/build.log" 2>&1 || { tail -n 30 "$RUN/build.log" >&2; die "build failed (full log: run/build.log)"; }
    fi
fi

PROXY=$ROOT/build/proxy/proxy GATEWAY=$ROOT/build/gateway/gateway
[ $proxy_impl = ours ] || PROXY=/usr/sbin/nginx
[ $gateway_impl = ours ] || GATEWAY=/usr/bin/uwsgi
for b in "$PROXY" "$GATEWAY"; do
    case $b in
    "$ROOT"/*) [ -x "$b" ] || die "$b is missing: run deploy/build.sh (log of the last build: run/build.log); to use nginx or uWSGI in its place: --proxy nginx, --gateway uwsgi" ;;
    *) [ -x "$b" ] || die "$b is missing (bash deploy/install-deps.sh)" ;;
    esac
done

# Idempotent: stop whatever an earlier run left running.
bash "$ROOT/deploy/stop.sh" --quiet
mkdir -p "$RUN"
# run/ keeps one owner.  When root runs this in a run/ that belongs to
# someone else (www-data, after the systemd units ran), what it creates
# there is handed to that owner once the chain runs, so that the services
# can still write their state (the units themselves chown run/ as they start).
run_owner=
if [ "$(id -u)" -eq 0 ]; then
    run_owner=$(stat -c %u:%g "$RUN")
    [ "$run_owner" != 0:0 ] || run_owner=
fi
own_run() { [ -z "$run_owner" ] || chown -R -h "$run_owner" "$RUN"; }

# Port and sockets: refuse clearly rather than fail obscurely.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    who=$(ss -ltnpH "sport = :$PORT" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1)
    die "127.0.0.1:$PORT is already in use${who:+ by $who}; stop it first, or edit 'listen' in $conf"
fi
sock=$(sed -n 's/^[a-z-]*socket *= *//p' "$ini" | head -n 1)
rm -f "$sock"

# The apps keep their state (databases, uploads, keys) in the run folder.
export CHAIN_RUN_DIR=$RUN
# App preparation: Django's database, static files and an admin account.
if [ "$app" = django ]; then
    manage="$PY apps/django_app/manage.py"
    $manage migrate --noinput >"$RUN/django-setup.log" 2>&1 || { cat "$RUN/django-setup.log" >&2; die "manage.py migrate failed"; }
    $manage collectstatic --noinput --clear >>"$RUN/django-setup.log" 2>&1 || { cat "$RUN/django-setup.log" >&2; die "manage.py collectstatic failed"; }
    if [ ! -s "$RUN/django-admin-password" ]; then
        (umask 077; $PY -c 'import secrets; print(secrets.token_urlsafe(12))' >"$RUN/django-admin-password")
        DJANGO_SUPERUSER_PASSWORD=$(cat "$RUN/django-admin-password") \
            $manage createsuperuser --noinput --username admin --email admin@localhost \
            >>"$RUN/django-setup.log" 2>&1 || true  # exists already: keep it
    fi
fi

# The files in conf/ are used as they are.  For another port, and for the
# peers, a copy goes to run/: nginx does not know server_timing and needs its
# MIME types and a socket its `nobody` workers may use.
proxy_conf=$ROOT/$conf
if [ $proxy_impl = nginx ] || [ "$PORT" != 8080 ]; then
    proxy_conf=$RUN/proxy-$app.conf
    sed_args=(-e "s|^\([[:space:]]*listen[[:space:]]*127.0.0.1:\)8080;|\1$PORT;|"
              -e "s|include uwsgi_params;|include $ROOT/conf/uwsgi_params;|")
    if [ $proxy_impl = nginx ]; then
        sed_args+=(-e '/^[[:space:]]*server_timing[[:space:]]/d'
                   -e 's|^http {|http {\n    include /etc/nginx/mime.types;|')
    fi
    sed "${sed_args[@]}" "$conf" >"$proxy_conf"
fi
proxy_cmd=("$PROXY" -p "$ROOT/" -c "$proxy_conf")
# nginx's workers run as nobody unless told otherwise: our gateway leaves
# its socket at the umask's mode, and the scratch folders of tests are 0700
# (ours does the same since it has `user`: when root, workers stay root here)
if [ $proxy_impl = nginx ]; then
    proxy_cmd+=(-g "daemon off; user root;")
elif [ "$(id -u)" = 0 ]; then
    proxy_cmd+=(-g "user root;")
fi
gateway_cmd=("$GATEWAY" --ini "$ini")
if [ $gateway_impl = uwsgi ]; then
    gateway_cmd=("$GATEWAY" --plugin python3 --die-on-term --ini "$ini")
    # uWSGI's http-socket closes after each response without saying so: the
    # proxy's keep-alive pool would reuse a dead connection (a 502 on POST)
    grep -q '^http-socket' "$ini" && gateway_cmd+=(--add-header "Connection: close")
fi
echo "$proxy_impl $gateway_impl $app" >"$RUN/impl"

# Children get their own session so that Ctrl-C reaches only this script,
# which then stops them in order (proxy first, then the gateway).
start() { # NAME LOG CMD...
    local name=$1 log=$2; shift 2
    setsid "$@" </dev/null >>"$log" 2>&1 &
    echo $! >"$RUN/$name.spawn.pid"
}
tail_log() { echo "--- last lines of $1:" >&2; tail -n 25 "$1" >&2; }

# From the first child on, Ctrl-C (or TERM, HUP) stops whatever has started.
stopping=0
on_signal() {
    [ $stopping -eq 1 ] && return
    stopping=1
    echo
    bash "$ROOT/deploy/stop.sh"
    exit 0
}
trap on_signal INT TERM HUP

# From here on no command substitution: Debian's bash 5.2.15 can run the
# Ctrl-C trap while it parses one, and then fails with "unexpected EOF while
# looking for matching `)'" instead of stopping the children (e2e 73 saw it
# 1 run in 8 under load).  Pids are read with `read`, output goes to files.
start gateway "$RUN/gateway-$app.log" "${gateway_cmd[@]}"
read -r gateway_pid <"$RUN/gateway.spawn.pid"
for ((i = 0; i < 300; i++)); do
    [ -S "$sock" ] && break
    kill -0 "$gateway_pid" 2>/dev/null || { tail_log "$RUN/gateway-$app.log"; bash deploy/stop.sh --quiet; die "the gateway exited at start-up"; }
    sleep 0.1
done
[ -S "$sock" ] || { tail_log "$RUN/gateway-$app.log"; bash deploy/stop.sh --quiet; die "the gateway did not open $sock within 30 s"; }

start proxy "$RUN/proxy.log" "${proxy_cmd[@]}"
read -r proxy_pid <"$RUN/proxy.spawn.pid"
for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$proxy_pid" 2>/dev/null || { tail_log "$RUN/proxy.log"; bash deploy/stop.sh --quiet; die "the proxy exited at start-up"; }
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || { tail_log "$RUN/proxy.log"; bash deploy/stop.sh --quiet; die "the proxy did not listen on $PORT within 10 s"; }

# One real request through the whole chain before saying it runs (the
# workers import the app after they start: this also waits for that).
probe_py='
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=60)
    print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print("failed: %s" % e)
'
probe=""
"$PY" -c "$probe_py" "http://127.0.0.1:$PORT/" >"$RUN/probe.out" 2>&1 || true
read -r probe <"$RUN/probe.out" || true
case "$probe" in
2*|3*) ;;
*) tail_log "$RUN/proxy-error.log"; tail_log "$RUN/gateway-$app.log"; bash deploy/stop.sh --quiet
   die "the first request through the chain got: ${probe:-no answer (run/probe.out is empty)}" ;;
esac

own_run
echo
echo "  $app sample running ($proxy_impl proxy, $gateway_impl gateway):  http://127.0.0.1:$PORT/"
[ "$app" = django ] && echo "  admin: http://127.0.0.1:$PORT/admin/  user admin, password in run/django-admin-password"
echo "  logs and pid files: run/   (proxy.log, proxy-access.log, proxy-error.log, gateway-$app.log)"
if [ $detach -eq 1 ]; then
    echo "  stop with: deploy/stop.sh"
    exit 0
fi
echo "  Ctrl-C stops everything"

# Wait until either child dies (then stop the other) or a signal arrives.
while kill -0 "$proxy_pid" 2>/dev/null && kill -0 "$gateway_pid" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
[ $stopping -eq 1 ] && exit 0
echo "run.sh: a process exited unexpectedly; stopping the rest" >&2
tail_log "$RUN/proxy.log"
tail_log "$RUN/gateway-$app.log"
bash "$ROOT/deploy/stop.sh"
exit 1
