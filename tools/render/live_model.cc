// The live view's model: everything the screen shows, computed without a
// terminal so that sorting, filtering, selection and the detail pane are
// unit-tested (tests/unit/render_live.cc).
#include "render/live_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace ctk::tools::live {
namespace {

constexpr size_t kGap = 3; // between columns, as the table renderer (tabwriter padding)

// One line of plain text: a newline or escape inside a container name must
// neither break the screen's rows nor drive the terminal.
std::string clean(std::string s) {
  for (char &c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool numeric_type(uint32_t type) {
  return type == CTK_COL_INT || type == CTK_COL_BYTES || type == CTK_COL_DURATION ||
         type == CTK_COL_PERCENT;
}

// The leading quantity of a text cell as a plugin formats it: "1.5MiB / 2GiB"
// (MEM USAGE / LIMIT), "12kB / 0B" (NET I/O), "3.2%". Docker's units: decimal
// kB/MB/GB and binary KiB/MiB/GiB.
std::optional<double> leading_quantity(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
    ++i;
  if (i == 0)
    return std::nullopt;
  char *end = nullptr;
  std::string num(s.substr(0, i));
  double v = std::strtod(num.c_str(), &end);
  if (end != num.c_str() + num.size())
    return std::nullopt;
  std::string_view unit = s.substr(i);
  unit = unit.substr(0, unit.find_first_of(" /"));
  static constexpr std::array<std::pair<std::string_view, double>, 14> kUnits{{
      {"", 1},
      {"B", 1},
      {"%", 1},
      {"kB", 1e3},
      {"KB", 1e3},
      {"MB", 1e6},
      {"GB", 1e9},
      {"TB", 1e12},
      {"KiB", 1024.0},
      {"MiB", 1048576.0},
      {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0},
      {"k", 1e3},
      {"M", 1e6},
  }};
  for (const auto &[name, scale] : kUnits)
    if (unit == name)
      return v * scale;
  return std::nullopt;
}

// Values of one column compare by their raw JSON, not by the cell text:
// "96MiB" sorts above "1.5GiB" as text but not as bytes.
int rank(const Json *v) {
  if (!v || v->is_null())
    return 5;
  if (v->is_number())
    return 0;
  if (v->is_string())
    return 1;
  if (v->is_boolean())
    return 2;
  return v->is_array() ? 3 : 4;
}

int compare(const Json *a, const Json *b) {
  int ra = rank(a), rb = rank(b);
  if (ra != rb)
    return ra < rb ? -1 : 1;
  switch (ra) {
  case 0: {
    double x = a->get<double>(), y = b->get<double>();
    return x < y ? -1 : (y < x ? 1 : 0);
  }
  case 1: {
    const auto &x = a->get_ref<const std::string &>();
    const auto &y = b->get_ref<const std::string &>();
    auto qx = leading_quantity(x), qy = leading_quantity(y);
    if (qx && qy && *qx != *qy)
      return *qx < *qy ? -1 : 1;
    int c = lower(x).compare(lower(y));
    return c != 0 ? (c < 0 ? -1 : 1) : x.compare(y);
  }
  case 2:
    return static_cast<int>(a->get<bool>()) - static_cast<int>(b->get<bool>());
  case 3:
    return a->size() < b->size() ? -1 : (b->size() < a->size() ? 1 : 0);
  case 4:
    // An object ("MEM USAGE / LIMIT" as {Usage, Limit}) sorts by its first member.
    if (a->empty() || b->empty())
      return static_cast<int>(!a->empty()) - static_cast<int>(!b->empty());
    return compare(&a->begin().value(), &b->begin().value());
  default:
    return 0;
  }
}

std::string plain(const Json &v) {
  static const ColumnSpec kString{"", "", CTK_COL_STRING, 0, ""};
  return clean(format_cell(v, kString, true, 0));
}

// Cells padded to `widths` and joined; the last cell is not padded.
std::string align(const std::vector<std::string> &cells, const std::vector<size_t> &widths) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    out += cells[i];
    if (i + 1 < cells.size())
      out.append(widths[i] - std::min(widths[i], rune_width(cells[i])) + kGap, ' ');
  }
  return out;
}

// A list of objects (a container's processes) as an indented table whose
// columns are the objects' keys, in order of first appearance.
void sub_table(const Json &list, std::vector<std::string> &out) {
  std::vector<std::string> keys;
  for (const auto &e : list)
    if (e.is_object())
      for (auto it = e.begin(); it != e.end(); ++it)
        if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
          keys.push_back(it.key());
  std::vector<std::vector<std::string>> rows{keys};
  for (auto &k : rows[0])
    k = clean(k);
  for (const auto &e : list) {
    std::vector<std::string> row;
    for (const auto &k : keys) {
      auto it = e.is_object() ? e.find(k) : e.end();
      row.push_back(it != e.end() ? plain(*it) : (e.is_object() ? "" : plain(e)));
    }
    rows.push_back(std::move(row));
  }
  std::vector<size_t> widths(keys.size(), 0);
  for (const auto &r : rows)
    for (size_t i = 0; i < r.size(); ++i)
      widths[i] = std::max(widths[i], rune_width(r[i]));
  for (const auto &r : rows)
    out.push_back("    " + align(r, widths));
}

std::string seconds_text(double secs) {
  return fmt::format("{:g}s", secs);
}

} // namespace

