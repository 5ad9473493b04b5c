#!/usr/bin/env bash
# The README's main-job command: installs the dependencies, builds the
# quickstart example and runs it on the embedded defaults (faiss:// and
# sqlite://, no server).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
# Let a clone in another folder reuse the compiler cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
build=${STORAGE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j"$(nproc)" quickstart storectl
"$build/quickstart" "${1:-/tmp/storage-quickstart}"
