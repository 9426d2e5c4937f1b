// Executes a parsed template against one record. Field access points into
// the record instead of copying it, so a `{{.ID}}\t{{.Names}}` row costs a
// few key lookups and appends.
#include <algorithm>

#include "render/gofmt.h"
#include "render/template_value.h"

namespace ctk::tools {
namespace tmpl {
namespace {

using ctk::rt::Result;

tl::unexpected<ctk::rt::Error> fail_at(Pos pos, const std::string &cause) {
  return ctk::rt::fail(ctk::rt::Errc::invalid_argument, error_text(pos, cause));
}

std::string join_path(const std::vector<std::string> &fields, size_t upto) {
  std::string p;
  for (size_t i = 0; i <= upto && i < fields.size(); ++i) {
    if (i)
      p += '.';
    p += fields[i];
  }
  return p;
}

class Exec {
public:
  Exec(const Json &root, const std::vector<std::string> &known, std::string &out)
      : known_(known), out_(out) {
    vars_.push_back(Var{"$", Val::ref(root)});
  }

  // How a list ended: normally, or by {{break}} / {{continue}} for the
  // innermost range to act on.
  enum class Flow { Normal, Break, Continue };

  Result<Flow> walk_list(const List &list, const Val &dot) {
    size_t mark = vars_.size();
    for (const auto &n : list) {
      auto r = walk(n, dot);
      if (!r || *r != Flow::Normal)
        return r;
    }
    vars_.resize(mark);
    return Flow::Normal;
  }

private:
  struct Var {
    std::string name;
    Val val;
  };

  Result<Flow> walk(const Node &n, const Val &dot) {
    switch (n.kind) {
    case NodeKind::Text:
      out_ += n.text;
      return Flow::Normal;
    case NodeKind::Break:
      return Flow::Break;
    case NodeKind::Continue:
      return Flow::Continue;
    case NodeKind::Action: {
      auto v = eval_pipe(*n.pipe, dot, true);
      if (!v)
        return tl::unexpected(v.error());
      if (n.pipe->decl.empty())
        print(v->get());
      return Flow::Normal;
    }
    case NodeKind::If:
    case NodeKind::With: {
      size_t mark = vars_.size();
      auto v = eval_pipe(*n.pipe, dot, true);
      if (!v)
        return tl::unexpected(v.error());
      Result<Flow> r = truthy(v->get()) ? walk_list(n.body, n.kind == NodeKind::With ? *v : dot)
                                        : walk_list(n.else_body, dot);
      vars_.resize(mark);
      return r;
    }
    case NodeKind::Range:
      return range(n, dot);
    }
    return Flow::Normal;
  }

  Result<Flow> range(const Node &n, const Val &dot) {
    size_t mark = vars_.size();
    auto coll = eval_pipe(*n.pipe, dot, false);
    if (!coll)
      return tl::unexpected(coll.error());
    const auto &decl = n.pipe->decl;
    for (const auto &d : decl)
      vars_.push_back(Var{d, Val::null()});
    // `$e := ...` binds the element; `$k, $v := ...` the key (or index) and
    // the element, as in Go. Returns false when the loop must stop.
    Result<Flow> r = Flow::Normal;
    size_t count = 0;
    auto one = [&](Val key, const Val &elem) -> bool {
      ++count;
      if (decl.size() == 1)
        vars_[mark].val = elem;
      else if (decl.size() == 2)
        vars_[mark].val = std::move(key), vars_[mark + 1].val = elem;
      r = walk_list(n.body, elem);
      return r && *r != Flow::Break;
    };
    const Json &c = coll->get();
    if (c.is_array()) {
      for (size_t i = 0; i < c.size(); ++i)
        if (!one(Val::own(static_cast<int64_t>(i)), Val::ref(c[i], coll->keep)))
          break;
    } else if (c.is_object()) {
      // Go ranges over a map in key order.
      std::vector<std::pair<const std::string *, const Json *>> items;
      items.reserve(c.size());
      for (auto it = c.begin(); it != c.end(); ++it)
        items.emplace_back(&it.key(), &it.value());
      std::sort(items.begin(), items.end(), [](auto &a, auto &b) { return *a.first < *b.first; });
      for (const auto &[key, elem] : items)
        if (!one(Val::own(*key), Val::ref(*elem, coll->keep)))
          break;
    } else if (c.is_number_integer()) {
      for (int64_t i = 0, limit = c.get<int64_t>(); i < limit; ++i) {
        Val iv = Val::own(i);
        if (!one(iv, iv))
          break;
      }
    } else if (!c.is_null()) {
      return fail_at(n.pipe->pos, "range can't iterate over " + gofmt::value(c));
    }
    if (!r)
      return r;
    vars_.resize(mark);
    if (count == 0)
      return walk_list(n.else_body, dot);
    return Flow::Normal; // break and continue end here
  }

