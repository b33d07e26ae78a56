// T5 SentencePiece tokenizer on the model committed in tests/data/tokenizer/t5 (8000 unigram pieces trained
// on SST-2 train by tools/train_sentencepiece.sh; see the README there). Every expected id list below was
// printed by Debian's `spm_encode --model=tests/data/tokenizer/t5/spiece.model --output_format=id` (pieces
// from --output_format=piece in the comments) and hard-coded; the tokenizer appends </s> (id 1) itself.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/data/sentencepiece_tokenizer.h"
#include "saved_folder_support.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int64_t>;

constexpr int64_t PAD = 0, EOS = 1, UNK = 2;

fs::path model_path() { return test::source_dir() / "tests" / "data" / "tokenizer" / "t5" / "spiece.model"; }

const SentencePieceTokenizer& t5() {
  static auto tok = SentencePieceTokenizer::from_model_file(model_path());
  return *tok;
}

Ids with_eos(Ids ids) {
  ids.push_back(EOS);
  return ids;
}

struct Vector {
  std::string text;
  Ids ids;  // spm_encode's output, without </s>
};

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> v = {
      // ▁hide ▁new ▁secret ion s ▁from ▁the ▁parent al ▁unit s
      {"hide new secretions from the parental units", {3078, 111, 2097, 516, 4, 48, 3, 2702, 116, 3820, 4}},
      // ▁s st 2 ▁sentence : ▁ I t ' s ▁a ▁ G R E A T ▁film , ▁is n ' t ▁it ?  (upper case: single letters)
      {"sst2 sentence: It's a GREAT film, isn't it?",
       {195,  331,  2558, 4987, 7996, 21,   7974, 25,  35, 4,  6,  21,  7976,
        7965, 7978, 7982, 7963, 22,   7231, 13,   124, 35, 25, 16, 7994}},
      // ▁h é ll o ▁ ✓ ▁ 日本  (✓ and 日本 are not in the model: <unk>, one per run of unknown characters)
      {"héllo ✓ 日本", {473, 2183, 199, 141, 21, UNK, 21, UNK}},
      // ▁extra ▁space s  (the model's normaliser drops extra whitespace)
      {"  extra   spaces  ", {2566, 1449, 4}},
      // ▁the ▁movie
      {"the movie", {3, 26}},
      // ▁is ▁terrible ▁and ▁boring
      {"is terrible and boring", {13, 1097, 7, 492}},
      // ▁ < extra _ id _0 > ▁the  (no sentinels with extra_ids 0: ordinary text)
      {"<extra_id_0> the", {21, 7985, 7887, 108, 7948, 708, 7948, 3981, 7984, 3}},
      {"", {}},
  };
  return v;
}

TEST(SentencePieceTokenizer, ModelBasics) {
  const auto& t = t5();
  EXPECT_EQ(t.kind(), "sentencepiece");
  EXPECT_EQ(t.vocab_size(), 8000);
  EXPECT_EQ(t.piece_count(), 8000);
  EXPECT_EQ(t.extra_ids(), 0);
  EXPECT_EQ(t.pad_id(), PAD);
  EXPECT_EQ(t.eos_id(), EOS);
  EXPECT_EQ(t.unk_id(), UNK);
  EXPECT_EQ(t.id_to_token(PAD), "<pad>");
  EXPECT_EQ(t.id_to_token(EOS), "</s>");
  EXPECT_EQ(t.id_to_token(UNK), "<unk>");
  EXPECT_EQ(t.token_to_id("</s>"), EOS);
  EXPECT_EQ(t.token_to_id("<unk>"), UNK);
  EXPECT_EQ(t.token_to_id("▁positive"), 1740);
  EXPECT_EQ(t.token_to_id("no-such-piece"), -1);
  EXPECT_EQ(t.token_to_id("<extra_id_0>"), -1);
  EXPECT_THROW(t.id_to_token(8000), std::out_of_range);
  EXPECT_THROW(t.id_to_token(-1), std::out_of_range);
  EXPECT_THROW(t.sentinel_id(0), std::out_of_range);
  // Through the base interface, as load_tokenizer will hand it out.
  std::unique_ptr<Tokenizer> base = SentencePieceTokenizer::from_model_file(model_path());
  EXPECT_EQ(base->kind(), "sentencepiece");
  EXPECT_EQ(base->encode("the movie", "", 0).ids, (Ids{3, 26, EOS}));
}

