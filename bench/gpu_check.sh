#!/usr/bin/env bash
# The one command for a GPU machine. Runs, in this order, each step under its own time limit
# and all under one deadline:
#   libraries  every program starts: each shared library resolves (CUDA's are looked for
#              where that machine keeps them); stops the check with the missing name if not
#   tests      the CUDA tests (CI runs the CPU ones), launches synchronised so a fault names
#              its op
#   bench      kiln's kernel and end-to-end benchmarks
#   torch      the PyTorch reference on the same GPU, then the kiln / PyTorch table
#   sanitize   compute-sanitizer memcheck over the CUDA tests, racecheck and initcheck over the
#              kernel tests, with the caching allocator off so every tensor has its own bounds
# A step that runs out of time is marked TIMEOUT and the next one still runs; steps the deadline
# leaves no time for are NOT_RUN, and the summary prints the --stages line that runs them.
#
# Usage: bench/gpu_check.sh [--stages tests,bench,torch,sanitize] [--deadline SECONDS] [--quick]
#   --stages    stages (or single steps: tests bench_kernels bench_e2e torch compare memcheck
#               racecheck initcheck) to run; default all. Also KILN_CHECK_STAGES.
#   --deadline  seconds for the whole check (default 540). Also KILN_CHECK_DEADLINE.
#   --quick     shorter benchmarks. Also KILN_CHECK_QUICK=1.
#   KILN_CHECK_TIMEOUTS="tests=300,memcheck=400"  overrides steps' own limits (seconds).
#   KILN_CUDA_LIB_DIRS=dir:dir                     searched first for CUDA's libraries.
# Output, in $OUT (default ./gpu-check-out): status.txt (one line per step), summary.md, and
# gpu-check-logs.tar.gz with every raw log and the benchmark JSON lines; rewritten after each
# step, so a check killed from outside still leaves what it had done.
# Expects the archive of scripts/make_gpu_bundle.sh (gpu-bundle.tar.xz, unpacked here into
# gpu-bundle/) or the unpacked folder; KILN_BUNDLE and KILN_BUNDLE_ARCHIVE name others.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
repo=$(pwd)

usage() { sed -n '/^# Usage:/,/^# Output/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d'; }
die() { echo "gpu_check: $*" >&2; exit 2; }

stages=${KILN_CHECK_STAGES:-tests,bench,torch,sanitize}
deadline=${KILN_CHECK_DEADLINE:-540}
quick=${KILN_CHECK_QUICK:-0}
while [ $# -gt 0 ]; do
  case "$1" in
    --stages) [ $# -ge 2 ] || die "--stages needs a list"; stages=$2; shift 2 ;;
    --stages=*) stages=${1#*=}; shift ;;
    --deadline) [ $# -ge 2 ] || die "--deadline needs seconds"; deadline=$2; shift 2 ;;
    --deadline=*) deadline=${1#*=}; shift ;;
    --quick) quick=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$deadline" =~ ^[0-9]+$ ]] && [ "$deadline" -gt 0 ] || die "--deadline must be a positive number of seconds, got '$deadline'"

# step -> stage, in the order the steps run.
all_steps=(tests bench_kernels bench_e2e torch compare memcheck racecheck initcheck)
declare -A stage_of=([tests]=tests [bench_kernels]=bench [bench_e2e]=bench [torch]=torch [compare]=torch
  [memcheck]=sanitize [racecheck]=sanitize [initcheck]=sanitize)
# Each step's own limit in seconds; the deadline may cut it shorter.
declare -A limit_of=([tests]=180 [bench_kernels]=90 [bench_e2e]=90 [torch]=120 [compare]=30
  [memcheck]=240 [racecheck]=120 [initcheck]=120)
