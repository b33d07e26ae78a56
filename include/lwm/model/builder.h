#pragma once
// ModelSpec + weights -> a native TorchScript module, built from C++ with
// Module::define(). It keeps the teacher's parameter names (so its state dict
// loads where the teacher's did), forward signature and output structure, and
// reads every size from the spec, so layer removal and pruning need no graph surgery.
#include <torch/script.h>

#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

// The weights are copied: training the result never touches `weights`.
// ModelError if a weight the spec needs is missing or has the wrong shape.
torch::jit::Module build_module(const ModelSpec& spec, const Weights& weights);

}  // namespace lwm
