// libFuzzer target: byte-level BPE (GPT-2 / OPT / RoBERTa) encoding of arbitrary bytes. The vocabulary is made
// here: all 256 byte symbols (so every text encodes), a few merges, and the families' special tokens.
// Input: byte 0 = max_length (0: none) in its high 6 bits and, in its low 2, the tokenizer (gpt2, opt,
// roberta, gpt2 with add_prefix_space); then text A '\0' text B.
#include <array>
#include <memory>

#include "encode_checks.h"
#include "lwm/data/byte_level_bpe.h"

namespace {

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for U+0100 on.
std::array<std::string, 256> byte_symbols() {
  std::array<std::string, 256> out;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const int cp = printable ? b : next++;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
    out[b] = s;
  }
  return out;
}

std::unique_ptr<lwm::ByteLevelBpeTokenizer> make(lwm::Family family, bool prefix_space) {
  const auto sym = byte_symbols();
  lwm::ByteLevelBpeTokenizer::Vocab vocab;
  for (const char* special : {"<|endoftext|>", "<s>", "</s>", "<pad>", "<unk>", "<mask>"}) {
    vocab.emplace(special, static_cast<int64_t>(vocab.size()));
  }
  for (const auto& s : sym) vocab.emplace(s, static_cast<int64_t>(vocab.size()));
  const std::string G = sym[' '];  // "Ġ"
  const std::pair<std::string, std::string> merge_list[] = {
      {G, "t"}, {"h", "e"}, {G + "t", "he"}, {"i", "n"}, {G, "a"}, {"e", "r"}, {"o", "n"}, {G + "a", "n"},
      {"r", "e"}, {G, "s"}, {"in", "g"}, {G + "t", "h"}, {sym[0xc3], sym[0xa9]}, {G, G}, {"1", "2"}};
  lwm::ByteLevelBpeTokenizer::Merges merges;
  for (const auto& m : merge_list) {
    merges.push_back(m);
    vocab.emplace(m.first + m.second, static_cast<int64_t>(vocab.size()));
  }
  lwm::ByteLevelBpeOptions opt;
  opt.family = family;
  opt.add_prefix_space = prefix_space;
  if (family == lwm::Family::Roberta) opt.added_tokens.push_back({"<mask>", vocab.at("<mask>"), true, false});
  return std::make_unique<lwm::ByteLevelBpeTokenizer>(std::move(vocab), merges, std::move(opt));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<lwm::ByteLevelBpeTokenizer> toks[4] = {
      make(lwm::Family::Gpt2, false), make(lwm::Family::Opt, false), make(lwm::Family::Roberta, false),
      make(lwm::Family::Gpt2, true)};
  if (size < 1) return 0;
  const int which = data[0] & 3;
  const lwm::ByteLevelBpeTokenizer& tok = *toks[which];
  const int max_length = data[0] >> 2;
  const auto texts = lwm_fuzz::split_nul({reinterpret_cast<const char*>(data) + 1, size - 1});
  const std::string_view a = texts.first, b = texts.second;
  return lwm_fuzz::guarded([&] {
    lwm_fuzz::encode_and_check(tok, max_length, a, b);
    const std::string text(a);
    const auto ids = tok.token_ids(text);
    const auto tokens = tok.tokenize(text);
    LWM_FUZZ_CHECK(ids.size() == tokens.size());
    for (size_t i = 0; i < ids.size(); ++i) LWM_FUZZ_CHECK(tok.token_to_id(tokens[i]) == ids[i]);
    std::string pieces;
    for (const auto& p : tok.pre_tokenize(text)) pieces += p;
    // GPT-2 without a prefix space loses nothing: the pieces and the decoded ids are the text, when it is UTF-8
    // (invalid UTF-8 reads as U+FFFD).
    if (which == 0 && lwm_fuzz::valid_utf8(text)) {
      LWM_FUZZ_CHECK(pieces == text);
      LWM_FUZZ_CHECK(tok.decode(ids) == text);
    }
  });
}
