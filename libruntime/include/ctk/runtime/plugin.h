// The C++ side of the plugin ABI: what a plugin author uses.
//
//   static int run_pidmap(ctk::rt::plugin::Call &call) {
//     auto procs = ctk::rt::proc::scan({});
//     if (!procs) return call.fail(procs.error());
//     for (auto &p : *procs) {
//       auto r = call.record();          // begin_record ... end_record on scope exit
//       r.field("PID", p.pid).field("Command", p.comm);
//     }
//     return 0;
//   }
//   static const ctk_command_v1 kCommands[] = {
//       {"pidmap", "Map host PIDs to containers", ..., &ctk::rt::plugin::entry<run_pidmap>}};
//   CTK_DEFINE_PLUGIN("pidmap", "PID mapping", kCommands)
//
// entry<> catches every exception, so nothing crosses the C boundary.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/core.h"
#include "ctk/runtime/plugin_abi.h"
#include "ctk/runtime/version.h"

namespace ctk::rt::plugin {

// Streams one value tree to the host. Methods return *this for chaining.
class Writer {
public:
  Writer(const ctk_host_v1 *host, void *ctx) : h_(host), ctx_(ctx) {}

  Writer &key(std::string_view k);
  Writer &str(std::string_view v);
  Writer &num(int64_t v);
  Writer &unum(uint64_t v);
  Writer &dbl(double v);
  Writer &boolean(bool v);
  Writer &null();
  Writer &begin_object();
  Writer &end_object();
  Writer &begin_array();
  Writer &end_array();
  // Any JSON value (objects, arrays, scalars), streamed as calls.
  Writer &json(const nlohmann::ordered_json &v);

  Writer &field(std::string_view k, std::string_view v) { return key(k).str(v); }
  Writer &field(std::string_view k, const char *v) { return key(k).str(v ? v : ""); }
  Writer &field(std::string_view k, const std::string &v) { return key(k).str(v); }
  Writer &field(std::string_view k, bool v) { return key(k).boolean(v); }
  Writer &field(std::string_view k, int v) { return key(k).num(v); }
  Writer &field(std::string_view k, long v) { return key(k).num(v); }
  Writer &field(std::string_view k, long long v) { return key(k).num(v); }
  Writer &field(std::string_view k, unsigned v) { return key(k).unum(v); }
  Writer &field(std::string_view k, unsigned long v) { return key(k).unum(v); }
  Writer &field(std::string_view k, unsigned long long v) { return key(k).unum(v); }
  Writer &field(std::string_view k, double v) { return key(k).dbl(v); }
  Writer &field(std::string_view k, std::nullptr_t) { return key(k).null(); }
  Writer &field(std::string_view k, const nlohmann::ordered_json &v) { return key(k).json(v); }
  template <class T> Writer &field(std::string_view k, const std::optional<T> &v) {
    return v ? field(k, *v) : field(k, nullptr);
  }

protected:
  const ctk_host_v1 *h_;
  void *ctx_;
};

// A record open for writing; ends itself on destruction.
class Record : public Writer {
public:
  Record(const ctk_host_v1 *host, void *ctx) : Writer(host, ctx) { h_->begin_record(ctx_); }
  Record(const Record &) = delete;
  Record &operator=(const Record &) = delete;
  ~Record() { h_->end_record(ctx_); }
};

// One invocation of a command: its parsed options and arguments, and the
// host's services.
class Call {
public:
  explicit Call(const ctk_call_v1 *c) : c_(c) {}

  bool flag(std::string_view name) const;                       // given (or defaulted) as true
  std::optional<std::string> get(std::string_view name) const;  // last occurrence
  std::vector<std::string> get_all(std::string_view name) const; // every occurrence, in order
  // An integer option; a malformed value is an invalid_argument error naming the option.
  Result<std::optional<long long>> get_int(std::string_view name) const;
  std::vector<std::string> args() const;
  std::string root() const { return c_->root ? c_->root : "/var/lib/ctk"; }
  std::string run_root() const { return c_->run_root ? c_->run_root : "/run/ctk"; }
  int log_level() const { return c_->log_level; }
  bool stdout_is_tty() const { return c_->stdout_is_tty != 0; }
  const ctk_command_v1 &command() const { return *c_->command; }

  Record record() const { return Record(c_->host, c_->host_ctx); }
  void emit(const nlohmann::ordered_json &record) const; // one whole record
  void flush() const { c_->host->flush(c_->host_ctx); }
  void progress(std::string_view label, uint64_t done, uint64_t total) const;
  void warn(std::string_view msg) const;
  void log(int level, std::string_view msg) const;
  void write_raw(std::string_view data) const { c_->host->write_raw(c_->host_ctx, data.data(), data.size()); }
  // The same to stderr, after flushing stdout. (ABI 1.2)
  void write_raw_stderr(std::string_view data) const;
  bool interrupted() const { return c_->host->interrupted(c_->host_ctx) != 0; }
  int interrupt_fd() const { return c_->host->interrupt_fd(c_->host_ctx); }
  // A streaming command's interval: the user's choice in the live view, or
  // `requested` (its --interval). (ABI 1.1)
  double interval(double requested) const;
  // Sleeps one interval between samples, measured from the call: wakes
  // early when the user changes the interval (and sleeps the new one) or on
  // interrupt. False when interrupted: stop sampling.
  //   while (sample(call), call.wait_interval(*secs)) {}
  bool wait_interval(double requested) const;

  // Reports a one-line error and returns `status` for the command to return.
  int fail(const Error &e, int status = 1) const;
  int fail(std::string_view msg, int status = 1) const;

  const ctk_call_v1 *raw() const { return c_; }

private:
  const ctk_call_v1 *c_;
};

// Runs body(call), turning any escaping exception into an error and status 1.
int run_guarded(const ctk_call_v1 *c, int (*body)(Call &));
template <int (*Body)(Call &)> int entry(const ctk_call_v1 *c) { return run_guarded(c, Body); }

} // namespace ctk::rt::plugin

// Defines the plugin's entry point from a static array of commands.
#define CTK_DEFINE_PLUGIN(NAME, SUMMARY, COMMANDS)                                               \
  extern "C" CTK_PLUGIN_EXPORT const struct ctk_plugin_v1 *ctk_plugin_descriptor_v1(void) {     \
    static const struct ctk_plugin_v1 desc = {CTK_PLUGIN_ABI_MAJOR, CTK_PLUGIN_ABI_MINOR,         \
                                              CTK_RUNTIME_VERSION,  NAME,                          \
                                              SUMMARY,              COMMANDS,                      \
                                              sizeof(COMMANDS) / sizeof((COMMANDS)[0])};           \
    return &desc;                                                                                  \
  }