TEST(SentencePieceTokenizer, IdsMatchSpmEncodePlusEos) {
  for (const auto& v : vectors()) {
    EXPECT_EQ(t5().token_ids(v.text), v.ids) << v.text;
    const Encoding e = t5().encode(v.text, "", 0);
    EXPECT_EQ(e.ids, with_eos(v.ids)) << v.text;
    EXPECT_EQ(e.type_ids, Ids(e.ids.size(), 0)) << v.text;
  }
  EXPECT_EQ(t5().tokenize("the movie"), (std::vector<std::string>{"▁the", "▁movie"}));
}

TEST(SentencePieceTokenizer, PairsAreAEosBEosWithTypeIdsZero) {
  const Encoding e = t5().encode("the movie", "is terrible and boring", 0);
  EXPECT_EQ(e.ids, (Ids{3, 26, EOS, 13, 1097, 7, 492, EOS}));
  EXPECT_EQ(e.type_ids, Ids(8, 0));
  // An empty first text still gets its </s>.
  EXPECT_EQ(t5().encode("", "the movie", 0).ids, (Ids{EOS, 3, 26, EOS}));
}

TEST(SentencePieceTokenizer, TruncationCountsTheEosTokens) {
  const std::string text = "hide new secretions from the parental units";  // 11 pieces
  EXPECT_EQ(t5().encode(text, "", 5).ids, (Ids{3078, 111, 2097, 516, EOS}));
  EXPECT_EQ(t5().encode(text, "", 12).ids.size(), 12u);
  EXPECT_EQ(t5().encode(text, "", 100).ids.size(), 12u);
  EXPECT_EQ(t5().encode(text, "", 1).ids, (Ids{EOS}));
  EXPECT_EQ(t5().encode(text, "", 0).ids.size(), 12u);  // <= 0: no truncation
  EXPECT_EQ(t5().encode(text, "", -1).ids.size(), 12u);

  // Pairs, longest-first as HF tokenizers cuts them: A = the movie (2), B = is terrible and boring (4).
  const std::string a = "the movie", b = "is terrible and boring";
  EXPECT_EQ(t5().encode(a, b, 8).ids, (Ids{3, 26, EOS, 13, 1097, 7, 492, EOS}));  // fits
  EXPECT_EQ(t5().encode(a, b, 6).ids, (Ids{3, 26, EOS, 13, 1097, EOS}));          // B cut to A's length
  EXPECT_EQ(t5().encode(a, b, 5).ids, (Ids{3, EOS, 13, 1097, EOS}));  // both cut: the shorter keeps 3 / 2
  EXPECT_EQ(t5().encode(b, a, 5).ids, (Ids{13, 1097, EOS, 3, EOS}));
  EXPECT_EQ(t5().encode(a, b, 2).ids, (Ids{EOS, EOS}));
  EXPECT_EQ(t5().encode(a, b, 6).type_ids, Ids(6, 0));
  EXPECT_THROW(t5().encode(a, b, 1), UsageError);
}

TEST(SentencePieceTokenizer, SpecialTokensInTheTextAreKeptWhole) {
  // "the movie </s>": spm_encode would spell "</s>" out (▁ < / s >); HF's T5Tokenizer keeps it whole and
  // then does not append a second one.
  EXPECT_EQ(t5().token_ids("the movie </s>"), (Ids{3, 26, EOS}));
  EXPECT_EQ(t5().encode("the movie </s>", "", 0).ids, (Ids{3, 26, EOS}));
  EXPECT_EQ(t5().token_ids("the<pad>movie<unk>"), (Ids{3, PAD, 26, UNK}));
  EXPECT_EQ(t5().token_ids("  the  </s>  movie  "), (Ids{3, EOS, 26}));
}

