// Byte-level BPE against GPT-2's real vocabulary (shared/data/vocab/gpt2: vocab.json, merges.txt,
// tokenizer.json) and small hand-written files under tests/data/tokenizer/bpe.
//
// How the expected GPT-2 ids were derived (no `transformers`/`tokenizers` here): each text was split
// by hand following GPT-2's regex ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
// ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+, with \s = Unicode White_Space), and each piece was run through an
// independent stdlib-only Python transcription of GPT-2's encoder.py (bytes_to_unicode, get_pairs, the bpe()
// loop over merges.txt ranks) and looked up in vocab.json. The token strings are in the comments. Spot checks
// by hand in vocab.json: "Hello" 15496, "Ġworld" 995, "ĠHello" 18435, "Ġ" 220, "Ċ" 198, "ĉ" 197, "!" 0, "he"
// 258 (merges.txt line 4 is "h e"), "<|endoftext|>" 50256; and transformers' own docstring for GPT2Tokenizer:
// "Hello world" -> [15496, 995], " Hello world" -> [18435, 995].
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/data/byte_level_bpe.h"
#include "lwm/data/tokenizer.h"
#include "lwm/data/wordpiece.h"
#include "saved_folder_support.h"

namespace lwm {
namespace {

using Ids = std::vector<int64_t>;

const std::string kGpt2Dir = std::string(LWM_SOURCE_DIR) + "/../shared/data/vocab/gpt2";
std::string bpe_data(const std::string& rel) {
  return std::string(LWM_SOURCE_DIR) + "/tests/data/tokenizer/bpe/" + rel;
}

constexpr int64_t EOT = 50256;  // <|endoftext|>

const ByteLevelBpeTokenizer& from_files() {
  static auto tok = ByteLevelBpeTokenizer::from_files(kGpt2Dir + "/vocab.json", kGpt2Dir + "/merges.txt");
  return *tok;
}
const ByteLevelBpeTokenizer& from_json() {
  static auto tok = ByteLevelBpeTokenizer::from_tokenizer_json(kGpt2Dir + "/tokenizer.json");
  return *tok;
}

struct Vector {
  std::string text;
  Ids ids;
};

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> v = {
      {"Hello world", {15496, 995}},              // Hello Ġworld
      {" Hello world", {18435, 995}},             // ĠHello Ġworld (leading space joins the word)
      {"   leading", {220, 220, 3756}},           // Ġ Ġ Ġleading: \s+(?!\S) leaves the last space
      {"Hello  world", {15496, 220, 995}},        // Hello Ġ Ġworld
      {"Hello world  ", {15496, 995, 220, 220}},  // Hello Ġworld Ġ Ġ (trailing "  " is one piece)
      {"I'm sure they'll say don't",
       {40, 1101, 1654, 484, 1183, 910, 836, 470}},  // I 'm Ġsure Ġthey 'll Ġsay Ġdon 't
      {"DON'T", {41173, 6, 51}},                     // DON ' T (the contractions are lower-case only)
      {"'sup", {338, 929}},                          // 's up (GPT-2's quirk)
      {"in 2026, pi is 3.14",
       {259, 1160, 2075, 11, 31028, 318, 513, 13, 1415}},  // in Ġ20 26 , Ġpi Ġis Ġ3 . 14
      {"a caf\u00e9 na\u00efve", {64, 40304, 41492}},      // a ĠcafÃ© ĠnaÃ¯ve
      {"cafe\u0301", {66, 8635, 136, 223}},  // c afe Ì ģ (no normalisation; U+0301 is not \p{L})
      {"I love \U0001F917!",
       {40, 1842, 12520, 97, 245, 0}},  // I Ġlove ĠðŁ ¤ Ĺ ! (" 🤗!" is one piece)
      {"line one\nline two\n\n\tindented", {1370, 530, 198, 1370, 734, 628, 197, 521, 4714}},
      // ^ line Ġone Ċ line Ġtwo ĊĊ ĉ ind ented
      {"Hello!!! How?", {15496, 10185, 1374, 30}},  // Hello !!! ĠHow ?
      {"he", {258}},                                // he: one merge (rank 2)
      {" antidisestablishmentarianism",
       {1885, 29207, 44390, 3699, 1042}},               // Ġant idis establishment arian ism
      {"Tokenization", {30642, 1634}},                  // Token ization
      {"Hello<|endoftext|> world", {15496, EOT, 995}},  // Hello <|endoftext|> Ġworld
      {"a <|endoftext|>b", {64, 220, EOT, 65}},         // a Ġ <|endoftext|> b (no stripping around it)
      {"a\u00a0b", {64, 1849, 65}},                     // a Âł b (NBSP is \s)
      {"a \u0085b", {64, 220, 126, 227, 65}},           // a Ġ Â ħ b (U+0085 is White_Space: its own piece)
      {"\u65e5\u672c\u8a9e", {33768, 98, 17312, 105, 45739, 252}},  // æĹ ¥ æľ ¬ èª ŀ
      {"", {}},
  };
  return v;
}

TEST(TokenizerBpe, HandCheckedVectorsFromVocabAndMerges) {
  for (const auto& v : vectors()) {
    EXPECT_EQ(from_files().token_ids(v.text), v.ids) << "text: " << v.text;
    EXPECT_EQ(from_files().encode(v.text, "", 0).ids, v.ids) << "gpt2 template adds nothing: " << v.text;
  }
}

TEST(TokenizerBpe, TokenizerJsonGivesSameIdsAsVocabAndMerges) {
  for (const auto& v : vectors()) EXPECT_EQ(from_json().token_ids(v.text), v.ids) << "text: " << v.text;
  const std::vector<std::string> more = {"The quick brown fox jumps over the lazy dog.",
                                         "it 's a charming and often affecting journey . ",
                                         "Ça va?  Très bien\u2014merci!",
                                         "x = f(y) + 42;\r\n",
                                         "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD thumbs",
                                         "   "};
  for (const auto& t : more) EXPECT_EQ(from_json().token_ids(t), from_files().token_ids(t)) << t;
}

TEST(TokenizerBpe, TokenStringsAndPieces) {
  EXPECT_EQ(from_files().tokenize("Hello world"), (std::vector<std::string>{"Hello", "\u0120world"}));
  EXPECT_EQ(from_files().pre_tokenize("line one\nline two\n\n\tx"),
            (std::vector<std::string>{"line", " one", "\n", "line", " two", "\n\n", "\t", "x"}));
  EXPECT_EQ(from_files().pre_tokenize("a<|endoftext|>b"),
            (std::vector<std::string>{"a", "<|endoftext|>", "b"}));
}

TEST(TokenizerBpe, DecodeInvertsEncode) {
  for (const auto& v : vectors()) EXPECT_EQ(from_files().decode(v.ids), v.text);
}

TEST(TokenizerBpe, InvalidUtf8ReadsAsReplacementCharacter) {
  // "\xFF" is not UTF-8: it is tokenised as U+FFFD (bytes EF BF BD: ï ¿ ½ -> 4210 123 121 in vocab.json).
  EXPECT_EQ(from_files().token_ids("a\xFF"), from_files().token_ids("a\xEF\xBF\xBD"));
}

TEST(TokenizerBpe, SpecialIdsAndSizes) {
  for (const auto* t : {&from_files(), &from_json()}) {
    EXPECT_EQ(t->kind(), "byte-level-bpe");
    EXPECT_EQ(t->vocab_size(), 50257);
    EXPECT_EQ(t->pad_id(), EOT);  // no <pad> in GPT-2: pad = eos
    EXPECT_EQ(t->bos_id(), EOT);
    EXPECT_EQ(t->eos_id(), EOT);
    EXPECT_EQ(t->token_to_id("\u0120world"), 995);
    EXPECT_EQ(t->id_to_token(15496), "Hello");
    EXPECT_EQ(t->num_merges(), 50000u);
  }
  EXPECT_THROW(from_files().id_to_token(50257), std::out_of_range);
}

// Templates on GPT-2's vocabulary: <s> and </s> are not in it and fall back to <|endoftext|>.
TEST(TokenizerBpe, FamilyTemplatesOnGpt2Vocab) {
  const Ids a = {15496, 995}, b = {40, 1101};  // "Hello world", "I'm"
  auto cat = [](std::initializer_list<Ids> parts) {
    Ids out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  auto gpt2 = load_tokenizer(kGpt2Dir, "gpt2");
  EXPECT_EQ(gpt2->encode("Hello world", "", 0).ids, a);
  EXPECT_EQ(gpt2->encode("Hello world", "I'm", 0).ids, cat({a, b}));
  auto opt = load_tokenizer(kGpt2Dir, "opt");
  EXPECT_EQ(opt->encode("Hello world", "", 0).ids, cat({{EOT}, a}));
  EXPECT_EQ(opt->encode("Hello world", "I'm", 0).ids, cat({{EOT}, a, {EOT}, b}));
  auto roberta = load_tokenizer(kGpt2Dir + "/vocab.json", "roberta");
  EXPECT_EQ(roberta->encode("Hello world", "", 0).ids, cat({{EOT}, a, {EOT}}));
  Encoding e = roberta->encode("Hello world", "I'm", 0);
  EXPECT_EQ(e.ids, cat({{EOT}, a, {EOT, EOT}, b, {EOT}}));
  EXPECT_EQ(e.type_ids, Ids(e.ids.size(), 0));
  EXPECT_EQ(roberta->pad_id(), EOT);
  auto unnamed = load_tokenizer(kGpt2Dir);  // "" -> tokenizer.json's ByteLevel post_processor: gpt2
  EXPECT_EQ(unnamed->encode("Hello world", "I'm", 0).ids, cat({a, b}));
}

TEST(TokenizerBpe, SingleTruncationKeepsTheStart) {
  auto roberta = load_tokenizer(kGpt2Dir, "roberta");
  // "I'm sure they'll say don't": 8 tokens; max_length 5 keeps <s> + 3 + </s>.
  EXPECT_EQ(roberta->encode("I'm sure they'll say don't", "", 5).ids, (Ids{EOT, 40, 1101, 1654, EOT}));
  EXPECT_EQ(from_files().encode("I'm sure they'll say don't", "", 3).ids, (Ids{40, 1101, 1654}));
  EXPECT_EQ(from_files().encode("Hello world", "", 10).ids, (Ids{15496, 995}));
}

TEST(TokenizerBpe, PairTruncationLongestFirst) {
  const std::string a = "I'm sure they'll say don't";  // 40 1101 1654 484 1183 910 836 470
  const std::string b = "Hello world";                 // 15496 995
  // gpt2, budget 6: drop from A until 4 + 2.
  EXPECT_EQ(from_files().encode(a, b, 6).ids, (Ids{40, 1101, 1654, 484, 15496, 995}));
  // budget 3 (odd): A 4 vs B 2 -> A down to 2, then ties drop from B: A 2 B 1.
  EXPECT_EQ(from_files().encode(a, b, 3).ids, (Ids{40, 1101, 15496}));
  // roberta, max_length 8 = 4 specials + 4 tokens: A 2, B 2.
  auto roberta = load_tokenizer(kGpt2Dir, "roberta");
  EXPECT_EQ(roberta->encode(a, b, 8).ids, (Ids{EOT, 40, 1101, EOT, EOT, 15496, 995, EOT}));
  // opt, max_length 5 = 2 specials + 3: A 2, B 1.
  auto opt = load_tokenizer(kGpt2Dir, "opt");
  EXPECT_EQ(opt->encode(a, b, 5).ids, (Ids{EOT, 40, 1101, EOT, 15496}));
}

TEST(TokenizerBpe, MaxLengthTooSmallIsUsageError) {
  auto roberta = load_tokenizer(kGpt2Dir, "roberta");
  EXPECT_THROW(roberta->encode("hi", "", 1), UsageError);
  EXPECT_THROW(roberta->encode("hi", "there", 3), UsageError);
  EXPECT_NO_THROW(roberta->encode("hi", "there", 4));
}

TEST(TokenizerBpe, ConcurrentEncodingMatches) {
  auto tok = ByteLevelBpeTokenizer::from_files(kGpt2Dir + "/vocab.json", kGpt2Dir + "/merges.txt");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (const auto& v : vectors()) failures[static_cast<size_t>(t)] += tok->token_ids(v.text) != v.ids;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

// ---- Hand-written small tokenizers --------------------------------------------------------------------
// roberta_tiny.json: vocab <s>0 <pad>1 </s>2 <unk>3 a4 b5 c6 Ġ7 ab8 Ġab9 abc10 Ġc11 <mask>12,
// merges (array form) a+b, Ġ+ab, ab+c, Ġ+c; RobertaProcessing; <mask> has lstrip.
TEST(TokenizerBpe, RobertaTokenizerJson) {
  auto t = load_tokenizer(bpe_data("roberta_tiny.json"));  // family "": RobertaProcessing decides
  EXPECT_EQ(t->kind(), "byte-level-bpe");
  EXPECT_EQ(t->vocab_size(), 13);
  EXPECT_EQ(t->pad_id(), 1);
  // "ab" -> ab; " abc": Ġ a b c -> Ġ ab c (rank 0) -> Ġab c (rank 1 beats ab+c) -> Ġab c.
  EXPECT_EQ(t->encode("ab abc", "", 0).ids, (Ids{0, 8, 9, 6, 2}));
  EXPECT_EQ(t->encode("ab", "c", 0).ids, (Ids{0, 8, 2, 2, 6, 2}));
  // <mask> takes the space before it (lstrip): "ab" <mask> " c"; <s> in the text is matched whole.
  EXPECT_EQ(t->encode("ab <mask> c", "", 0).ids, (Ids{0, 8, 12, 11, 2}));
  EXPECT_EQ(t->encode("<s>ab</s>", "", 0).ids, (Ids{0, 0, 8, 2, 2}));
  // The caller's family decides over the post_processor.
  EXPECT_EQ(load_tokenizer(bpe_data("roberta_tiny.json"), "gpt2")->encode("ab", "c", 0).ids, (Ids{8, 6}));
  auto opt = load_tokenizer(bpe_data("roberta_tiny.json"), "opt");  // bos "</s>" = 2
  EXPECT_EQ(opt->encode("ab", "", 0).ids, (Ids{2, 8}));
  EXPECT_EQ(opt->encode("ab", "c", 0).ids, (Ids{2, 8, 2, 6}));
  EXPECT_EQ(opt->pad_id(), 1);
}

// opt_tiny.json: the same vocabulary with add_prefix_space and a Sequence[ByteLevel,
// TemplateProcessing "</s> $A" / "</s> $A </s> $B"] post_processor (what HF writes for add_bos_token).
TEST(TokenizerBpe, TemplateProcessingAndPrefixSpace) {
  auto t = load_tokenizer(bpe_data("opt_tiny.json"));
  // add_prefix_space (tokenizers' rule): " ab" -> Ġab, but no second space before " abc".
  EXPECT_EQ(t->encode("ab", "", 0).ids, (Ids{2, 9}));
  EXPECT_EQ(t->encode(" ab", "", 0).ids, (Ids{2, 9}));
  EXPECT_EQ(t->encode("ab abc", "c", 0).ids, (Ids{2, 9, 9, 6, 2, 11}));
  // After a verbatim token the next piece gets its own prefix space; <mask> has no lstrip here.
  EXPECT_EQ(t->encode("ab<mask>c", "", 0).ids, (Ids{2, 9, 12, 11}));
}

// tiny/: vocab.json <|endoftext|>0 a1 b2 c3 Ġ4 ab5 Ġab6 abc7 !8; merges a+b, Ġ+ab, ab+c;
// added_tokens.json <pad>9; special_tokens_map.json names <pad>.
TEST(TokenizerBpe, VocabJsonDirectoryWithAddedTokens) {
  auto t = load_tokenizer(bpe_data("tiny"));  // no tokenizer.json, no vocab.txt -> vocab.json + merges.txt
  EXPECT_EQ(t->kind(), "byte-level-bpe");
  EXPECT_EQ(t->vocab_size(), 10);  // max id + 1, counting the added <pad>
  EXPECT_EQ(t->pad_id(), 9);
  EXPECT_EQ(t->encode("ab abc!", "", 0).ids, (Ids{5, 6, 3, 8}));  // ab Ġab c ! (no Ġab+c merge)
  EXPECT_EQ(t->encode("abc", "", 0).ids, (Ids{7}));               // a b c -> ab c -> abc
  EXPECT_EQ(t->encode("<pad>ab<|endoftext|>", "", 0).ids, (Ids{9, 5, 0}));
  EXPECT_EQ(load_tokenizer(bpe_data("tiny/merges.txt"))->encode("abc", "", 0).ids, (Ids{7}));
  try {
    t->encode("abx", "", 0);
    ADD_FAILURE() << "no DataError for a byte missing from the vocabulary";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
}

TEST(TokenizerLoadBpe, DispatchByPathAndFamily) {
  EXPECT_EQ(load_tokenizer(kGpt2Dir)->kind(), "byte-level-bpe");
  EXPECT_EQ(load_tokenizer(kGpt2Dir + "/tokenizer.json")->kind(), "byte-level-bpe");
  EXPECT_EQ(load_tokenizer(kGpt2Dir + "/vocab.json")->encode("Hello world", "", 0).ids, (Ids{15496, 995}));
  EXPECT_EQ(load_tokenizer(kGpt2Dir + "/merges.txt")->encode("Hello world", "", 0).ids, (Ids{15496, 995}));
  // WordPiece files stay WordPiece whatever the family (their files state the template).
  const std::string bert = std::string(LWM_SOURCE_DIR) + "/tests/data/vocab/bert-base-uncased";
  for (const char* family : {"", "bert", "roberta", "gpt2"}) {
    EXPECT_EQ(load_tokenizer(bert + "/tokenizer.json", family)->kind(), "wordpiece");
    EXPECT_EQ(load_tokenizer(bert, family)->kind(), "wordpiece");
  }
  EXPECT_THROW(load_tokenizer(kGpt2Dir, "bert"), DataError);
  EXPECT_THROW(load_tokenizer(kGpt2Dir, "distilbert"), DataError);
  EXPECT_THROW(load_tokenizer(kGpt2Dir, "t5"), DataError);
  EXPECT_THROW(load_tokenizer(kGpt2Dir, "llama"), UsageError);
  // The pipeline passes the model's Family itself: the same table decides, whichever way the family is given.
  for (Family f : {Family::Bert, Family::DistilBert, Family::Electra, Family::XlmRoberta, Family::T5}) {
    EXPECT_THROW(load_tokenizer(kGpt2Dir, f), DataError) << to_string(f);
  }
  for (Family f : {Family::Gpt2, Family::Opt, Family::Roberta}) {
    EXPECT_EQ(load_tokenizer(kGpt2Dir, f)->encode("Hello world", "", 0).ids,
              load_tokenizer(kGpt2Dir, to_string(f))->encode("Hello world", "", 0).ids)
        << to_string(f);
  }
}

void expect_load_error(const std::string& path, const std::string& fragment) {
  try {
    load_tokenizer(path);
    ADD_FAILURE() << "no DataError for " << path;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
  }
}

TEST(TokenizerLoadBpe, MissingOrMalformedFilesAreDataErrors) {
  expect_load_error(bpe_data("no_merges"), "merges.txt: no such file");
  expect_load_error(bpe_data("no_merges/vocab.json"), "merges.txt: no such file");
  expect_load_error(bpe_data("malformed"), "malformed/vocab.json: invalid JSON");
  expect_load_error(bpe_data("bad_merge"), "'ab', which is not in the vocabulary");
  expect_load_error(bpe_data("nope/vocab.json"), "no such");
  // A BPE tokenizer.json without a ByteLevel pre-tokenizer (e.g. SentencePiece-style BPE) is refused.
  expect_load_error(std::string(LWM_SOURCE_DIR) + "/tests/data/tokenizer/bpe.json", "'BPE' is not supported");
}

// ---- Folders as save_pretrained writes them (issue 17): read as for every kind ----------------------------

using nlohmann::json;
using test::SavedFolder;
using test::expect_folder_error;

void write_gpt2_folder(const SavedFolder& f, const json& added, const json& specials_map, const json& config) {
  f.copy(kGpt2Dir + "/vocab.json");
  f.copy(kGpt2Dir + "/merges.txt");
  if (!added.is_null()) f.write_json("added_tokens.json", added);
  if (!specials_map.is_null()) f.write_json("special_tokens_map.json", specials_map);
  if (!config.is_null()) f.write_json("tokenizer_config.json", config);
}

const std::vector<std::pair<std::string, std::string>> kBpeFolderTexts = {
    {"hi<pad> <PAD> there<new>", ""},
    {"Hello world", "<new> again<pad>"},
    {"<|endoftext|>x <new>y", ""},
};

void expect_bpe_parity(const SavedFolder& f, const std::string& hf_class, const std::string& family,
                       const std::string& label) {
  json hf = test::hf_saved_folder_ids(hf_class, f.dir, kBpeFolderTexts);
  ASSERT_FALSE(hf.is_null()) << label;
  ASSERT_FALSE(hf.contains("error")) << label << ": " << hf.dump();
  auto t = load_tokenizer(f.dir, family);
  EXPECT_EQ(t->vocab_size(), hf["len"].get<int64_t>()) << label;
  EXPECT_EQ(t->model_max_length(), hf["model_max_length"].is_null() ? 0 : hf["model_max_length"].get<int64_t>())
      << label;
  for (size_t i = 0; i < kBpeFolderTexts.size(); ++i) {
    const auto& [a, b] = kBpeFolderTexts[i];
    EXPECT_EQ(t->encode(a, b, 0).ids, hf["ids"][i].get<Ids>()) << label << ": " << a << " | " << b;
  }
}

TEST(TokenizerSavedFolder, ByteLevelBpeMatchesTransformers) {
  const json added = {{"<pad>", 50257}, {"<new>", 50258}};
  {
    SavedFolder f;
    write_gpt2_folder(f, added, {{"pad_token", "<pad>"}}, {{"model_max_length", 1024}});
    expect_bpe_parity(f, "gpt2", "gpt2", "gpt2, added tokens");
  }
  {
    SavedFolder f;  // tokenizer_config.json's add_prefix_space
    write_gpt2_folder(f, added, {{"pad_token", "<pad>"}}, {{"add_prefix_space", true}, {"add_bos_token", false}});
    expect_bpe_parity(f, "gpt2", "gpt2", "gpt2, add_prefix_space");
  }
  {
    SavedFolder f;  // RoBERTa on GPT-2's files, every special token <|endoftext|>, one added token
    const json eot = "<|endoftext|>";
    write_gpt2_folder(f, {{"<new>", 50257}},
                      {{"bos_token", eot}, {"eos_token", eot}, {"unk_token", eot}, {"pad_token", eot},
                       {"cls_token", eot}, {"sep_token", eot}, {"mask_token", eot}},
                      {{"model_max_length", 512}});
    expect_bpe_parity(f, "roberta", "roberta", "roberta, added token");
  }
}

TEST(TokenizerSavedFolder, ByteLevelBpeRefusesAmbiguousIdsAndUnsupportedOptions) {
  {
    SavedFolder f;  // a gap: transformers 5 renumbers it to 50257, transformers 4 kept 50260
    write_gpt2_folder(f, {{"<pad>", 50260}}, nullptr, nullptr);
    expect_folder_error(f, "'<pad>' has id 50260, expected 50257");
  }
  {
    SavedFolder f;  // an id that is another vocabulary token
    write_gpt2_folder(f, {{"<pad>", 5}}, nullptr, nullptr);
    expect_folder_error(f, "'<pad>' has id 5, expected 50257");
  }
  {
    // Ids beyond the vocabulary's entries (fuzz finding: {"00": 777777777} sized a 24 GB id table), from
    // vocab.json and from a tokenizer.json's added tokens: one DataError, nothing allocated by the id.
    SavedFolder f;
    f.write_json("vocab.json", {{"a", 0}, {"b", 777777777}});
    f.write("merges.txt", "#version: 0.2\n");
    expect_folder_error(f, "token 'b' has the id 777777777, outside 0..1 (the vocabulary has 2 entries)");
  }
  {
    SavedFolder f;
    json tj = json::parse(std::ifstream(kGpt2Dir + "/tokenizer.json"));
    tj["added_tokens"].push_back({{"id", 2000000000}, {"content", "<x>"}, {"special", true}});
    f.write_json("tokenizer.json", tj);
    expect_folder_error(f, "2000000000");
  }
  {
    SavedFolder f;
    write_gpt2_folder(f, nullptr, nullptr, {{"add_bos_token", true}});
    expect_folder_error(f, "add_bos_token true is not supported", "gpt2");
  }
  {
    SavedFolder f;
    write_gpt2_folder(f, nullptr, nullptr, {{"add_bos_token", false}});
    expect_folder_error(f, "add_bos_token false is not supported", "opt");
  }
  {
    SavedFolder f;
    write_gpt2_folder(f, {{"<pad>", 50257}}, nullptr,
                      {{"added_tokens_decoder", {{"50257", {{"content", "<pad>"}, {"single_word", true}}}}}});
    expect_folder_error(f, "single_word true");
  }
}

}  // namespace
}  // namespace lwm
