// test-echo: a plugin that exercises the host, for tests/cli.
//   echo-types [--many N]   records with a column of every type
//   echo-args  IMAGE [CMD]  stops at the first positional; prints what it got
//   echo-opts  NAME [REST]  the same options, parsed normally
//   grp sub / grp other     a command group
//   stream [--count N]      a streaming command (N = 0: until interrupted)
//   exit3                   fails with status 3
//   progress                reports progress
#include <chrono>
#include <thread>
#include <string>

#include "ctk/runtime/plugin.h"

namespace {

using ctk::rt::plugin::Call;

const ctk_column_v1 kTypeColumns[] = {
    {"Name", "NAME", CTK_COL_STRING, 0, "A string"},
    {"Count", "COUNT", CTK_COL_INT, 0, "An integer"},
    {"Size", "SIZE", CTK_COL_BYTES, 0, "Bytes"},
    {"Age", "AGE", CTK_COL_DURATION, 0, "Seconds"},
    {"Created", "CREATED", CTK_COL_TIMESTAMP, CTK_COL_HIDDEN, "Unix seconds (hidden: relative)"},
    {"ID", "ID", CTK_COL_ID, 0, "A hex ID"},
    {"Tags", "TAGS", CTK_COL_LIST, 0, "A list"},
    {"Labels", "LABELS", CTK_COL_OBJECT, 0, "An object"},
    {"Ok", "OK", CTK_COL_BOOL, 0, "A boolean"},
    {"CPU", "CPU %", CTK_COL_PERCENT, 0, "A percentage"},
    {"State.Pid", "PID", CTK_COL_INT, 0, "A nested field"},
};
const ctk_option_v1 kTypeOptions[] = {
    {"many", 0, 0, CTK_ARG_INT, "N", nullptr, "Emit N plain records instead"},
};

int run_types(Call &call) {
  auto many = call.get_int("many");
  if (!many)
    return call.fail(many.error());
  if (*many) {
    for (long long i = 0; i < **many && !call.interrupted(); i++)
      call.record().field("Name", "row" + std::to_string(i)).field("Count", i);
    return 0;
  }
  call.record()
      .field("Name", "alpha")
      .field("Count", 42)
      .field("Size", 100663296ull)
      .field("Age", 150)
      .field("Created", 1700000000)
      .field("ID", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
      .key("Tags")
      .begin_array()
      .str("a")
      .str("b")
      .end_array()
      .key("Labels")
      .begin_object()
      .key("k")
      .str("v")
      .end_object()
      .field("Ok", true)
      .field("CPU", 12.5)
      .key("State")
      .begin_object()
      .key("Pid")
      .num(4242)
      .end_object();
  call.record()
      .field("Name", "beta")
      .field("Count", -1)
      .field("Size", 1536)
      .field("Age", 3)
      .field("Created", nullptr)
      .field("ID", "fedcba9876543210fedcba9876543210")
      .key("Tags")
      .begin_array()
      .end_array()
      .field("Labels", nullptr)
      .field("Ok", false)
      .field("CPU", 0.0)
      .key("State")
      .begin_object()
      .key("Pid")
      .num(1)
      .end_object();
  return 0;
}

const ctk_option_v1 kArgOptions[] = {
    {"all", 'a', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "A flag"},
    {"bare", 'b', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr, "Another flag"},
    {"name", 'n', 0, CTK_ARG_STRING, "NAME", nullptr, "A value"},
    {"env", 'e', CTK_OPT_MULTI, CTK_ARG_STRING, "KEY=VALUE", nullptr, "Repeatable"},
    {"net", 'N', CTK_OPT_OPTIONAL_VALUE, CTK_ARG_PATH, "FILE", nullptr, "Optional value"},
    {"pid", 'p', 0, CTK_ARG_PID, "PID", nullptr, "A pid"},
    {"level", 0, 0, CTK_ARG_INT, "N", "5", "Has a default"},
};
const ctk_positional_v1 kArgPositionals[] = {
    {"IMAGE", CTK_ARG_IMAGE, 0, "Required"},
    {"COMMAND", CTK_ARG_COMMAND, CTK_POS_OPTIONAL | CTK_POS_VARIADIC, "The rest"},
};
const ctk_positional_v1 kOptsPositionals[] = {
    {"TARGET", CTK_ARG_CONTAINER, 0, "Required"},
    {"EXTRA", CTK_ARG_STRING, CTK_POS_OPTIONAL, "Optional"},
};

int run_args(Call &call) {
  std::string out;
  const ctk_call_v1 *c = call.raw();
  for (size_t i = 0; i < c->n_options; i++)
    out += std::string("opt ") + c->options[i].name + "=" + c->options[i].value + "\n";
  for (const auto &a : call.args())
    out += "arg " + a + "\n";
  call.write_raw(out);
  return 0;
}

const ctk_column_v1 kGrpColumns[] = {
    {"Msg", "MESSAGE", CTK_COL_STRING, 0, "Which command ran"},
};
int run_grp_sub(Call &call) {
  call.record().field("Msg", "grp sub ran");
  return 0;
}
int run_grp_other(Call &call) {
  call.record().field("Msg", "grp other ran");
  return 0;
}

const ctk_column_v1 kStreamColumns[] = {
    {"Seq", "SEQ", CTK_COL_INT, 0, "Sample number"},
    {"Value", "VALUE", CTK_COL_INT, 0, "Seq squared"},
};
const ctk_option_v1 kStreamOptions[] = {
    {"count", 'c', 0, CTK_ARG_INT, "N", "3", "Samples; 0 runs until interrupted"},
};
int run_stream(Call &call) {
  auto count = call.get_int("count");
  if (!count)
    return call.fail(count.error());
  long long n = count->value_or(3);
  // "Until interrupted" is bounded all the same (about 60 s), so a broken
  // interrupt path fails its test instead of leaving a runaway process.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (long long i = 0; (n == 0 || i < n) && !call.interrupted(); i++) {
    call.record().field("Seq", i).field("Value", i * i);
    call.flush();
    if (n == 0) {
      if (std::chrono::steady_clock::now() > deadline)
        return call.fail("stream: not interrupted within 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return 0;
}

int run_exit3(Call &call) {
  return call.fail("exit3: failing on purpose", 3);
}

int run_progress(Call &call) {
  for (uint64_t i = 0; i <= 10; i++)
    call.progress("working", i, 10);
  call.warn("progress: a warning");
  call.log(CTK_LOG_INFO, "progress: an info message");
  call.write_raw("progress done\n");
  return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
using ctk::rt::plugin::entry;

const ctk_command_v1 kCommands[] = {
    {"echo-types", "Emit records with every column type", nullptr, nullptr, kTypeOptions,
     N(kTypeOptions), nullptr, 0, kTypeColumns, N(kTypeColumns), 0, &entry<run_types>},
    {"echo-args", "Print options and arguments, stopping at the first positional", nullptr, nullptr,
     kArgOptions, N(kArgOptions), kArgPositionals, N(kArgPositionals), nullptr, 0,
     CTK_CMD_STOP_AT_POSITIONAL | CTK_CMD_NO_OUTPUT, &entry<run_args>},
    {"echo-opts", "Print options and arguments", nullptr, "Options parse anywhere on the line.",
     kArgOptions, N(kArgOptions), kOptsPositionals, N(kOptsPositionals), nullptr, 0,
     CTK_CMD_NO_OUTPUT, &entry<run_args>},
    {"grp sub", "A command in a group", nullptr, nullptr, nullptr, 0, nullptr, 0, kGrpColumns,
     N(kGrpColumns), 0, &entry<run_grp_sub>},
    {"grp other", "Another command in the group", nullptr, nullptr, nullptr, 0, nullptr, 0,
     kGrpColumns, N(kGrpColumns), 0, &entry<run_grp_other>},
    {"stream", "Emit samples over time", nullptr, nullptr, kStreamOptions, N(kStreamOptions),
     nullptr, 0, kStreamColumns, N(kStreamColumns), CTK_CMD_STREAM, &entry<run_stream>},
    {"exit3", "Fail with exit status 3", nullptr, nullptr, nullptr, 0, nullptr, 0, nullptr, 0,
     CTK_CMD_NO_OUTPUT, &entry<run_exit3>},
    {"progress", "Report progress", nullptr, nullptr, nullptr, 0, nullptr, 0, nullptr, 0,
     CTK_CMD_NO_OUTPUT, &entry<run_progress>},
};

} // namespace

CTK_DEFINE_PLUGIN("test-echo", "Echoes for the front end's tests", kCommands)