TEST(SentencePieceTokenizer, ExtraIdsAreSentinelsAfterThePieces) {
  auto t = SentencePieceTokenizer::from_model_file(model_path(), SentencePieceOptions{100});
  EXPECT_EQ(t->vocab_size(), 8100);
  EXPECT_EQ(t->piece_count(), 8000);
  EXPECT_EQ(t->sentinel_id(0), 8099);  // HF: <extra_id_0> is the last id
  EXPECT_EQ(t->sentinel_id(99), 8000);
  EXPECT_EQ(t->token_to_id("<extra_id_0>"), 8099);
  EXPECT_EQ(t->token_to_id("<extra_id_100>"), -1);
  EXPECT_EQ(t->id_to_token(8099), "<extra_id_0>");
  EXPECT_EQ(t->id_to_token(8000), "<extra_id_99>");
  EXPECT_THROW(t->id_to_token(8100), std::out_of_range);
  EXPECT_EQ(t->token_ids("<extra_id_0> the"), (Ids{8099, 3}));
  EXPECT_EQ(t->encode("the <extra_id_1> movie", "", 0).ids, (Ids{3, 8098, 26, EOS}));
  // Not sentinels: out of range or not spelled as HF spells them; encoded as plain text.
  EXPECT_EQ(t->token_ids("<extra_id_100>"), t5().token_ids("<extra_id_100>"));
  EXPECT_EQ(t->token_ids("<extra_id_01>"), t5().token_ids("<extra_id_01>"));
  EXPECT_EQ(t->pad_id(), PAD);
  EXPECT_THROW(SentencePieceTokenizer::from_model_file(model_path(), SentencePieceOptions{-1}), UsageError);
}

TEST(SentencePieceTokenizer, LabelWordsEncodeWithoutUnk) {
  // spm_encode: each of these five is a single piece (▁positive ...).
  EXPECT_EQ(t5().encode_target("positive"), (Ids{1740, EOS}));
  EXPECT_EQ(t5().encode_target("negative"), (Ids{3502, EOS}));
  EXPECT_EQ(t5().encode_target("acceptable"), (Ids{4088, EOS}));
  EXPECT_EQ(t5().encode_target("unacceptable"), (Ids{7025, EOS}));
  EXPECT_EQ(t5().encode_target("equivalent"), (Ids{2578, EOS}));
  // ▁not _ e qui valent / ▁ en tail m ent / ▁not _ en tail m ent
  EXPECT_EQ(t5().encode_target("not_equivalent"), (Ids{41, 7948, 58, 2853, 7799, EOS}));
  EXPECT_EQ(t5().encode_target("entailment"), (Ids{21, 332, 5572, 101, 663, EOS}));
  EXPECT_EQ(t5().encode_target("not_entailment"), (Ids{41, 7948, 332, 5572, 101, 663, EOS}));
  EXPECT_EQ(t5().encode_target("not_entailment", 3), (Ids{41, 7948, EOS}));
  EXPECT_EQ(t5().encode_target(""), (Ids{EOS}));
  EXPECT_EQ(t5().encode_target("not_entailment", 0).size(), 7u);
}

