// test-live: a streaming command with the live view (CTK_CMD_LIVE), shaped
// like `ctk stats`, for the live view's end-to-end test (tests/cli/live.sh).
//   top [--interval S] [--no-stream] [--iterations N] [--rows N] [--linger S]
// Each sample has ROWS records; the hidden Interval column reports the
// interval the command was told to sleep before it (Call::interval), so a
// test can see a "+" pressed in the view reach the command.
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "ctk/runtime/plugin.h"

namespace {

using ctk::rt::plugin::Call;

const ctk_column_v1 kColumns[] = {
    {"Name", "NAME", CTK_COL_STRING, 0, "Box name"},
    {"ID", "ID", CTK_COL_ID, 0, "Box ID"},
    {"CPUPerc", "CPU %", CTK_COL_PERCENT, 0, "Fake CPU use"},
    {"MemUsage", "MEM USAGE", CTK_COL_BYTES, 0, "Fake memory use"},
    {"Sample", "SAMPLE", CTK_COL_INT, 0, "Sample number, from 0"},
    {"Interval", "INTERVAL", CTK_COL_DURATION, CTK_COL_HIDDEN, "Seconds slept before this sample"},
    {"Processes", "PROCESSES", CTK_COL_LIST, CTK_COL_HIDDEN, "Host and container PIDs"},
};
const ctk_option_v1 kOptions[] = {
    {"interval", 0, 0, CTK_ARG_STRING, "S", "1", "Seconds between samples"},
    {"no-stream", 0, CTK_OPT_FLAG | CTK_OPT_NO_LIVE, CTK_ARG_STRING, nullptr, nullptr,
     "One sample, plain"},
    {"iterations", 'n', CTK_OPT_NO_LIVE, CTK_ARG_INT, "N", nullptr, "N samples, plain"},
    {"rows", 0, 0, CTK_ARG_INT, "N", "3", "Records per sample"},
    {"linger", 0, 0, CTK_ARG_STRING, "S", "0",
     "Once interrupted, go on S seconds (a slow command)"},
};

int run_top(Call &call) {
  auto iterations = call.get_int("iterations");
  if (!iterations)
    return call.fail(iterations.error());
  auto rows = call.get_int("rows");
  if (!rows)
    return call.fail(rows.error());
  std::string text = call.get("interval").value_or("1");
  char *end = nullptr;
  double secs = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || !(secs > 0))
    return call.fail("invalid value \"" + text + "\" for --interval: not a positive number");
  long long samples = call.flag("no-stream") ? 1 : iterations->value_or(0);

  // Unbounded only in name: a broken interrupt path fails its test instead
  // of leaving a runaway process.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  double slept = 0;
  for (long long i = 0;; ++i) {
    for (long long r = 0; r < rows->value_or(3); ++r) {
      auto rec = call.record();
      rec.field("Name", "box-" + std::to_string(r))
          .field("ID", std::string(64, "0123456789abcdef"[r % 16]))
          .field("CPUPerc", static_cast<double>((r * 7 + i) % 50))
          .field("MemUsage", static_cast<unsigned long long>((r + 1) << 20))
          .field("Sample", i)
          .field("Interval", slept)
          .key("Processes")
          .begin_array();
      for (int p = 0; p < 2; ++p)
        rec.begin_object()
            .field("PID", 1000 + r * 10 + p)
            .field("NsPID", 1 + p)
            .field("Command", p ? "sleep 600" : "init")
            .end_object();
      rec.end_array();
    }
    call.flush();
    if (samples && i + 1 >= samples)
      return 0;
    if (std::chrono::steady_clock::now() > deadline)
      return call.fail("top: not interrupted within 120 s");
    if (!call.wait_interval(secs)) {
      std::this_thread::sleep_for(std::chrono::duration<double>(
          std::strtod(call.get("linger").value_or("0").c_str(), nullptr)));
      return 0;
    }
    slept = call.interval(secs);
  }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

const ctk_command_v1 kCommands[] = {
    {"top", "Fake per-box samples, live on a terminal", "[OPTIONS]", nullptr, kOptions, N(kOptions),
     nullptr, 0, kColumns, N(kColumns), CTK_CMD_STREAM | CTK_CMD_LIVE,
     &ctk::rt::plugin::entry<run_top>},
};

} // namespace

CTK_DEFINE_PLUGIN("test-live", "A live streaming command for the live view's tests", kCommands)
