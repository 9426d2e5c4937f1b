// ctk net rules (being built; see issue 6).
#include "commands.h"

namespace ctk::plugins::net {

int run_rules(Call &call) { return call.fail("net rules: being built"); }

} // namespace ctk::plugins::net
