#!/usr/bin/env bash
# Builds kiln for a GPU machine (CUDA sm_90, Release) here and packs the programs that
# bench/gpu_check.sh runs into one archive, gpu-bundle.tar.xz (git-ignored, about 10 MB), small
# enough to carry to a lent GPU machine whose system image differs from this one:
#  - every shared library the programs need, apart from CUDA's and the C/C++ runtime, is
#    copied into lib/ beside them (OpenBLAS with its Fortran runtime, zlib, OpenMP), and the
#    programs look there first: RPATH (not RUNPATH) $ORIGIN/lib, which the loader also uses
#    for those libraries' own needs;
#  - the CUDA runtime is linked statically; cuBLAS (too large to carry) and the driver are
#    found on the GPU machine by gpu_check.sh; libstdc++ and libgcc_s travel in
#    lib/fallback/, used only if that machine's are older than this one's;
#  - CUDA code carries line info, and the programs export their functions (-rdynamic, which
#    compute-sanitizer's host backtraces read), so a report names the kernel's file and line
#    and the host functions; kiln_tests also keeps its full symbol table, the others are
#    stripped of it.
# Usage: scripts/make_gpu_bundle.sh    (KILN_JOBS=N sets the build's parallelism)
set -euo pipefail
cd "$(dirname "$0")/.."
build="build-gpu"
bundle=gpu-bundle
archive=gpu-bundle.tar.xz
programs=("$build/kiln" "$build/tests/kiln_tests" "$build/bench/kiln_bench_kernels" "$build/bench/kiln_bench_e2e")

mkdir -p "$build"
# CMAKE_BUILD_WITH_INSTALL_RPATH: the programs get exactly $ORIGIN/lib, not the build
# machine's library folders (a CUDA folder particular to this machine among them).
# Without the data-parallel backends: NCCL is 218 MB (it cannot travel) and a program linked
# against it would not even start on a machine that lacks it, and the GPU check times kiln's own
# kernels. The NCCL process group is tested on a GPU machine that has NCCL.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DKILN_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DKILN_WITH_MPI=OFF -DKILN_WITH_NCCL=OFF \
  -DKILN_BUILD_TESTS=ON -DKILN_BUILD_BENCH=ON -DCMAKE_CUDA_FLAGS=-lineinfo \
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN/lib' \
  '-DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags -rdynamic' >"$build/configure.log" 2>&1 ||
  { tail -n 20 "$build/configure.log" >&2; echo "make_gpu_bundle: configuring $build failed" >&2; exit 1; }
grep -q 'kiln: CUDA backend ON' "$build/configure.log" ||
  { echo "make_gpu_bundle: no CUDA backend configured (is nvcc on PATH?); the bundle needs it" >&2; exit 1; }
cmake --build "$build" -j "${KILN_JOBS:-$(nproc)}" --target kiln kiln_tests kiln_bench_kernels kiln_bench_e2e
for p in "${programs[@]}"; do
  [ -x "$p" ] || { echo "make_gpu_bundle: $p was not built" >&2; exit 1; }
done

rm -rf "$bundle" "$archive"
mkdir -p "$bundle/lib/fallback"
cp "${programs[@]}" "$bundle/"
strip "$bundle/kiln" "$bundle/kiln_bench_kernels" "$bundle/kiln_bench_e2e"
# kiln_tests keeps its symbol table (host frames of sanitizer reports); debug sections go.
strip --strip-debug "$bundle/kiln_tests"

# Libraries that must come from the GPU machine: the C library family (tied to its kernel and
# loader) and CUDA's (tied to its driver; cuBLAS alone is hundreds of MB).
libc_family='^(linux-vdso|ld-linux|libc|libm|libpthread|libdl|librt|libutil|libresolv)\.so'
cuda_libs='^lib(cuda|cudart|cublas|cublasLt|curand|cufft|cusparse|cusolver|nvrtc|nvJitLink|cudnn[a-z_]*)\.so'
cxx_runtime='^(libstdc\+\+|libgcc_s)\.so'
# The build linked the OpenMP build of OpenBLAS when it is installed (CMakeLists.txt); ldd
# must find that one too, not the system's default libopenblas.
openblas_openmp=/usr/lib/$(gcc -print-multiarch)/openblas-openmp
[ -e "$openblas_openmp/libopenblas.so.0" ] && export LD_LIBRARY_PATH=$openblas_openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
carried=()
for p in "${programs[@]}"; do
  while read -r name _ path _; do
    [[ "$name" =~ $libc_family || "$name" =~ $cuda_libs ]] && continue
    if [[ "$name" =~ $cxx_runtime ]]; then
      cp -L "$path" "$bundle/lib/fallback/$name"
      continue
    fi
    [ -n "$path" ] && [ -f "$path" ] || { echo "make_gpu_bundle: $name (needed by $p) not found here" >&2; exit 1; }
    [ -e "$bundle/lib/$name" ] || { cp -L "$path" "$bundle/lib/$name"; carried+=("$name"); }
  done < <(ldd "$p" | awk '$2 == "=>" {print $1, $2, $3, $4}')
done

# What the check and a reader of its output need to know about this build.
{
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME"), $(ldd --version | sed -n 1p)"
  echo "cuda: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo unknown), architectures 90, -lineinfo"
  echo "newest glibc symbol version needed: $(objdump -T "$bundle"/kiln* "$bundle"/lib/*.so* | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)"
  echo "carried in lib/: ${carried[*]}"
  # Opened with dlopen, so the loader's report does not show them; gpu_check.sh looks for them.
  cudnn_header=$(sed -n 's/^KILN_CUDNN_INCLUDE_DIR:PATH=//p' "$build/CMakeCache.txt")/cudnn_version.h
  cudnn_major=$(sed -n 's/^#define CUDNN_MAJOR \([0-9]*\)/\1/p' "$cudnn_header" 2>/dev/null || true)
  echo "loaded at run time: libcuda.so.1${cudnn_major:+ libcudnn.so.$cudnn_major}"
  echo "from the GPU machine: $(for p in "${programs[@]}"; do ldd "$p"; done | awk '$2 == "=>" {print $1}' |
    grep -E "$cuda_libs" | sort -u | tr '\n' ' ')"
} >"$bundle/MANIFEST.txt"
cat "$bundle/MANIFEST.txt"

# RPATH, not RUNPATH: only RPATH also serves the carried libraries' own needs (libgfortran).
readelf -d "$bundle/kiln_tests" | grep 'RPATH.*\$ORIGIN/lib' >/dev/null ||
  { echo "make_gpu_bundle: kiln_tests has no RPATH \$ORIGIN/lib" >&2; exit 1; }

# xz: a third of gzip's size here (OpenBLAS alone is 36 MB); the check unpacks it with python's
# tarfile, so the GPU machine needs no xz program.
tar -C "$bundle" -cf - . | xz -9 -T0 >"$archive"
echo "$archive: $(du -h "$archive" | cut -f1) (carry it: the GPU check unpacks it into $bundle/)"
