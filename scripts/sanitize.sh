#!/usr/bin/env bash
# The suites under sanitizers, against the real servers (scripts/services.sh
# must have started them; scripts/test.sh does):
#   bash scripts/sanitize.sh asan   # AddressSanitizer + UBSan, every test
#   bash scripts/sanitize.sh tsan   # ThreadSanitizer, the concurrent suites
# Any report fails the run: the sanitizers abort the test program that made
# it. Extra arguments select tests as ctest's do (-R, -L); each selected
# program then runs whole. scripts/test.sh runs both.
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
    # What runs actors concurrently (routers and pools under faults, the
    # runtime, live and offline migration, ordering, nodes); the adapters'
    # own tests add nothing a data race could hide in that these do not
    # exercise.
    suites=(server_tests integration_tests live_tests migration_tests
            ordering_tests node_tests)
    targets=("${suites[@]}" storectl)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp"
    # CAF itself instrumented, so its mailboxes' synchronization is seen.
    caf_lib=$(bash "$root/scripts/caf_tsan.sh")
    # Debian's libgomp is not: the barrier that ends a FAISS bulk add's
    # OpenMP team is invisible, so the next add on the calling thread looked
    # like a race with a team thread. OpenMP runs on the calling thread
    # only here; every thread of ours is still checked.
    export OMP_NUM_THREADS=1
    ;;
  *)
    echo "sanitize.sh: unknown kind '$kind' (asan or tsan)" >&2
    exit 2
    ;;
esac

build="build-$kind"
started=$(date +%s)
# -O1 -g1: file:line in every report at about half the compile time of
# -O2 -g; assertions stay on. A unity build (eight sources a compiler run)
# parses CAF's headers an eighth as often.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_UNITY_BUILD=ON \
  -DSTORAGE_SANITIZE="$sanitizers" -DSTORAGE_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j"$(nproc)" "${targets[@]}"
built=$(date +%s)
if [ "$kind" = tsan ]; then
  export LD_LIBRARY_PATH="$caf_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  set -- -L "$(IFS='|'; echo "${suites[*]}")" "$@"
fi
# Each test program runs once, all its tests in one process, where ctest
# would start one process per test: a sanitized process costs about a
# second to start and exit (shadow memory, the leak check), ~850 times.
# The programs ctest would run, in its order, each once:
mapfile -t programs < <(ctest --test-dir "$build" --show-only=json-v1 "$@" |
  python3 -c '
import json, sys
seen = []
for t in json.load(sys.stdin)["tests"]:
    cmd = t.get("command") or []
    if cmd and cmd[0] not in seen:
        seen.append(cmd[0])
for s in seen:
    print(s)')
[ "${#programs[@]}" -gt 0 ] || { echo "sanitize.sh: no tests selected" >&2; exit 1; }
logs="$build/sanitize-logs"
mkdir -p "$logs"
failed=()
for p in "${programs[@]}"; do
  name=$(basename "$p")
  s=$(date +%s)
  # ctest runs them from their own build folder.
  if (cd "$(dirname "$p")" && timeout 3600 "$p" --gtest_brief=1) \
       >"$logs/$name.log" 2>&1; then
    echo "sanitize.sh $kind: $name passed ($(($(date +%s) - s)) s)"
  else
    echo "sanitize.sh $kind: $name FAILED ($(($(date +%s) - s)) s); its output:"
    tail -n 300 "$logs/$name.log"
    failed+=("$name")
  fi
done
echo "sanitize.sh $kind: build $((built - started)) s, tests $(($(date +%s) - built)) s"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "sanitize.sh $kind: failed: ${failed[*]} (logs in $logs)" >&2
  exit 1
fi
