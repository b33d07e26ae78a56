#include "lwm/common/publish.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "lwm/common/atomic_file.h"
#include "lwm/common/error.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

constexpr const char* kJournal = ".lwm-publish.json";

fs::path backup_of(const fs::path& target) {
  fs::path b = target;
  b += ".previous";
  return b;
}

void remove_quietly(const fs::path& p) {
  std::error_code ignore;
  fs::remove(p, ignore);
}

// Restores every target of the journal `j` to its earlier state; throws OutputError if one cannot be.
void roll_back(const nlohmann::json& j) {
  for (const auto& f : j.at("files")) {
    const fs::path target = f.at("target").get<std::string>();
    std::error_code ec;
    if (f.at("had_earlier").get<bool>()) {
      if (fs::exists(backup_of(target), ec)) {
        fs::rename(backup_of(target), target, ec);
        if (ec) throw OutputError(target.string() + ": cannot restore the earlier result: " + ec.message());
      }
    } else {
      fs::remove(target, ec);
      if (ec) throw OutputError(target.string() + ": cannot remove a half-published file: " + ec.message());
    }
    remove_quietly(f.at("staged").get<std::string>());
  }
  // rename() of two links to one file does nothing (POSIX): a backup of a target never replaced stays.
  for (const auto& f : j.at("files")) remove_quietly(backup_of(f.at("target").get<std::string>()));
}

}  // namespace

void publish_together(const std::vector<StagedFile>& files, const std::function<void(size_t)>& after_rename) {
  if (files.empty()) return;
  const fs::path dir = files.front().target.parent_path();
  nlohmann::json journal = {{"files", nlohmann::json::array()}};
  for (const auto& f : files) {
    if (f.target.parent_path() != dir || f.staged.parent_path() != dir) {
      throw std::logic_error("publish_together: every file must be in one directory");
    }
    std::error_code ec;
    journal["files"].push_back({{"target", f.target.string()},
                                {"staged", f.staged.string()},
                                {"had_earlier", fs::exists(f.target, ec)}});
  }
  for (const auto& f : files) sync_file(f.staged);
  const fs::path journal_path = dir / kJournal;
  write_text_atomically(journal_path, journal.dump(2) + "\n", /*durable=*/true);
  sync_directory(dir);
  try {
    for (const auto& f : journal["files"]) {
      if (!f["had_earlier"].get<bool>()) continue;
      const fs::path target = f["target"].get<std::string>();
      remove_quietly(backup_of(target));
      std::error_code ec;
      fs::create_hard_link(target, backup_of(target), ec);
      if (ec) throw OutputError(target.string() + ": cannot keep the earlier result while publishing: " + ec.message());
    }
    for (size_t i = 0; i < files.size(); ++i) {
      std::error_code ec;
      fs::rename(files[i].staged, files[i].target, ec);
      if (ec) throw OutputError(files[i].target.string() + ": cannot write: " + ec.message());
      if (after_rename) after_rename(i);
    }
    sync_directory(dir);
  } catch (const OutputError&) {
    roll_back(journal);
    remove_quietly(journal_path);
    sync_directory(dir);
    throw;
  }
  remove_quietly(journal_path);
  sync_directory(dir);
  for (const auto& f : files) remove_quietly(backup_of(f.target));
}

bool recover_publish(const fs::path& dir) {
  const fs::path journal_path = dir / kJournal;
  std::error_code ec;
  if (!fs::exists(journal_path, ec)) return false;
  nlohmann::json journal;
  try {
    std::ifstream in(journal_path);
    journal = nlohmann::json::parse(in);
    roll_back(journal);
  } catch (const nlohmann::json::exception& e) {
    // Written atomically: a journal that does not parse is not lwm's. Leave the directory as it is.
    throw OutputError(journal_path.string() + ": unreadable publish journal (" + e.what() + "); remove it by hand");
  }
  remove_quietly(journal_path);
  sync_directory(dir);
  return true;
}

}  // namespace lwm
