#pragma once
// pareto.png of compress search: relative accuracy against CO2 per 1,000 inferences (left) and against batch-1
// latency (right), each with its Pareto front, the teacher, the accuracy target and the chosen model marked.
// Drawn by gnuplot run as a subprocess (docs/search.md says why gnuplot).
#include <nlohmann/json.hpp>

#include <filesystem>

namespace lwm {

// Whether an executable `gnuplot` is on PATH.
bool gnuplot_available();

// Writes the gnuplot script to `script` (kept, so a user can restyle the picture: `gnuplot pareto.gp`) and the
// picture to `png` (1600 x 700 pixels, atomically) from what pareto.json holds (lwm/pipeline/search.h).
// OutputError with gnuplot's first error line when it fails.
void plot_pareto(const nlohmann::json& pareto, const std::filesystem::path& png, const std::filesystem::path& script);

}  // namespace lwm
