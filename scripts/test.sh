#!/usr/bin/env bash
# The README's test command: installs the dependencies, starts the real
# servers on 127.0.0.1, builds everything (warnings are errors) and runs every
# test with ctest. Extra arguments go to ctest (e.g. -R conformance).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
# Let a clone in another folder reuse the compiler cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
bash scripts/services.sh start

build=${STORAGE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j"$(nproc)"

# Serial on purpose: the fault tests stop and restart the shared servers.
ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"