  void print(const Json &v) {
    if (v.is_null())
      out_ += "<no value>";
    else
      gofmt::append_value(out_, v);
  }

  // `declare` is false for range, which binds its variables per element.
  Result<Val> eval_pipe(const Pipe &p, const Val &dot, bool declare) {
    Val value = Val::null();
    bool have = false;
    for (const auto &cmd : p.cmds) {
      auto v = eval_command(cmd, dot, have ? &value : nullptr);
      if (!v)
        return v;
      value = std::move(*v);
      have = true;
    }
    if (declare)
      for (const auto &d : p.decl) {
        if (p.assign) {
          for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
            if (it->name == d) {
              it->val = value;
              break;
            }
        } else {
          vars_.push_back(Var{d, value});
        }
      }
    return value;
  }

  Result<Val> eval_command(const Command &cmd, const Val &dot, const Val *piped) {
    const Arg &head = cmd.args.front();
    if (head.kind != ArgKind::Function)
      return eval_arg(head, dot); // the parser allows no arguments or input here
    size_t nargs = cmd.args.size() - 1 + (piped ? 1 : 0);
    if (head.func == Func::And || head.func == Func::Or) {
      if (nargs == 0)
        return fail_at(head.pos, std::string("wrong number of args for ") + func_name(head.func) +
                                     ": want at least 1 got 0");
      // Go 1.18+: stop at the first false (and) or true (or) operand.
      Val v = Val::null();
      for (size_t i = 0; i < nargs; ++i) {
        if (i + 1 < cmd.args.size()) {
          auto a = eval_arg(cmd.args[i + 1], dot);
          if (!a)
            return a;
          v = std::move(*a);
        } else {
          v = *piped;
        }
        if (truthy(v.get()) == (head.func == Func::Or))
          return v;
      }
      return v;
    }
    std::vector<Val> args;
    args.reserve(nargs);
    for (size_t i = 1; i < cmd.args.size(); ++i) {
      auto a = eval_arg(cmd.args[i], dot);
      if (!a)
        return a;
      args.push_back(std::move(*a));
    }
    if (piped)
      args.push_back(*piped);
    auto r = call_func(head.func, args);
    if (!r)
      return fail_at(head.pos, r.error().context);
    return r;
  }

  Result<Val> eval_arg(const Arg &a, const Val &dot) {
    switch (a.kind) {
    case ArgKind::Dot:
      return dot;
    case ArgKind::Field:
      return field_chain(dot, a);
    case ArgKind::Literal:
      return Val::ref(a.literal);
    case ArgKind::Variable:
      for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
        if (it->name == a.name)
          return field_chain(it->val, a);
      return fail_at(a.pos, "undefined variable \"" + a.name + "\"");
    case ArgKind::Function: { // a function as an operand is called without arguments
      auto r = call_func(a.func, {});
      if (!r)
        return fail_at(a.pos, r.error().context);
      return r;
    }
    case ArgKind::Paren: {
      auto v = eval_pipe(*a.pipe, dot, true);
      if (!v)
        return v;
      return field_chain(*v, a);
    }
    }
    return Val::null();
  }

  Result<Val> field_chain(const Val &base, const Arg &a) {
    Val cur = base;
    for (size_t i = 0; i < a.fields.size(); ++i) {
      const Json &j = cur.get();
      if (j.is_null())
        return Val::null(); // a present-but-null parent: nothing below it
      if (!j.is_object())
        return fail_at(a.pos,
                       "can't evaluate field " + a.fields[i] + " in type " + gofmt::type_name(j));
      auto it = j.find(a.fields[i]);
      if (it == j.end()) {
        std::string path = join_path(a.fields, i);
        if (known(path))
          return Val::null();
        return fail_at(a.pos, "unknown field \"" + path + "\"");
      }
      cur = Val::ref(*it, cur.keep);
    }
    return cur;
  }

  // A declared column (or a parent of one) may be absent from a record.
  bool known(const std::string &path) const {
    for (const auto &k : known_)
      if (k == path || (k.size() > path.size() && k.starts_with(path) && k[path.size()] == '.'))
        return true;
    return false;
  }

  const std::vector<std::string> &known_;
  std::string &out_;
  std::vector<Var> vars_;
};

} // namespace
} // namespace tmpl

ctk::rt::Result<std::string> Template::execute(const nlohmann::ordered_json &data) const {
  std::string out;
  if (!root_)
    return out;
  tmpl::Exec exec(data, known_, out);
  if (auto r = exec.walk_list(root_->list, tmpl::Val::ref(data)); !r)
    return tl::unexpected(r.error());
  return out;
}

} // namespace ctk::tools
