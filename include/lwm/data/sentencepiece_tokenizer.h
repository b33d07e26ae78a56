#pragma once
// SentencePiece tokenizers with the semantics of Hugging Face's `T5Tokenizer` (the Python one, legacy mode,
// which t5-* checkpoints use) and `XLMRobertaTokenizer`, on Debian's libsentencepiece. lwm_core does not link
// that library: the first model loaded dlopens liblwm_sentencepiece.so (src/data/sentencepiece_shim/), which
// does; it is the file named by the environment variable LWM_SENTENCEPIECE_SHIM if that is set, else the one
// next to the executable, else the one in the build tree. See docs/tokenizers.md, "Why SentencePiece is loaded
// at run time".
//   text -> the model's own normalisation and segmentation (SentencePieceProcessor::EncodeAsIds, what
//   `spm_encode --output_format=id` prints); characters the model lacks -> <unk>.
//   Special tokens written verbatim in the text (the layout's specials below, and <extra_id_N> for
//   N < extra_ids) are kept whole, as HF does; the text between them is encoded piece by piece, whitespace
//   next to a special token dropped.
// Layouts (SentencePieceLayout):
//   T5: the model's own ids. Template: A </s> (single text), A </s> B </s> (pair); every type id is 0 (T5
//   has no segment embeddings). `</s>` is not appended again when the (truncated) sequence already ends
//   with it. The model must define <pad>, </s> and <unk> (T5: ids 0, 1, 2); it may have no <s>.
//   Sentinels: HF appends `extra_ids` tokens after the model's pieces, <extra_id_0> being the LAST id
//   (id = pieces + extra_ids - 1 - N), so vocab_size() = pieces + extra_ids. HF's default is 100 (the
//   released t5-* vocabularies: 32000 pieces + 100 = 32100); models trained here with
//   tools/train_sentencepiece.sh use 0 unless a pipeline asks for sentinels.
//   XlmRoberta: fairseq's dictionary over the model, as XLMRobertaTokenizer (and transformers'
//   XLMRobertaConverter) number it: <s> 0, <pad> 1, </s> 2, <unk> 3, then piece i of the model (i >= 3) at
//   i + 1, and <mask> last, so vocab_size() = pieces + 2 (xlm-roberta-base: 250,000 pieces, 250,002 ids).
//   The model's first three pieces must be <unk>, <s>, </s> (spm_train's defaults, as XLM-R's). Template:
//   <s> A </s> (single text), <s> A </s> </s> B </s> (pair), type ids 0. No sentinels.
// The tokenizer encodes exactly the text it is given: T5's task prefixes ("sst2 sentence: ...",
// "mnli hypothesis: ... premise: ...") are the caller's business.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lwm/data/tokenizer.h"

namespace lwm {

enum class SentencePieceLayout { T5, XlmRoberta };

struct SentencePieceOptions {
  int extra_ids = 0;  // T5 sentinels <extra_id_0..N-1> after the pieces (HF T5Tokenizer default: 100)
  SentencePieceLayout layout = SentencePieceLayout::T5;
};

class SentencePieceTokenizer : public Tokenizer {
 public:
  // Loads a serialized SentencePiece model (spiece.model, sentencepiece.bpe.model). DataError, one line naming
  // the file, when it is missing, unreadable, not a SentencePiece model, or lacks the layout's specials (T5:
  // <pad>/</s>/<unk>; XlmRoberta: <unk>/<s>/</s> as pieces 0, 1, 2), and when liblwm_sentencepiece.so cannot be
  // loaded (naming the paths tried); UsageError for a negative extra_ids, or sentinels with XlmRoberta.
  // Converts to std::unique_ptr<Tokenizer> where load_tokenizer needs one.
  static std::unique_ptr<SentencePieceTokenizer> from_model_file(const std::filesystem::path& path,
                                                                 SentencePieceOptions options = {});
  ~SentencePieceTokenizer() override;
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  // The layout's template (above; an empty `b` means a single text), type ids 0. max_length <= 0: no
  // truncation. Otherwise the special tokens count towards max_length and the texts are cut as HF's
  // "longest_first" does: while too long, drop the last token of the longer text (of B on a tie).
  // UsageError if max_length leaves no room for the special tokens.
  Encoding encode(const std::string& a, const std::string& b, int max_length) const override;
  int64_t vocab_size() const override { return vocab_size_; }
  int64_t pad_id() const override { return pad_id_; }
  std::string kind() const override { return "sentencepiece"; }
  SentencePieceLayout layout() const { return layout_; }

  // A decoder target (label) as T5 trains on it: the text's ids + </s>, e.g. "positive" -> [.., 1]. (T5 only:
  // in XLM-R's layout, which has no decoder, it is encode(text)'s <s> text </s>.)
  // max_length > 0 truncates the text so that ids + </s> fit (UsageError when max_length < 1).
  std::vector<int64_t> encode_target(const std::string& text, int max_length = 0) const;

  // The text's ids without any template (special tokens in the text kept whole, as in encode).
  std::vector<int64_t> token_ids(const std::string& text) const;
  // The same as piece strings ("▁positive"); sentinels as "<extra_id_N>".
  std::vector<std::string> tokenize(const std::string& text) const;

  int64_t token_to_id(std::string_view token) const;  // a piece or <extra_id_N>; -1 when absent
  std::string id_to_token(int64_t id) const;          // std::out_of_range for a bad id
  int64_t eos_id() const { return eos_id_; }
  int64_t unk_id() const override { return unk_id_; }
  std::vector<int64_t> special_ids() const override;  // pad, </s>, <unk>, <s> and <mask> where the layout has them, sentinels
  int64_t piece_count() const { return piece_count_; }  // the model's pieces, without sentinels
  int extra_ids() const { return extra_ids_; }
  int64_t sentinel_id(int n) const;  // <extra_id_n>; std::out_of_range unless 0 <= n < extra_ids

 private:
  class Model;  // a model loaded by liblwm_sentencepiece.so (sentencepiece_tokenizer.cpp)

  SentencePieceTokenizer(std::unique_ptr<Model> sp, const SentencePieceOptions& options,
                         const std::filesystem::path& path);
  // The layout's id of an id the model's Encode gives (XlmRoberta: fairseq's numbering).
  int64_t from_model_id(int64_t id) const;
  // The layout's special pieces with their ids (bos and mask empty / -1 in T5's layout).
  std::array<std::pair<const std::string*, int64_t>, 5> specials() const {
    return {{{&eos_piece_, eos_id_}, {&pad_piece_, pad_id_}, {&unk_piece_, unk_id_}, {&bos_piece_, bos_id_},
             {&mask_piece_, mask_id_}}};
  }
  // Special token spelled at text[pos] (its id and length), or id -1.
  std::pair<int64_t, size_t> special_at(std::string_view text, size_t pos) const;
  void encode_plain(std::string_view text, std::vector<int64_t>& out) const;

  std::unique_ptr<Model> sp_;
  SentencePieceLayout layout_ = SentencePieceLayout::T5;
  int extra_ids_ = 0;
  int64_t piece_count_ = 0, vocab_size_ = 0;
  // In the layout's numbering; bos and mask -1 where the layout has none (T5).
  int64_t pad_id_ = -1, eos_id_ = -1, unk_id_ = -1, bos_id_ = -1, mask_id_ = -1;
  std::string pad_piece_, eos_piece_, unk_piece_, bos_piece_, mask_piece_;
};

}  // namespace lwm
