#pragma once
// Stage 1: the student starts from a subset of the teacher's layers (plus its
// embeddings and head), renumbered 0..k-1.
#include <string>
#include <utility>
#include <vector>

#include "lwm/model/importer.h"
#include "lwm/model/spec.h"

namespace lwm {

enum class LayerStrategy {
  Top,        // drop the highest layers (default; Sajjad et al. 2020 found it the best simple strategy)
  Bottom,     // drop the lowest layers
  Alternate,  // keep evenly spaced layers, ending with the last (every other one when keeping half)
  Explicit,   // a given list
};

LayerStrategy layer_strategy_from_string(const std::string& name);  // UsageError for unknown names
std::string to_string(LayerStrategy s);

// How many layers a fraction keeps: round(fraction * num_layers), at least 1.
int layers_for_fraction(int num_layers, double fraction);

// Teacher layer indices (0-based, ascending) the student keeps. UsageError when keep is not in
// [1, num_layers], or an explicit list is empty, out of range or repeats a layer.
std::vector<int> select_layers(int num_layers, int keep, LayerStrategy strategy,
                               const std::vector<int>& explicit_layers = {});

// The layers (indices into spec.layers, ascending) the student keeps: select_layers() on each stack of the
// model (an encoder-decoder's encoder and decoder alike; `keep` 0 means round(fraction * that stack's layers)).
std::vector<int> select_model_layers(const ModelSpec& spec, int keep, double fraction, LayerStrategy strategy,
                                     const std::vector<int>& explicit_layers = {});

// The student's spec and weights: kept layers (indices into spec.layers, ascending) renumbered within their stack,
// everything else copied. A module every layer of a stack reads from the stack's first layer (T5's
// relative bias table) moves to the student's first layer of that stack.
std::pair<ModelSpec, Weights> remove_layers(const ModelSpec& spec, const Weights& weights, const std::vector<int>& kept);

}  // namespace lwm
