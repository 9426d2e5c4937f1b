#include "ctk/runtime/plugin.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <exception>

#include <poll.h>
#include <unistd.h>

namespace ctk::rt::plugin {

Writer &Writer::key(std::string_view k) {
  h_->key(ctx_, k.data(), k.size());
  return *this;
}
Writer &Writer::str(std::string_view v) {
  h_->value_string(ctx_, v.data(), v.size());
  return *this;
}
Writer &Writer::num(int64_t v) {
  h_->value_int(ctx_, v);
  return *this;
}
Writer &Writer::unum(uint64_t v) {
  h_->value_uint(ctx_, v);
  return *this;
}
Writer &Writer::dbl(double v) {
  h_->value_double(ctx_, v);
  return *this;
}
Writer &Writer::boolean(bool v) {
  h_->value_bool(ctx_, v ? 1 : 0);
  return *this;
}
Writer &Writer::null() {
  h_->value_null(ctx_);
  return *this;
}
Writer &Writer::begin_object() {
  h_->begin_object(ctx_);
  return *this;
}
Writer &Writer::end_object() {
  h_->end_object(ctx_);
  return *this;
}
Writer &Writer::begin_array() {
  h_->begin_array(ctx_);
  return *this;
}
Writer &Writer::end_array() {
  h_->end_array(ctx_);
  return *this;
}

Writer &Writer::json(const nlohmann::ordered_json &v) {
  using V = nlohmann::ordered_json::value_t;
  switch (v.type()) {
  case V::null:
  case V::discarded: return null();
  case V::boolean: return boolean(v.get<bool>());
  case V::number_integer: return num(v.get<int64_t>());
  case V::number_unsigned: return unum(v.get<uint64_t>());
  case V::number_float: return dbl(v.get<double>());
  case V::string: return str(v.get_ref<const std::string &>());
  case V::binary: return null();
  case V::array:
    begin_array();
    for (const auto &e : v)
      json(e);
    return end_array();
  case V::object:
    begin_object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      key(it.key());
      json(it.value());
    }
    return end_object();
  }
  return *this;
}

bool Call::flag(std::string_view name) const {
  auto v = get(name);
  return v && (*v == "true" || *v == "1");
}

std::optional<std::string> Call::get(std::string_view name) const {
  std::optional<std::string> out;
  for (size_t i = 0; i < c_->n_options; i++)
    if (name == c_->options[i].name)
      out = c_->options[i].value ? c_->options[i].value : "";
  return out;
}

std::vector<std::string> Call::get_all(std::string_view name) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < c_->n_options; i++)
    if (name == c_->options[i].name)
      out.emplace_back(c_->options[i].value ? c_->options[i].value : "");
  return out;
}

Result<std::optional<long long>> Call::get_int(std::string_view name) const {
  auto v = get(name);
  if (!v)
    return std::optional<long long>{};
  long long n = 0;
  if (!parse_int(*v, n))
    return ::ctk::rt::fail(Errc::invalid_argument,
                "invalid value \"" + *v + "\" for --" + std::string(name) + ": not an integer");
  return std::optional<long long>{n};
}

std::vector<std::string> Call::args() const {
  std::vector<std::string> out;
  out.reserve(c_->n_args);
  for (size_t i = 0; i < c_->n_args; i++)
    out.emplace_back(c_->args[i]);
  return out;
}

void Call::emit(const nlohmann::ordered_json &rec) const {
  c_->host->begin_record(c_->host_ctx);
  Writer w(c_->host, c_->host_ctx);
  if (rec.is_object()) {
    for (auto it = rec.begin(); it != rec.end(); ++it)
      w.key(it.key()).json(it.value());
  }
  c_->host->end_record(c_->host_ctx);
}

void Call::progress(std::string_view label, uint64_t done, uint64_t total) const {
  std::string l(label);
  c_->host->progress(c_->host_ctx, l.c_str(), done, total);
}

void Call::warn(std::string_view msg) const {
  std::string m(msg);
  c_->host->warn(c_->host_ctx, m.c_str());
}

void Call::log(int level, std::string_view msg) const {
  if (level > c_->log_level)
    return;
  std::string m(msg);
  c_->host->log(c_->host_ctx, level, m.c_str());
}

namespace {
// A host older than ABI 1.1 ends its table before these entries.
template <class M> bool host_has(const ctk_host_v1 *h, M ctk_host_v1::*member) {
  const auto *base = reinterpret_cast<const char *>(h);
  const auto *field = reinterpret_cast<const char *>(&(h->*member));
  return h->size >= static_cast<size_t>(field - base) + sizeof(M) && h->*member != nullptr;
}
} // namespace

void Call::write_raw_stderr(std::string_view data) const {
  if (host_has(c_->host, &ctk_host_v1::write_raw_stderr)) {
    c_->host->write_raw_stderr(c_->host_ctx, data.data(), data.size());
    return;
  }
  // An older host: flush what it holds for stdout, then fd 2 directly.
  flush();
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(2, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    off += static_cast<size_t>(n);
  }
}

double Call::interval(double requested) const {
  if (!host_has(c_->host, &ctk_host_v1::interval))
    return requested;
  return c_->host->interval(c_->host_ctx, requested);
}

bool Call::wait_interval(double requested) const {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const int wake = host_has(c_->host, &ctk_host_v1::wake_fd) ? c_->host->wake_fd(c_->host_ctx) : -1;
  for (;;) {
    if (interrupted())
      return false;
    // Asked again on every wake: the user may have changed it meanwhile, and
    // the new interval counts from the last sample, not from the key press.
    double secs = interval(requested);
    double left = secs - std::chrono::duration<double>(Clock::now() - start).count();
    if (!(left > 0))
      return true;
    int ms = static_cast<int>(std::ceil(std::min(left, 3600.0) * 1000));
    pollfd fds[2] = {{interrupt_fd(), POLLIN, 0}, {wake, POLLIN, 0}};
    if (::poll(fds, 2, ms) < 0 && errno != EINTR)
      return !interrupted();
  }
}

int Call::fail(const Error &e, int status) const { return fail(e.message(), status); }

int Call::fail(std::string_view msg, int status) const {
  std::string m(msg);
  c_->host->error(c_->host_ctx, m.c_str());
  return status;
}

int run_guarded(const ctk_call_v1 *c, int (*body)(Call &)) {
  Call call(c);
  try {
    return body(call);
  } catch (const std::exception &e) {
    return call.fail(std::string(c->command->name) + ": internal error: " + e.what());
  } catch (...) {
    return call.fail(std::string(c->command->name) + ": internal error");
  }
}

} // namespace ctk::rt::plugin
