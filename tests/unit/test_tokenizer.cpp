// WordPiece tokenizer against hand-looked-up ids of bert-base-uncased (tests/data/vocab/bert-base-uncased,
// a copy of shared/data/vocab): every expected id below is the 0-based line number of the token in
// vocab.txt, and where a word splits, the longer candidates were checked to be absent from the vocab.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/data/tokenizer.h"
#include "lwm/data/wordpiece.h"
#include "saved_folder_support.h"

namespace lwm {
namespace {

using Ids = std::vector<int64_t>;

std::string data_file(const std::string& rel) { return std::string(LWM_SOURCE_DIR) + "/tests/data/" + rel; }
const std::string kBertDir = data_file("vocab/bert-base-uncased");

constexpr int64_t CLS = 101, SEP = 102, UNK = 100, MASK = 103;

const WordPieceTokenizer& vocab_txt() {
  static auto tok = WordPieceTokenizer::from_vocab_file(kBertDir + "/vocab.txt");
  return *tok;
}
const WordPieceTokenizer& tokenizer_json() {
  static auto tok = WordPieceTokenizer::from_tokenizer_json(kBertDir + "/tokenizer.json");
  return *tok;
}

struct Vector {
  std::string text;
  Ids ids;  // without [CLS]/[SEP]
};

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> v = {
      {"Hello World", {7592, 2088}},                                        // hello world
      {"Café naïve résumé", {7668, 15743, 13746}},                          // cafe naive resume
      {"cafe\u0301", {7668}},                                               // decomposed accent -> cafe
      {"don't", {2123, 1005, 1056}},                                        // don ' t
      {"U.S.A.!", {1057, 1012, 1055, 1012, 1037, 1012, 999}},               // u . s . a . !
      {"hello,world", {7592, 1010, 2088}},                                  // hello , world
      {"unaffable", {14477, 20961, 3468}},                                  // una ##ffa ##ble
      {"tokenization", {19204, 3989}},                                      // token ##ization
      {"snowman \u2603 \U0001F600", {4586, 2386, UNK, UNK}},                // snow ##man [UNK] [UNK]
      {std::string(101, 'a'), {UNK}},                                       // > 100 chars
      {"\u4e2d\u6587", {1746, 1861}},                                       // CJK: each ideograph alone
      {"hello\u4e2d\u6587world", {7592, 1746, 1861, 2088}},                 // ... even inside a word
      {"hel\x01lo wor\u200bld", {7592, 2088}},                              // Cc and Cf dropped
      {"hello\u00a0world\tthe\ncat", {7592, 2088, 1996, 4937}},             // Zs, \t, \n are spaces
      {"hello [MASK] world [mask]", {7592, MASK, 2088, 1031, 7308, 1033}},  // specials kept verbatim only
      {"\u039f\u0394\u039f\u03a3", {1169, 29722, 15297}},  // ΟΔΟΣ -> ο ##δ ##ος (Python's final sigma)
      {"", {}},
  };
  return v;
}

Ids with_specials(const Ids& ids) {
  Ids out = {CLS};
  out.insert(out.end(), ids.begin(), ids.end());
  out.push_back(SEP);
  return out;
}

TEST(TokenizerWordPiece, HandCheckedVectors) {
  for (const auto& v : vectors()) {
    Encoding e = vocab_txt().encode(v.text, "", 0);
    EXPECT_EQ(e.ids, with_specials(v.ids)) << v.text;
    EXPECT_EQ(e.type_ids, Ids(v.ids.size() + 2, 0)) << v.text;
  }
}

TEST(TokenizerWordPiece, TokenStrings) {
  EXPECT_EQ(vocab_txt().tokenize("unaffable"), (std::vector<std::string>{"una", "##ffa", "##ble"}));
  EXPECT_EQ(vocab_txt().basic_tokenize("Héllo, WORLD!"),
            (std::vector<std::string>{"hello", ",", "world", "!"}));
}

TEST(TokenizerWordPiece, HundredCharWordIsNotUnknown) {
  // 100 'a': aaa + 48 x ##aa + ##a ("aaaa" and "##aaa" are not in the vocab).
  Ids expected = {13360};
  expected.insert(expected.end(), 48, 11057);
  expected.push_back(2050);
  EXPECT_EQ(vocab_txt().token_ids(std::string(100, 'a')), expected);
}

TEST(TokenizerWordPiece, TokenizerJsonGivesSameIdsAsVocabTxt) {
  ASSERT_EQ(tokenizer_json().vocab_size(), 30522);
  ASSERT_EQ(vocab_txt().vocab_size(), 30522);
  for (const auto& v : vectors()) {
    EXPECT_EQ(tokenizer_json().encode(v.text, "", 0).ids, vocab_txt().encode(v.text, "", 0).ids) << v.text;
  }
  Encoding a = tokenizer_json().encode("The cat sat.", "It was happy.", 9);
  Encoding b = vocab_txt().encode("The cat sat.", "It was happy.", 9);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.type_ids, b.type_ids);
}

