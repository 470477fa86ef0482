#!/usr/bin/env bash
# Builds kiln for the GPU machine (CUDA sm_90, Release) here, and copies the programs the GPU
# check needs into gpu-bundle/ (git-ignored), small enough to carry to a lent GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DKILN_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DKILN_BUILD_TESTS=ON -DKILN_BUILD_BENCH=ON
cmake --build build-gpu -j "${KILN_JOBS:-$(nproc)}"
rm -rf gpu-bundle && mkdir -p gpu-bundle
cp build-gpu/kiln build-gpu/tests/kiln_tests build-gpu/bench/kiln_bench_kernels build-gpu/bench/kiln_bench_e2e gpu-bundle/
strip gpu-bundle/* 2>/dev/null || true
du -sh gpu-bundle
