#!/usr/bin/env bash
# The test command: installs dependencies if missing, builds, and runs every test with ctest.
# CUDA tests skip (they do not fail) on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DKILN_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure -j "${KILN_JOBS:-$(nproc)}"
