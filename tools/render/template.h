// A Go text/template subset, enough for what users type with docker:
// {{.A.B}}, {{json .X}}, {{index .M "key"}}, {{range .L}}...{{end}},
// {{range $k, $v := .M}}...{{end}}, {{if}}/{{else}}/{{end}}, eq/ne, printf,
// join, lower/upper, {{println}}, and a leading "table" directive. Also:
// {{with}}, {{else if}}, {{break}}/{{continue}}, and/or/not, lt/le/gt/ge,
// len, slice, print, split, title, pad, truncate, trim markers, comments.
//
//   auto t = Template::parse("table {{.ID}}\t{{.Names}}");
//   if (!t) error(t.error().message());   // "template: 1:14: unknown function \"foo\""
//   t->is_table();                        // true: a header row, then tab-aligned rows
//   std::string line = *t->execute(record);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/core.h"

namespace ctk::tools {

class Template {
public:
  struct Node;
  static ctk::rt::Result<Template> parse(std::string_view text);

  // Executes against one record. A missing field is an error naming the
  // field and its position (docker prints "<no value>" for maps; we choose
  // the error so typos are caught), unless the record is an object that
  // simply lacks an optional key present in `known_keys` (see below).
  ctk::rt::Result<std::string> execute(const nlohmann::ordered_json &data) const;

  // The header row of a table template: every action is replaced by
  // header_of() of its first field reference (`{{.A.B}}` and
  // `{{printf "%d" .A.B}}` both give header_of({"A","B"})), or by "" when it
  // has none; text (the tabs) is kept.
  std::string
  header(const std::function<std::string(const std::vector<std::string> &)> &header_of) const;

  bool is_table() const { return table_; }
  // Keys that may legitimately be absent in a record (declared columns):
  // they render as empty rather than failing.
  void set_known_keys(std::vector<std::string> dotted_keys);

  Template(Template &&) noexcept;
  Template &operator=(Template &&) noexcept;
  ~Template();

private:
  Template();
  std::unique_ptr<Node> root_;
  bool table_ = false;
  std::vector<std::string> known_;
};

} // namespace ctk::tools
