#pragma once
// Text -> ids, with the model's special-token template.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lwm/common/family.h"

namespace lwm {

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;  // same length as ids (0 for first segment, 1 for second)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encodes one text or a pair with the family's template ([CLS] A [SEP] B [SEP] for BERT,
  // <s> A </s></s> B </s> for RoBERTa, A B for GPT-2),
  // truncated to max_length tokens in total (pairs: longest-first). An empty `b` means a single text.
  // max_length <= 0: no truncation.
  virtual Encoding encode(const std::string& a, const std::string& b, int max_length) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t pad_id() const = 0;
  virtual std::string kind() const = 0;  // "wordpiece", "byte-level-bpe", "sentencepiece"
  // The id a token outside the vocabulary stands for: [UNK] (WordPiece), <unk> (SentencePiece, RoBERTa's BPE),
  // and, as Hugging Face's GPT2Tokenizer names it, <|endoftext|> for GPT-2. -1 when the vocabulary has none.
  virtual int64_t unk_id() const = 0;
  // The ids of the special tokens the tokenizer knows (padding, unknown, classifier/separator or bos/eos, mask)
  // and of its added tokens matched whole: the ids a text can produce that are not the vocabulary's pieces.
  // Ascending, each once.
  virtual std::vector<int64_t> special_ids() const = 0;

  // The most tokens per sequence (special tokens included) the saved tokenizer was configured for:
  // model_max_length of the tokenizer_config.json beside its files (Hugging Face's save_pretrained writes
  // it, e.g. 512 for bert-base-uncased). 0 when unknown: no such file or key, null, or transformers'
  // "unset" value int(1e30) (anything from 2^31 on counts as unset). A limit for callers to cap a
  // requested max_length with; encode() itself does not apply it. Set by load_tokenizer.
  int64_t model_max_length() const { return model_max_length_; }
  void set_model_max_length(int64_t n) { model_max_length_ = n > 0 ? n : 0; }

 private:
  int64_t model_max_length_ = 0;
};

// Cuts token ids to fit max_length once `specials` special tokens are added (max_length <= 0: no limit):
// a single text loses its end; a pair is cut from the end of the longer text down to what the shorter leaves,
// and if both must be cut the shorter keeps budget / 2 and the longer the rest (A counts as the shorter on a
// tie): Hugging Face tokenizers' "longest_first", which every transformers 5 tokenizer (and every fast one
// before) runs. (transformers' Python backend instead gives an odd budget's spare token to A.)
// UsageError when max_length leaves no room for the special tokens. `pair` false: a single text (`b` unused).
void truncate_longest_first(std::vector<int64_t>& a, std::vector<int64_t>& b, bool pair, int max_length,
                            size_t specials);

// Loads a tokenizer: WordPiece (vocab.txt, or a tokenizer.json whose model.type is "WordPiece"),
// byte-level BPE (vocab.json + merges.txt, or a tokenizer.json whose model.type is "BPE"), or
// SentencePiece (T5's spiece.model, any *.model file; see lwm/data/sentencepiece_tokenizer.h).
// Throws DataError on a missing/malformed file.
// `path`:
//   a directory: spiece.model if present, else tokenizer.json (dispatched on model.type), else vocab.txt,
//     else vocab.json + merges.txt (BPE);
//   a file named vocab.json or merges.txt: BPE, with the other file beside it;
//   any other file ending in .json: a tokenizer.json (dispatched on model.type); *.model: SentencePiece;
//   any other file: a vocab.txt.
// The files Hugging Face's save_pretrained writes beside vocab.txt, vocab.json + merges.txt or spiece.model
// are read the same way for every kind (see docs/tokenizers.md, "Saved tokenizer folders"; each is optional):
//   added_tokens.json (token -> id) and tokenizer_config.json's added_tokens_decoder (id -> AddedToken):
//     tokens matched whole in the text, with their ids; vocab_size() counts them (transformers'
//     len(tokenizer)). Each id must be the vocabulary's own id for that token or continue the vocabulary
//     without a gap (transformers 5 renumbers other ids, transformers 4 kept them: DataError). A token with
//     single_word, or two files that disagree, is a DataError. SentencePiece: only T5's <extra_id_N>
//     sentinels in HF's layout (see lwm/data/sentencepiece_tokenizer.h); any other added token: DataError.
//   special_tokens_map.json and tokenizer_config.json: the special-token names (the map's win, as in
//     transformers) and additional_special_tokens / extra_special_tokens, matched whole.
//   tokenizer_config.json: model_max_length (Tokenizer::model_max_length()); WordPiece: do_lower_case,
//     strip_accents, tokenize_chinese_chars (default: BertTokenizer's, lower-case and strip accents);
//     do_basic_tokenize false or a never_split list: DataError. BPE: add_prefix_space; add_bos_token must
//     agree with the family's template (DataError otherwise). SentencePiece: extra_ids; legacy false or
//     sp_model_kwargs: DataError; special-token names must be the model's own pieces.
// vocab.txt: empty lines at its end (an empty token no text can produce) are not tokens (transformers counts
// them), unless an added token's id needs them. A tokenizer.json states its own added tokens and names;
// beside it only tokenizer_config.json's model_max_length is read (and, for BPE, special_tokens_map.json).
// See lwm/data/wordpiece.h for the exact tokenization rules.
// `family` is the model's family (std::nullopt: unknown); what each family's Hugging Face tokenizer reads is one
// table in tokenizer.cpp:
//   WordPiece: the family is not used (the files state the [CLS] A [SEP] template).
//   BPE: it picks the special tokens and the template (see lwm/data/byte_level_bpe.h): gpt2 A B,
//   opt bos A bos B, roberta <s> A </s></s> B </s>. When it is given, it decides even if a
//   tokenizer.json's post_processor says otherwise; when unknown, a tokenizer.json's post_processor
//   (RobertaProcessing / TemplateProcessing) decides, and otherwise gpt2's. bert, distilbert, electra,
//   xlm-roberta or t5 with a BPE tokenizer is a DataError (those models use WordPiece / SentencePiece).
//   SentencePiece (a .model file, or a directory holding spiece.model or sentencepiece.bpe.model): the family
//   picks the layout (lwm/data/sentencepiece_tokenizer.h): XLM-RoBERTa's for roberta and xlm-roberta (a
//   RoBERTa-layout model with a SentencePiece vocabulary is an XLM-R), T5's for t5; unknown, a file named
//   sentencepiece.bpe.model is read as XLM-R's, any other as T5's. Other families: DataError.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path, std::optional<Family> family = std::nullopt);
// The same, the family given by name (to_string(Family); "": unknown). UsageError for an unknown name.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path, const std::string& family);


}  // namespace lwm
