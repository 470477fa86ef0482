#!/usr/bin/env bash
# kiln's CPU training steps beside PyTorch's on the same CPU, in one call, with the same thread
# count: kiln_bench_e2e --device cpu and bench/pytorch_reference.py --device cpu run in
# alternating rounds (so a neighbour's load hits both alike), and bench/cpu_compare.py prints
# the median of each, the spread over rounds and the ratio, plus the resident memory of the
# batch-32 ResNet-18 step. PyTorch is tooling only: it comes from PyPI into a throwaway venv
# unless an existing one is named.
#
# Usage: bench/cpu_compare.sh [--threads N] [--rounds R] [--repeats N] [--build DIR] [--venv DIR] [--out DIR] [--no-reference]
#   --threads  threads for both (OpenMP, OpenBLAS, MKL, torch.set_num_threads); default: nproc
#   --rounds   alternating kiln / PyTorch rounds (default 3)
#   --repeats  timed steps per round and program, after 3 warm-up steps (default 5)
#   --build    the kiln build directory holding bench/kiln_bench_e2e (default build-cpu, else build)
#   --venv     a Python venv with torch and torchvision (also KILN_TORCH_VENV); when it is
#              missing or lacks torch, one is created under --out with pip from PyPI
#   --out      where the raw JSON lines and table go (default: a new temporary directory)
#   --no-reference  skip the third run per round: kiln with KILN_CPU_REFERENCE_KERNELS=1 (the
#              plain reference kernels only, i.e. kiln before its faster CPU variants)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

usage() { sed -n '/^# Usage:/,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "cpu_compare: $*" >&2; exit 2; }

threads=$(nproc)
rounds=3
repeats=5
build=""
venv=${KILN_TORCH_VENV:-}
out=""
reference=1
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) [ $# -ge 2 ] || die "--threads needs a count"; threads=$2; shift 2 ;;
    --rounds) [ $# -ge 2 ] || die "--rounds needs a count"; rounds=$2; shift 2 ;;
    --repeats) [ $# -ge 2 ] || die "--repeats needs a count"; repeats=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || die "--build needs a directory"; build=$2; shift 2 ;;
    --venv) [ $# -ge 2 ] || die "--venv needs a directory"; venv=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --no-reference) reference=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
for v in "$threads" "$rounds" "$repeats"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "counts must be positive integers, got '$v'"
done

if [ -z "$build" ]; then
  for d in build-cpu build; do
    if [ -x "$d/bench/kiln_bench_e2e" ]; then build=$d; break; fi
  done
fi
kiln_bench=${build:-build-cpu}/bench/kiln_bench_e2e
[ -x "$kiln_bench" ] || die "no $kiln_bench: build it first (cmake --build ${build:-build-cpu} --target kiln_bench_e2e)"

out=${out:-$(mktemp -d /tmp/kiln-cpu-compare.XXXXXX)}
mkdir -p "$out"

python=""
if [ -n "$venv" ] && "$venv/bin/python" -c "import torch, torchvision" 2>/dev/null; then
  python=$venv/bin/python
else
  [ -z "$venv" ] || echo "cpu_compare: $venv has no usable torch; making a fresh venv" >&2
  venv=$out/venv
  echo "cpu_compare: installing torch and torchvision from PyPI into $venv (tooling only)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch torchvision
  python=$venv/bin/python
fi

# The same thread count for every library either program uses.
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | head -1)
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $cpu ($(nproc --all) logical CPUs), threads: $threads"
  echo "kiln: commit $commit${dirty:+ (with uncommitted changes)}, $kiln_bench"
  echo "torch: $("$python" -c 'import torch; print(torch.__version__)')"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rounds: $rounds, each $repeats timed steps per program after 3 warm-up steps"
} | tee "$out/header.txt"

only=resnet18_step_b32,mnist_pseudo_label_step,regressor_step_b32
for r in $(seq 1 "$rounds"); do
  if [ "$reference" = 1 ]; then
    echo "round $r/$rounds: kiln, reference kernels" >&2
    KILN_CPU_REFERENCE_KERNELS=1 "$kiln_bench" --device cpu --repeats "$repeats" --only "$only" \
      > "$out/kiln_ref.$r.jsonl" 2> "$out/kiln_ref.$r.err" || echo "cpu_compare: kiln (reference) round $r failed (see $out/kiln_ref.$r.err)" >&2
  fi
  echo "round $r/$rounds: kiln" >&2
  "$kiln_bench" --device cpu --repeats "$repeats" --only "$only" \
    > "$out/kiln.$r.jsonl" 2> "$out/kiln.$r.err" || echo "cpu_compare: kiln round $r failed (see $out/kiln.$r.err)" >&2
  echo "round $r/$rounds: PyTorch" >&2
  PYTHONWARNINGS=ignore "$python" bench/pytorch_reference.py --device cpu --threads "$threads" --repeats "$repeats" \
    > "$out/torch.$r.jsonl" 2> "$out/torch.$r.err" || echo "cpu_compare: PyTorch round $r failed (see $out/torch.$r.err)" >&2
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/header.txt"
echo
status=0
python3 bench/cpu_compare.py "$out" | tee "$out/table.md" || status=$?
echo
echo "raw JSON lines and logs: $out"
exit $status