// A DataError whose one-line message names the file and contains `fragment`.
void expect_load_error(const fs::path& path, const std::string& fragment) {
  try {
    SentencePieceTokenizer::from_model_file(path);
    ADD_FAILURE() << "no DataError for " << path;
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(SentencePieceTokenizer, MissingOrCorruptModelsAreDataErrors) {
  const fs::path dir = fs::path(LWM_BINARY_DIR) / "tests" / "sentencepiece";
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& bytes) {
    const fs::path p = dir / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  };
  std::string model;
  {
    std::ifstream in(model_path(), std::ios::binary);
    model.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(model.size(), 1000u);

  expect_load_error(dir / "nope.model", "no such file");
  expect_load_error(dir, "is a directory");
  expect_load_error(write("empty.model", ""), "empty file");
  expect_load_error(write("text.model", "[PAD]\n[UNK]\nhello\nworld\n"), "not a valid SentencePiece model");
  expect_load_error(write("truncated.model", model.substr(0, model.size() / 2)),
                    "not a valid SentencePiece model");
  expect_load_error(write("binary.model", std::string("\x08\x96\x01\xff\xfe\x00\x13", 7)),
                    "not a valid SentencePiece model");
  expect_load_error(write("no_pieces.model", "\x50\x01"),
                    "not a valid SentencePiece model");  // parses, empty
  // spm_train's default ids (unk 0, bos 1, eos 2, no pad); see tests/data/tokenizer/t5/README.md.
  expect_load_error(model_path().parent_path() / "no_pad.model", "has no <pad> piece");
}

// ---- Folders as save_pretrained writes them (issue 17): read as for every kind ----------------------------
// transformers cannot load a spiece.model folder here (its converter needs the protobuf package, absent from
// the pinned environment: see tools/hf_token_ids.py), so the expectations are T5Tokenizer's layout, stated
// in sentencepiece_tokenizer.h: <extra_id_N> = pieces + extra_ids - 1 - N, len(tokenizer) = pieces + extra_ids.

using nlohmann::json;
using test::SavedFolder;
using test::expect_folder_error;

// A T5Tokenizer folder with `extra` sentinels listed in added_tokens.json as save_pretrained writes them.
json sentinels(int extra, int64_t pieces = 8000) {
  json added = json::object();
  for (int n = 0; n < extra; ++n) added["<extra_id_" + std::to_string(n) + ">"] = pieces + extra - 1 - n;
  return added;
}

TEST(TokenizerSavedFolder, SentencePieceReadsSentinelsNamesAndMaxLength) {
  {
    SavedFolder f;  // tokenizer_config.json's extra_ids with the sentinels listed
    f.copy(model_path());
    f.write_json("added_tokens.json", sentinels(3));
    json names = json::array({"<extra_id_0>", "<extra_id_1>", "<extra_id_2>"});
    f.write_json("special_tokens_map.json", {{"eos_token", "</s>"}, {"pad_token", "<pad>"}, {"unk_token", "<unk>"},
                                             {"additional_special_tokens", names}});
    f.write_json("tokenizer_config.json", {{"extra_ids", 3}, {"model_max_length", 512}, {"legacy", true},
                                           {"additional_special_tokens", names}});
    auto t = load_tokenizer(f.dir);
    EXPECT_EQ(t->kind(), "sentencepiece");
    EXPECT_EQ(t->vocab_size(), 8003);  // len(tokenizer): the sentinels count
    EXPECT_EQ(t->model_max_length(), 512);
    EXPECT_EQ(t->encode("<extra_id_0> the <extra_id_2>", "", 0).ids, (Ids{8002, 3, 8000, EOS}));
    EXPECT_EQ(load_tokenizer(f.dir / "spiece.model")->vocab_size(), 8003);
  }
  {
    SavedFolder f;  // the sentinels listed only in added_tokens.json: as many as listed
    f.copy(model_path());
    f.write_json("added_tokens.json", sentinels(2));
    auto t = load_tokenizer(f.dir);
    EXPECT_EQ(t->vocab_size(), 8002);
    EXPECT_EQ(t->model_max_length(), 0);
    EXPECT_EQ(t->encode("<extra_id_1>", "", 0).ids, (Ids{8000, EOS}));
  }
  {
    SavedFolder f;  // a bare spiece.model folder: as before
    f.copy(model_path());
    EXPECT_EQ(load_tokenizer(f.dir)->vocab_size(), 8000);
  }
}

TEST(TokenizerSavedFolder, SentencePieceRefusesWhatItCannotHonour) {
  auto folder = [](const json& added, const json& specials_map, const json& config) {
    auto f = std::make_unique<SavedFolder>();
    f->copy(model_path());
    if (!added.is_null()) f->write_json("added_tokens.json", added);
    if (!specials_map.is_null()) f->write_json("special_tokens_map.json", specials_map);
    if (!config.is_null()) f->write_json("tokenizer_config.json", config);
    return f;
  };
  expect_folder_error(*folder({{"[NEW]", 8000}}, nullptr, nullptr),
                      "the added token '[NEW]' (id 8000) is not supported with a SentencePiece model");
  expect_folder_error(*folder({{"<extra_id_0>", 8000}, {"<extra_id_1>", 8001}}, nullptr, nullptr),
                      "'<extra_id_0>' has id 8000 but is token 8001");  // not T5Tokenizer's order
  expect_folder_error(*folder(nullptr, nullptr, {{"legacy", false}}), "legacy false is not supported");
  expect_folder_error(*folder(nullptr, nullptr, {{"sp_model_kwargs", {{"enable_sampling", true}}}}),
                      "sp_model_kwargs");
  expect_folder_error(*folder(nullptr, {{"eos_token", "<eos>"}}, nullptr),
                      "eos_token '<eos>' is not the model's own piece '</s>'");
  expect_folder_error(*folder(nullptr, {{"mask_token", "<mask>"}}, nullptr), "mask_token '<mask>' is not supported");
  expect_folder_error(*folder(nullptr, nullptr, {{"extra_ids", 1}, {"additional_special_tokens", {"<extra_id_4>"}}}),
                      "extra_ids 1 but <extra_id_4> is listed");
}

// ---- XLM-RoBERTa's layout (fairseq's numbering) --------------------------------------------------------------
// tests/data/tokenizer/xlm-roberta/sentencepiece.bpe.model: the T5 model's training with <unk> 0, <s> 1, </s> 2,
// so spm_encode gives the same ids as above for these texts; XLMRobertaTokenizer numbers piece i as i + 1 and
// spm's <unk> (0) as 3. (Checked against transformers on 8,543 texts in test_tokenizer_parity.cpp.)

fs::path xlmr_path() {
  return test::source_dir() / "tests" / "data" / "tokenizer" / "xlm-roberta" / "sentencepiece.bpe.model";
}

SentencePieceLayout layout_of(const std::unique_ptr<Tokenizer>& t) {
  const auto* sp = dynamic_cast<const SentencePieceTokenizer*>(t.get());
  if (sp == nullptr) throw std::runtime_error("not a SentencePiece tokenizer");
  return sp->layout();
}

TEST(SentencePieceXlmRoberta, FairseqNumberingAndTemplate) {
  const auto tok = load_tokenizer(xlmr_path(), "xlm-roberta");
  const auto& sp = dynamic_cast<const SentencePieceTokenizer&>(*tok);
  EXPECT_EQ(sp.layout(), SentencePieceLayout::XlmRoberta);
  EXPECT_EQ(tok->vocab_size(), 8002);  // 8000 pieces, <pad> and <mask> added
  EXPECT_EQ(tok->pad_id(), 1);
  EXPECT_EQ(sp.eos_id(), 2);
  EXPECT_EQ(sp.unk_id(), 3);
  const std::pair<const char*, int64_t> tokens[] = {{"<s>", 0},      {"<pad>", 1},    {"</s>", 2},
                                                    {"<unk>", 3},    {"<mask>", 8001}, {"\xE2\x96\x81the", 4},
                                                    {"\xE2\x96\x81hide", 3079}};
  for (const auto& [token, id] : tokens) {
    EXPECT_EQ(sp.token_to_id(token), id) << token;
    EXPECT_EQ(sp.id_to_token(id), token) << id;
  }
  EXPECT_EQ(sp.token_to_id("no-such-piece"), -1);
  EXPECT_THROW(sp.id_to_token(8002), std::out_of_range);

  // spm_encode's ids + 1; its <unk> (0) is 3.
  EXPECT_EQ(tok->encode("hide new secretions from the parental units", "", 0).ids,
            (Ids{0, 3079, 112, 2098, 517, 5, 49, 4, 2703, 117, 3821, 5, 2}));
  EXPECT_EQ(tok->encode("h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC", "", 0).ids,
            (Ids{0, 474, 2184, 200, 142, 22, 3, 22, 3, 2}));
  // <s> A </s> </s> B </s>, type ids 0.
  const Encoding pair = tok->encode("the movie", "is terrible and boring", 0);
  EXPECT_EQ(pair.ids, (Ids{0, 4, 27, 2, 2, 14, 1098, 8, 493, 2}));
  EXPECT_EQ(pair.type_ids, Ids(10, 0));
  // Four specials count towards max_length; longest first (A 4 -> 2 tokens, then B on the tie).
  EXPECT_EQ(tok->encode("is terrible and boring", "the movie", 7).ids, (Ids{0, 14, 1098, 2, 2, 4, 2}));
  EXPECT_EQ(tok->encode("the movie", "", 3).ids, (Ids{0, 4, 2}));
  EXPECT_THROW(tok->encode("the movie", "", 1), UsageError);
  // Its specials written in the text are kept whole.
  EXPECT_EQ(tok->encode("<mask> the movie </s>", "", 0).ids, (Ids{0, 8001, 4, 27, 2, 2}));
}

TEST(SentencePieceXlmRoberta, TheModelFamilyPicksTheLayout) {
  // A RoBERTa-layout model with a SentencePiece vocabulary is an XLM-R; with no family, XLM-R's file name.
  EXPECT_EQ(layout_of(load_tokenizer(xlmr_path(), "roberta")), SentencePieceLayout::XlmRoberta);
  EXPECT_EQ(layout_of(load_tokenizer(xlmr_path(), "")), SentencePieceLayout::XlmRoberta);
  EXPECT_EQ(layout_of(load_tokenizer(xlmr_path().parent_path(), "xlm-roberta")), SentencePieceLayout::XlmRoberta);
  EXPECT_EQ(layout_of(load_tokenizer(model_path(), "")), SentencePieceLayout::T5);
  EXPECT_EQ(layout_of(load_tokenizer(model_path(), "t5")), SentencePieceLayout::T5);
  // spm_train's default ids (no_pad.model: <unk> 0, <s> 1, </s> 2) are XLM-R's: T5 refuses that model, XLM-R
  // reads it.
  EXPECT_EQ(load_tokenizer(model_path().parent_path() / "no_pad.model", "roberta")->vocab_size(), 22);
  auto expect_refused = [](const fs::path& path, const std::string& family, const std::string& fragment) {
    try {
      load_tokenizer(path, family);
      ADD_FAILURE() << "no DataError for " << path << " with family " << family;
    } catch (const DataError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  // T5's model has <pad> first: not XLM-R's layout. WordPiece and BPE families: the wrong file.
  expect_refused(model_path(), "xlm-roberta", "not an XLM-RoBERTa SentencePiece model");
  expect_refused(xlmr_path(), "gpt2", "cannot serve a gpt2 model");
  expect_refused(xlmr_path(), "bert", "cannot serve a bert model");
  expect_refused(test::shared_data() / "vocab" / "gpt2" / "vocab.json", "xlm-roberta", "XLM-RoBERTa uses SentencePiece");
}

TEST(TokenizerSavedFolder, XlmRobertaFolderChecksItsSpecialTokenNames) {
  {  // transformers 4's save_pretrained: the five specials under their own names and ids.
    SavedFolder f;
    f.copy(xlmr_path());
    f.write_json("special_tokens_map.json", {{"bos_token", "<s>"}, {"cls_token", "<s>"}, {"eos_token", "</s>"},
                                             {"sep_token", "</s>"}, {"unk_token", "<unk>"}, {"pad_token", "<pad>"},
                                             {"mask_token", "<mask>"}});
    f.write_json("tokenizer_config.json",
                 {{"model_max_length", 512},
                  {"added_tokens_decoder",
                   {{"0", {{"content", "<s>"}, {"special", true}}},
                    {"1", {{"content", "<pad>"}, {"special", true}}},
                    {"2", {{"content", "</s>"}, {"special", true}}},
                    {"3", {{"content", "<unk>"}, {"special", true}}},
                    {"8001", {{"content", "<mask>"}, {"special", true}, {"lstrip", true}}}}}});
    const auto tok = load_tokenizer(f.dir, "xlm-roberta");
    EXPECT_EQ(tok->vocab_size(), 8002);
    EXPECT_EQ(tok->model_max_length(), 512);
  }
  {
    SavedFolder f;
    f.copy(xlmr_path());
    f.write_json("special_tokens_map.json", {{"mask_token", "[MASK]"}});
    expect_folder_error(f, "mask_token '[MASK]' is not the model's own piece '<mask>'", "xlm-roberta");
  }
  {
    SavedFolder f;
    f.copy(xlmr_path());
    f.write_json("tokenizer_config.json", {{"extra_ids", 10}});
    expect_folder_error(f, "an XLM-RoBERTa tokenizer has none", "xlm-roberta");
  }
}

}  // namespace
}  // namespace lwm
