#!/usr/bin/env bash
# Train a T5-style or XLM-RoBERTa-style SentencePiece (unigram) vocabulary with Debian's spm_train (package
# `sentencepiece`).
#
# Usage: tools/train_sentencepiece.sh [--input FILE]... [--vocab-size N] [--layout t5|xlm-roberta] --out DIR
#
#   --input FILE     training text; repeat for several files. A .tsv file must have a header row: the
#                    text of its columns sentence, sentence1, sentence2, question, question1, question2,
#                    premise, hypothesis, "#1 String", "#2 String" is used (each non-empty cell a line).
#                    Any other file is plain text, one sentence per line.
#                    Default: <data>/glue/SST-2/train.tsv (column "sentence"), <data> = $LWM_DATA or
#                    <repo>/../shared/data.
#   --vocab-size N   number of SentencePiece pieces, the 3 specials included (default 8000)
#   --layout L       t5 (default): DIR/spiece.model with T5's special ids <pad> 0, </s> 1, <unk> 2, no <s>.
#                    xlm-roberta: DIR/sentencepiece.bpe.model with XLM-R's <unk> 0, <s> 1, </s> 2, no <pad>
#                    (XLMRobertaTokenizer renumbers them as fairseq does: lwm/data/sentencepiece_tokenizer.h).
#   --out DIR        writes DIR/<name>.model and DIR/<name>.vocab (a readable listing of the pieces)
#
# T5's 100 <extra_id_N> sentinels are
# not pieces of the model (Hugging Face's T5Tokenizer appends them after the pieces; see
# lwm/data/sentencepiece_tokenizer.h). Deterministic: same input, same flags -> byte-identical model
# (one training thread, no sampling or shuffling of the input).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

INPUTS=()
VOCAB_SIZE=8000
LAYOUT=t5
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --input)
      [[ $# -ge 2 ]] || { echo "train_sentencepiece.sh: --input needs a file" >&2; exit 2; }
      INPUTS+=("$2"); shift 2 ;;
    --vocab-size)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { echo "train_sentencepiece.sh: --vocab-size needs a number" >&2; exit 2; }
      VOCAB_SIZE="$2"; shift 2 ;;
    --layout)
      [[ $# -ge 2 && ( "$2" == t5 || "$2" == xlm-roberta ) ]] || {
        echo "train_sentencepiece.sh: --layout needs t5 or xlm-roberta" >&2; exit 2; }
      LAYOUT="$2"; shift 2 ;;
    --out)
      [[ $# -ge 2 ]] || { echo "train_sentencepiece.sh: --out needs a directory" >&2; exit 2; }
      OUT="$2"; shift 2 ;;
    -h | --help)
      sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *)
      echo "train_sentencepiece.sh: unknown option '$1' (try --help)" >&2
      exit 2 ;;
  esac
done
[[ -n "$OUT" ]] || { echo "train_sentencepiece.sh: --out DIR is required (try --help)" >&2; exit 2; }
command -v spm_train >/dev/null 2>&1 || {
  echo "train_sentencepiece.sh: spm_train not found (apt-get install sentencepiece)" >&2; exit 1; }

if [[ "${#INPUTS[@]}" -eq 0 ]]; then
  INPUTS=("${LWM_DATA:-$ROOT/../shared/data}/glue/SST-2/train.tsv")
fi
for f in "${INPUTS[@]}"; do
  [[ -f "$f" ]] || { echo "train_sentencepiece.sh: $f: no such file" >&2; exit 1; }
done

mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CORPUS="$WORK/corpus.txt"
: >"$CORPUS"
for f in "${INPUTS[@]}"; do
  if [[ "$f" == *.tsv ]]; then
    # Text columns by header name (a UTF-8 BOM and '\r' line ends are tolerated).
    awk -F'\t' -v file="$f" '
      NR == 1 {
        sub(/^\xEF\xBB\xBF/, "")
        sub(/\r$/, "")
        for (i = 1; i <= NF; i++)
          if ($i ~ /^(sentence|sentence1|sentence2|question|question1|question2|premise|hypothesis|#1 String|#2 String)$/)
            cols[++n] = i
        if (n == 0) { print file ": no text column (sentence, sentence1, ...) in the header" > "/dev/stderr"; exit 3 }
        next
      }
      {
        sub(/\r$/, "")
        for (k = 1; k <= n; k++) if (cols[k] <= NF && $cols[k] != "") print $cols[k]
      }' "$f" >>"$CORPUS"
  else
    cat "$f" >>"$CORPUS"
  fi
done
# The label words T5 classification scores (decoder targets): one line each, so that every character of
# them (the '_' of not_entailment) is in the model and they never encode to <unk>.
printf '%s\n' positive negative acceptable unacceptable equivalent not_equivalent entailment not_entailment \
  >>"$CORPUS"

# Every printable ASCII character is a piece even when the corpus lacks it (SST-2 is lower-cased, so
# without this an upper-case letter would be <unk>).
ASCII=""
for i in $(seq 33 126); do ASCII+="$(printf '%b' "\\$(printf '%03o' "$i")")"; done

# Relative paths from inside WORK: the model records its input and prefix, so the bytes do not depend on
# where OUT is.
if [[ "$LAYOUT" == t5 ]]; then
  NAME=spiece
  SPECIALS=(--pad_id=0 --pad_piece='<pad>' --eos_id=1 --eos_piece='</s>' --unk_id=2 --unk_piece='<unk>' --bos_id=-1)
else
  NAME=sentencepiece.bpe
  SPECIALS=(--unk_id=0 --unk_piece='<unk>' --bos_id=1 --bos_piece='<s>' --eos_id=2 --eos_piece='</s>' --pad_id=-1)
fi
(cd "$WORK" && spm_train \
  --input=corpus.txt \
  --model_prefix="$NAME" \
  --model_type=unigram \
  --vocab_size="$VOCAB_SIZE" \
  --character_coverage=1.0 \
  --required_chars="$ASCII" \
  "${SPECIALS[@]}" \
  --input_sentence_size=0 --shuffle_input_sentence=false \
  --num_threads=1 --random_seed=42 \
  --minloglevel=1)
mv "$WORK/$NAME.model" "$WORK/$NAME.vocab" "$OUT/"

echo "train_sentencepiece.sh: wrote $OUT/$NAME.model ($(wc -l <"$CORPUS") training lines, vocab $VOCAB_SIZE)"
sha256sum "$OUT/$NAME.model"
