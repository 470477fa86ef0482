#!/usr/bin/env bash
# Applies .clang-format to every tracked C++ and CUDA file, or with --check lists the files
# that do not match it and fails (CI runs the check). Uses Debian 12's clang-format 14: other
# versions format some constructs differently, so the check insists on that one.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac

tool=""
for candidate in clang-format-14 clang-format; do
  if command -v "$candidate" > /dev/null; then tool="$candidate"; break; fi
done
if [ -z "$tool" ]; then
  echo "format.sh: clang-format not found (scripts/install_deps.sh --dev installs it)" >&2
  exit 1
fi
version="$("$tool" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')"
if [ "$version" != "14" ]; then
  echo "format.sh: $tool is version ${version:-unknown}; kiln's formatting is clang-format 14's" >&2
  exit 1
fi

mapfile -t files < <(git ls-files '*.h' '*.hpp' '*.cpp' '*.cu' '*.cuh')
if [ "$check" -eq 0 ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$tool" -i
  echo "format.sh: formatted ${#files[@]} files"
  exit 0
fi

unformatted=()
for f in "${files[@]}"; do
  "$tool" --dry-run --Werror "$f" > /dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "format.sh: ${#unformatted[@]} of ${#files[@]} files do not match .clang-format (run scripts/format.sh):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "format.sh: all ${#files[@]} files match .clang-format"