TEST(TokenizerWordPiece, PairTemplateAndTypeIds) {
  Encoding e = vocab_txt().encode("The cat sat.", "It was happy.", 128);
  EXPECT_EQ(e.ids, (Ids{CLS, 1996, 4937, 2938, 1012, SEP, 2009, 2001, 3407, 1012, SEP}));
  EXPECT_EQ(e.type_ids, (Ids{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
}

TEST(TokenizerWordPiece, SingleTruncationKeepsTheStart) {
  Encoding e = vocab_txt().encode("Mr Jones went to Paris yesterday", "", 5);
  EXPECT_EQ(e.ids, (Ids{CLS, 2720, 3557, 2253, SEP}));
}

TEST(TokenizerWordPiece, PairTruncationLongestFirst) {
  // HF tokenizers' longest_first (each expected value checked with tokenizers 0.23 on bert-base-uncased's
  // tokenizer.json). A: mr jones went to paris yesterday and bought bread . (10)   B: she liked it very much .
  // (6). max 12 -> 9 text tokens: both must be cut, the shorter (B) keeps 9 / 2 = 4, A the other 5.
  Encoding e =
      vocab_txt().encode("Mr Jones went to Paris yesterday and bought bread.", "She liked it very much.", 12);
  EXPECT_EQ(e.ids, (Ids{CLS, 2720, 3557, 2253, 2000, 3000, SEP, 2016, 4669, 2009, 2200, SEP}));
  EXPECT_EQ(e.type_ids, (Ids{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
  // A tie: A counts as the shorter and keeps 3 / 2 = 1, B the spare token.
  EXPECT_EQ(vocab_txt().encode("the cat", "it was", 6).ids, (Ids{CLS, 1996, SEP, 2009, 2001, SEP}));
  // Only the longer one shrinks while it is longer.
  EXPECT_EQ(vocab_txt().encode("Mr Jones went to Paris yesterday", "it", 7).ids,
            (Ids{CLS, 2720, 3557, 2253, SEP, 2009, SEP}));
}

TEST(TokenizerWordPiece, MaxLengthTooSmallIsUsageError) {
  EXPECT_THROW(vocab_txt().encode("a", "b", 2), UsageError);
  EXPECT_THROW(vocab_txt().encode("a", "", 1), UsageError);
  EXPECT_EQ(vocab_txt().encode("a b c", "x y", 3).ids, (Ids{CLS, SEP, SEP}));
}

TEST(TokenizerWordPiece, SpecialIdsAndLookups) {
  const auto& t = vocab_txt();
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.cls_id(), CLS);
  EXPECT_EQ(t.sep_id(), SEP);
  EXPECT_EQ(t.unk_id(), UNK);
  EXPECT_EQ(t.kind(), "wordpiece");
  EXPECT_EQ(t.token_to_id("hello"), 7592);
  EXPECT_EQ(t.token_to_id("no-such-token"), -1);
  EXPECT_EQ(t.id_to_token(2088), "world");
  EXPECT_THROW(t.id_to_token(30522), std::out_of_range);
}

TEST(TokenizerWordPiece, CasedOptionsKeepCaseAndAccentsAfterNfc) {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]",     "[CLS]", "[SEP]", "Hello",
                                    "hello", "caf\u00e9", "cafe",  "!"};
  WordPieceOptions cased;
  cased.lowercase = false;
  WordPieceTokenizer t(vocab, cased);
  // "cafe" + combining acute is composed by NFC into "café" (id 6); case is kept.
  EXPECT_EQ(t.token_ids("Hello hello cafe\u0301 caf\u00e9!"), (Ids{4, 5, 6, 6, 8}));
  WordPieceOptions lower_keep_accents;
  lower_keep_accents.strip_accents = false;
  WordPieceTokenizer u(vocab, lower_keep_accents);
  EXPECT_EQ(u.token_ids("HELLO CAF\u00c9"), (Ids{5, 6}));
  WordPieceTokenizer stripped(vocab);  // default: lower-case and strip accents
  EXPECT_EQ(stripped.token_ids("HELLO CAF\u00c9"), (Ids{5, 7}));
}

TEST(TokenizerLoad, FromDirectoryFileOrJson) {
  auto dir = load_tokenizer(kBertDir);
  EXPECT_EQ(dir->kind(), "wordpiece");
  EXPECT_EQ(dir->vocab_size(), 30522);
  EXPECT_EQ(dir->pad_id(), 0);
  EXPECT_EQ(dir->encode("Hello World", "", 0).ids, (Ids{CLS, 7592, 2088, SEP}));
  auto txt = load_tokenizer(kBertDir + "/vocab.txt");
  EXPECT_EQ(txt->encode("Café", "", 0).ids, (Ids{CLS, 7668, SEP}));
  auto json = load_tokenizer(kBertDir + "/tokenizer.json");
  EXPECT_EQ(json->encode("Café", "", 0).ids, (Ids{CLS, 7668, SEP}));
}

TEST(TokenizerLoad, TokenizerConfigBesideVocabSetsCasing) {
  auto t = load_tokenizer(data_file("tokenizer/cased"));
  // vocab: [PAD] [UNK] [CLS] [SEP] [MASK] Hello hello café cafe ##s Café !
  EXPECT_EQ(t->encode("Hello hello Café cafes!", "", 0).ids, (Ids{2, 5, 6, 10, 8, 9, 11, 3}));
}

void expect_load_error(const std::string& path, const std::string& fragment) {
  try {
    load_tokenizer(path);
    ADD_FAILURE() << "no DataError for " << path;
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(TokenizerLoad, MissingOrMalformedFilesAreDataErrors) {
  expect_load_error(data_file("tokenizer/nope"), "no such");
  expect_load_error(data_file("tokenizer/empty_dir"), "holds none of spiece.model, sentencepiece.bpe.model, tokenizer.json, vocab.txt");
  expect_load_error(data_file("tokenizer/empty_vocab.txt"), "empty vocabulary");
  expect_load_error(data_file("tokenizer/no_unk_vocab.txt"), "'[UNK]' is not in the vocabulary");
  expect_load_error(data_file("tokenizer/broken.json"), "invalid JSON");
  expect_load_error(data_file("tokenizer/bpe.json"), "'BPE' is not supported");
  expect_load_error(data_file("tokenizer/bad_ids.json"), "model.vocab ids");
}

// ---- Folders as save_pretrained writes them (issue 17) --------------------------------------------------

using nlohmann::json;
using test::SavedFolder;
using test::expect_folder_error;

std::string bert_vocab_text() {
  std::ifstream in(kBertDir + "/vocab.txt", std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const json kBertSpecialsMap = {{"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}, {"pad_token", "[PAD]"},
                               {"sep_token", "[SEP]"}, {"unk_token", "[UNK]"}};

// A BertTokenizer folder: vocab.txt (+ `vocab_tail`), and each json file unless null.
void write_bert_folder(const SavedFolder& f, const json& added, const json& specials_map, const json& config,
                       const std::string& vocab_tail = "") {
  f.write("vocab.txt", bert_vocab_text() + vocab_tail);
  if (!added.is_null()) f.write_json("added_tokens.json", added);
  if (!specials_map.is_null()) f.write_json("special_tokens_map.json", specials_map);
  if (!config.is_null()) f.write_json("tokenizer_config.json", config);
}

const std::vector<std::pair<std::string, std::string>> kFolderTexts = {
    {"Hello [NEW] world [new] x[NEW]y", ""},
    {"Café NAÏVE [NEW]", ""},
    {"a [NEW] b <sp> [MASK]", "c [new] <SP> [unused1] [CLS]"},
    {"[unused1] hello [unused2]", ""},
};

// lwm against transformers' BertTokenizer.from_pretrained on the same folder: ids, len(tokenizer) and
// model_max_length.
void expect_bert_parity(const SavedFolder& f, const std::string& label) {
  json hf = test::hf_saved_folder_ids("bert", f.dir, kFolderTexts);
  ASSERT_FALSE(hf.is_null()) << label;
  ASSERT_FALSE(hf.contains("error")) << label << ": " << hf.dump();
  auto t = load_tokenizer(f.dir);
  EXPECT_EQ(t->vocab_size(), hf["len"].get<int64_t>()) << label;
  EXPECT_EQ(t->model_max_length(), hf["model_max_length"].is_null() ? 0 : hf["model_max_length"].get<int64_t>())
      << label;
  for (size_t i = 0; i < kFolderTexts.size(); ++i) {
    const auto& [a, b] = kFolderTexts[i];
    EXPECT_EQ(t->encode(a, b, 0).ids, hf["ids"][i].get<Ids>()) << label << ": " << a << " | " << b;
  }
}

TEST(TokenizerSavedFolder, WordPieceMatchesTransformers) {
  const json added = {{"[NEW]", 30522}};
  {
    SavedFolder f;  // added token, lower-casing: "[NEW]" is normalised, so "[new]" matches it too
    write_bert_folder(f, added, kBertSpecialsMap, {{"do_lower_case", true}, {"model_max_length", 512}});
    expect_bert_parity(f, "added [NEW], uncased");
  }
  {
    SavedFolder f;  // cased: "[NEW]" only as written; accents kept
    write_bert_folder(f, added, kBertSpecialsMap, {{"do_lower_case", false}});
    expect_bert_parity(f, "added [NEW], cased");
  }
  {
    SavedFolder f;  // lower-case without stripping accents; transformers' "unset" model_max_length
    write_bert_folder(f, added, nullptr,
                      {{"do_lower_case", true}, {"strip_accents", false},
                       {"model_max_length", json::parse("1000000000000000019884624838656")}});
    expect_bert_parity(f, "strip_accents false");
  }
  {
    SavedFolder f;  // special_tokens_map.json renames [CLS] and beats tokenizer_config.json
    write_bert_folder(f, nullptr,
                      {{"cls_token", "[unused1]"}, {"sep_token", "[unused2]"}, {"unk_token", "[UNK]"},
                       {"pad_token", "[PAD]"}},
                      {{"cls_token", "[unused3]"}});
    expect_bert_parity(f, "renamed specials");
  }
  {
    SavedFolder f;  // an additional special token, appended after the vocabulary
    write_bert_folder(f, {{"<sp>", 30522}},
                      [] {
                        json m = kBertSpecialsMap;
                        m["additional_special_tokens"] = {"<sp>"};
                        return m;
                      }(),
                      nullptr);
    expect_bert_parity(f, "additional special token");
  }
  {
    SavedFolder f;  // transformers >= 4.34's added_tokens_decoder: normalized false, so only "[NEW]" as written
    write_bert_folder(f, added, kBertSpecialsMap,
                      {{"added_tokens_decoder",
                        {{"30522",
                          {{"content", "[NEW]"}, {"lstrip", false}, {"normalized", false}, {"rstrip", false},
                           {"single_word", false}, {"special", false}}}}}});
    expect_bert_parity(f, "added_tokens_decoder");
  }
  {
    SavedFolder f;  // two added tokens, listed out of order
    write_bert_folder(f, {{"<x>", 30523}, {"[NEW]", 30522}}, kBertSpecialsMap, nullptr);
    expect_bert_parity(f, "two added tokens");
  }
}

// The class of issue 17's first fault: added_tokens.json beside vocab.txt was ignored, so "[NEW]" became
// "[", "new", "]" and a vocabulary larger than the embedding went unnoticed.
TEST(TokenizerSavedFolder, WordPieceAddedTokensAreWholeAndCounted) {
  SavedFolder f;
  write_bert_folder(f, {{"[NEW]", 30522}}, kBertSpecialsMap, nullptr);
  auto t = load_tokenizer(f.dir);
  EXPECT_EQ(t->vocab_size(), 30523);  // transformers' len(tokenizer): the embedding needs 30523 rows
  EXPECT_EQ(t->encode("hello [NEW]", "", 0).ids, (Ids{CLS, 7592, 30522, SEP}));
  auto* wp = dynamic_cast<const WordPieceTokenizer*>(t.get());
  ASSERT_NE(wp, nullptr);
  EXPECT_EQ(wp->token_to_id("[NEW]"), 30522);
  EXPECT_EQ(wp->id_to_token(30522), "[NEW]");
  // The same files named by their vocab.txt.
  EXPECT_EQ(load_tokenizer(f.dir / "vocab.txt")->vocab_size(), 30523);
}

// The class of issue 17's second fault: an extra newline at the end of vocab.txt made a 30523rd, empty,
// token, and a model with the real 30522 rows "mismatched".
TEST(TokenizerSavedFolder, TrailingEmptyLinesOfVocabTxtAreNotTokens) {
  for (const std::string tail : {"\n", "\n\n\n", "\r\n", "\n\r\n"}) {
    SavedFolder f;
    write_bert_folder(f, nullptr, nullptr, nullptr, tail);
    auto t = load_tokenizer(f.dir);
    EXPECT_EQ(t->vocab_size(), 30522) << json(tail).dump();
    EXPECT_EQ(t->encode("hello world", "", 0).ids, (Ids{CLS, 7592, 2088, SEP}));
  }
  {
    SavedFolder f;  // added tokens after them: continue the real vocabulary
    write_bert_folder(f, {{"[NEW]", 30522}}, nullptr, nullptr, "\n");
    EXPECT_EQ(load_tokenizer(f.dir)->vocab_size(), 30523);
  }
  {
    SavedFolder f;  // ... unless their ids were counted with the empty line (transformers counts it)
    write_bert_folder(f, {{"[NEW]", 30523}}, nullptr, nullptr, "\n");
    auto t = load_tokenizer(f.dir);
    EXPECT_EQ(t->vocab_size(), 30524);
    EXPECT_EQ(t->encode("[NEW]", "", 0).ids, (Ids{CLS, 30523, SEP}));
  }
}

TEST(TokenizerSavedFolder, WordPieceRefusesAmbiguousIdsAndUnsupportedOptions) {
  {
    SavedFolder f;  // a gap: transformers 5 renumbers it to 30522, transformers 4 kept 30530
    write_bert_folder(f, {{"[NEW]", 30530}}, nullptr, nullptr);
    expect_folder_error(f, "'[NEW]' has id 30530, expected 30522");
  }
  {
    SavedFolder f;  // an id that is another vocabulary token
    write_bert_folder(f, {{"[NEW]", 100}}, nullptr, nullptr);
    expect_folder_error(f, "'[NEW]' has id 100, expected 30522");
  }
  {
    SavedFolder f;  // a vocabulary token under another id
    write_bert_folder(f, {{"hello", 30522}}, nullptr, nullptr);
    expect_folder_error(f, "'hello' has id 30522 but is token 7592 of the vocabulary");
  }
  {
    SavedFolder f;  // its own id: fine, and matched whole
    write_bert_folder(f, {{"[unused5]", 6}}, nullptr, nullptr);
    auto t = load_tokenizer(f.dir);
    EXPECT_EQ(t->vocab_size(), 30522);
    EXPECT_EQ(t->encode("a [unused5] b", "", 0).ids, (Ids{CLS, 1037, 6, 1038, SEP}));
  }
  {
    SavedFolder f;
    write_bert_folder(f, nullptr, nullptr, {{"do_basic_tokenize", false}});
    expect_folder_error(f, "do_basic_tokenize false is not supported");
  }
  {
    SavedFolder f;
    write_bert_folder(f, nullptr, nullptr, {{"never_split", {"[X]"}}});
    expect_folder_error(f, "never_split [\"[X]\"] is not supported");
  }
  {
    SavedFolder f;
    write_bert_folder(f, nullptr, nullptr, {{"do_lower_case", "yes"}});
    expect_folder_error(f, "\"do_lower_case\" must be true, false or null");
  }
  {
    SavedFolder f;
    write_bert_folder(f, nullptr, nullptr,
                      {{"added_tokens_decoder",
                        {{"30522", {{"content", "[NEW]"}, {"single_word", true}, {"special", false}}}}}});
    expect_folder_error(f, "single_word true");
  }
  {
    SavedFolder f;  // the two files disagree
    write_bert_folder(f, {{"[NEW]", 30522}}, nullptr,
                      {{"added_tokens_decoder", {{"30522", {{"content", "[OLD]"}, {"special", false}}}}}});
    expect_folder_error(f, "id 30522 is '[NEW]' here but '[OLD]'");
  }
  {
    SavedFolder f;
    write_bert_folder(f, nullptr, nullptr, {{"model_max_length", -5}});
    expect_folder_error(f, "model_max_length must be a positive integer");
  }
  {
    SavedFolder f;
    write_bert_folder(f, {{"[NEW]", 30522}}, nullptr, nullptr);
    f.write("added_tokens.json", "{\"[NEW]\": ");
    expect_folder_error(f, "added_tokens.json: invalid JSON");
  }
}

TEST(TokenizerSavedFolder, ModelMaxLength) {
  EXPECT_EQ(load_tokenizer(kBertDir)->model_max_length(), 0);  // no tokenizer_config.json
  for (const auto& [value, expected] : std::vector<std::pair<json, int64_t>>{
           {512, 512}, {json(nullptr), 0}, {json::parse("1000000000000000019884624838656"), 0}, {int64_t{1} << 40, 0}}) {
    SavedFolder f;
    write_bert_folder(f, nullptr, nullptr, {{"model_max_length", value}});
    EXPECT_EQ(load_tokenizer(f.dir)->model_max_length(), expected) << value.dump();
    f.copy(kBertDir + "/tokenizer.json");  // a tokenizer.json takes it from the config beside it too
    EXPECT_EQ(load_tokenizer(f.dir / "tokenizer.json")->model_max_length(), expected) << value.dump();
  }
}

}  // namespace
}  // namespace lwm
