// The one output layer: every command's records are rendered here, the same
// way for every command.
//
//   RenderOptions o;  o.format = "";            // "" = table; "json"; "jsonl";
//                                                // "table {{.ID}}\t{{.Name}}"; "{{.State.Pid}}"
//   auto r = make_renderer(o, columns, std::cout);
//   if (!r) die(r.error());                        // a template error names the position
//   (*r)->record(rec); ...; (*r)->finish();
//
// Records are nlohmann::ordered_json objects whose keys are the column keys
// (docker's names where docker has the concept: ID, Names, State.Pid).
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/core.h"
#include "ctk/runtime/plugin_abi.h"

namespace ctk::tools {

using Json = nlohmann::ordered_json;

struct ColumnSpec {
  std::string key;    // "ID", "State.Pid"
  std::string header; // "CONTAINER ID"
  uint32_t type = CTK_COL_STRING;
  uint32_t flags = 0;
  std::string help;
};

struct RenderOptions {
  std::string format;    // see above
  bool stream = false;   // command streams samples: "json" means JSON lines
  bool no_trunc = false; // full IDs and cells
  bool quiet = false;    // only the CTK_COL_QUIET column, no header (-q); format is ignored
  bool tty = false;      // stdout is a terminal
  int64_t now = 0;       // unix seconds for "3s ago"; 0 = time(nullptr)
};

// Thrown by Renderer::record() when a template fails on a record. The host
// catches it where plugins call in, so it never crosses the plugin ABI.
struct RenderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Renderer {
public:
  virtual ~Renderer() = default;
  virtual void record(Json rec) = 0;
  // End of one sample (streaming commands): print what is buffered.
  virtual void flush() = 0;
  // End of output. Tables print here; JSON closes its array.
  virtual void finish() = 0;
  // Set once rendering failed on a record (a template naming a field the
  // record lacks: "template: 1:3: unknown field \"Pidd\""). record() throws
  // RenderError at that moment; later records are ignored and nothing more
  // is printed. (Additive to the first contract.)
  virtual const ctk::rt::Error *error() const { return nullptr; }

  // Hooks of the full-screen live view (render/live_view.h); every other
  // renderer keeps these defaults. The interval a streaming command sleeps
  // between samples (ctk_host_v1.interval):
  virtual double interval(double requested) { return requested; }
  // Readable when interval() changed (ctk_host_v1.wake_fd); -1: never.
  virtual int wake_fd() const { return -1; }
  // True while the renderer has the terminal: the host then hands it the
  // error, warning and log lines (and draws no progress bar) instead of
  // writing them over the screen.
  virtual bool owns_terminal() const { return false; }
  virtual void diagnostic(int /*level*/, const std::string & /*line*/) {}
};

ctk::rt::Result<std::unique_ptr<Renderer>>
make_renderer(const RenderOptions &opt, std::vector<ColumnSpec> columns, std::ostream &out);

// One table cell: human units by column type (bytes "96MiB", durations "3s",
// timestamps "3 seconds ago", IDs 12 chars, lists joined by ",", objects as
// compact JSON, null as "").
std::string format_cell(const Json &value, const ColumnSpec &col, bool no_trunc, int64_t now);

// Looks up a dotted key ("State.Pid") in a record; nullptr if absent.
const Json *lookup(const Json &rec, std::string_view dotted_key);

// Human units, exposed for tests and plugins' help text.
std::string human_bytes(double bytes);            // 1536 -> "1.5KiB", 100663296 -> "96MiB"
std::string human_duration(double secs);          // 3 -> "3s", 150 -> "2m30s", 3900 -> "1h5m"
std::string human_ago(int64_t then, int64_t now); // "3 seconds ago", "2 hours ago"

} // namespace ctk::tools