declare -A selected=()
IFS=, read -ra wanted <<<"$stages"
for w in "${wanted[@]}"; do
  w=${w// /}
  [ -z "$w" ] && continue
  known=0
  for s in "${all_steps[@]}"; do
    if [ "$w" = "$s" ] || [ "$w" = "${stage_of[$s]}" ]; then selected[$s]=1; known=1; fi
  done
  [ $known = 1 ] || die "unknown stage or step '$w' (stages: tests bench torch sanitize; steps: ${all_steps[*]})"
done
# The table needs only the lines the benchmarks write; it comes along whenever they run.
[ -n "${selected[bench_kernels]:-}${selected[bench_e2e]:-}" ] && selected[compare]=1
IFS=, read -ra overrides <<<"${KILN_CHECK_TIMEOUTS:-}"
for o in "${overrides[@]}"; do
  [[ "$o" =~ ^([a-z0-9_]+)=([0-9]+)$ ]] && [ -n "${limit_of[${BASH_REMATCH[1]}]:-}" ] ||
    die "KILN_CHECK_TIMEOUTS: expected step=seconds, got '$o'"
  limit_of[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done

start=$(date +%s)
end=$((start + deadline))
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kiln-gpu-check.XXXXXX") || die "cannot create a scratch folder"
status_file=$OUT/status.txt
summary_file=$OUT/summary.md
archive=$OUT/gpu-check-logs.tar.gz
: >"$status_file"
bundle=${KILN_BUNDLE:-gpu-bundle}
bundle_archive=${KILN_BUNDLE_ARCHIVE:-gpu-bundle.tar.xz}
programs=(kiln kiln_tests kiln_bench_kernels kiln_bench_e2e)
q=""
[ "$quick" = 1 ] && q="--quick"
rerun=()

# status.txt: "step STATUS seconds note", one line per step, in run order. The summary and the
# archive are rewritten at once, so a check killed from outside still leaves both.
record() {
  printf '%-14s %-8s %4ss  %s\n' "$1" "$2" "$3" "${4:-}" >>"$status_file"
  printf '== %-14s %-8s %4ss  %s\n' "$1" "$2" "$3" "${4:-}"
  # What a second call should run: steps cut short or left out by the deadline.
  case "$2 ${4:-}" in TIMEOUT* | "NOT_RUN deadline"*) rerun+=("$1") ;; esac
  write_summary
  pack
}

# Packs the scratch folder into the one archive. A runaway log is cut to its head and tail
# first, so the archive stays far below what a file may weigh when it is fetched.
pack() {
  local f
  while IFS= read -r -d '' f; do
    { head -c 2M "$f"; printf '\n... [cut by gpu_check: %s bytes in all] ...\n' "$(stat -c %s "$f")"; tail -c 2M "$f"; } >"$f.cut" &&
      mv "$f.cut" "$f"
  done < <(find "$scratch" -type f -size +6M -print0)
  tar -C "$scratch" -czf "$archive.tmp" . && mv "$archive.tmp" "$archive"
}

# The names of failed tests in a GoogleTest log (each once), and the test a crash stopped in.
failed_tests() {
  grep -E '^\[  FAILED  \] [A-Za-z0-9_/]+\.[A-Za-z0-9_/]+' "$1" | awk '{print $4}' | sed 's/,$//' | sort -u
  if ! grep -q '^\[==========\] .* ran\.' "$1"; then
    local last
    last=$(grep -E '^\[ RUN      \]' "$1" | tail -n 1 | awk '{print $4}')
    [ -n "$last" ] && ! grep -qE "^\[       OK \] $last |^\[  FAILED  \] $last |^\[  SKIPPED \] $last " "$1" &&
      echo "$last (did not finish: the program stopped inside it)"
  fi
}

write_summary() {
  {
    echo "# kiln GPU check"
    echo
    echo "- started: $(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ), took $(($(date +%s) - start)) s of a $deadline s deadline"
    echo "- stages: $stages${q:+ (quick)}"
    [ -s "$scratch/device.txt" ] && sed 's/^/- /' "$scratch/device.txt"
    [ -s "$bundle/MANIFEST.txt" ] && grep -E '^(commit|built|cuda):' "$bundle/MANIFEST.txt" | sed 's/^/- bundle /'
    echo
    echo '## Steps'
    echo '```'
    cat "$status_file"
    echo '```'
    if [ ${#rerun[@]} -gt 0 ]; then
      # Whole stages where every selected step needs a second run, single steps otherwise.
      local st s again=() whole part
      for st in tests bench torch sanitize; do
        whole=1 part=()
        for s in "${all_steps[@]}"; do
          [ "${stage_of[$s]}" = "$st" ] && [ -n "${selected[$s]:-}" ] || continue
          case " ${rerun[*]} " in *" $s "*) part+=("$s") ;; *) whole=0 ;; esac
        done
        [ ${#part[@]} = 0 ] && continue
        if [ $whole = 1 ]; then again+=("$st"); else again+=("${part[@]}"); fi
      done
      echo
      echo "Cut short by the deadline or a step's limit; to run only those: \`bench/gpu_check.sh --stages $(IFS=,; echo "${again[*]}")\`"
    fi
    if [ -s "$scratch/libraries.log" ] && grep -q . "$scratch/libraries.log"; then
      echo
      echo '## Libraries'
      echo '```'
      cat "$scratch/libraries.log"
      echo '```'
    fi
    local log
    for log in tests memcheck racecheck initcheck; do
      [ -s "$scratch/$log.log" ] || continue
      local failed
      failed=$(failed_tests "$scratch/$log.log")
      if [ -n "$failed" ]; then
        echo
        echo "## Failed tests ($log)"
        echo "$failed" | sed 's/^/- /'
      fi
    done
    # Why the other steps failed or stopped: the end of what they wrote to stderr (of their
    # whole output for a test program that names no failed test, as after a crash).
    local step file
    for step in "${all_steps[@]}"; do
      grep -qE "^$step +(FAIL|TIMEOUT) " "$status_file" || continue
      case $step in
        bench_kernels | bench_e2e) file=kiln_${step#bench_}.err ;;
        torch | compare) file=$step.err ;;
        *) file=$step.log; [ -n "$(failed_tests "$scratch/$file" 2>/dev/null)" ] && continue ;;
      esac
      [ -s "$scratch/$file" ] || continue
      echo
      echo "## $step: the end of $file"
      echo '```'
      tail -n 8 "$scratch/$file" | cut -c1-300
      echo '```'
    done
    for log in memcheck racecheck initcheck; do
      [ -s "$scratch/$log.log" ] || continue
      echo
      echo "## $log"
      echo '```'
      grep -m 1 -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$scratch/$log.log" || echo "(no summary line: the tool did not finish)"
      # The first reports, each with the lines that name the kernel and the source line.
      grep -E -A 3 '^========= (Invalid|Uninitialized|Error|Program hit|Race|Warning|Barrier|Out-of-range|Malloc|Cuda)' \
        "$scratch/$log.log" | grep -v 'ERROR SUMMARY' | head -n 40
      echo '```'
    done
    if [ -s "$scratch/compare.md" ]; then
      echo
      echo '## kiln vs PyTorch (same GPU, same call)'
      echo
      cat "$scratch/compare.md"
    fi
    echo
    echo "Raw logs: gpu-check-logs.tar.gz beside this file."
  } >"$summary_file"
}

finished=0
finish() {
  [ $finished = 1 ] && return
  finished=1
  # Steps that never started because the check stopped early.
  local s
  for s in bundle libraries "${all_steps[@]}"; do
    grep -q "^$s " "$status_file" && continue
    if [ -n "${selected[$s]:-}" ] || [ -z "${stage_of[$s]:-}" ]; then
      record "$s" NOT_RUN 0 "${stop_reason:-the check stopped}"
    else
      record "$s" SKIP 0 "not selected"
    fi
  done
  write_summary
  cp "$status_file" "$summary_file" "$scratch/" 2>/dev/null
  pack
  echo
  cat "$summary_file"
  rm -rf "$scratch"
}
trap finish EXIT
trap 'stop_reason="the check was interrupted"; exit 143' TERM INT

# Runs one step: run_step NAME STDOUT STDERR [VAR=value ...] -- COMMAND ARGS...
# The command runs under `timeout` with the step's limit or what is left before the deadline,
# whichever is shorter. KILN_CHECK_STANDIN (for this script's own test) runs instead
# "$KILN_CHECK_STANDIN NAME COMMAND ARGS...", with the step's environment.
step_rc=0
run_step() {
  local name=$1 out=$2 err=$3
  shift 3
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  if [ -z "${selected[$name]:-}" ]; then
    record "$name" SKIP 0 "not selected"
    step_rc=-1
    return
  fi
  local now left limit
  now=$(date +%s)
  left=$((end - now))
  if [ $left -lt 2 ]; then
    record "$name" NOT_RUN 0 "deadline reached"
    step_rc=-1
    return
  fi
  limit=${limit_of[$name]}
  [ $left -lt "$limit" ] && limit=$left
  local cmd=("$@")
  if [ -n "${KILN_CHECK_STANDIN:-}" ]; then
    local standin
    read -ra standin <<<"$KILN_CHECK_STANDIN"
    cmd=("${standin[@]}" "$name" "${cmd[@]}")
  fi
  echo "-- $name (limit ${limit}s): ${cmd[*]}"
  if [ "$out" = "$err" ]; then
    timeout -k 10 "$limit" env "${envs[@]}" "${cmd[@]}" >"$scratch/$out" 2>&1
  else
    timeout -k 10 "$limit" env "${envs[@]}" "${cmd[@]}" >"$scratch/$out" 2>"$scratch/$err"
  fi
  step_rc=$?
  case $step_rc in
    0) step_status=PASS step_note="" ;;
    124 | 137)
      step_status=TIMEOUT
      if [ "$limit" -lt "${limit_of[$name]}" ]; then step_note="stopped at the check's deadline"; else step_note="stopped at its ${limit}s limit"; fi ;;
    *) step_status=FAIL step_note="exit status $step_rc" ;;
  esac
}

