#include "lwm/data/dataset.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>

#include "lwm/common/error.h"
#include "lwm/common/read_file.h"
#include "lwm/data/utf8.h"

namespace fs = std::filesystem;

namespace lwm {
namespace {

using Names = std::vector<std::string>;

const Names kSingleText = {"sentence", "text"};
const Names kFirstText = {"sentence1", "question1", "question", "#1 String", "premise"};
const Names kSecondText = {"sentence2", "question2", "sentence", "#2 String", "hypothesis"};
const Names kClassLabel = {"label", "gold_label", "is_duplicate", "Quality"};
const Names kScoreLabel = {"score", "label"};

std::string join(const Names& names, const std::string& sep = ", ") {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : sep) + n;
  return out;
}

std::string quoted_list(const Names& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "\"" : ", \"") + n + "\"";
  return out;
}

// Shortens a field for an error message.
std::string show(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return std::string(s);
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return std::string(s.substr(0, cut)) + "...";
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Everything that turns fields into Examples, with file:line messages.
class Reader {
 public:
  Reader(const fs::path& path, const TaskSpec& task, size_t limit) : task_(task), limit_(limit) {
    source_ = path.string();
  }

  // "FILE:LINE: what", or "FILE: item N: what" for the objects of a JSON array.
  [[noreturn]] void fail(size_t line, const std::string& what) const {
    std::string where = items_ ? ": item " + std::to_string(line) + ": " : ":" + std::to_string(line) + ": ";
    throw DataError(source_ + where + what);
  }
  void number_items() { items_ = true; }
  [[noreturn]] void fail_file(const std::string& what) const { throw DataError(source_ + ": " + what); }

  const TaskSpec& task() const { return task_; }
  const std::string& source() const { return source_; }
  bool full() const { return limit_ > 0 && examples_.size() >= limit_; }

  void check_utf8(size_t line, std::string_view s) const {
    size_t at = utf8::first_invalid(s);
    if (at != std::string::npos)
      fail(line, "invalid UTF-8 at byte " + std::to_string(at + 1) + " of the line");
  }

  // A class label given as text: a name from the label set, else digits as a class index.
  int class_label(size_t line, std::string_view raw) const {
    std::string_view s = trim(raw);
    const auto& names = task_.label_names;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == s) return static_cast<int>(i);
    }
    bool digits = !s.empty() && s.size() < 9 &&
                  std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      int index = std::stoi(std::string(s));
      if (index < task_.num_labels()) return model_class(index);
    }
    fail(line, "label '" + show(s) + "' is not in the label set of task " + task_.name +
                   " (allowed: " + join(names) + ")");
  }

  int class_index(size_t line, long long index) const {
    if (index < 0 || index >= task_.num_labels()) {
      fail(line, "label " + std::to_string(index) + " is not in the label set of task " + task_.name +
                     " (allowed: " + join(task_.label_names) + ", or a class index 0.." +
                     std::to_string(task_.num_labels() - 1) + ")");
    }
    return model_class(static_cast<int>(index));
  }

  // A data file's class index (TaskSpec::file_label_names order) as the model's class index.
  int model_class(int file_index) const {
    if (task_.file_label_names.empty()) return file_index;
    const auto& names = task_.label_names;
    const auto it = std::find(names.begin(), names.end(), task_.file_label_names.at(static_cast<size_t>(file_index)));
    return static_cast<int>(it - names.begin());
  }

  float score(size_t line, std::string_view raw) const {
    std::string s(trim(raw));
    char* end = nullptr;
    errno = 0;
    double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
    // Finite as a float too: a double beyond FLT_MAX would become inf (and its conversion is UB).
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v) ||
        std::fabs(v) > std::numeric_limits<float>::max()) {
      fail(line, "score '" + show(s) + "' is not a finite number");
    }
    return static_cast<float>(v);
  }

  void add(Example e) { examples_.push_back(std::move(e)); }

  Dataset finish() {
    if (examples_.empty()) fail_file("no examples (the file holds no data rows)");
    Dataset d;
    d.task = task_;
    d.examples = std::move(examples_);
    d.source = source_;
    return d;
  }

 private:
  TaskSpec task_;
  size_t limit_;
  std::string source_;
  std::vector<Example> examples_;
  bool items_ = false;
};

