#include "lwm/model/importer.h"

#include <set>

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/versions.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <cstdlib>
#include <fstream>

#include "lwm/common/error.h"
#include "importers/import_support.h"

namespace fs = std::filesystem;

namespace lwm {

namespace {

// A LibTorch error as one plain line: without "[enforce fail at file.cc:N] ", the "(Could this error message
// be improved? ...)" request, the lines after the first, and with the zip-archive check said in words.
std::string plain_torch_message(std::string what) {
  while (what.rfind("[enforce fail at ", 0) == 0 && what.find("] ") != std::string::npos) {
    what = what.substr(what.find("] ") + 2);
  }
  if (const auto at = what.find("(Could this error message be improved?"); at != std::string::npos) what.resize(at);
  const auto start = what.find_first_not_of(" \n");
  what = start == std::string::npos ? "" : what.substr(start);
  what = what.substr(0, what.find('\n'));
  while (!what.empty() && (what.back() == ' ' || what.back() == '.')) what.pop_back();
  if (what.find("hasRecord(\"version\")") != std::string::npos) {
    return "the archive has no version record (not written by torch.jit.save, or damaged)";
  }
  return what.empty() ? "LibTorch gave no reason" : what;
}

}  // namespace

torch::jit::Module load_torchscript(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ModelError(path.string() + ": no such file");
  if (fs::is_directory(path, ec)) throw ModelError(path.string() + ": is a directory, not a TorchScript file");
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw ModelError(path.string() + ": cannot be read");
    char magic[2] = {0, 0};
    probe.read(magic, 2);
    // TorchScript files are zip archives ("PK").
    if (probe.gcount() != 2 || magic[0] != 'P' || magic[1] != 'K') {
      throw ModelError(path.string() + ": not a TorchScript file (expected a zip archive written by torch.jit.save)");
    }
  }
  const std::string newer = std::string(" (") + "this lwm is built against LibTorch " + TORCH_VERSION +
                            ", which reads TorchScript file format versions up to " +
                            std::to_string(caffe2::serialize::kMaxSupportedFileFormatVersion) +
                            "): a file saved by a newer PyTorch needs lwm built against it (LWM_PYTHON=... "
                            "tools/setup.sh)";
  try {
    auto module = torch::jit::load(path.string(), torch::kCPU);
    module.eval();
    return module;
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    // PyTorchStreamReader: "Attempted to read a PyTorch file with version N, but the maximum supported ..."
    const std::string marker = "Attempted to read a PyTorch file with version ";
    if (auto at = what.find(marker); at != std::string::npos) {
      const std::string version = what.substr(at + marker.size(), what.find(',', at) - at - marker.size());
      const long long v = std::atoll(version.c_str());
      if (v < static_cast<long long>(caffe2::serialize::kMinSupportedFileFormatVersion)) {
        throw ModelError(path.string() + ": file format version " + version + " is older than LibTorch " +
                         TORCH_VERSION + " reads (" +
                         std::to_string(caffe2::serialize::kMinSupportedFileFormatVersion) + " to " +
                         std::to_string(caffe2::serialize::kMaxSupportedFileFormatVersion) +
                         "): save the model again with a current PyTorch");
      }
      throw ModelError(path.string() + ": file format version " + version + newer);
    }
    throw ModelError(path.string() + ": not a loadable TorchScript file: " + plain_torch_message(what));
  } catch (const std::exception& e) {
    // The TorchScript compiler's errors (torch::jit::ErrorReport) are not c10::Errors: typically an op this
    // LibTorch does not know ("Unknown builtin op: aten::foo."), in a file saved by a newer PyTorch.
    const std::string what = plain_torch_message(e.what());
    std::string version = "unknown";
    try {
      version = std::to_string(caffe2::serialize::PyTorchStreamReader(path.string()).version());
    } catch (const std::exception&) {
    }
    throw ModelError(path.string() + ": cannot be loaded: " + what + "; its file format version is " + version +
                     newer);
  }
}

