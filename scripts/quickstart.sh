#!/usr/bin/env bash
# The main job on a fresh Debian machine: install the packages kiln needs (Fashion-MNIST and
# the Boston table come from Debian packages too), build kiln, and reproduce every
# experiment of the tutorial with the CPU-sized default protocol. The report is written to
# runs/reproduce/REPORT.md. Extra arguments go to `kiln reproduce` (e.g. --full, --device cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_BENCH=OFF
build/kiln reproduce --out runs/reproduce "$@"
echo "report: $(pwd)/runs/reproduce/REPORT.md"
