#pragma once
// Where a measurement was taken: tool and library versions, CPU, threads, device.
#include <nlohmann/json.hpp>

namespace lwm {

nlohmann::json environment_json();

}  // namespace lwm
