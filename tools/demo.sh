#!/usr/bin/env bash
# The newcomer's tour: fine-tune a small BERT teacher on SST-2 with `compress`, evaluate and inspect it.
#
# Usage: tools/demo.sh [--fresh]
#
#   --fresh   redo every step (by default a step whose output already exists is skipped)
#
# Steps (outputs in demo/, which is gitignored):
#   1. tools/export_reference.py: a randomly initialised 4-layer, hidden-128 BERT  -> demo/init.pt
#   2. compress finetune: 2 epochs on the first 4,000 SST-2 train sentences          -> demo/teacher.pt
#   3. compress evaluate: accuracy on SST-2 dev                                      -> demo/teacher-report.json
#   4. compress (the main job): keep 2 of 4 layers, distil, prune half the heads and FFN neurons and a
#      quarter of the hidden dimensions, shrink                                      -> demo/student/
#   5. compress inspect: what the student looks like
#
# Environment:
#   LWM_DATA      data folder (default: <repo>/../shared/data), holding glue/SST-2/{train,dev}.tsv and
#                 vocab/bert-base-uncased/vocab.txt
#   LWM_COMPRESS  the compress binary (default: <repo>/build/compress; build it with tools/setup.sh)
#   LWM_PYTHON    a python with torch and transformers (default: the project's .venv/python; tools/setup.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CALLER_PWD="$PWD"
cd "$ROOT"
# abspath PATH: PATH made absolute relative to the caller's directory (env overrides may be relative).
abspath() { if [[ "$1" == /* ]]; then printf '%s' "$1"; else printf '%s/%s' "${CALLER_PWD%/}" "$1"; fi; }

FRESH=0
for arg in "$@"; do
  case "$arg" in
    --fresh) FRESH=1 ;;
    -h | --help)
      sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "demo.sh: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

DATA="../shared/data"
[[ -n "${LWM_DATA:-}" ]] && DATA="$(abspath "$LWM_DATA")"
COMPRESS="build/compress"
[[ -n "${LWM_COMPRESS:-}" ]] && COMPRESS="$(abspath "$LWM_COMPRESS")"
PYTHON="${LWM_PYTHON:-$(pwd)/.venv/bin/python}"
TRAIN="$DATA/glue/SST-2/train.tsv"
DEV="$DATA/glue/SST-2/dev.tsv"
VOCAB="$DATA/vocab/bert-base-uncased/vocab.txt"
OUT="demo"

for f in "$TRAIN" "$DEV" "$VOCAB"; do
  if [[ ! -f "$f" ]]; then
    echo "demo.sh: missing data file $f (set LWM_DATA to the folder holding glue/ and vocab/)" >&2
    exit 1
  fi
done
if [[ ! -x "$COMPRESS" ]]; then
  echo "demo.sh: $COMPRESS not found; build it first with tools/setup.sh" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*"; }
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  "$@"
}
# done_already FILE: true (and says so) when FILE exists and we are not asked to redo it. Once a step
# has run, every later step runs too, so that no output is left stale by a newer input.
REDO="$FRESH"
done_already() {
  if [[ "$REDO" -eq 0 && -s "$1" ]]; then
    echo "    $1 exists; skipping (use --fresh to redo)"
    return 0
  fi
  REDO=1
  return 1
}

mkdir -p "$OUT"
if [[ "$FRESH" -eq 1 ]]; then
  rm -rf "$OUT/init.pt" "$OUT/teacher.pt" "$OUT/teacher-report.json" "$OUT/student"
fi

step "1/5 Export a small BERT reference model (4 layers, hidden 128, 2 heads) -> $OUT/init.pt"
if ! done_already "$OUT/init.pt"; then
  # Write to a temporary name first so that an interrupted export is never mistaken for a finished one.
  tmp="$OUT/.init.tmp.pt"
  rm -f "$tmp"
  run "$PYTHON" tools/export_reference.py --family bert --layers 4 --hidden 128 --heads 2 \
    --intermediate 512 --vocab 30522 --max-positions 128 --labels 2 --out "$tmp"
  mv -f "$tmp" "$OUT/init.pt"
fi

step "2/5 Fine-tune it as a teacher on 4,000 SST-2 sentences, 2 epochs -> $OUT/teacher.pt"
if ! done_already "$OUT/teacher.pt"; then
  run "$COMPRESS" finetune --model "$OUT/init.pt" --task sst2 --train "$TRAIN" --eval "$DEV" \
    --tokenizer "$VOCAB" --limit-train 4000 --epochs 2 --batch-size 32 --learning-rate 1e-3 --max-length 64 \
    --out "$OUT/teacher.pt"
fi

step "3/5 Evaluate the teacher on SST-2 dev -> $OUT/teacher-report.json"
if ! done_already "$OUT/teacher-report.json"; then
  run "$COMPRESS" evaluate --model "$OUT/teacher.pt" --task sst2 --eval "$DEV" --tokenizer "$VOCAB" \
    --max-length 64 --report "$OUT/teacher-report.json"
fi

step "4/5 Compress the teacher: 2 of 4 layers, distillation with matrix pruning -> $OUT/student/"
if ! done_already "$OUT/student/report.json"; then
  run "$COMPRESS" --model "$OUT/teacher.pt" --task sst2 --train "$TRAIN" --eval "$DEV" --tokenizer "$VOCAB" \
    --limit-train 4000 --max_length 64 --keep_layers 2 --epochs 2 --learning_rate 5e-4 \
    --prune_heads 0.5 --prune_ffn 0.5 --prune_hidden 0.25 --prune_end 0.5 --overwrite --out "$OUT/student"
fi

step "5/5 Inspect the student"
run "$COMPRESS" inspect "$OUT/student/model.pt"

step "Done. Teacher: $OUT/teacher.pt ($OUT/teacher-report.json); student: $OUT/student/model.pt ($OUT/student/report.json)"