Weights module_weights(const torch::jit::Module& module) {
  Weights weights;
  // A tied parameter (T5's lm_head.weight and embed_tokens.weight are `shared.weight`) appears under every
  // name that holds it; keep the first, as Python's named_parameters() does.
  std::set<const void*> seen;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (p.value.numel() > 0 && !seen.insert(p.value.data_ptr()).second) continue;
    weights[p.name] = p.value.detach();
  }
  // A vocabulary-pruned model's id map (ModelSpec::input_vocab_size) is a buffer, yet part of what rebuilds it.
  static const std::string kMapLeaf = ".vocab_map";
  for (const auto& b : module.named_buffers(/*recurse=*/true)) {
    if (b.name.size() > kMapLeaf.size() && b.name.compare(b.name.size() - kMapLeaf.size(), kMapLeaf.size(), kMapLeaf) == 0) {
      weights[b.name] = b.value.detach();
    }
  }
  return weights;
}

// One factory per family, each defined in its own file under src/model/importers/.
std::unique_ptr<FamilyImporter> make_bert_family_importer();
std::unique_ptr<FamilyImporter> make_electra_importer();
std::unique_ptr<FamilyImporter> make_gpt2_importer();
std::unique_ptr<FamilyImporter> make_opt_importer();
std::unique_ptr<FamilyImporter> make_t5_importer();

const std::vector<std::unique_ptr<FamilyImporter>>& family_importers() {
  static const std::vector<std::unique_ptr<FamilyImporter>> importers = [] {
    std::vector<std::unique_ptr<FamilyImporter>> v;
    v.push_back(make_bert_family_importer());
    v.push_back(make_electra_importer());
    v.push_back(make_gpt2_importer());
    v.push_back(make_opt_importer());
    v.push_back(make_t5_importer());
    return v;
  }();
  return importers;
}

ImportedModel import_model(const fs::path& path) {
  ImportedModel imported;
  imported.path = path;
  imported.module = load_torchscript(path);
  if (!imported.module.find_method("forward")) {
    throw ModelError(path.string() + ": TorchScript module has no forward() method");
  }
  imported.weights = module_weights(imported.module);
  if (imported.module.hasattr(kSpecAttribute) && imported.module.attr(kSpecAttribute).isString()) {
    // An int8 model lwm wrote: its projections hold packed int8 weights, not parameters, so the spec is the file's.
    try {
      imported.spec = ModelSpec::from_json(nlohmann::json::parse(imported.module.attr(kSpecAttribute).toStringRef()));
    } catch (const std::exception& e) {
      throw ModelError(path.string() + ": unreadable " + kSpecAttribute + " attribute: " + e.what());
    }
    imported.frozen = true;
    return imported;
  }
  if (imported.weights.empty()) {
    throw ModelError(path.string() + ": not a transformer: the module has no parameters");
  }
  for (const auto& importer : family_importers()) {
    if (importer->recognises(imported.weights)) {
      try {
        imported.spec = importer->import(imported.module, imported.weights);
      } catch (const ModelError& e) {
        throw ModelError(path.string() + ": " + importer->name() + ": " + e.what());
      }
      // The token a last-token head classifies (spec.h, Pooling): read from what the file computes, for
      // Hugging Face exports and lwm's own students alike.
      if (imported.spec.head == HeadType::LastToken) {
        try {
          imported.spec.pooling = import_support::read_pooling(imported.module, imported.spec);
        } catch (const ModelError& e) {
          throw ModelError(path.string() + ": " + importer->name() + ": " + e.what());
        }
      }
      // A vocabulary-pruned lwm student (spec.h, input_vocab_size) maps the ids it takes through this buffer.
      if (const auto map = imported.weights.find(imported.spec.vocab_map_name()); map != imported.weights.end()) {
        imported.spec.input_vocab_size = static_cast<int>(map->second.numel());
      }
      // A tied LM head the export cloned (the spec reads the embedding instead): one table, not two.
      if (imported.spec.head == HeadType::LabelWords && imported.spec.names.lm_head.empty()) {
        imported.weights.erase("lm_head.weight");
      }
      spdlog::debug("{}: recognised as {}", path.string(), importer->name());
      return imported;
    }
  }
  std::string looked_for;
  for (const auto& importer : family_importers()) {
    looked_for += (looked_for.empty() ? "" : "; ") + importer->signature();
  }
  throw ModelError(path.string() + ": unknown architecture: " + std::to_string(imported.weights.size()) +
                   " parameters (first: '" + imported.weights.begin()->first + "'), none matches " + looked_for);
}

}  // namespace lwm