# Finishes a GoogleTest step: names the failed tests, and fails a run whose CUDA tests skipped
# for want of a device (on a GPU machine that means kiln does not see the GPU).
finish_gtest_step() {
  local name=$1 log=$scratch/$1.log failed no_device
  [ $step_rc = -1 ] && return
  failed=$(failed_tests "$log")
  no_device=$(grep -c 'no CUDA device available' "$log")
  if [ "$no_device" -gt 0 ] && [ "$step_status" = PASS ]; then
    step_status=FAIL step_note="kiln sees no CUDA device: $no_device tests skipped"
  fi
  [ -n "$failed" ] && step_note="${step_note:+$step_note; }failed: $(echo "$failed" | wc -l)"
  record "$name" "$step_status" "$(($(date +%s) - ${step_start:-$(date +%s)}))" "$step_note"
  [ -n "$failed" ] && echo "$failed" | sed 's/^/   [  FAILED  ] /'
}

# ---------------------------------------------------------------------------------------------
# The bundle and its libraries.

# Python's tarfile reads any compression without an xz or zstd program; tar is the fallback.
unpack() {
  mkdir -p "$2" || return 1
  if command -v python3 >/dev/null; then
    python3 -c 'import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    t.extractall(sys.argv[2], **({"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}))' "$1" "$2"
  else
    tar -xf "$1" -C "$2"
  fi
}

