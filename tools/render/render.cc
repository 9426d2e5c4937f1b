// The renderers behind make_renderer: an aligned table (default), JSON (one
// array, streamed), JSON lines, and Go templates with or without `table`.
// Chosen once per command; every command's records go through one of them.
#include "render/render.h"

#include <ctime>
#include <optional>

#include "render/tabwriter.h"
#include "render/template.h"

namespace ctk::tools {
namespace {

// Docker stats redraws its table in place on a terminal.
constexpr const char *kClearScreen = "\033[2J\033[H";

// A table cell is one line of plain text: a tab, newline or terminal escape
// inside a container name or command line must not forge rows or columns
// nor drive the terminal.
std::string clean_cell(std::string s) {
  for (char &c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  return s;
}

std::string json_text(const Json &rec) {
  // Command lines and file names are bytes, not always UTF-8: replace rather
  // than fail halfway through the output.
  return rec.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// -q: one cell per record, as the table would show it (IDs shortened unless
// --no-trunc), no header, written as records come.
class QuietRenderer final : public Renderer {
public:
  QuietRenderer(const RenderOptions &opt, ColumnSpec column, std::ostream &out)
      : opt_(opt), col_(std::move(column)), out_(out) {
    if (!opt_.now)
      opt_.now = static_cast<int64_t>(std::time(nullptr));
  }
  void record(Json rec) override {
    const Json *v = lookup(rec, col_.key);
    out_ << (v ? clean_cell(format_cell(*v, col_, opt_.no_trunc, opt_.now)) : std::string())
         << '\n';
  }
  void flush() override { out_.flush(); }
  void finish() override { out_.flush(); }

private:
  RenderOptions opt_;
  ColumnSpec col_;
  std::ostream &out_;
};

class TableRenderer final : public Renderer {
public:
  TableRenderer(const RenderOptions &opt, std::vector<ColumnSpec> columns, std::ostream &out)
      : opt_(opt), out_(out) {
    for (size_t j = 0; j < columns.size(); ++j)
      if (!(columns[j].flags & CTK_COL_HIDDEN)) {
        cols_.push_back(std::move(columns[j]));
        col_pos_.push_back(j);
      }
    if (!opt_.now)
      opt_.now = static_cast<int64_t>(std::time(nullptr));
  }

  void record(Json rec) override {
    start();
    cells_.clear();
    for (size_t i = 0; i < cols_.size(); ++i) {
      const auto &c = cols_[i];
      const Json *v = column_value(rec, i);
      cells_.push_back(v ? clean_cell(format_cell(*v, c, opt_.no_trunc, opt_.now)) : std::string());
    }
    tw_.row(cells_);
    ++rows_;
  }
  void flush() override { emit(); }
  void finish() override {
    if (rows_ > 0 || !printed_)
      emit();
  }

private:
  // Plugins emit fields in column order, so the field at the column's own
  // position is tried before the search (keys are unique: same result).
  const Json *column_value(const Json &rec, size_t i) const {
    const std::string &key = cols_[i].key;
    if (rec.is_object()) {
      const auto &obj = rec.get_ref<const Json::object_t &>();
      const size_t at = col_pos_[i];
      if (at < obj.size() && obj.begin()[static_cast<std::ptrdiff_t>(at)].first == key)
        return &obj.begin()[static_cast<std::ptrdiff_t>(at)].second;
    }
    return lookup(rec, key);
  }
  void start() {
    if (!tw_.empty())
      return;
    cells_.clear();
    for (const auto &c : cols_)
      cells_.push_back(clean_cell(c.header));
    tw_.row(cells_);
  }
  void emit() {
    if (opt_.stream && opt_.tty)
      out_ << kClearScreen;
    start();
    tw_.flush(out_);
    out_.flush();
    printed_ = true;
    rows_ = 0;
  }

  RenderOptions opt_;
  std::ostream &out_;
  std::vector<ColumnSpec> cols_;
  std::vector<size_t> col_pos_; // position of each column among all declared
  std::vector<std::string> cells_;
  TabWriter tw_;
  size_t rows_ = 0;
  bool printed_ = false;
};

// JSON: one array written as records arrive (never held whole), or JSON
// lines: one compact object per line, flushed per record when streaming.
class JsonRenderer final : public Renderer {
public:
  JsonRenderer(bool lines, bool stream, std::ostream &out)
      : lines_(lines), stream_(stream), out_(out) {}

  void record(Json rec) override {
    std::string text = json_text(rec);
    if (lines_) {
      text += '\n';
      out_.write(text.data(), static_cast<std::streamsize>(text.size()));
      if (stream_)
        out_.flush();
    } else {
      out_ << (count_ == 0 ? "[\n" : ",\n");
      out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    ++count_;
  }
  void flush() override { out_.flush(); }
  void finish() override {
    if (!lines_ && !finished_)
      out_ << (count_ == 0 ? "[]\n" : "\n]\n");
    finished_ = true;
    out_.flush();
  }

private:
  bool lines_;
  bool stream_;
  std::ostream &out_;
  size_t count_ = 0;
  bool finished_ = false;
};

// A Go template per record, followed by "\n" as docker does; with `table`,
// a header row from the columns and tab-aligned rows.
class TemplateRenderer final : public Renderer {
public:
  TemplateRenderer(const RenderOptions &opt, Template t, std::string header, std::ostream &out)
      : opt_(opt), t_(std::move(t)), header_(std::move(header)), out_(out) {}

  void record(Json rec) override {
    if (error_)
      return;
    auto text = t_.execute(rec);
    if (!text) {
      error_ = text.error();
      throw RenderError(error_->message());
    }
    if (t_.is_table()) {
      start();
      tw_.write(*text);
      tw_.write("\n");
      ++rows_;
      return;
    }
    *text += '\n';
    out_.write(text->data(), static_cast<std::streamsize>(text->size()));
    if (opt_.stream)
      out_.flush();
  }
  void flush() override {
    if (t_.is_table() && !error_)
      emit();
    out_.flush();
  }
  void finish() override {
    if (t_.is_table() && !error_ && (rows_ > 0 || !printed_))
      emit();
    out_.flush();
  }
  const ctk::rt::Error *error() const override { return error_ ? &*error_ : nullptr; }

private:
  void start() {
    if (tw_.empty()) {
      tw_.write(header_);
      tw_.write("\n");
    }
  }
  void emit() {
    if (opt_.stream && opt_.tty)
      out_ << kClearScreen;
    start();
    tw_.flush(out_);
    printed_ = true;
    rows_ = 0;
  }

  RenderOptions opt_;
  Template t_;
  std::string header_;
  std::ostream &out_;
  TabWriter tw_;
  size_t rows_ = 0;
  bool printed_ = false;
  std::optional<ctk::rt::Error> error_;
};

std::string trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return std::string(s);
}

} // namespace

ctk::rt::Result<std::unique_ptr<Renderer>>
make_renderer(const RenderOptions &opt, std::vector<ColumnSpec> columns, std::ostream &out) {
  if (opt.quiet) {
    for (auto &c : columns)
      if (c.flags & CTK_COL_QUIET)
        return std::make_unique<QuietRenderer>(opt, std::move(c), out);
    return ctk::rt::fail(ctk::rt::Errc::invalid_argument, "this command has no --quiet column");
  }
  std::string format = trim_spaces(opt.format);
  if (format.empty() || format == "table")
    return std::make_unique<TableRenderer>(opt, std::move(columns), out);
  if (format == "json" || format == "jsonl")
    return std::make_unique<JsonRenderer>(format == "jsonl" || opt.stream, opt.stream, out);
  auto t = Template::parse(format);
  if (!t)
    return tl::unexpected(t.error());
  std::vector<std::string> keys;
  keys.reserve(columns.size());
  for (const auto &c : columns)
    keys.push_back(c.key);
  t->set_known_keys(std::move(keys));
  // The header names a column by its declared header; a field that is not a
  // column gets its own name in capitals, as docker does for unknown fields.
  std::string header = t->header([&](const std::vector<std::string> &path) {
    std::string key;
    for (const auto &p : path)
      key += (key.empty() ? "" : ".") + p;
    for (const auto &c : columns)
      if (c.key == key)
        return c.header;
    std::string name = path.back();
    for (char &ch : name)
      if (ch >= 'a' && ch <= 'z')
        ch = static_cast<char>(ch - 'a' + 'A');
    return name;
  });
  return std::make_unique<TemplateRenderer>(opt, std::move(*t), std::move(header), out);
}

} // namespace ctk::tools
