#!/usr/bin/env bash
# Build lwm (tools/setup.sh) and run every test with CTest.
#
# Usage: tools/test.sh [--no-install] [extra ctest arguments, e.g. -R Tokenizer]
#
#   --no-install  passed to tools/setup.sh: do not touch apt
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

setup_args=()
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --no-install) setup_args+=("$arg") ;;
    -h | --help)
      sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) ctest_args+=("$arg") ;;
  esac
done

"$ROOT/tools/setup.sh" ${setup_args[@]+"${setup_args[@]}"}

printf '\n==> Running tests (ctest)\n'
ctest --test-dir build --output-on-failure -j2 --timeout 900 ${ctest_args[@]+"${ctest_args[@]}"}
