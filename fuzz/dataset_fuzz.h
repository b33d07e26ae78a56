#pragma once
// The body of the dataset_tsv / dataset_csv / dataset_jsonl targets: read_dataset on the input as a file of
// that format. Input: one byte choosing the task (and a row limit), then the file's bytes.
#include <cmath>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "lwm/data/dataset.h"
#include "lwm/data/task.h"

namespace lwm_fuzz {

inline int fuzz_dataset(const uint8_t* data, size_t size, const std::vector<std::string>& extensions) {
  if (size < 1) return 0;
  static const char* const kTasks[] = {"sst2", "cola", "mrpc", "rte",  "stsb",   "wnli",
                                       "qnli", "qqp",  "mnli", "imdb", "generic"};
  const uint8_t sel = data[0];
  const std::string task_name = kTasks[(sel & 0x0f) % 11];
  const size_t limit = (sel & 0x80) ? ((sel >> 4) & 0x07) + 1 : 0;
  const std::string& ext = extensions[((sel >> 4) & 0x07) % extensions.size()];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  return guarded([&] {
    const lwm::TaskSpec task = lwm::task_by_name(task_name);
    const auto path = write_file("input" + ext, bytes);
    const lwm::Dataset ds = lwm::read_dataset(path, task, limit);
    LWM_FUZZ_CHECK(!ds.examples.empty());  // an empty dataset is a DataError
    LWM_FUZZ_CHECK(limit == 0 || ds.examples.size() <= limit);
    for (const lwm::Example& ex : ds.examples) {
      LWM_FUZZ_CHECK(ex.line >= 1);
      if (task.regression) {
        LWM_FUZZ_CHECK(std::isfinite(ex.score));
      } else {
        LWM_FUZZ_CHECK(ex.label >= 0 && ex.label < task.num_labels());
      }
      LWM_FUZZ_CHECK(valid_utf8(ex.text_a) && valid_utf8(ex.text_b));
      if (!task.pair) LWM_FUZZ_CHECK(ex.text_b.empty());
    }
  });
}

}  // namespace lwm_fuzz
