#!/usr/bin/env bash
# Installs the Debian packages kiln needs to build, test and run its experiments; with --dev
# also clang, its sanitizer/libFuzzer runtime (for scripts/fuzz.sh and scripts/sanitize.sh) and
# clang-format (scripts/format.sh).
# Idempotent; uses sudo when not run as root. The CUDA toolkit is optional and not installed
# here: when nvcc is on PATH the CUDA backend is built as well (with NCCL when the toolkit
# has it). OpenMPI launches data-parallel runs and carries their collectives on CPUs.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libopenblas-dev libopenblas-openmp-dev zlib1g-dev libjpeg62-turbo-dev nlohmann-json3-dev libcli11-dev libstb-dev fonts-dejavu-core
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist python3-sklearn
)
if [ "${1:-}" = "--dev" ]; then
  packages+=(clang libclang-rt-14-dev clang-format)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all packages present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install_deps: installing ${missing[*]}"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
