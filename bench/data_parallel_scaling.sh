#!/usr/bin/env bash
# Data-parallel scaling on the CPU: kiln_bench_data_parallel as one process with one OpenMP
# thread, as one process using every core, and under mpirun as 2 processes of one thread
# each (the per-process batch fixed, so 2 processes train twice the samples per step), with the
# gradients averaged after backward and overlapped with it.
# Each configuration runs `repeats` times; one JSON line per run, then the machine's load.
# Usage: bench/data_parallel_scaling.sh [BUILD_DIR] [repeats] [steps]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
steps=${3:-20}
bench="$build/bench/kiln_bench_data_parallel"
[ -x "$bench" ] || { echo "data_parallel_scaling: $bench not built" >&2; exit 1; }
cores=$(nproc)
mpirun_flags=(--allow-run-as-root --oversubscribe)
for r in $(seq "$repeats"); do
  OMP_NUM_THREADS=1 "$bench" --steps "$steps"
  OMP_NUM_THREADS=$cores "$bench" --steps "$steps"
  OMP_NUM_THREADS=1 mpirun "${mpirun_flags[@]}" -np 2 "$bench" --steps "$steps"
  OMP_NUM_THREADS=1 mpirun "${mpirun_flags[@]}" -np 2 "$bench" --steps "$steps" --overlap
done
echo "{\"cores\": $cores, \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
