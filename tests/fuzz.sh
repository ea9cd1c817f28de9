#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang, ASan+UBSan) and runs each
# for a bounded time, starting from its saved corpus and the seeds.
#   tests/fuzz.sh                   every harness, FUZZ_SECONDS (default 20) each
#   tests/fuzz.sh 1800              every harness for 30 minutes
#   tests/fuzz.sh 60 fuzz_conf      only the named harnesses
# Environment:
#   FUZZ_SECONDS   seconds per harness when no number is given (default 20)
#   FUZZ_JOBS      harnesses run at once (default 2)
#   FUZZ_BUILD     build folder (default build-fuzz)
#   FUZZ_ARGS      more libFuzzer flags (e.g. "-max_len=65536")
# Where things go, under $FUZZ_BUILD/fuzz/:
#   seeds/NAME/    made by fuzz/seeds.py (corpora + the tests' vectors),
#                  with seeds/NAME.dict, a dictionary, for some
#   corpus/NAME/   the growing corpus, kept between runs
#   crashes/NAME/  crash-*, leak-*, timeout-*, oom-* inputs libFuzzer saved
#   logs/NAME.log  each run's output
# Fails (exit 1) when a harness crashes, leaks, hangs, breaks an invariant
# or does not end in time; the crash file and the command to replay it are
# printed.  Exit 2 for bad arguments or a failed build.
set -euo pipefail
cd "$(dirname "$0")/.."
unset PYTHONHOME PYTHONPATH

ALL=(fuzz_request fuzz_response fuzz_chunked fuzz_uwsgi fuzz_conf fuzz_uwsgi_pass
     fuzz_uwsgi_head)
secs=${FUZZ_SECONDS:-20}
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
case "$secs" in '' | *[!0-9]* | 0)
    echo "fuzz.sh: seconds must be a positive number, not '$secs'" >&2
    exit 2
    ;;
esac
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    [[ " ${ALL[*]} " == *" $n "* ]] || {
        echo "fuzz.sh: no harness '$n' (there are: ${ALL[*]})" >&2
        exit 2
    }
done
jobs_max=${FUZZ_JOBS:-2}
dir=${FUZZ_BUILD:-build-fuzz}

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is missing: apt-get install clang libclang-rt-14-dev" >&2
    exit 2
fi
echo "=== fuzz: building the harnesses in $dir"
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DFUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >/dev/null || exit 2
cmake --build "$dir" -j2 --target fuzz_all >/dev/null || exit 2
out=$dir/fuzz
/usr/bin/python3 fuzz/seeds.py "$out/seeds" || exit 2

# The harnesses' own sanitizer settings, whatever the caller exported
# (tests/run.sh exports LSan suppressions for the programs' tests).
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset LSAN_OPTIONS

run_one() { # NAME: runs it, writes its exit status to logs/NAME.rc
    local n=$1
    mkdir -p "$out/corpus/$n" "$out/crashes/$n" "$out/logs"
    local rc=0 dict=()
    [ ! -f "$out/seeds/$n.dict" ] || dict=(-dict="$out/seeds/$n.dict")
    # the hard bound: libFuzzer stops itself after -max_total_time, a unit
    # running over -timeout is itself a failure (timeout-* file)
    timeout -k 10 $((secs + 120)) "$out/$n" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/crashes/$n/" \
        "${dict[@]}" ${FUZZ_ARGS:-} "$out/corpus/$n" "$out/seeds/$n" >"$out/logs/$n.log" 2>&1 || rc=$?
    echo $rc >"$out/logs/$n.rc"
}

echo "=== fuzz: ${names[*]}, ${secs}s each, $jobs_max at a time"
pids=()
for n in "${names[@]}"; do
    rm -f "$out/logs/$n.rc"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n || true
    done
    run_one "$n" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || true
done

fail=0
for n in "${names[@]}"; do
    log=$out/logs/$n.log
    rc=$(cat "$out/logs/$n.rc" 2>/dev/null || echo "?")
    stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    if [ "$rc" = 0 ]; then
        echo "fuzz: $n: ok: ${stats:-no final line}"
        continue
    fi
    fail=1
    echo "fuzz: $n: FAILED (exit $rc); log: $log"
    grep -E 'invariant broken|ERROR: |SUMMARY: |runtime error' "$log" | head -5 || true
    for f in $(grep -oE "Test unit written to \S+" "$log" | awk '{print $5}'); do
        echo "fuzz: $n: input saved as $f; replay: $out/$n $f"
    done
done
exit $fail
