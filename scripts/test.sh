#!/usr/bin/env bash
# The README's test command: installs the dependencies, starts the real
# servers on 127.0.0.1, builds everything (warnings are errors), runs every
# test with ctest (the 2-minute soak included), checks the installed package
# (scripts/package_check.sh), runs each fuzz target for FUZZ_SECONDS (30),
# then the whole suite again under AddressSanitizer + UBSan and the
# concurrent suites under ThreadSanitizer (scripts/sanitize.sh). Extra
# arguments go to ctest (e.g. -R conformance); the later parts then do not
# run. Each part's time is printed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
# Let a clone in another folder reuse the compiler cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
bash scripts/services.sh start

build=${STORAGE_BUILD_DIR:-build}
times=()
t0=$(date +%s)
lap() {  # NAME: records the time since the last lap
  local now
  now=$(date +%s)
  times+=("$1 $((now - t0)) s")
  t0=$now
}
report() { (IFS=,; echo "test.sh: ${times[*]}"); }
trap report EXIT

# A unity build (eight sources a compiler run, as in sanitize.sh) parses
# CAF's headers an eighth as often: a fresh machine, whose compiler cache is
# empty, builds in about half the time.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_UNITY_BUILD=ON >/dev/null
ninja -C "$build" -j"$(nproc)"
lap build
# Serial on purpose: the fault tests stop and restart the shared servers.
ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"
lap tests
[ $# -eq 0 ] || exit 0

bash scripts/package_check.sh "$build"
lap package
# A part that passed leaves no verdict in its tree, only gigabytes of
# objects (ccache keeps what a rerun needs); removing them keeps the peak
# disk use of a run to the main tree plus the TSan trees. A failed part
# stops here first and keeps its tree (crash inputs, sanitizer logs).
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/fuzz.sh
rm -rf build-fuzz
lap fuzzing
bash scripts/sanitize.sh asan
rm -rf build-asan
lap asan
bash scripts/sanitize.sh tsan
lap tsan
