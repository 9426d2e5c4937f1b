// ctk net trace (being built; see issue 6).
#include "commands.h"

namespace ctk::plugins::net {

int run_trace(Call &call) { return call.fail("net trace: being built"); }

} // namespace ctk::plugins::net
