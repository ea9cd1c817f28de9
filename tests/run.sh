#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the normal and
# the sanitizer (ASan+UBSan) builds, and runs every test in both.
#   tests/run.sh            everything
#   tests/run.sh --fast     normal build only (for quick iterations)
#   tests/run.sh -R REGEX   only the ctest tests matching REGEX
set -euo pipefail
cd "$(dirname "$0")/.."
fast=0
ctest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --fast) fast=1 ;;
    *) ctest_args+=("$1") ;;
    esac
    shift
done

bash deploy/install-deps.sh
unset PYTHONHOME PYTHONPATH

bash deploy/build.sh build
echo "=== tests: normal build"
(cd build && ctest --output-on-failure -j2 --timeout 600 "${ctest_args[@]}")

if [ $fast -eq 0 ]; then
    bash deploy/build.sh build-asan -DSANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    echo "=== tests: sanitizer build (ASan+UBSan)"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
    (cd build-asan && ctest --output-on-failure -j2 --timeout 900 "${ctest_args[@]}")
fi
