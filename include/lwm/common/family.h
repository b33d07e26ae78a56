#pragma once
// The model families lwm reads, as one enum every layer shares: the model importers name a file's family, the
// tokenizer loader picks a family's vocabulary and template by it (lwm/data/tokenizer.h), the spec and the
// reports write it by name.
#include <optional>
#include <string>

namespace lwm {

// XlmRoberta: RoBERTa's module tree and names (XLMRobertaForSequenceClassification's base_model_prefix is
// "roberta") with a SentencePiece vocabulary in fairseq's numbering (lwm/data/sentencepiece_tokenizer.h).
enum class Family { Bert, Roberta, XlmRoberta, DistilBert, Electra, Gpt2, Opt, T5 };

// "bert", "roberta", "xlm-roberta", "distilbert", "electra", "gpt2", "opt", "t5": the name in a spec JSON, a
// report and the lwm_family attribute.
std::string to_string(Family f);
// The family of that name; std::nullopt for any other text.
std::optional<Family> family_from_string(const std::string& name);
// "bert, roberta, ..., t5": every name, for messages.
std::string family_names();

}  // namespace lwm
