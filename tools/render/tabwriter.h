// Private to the renderer: Go's text/tabwriter as docker configures it
// (minwidth 10, padding 3, spaces, no flags), so tables line up exactly as
// `docker ps` does. Cells end at '\t', lines at '\n'; the last cell of a line
// is not part of a column and is never padded.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::tools {

class TabWriter {
public:
  explicit TabWriter(size_t minwidth = 10, size_t padding = 3)
      : minwidth_(minwidth), padding_(padding) {
    line_start_.push_back(0);
  }

  // Text with '\t' and '\n' separators, as a template's output.
  void write(std::string_view text);
  // One whole line whose cells contain no '\t' or '\n' (the caller cleans them).
  void row(const std::vector<std::string> &cells);
  bool empty() const { return text_.empty() && cells_.empty(); }
  // Aligns and writes everything buffered, then starts over.
  void flush(std::ostream &out);

private:
  struct Cell {
    uint32_t off;
    uint32_t size;
    uint32_t width; // in runes
  };
  void end_cell();
  void end_line();
  size_t ncells(size_t line) const { return line_start_[line + 1] - line_start_[line]; }
  const Cell &cell(size_t line, size_t col) const { return cells_[line_start_[line] + col]; }
  size_t nlines() const { return line_start_.size(); }
  void format(std::string &out, size_t line0, size_t line1);
  void write_lines(std::string &out, size_t line0, size_t line1);

  size_t minwidth_;
  size_t padding_;
  std::string text_;               // all cell texts, back to back
  size_t cell_begin_ = 0;          // start in text_ of the cell being written
  std::vector<Cell> cells_;        // all cells of all lines
  std::vector<size_t> line_start_; // index in cells_ of each line's first cell
  std::vector<size_t> widths_;     // column widths while formatting
};

} // namespace ctk::tools
