#pragma once
// The files load_tokenizer (lwm/data/tokenizer.h) may read for a --tokenizer path, so that commands can
// refuse an output that would overwrite one of them (lwm/common/input_guard.h).
#include <filesystem>
#include <vector>

namespace lwm {

// The existing files among: `path` itself when it is a file, and in its folder (`path` when it is a
// directory, else its parent) the files Hugging Face's save_pretrained writes for a tokenizer: vocab.txt,
// vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
// added_tokens.json, and every *.model (SentencePiece).
std::vector<std::filesystem::path> tokenizer_input_files(const std::filesystem::path& path);

}  // namespace lwm
