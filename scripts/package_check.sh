#!/usr/bin/env bash
# What a downstream project sees (issue 11): installs the runtime from the
# build directory into a scratch prefix, compiles every installed header on
# its own, builds examples/downstream against the installed CMake package
# and against the pkg-config file, runs both, then builds the .deb with
# cpack, checks what it declares, installs it with dpkg (as root), builds
# and runs examples/downstream against /usr, and removes the package.
#   bash scripts/package_check.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build}
stage=$(mktemp -d /tmp/storage-package.XXXXXX)
installed_deb=0
cleanup() {
  if [ "$installed_deb" = 1 ]; then dpkg -r storage-runtime >/dev/null || true; fi
  rm -rf "$stage"
}
trap cleanup EXIT
say() { echo "package_check: $*"; }

prefix="$stage/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
say "installed into $prefix"

# Every public header compiles by itself against the installed tree only.
(cd "$prefix/include" && find storage -name '*.hpp' | sort) |
  xargs -P"$(nproc)" -I{} sh -c \
    'echo "#include <{}>" | g++ -std=c++17 -fsyntax-only -Werror -x c++ - \
       -I"$1/include" -I"$1/include/storage" || { echo "header {}"; exit 255; }' \
    _ "$prefix"
say "$(find "$prefix/include" -name '*.hpp' | wc -l) headers compile on their own"

run_app() {  # BINARY: runs it on a fresh embedded store, must exit 0
  local dir
  dir=$(mktemp -d "$stage/vec.XXXXXX")
  "$1" "faiss://$dir" "memory://" >"$stage/app.out"
  grep -q "nearest: hello" "$stage/app.out"
}

cmake -S examples/downstream -B "$stage/cmake-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
ninja -C "$stage/cmake-build" >/dev/null
run_app "$stage/cmake-build/downstream_app"
say "examples/downstream builds with find_package(storage_runtime 0.2) and runs"

# shellcheck disable=SC2046
g++ -std=c++17 -o "$stage/pc_app" examples/downstream/main.cpp \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs storage_runtime)
run_app "$stage/pc_app"
say "examples/downstream builds with pkg-config storage_runtime and runs"

(cd "$build" && cpack -B "$stage/deb" >/dev/null)
deb=$(ls "$stage"/deb/storage-runtime_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for needed in libcaf-dev libfaiss-dev libpq-dev libhiredis-dev libc6; do
  case "$depends" in
    *"$needed"*) ;;
    *) say "$deb does not declare $needed: $depends"; exit 1 ;;
  esac
done
say "built $(basename "$deb"), depends: $depends"
if [ "$(id -u)" != 0 ]; then
  say "not root: the .deb is built but not installed"
  exit 0
fi
if dpkg -s storage-runtime >/dev/null 2>&1; then
  say "storage-runtime is already installed here; not touching it"
  exit 1
fi
dpkg -i "$deb" >/dev/null
installed_deb=1
cmake -S examples/downstream -B "$stage/deb-build" -G Ninja >/dev/null
ninja -C "$stage/deb-build" >/dev/null
run_app "$stage/deb-build/downstream_app"
/usr/bin/storectl --version | grep -qx "storectl $(sed -n 's/^#define STORAGE_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' runtime/version.hpp | paste -sd.)"
say "the .deb installs; examples/downstream builds against /usr and runs"
