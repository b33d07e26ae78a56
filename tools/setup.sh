#!/usr/bin/env bash
# Set up a Debian 12 machine for lwm and build it.
#
# Usage: tools/setup.sh [--no-install] [--demo]
#
#   --no-install  do not touch apt (the packages are already there, or you manage them yourself)
#   --demo        after building, run tools/demo.sh (fine-tune and evaluate a small BERT on SST-2)
#
# Environment:
#   LWM_PYTHON      a python that already has torch (and, for the tests, transformers): lwm builds against
#                   its LibTorch and nothing is installed into it. Default: the project's own virtual
#                   environment .venv/, made here with the pinned requirements.txt (torch 2.15.0 from PyPI).
#   LWM_CMAKE_ARGS  extra arguments for the CMake configure step (CI: -DLWM_WERROR=ON; -DLWM_CUDA=ON)
#
# Idempotent: apt is skipped when every package is already installed, pip when .venv already holds
# requirements.txt, and the build is incremental. Works from any directory.
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
  cmake ninja-build g++ pkg-config python3 python3-venv
  libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev libicu-dev libpcre2-dev
  libsentencepiece-dev sentencepiece
  libgloo-dev
  libtcmalloc-minimal4
  gnuplot-nox fonts-dejavu-core
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

fi

# --------------------------------------------------------------------------------------- python, torch
# LibTorch comes from PyPI's torch wheel; the tests also need transformers. A python the user names is used
# as it is; otherwise .venv/ gets requirements.txt (about 3 GB to download, 5.6 GB installed).
if [[ -n "${LWM_PYTHON:-}" ]]; then
  PYTHON="$LWM_PYTHON"
  "$PYTHON" -c 'import torch' 2>/dev/null || {
    echo "setup.sh: LWM_PYTHON=$PYTHON cannot import torch" >&2
    exit 1
  }
  pinned="$(sed -n 's/^torch==//p' requirements.txt)"
  have="$("$PYTHON" -c 'import torch; print(torch.__version__.split("+")[0])')"
  [[ "$have" == "$pinned" ]] || log "Note: LWM_PYTHON has torch $have; lwm is tested with $pinned (requirements.txt)"
else
  PYTHON="$ROOT/.venv/bin/python"
  stamp="$ROOT/.venv/requirements.installed"
  if [[ ! -x "$PYTHON" ]]; then
    log "Making the virtual environment .venv/"
    python3 -m venv "$ROOT/.venv"
  fi
  if ! cmp -s requirements.txt "$stamp"; then
    log "Installing requirements.txt into .venv/ (torch, transformers: about 3 GB to download)"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    cp requirements.txt "$stamp"
  else
    log ".venv/ already holds requirements.txt; skipping pip"
  fi
fi
torch_cmake="$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')"

# -------------------------------------------------------------------------------------------- build
extra_args=()
if [[ -n "${LWM_CMAKE_ARGS:-}" ]]; then
  read -r -a extra_args <<<"${LWM_CMAKE_ARGS}"
fi

log "Configuring (build/, Ninja, Release${LWM_CMAKE_ARGS:+, ${LWM_CMAKE_ARGS}})"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_cmake" \
  -DLWM_PYTHON="$PYTHON" ${extra_args[@]+"${extra_args[@]}"}

log "Building with $(nproc) jobs"
cmake --build build -j"$(nproc)"

if [[ "$DEMO" -eq 1 ]]; then
  log "Running the demo (tools/demo.sh)"
  LWM_PYTHON="$PYTHON" "$ROOT/tools/demo.sh"
fi

log "Done. The CLI is build/compress; run the tests with tools/test.sh --no-install"
