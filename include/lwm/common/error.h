#pragma once
// One exception type per boundary. `main` maps each to a documented exit code
// and prints its message as one line on stderr.
#include <stdexcept>
#include <string>

namespace lwm {

enum class ExitCode : int {
  Ok = 0,
  Internal = 1,       // a bug: anything not listed below
  Usage = 2,          // bad command line or config
  BadModel = 3,       // missing/corrupt/unknown/unfaithful model file
  BadData = 4,        // missing/malformed data, labels, tokenizer
  BadOutput = 5,      // output cannot be written, or would overwrite a result
  TrainingFailed = 6, // NaN/inf loss and similar
  TargetMissed = 7,   // a target from the config was not met
  WorkerFailed = 8,   // a worker of a data-parallel run died, failed or timed out (--nproc, torchrun)
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ExitCode::Usage, m) {}
};
struct ModelError : Error {
  explicit ModelError(const std::string& m) : Error(ExitCode::BadModel, m) {}
};
struct DataError : Error {
  explicit DataError(const std::string& m) : Error(ExitCode::BadData, m) {}
};
struct OutputError : Error {
  explicit OutputError(const std::string& m) : Error(ExitCode::BadOutput, m) {}
};
struct TrainingError : Error {
  explicit TrainingError(const std::string& m) : Error(ExitCode::TrainingFailed, m) {}
};

}  // namespace lwm
