#!/usr/bin/env bash
# Fuzzes every reader of untrusted files with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer: replays the committed seed corpora (fuzz/corpus/<target>), then
# fuzzes each target with memory capped. Fails on any crash, sanitizer report, leak, or
# allocation beyond the cap. New interesting inputs are kept in build-fuzz/corpus (not the
# committed corpora).
#   scripts/fuzz.sh [SECONDS] [TARGET...]       explore: SECONDS (default 60) per target, random seed
#   scripts/fuzz.sh --runs N --seed S [TARGET...]
#                                               reproducible: the same N inputs on every machine
#                                               (what CI runs, so its verdict depends on the code only)
# targets: idx cifar10 csv image safetensors
set -euo pipefail
cd "$(dirname "$0")/.."
budget=(-max_total_time=60)
seed=0  # libFuzzer: 0 picks a random seed
if [[ "${1:-}" == --runs ]]; then
  [[ "${2:-}" =~ ^[0-9]+$ && "${3:-}" == --seed && "${4:-}" =~ ^[0-9]+$ ]] ||
    { echo "usage: scripts/fuzz.sh --runs N --seed S [TARGET...]" >&2; exit 2; }
  budget=(-runs="$2")
  seed=$4
  shift 4
  rm -rf build-fuzz/corpus  # start from the committed corpora only, as a clean clone does
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  budget=(-max_total_time="$1")
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx cifar10 csv image safetensors)

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DKILN_FUZZ=ON \
  -DKILN_WITH_CUDA=OFF -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "${KILN_JOBS:-$(nproc)}" --target $(printf 'fuzz_%s ' "${targets[@]}")

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  bin=build-fuzz/fuzz/fuzz_$t
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  echo "== $t: replaying fuzz/corpus/$t"
  "$bin" -runs=0 fuzz/corpus/$t
  echo "== $t: fuzzing (${budget[*]} -seed=$seed)"
  "$bin" "${budget[@]}" -seed="$seed" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/ \
    "$work" fuzz/corpus/$t 2>&1 | tee "build-fuzz/$t.log" | grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|==.*ERROR|SUMMARY)" || true
  if grep -qE "ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:|SUMMARY: " "build-fuzz/$t.log"; then
    echo "fuzz_$t found a problem; see build-fuzz/$t.log and the crash-* file" >&2
    exit 1
  fi
done
echo "fuzzing passed: ${targets[*]} (${budget[*]} -seed=$seed each)"
