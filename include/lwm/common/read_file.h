#pragma once
// Reading a whole input file, with the one-line errors every reader of lwm gives (one place, not one per reader).
#include <filesystem>
#include <string>

namespace lwm {

// The file's bytes, as they are (no BOM or newline handling). DataError, naming the path and, where given,
// `what` the file should be (e.g. "a SentencePiece model"): no such file, a directory, cannot be opened, or a
// read error.
std::string read_file(const std::filesystem::path& path, const std::string& what = "");

}  // namespace lwm
