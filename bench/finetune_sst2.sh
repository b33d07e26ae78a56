#!/usr/bin/env bash
# Foundation benchmark: fine-tune a 6-layer BERT on SST-2 with `compress finetune`, evaluate it on dev,
# and time one epoch of eager PyTorch fine-tuning (bench/python_finetune_epoch.py) on the same model,
# data, threads and hyper-parameters.
#
# Usage: bench/finetune_sst2.sh [--epochs N] [--limit N] [--threads N]
#
#   --epochs N   epochs of `compress finetune` (default 1; env LWM_BENCH_EPOCHS). Python always times one.
#   --limit N    train on the first N SST-2 sentences only (default 0: the full 67,349; env LWM_BENCH_LIMIT).
#                A full epoch takes a long time on 2 cores; e.g. --limit 8000 for a quick run.
#   --threads N  pass --threads N to `compress finetune` (env LWM_BENCH_THREADS). Without it, compress
#                picks its default; either way Python runs with the thread count that compress reports.
#
# Model: tools/export_reference.py --family bert --layers 6 --hidden 256 --heads 4 --intermediate 1024
#        --vocab 30522 --max-positions 128 --labels 2 --seed 0  (-> bench/runs/init.pt)
# Training: --max-length 128 --batch-size 32 --learning-rate 5e-5 --warmup-ratio 0.1 --seed 0, AdamW without weight decay,
#           no gradient clipping (as the Python side).
#
# Outputs: bench/results/finetune_sst2.json (this run, overwritten) and one row appended to
# bench/results/finetune_sst2.md. Scratch files (models, logs, metrics) go to bench/runs/ (gitignored).
#
# Environment: LWM_DATA (default <repo>/../shared/data), LWM_COMPRESS (default <repo>/build/compress),
#              LWM_PYTHON (default .venv/bin/python, made by tools/setup.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CALLER_PWD="$PWD"
cd "$ROOT"
abspath() { if [[ "$1" == /* ]]; then printf '%s' "$1"; else printf '%s/%s' "${CALLER_PWD%/}" "$1"; fi; }

EPOCHS="${LWM_BENCH_EPOCHS:-1}"
LIMIT="${LWM_BENCH_LIMIT:-0}"
THREADS="${LWM_BENCH_THREADS:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) EPOCHS="${2:?--epochs needs a value}"; shift 2 ;;
    --epochs=*) EPOCHS="${1#*=}"; shift ;;
    --limit) LIMIT="${2:?--limit needs a value}"; shift 2 ;;
    --limit=*) LIMIT="${1#*=}"; shift ;;
    --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
    --threads=*) THREADS="${1#*=}"; shift ;;
    -h | --help)
      sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "finetune_sst2.sh: unknown option '$1' (try --help)" >&2
      exit 2
      ;;
  esac
done
for v in EPOCHS LIMIT; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]]; then
    echo "finetune_sst2.sh: --${v,,} must be a non-negative integer, got '${!v}'" >&2
    exit 2
  fi
done
if [[ -n "$THREADS" && ! "$THREADS" =~ ^[1-9][0-9]*$ ]]; then
  echo "finetune_sst2.sh: --threads must be a positive integer, got '$THREADS'" >&2
  exit 2
fi
if [[ "$EPOCHS" -lt 1 ]]; then
  echo "finetune_sst2.sh: --epochs must be at least 1" >&2
  exit 2
fi

DATA="../shared/data"
[[ -n "${LWM_DATA:-}" ]] && DATA="$(abspath "$LWM_DATA")"
COMPRESS="build/compress"
[[ -n "${LWM_COMPRESS:-}" ]] && COMPRESS="$(abspath "$LWM_COMPRESS")"
PYTHON="${LWM_PYTHON:-$(pwd)/.venv/bin/python}"
TRAIN="$DATA/glue/SST-2/train.tsv"
DEV="$DATA/glue/SST-2/dev.tsv"
VOCAB="$DATA/vocab/bert-base-uncased/vocab.txt"
WORK="bench/runs"
RESULTS="bench/results"

for f in "$TRAIN" "$DEV" "$VOCAB"; do
  if [[ ! -f "$f" ]]; then
    echo "finetune_sst2.sh: missing data file $f (set LWM_DATA to the folder holding glue/ and vocab/)" >&2
    exit 1
  fi
done
if [[ ! -x "$COMPRESS" ]]; then
  echo "finetune_sst2.sh: $COMPRESS not found; build it first with tools/setup.sh" >&2
  exit 1
fi
mkdir -p "$WORK" "$RESULTS"

step() { printf '\n==> %s\n' "$*"; }
# quote ARGS...: the command line as one shell-quoted string (recorded in the results).
quote() {
  local out
  out="$(printf ' %q' "$@")"
  printf '%s' "${out# }"
}
now() { date +%s.%N; }

# Model and training hyper-parameters, shared by both sides.
MODEL_ARGS=(--layers 6 --hidden 256 --heads 4 --intermediate 1024 --max-positions 128 --labels 2)
MAX_LENGTH=128
BATCH=32
LR=5e-5
WARMUP=0.1
SEED=0
# bench/python_finetune_epoch.py uses AdamW without weight decay and without gradient clipping, and a
# linear warm-up over 10% of the steps; compress finetune is told the same (its defaults differ).

# ------------------------------------------------------------------------------------ 1. the model
INIT="$WORK/init.pt"
EXPORT_CMD=("$PYTHON" tools/export_reference.py --family bert "${MODEL_ARGS[@]}" --vocab 30522
  --seed "$SEED" --out "$INIT")
step "1/3 Export the reference model -> $INIT"
echo "+ $(quote "${EXPORT_CMD[@]}")"
"${EXPORT_CMD[@]}"

# ------------------------------------------------------------------------- 2. compress finetune
METRICS="$WORK/compress-metrics.json"
TEACHER="$WORK/teacher.pt"
rm -f "$METRICS"
OURS_CMD=("$COMPRESS" finetune --model "$INIT" --task sst2 --train "$TRAIN" --eval "$DEV"
  --tokenizer "$VOCAB" --epochs "$EPOCHS" --batch-size "$BATCH" --max-length "$MAX_LENGTH" --learning-rate "$LR"
  --warmup-ratio "$WARMUP" --weight-decay 0 --max-grad-norm 0 --seed "$SEED")
[[ "$LIMIT" -gt 0 ]] && OURS_CMD+=(--limit-train "$LIMIT")
[[ -n "$THREADS" ]] && OURS_CMD+=(--threads "$THREADS")
OURS_CMD+=(--out "$TEACHER" --metrics-out "$METRICS")
LIMIT_TEXT="first $LIMIT sentences"
[[ "$LIMIT" -eq 0 ]] && LIMIT_TEXT="full train set"
step "2/3 Fine-tune and evaluate with compress ($EPOCHS epoch(s), $LIMIT_TEXT)"
echo "+ $(quote "${OURS_CMD[@]}")"
t0="$(now)"
"${OURS_CMD[@]}" 2>&1 | tee "$WORK/compress.log"
t1="$(now)"
if [[ ! -s "$METRICS" ]]; then
  echo "finetune_sst2.sh: compress finetune wrote no metrics to $METRICS" >&2
  exit 1
fi
OURS_THREADS="$("$PYTHON" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["threads"]))' "$METRICS")"

# ------------------------------------------------------------------------- 3. python, one epoch
PY_OUT="$WORK/python-epoch.json"
PY_CMD=("$PYTHON" bench/python_finetune_epoch.py --model "$INIT" --family bert "${MODEL_ARGS[@]}"
  --train "$TRAIN" --vocab "$VOCAB" --max-length "$MAX_LENGTH" --batch-size "$BATCH" --lr "$LR"
  --warmup "$WARMUP" --threads "$OURS_THREADS" --seed "$SEED")
[[ "$LIMIT" -gt 0 ]] && PY_CMD+=(--limit "$LIMIT")
step "3/3 Time one epoch of eager PyTorch fine-tuning (threads $OURS_THREADS)"
echo "+ $(quote "${PY_CMD[@]}")"
"${PY_CMD[@]}" | tee "$PY_OUT.log"
# The script prints one JSON line; keep the last line that parses.
"$PYTHON" - "$PY_OUT.log" "$PY_OUT" <<'PY'
import json, sys
obj = None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            pass
if obj is None:
    sys.exit("finetune_sst2.sh: no JSON line in the output of bench/python_finetune_epoch.py")
json.dump(obj, open(sys.argv[2], "w", encoding="utf-8"), indent=2)
PY

# ------------------------------------------------------------------------------------- results
CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
export BENCH_DATE BENCH_CPU BENCH_NPROC BENCH_EPOCHS BENCH_LIMIT BENCH_WALL BENCH_METRICS BENCH_PY \
  BENCH_CMD_EXPORT BENCH_CMD_OURS BENCH_CMD_PY BENCH_JSON BENCH_MD BENCH_GIT
BENCH_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
BENCH_CPU="${CPU:-unknown CPU}"
BENCH_NPROC="$(nproc)"
BENCH_EPOCHS="$EPOCHS"
BENCH_LIMIT="$LIMIT"
BENCH_WALL="$("$PYTHON" -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1")"
BENCH_METRICS="$METRICS"
BENCH_PY="$PY_OUT"
BENCH_CMD_EXPORT="$(quote "${EXPORT_CMD[@]}")"
BENCH_CMD_OURS="$(quote "${OURS_CMD[@]}")"
BENCH_CMD_PY="$(quote "${PY_CMD[@]}")"
BENCH_JSON="$RESULTS/finetune_sst2.json"
BENCH_MD="$RESULTS/finetune_sst2.md"
BENCH_GIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain 2>/dev/null || true)" ]]; then BENCH_GIT="$BENCH_GIT+dirty"; fi

"$PYTHON" - <<'PY'
import json, os

e = os.environ
ours = json.load(open(e["BENCH_METRICS"], encoding="utf-8"))
py = json.load(open(e["BENCH_PY"], encoding="utf-8"))

accuracy = (ours.get("eval") or {}).get("accuracy")
ratio = None
if ours.get("tokens_per_s") and py.get("tokens_per_s"):
    ratio = float(ours["tokens_per_s"]) / float(py["tokens_per_s"])
limit = int(e["BENCH_LIMIT"])

result = {
    "benchmark": "finetune_sst2",
    "date": e["BENCH_DATE"],
    "git": e["BENCH_GIT"],
    "machine": {"cpu": e["BENCH_CPU"], "nproc": int(e["BENCH_NPROC"])},
    "config": {
        "model": {"family": "bert", "layers": 6, "hidden": 256, "heads": 4, "intermediate": 1024,
                  "vocab": 30522, "max_positions": 128, "labels": 2, "seed": 0, "mode": "trace"},
        "epochs": int(e["BENCH_EPOCHS"]),
        "limit_train": limit if limit > 0 else None,
        "max_length": 128, "batch_size": 32, "lr": 5e-5, "warmup": 0.1, "weight_decay": 0.0,
        "max_grad_norm": 0.0, "seed": 0,
        "threads": ours.get("threads"),
    },
    "commands": {"export": e["BENCH_CMD_EXPORT"], "compress": e["BENCH_CMD_OURS"], "python": e["BENCH_CMD_PY"]},
    "ours": {
        "wall_seconds": float(e["BENCH_WALL"]),
        "train_seconds": ours.get("train_seconds"),
        "train_examples": ours.get("train_examples"),
        "train_tokens": ours.get("train_tokens"),
        "tokens_per_s": ours.get("tokens_per_s"),
        "threads": ours.get("threads"),
        "best_epoch": ours.get("best_epoch"),
        "accuracy": accuracy,
        "metrics": ours,
    },
    "python_one_epoch": py,
    "ratio_tokens_per_s_ours_over_python": ratio,
}
tmp = e["BENCH_JSON"] + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
os.replace(tmp, e["BENCH_JSON"])


def num(x, fmt):
    return "n/a" if x is None else format(float(x), fmt)


def code(s):
    return "`" + s.replace("|", "\\|") + "`"


md = e["BENCH_MD"]
header = (
    "# Fine-tuning benchmark: SST-2, 6-layer BERT (hidden 256, 4 heads, FFN 1024)\n\n"
    "Written by `bench/finetune_sst2.sh`; one row per run. *Ours*: `compress finetune` "
    "(wall time of the whole command: tokenization, all epochs, dev evaluation; tokens/s over training). "
    "*Python*: one epoch of eager PyTorch (`bench/python_finetune_epoch.py`, tokenization not timed), "
    "same model, data, threads and hyper-parameters. Ratio = ours / python tokens/s (> 1: we are faster).\n\n"
    "| date | git | machine | threads | epochs | train examples | dev accuracy | ours wall s | ours train s "
    "| ours tokens/s | python tokens/s | ratio ours/python | commands |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)
row = "| " + " | ".join([
    e["BENCH_DATE"],
    e["BENCH_GIT"],
    f"{e['BENCH_CPU']}, {e['BENCH_NPROC']} cores",
    str(ours.get("threads", "n/a")),
    e["BENCH_EPOCHS"],
    str(ours.get("train_examples", limit if limit > 0 else "all")),
    num(accuracy, ".4f"),
    num(e["BENCH_WALL"], ".1f"),
    num(ours.get("train_seconds"), ".1f"),
    num(ours.get("tokens_per_s"), ".0f"),
    num(py.get("tokens_per_s"), ".0f"),
    num(ratio, ".3f"),
    "<br>".join(code(c) for c in (e["BENCH_CMD_EXPORT"], e["BENCH_CMD_OURS"], e["BENCH_CMD_PY"])),
]) + " |\n"
new = not os.path.exists(md) or os.path.getsize(md) == 0
with open(md, "a", encoding="utf-8") as f:
    if new:
        f.write(header)
    f.write(row)

print(f"\naccuracy {num(accuracy, '.4f')}  ours {num(ours.get('tokens_per_s'), '.0f')} tok/s "
      f"(wall {num(e['BENCH_WALL'], '.1f')} s)  python {num(py.get('tokens_per_s'), '.0f')} tok/s  "
      f"ratio {num(ratio, '.3f')}")
print(f"wrote {e['BENCH_JSON']} and appended a row to {md}")
PY
