#!/usr/bin/env bash
# The README's test command: installs the dependencies, starts the real
# servers on 127.0.0.1, builds everything (warnings are errors), runs every
# test with ctest (the 2-minute soak included) and then each fuzz target for
# FUZZ_SECONDS (60). Extra arguments go to ctest (e.g. -R conformance; the
# fuzz targets then do not run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
# Let a clone in another folder reuse the compiler cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
bash scripts/services.sh start

build=${STORAGE_BUILD_DIR:-build}
t0=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j"$(nproc)"
t1=$(date +%s)

# Serial on purpose: the fault tests stop and restart the shared servers.
ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"
t2=$(date +%s)
echo "test.sh: build $((t1 - t0)) s, tests $((t2 - t1)) s"

if [ $# -eq 0 ]; then
  bash scripts/fuzz.sh
  echo "test.sh: fuzzing $(($(date +%s) - t2)) s"
fi
