#pragma once
// Helpers shared by the unit tests: paths, reference-model exports, running the CLI.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace lwm::test {

inline std::filesystem::path source_dir() { return LWM_SOURCE_DIR; }
inline std::filesystem::path shared_data() { return source_dir().parent_path() / "shared" / "data"; }
inline std::filesystem::path models_dir() {
  auto dir = std::filesystem::path(LWM_BINARY_DIR) / "tests" / "models";
  std::filesystem::create_directories(dir);
  return dir;
}

// The python with the pinned torch and transformers (tools/setup.sh's virtual environment, or LWM_PYTHON).
inline std::string python() { return LWM_PYTHON; }

// Exports a reference model with tools/export_reference.py (real `transformers` classes) once per
// build tree and returns its path. `args` are extra export flags, e.g. "--token-types".
inline std::filesystem::path reference_model(const std::string& family, const std::string& attention,
                                             const std::string& args = "", int layers = 2) {
  std::string tag = family + "-" + attention + "-L" + std::to_string(layers);
  for (char c : args) tag += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  auto out = models_dir() / (tag + ".pt");
  if (!std::filesystem::exists(out)) {
    const std::string part = out.string() + ".part" + std::to_string(::getpid());
    std::string cmd = python() + " " + (source_dir() / "tools" / "export_reference.py").string() +
                      " --family " + family + " --attn " + attention + " --layers " + std::to_string(layers) +
                      " --hidden 64 --heads 4 --intermediate 128 --vocab 30522 --max-positions 128 --labels 2 " +
                      args + " --out " + part + " > /dev/null";
    if (std::system(cmd.c_str()) != 0) return {};
    std::filesystem::rename(part, out);  // atomic: tests running in parallel may export the same model
  }
  return out;
}

// One reference export per variant every family-wide test walks: each family, and each layout option the spec
// states (token types, ELECTRA's embeddings_project, GPT-2's pooling rule and LM head, OPT's project_in/out and
// post-LN, T5 v1.1's gated FFN with an untied LM head).
struct Export {
  std::string name, family, args;
};
inline void PrintTo(const Export& e, std::ostream* os) { *os << e.name; }
inline std::vector<Export> family_exports() {
  return {{"bert_token_types", "bert", "--token-types"},
          {"roberta", "roberta", ""},
          {"distilbert", "distilbert", ""},
          {"electra_projected", "electra", ""},
          {"xlm_roberta", "xlm-roberta", ""},
          {"gpt2_before_first_pad", "gpt2", "--pooling before-first-pad"},
          {"gpt2_lm", "gpt2", "--head lm --clone-tied"},
          {"opt_projections", "opt", "--word-embed-proj-dim 32"},
          {"opt_post_ln", "opt", "--post-ln"},
          {"t5", "t5", ""},
          {"t5_v1_1", "t5", "--gated --no-tie-word-embeddings --untied-lm-head"}};
}

// Runs a shell command, returns its exit status; stdout+stderr go to `output`.
inline int run_command(const std::string& cmd, std::string* output = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  std::string out;
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  int status = pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The JSON object a tool printed as its last line (tools/run_torchscript.py), after whatever LibTorch logged
// on stderr before it (e.g. the deprecation warning of the quantized tensor types an int8 model loads).
inline nlohmann::json last_json_line(const std::string& output) {
  size_t end = output.find_last_not_of("\n");
  if (end == std::string::npos) return nlohmann::json::parse(output);
  size_t start = output.rfind('\n', end);
  return nlohmann::json::parse(output.substr(start == std::string::npos ? 0 : start + 1, end + 1));
}

// The compress binary (set by CTest; falls back to the build tree).
inline std::string compress_binary() {
  const char* env = std::getenv("LWM_COMPRESS");
  return env ? env : (std::filesystem::path(LWM_BINARY_DIR) / "compress").string();
}

// A split of the GLUE SST-2 data beside the repository ("train", "dev").
inline std::string sst2(const std::string& split) {
  return (shared_data() / "glue" / "SST-2" / (split + ".tsv")).string();
}

// bert-base-uncased's WordPiece vocabulary (../shared/data/vocab).
inline std::string bert_vocab() { return (shared_data() / "vocab" / "bert-base-uncased" / "vocab.txt").string(); }

// Runs the compress binary with 2 threads and `args`; returns its exit status, output in `output`.
inline int compress(const std::string& args, std::string* output) {
  return run_command(compress_binary() + " --threads 2 " + args, output);
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

// Runs the compress binary with `args` (output to `log`), waits until `ready` (polling every 2 ms, at most
// 5 minutes), then kill -9. Whether `ready` was seen, and whether the run was still going when killed.
struct Killed {
  bool seen = false, signaled = false;
};
inline Killed run_and_kill_when(const std::string& args, const std::filesystem::path& log, const std::function<bool()>& ready) {
  std::filesystem::remove(log);
  const std::string cmd = "exec " + compress_binary() + " --threads 2 " + args + " > " + log.string() + " 2>&1";
  Killed k;
  const pid_t pid = ::fork();
  if (pid < 0) return k;
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 150000 && !k.seen; ++i) {
    k.seen = ready();
    if (!k.seen) ::usleep(2000);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  k.signaled = WIFSIGNALED(status);
  return k;
}

}  // namespace lwm::test
