#!/usr/bin/env bash
# Installs everything the build, the tests and the benchmarks need, from
# Debian's archive and the npm registry only. Idempotent: a second run checks
# and returns quickly.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format dpkg-dev
  libcaf-dev libfaiss-dev libopenblas-dev libpq-dev libsqlite3-dev sqlite3
  libhiredis-dev libspdlog-dev nlohmann-json3-dev libcurl4-openssl-dev
  libcli11-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev openssl
  postgresql-15 postgresql-server-dev-15 redis-server curl
  clang libfuzzer-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq || true  # a third-party list that cannot be reached is not fatal
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's libfaiss links the reference BLAS unless an optimized one is the
# alternative; OpenBLAS made flat search several times faster here.
blas_alt=$(update-alternatives --list libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -n1 || true)
[ -n "$blas_alt" ] && update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas_alt" >/dev/null
lapack_alt=$(update-alternatives --list liblapack.so.3-x86_64-linux-gnu 2>/dev/null | grep openblas | head -n1 || true)
[ -n "$lapack_alt" ] && update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$lapack_alt" >/dev/null

# pgvector: no bookworm binary; build Debian's trixie source package.
pg_ext=/usr/share/postgresql/15/extension/vector.control
if [ ! -f "$pg_ext" ]; then
  echo "install-deps: building pgvector from Debian source"
  src_list=/etc/apt/sources.list.d/trixie-src.list
  if [ ! -f "$src_list" ]; then
    # The machine's own Debian mirror, whatever it is configured to be.
    mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
      grep -v '^\s*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)
    [ -n "$mirror" ] || { echo "install-deps: no Debian mirror configured" >&2; exit 1; }
    # A deb-src entry only: no trixie binary is ever installed.
    echo "deb-src ${mirror%/} trixie main" >"$src_list"
    apt-get update -qq || true
  fi
  work=$(mktemp -d)
  (cd "$work" && apt-get source -qq pgvector >/dev/null 2>&1 && cd pgvector-*/ &&
    make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null &&
    make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config install >/dev/null)
  rm -rf "$work"
fi

# Chroma's real server is the Rust binary in this npm package; versions after
# 1.0.1 need glibc 2.38+.
command -v npm >/dev/null || { echo "install-deps: node and npm are required for the Chroma server" >&2; exit 1; }
chroma_dir="$root/scripts/chroma"
if [ ! -f "$chroma_dir/node_modules/chromadb-js-bindings-linux-x64-gnu/package.json" ]; then
  echo "install-deps: installing the Chroma server from npm"
  (cd "$chroma_dir" && npm install --no-audit --no-fund --silent >/dev/null)
fi
echo "install-deps: ok"
