#!/usr/bin/env bash
# Data-parallel distillation throughput (issue 16): the same distillation run back to back as
#   1 worker x 1 thread, 1 worker x 2 threads, 2 workers x 1 thread (compress --nproc 2, Gloo over 127.0.0.1)
# Writes bench/results/data_parallel.md: training seconds, tokens/s, the time spent summing gradients, the
# speed-up and the scaling efficiency of 2 workers against 1 worker x 1 thread, and whether the 1- and 2-worker
# students agree (max |weight difference|). Each run's report.json goes to bench/results/data_parallel/.
#
# Usage: bench/data_parallel.sh --model TEACHER.pt [--tokenizer VOCAB] [--limit-train N] [--epochs N]
#                               [--keep-layers N] [--max-length N]
#   --model M        a fine-tuned BERT-family teacher (e.g. bench/runs/presets-pretrained/teacher.pt, which
#                    bench/compress_presets.sh --pretrained makes)
#   --tokenizer T    its vocabulary (default: ../shared/data/vocab/bert-base-uncased/vocab.txt)
#   --limit-train N  SST-2 training sentences (default 4000)
#   --epochs N       distillation epochs (default 1)
#   --keep-layers N  student layers (default 4)
#   --max-length N   tokens per sentence (default 64)
#
# Environment: LWM_DATA (default <repo>/../shared/data), LWM_COMPRESS (default <repo>/build/compress),
#              LWM_PYTHON (default .venv/bin/python). Work files go to bench/runs/data-parallel/ (gitignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="${LWM_DATA:-../shared/data}"
COMPRESS="${LWM_COMPRESS:-$ROOT/build/compress}"
PYTHON="${LWM_PYTHON:-$ROOT/.venv/bin/python}"

MODEL=""
TOKENIZER="$DATA/vocab/bert-base-uncased/vocab.txt"
LIMIT=4000
EPOCHS=1
KEEP=4
MAXLEN=64
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) MODEL="$2"; shift 2 ;;
    --tokenizer) TOKENIZER="$2"; shift 2 ;;
    --limit-train) LIMIT="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --keep-layers) KEEP="$2"; shift 2 ;;
    --max-length) MAXLEN="$2"; shift 2 ;;
    -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "data_parallel.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$MODEL" && -f "$MODEL" ]] || { echo "data_parallel.sh: --model TEACHER.pt is required (try --help)" >&2; exit 2; }

RUNS="bench/runs/data-parallel"
RESULTS="bench/results/data_parallel"
mkdir -p "$RUNS" "$RESULTS"
COMMON=(--model "$MODEL" --task sst2 --train "$DATA/glue/SST-2/train.tsv" --eval "$DATA/glue/SST-2/dev.tsv"
        --tokenizer "$TOKENIZER" --limit-train "$LIMIT" --keep-layers "$KEEP" --epochs "$EPOCHS"
        --max-length "$MAXLEN" --dropout 0 --latency-samples 20 --overwrite --quiet)
# name, then the options that differ
RUN_NAMES=(w1-t1 w1-t2 w2-t1)
declare -A RUN_ARGS=([w1-t1]="--threads 1" [w1-t2]="--threads 2" [w2-t1]="--threads 1 --nproc 2")
START="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for name in "${RUN_NAMES[@]}"; do
  echo "==> $name: compress ${RUN_ARGS[$name]}"
  # shellcheck disable=SC2086
  "$COMPRESS" ${RUN_ARGS[$name]} "${COMMON[@]}" --out "$RUNS/$name" > /dev/null
  cp "$RUNS/$name/report.json" "$RESULTS/$name.json"
done
END="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

"$PYTHON" - "$RUNS" "$RESULTS" "$START" "$END" "$MODEL" "$LIMIT" "$EPOCHS" "$KEEP" "$MAXLEN" <<'EOF'
import json, os, platform, subprocess, sys
import torch
runs, results, start, end, model, limit, epochs, keep, maxlen = sys.argv[1:]
names = ["w1-t1", "w1-t2", "w2-t1"]
label = {"w1-t1": "1 worker x 1 thread", "w1-t2": "1 worker x 2 threads", "w2-t1": "2 workers x 1 thread (--nproc 2)"}
d = {n: json.load(open(f"{runs}/{n}/report.json"))["stages"]["distillation"] for n in names}
acc = {n: json.load(open(f"{runs}/{n}/report.json"))["student"]["measurement"]["metrics"]["accuracy"] for n in names}
def weights(n):
    return dict(torch.jit.load(f"{runs}/{n}/model.pt").named_parameters())
a, b = weights("w1-t1"), weights("w2-t1")
diff = max((a[k] - b[k]).abs().max().item() for k in a)
base = d["w1-t1"]["train_seconds"]
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
lines = [
    "# Data-parallel distillation throughput",
    "",
    f"Command: `bench/data_parallel.sh --model {os.path.relpath(model)} --limit-train {limit} --epochs {epochs} "
    f"--keep-layers {keep} --max-length {maxlen}`",
    f"Run {start} .. {end} on {cpu} ({os.cpu_count()} cores), LibTorch {torch.__version__}; the three runs back to "
    "back on the same machine, the same distillation each (SST-2, dropout 0, same seed).",
    "",
    "| run | train s | tokens/s | gradient sum s (share) | speed-up vs 1x1 | scaling efficiency | student accuracy |",
    "|---|---|---|---|---|---|---|",
]
for n in names:
    s = d[n]["train_seconds"]
    sync = d[n].get("gradient_sync_seconds", 0.0)
    workers = d[n].get("workers", 1)
    threads = d[n]["threads"]
    cores = workers * threads
    lines.append(f"| {label[n]} | {s:.1f} | {d[n]['tokens_per_s']:.0f} | {sync:.1f} ({sync / s:.0%}) | "
                 f"{base / s:.2f}x | {base / s / cores:.0%} | {acc[n]:.4f} |")
lines += ["",
          f"Max |weight difference| between the 1-worker and the 2-worker student: {diff:.2e} (float sums in another "
          "order; test_data_parallel.cpp checks < 1e-4 on a small model).",
          "",
          "Scaling efficiency: speed-up over 1 worker x 1 thread, divided by the cores used. 'gradient sum' is rank 0's "
          "time in the gradient allreduce (packing and unpacking included, and waiting for the slower worker)."]
open("bench/results/data_parallel.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
