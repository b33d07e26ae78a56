#!/usr/bin/env bash
# Set up a Debian 12 machine for lwm and build it.
#
# Usage: tools/setup.sh [--no-install] [--demo]
#
#   --no-install  do not touch apt (the packages are already there, or you manage them yourself)
#   --demo        after building, run tools/demo.sh (fine-tune and evaluate a small BERT on SST-2)
#
# Environment:
#   LWM_CMAKE_ARGS  extra arguments for the CMake configure step (CI: -DLWM_WERROR=ON;
#                   an upstream LibTorch: -DCMAKE_PREFIX_PATH=/path/to/libtorch)
#
# Idempotent: apt is skipped when every package is already installed, and the build is incremental.
# Works from any directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

INSTALL=1
DEMO=0
for arg in "$@"; do
  case "$arg" in
    --no-install) INSTALL=0 ;;
    --demo) DEMO=1 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

log() { printf '\n==> %s\n' "$*"; }

PACKAGES=(
  cmake ninja-build g++
  libtorch-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev libicu-dev libpcre2-dev
  libsentencepiece-dev sentencepiece
  libopenblas0-openmp libtcmalloc-minimal4
  python3-torch python3-numpy
)

# Run a command as root (directly when we are root, through sudo otherwise).
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup.sh: '$*' needs root and sudo is not available" >&2
    return 1
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == "installed" ]]
}

# ---------------------------------------------------------------------------------------------- apt
if [[ "$INSTALL" -eq 1 ]]; then
  missing=()
  if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${PACKAGES[@]}"; do
      is_installed "$pkg" || missing+=("$pkg")
    done
  else
    echo "setup.sh: dpkg-query not found; this script expects Debian 12 (use --no-install elsewhere)" >&2
    exit 1
  fi
  if [[ "${#missing[@]}" -eq 0 ]]; then
    log "All Debian packages already installed; skipping apt"
  else
    log "Installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
  fi

  # ------------------------------------------------------------------------------ BLAS -> OpenBLAS
  # Debian's libtorch links the generic libblas.so.3; the reference BLAS is much slower than OpenBLAS.
  multiarch="$(uname -m)-linux-gnu"
  for lib in libblas.so.3 liblapack.so.3; do
    target="/usr/lib/${multiarch}/openblas-openmp/${lib}"
    if [[ -e "$target" ]]; then
      current="$(update-alternatives --query "${lib}-${multiarch}" 2>/dev/null | sed -n 's/^Value: //p' || true)"
      if [[ "$current" != "$target" ]]; then
        log "Pointing ${lib} at OpenBLAS (${target})"
        as_root update-alternatives --set "${lib}-${multiarch}" "$target"
      fi
    fi
  done
fi

# -------------------------------------------------------------------------------------------- build
extra_args=()
if [[ -n "${LWM_CMAKE_ARGS:-}" ]]; then
  read -r -a extra_args <<<"${LWM_CMAKE_ARGS}"
fi

log "Configuring (build/, Ninja, Release${LWM_CMAKE_ARGS:+, ${LWM_CMAKE_ARGS}})"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${extra_args[@]+"${extra_args[@]}"}

log "Building with $(nproc) jobs"
cmake --build build -j"$(nproc)"

if [[ "$DEMO" -eq 1 ]]; then
  log "Running the demo (tools/demo.sh)"
  "$ROOT/tools/demo.sh"
fi

log "Done. The CLI is build/compress; run the tests with tools/test.sh --no-install"
