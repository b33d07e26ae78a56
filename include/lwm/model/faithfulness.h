#pragma once
// Checks that a rebuilt model computes what the original does, on padded batches.
#include <torch/script.h>

#include "lwm/model/spec.h"

namespace lwm {

constexpr double kFaithfulnessTolerance = 1e-4;

// Max |logit difference| between two models over random padded batches (fixed seed),
// shaped by the spec (vocabulary, positions, token types).
double max_logit_difference(const torch::jit::Module& reference, const torch::jit::Module& candidate,
                            const ModelSpec& spec, uint64_t seed = 0);

// Throws ModelError naming the difference when it exceeds `tolerance`.
double verify_faithful(const torch::jit::Module& reference, const torch::jit::Module& candidate,
                       const ModelSpec& spec, double tolerance = kFaithfulnessTolerance);

}  // namespace lwm
