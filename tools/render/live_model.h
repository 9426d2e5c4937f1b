// The live view's state, without a terminal: the last complete sample of a
// streaming command, sorted and filtered, the selected row, the detail pane,
// the interval, and what each key does. live_view.cc draws it with ncurses;
// tests drive it directly.
//
//   live::Model m(columns, {.command = "stats"});
//   m.set_sample(std::move(records), time(nullptr));
//   m.on_key('s');                       // sort by the first column
//   for (size_t i : m.rows()) draw(m.row_line(i), i == m.selected());
//   if (m.detail_open()) for (auto &l : m.detail_lines()) draw(l);
//
// Rows keep their selection across samples by their key: the ID column (the
// first column keyed "ID", else the first of type CTK_COL_ID), else the
// first column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "render/render.h"

namespace ctk::tools::live {

// Keys beside plain characters (which are their code). The view maps the
// terminal's keys to these.
enum Key : int {
  kUp = -100,
  kDown,
  kPageUp,
  kPageDown,
  kHome,
  kEnd,
  kEnter,
  kEscape,
  kBackspace,
  kCtrlC = 3,
};

enum class Action {
  None,
  Quit,
  IntervalChanged, // the plugin must learn the new interval now
};

struct ModelOptions {
  std::string command;   // "stats", shown in the header
  bool no_trunc = false; // full IDs and cells in the table (the detail pane always has them)
};

class Model {
public:
  Model(std::vector<ColumnSpec> columns, ModelOptions opt);

  // A complete sample replaces the last one; `now` is its time (unix seconds).
  void set_sample(std::vector<Json> records, int64_t now);
  bool has_sample() const { return has_sample_; }
  Action on_key(int key);

  // The records shown, in order: indices into the sample.
  const std::vector<size_t> &rows() const { return rows_; }
  size_t record_count() const { return records_.size(); }
  // Index into rows() of the selected row; rows().size() when there is none.
  size_t selected() const { return selected_; }
  const Json *selected_record() const;
  // The header and one row, columns aligned over the whole sample.
  std::string header_line() const;
  std::string row_line(size_t row) const;
  // The first row to draw so that the selection shows in `height` rows.
  size_t scroll_top(size_t height);
  // Rows a page key moves by (the view sets it from the screen size).
  void set_page(size_t rows) { page_ = rows ? rows : 1; }

  // The top line: command, sample time, interval, sort, filter, counts.
  std::string status_line() const;
  // The bottom line: the filter being typed, or the keys.
  std::string prompt_line() const;
  bool editing_filter() const { return editing_; }

  bool detail_open() const { return detail_; }
  // Every column of the selected record, hidden ones too: "HEADER: value",
  // objects as indented "key: value" lines, lists of objects as sub-tables.
  std::vector<std::string> detail_lines() const;
  size_t detail_scroll() const { return detail_scroll_; }

  // Seconds between samples; 0 until the command said (interval()).
  double interval() const { return interval_; }
  void set_interval(double secs) { interval_ = secs; }

  // The sort column as an index into visible columns; -1 for the command's
  // own order.
  int sort_column() const { return sort_; }
  bool sort_descending() const { return descending_; }
  const std::string &filter() const { return filter_; }

private:
  void rebuild();          // rows_ from records_, filter, sort; keeps the selection
  void select(size_t row); // and remembers its key
  void set_sort(int col);
  std::string key_of(size_t record) const;
  bool matches(size_t record) const;
  Action on_filter_key(int key);

  std::vector<ColumnSpec> columns_;
  std::vector<size_t> visible_; // indices into columns_ of the table's columns
  size_t key_col_ = 0;          // index into columns_
  ModelOptions opt_;

  std::vector<Json> records_;
  std::vector<std::vector<std::string>> cells_; // per record, per visible column
  std::vector<size_t> widths_;                  // per visible column, in runes
  int64_t now_ = 0;
  bool has_sample_ = false;

  std::vector<size_t> rows_;
  size_t selected_ = 0;
  std::string selected_key_;
  size_t top_ = 0;
  size_t page_ = 10;

  int sort_ = -1;
  bool descending_ = false;
  std::string filter_;
  bool editing_ = false;
  std::string filter_before_edit_;
  bool detail_ = false;
  size_t detail_scroll_ = 0;
  double interval_ = 0;
};

// The next interval for "+" (up) or "-" (down): 0.5 1 2 3 5 10 15 30 60 s.
double step_interval(double secs, bool up);
// Display width in runes (UTF-8 code points), as the table aligns.
size_t rune_width(std::string_view s);
// The first `width` runes of `s`.
std::string fit(std::string_view s, size_t width);

} // namespace ctk::tools::live
