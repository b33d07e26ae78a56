// model.pt and report.json are published both or neither, whatever stops the process and when.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "lwm/common/directory_lock.h"
#include "lwm/common/error.h"
#include "lwm/common/publish.h"
#include "test_support.h"

namespace lwm {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  auto dir = test::models_dir() / "publish" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// The directory's files, names only, sorted.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<StagedFile> stage(const fs::path& dir, const std::string& tag) {
  write(dir / ".m.staged", "model " + tag);
  write(dir / ".r.staged", "report " + tag);
  return {{dir / ".m.staged", dir / "model.pt"}, {dir / ".r.staged", dir / "report.json"}};
}

// Publishes in a child process that dies (like kill -9) right after rename number `crash_after`.
void publish_and_die(const std::vector<StagedFile>& files, size_t crash_after) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    publish_together(files, [crash_after](size_t i) {
      if (i == crash_after) ::_exit(9);
    });
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 9);
}

TEST(Publish, ReplacesBothAndLeavesNothingElse) {
  const fs::path dir = fresh_dir("replace");
  publish_together(stage(dir, "1"));
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"model.pt", "report.json"}));
  publish_together(stage(dir, "2"));
  EXPECT_EQ(slurp(dir / "model.pt"), "model 2");
  EXPECT_EQ(slurp(dir / "report.json"), "report 2");
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"model.pt", "report.json"}));
  EXPECT_FALSE(recover_publish(dir));
}

TEST(Publish, AKillBetweenTheRenamesIsRolledBackToTheEarlierResult) {
  const fs::path dir = fresh_dir("kill");
  publish_together(stage(dir, "old"));
  publish_and_die(stage(dir, "new"), 0);
  // The state a reader would see without recovery: a mix, and the journal that says so.
  EXPECT_EQ(slurp(dir / "model.pt"), "model new");
  EXPECT_EQ(slurp(dir / "report.json"), "report old");
  EXPECT_TRUE(fs::exists(dir / ".lwm-publish.json"));
  EXPECT_TRUE(recover_publish(dir));
  EXPECT_EQ(slurp(dir / "model.pt"), "model old");
  EXPECT_EQ(slurp(dir / "report.json"), "report old");
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"model.pt", "report.json"}));
}

TEST(Publish, AKillOfTheFirstPublishLeavesNeitherFile) {
  const fs::path dir = fresh_dir("first");
  publish_and_die(stage(dir, "new"), 0);
  EXPECT_TRUE(recover_publish(dir));
  EXPECT_TRUE(listing(dir).empty());
}

TEST(Publish, AKillAfterTheLastRenameIsRolledBackToo) {
  const fs::path dir = fresh_dir("last");
  publish_together(stage(dir, "old"));
  publish_and_die(stage(dir, "new"), 1);  // journal not yet removed: the publish did not complete
  EXPECT_TRUE(recover_publish(dir));
  EXPECT_EQ(slurp(dir / "model.pt"), "model old");
  EXPECT_EQ(slurp(dir / "report.json"), "report old");
}

TEST(Publish, AFailedRenameRestoresTheEarlierResultAndThrows) {
  const fs::path dir = fresh_dir("fail");
  publish_together(stage(dir, "old"));
  // The second rename fails (as a full disk or a vanished directory would make it).
  EXPECT_THROW(publish_together(stage(dir, "new"),
                                [](size_t i) {
                                  if (i == 0) throw OutputError("simulated failure after the first rename");
                                }),
               OutputError);
  EXPECT_EQ(slurp(dir / "model.pt"), "model old");
  EXPECT_EQ(slurp(dir / "report.json"), "report old");
  EXPECT_EQ(listing(dir), (std::vector<std::string>{"model.pt", "report.json"}));
}

TEST(DirectoryLockTest, OneWriterPerDirectory) {
  const fs::path dir = fresh_dir("lock");
  {
    DirectoryLock held(dir);
    std::string out;
    const int code = test::compress("--model m.pt --task sst2 --train t.tsv --eval e.tsv --tokenizer v.txt --out " +
                                        dir.string(),
                                    &out);
    EXPECT_EQ(code, 5) << out;
    EXPECT_NE(out.find("another lwm run is writing to this output directory"), std::string::npos) << out;
  }
  DirectoryLock again(dir);  // released with its holder
}

}  // namespace
}  // namespace lwm
