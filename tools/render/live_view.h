// The full-screen live view of a streaming command (`ctk stats` on a
// terminal): ncurses draws live::Model (live_model.h) on its own thread while
// the command samples on the caller's.
//
//   if (isatty(0) && isatty(1) && no --format && wants_live_view(cmd, options))
//     if (auto live = LiveRenderer::open("stats", columns, no_trunc)) {
//       Host host(cfg, live->get(), ...);            // records and flush() go to the view
//       status = (*live)->run([&] { return cmd.run(&call); });
//     }                                              // else: the table renderer
//
// A command opts in with CTK_CMD_LIVE; an option flagged CTK_OPT_NO_LIVE
// ("--no-stream", "--iterations N") turns the view off (plugin_abi.h). The
// view shows the last complete sample (what flush() ended), so a half-read
// sample never flickers on screen. "q" (or ^C, SIGINT, SIGTERM) ends it:
// the command is told it was interrupted, and the terminal is restored
// before run() returns, also when the command fails; its errors and
// warnings, held while the screen was up, are printed then.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "render/render.h"

namespace ctk::tools {

// The "Live view" section of a CTK_CMD_LIVE command's help: when it shows
// and its keys.
extern const char *const kLiveViewHelp;

// Whether the command, given these parsed options (defaults included), asks
// for the live view. The caller checks the terminals, --format and -q.
bool wants_live_view(const ctk_command_v1 &cmd,
                     const std::vector<std::pair<std::string, std::string>> &options);

class LiveRenderer final : public Renderer {
public:
  // Takes the terminal: alternate screen, keys unbuffered. An error when it
  // cannot be driven (TERM unset, "dumb" or unknown to terminfo): the
  // caller falls back to the table.
  static ctk::rt::Result<std::unique_ptr<LiveRenderer>>
  open(std::string command, std::vector<ColumnSpec> columns, bool no_trunc);
  ~LiveRenderer() override;
  LiveRenderer(const LiveRenderer &) = delete;
  LiveRenderer &operator=(const LiveRenderer &) = delete;

  // Runs the command while the view draws and takes keys; returns its status.
  int run(const std::function<int()> &body);

  void record(Json rec) override;
  void flush() override;
  void finish() override {}
  double interval(double requested) override;
  int wake_fd() const override;
  bool owns_terminal() const override;
  void diagnostic(int level, const std::string &line) override;

  struct State; // shared between the command's thread and the view's

private:
  explicit LiveRenderer(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
  std::vector<Json> pending_; // the sample being received (command's thread)
};

} // namespace ctk::tools
