#include "render/tabwriter.h"

#include <algorithm>

#include "render/gofmt.h"

namespace ctk::tools {

void TabWriter::end_cell() {
  std::string_view t(text_.data() + cell_begin_, text_.size() - cell_begin_);
  cells_.push_back(Cell{static_cast<uint32_t>(cell_begin_), static_cast<uint32_t>(t.size()),
                        static_cast<uint32_t>(gofmt::rune_count(t))});
  cell_begin_ = text_.size();
}

// line_start_ always holds one more entry than there are finished lines: the
// start of the line being written.
void TabWriter::end_line() {
  line_start_.push_back(cells_.size());
}

void TabWriter::write(std::string_view text) {
  while (!text.empty()) {
    size_t sep = text.find_first_of("\t\n");
    text_.append(text.substr(0, sep));
    if (sep == std::string_view::npos)
      return;
    end_cell();
    if (text[sep] == '\n')
      end_line();
    text.remove_prefix(sep + 1);
  }
}

void TabWriter::row(const std::vector<std::string> &cells) {
  for (const auto &c : cells) {
    text_ += c;
    end_cell();
  }
  end_line();
}

// Go's tabwriter: a column block is a run of consecutive lines that all have
// a cell in this column (not counting each line's last cell); its width is
// the widest cell plus padding, at least minwidth.
void TabWriter::format(std::string &out, size_t line0, size_t line1) {
  size_t column = widths_.size();
  for (size_t t = line0; t < line1; ++t) {
    if (column + 1 >= ncells(t))
      continue;
    write_lines(out, line0, t);
    line0 = t;
    size_t width = minwidth_;
    for (; t < line1; ++t) {
      if (column + 1 >= ncells(t))
        break;
      width = std::max(width, cell(t, column).width + padding_);
    }
    widths_.push_back(width);
    format(out, line0, t);
    widths_.pop_back();
    line0 = t;
  }
  write_lines(out, line0, line1);
}

void TabWriter::write_lines(std::string &out, size_t line0, size_t line1) {
  for (size_t i = line0; i < line1; ++i) {
    size_t n = ncells(i);
    for (size_t j = 0; j < n; ++j) {
      const Cell &c = cell(i, j);
      out.append(text_, c.off, c.size);
      if (j < widths_.size())
        out.append(widths_[j] - std::min<size_t>(c.width, widths_[j]), ' ');
    }
    out += '\n';
  }
}

void TabWriter::flush(std::ostream &out) {
  // A partial last line (text after the last '\n') is printed without a newline.
  bool partial = text_.size() > cell_begin_ || cells_.size() > line_start_.back();
  if (text_.size() > cell_begin_)
    end_cell();
  if (partial)
    end_line();
  size_t lines = nlines() - 1;
  std::string buf;
  buf.reserve(text_.size() + lines * 16);
  format(buf, 0, lines);
  if (partial && !buf.empty() && buf.back() == '\n')
    buf.pop_back();
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  text_.clear();
  cell_begin_ = 0;
  cells_.clear();
  line_start_.assign(1, 0);
}

} // namespace ctk::tools