t0=$(date +%s)
if [ -f "$bundle_archive" ] && { [ ! -d "$bundle" ] || [ "$bundle_archive" -nt "$bundle" ]; }; then
  rm -rf "$bundle" && unpack "$bundle_archive" "$bundle" && touch "$bundle" ||
    { record bundle FAIL 0 "could not unpack $bundle_archive"; stop_reason="no bundle"; exit 1; }
fi
for p in "${programs[@]}"; do
  [ -x "$bundle/$p" ] || {
    record bundle FAIL 0 "$bundle/$p missing: run scripts/make_gpu_bundle.sh and carry gpu-bundle.tar.xz"
    stop_reason="no bundle"
    exit 1
  }
done
record bundle PASS $(($(date +%s) - t0)) "$(grep -m 1 '^commit:' "$bundle/MANIFEST.txt" 2>/dev/null)"
bundle=$(cd "$bundle" && pwd)

# Folders where a machine with CUDA may keep its libraries: the toolkit's, and the pip wheels
# PyTorch brings (nvidia-cublas, nvidia-cuda-runtime, nvidia-cudnn-cu13). The loader's cache
# and LD_LIBRARY_PATH are searched anyway.
cuda_lib_dirs() {
  local d
  IFS=: read -ra d <<<"${KILN_CUDA_LIB_DIRS:-}"
  printf '%s\n' "${d[@]}"
  printf '%s\n' /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib \
    /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib
  command -v python3 >/dev/null &&
    timeout 20 python3 -c 'import glob, os, sys
for p in sys.path:
    for d in sorted(glob.glob(os.path.join(p, "nvidia", "*", "lib"))):
        print(d)' 2>/dev/null
}

