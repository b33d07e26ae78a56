// WordPiece tokenizer against hand-looked-up ids of bert-base-uncased (tests/data/vocab/bert-base-uncased,
// a copy of shared/data/vocab): every expected id below is the 0-based line number of the token in
// vocab.txt, and where a word splits, the longer candidates were checked to be absent from the vocab.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lwm/common/error.h"
#include "lwm/data/tokenizer.h"
#include "lwm/data/wordpiece.h"

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
  expect_load_error(data_file("tokenizer/empty_dir"), "holds none of spiece.model, tokenizer.json, vocab.txt");
  expect_load_error(data_file("tokenizer/empty_vocab.txt"), "empty vocabulary");
  expect_load_error(data_file("tokenizer/no_unk_vocab.txt"), "'[UNK]' is not in the vocabulary");
  expect_load_error(data_file("tokenizer/broken.json"), "invalid JSON");
  expect_load_error(data_file("tokenizer/bpe.json"), "'BPE' is not supported");
  expect_load_error(data_file("tokenizer/bad_ids.json"), "model.vocab ids");
}

}  // namespace
}  // namespace lwm
