#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the normal and
# the sanitizer (ASan+UBSan) builds, and runs every test in both.
#   tests/run.sh              everything
#   tests/run.sh --fast       normal build only (for quick iterations)
#   tests/run.sh --loaded     everything, with two CPU-bound processes running
#                             beside the tests (a busy machine); they are
#                             stopped when the script ends, however it ends
#   tests/run.sh --timeout N  each test's time limit in seconds (default 600
#                             for the normal build, 900 for the sanitizer
#                             build); the only limit: tests/CMakeLists.txt
#                             sets none
#   tests/run.sh -R REGEX     only the ctest tests matching REGEX
#   tests/run.sh --no-fuzz    without the fuzz step: after the two builds'
#                             tests, each libFuzzer harness runs briefly
#                             (tests/fuzz.sh, FUZZ_SECONDS each, default 10;
#                             not with --fast or a -R filter)
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
fuzz=1
loaded=0
timeout=
ctest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --fast) fast=1 ;;
    --no-fuzz) fuzz=0 ;;
    --loaded) loaded=1 ;;
    --timeout)
        [ $# -ge 2 ] || { echo "run.sh: --timeout needs a number of seconds" >&2; exit 2; }
        timeout=$2
        shift
        ;;
    --timeout=*) timeout=${1#--timeout=} ;;
    *) ctest_args+=("$1") ;;
    esac
    shift
done
case "$timeout" in
'' | *[!0-9]*) [ -z "$timeout" ] || { echo "run.sh: --timeout $timeout: not a number of seconds" >&2; exit 2; } ;;
esac

bash deploy/install-deps.sh
unset PYTHONHOME PYTHONPATH

# --loaded: two busy loops, each bounded (they end by themselves after
# LOAD_SECONDS even if this script is killed with SIGKILL) and killed by id
# when the script exits.
load_pids=()
stop_load() {
    local p
    for p in "${load_pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${load_pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    load_pids=()
}
trap stop_load EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_load() {
    [ $loaded -eq 1 ] || return 0
    local i
    for i in 1 2; do
        timeout "${LOAD_SECONDS:-7200}" sh -c 'while :; do :; done' &
        load_pids+=($!)
    done
    echo "=== load: two CPU-bound processes (${load_pids[*]})"
}

bash deploy/build.sh build
start_load
echo "=== tests: normal build"
(cd build && ctest --output-on-failure -j2 --timeout "${timeout:-600}" "${ctest_args[@]}")
stop_load

if [ $fast -eq 0 ]; then
    bash deploy/build.sh build-asan -DSANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    start_load
    echo "=== tests: sanitizer build (ASan+UBSan)"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
    (cd build-asan && ctest --output-on-failure -j2 --timeout "${timeout:-900}" "${ctest_args[@]}")
    stop_load
fi

# A short, bounded fuzz run of every harness (crash files stay in
# build-fuzz/fuzz/crashes/); tests/fuzz.sh runs them as long as asked.
if [ $fast -eq 0 ] && [ $fuzz -eq 1 ] && [ ${#ctest_args[@]} -eq 0 ]; then
    echo "=== fuzz: each harness ${FUZZ_SECONDS:-10}s"
    FUZZ_SECONDS=${FUZZ_SECONDS:-10} bash tests/fuzz.sh
fi