# Every "NAME => not found" and "version X not found" line the loader gives for the programs.
loader_report() {
  local p
  for p in "${programs[@]}"; do
    if command -v ldd >/dev/null; then ldd "$bundle/$p" 2>&1; else LD_TRACE_LOADED_OBJECTS=1 "$bundle/$p" 2>&1; fi |
      sed "s|^|$p: |"
  done
}

# Whether the loader would find NAME when a program opens it: LD_LIBRARY_PATH, its cache, the
# default folders.
loadable() {
  local dir
  IFS=: read -ra ld_dirs <<<"${LD_LIBRARY_PATH:-}"
  for dir in "${ld_dirs[@]}" /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /lib /usr/lib; do
    [ -n "$dir" ] && [ -e "$dir/$1" ] && return 0
  done
  # (A here-string, not a pipe: grep -q stopping early would fail a long ldconfig under pipefail.)
  [ -n "${ld_cache+set}" ] || ld_cache=$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null)
  grep -qF " $1 (" <<<"$ld_cache"
}

resolve_libraries() {
  local log=$scratch/libraries.log report missing name dir found
  local dirs=()
  mapfile -t dirs < <(cuda_lib_dirs | awk 'NF && !seen[$0]++')
  for _ in 1 2 3 4; do  # each round can reveal what a newly found library needs
    report=$(loader_report)
    missing=$(echo "$report" | awk '$3 == "=>" && $4 == "not" {print $2}' | sort -u)
    found=0
    for name in $missing; do
      for dir in "${dirs[@]}"; do
        if [ -e "$dir/$name" ]; then
          case ":${LD_LIBRARY_PATH:-}:" in *":$dir:"*) ;; *)
            export LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
            echo "$name: found in $dir" >>"$log"
            found=1 ;;
          esac
          break
        fi
      done
    done
    # This machine's C++ runtime is older than the build machine's: use the one carried along.
    if grep -qE "version .(GLIBCXX|CXXABI|GCC)_[0-9.]*. not found" <<<"$report" &&
      case ":${LD_LIBRARY_PATH:-}:" in *":$bundle/lib/fallback:"*) false ;; *) true ;; esac; then
      export LD_LIBRARY_PATH=$bundle/lib/fallback${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      echo "this machine's libstdc++ is older than the build machine's: using the bundle's" >>"$log"
      found=1
    fi
    [ $found = 1 ] || break
  done
  echo "$report" >"$scratch/ldd.txt"
  local problems
  problems=$(echo "$report" | grep -E '=> not found|version .* not found|not a dynamic executable|cannot execute|No such file' |
    sed -E 's/^([a-z_]+):[[:space:]]+/\1 needs /' | sort -u)
  if [ -n "$problems" ]; then
    {
      echo "missing (looked in the bundle's lib/, LD_LIBRARY_PATH, the loader's cache and:"
      printf '  %s\n' "${dirs[@]}"
      echo "):"
      echo "$problems" | sed 's/^/  /'
      echo "Fix: put the folder holding each missing library in KILN_CUDA_LIB_DIRS, or rebuild the bundle (scripts/make_gpu_bundle.sh)."
    } >>"$log"
    # One line a reader sees first: the names of the missing libraries.
    lib_problem=$(echo "$problems" | sed -E 's/ \(0x[0-9a-f]+\)//; s/ => not found//' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
    return 1
  fi
  # Libraries the programs open while running, which the loader's report cannot show: the
  # driver (for the statically linked CUDA runtime) and cuDNN (the baseline and the tests'
  # reference). Missing ones are named in the status line; the steps that need them fail.
  local wanted
  wanted=$(sed -n 's/^loaded at run time: //p' "$bundle/MANIFEST.txt" 2>/dev/null)
  for name in ${wanted:-libcuda.so.1}; do
    loadable "$name" && continue
    for dir in "${dirs[@]}" /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib; do
      if [ -e "$dir/$name" ]; then
        export LD_LIBRARY_PATH=$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        echo "$name: found in $dir" >>"$log"
        break
      fi
    done
    loadable "$name" || lib_warning="${lib_warning:+$lib_warning; }$name not found"
  done
  # Start the programs that have a harmless mode: symbols are bound only when a program runs.
  if ! "$bundle/kiln" --help >"$scratch/kiln-help.txt" 2>&1; then
    lib_problem="kiln --help failed: $(head -c 300 "$scratch/kiln-help.txt" | tr '\n' ' ')"
    return 1
  fi
  if ! KILN_NO_REEXEC=1 "$bundle/kiln_tests" --gtest_list_tests >"$scratch/test-list.txt" 2>&1; then
    lib_problem="kiln_tests --gtest_list_tests failed: $(head -c 300 "$scratch/test-list.txt" | tr '\n' ' ')"
    return 1
  fi
  return 0
}

t0=$(date +%s)
lib_problem="" lib_warning=""
if resolve_libraries; then
  record libraries PASS $(($(date +%s) - t0)) "${lib_warning:+warning: $lib_warning; }LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-(unchanged, empty)}"
else
  record libraries FAIL $(($(date +%s) - t0)) "$lib_problem"
  echo "gpu_check: the programs cannot start on this machine: $lib_problem" >&2
  stop_reason="libraries missing"
  exit 1
fi

# What the results were measured on.
{
  command -v nvidia-smi >/dev/null &&
    timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/GPU: /'
  echo "host: $(nproc) cores, $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}"), $(uname -r)"
} >"$scratch/device.txt"
cat "$scratch/device.txt"

