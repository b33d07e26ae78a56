#!/usr/bin/env bash
# Build the libFuzzer targets (fuzz/, clang with ASan + UBSan, in build-fuzz/) and run each for a while on its
# corpus; fails when any target finds something (a crash, leak, UB, timeout, or an exception other than
# lwm::Error), leaving the input under build-fuzz/artifacts/<target>/. See fuzz/README.md.
#
# Usage: tools/fuzz.sh [--no-install] [SECONDS] [TARGET...]
#
#   SECONDS       time per target (default 30)
#   TARGET        dataset_tsv dataset_csv dataset_jsonl wordpiece_encode bpe_encode sentencepiece_encode vocab_txt
#                 bpe_files tokenizer_json config importer (default: all, one after the other)
#   --no-install  do not touch apt (clang and libclang-rt-14-dev must be there)
#
# Environment: LWM_PYTHON (the python whose torch to build against; default .venv/bin/python, as tools/setup.sh),
# LWM_FUZZ_RUNS (stop a target after this many executions too), LWM_FUZZ_JOBS (build jobs; default nproc),
# LWM_BUILD_LOCK (a file to flock around the build, for machines that share one).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ALL_TARGETS=(dataset_tsv dataset_csv dataset_jsonl wordpiece_encode bpe_encode sentencepiece_encode vocab_txt
             bpe_files tokenizer_json config importer)

INSTALL=1
SECONDS_PER_TARGET=30
targets=()
for arg in "$@"; do
  case "$arg" in
    --no-install) INSTALL=0 ;;
    -h | --help)
      sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    [0-9]*) SECONDS_PER_TARGET="$arg" ;;
    *)
      [[ " ${ALL_TARGETS[*]} " == *" $arg "* ]] || { echo "fuzz.sh: unknown target '$arg' (try --help)" >&2; exit 2; }
      targets+=("$arg")
      ;;
  esac
done
[[ "${#targets[@]}" -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

log() { printf '\n==> %s\n' "$*"; }

# clang and libFuzzer's runtime (with ASan's and UBSan's): clang-14 only recommends libclang-rt-14-dev.
PACKAGES=(clang libclang-rt-14-dev)
if [[ "$INSTALL" -eq 1 ]]; then
  missing=()
  for pkg in "${PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" == "installed" ]] || missing+=("$pkg")
  done
  if [[ "${#missing[@]}" -gt 0 ]]; then
    log "Installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

PYTHON="${LWM_PYTHON:-$ROOT/.venv/bin/python}"
torch_cmake="$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')"

locked() {
  if [[ -n "${LWM_BUILD_LOCK:-}" ]]; then flock "$LWM_BUILD_LOCK" "$@"; else "$@"; fi
}
log "Configuring and building build-fuzz/ (clang++, -fsanitize=fuzzer,address,undefined)"
locked cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DLWM_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g" -DCMAKE_PREFIX_PATH="$torch_cmake" >/dev/null
locked cmake --build build-fuzz -j"${LWM_FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0}"
command -v llvm-symbolizer >/dev/null 2>&1 || {
  [[ -x /usr/bin/llvm-symbolizer-14 ]] && export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
}
# The targets write each input to a file (the readers take paths): in memory where there is /dev/shm.
[[ -d /dev/shm && -w /dev/shm ]] && export TMPDIR=/dev/shm
failed=()
summary=()
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"        # what the fuzzer finds; fuzz/corpus/$t (seeds, regressions) stays as checked in
  artifacts="build-fuzz/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  log "Fuzzing $t for ${SECONDS_PER_TARGET}s${LWM_FUZZ_RUNS:+ or $LWM_FUZZ_RUNS runs}"
  log_file="build-fuzz/$t.log"
  args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=30 -rss_limit_mb=6144 -print_final_stats=1
        -artifact_prefix="$artifacts" -max_len=262144)
  [[ -z "${LWM_FUZZ_RUNS:-}" ]] || args+=(-runs="$LWM_FUZZ_RUNS")
  start=$(date +%s)
  if "build-fuzz/fuzz_$t" "${args[@]}" "$work" "fuzz/corpus/$t" >"$log_file" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
    tail -n 60 "$log_file"
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log_file" | tail -1)"
  summary+=("$(printf '%-22s %-7s %10s runs %5ss' "$t" "$status" "${runs:-?}" "$(($(date +%s) - start))")")
done

log "Summary (logs: build-fuzz/<target>.log)"
printf '%s\n' "${summary[@]}"
if [[ "${#failed[@]}" -gt 0 ]]; then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs under build-fuzz/artifacts/)" >&2
  exit 1
fi
