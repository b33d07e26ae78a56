#include "lwm/common/family.h"

namespace lwm {
namespace {

constexpr Family kFamilies[] = {Family::Bert,     Family::Roberta, Family::XlmRoberta, Family::DistilBert,
                                Family::Electra,  Family::Gpt2,    Family::Opt,        Family::T5};

}  // namespace

std::string to_string(Family f) {
  switch (f) {
    case Family::Bert: return "bert";
    case Family::Roberta: return "roberta";
    case Family::XlmRoberta: return "xlm-roberta";
    case Family::DistilBert: return "distilbert";
    case Family::Electra: return "electra";
    case Family::Gpt2: return "gpt2";
    case Family::Opt: return "opt";
    case Family::T5: return "t5";
  }
  return "?";
}

std::optional<Family> family_from_string(const std::string& name) {
  for (Family f : kFamilies) {
    if (to_string(f) == name) return f;
  }
  return std::nullopt;
}

std::string family_names() {
  std::string out;
  for (Family f : kFamilies) out += (out.empty() ? "" : ", ") + to_string(f);
  return out;
}

}  // namespace lwm
