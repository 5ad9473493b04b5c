#!/usr/bin/env bash
# CAF 0.17.6 built with ThreadSanitizer, from Debian's own source package,
# for scripts/sanitize.sh tsan. Debian's libcaf is not instrumented, so TSan
# cannot see the synchronization inside CAF's mailboxes and reports every
# message hand-off as a race; the TSan run therefore loads these libraries
# instead (LD_LIBRARY_PATH; same version, same SONAME, same configuration
# as Debian's: log level QUIET, no runtime checks). The headers stay
# Debian's. Idempotent: prints the library directory, building it once per
# machine, not per clone: it lives with the compiler cache, outside the
# tree, so a clean clone (CI) does not rebuild CAF.
#   bash scripts/caf_tsan.sh [DIR]
#   (default ${XDG_CACHE_HOME:-~/.cache}/storage-runtime/caf-tsan-0.17.6)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/storage-runtime/caf-tsan-0.17.6}
lib="$out/build/lib"
if [ -f "$lib/libcaf_core.so.0.17.6" ] && [ -f "$lib/libcaf_io.so.0.17.6" ] &&
   [ -f "$lib/libcaf_openssl.so.0.17.6" ]; then
  echo "$lib"
  exit 0
fi
mkdir -p "$out"
if [ ! -d "$out/actor-framework-0.17.6" ]; then
  list=/etc/apt/sources.list.d/bookworm-src.list
  if ! apt-get source --tar-only -qq --print-uris actor-framework=0.17.6-2.1 \
       >/dev/null 2>&1; then
    mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
      grep -v '^\s*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
    [ -n "$mirror" ] || { echo "caf_tsan: no Debian mirror configured" >&2; exit 1; }
    echo "deb-src ${mirror%/} bookworm main" >"$list"
    apt-get update -qq >/dev/null 2>&1 || true
  fi
  (cd "$out" && apt-get source --tar-only -qq actor-framework=0.17.6-2.1 \
     >/dev/null 2>&1 || true)
  tarball="$out/actor-framework_0.17.6.orig.tar.gz"
  [ -f "$tarball" ] || { echo "caf_tsan: cannot fetch CAF 0.17.6's source" >&2; exit 1; }
  tar -xzf "$tarball" -C "$out"
  # GCC 12 needs the include Debian's build adds by patch.
  sed -i 's|#pragma once|#pragma once\n#include <limits>|' \
    "$out/actor-framework-0.17.6/libcaf_io/caf/io/network/receive_buffer.hpp"
fi
export CCACHE_BASEDIR="$out" CCACHE_NOHASHDIR=true
cmake -S "$out/actor-framework-0.17.6" -B "$out/build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_TOOLS=yes \
  -DCAF_NO_PYTHON=yes -DCAF_NO_OPENCL=yes -DCAF_NO_SUMMARY=yes >/dev/null
ninja -C "$out/build" -j"$(nproc)" >/dev/null
echo "$lib"