# The test program finds fixtures and the kiln program through these on a machine other than
# the one that built it. (The bundle carries the OpenMP build of OpenBLAS, for which kiln's CPU
# tuning leaves OpenMP's waiting policy alone.)
export KILN_SOURCE_DIR=$repo KILN_BINARY=$bundle/kiln

# ---------------------------------------------------------------------------------------------
# Which tests are CUDA tests: those that name their device (cuda in the device x dtype
# parameters, Cuda/CUDA in suite or test names, cuRAND's and cuDNN's comparisons, graph
# capture and replay), and the few named here that do not. CPU ones run in CI. tests/scripts/
# gpu_check_test.sh fails when a test that asks for a CUDA device is not selected.
cuda_tests='*cuda*:*Cuda*:*CUDA*:*Curand*:*Cudnn*:*Graph*:*Replay*:Conv2d.EmptyBatchGivesZeroWeightGradient:Module.ToMovesParametersInPlace'
# memcheck leaves out what fails on purpose or forks: the host synchronisation inside a capture
# (CUDA reports the refused call, which is the test's point) and the CLI trainings, which start
# the kiln program in child processes; and cuDNN's comparisons, whose time would go to checking
# cuDNN's kernels rather than kiln's.
memcheck_skip='CudaGraph.HostSynchronisationInsideTheCaptureIsAClearError:CliTraining.*:Cli.*:*Cudnn*'
# racecheck and initcheck are slow; they look at the kernels' own tests.
kernel_tests='*Conv2dCuda*:*BatchNormTest*cuda*:*PoolingTest*cuda*:*ReduceTest*cuda*:*ElementwiseTest*cuda*:*GemmTest*cuda*:*IndexTest*cuda*:*AssignSemantics*cuda*:CrossEntropy.Cuda*:Dropout.Cuda*:Optimizer.Cuda*:LabelNoise.Cuda*:MseLoss.Cuda*:DataLoader.Cuda*'

