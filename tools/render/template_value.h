// Private to the template engine: values during execution, and the builtin
// functions (template_funcs.cc) the executor calls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "render/template_ast.h"

namespace ctk::tools::tmpl {

// A value seen by the executor: a pointer into the record (no copy for the
// common `{{.A.B}}`), or into a value computed during execution, which
// `keep` holds alive for as long as anything still points into it.
struct Val {
  const Json *ptr = nullptr;
  std::shared_ptr<const Json> keep;

  const Json &get() const { return *ptr; }
  static Val ref(const Json &j, std::shared_ptr<const Json> keep = {}) {
    return Val{&j, std::move(keep)};
  }
  static Val own(Json j) {
    auto p = std::make_shared<const Json>(std::move(j));
    const Json *raw = p.get();
    return Val{raw, std::move(p)};
  }
  static Val null();
};

// Go's truth: false, 0, "", empty array or map, and nil are false.
bool truthy(const Json &v);

// Calls a builtin (all but and/or, which the executor short-circuits). The
// error text is the cause only; the caller adds the position.
ctk::rt::Result<Val> call_func(Func f, const std::vector<Val> &args);

} // namespace ctk::tools::tmpl
