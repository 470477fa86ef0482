#!/usr/bin/env bash
# Counts, per kernel, the integer divisions/remainders (64- and 32-bit) and the tensor-core
# MMAs in the PTX that nvcc generates for one CUDA source. A GPU has no integer divider: a
# 64-bit div/rem becomes a ~70-instruction subroutine and a 32-bit one ~20 instructions, so a
# kernel whose inner loop holds many of them is bound by index arithmetic, not by its math.
# The counts are static (instructions in the code, not executed). Needs nvcc, not a GPU.
#   scripts/ptx_index_math.sh kernels/cuda/conv2d.cu [sm_90]
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: scripts/ptx_index_math.sh SOURCE.cu [ARCH]}
arch=${2:-sm_90}
[ -f "$src" ] || { echo "ptx_index_math: no such file: $src" >&2; exit 2; }
ptx=$(mktemp --suffix=.ptx)
trap 'rm -f "$ptx"' EXIT
nvcc -std=c++20 -arch="$arch" -I. --expt-relaxed-constexpr -DKILN_HAS_CUDA=1 -DKILN_SYNC_LAUNCHES=0 -O3 \
  -ptx "$src" -o "$ptx"
awk '
  /^(\.visible[ \t]+)?\.entry/ { name = $0; sub(/.*\.entry[ \t]+/, "", name); sub(/\(.*/, "", name); div[name] = 0; div32[name] = 0; mma[name] = 0; order[++n] = name; next }
  name != "" && /(div|rem)\.[su]64/ { div[name]++ }
  name != "" && /(div|rem)\.[su]32/ { div32[name]++ }
  name != "" && /mma\.sync/ { mma[name]++ }
  END {
    printf "%-6s %-6s %-5s %s\n", "div64", "div32", "mma", "kernel"
    for (i = 1; i <= n; i++) {
      total += div[order[i]]; total32 += div32[order[i]]
      printf "%-6d %-6d %-5d %s\n", div[order[i]], div32[order[i]], mma[order[i]], order[i]
    }
    printf "%-6d %-6d       total (%d kernels)\n", total, total32, n
  }' "$ptx" | c++filt | sed -E 's/kiln::kernels::(cuda::|conv_gemm::)?(\(anonymous namespace\)::)?//g'
