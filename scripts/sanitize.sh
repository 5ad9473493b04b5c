#!/usr/bin/env bash
# The suites under sanitizers, against the real servers (scripts/services.sh
# must have started them; scripts/test.sh does):
#   bash scripts/sanitize.sh asan   # AddressSanitizer + UBSan, every test
#   bash scripts/sanitize.sh tsan   # ThreadSanitizer, the concurrent suites
# Any report fails the run: the sanitizers abort the test that made it.
# Extra arguments go to ctest. scripts/test.sh runs both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true

kind=${1:?usage: sanitize.sh asan|tsan [ctest args]}
shift
case "$kind" in
  asan)
    sanitizers="address;undefined"
    targets=()
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0"
    export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/ubsan.supp"
    ;;
  tsan)
    sanitizers="thread"
    # What runs actors concurrently; the adapters' own tests add nothing a
    # data race could hide in that these do not exercise.
    targets=(integration_tests live_tests migration_tests ordering_tests
             node_tests storectl)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp"
    # CAF itself instrumented, so its mailboxes' synchronization is seen.
    caf_lib=$(bash "$root/scripts/caf_tsan.sh")
    ;;
  *)
    echo "sanitize.sh: unknown kind '$kind' (asan or tsan)" >&2
    exit 2
    ;;
esac

build="build-$kind"
started=$(date +%s)
# -O1 -g1: file:line in every report at about half the compile time of
# -O2 -g; assertions stay on.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DSTORAGE_SANITIZE="$sanitizers" -DSTORAGE_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j"$(nproc)" "${targets[@]}"
built=$(date +%s)
if [ "$kind" = tsan ]; then
  export LD_LIBRARY_PATH="$caf_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  set -- -L 'integration_tests|live_tests|migration_tests|ordering_tests|node_tests' "$@"
fi
ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"
echo "sanitize.sh $kind: build $((built - started)) s, tests $(($(date +%s) - built)) s"
