#!/usr/bin/env bash
# The search benchmark (issue 14): `compress search` on the SST-2 BERT teacher of bench/compress_presets.sh (12
# layers, hidden 256, trained here: no pretrained teacher exists yet), with the presets' training settings, against
# the presets' own results in bench/results/presets/. Writes bench/results/search_sst2/{pareto.json,pareto.md,
# pareto.png} and bench/results/search_sst2.md (the command, the machine, the search's wall time and energy, and the
# chosen student against the best preset that meets the same target).
#
# Usage: bench/search_sst2.sh [--budget 45m] [--keep-layers "4,2"] [--sparsities "0.5,0.65,0.8"]
#                             [--min-relative-accuracy 0.97] [--limit-train 4000] [--epochs 2] [--threads 1]
#                             [--table-only]
#
# Needs bench/runs/presets/teacher.pt (bench/compress_presets.sh makes it) and, for the comparison, the preset
# reports in bench/results/presets/. Environment: LWM_DATA, LWM_COMPRESS, LWM_PYTHON as compress_presets.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUDGET=45m
KEEP="4,2"
SPARSITIES="0.5,0.65,0.8"
TARGET=0.97
LIMIT=4000
EPOCHS=2
THREADS=1
TABLE_ONLY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget) BUDGET="$2"; shift 2 ;;
    --keep-layers) KEEP="$2"; shift 2 ;;
    --sparsities) SPARSITIES="$2"; shift 2 ;;
    --min-relative-accuracy) TARGET="$2"; shift 2 ;;
    --limit-train) LIMIT="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --table-only) TABLE_ONLY=1; shift ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "search_sst2.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

DATA="${LWM_DATA:-../shared/data}"
COMPRESS="${LWM_COMPRESS:-build/compress}"
PYTHON="${LWM_PYTHON:-$(pwd)/.venv/bin/python}"
TEACHER=bench/runs/presets/teacher.pt
WORK=bench/runs/search_sst2
RESULTS=bench/results/search_sst2
[[ -s "$TEACHER" ]] || { echo "search_sst2.sh: $TEACHER is missing: run bench/compress_presets.sh first" >&2; exit 2; }
mkdir -p "$WORK" "$RESULTS"

COMMAND=("$COMPRESS" --threads "$THREADS" search --model "$TEACHER" --task sst2 --train "$DATA/glue/SST-2/train.tsv"
  --eval "$DATA/glue/SST-2/dev.tsv" --tokenizer "$DATA/vocab/bert-base-uncased/vocab.txt" --limit-train "$LIMIT"
  --config configs/1of3-layers-pruned.json --epochs "$EPOCHS" --max-length 64 --min-relative-accuracy "$TARGET"
  --objective emissions --budget "$BUDGET" --keep-layers "$KEEP" --sparsities "$SPARSITIES" --out "$WORK")
if [[ "$TABLE_ONLY" -eq 0 ]]; then
  printf '+'; printf ' %q' "${COMMAND[@]}"; printf '\n'
  status=0
  "${COMMAND[@]}" || status=$?
  [[ "$status" -eq 0 || "$status" -eq 7 ]] || exit "$status"
fi
for f in pareto.json pareto.md pareto.png; do
  [[ -e "$WORK/$f" ]] && cp "$WORK/$f" "$RESULTS/$f"
done

"$PYTHON" - "$RESULTS/pareto.json" bench/results/presets "$TARGET" "$BUDGET" "$KEEP" "$SPARSITIES" "$LIMIT" "$EPOCHS" "$THREADS" <<'PY' > bench/results/search_sst2.md
import glob, json, os, subprocess, sys, datetime
pareto_path, presets_dir, target, budget, keep, sparsities, limit, epochs, threads = sys.argv[1:10]
target = float(target)
p = json.load(open(pareto_path))
s = p["search"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
print(f"# compress search on SST-2, BERT teacher ({datetime.date.today()}, lwm {rev})\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores, {threads} thread(s). Teacher: bench/compress_presets.sh's 12-layer "
      f"hidden-256 BERT trained here (accuracy {p['teacher']['metric']:.4f}; no pretrained teacher yet). Distillation: "
      f"the presets' settings (configs/1of3-layers-pruned.json), {epochs} epochs, train limit {limit}, max length 64, "
      f"the whole 872-sentence dev set.\n")
print(f"Command: `bench/search_sst2.sh --budget {budget} --keep-layers \"{keep}\" --sparsities \"{sparsities}\" "
      f"--min-relative-accuracy {target} --limit-train {limit} --epochs {epochs} --threads {threads}`\n")
print(f"Search: {s['candidates_run']} distillations ({len(p['points'])} measured points), "
      f"{s['wall_seconds'] / 60:.1f} min of wall time, {s['energy_joules'] / 1000:.1f} kJ ({s['co2_grams']:.2f} gCO2e, "
      f"{s['energy_method']}) for the whole search; not run: {len(p['not_run'])}."
      + (f" {s['candidates_reused']} of the candidates were measured by an earlier process of this search and reused "
         f"(a re-run into the same directory re-gates at once); the time and energy are those of every process."
         if s["candidates_reused"] else "") + "\n")
chosen = next((q for q in p["points"] if q["id"] == p["chosen"]), None)
if chosen:
    print(f"**Chosen: {chosen['id']}**: {chosen['relative_accuracy'] * 100:.1f}% of the teacher's accuracy, "
          f"{chosen['relative_emissions'] * 100:.1f}% of its CO2 per 1,000 inferences, {chosen['relative_size'] * 100:.1f}% "
          f"of its size, batch-1 latency {chosen['relative_latency_batch_1'] * 100:.1f}%.\n")
else:
    print(f"**No candidate met {target * 100:.0f}% relative accuracy.**\n")
rows = []
for f in sorted(glob.glob(os.path.join(presets_dir, "*.json"))):
    r = json.load(open(f))
    rel = r["relative"]
    if rel["accuracy"] is not None and rel["accuracy"] >= target:
        rows.append((rel["emissions"], os.path.basename(f)[:-5], rel))
rows.sort()
print(f"Presets that meet {target * 100:.0f}% relative accuracy (bench/results/compress_presets.md; each ratio "
      "measured in its own run, as the search's are):\n")
print("| preset | %accuracy | %emissions | %size | %time b1 |")
print("|---|---|---|---|---|")
for e, name, rel in rows:
    print(f"| {name} | {rel['accuracy'] * 100:.1f}% | {e * 100:.1f}% | {rel['size'] * 100:.1f}% | "
          f"{rel['latency_batch_1'] * 100:.1f}% |")
if chosen and rows:
    best = rows[0]
    verdict = "lower" if chosen["relative_emissions"] < best[0] else "not lower"
    print(f"\nThe chosen student's CO2 per 1,000 inferences ({chosen['relative_emissions'] * 100:.1f}% of the teacher's) is "
          f"**{verdict}** than the best such preset's ({best[1]}: {best[0] * 100:.1f}%).")
print("\nThe front and every point: [search_sst2/pareto.md](search_sst2/pareto.md); the picture: "
      "![pareto](search_sst2/pareto.png)")
PY
cat bench/results/search_sst2.md