size_t rune_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

std::string fit(std::string_view s, size_t width) {
  size_t runes = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && runes++ == width)
      return std::string(s.substr(0, i));
  }
  return std::string(s);
}

double step_interval(double secs, bool up) {
  static constexpr std::array<double, 9> kSteps{0.5, 1, 2, 3, 5, 10, 15, 30, 60};
  if (up) {
    for (double s : kSteps)
      if (s > secs + 1e-9)
        return s;
    return kSteps.back();
  }
  for (auto it = kSteps.rbegin(); it != kSteps.rend(); ++it)
    if (*it < secs - 1e-9)
      return *it;
  return kSteps.front();
}

Model::Model(std::vector<ColumnSpec> columns, ModelOptions opt)
    : columns_(std::move(columns)), opt_(std::move(opt)) {
  for (size_t i = 0; i < columns_.size(); ++i)
    if (!(columns_[i].flags & CTK_COL_HIDDEN))
      visible_.push_back(i);
  auto by = [&](auto pred) {
    auto it = std::find_if(columns_.begin(), columns_.end(), pred);
    return it == columns_.end() ? columns_.size() : static_cast<size_t>(it - columns_.begin());
  };
  key_col_ = by([](const ColumnSpec &c) { return c.key == "ID"; });
  if (key_col_ == columns_.size())
    key_col_ = by([](const ColumnSpec &c) { return c.type == CTK_COL_ID; });
  if (key_col_ == columns_.size())
    key_col_ = visible_.empty() ? 0 : visible_[0];
  // Headers line up before the first sample too.
  for (size_t i : visible_)
    widths_.push_back(rune_width(columns_[i].header) + 2);
}

void Model::set_sample(std::vector<Json> records, int64_t now) {
  records_ = std::move(records);
  now_ = now;
  has_sample_ = true;
  cells_.assign(records_.size(), {});
  for (size_t i = 0; i < visible_.size(); ++i)
    widths_[i] = rune_width(columns_[visible_[i]].header) + 2; // room for the sort mark
  for (size_t r = 0; r < records_.size(); ++r) {
    auto &row = cells_[r];
    row.reserve(visible_.size());
    for (size_t i = 0; i < visible_.size(); ++i) {
      const ColumnSpec &c = columns_[visible_[i]];
      const Json *v = lookup(records_[r], c.key);
      row.push_back(v ? clean(format_cell(*v, c, opt_.no_trunc, now_)) : std::string());
      widths_[i] = std::max(widths_[i], rune_width(row.back()));
    }
  }
  rebuild();
}

std::string Model::key_of(size_t record) const {
  if (key_col_ >= columns_.size())
    return std::to_string(record);
  const Json *v = lookup(records_[record], columns_[key_col_].key);
  return v ? v->dump(-1, ' ', false, Json::error_handler_t::replace) : std::string();
}

bool Model::matches(size_t record) const {
  if (filter_.empty())
    return true;
  // The name (first column) or the full ID, so an ID prefix finds its row.
  const std::string needle = lower(filter_);
  if (!visible_.empty() && lower(cells_[record][0]).find(needle) != std::string::npos)
    return true;
  if (key_col_ < columns_.size())
    if (const Json *v = lookup(records_[record], columns_[key_col_].key))
      return lower(plain(*v)).find(needle) != std::string::npos;
  return false;
}

