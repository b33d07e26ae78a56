#!/usr/bin/env bash
# Build lwm, compress and the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, in
# build-asan/, -DLWM_SANITIZE=ON) and run the whole unit-test suite there. Fails on any test failure, memory
# error, leak or undefined behaviour (each aborts the process that hit it, with its stack on stderr). See
# docs/design.md, "Sanitizers".
#
# Usage: tools/sanitize.sh [extra ctest arguments, e.g. -R Tokenizer]
#
# Environment: LWM_PYTHON (the python whose torch to build against and which runs the tests' exports; default
# .venv/bin/python, as tools/setup.sh), LWM_JOBS (build and test jobs; default nproc), LWM_BUILD_LOCK (a file to
# flock around the build, for machines that share one). Needs what tools/setup.sh installs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0; }

PYTHON="${LWM_PYTHON:-$ROOT/.venv/bin/python}"
JOBS="${LWM_JOBS:-$(nproc)}"
torch_cmake="$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')"

printf '\n==> Configuring build-asan/ (ASan + UBSan)\n'
cmake -S . -B build-asan -G Ninja -DLWM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DCMAKE_PREFIX_PATH="$torch_cmake" -DLWM_PYTHON="$PYTHON"
printf '\n==> Building\n'
if [[ -n "${LWM_BUILD_LOCK:-}" ]]; then
  flock "$LWM_BUILD_LOCK" cmake --build build-asan -j"$JOBS"
else
  cmake --build build-asan -j"$JOBS"
fi

# detect_leaks: LeakSanitizer at each process's exit, with LibTorch's own known leaks suppressed
# (tools/sanitize.supp). The python processes the tests start are not instrumented and ignore these settings.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:check_initialization_order=1:strict_init_order=1"
export LSAN_OPTIONS="suppressions=$ROOT/tools/sanitize.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
printf '\n==> Running the unit tests under ASan + UBSan (ctest)\n'
ctest --test-dir build-asan --output-on-failure -j"$JOBS" --timeout 2700 "$@"