int find_column(const std::vector<std::string>& header, const Names& candidates) {
  for (const auto& name : candidates) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it != header.end()) return static_cast<int>(it - header.begin());
  }
  return -1;
}

struct Columns {
  int a = -1, b = -1, label = -1;
};

// Resolves the text and label columns of a header row (TSV or CSV).
Columns resolve_columns(const Reader& r, const std::vector<std::string>& header, size_t header_line) {
  const TaskSpec& task = r.task();
  Columns c;
  if (task.pair) {
    c.a = find_column(header, kFirstText);
    if (c.a < 0) {
      r.fail(header_line, "no column for the first text of task " + task.name + " (expected one of " +
                              quoted_list(kFirstText) + "; header: " + show(join(header, " | ")) + ")");
    }
    c.b = find_column(header, kSecondText);
    if (c.b < 0) {
      r.fail(header_line, "no column for the second text of task " + task.name + " (expected one of " +
                              quoted_list(kSecondText) + "; header: " + show(join(header, " | ")) + ")");
    }
  } else {
    c.a = find_column(header, kSingleText);
    if (c.a < 0) {
      r.fail(header_line, "no text column for task " + task.name + " (expected one of " +
                              quoted_list(kSingleText) + "; header: " + show(join(header, " | ")) + ")");
    }
  }
  const Names& labels = task.regression ? kScoreLabel : kClassLabel;
  c.label = find_column(header, labels);
  if (c.label < 0) {
    r.fail_file("has no label column (expected one of " + quoted_list(labels) +
                "): unlabeled files such as GLUE test.tsv cannot be used for training or evaluation");
  }
  return c;
}

void add_row(Reader& r, size_t line, const std::vector<std::string>& fields, const Columns& c) {
  Example e;
  e.line = line;
  e.text_a = fields[static_cast<size_t>(c.a)];
  if (c.b >= 0) e.text_b = fields[static_cast<size_t>(c.b)];
  const std::string& label = fields[static_cast<size_t>(c.label)];
  if (r.task().regression) {
    e.score = r.score(line, label);
  } else {
    e.label = r.class_label(line, label);
  }
  r.add(std::move(e));
}

// The data file's text, without a UTF-8 byte order mark.
std::string read_data_file(const fs::path& path) {
  std::string s = read_file(path, "a data file");
  if (s.compare(0, 3, "\xEF\xBB\xBF") == 0) s.erase(0, 3);  // UTF-8 BOM (MRPC has one)
  return s;
}

// Calls fn(line_number, line) for each line; '\r' before '\n' is dropped; a missing final newline is fine.
template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  size_t line = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view l = text.substr(pos, end - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (!fn(++line, l)) return;
    pos = end + 1;
  }
}

std::vector<std::string> split_tabs(std::string_view line) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) {
      out.emplace_back(line.substr(pos));
      return out;
    }
    out.emplace_back(line.substr(pos, tab - pos));
    pos = tab + 1;
  }
}

