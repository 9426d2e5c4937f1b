// The net plugin's commands.
#pragma once

#include "ctk/runtime/plugin.h"

namespace ctk::plugins::net {

namespace rt = ctk::rt;
using rt::plugin::Call;

int run_topology(Call &call);
int run_topology_tree(Call &call);
int run_rules(Call &call);
int run_trace(Call &call);

} // namespace ctk::plugins::net
