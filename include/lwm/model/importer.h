#pragma once
// TorchScript file -> ModelSpec + weights (by their Hugging Face names).
#include <torch/script.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lwm/model/spec.h"

namespace lwm {

using Weights = std::map<std::string, torch::Tensor>;

struct ImportedModel {
  std::filesystem::path path;
  torch::jit::Module module;  // the file as loaded
  ModelSpec spec;
  Weights weights;            // every parameter, detached, by name
  // A model lwm wrote after int8 quantization: its projections hold packed int8 weights, not parameters,
  // so the spec comes from the file's lwm_spec attribute and the model cannot be trained or rebuilt natively.
  bool frozen = false;
};

// Loads any TorchScript file; ModelError on a missing file or one that is not TorchScript.
torch::jit::Module load_torchscript(const std::filesystem::path& path);

// Every parameter of a module, detached, by its dotted name, and a vocabulary-pruned model's int64 id map (a
// buffer named `vocab_map`, ModelSpec::input_vocab_size).
Weights module_weights(const torch::jit::Module& module);

// One importer per model family: recognises the family from parameter names and
// shapes and fills the spec. Adding a family is adding one implementation.
class FamilyImporter {
 public:
  virtual ~FamilyImporter() = default;
  virtual std::string name() const = 0;
  // What it looks for, for the "unknown architecture" message.
  virtual std::string signature() const = 0;
  virtual bool recognises(const Weights& weights) const = 0;
  // ModelError when the family is recognised but something needed is missing.
  virtual ModelSpec import(const torch::jit::Module& module, const Weights& weights) const = 0;
};

const std::vector<std::unique_ptr<FamilyImporter>>& family_importers();

// Loads, recognises and imports. ModelError naming what was and was not recognised.
ImportedModel import_model(const std::filesystem::path& path);

}  // namespace lwm