Dataset read_tsv(const fs::path& path, const TaskSpec& task, size_t limit) {
  Reader r(path, task, limit);
  std::string text = read_data_file(path);
  bool have_header = false;
  size_t expected_fields = 0;
  Columns cols;
  for_each_line(text, [&](size_t line, std::string_view l) {
    if (r.full()) return false;
    if (l.empty()) return true;
    r.check_utf8(line, l);
    std::vector<std::string> fields = split_tabs(l);
    if (!have_header) {
      have_header = true;
      expected_fields = fields.size();
      const Names* all[] = {&kSingleText, &kFirstText, &kSecondText, &kClassLabel, &kScoreLabel};
      bool names_a_column = std::any_of(std::begin(all), std::end(all),
                                        [&](const Names* n) { return find_column(fields, *n) >= 0; });
      if (task.name == "cola" && !names_a_column && fields.size() == 4) {
        cols = {3, -1, 1};  // CoLA train/dev: source, label, orig_label, sentence; no header
      } else {
        cols = resolve_columns(r, fields, line);
        return true;
      }
    }
    if (fields.size() != expected_fields) {
      r.fail(line, "expected " + std::to_string(expected_fields) + " tab-separated fields, found " +
                       std::to_string(fields.size()));
    }
    add_row(r, line, fields, cols);
    return true;
  });
  if (!have_header) r.fail_file("empty file (no header, no examples)");
  return r.finish();
}

// RFC 4180 records: fields separated by ',', quoted fields may hold ',', '""' and newlines.
// Calls fn(first_line_of_record, fields) per record; returns false from fn to stop.
template <typename Fn>
void for_each_csv_record(const Reader& r, std::string_view text, Fn fn) {
  size_t pos = 0, line = 1;
  const size_t n = text.size();
  while (pos < n) {
    size_t record_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (pos < n && text[pos] == '"') {
        ++pos;
        while (true) {
          if (pos >= n) r.fail(record_line, "unterminated quoted field (a '\"' is never closed)");
          char c = text[pos++];
          if (c == '"') {
            if (pos < n && text[pos] == '"') {
              field += '"';
              ++pos;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line;
            field += c;
          }
        }
        if (pos < n && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          r.fail(line, "unexpected character after a closing quote (quotes inside a field must be doubled)");
        }
      } else {
        while (pos < n && text[pos] != ',' && text[pos] != '\n') field += text[pos++];
        if (!field.empty() && field.back() == '\r' && (pos >= n || text[pos] == '\n')) field.pop_back();
      }
      if (pos < n && text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n') ++pos;
      fields.push_back(field);
      if (pos >= n) {
        end_of_record = true;
      } else if (text[pos] == ',') {
        ++pos;
      } else if (text[pos] == '\n') {
        ++pos;
        ++line;
        end_of_record = true;
      } else {  // a lone '\r' after a quoted field: treat as the end of the line
        ++pos;
        end_of_record = true;
      }
    }
    bool blank = fields.size() == 1 && fields[0].empty();
    if (!blank && !fn(record_line, fields)) return;
  }
}

Dataset read_csv(const fs::path& path, const TaskSpec& task, size_t limit) {
  Reader r(path, task, limit);
  std::string text = read_data_file(path);
  bool have_header = false;
  size_t expected_fields = 0;
  Columns cols;
  for_each_line(text, [&](size_t line, std::string_view l) {
    r.check_utf8(line, l);
    return true;
  });
  for_each_csv_record(r, text, [&](size_t line, const std::vector<std::string>& fields) {
    if (r.full()) return false;
    if (!have_header) {
      have_header = true;
      expected_fields = fields.size();
      cols = resolve_columns(r, fields, line);
      return true;
    }
    if (fields.size() != expected_fields) {
      r.fail(line, "expected " + std::to_string(expected_fields) + " comma-separated fields, found " +
                       std::to_string(fields.size()));
    }
    add_row(r, line, fields, cols);
    return true;
  });
  if (!have_header) r.fail_file("empty file (no header, no examples)");
  return r.finish();
}

// One JSON object -> Example. `where` is the line (JSONL) or the item number (JSON array).
void add_object(Reader& r, size_t where, const nlohmann::json& obj) {
  using nlohmann::json;
  const TaskSpec& task = r.task();
  if (!obj.is_object()) r.fail(where, "expected a JSON object, found " + std::string(obj.type_name()));
  auto find = [&](const Names& names) -> const json* {
    for (const auto& n : names) {
      auto it = obj.find(n);
      if (it != obj.end()) return &*it;
    }
    return nullptr;
  };
  auto text = [&](const Names& names, const char* what) -> std::string {
    const json* v = find(names);
    if (!v) r.fail(where, std::string("missing the ") + what + " (one of " + quoted_list(names) + ")");
    if (!v->is_string()) {
      r.fail(where, std::string("the ") + what + " must be a string, found " + v->type_name());
    }
    return v->get<std::string>();
  };
  Example e;
  e.line = where;
  if (task.pair) {
    e.text_a = text(kFirstText, "first text");
    e.text_b = text(kSecondText, "second text");
  } else {
    e.text_a = text(kSingleText, "text");
  }
  const Names& label_names = task.regression ? kScoreLabel : kClassLabel;
  const json* label = find(label_names);
  if (!label) r.fail(where, "missing the label (one of " + quoted_list(label_names) + ")");
  if (task.regression) {
    if (label->is_number()) {
      double v = label->get<double>();
      if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<float>::max()) {
        r.fail(where, "score is not a finite number");
      }
      e.score = static_cast<float>(v);
    } else if (label->is_string()) {
      e.score = r.score(where, label->get<std::string>());
    } else {
      r.fail(where, std::string("score must be a number, found ") + label->type_name());
    }
  } else {
    if (label->is_number_integer()) {
      e.label = r.class_index(where, label->get<long long>());
    } else if (label->is_string()) {
      e.label = r.class_label(where, label->get<std::string>());
    } else {
      r.fail(where, "label must be an integer class index or one of " + join(task.label_names) + ", found " +
                        label->dump());
    }
  }
  r.add(std::move(e));
}

