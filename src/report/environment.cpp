#include "lwm/report/environment.h"

#include <torch/torch.h>

#include <fstream>
#include <string>
#include <thread>

namespace lwm {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

nlohmann::json environment_json() {
  return {{"lwm_version", LWM_VERSION},
          {"libtorch_version", TORCH_VERSION},
          {"device", "cpu"},
          {"cpu_model", cpu_model()},
          {"cpu_cores", std::thread::hardware_concurrency()},
          {"threads", torch::get_num_threads()}};
}

}  // namespace lwm