void Model::rebuild() {
  rows_.clear();
  for (size_t r = 0; r < records_.size(); ++r)
    if (matches(r))
      rows_.push_back(r);
  if (sort_ >= 0) {
    const std::string &key = columns_[visible_[static_cast<size_t>(sort_)]].key;
    std::stable_sort(rows_.begin(), rows_.end(), [&](size_t a, size_t b) {
      const Json *x = lookup(records_[a], key), *y = lookup(records_[b], key);
      // Blank cells (a container that vanished mid-sample) stay at the bottom
      // whichever the direction.
      bool bx = rank(x) == 5, by = rank(y) == 5;
      if (bx != by)
        return by;
      int c = compare(x, y);
      return descending_ ? c > 0 : c < 0;
    });
  } else if (descending_) {
    std::reverse(rows_.begin(), rows_.end());
  }
  // Follow the selected record by its key; when it is gone, stay at the
  // same place on the screen.
  size_t at = rows_.size();
  if (!selected_key_.empty())
    for (size_t i = 0; i < rows_.size(); ++i)
      if (key_of(rows_[i]) == selected_key_) {
        at = i;
        break;
      }
  if (at == rows_.size())
    at = rows_.empty() ? 0 : std::min(selected_, rows_.size() - 1);
  select(at);
}

void Model::select(size_t row) {
  selected_ = row;
  if (row < rows_.size())
    selected_key_ = key_of(rows_[row]);
  detail_scroll_ = 0;
}

const Json *Model::selected_record() const {
  return selected_ < rows_.size() ? &records_[rows_[selected_]] : nullptr;
}

void Model::set_sort(int col) {
  sort_ = col;
  // Numbers start with the biggest on top: the container eating the CPU.
  // A text column of quantities ("1.5MiB / 2GiB") counts as numbers.
  descending_ = false;
  if (col >= 0) {
    const ColumnSpec &c = columns_[visible_[static_cast<size_t>(col)]];
    descending_ = numeric_type(c.type);
    if (c.type == CTK_COL_STRING && !records_.empty())
      if (const Json *v = lookup(records_.front(), c.key); v && v->is_string())
        descending_ = leading_quantity(v->get_ref<const std::string &>()).has_value();
  }
  rebuild();
}

std::string Model::header_line() const {
  std::vector<std::string> cells;
  for (size_t i = 0; i < visible_.size(); ++i) {
    std::string h = clean(columns_[visible_[i]].header);
    if (static_cast<int>(i) == sort_)
      h += descending_ ? " v" : " ^";
    cells.push_back(std::move(h));
  }
  return align(cells, widths_);
}

std::string Model::row_line(size_t row) const {
  return row < rows_.size() ? align(cells_[rows_[row]], widths_) : std::string();
}

size_t Model::scroll_top(size_t height) {
  if (height == 0)
    return top_;
  if (selected_ < top_)
    top_ = selected_;
  else if (selected_ >= top_ + height)
    top_ = selected_ - height + 1;
  if (rows_.size() <= height)
    top_ = 0;
  else
    top_ = std::min(top_, rows_.size() - height);
  return top_;
}

std::string Model::status_line() const {
  std::string s = "ctk " + opt_.command;
  if (has_sample_) {
    std::time_t t = static_cast<std::time_t>(now_);
    std::tm tm{};
    localtime_r(&t, &tm);
    std::array<char, 16> buf{};
    std::strftime(buf.data(), buf.size(), "%H:%M:%S", &tm);
    s += "   " + std::string(buf.data());
  } else {
    s += "   waiting for the first sample";
  }
  if (interval_ > 0)
    s += "   every " + seconds_text(interval_);
  s += "   sort: ";
  if (sort_ >= 0)
    s += clean(columns_[visible_[static_cast<size_t>(sort_)]].header) +
         (descending_ ? " (desc)" : " (asc)");
  else
    s += descending_ ? "- (reversed)" : "-";
  if (!filter_.empty())
    s += "   filter: " + clean(filter_);
  s += fmt::format("   {} of {}", rows_.size(), records_.size());
  return s;
}

std::string Model::prompt_line() const {
  if (editing_)
    return "filter (Enter keeps, Esc cancels): " + clean(filter_) + "_";
  return "q quit  Up/Down j/k select  s/S </> sort  r reverse  / filter  Enter detail"
         "  +/- interval";
}

