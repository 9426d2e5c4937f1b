// ctk net topology (being built; see issue 6).
#include "commands.h"

namespace ctk::plugins::net {

int run_topology(Call &call) { return call.fail("net topology: being built"); }

} // namespace ctk::plugins::net