sanitizer=""
for c in "$(command -v compute-sanitizer 2>/dev/null)" /usr/local/cuda/bin/compute-sanitizer \
  /usr/local/cuda/compute-sanitizer/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer; do
  [ -n "$c" ] && [ -x "$c" ] && { sanitizer=$c; break; }
done

# ---------------------------------------------------------------------------------------------
step_start=$(date +%s)
run_step tests tests.log tests.log KILN_SYNC_LAUNCHES=1 -- \
  "$bundle/kiln_tests" --gtest_filter="$cuda_tests" --gtest_color=no
finish_gtest_step tests

for b in kernels e2e; do
  step_start=$(date +%s)
  run_step "bench_$b" "kiln_$b.jsonl" "kiln_$b.err" -- "$bundle/kiln_bench_$b" $q
  [ $step_rc = -1 ] || record "bench_$b" "$step_status" $(($(date +%s) - step_start)) "$step_note"
done

step_start=$(date +%s)
run_step torch torch.jsonl torch.err PYTHONUNBUFFERED=1 -- python3 bench/pytorch_reference.py $q
[ $step_rc = -1 ] || record torch "$step_status" $(($(date +%s) - step_start)) "$step_note"

step_start=$(date +%s)
run_step compare compare.md compare.err -- \
  python3 bench/compare.py "$scratch/kiln_kernels.jsonl" "$scratch/kiln_e2e.jsonl" "$scratch/torch.jsonl"
if [ $step_rc != -1 ]; then
  record compare "$step_status" $(($(date +%s) - step_start)) "$step_note"
  [ -s "$scratch/compare.err" ] && sed 's/^/   /' "$scratch/compare.err" | head -n 10
fi

# The sanitizers: the caching allocator off (exact bounds, fresh memory for initcheck), no CPU
# tuning re-exec (the tool must keep the process it started), API errors not reported (tests
# provoke refused calls on purpose), and a bounded report.
sanitize_env=(KILN_NO_CUDA_CACHING=1 KILN_NO_REEXEC=1)
for tool in memcheck racecheck initcheck; do
  step_start=$(date +%s)
  if [ -n "${selected[$tool]:-}" ] && [ -z "$sanitizer" ] && [ -z "${KILN_CHECK_STANDIN:-}" ]; then
    record "$tool" SKIP 0 "compute-sanitizer not found"
    continue
  fi
  filter=$kernel_tests
  [ $tool = memcheck ] && filter="$cuda_tests:-$memcheck_skip"
  tool_args=(--tool "$tool" --print-limit 50 --error-exitcode 86 --target-processes application-only)
  [ $tool = memcheck ] && tool_args+=(--report-api-errors no --leak-check no)
  run_step "$tool" "$tool.log" "$tool.log" "${sanitize_env[@]}" -- \
    "${sanitizer:-compute-sanitizer}" "${tool_args[@]}" "$bundle/kiln_tests" --gtest_filter="$filter" --gtest_color=no
  if [ $step_rc = 86 ]; then
    step_status=ERRORS step_note=$(grep -m 1 -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$scratch/$tool.log")
  fi
  finish_gtest_step "$tool"
done

failures=$(grep -cE ' (FAIL|ERRORS|TIMEOUT|NOT_RUN) ' "$status_file")
[ "$failures" = 0 ]