std::vector<std::string> Model::detail_lines() const {
  std::vector<std::string> out;
  const Json *rec = selected_record();
  if (!rec)
    return out;
  size_t width = 0;
  for (const auto &c : columns_)
    width = std::max(width, rune_width(c.header));
  auto line = [&](const std::string &header, const Json *v, const ColumnSpec *col) {
    std::string head = clean(header) + ":";
    head.append(width + 2 - std::min(width + 1, rune_width(header)), ' ');
    if (!v || v->is_null()) {
      out.push_back(head);
    } else if (v->is_array() &&
               std::any_of(v->begin(), v->end(), [](auto &e) { return e.is_object(); })) {
      out.push_back(fmt::format("{}{} entries", head, v->size()));
      sub_table(*v, out);
    } else if (v->is_object()) {
      out.push_back(head);
      for (auto it = v->begin(); it != v->end(); ++it)
        out.push_back("    " + clean(it.key()) + ": " + plain(it.value()));
    } else {
      out.push_back(head + (col ? clean(format_cell(*v, *col, true, now_)) : plain(*v)));
    }
  };
  for (const auto &c : columns_)
    line(c.header, lookup(*rec, c.key), &c);
  // Fields the command sent without declaring them are shown all the same.
  for (auto it = rec->begin(); it != rec->end(); ++it) {
    const std::string &k = it.key();
    bool declared = std::any_of(columns_.begin(), columns_.end(), [&](const ColumnSpec &c) {
      return c.key == k || (c.key.size() > k.size() && c.key.compare(0, k.size(), k) == 0 &&
                            c.key[k.size()] == '.');
    });
    if (!declared)
      line(k, &it.value(), nullptr);
  }
  return out;
}

Action Model::on_filter_key(int key) {
  switch (key) {
  case kCtrlC:
    return Action::Quit;
  case kEnter:
    editing_ = false;
    return Action::None;
  case kEscape:
    editing_ = false;
    filter_ = filter_before_edit_;
    break;
  case kBackspace:
  case 127:
  case 8:
    // A whole UTF-8 character: its continuation bytes, then its lead byte.
    while (!filter_.empty() && (static_cast<unsigned char>(filter_.back()) & 0xC0) == 0x80)
      filter_.pop_back();
    if (!filter_.empty())
      filter_.pop_back();
    break;
  default:
    if (key < 0x20 || key > 0xff)
      return Action::None;
    filter_ += static_cast<char>(key);
  }
  rebuild();
  return Action::None;
}

Action Model::on_key(int key) {
  if (editing_)
    return on_filter_key(key);
  const int n = static_cast<int>(visible_.size());
  switch (key) {
  case 'q':
  case 'Q':
  case kCtrlC:
    return Action::Quit;
  case kUp:
  case 'k':
    if (selected_ > 0 && selected_ < rows_.size())
      select(selected_ - 1);
    break;
  case kDown:
  case 'j':
    if (selected_ + 1 < rows_.size())
      select(selected_ + 1);
    break;
  case kPageUp:
    if (detail_)
      detail_scroll_ -= std::min(detail_scroll_, page_);
    else if (!rows_.empty())
      select(selected_ - std::min(selected_, page_));
    break;
  case kPageDown:
    if (detail_) {
      size_t n_lines = detail_lines().size();
      detail_scroll_ = std::min(detail_scroll_ + page_, n_lines ? n_lines - 1 : 0);
    } else if (!rows_.empty()) {
      select(std::min(selected_ + page_, rows_.size() - 1));
    }
    break;
  case kHome:
  case 'g':
    if (!rows_.empty())
      select(0);
    break;
  case kEnd:
  case 'G':
    if (!rows_.empty())
      select(rows_.size() - 1);
    break;
  case 's':
  case '>':
    if (n > 0)
      set_sort(sort_ + 1 < n ? sort_ + 1 : -1);
    break;
  case 'S':
  case '<':
    if (n > 0)
      set_sort(sort_ < 0 ? n - 1 : sort_ - 1);
    break;
  case 'r':
  case 'R':
    descending_ = !descending_;
    rebuild();
    break;
  case '/':
    editing_ = true;
    filter_before_edit_ = filter_;
    break;
  case kEnter:
    detail_ = !detail_;
    detail_scroll_ = 0;
    break;
  case kEscape:
    if (detail_) {
      detail_ = false;
    } else if (!filter_.empty()) {
      filter_.clear();
      rebuild();
    }
    break;
  case '+':
  case '=':
  case '-':
  case '_': {
    double next = step_interval(interval_ > 0 ? interval_ : 1, key == '+' || key == '=');
    if (next == interval_)
      break;
    interval_ = next;
    return Action::IntervalChanged;
  }
  default:
    break;
  }
  return Action::None;
}

} // namespace ctk::tools::live