Dataset read_jsonl(const fs::path& path, const TaskSpec& task, size_t limit) {
  Reader r(path, task, limit);
  std::string text = read_data_file(path);
  std::string_view body = trim(text);
  if (!body.empty() && body.front() == '[') {  // a JSON array of objects (.json)
    for_each_line(text, [&](size_t line, std::string_view l) {
      r.check_utf8(line, l);
      return true;
    });
    nlohmann::json arr;
    try {
      arr = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number beyond double
      r.fail_file(std::string("invalid JSON: ") + e.what());
    }
    if (!arr.is_array()) r.fail_file("expected a JSON array of objects or JSON Lines");
    r.number_items();
    size_t item = 0;
    for (const auto& obj : arr) {
      if (r.full()) break;
      ++item;
      add_object(r, item, obj);
    }
    return r.finish();
  }
  for_each_line(text, [&](size_t line, std::string_view l) {
    if (r.full()) return false;
    if (trim(l).empty()) return true;
    r.check_utf8(line, l);
    nlohmann::json obj;
    try {
      obj = nlohmann::json::parse(l);
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number beyond double
      std::string what = e.what();
      // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line 1, column N: "
      size_t col = what.find("column");
      r.fail(line, "invalid JSON" + (col != std::string::npos ? " at " + what.substr(col) : ": " + what));
    }
    add_object(r, line, obj);
    return true;
  });
  return r.finish();
}

}  // namespace

FileFormat file_format(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".tsv") return FileFormat::Tsv;
  if (ext == ".jsonl" || ext == ".json") return FileFormat::Jsonl;
  if (ext == ".csv") return FileFormat::Csv;
  throw DataError(path.string() + ": unknown data format '" + ext +
                  "' (expected a .tsv, .jsonl, .json or .csv file)");
}

Dataset read_dataset(const fs::path& path, const TaskSpec& task, size_t limit) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError(path.string() + ": no such file");
  switch (file_format(path)) {
    case FileFormat::Tsv:
      return read_tsv(path, task, limit);
    case FileFormat::Csv:
      return read_csv(path, task, limit);
    case FileFormat::Jsonl:
      return read_jsonl(path, task, limit);
  }
  throw DataError(path.string() + ": unknown data format");
}

}  // namespace lwm
