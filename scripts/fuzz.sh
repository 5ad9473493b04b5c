#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz/ and runs each
# for FUZZ_SECONDS (default 60) on a temporary copy of its seed corpus
# (fuzz/corpus/<target>/ stays as it is). Fails if any target reports a
# crash, leak, timeout or violated property; a failing input is kept in
# build-fuzz/artifacts/<target>/. Arguments name targets to run (default:
# all), e.g. scripts/fuzz.sh fuzz_store_uri.
#
# FUZZ_JOBS     build parallelism (default 2)
# FUZZ_ROUND    seconds per fuzzer process (default 10; see below)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
build=$root/build-fuzz
all=(fuzz_where_filter fuzz_store_uri fuzz_config_file fuzz_upsert_line
     fuzz_chroma_reply fuzz_pgvector_text fuzz_redis_reply fuzz_record_batch)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

# Longest input per target: enough for every construct, short enough to
# keep each run fast.
max_len() {
  case $1 in
    fuzz_store_uri) echo 512 ;;
    fuzz_where_filter | fuzz_pgvector_text) echo 2048 ;;
    fuzz_chroma_reply) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

# Let a clone in another folder reuse the compiler cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
start=$(date +%s)
CC=clang CXX=clang++ cmake -S . -B "$build" "${generator[@]}" \
  -DSTORAGE_FUZZ=ON -DSTORAGE_BUILD_TESTS=OFF -DSTORAGE_BUILD_BENCH=OFF \
  >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"$jobs"
echo "build: $(($(date +%s) - start)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
  seeds=$root/fuzz/corpus/$t
  corpus=$work/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  cp -r "$seeds"/. "$corpus"/
  dict=()
  [ -f "$root/fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
  log=$work/$t.log
  : >"$log"
  echo "== $t (${seconds} s)"
  t0=$(date +%s)
  rc=0
  runs=0
  # In rounds of FUZZ_ROUND seconds, each a fresh process on the corpus so
  # far: every password a target parses stays remembered for the process's
  # life (messages/secrets.hpp) and makes each later error slower to build.
  while [ "$rc" -eq 0 ]; do
    left=$((seconds - ($(date +%s) - t0)))
    [ "$left" -le 0 ] && break
    round=$((left < ${FUZZ_ROUND:-10} ? left : ${FUZZ_ROUND:-10}))
    "$build/fuzz/$t" -max_total_time="$round" -max_len="$(max_len "$t")" \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "${dict[@]}" "$corpus" "$seeds" >"$log.round" 2>&1 || rc=$?
    cat "$log.round" >>"$log"
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.round" | tail -1)
    runs=$((runs + ${n:-0}))
  done
  elapsed=$(($(date +%s) - t0))
  speed=$((runs / (elapsed > 0 ? elapsed : 1)))
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  line=$(printf '%-20s runs %-10s exec/s %-7s %-22s time %s s' "$t" \
    "$runs" "$speed" "${cov:-cov: ?}" "$elapsed")
  if [ "$rc" -ne 0 ]; then
    cp "$log" "$artifacts/last.log"
    grep -E '^\*\*\* property violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' \
      "$log" | head -5 || true
    echo "   failing input and log: $artifacts/"
    failed+=("$t")
    line="$line  FAILED (exit $rc)"
  fi
  echo "   $line"
  summary+=("$line")
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
