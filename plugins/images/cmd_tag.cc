// ctk tag SOURCE TARGET
#include "commands.h"

namespace ctk::plugins::images {

int run_tag(Call &call) {
  auto args = call.args();
  if (args.size() != 2)
    return call.fail("usage: ctk tag SOURCE TARGET");
  auto store = open_store(call);
  if (!store)
    return call.fail(store.error());
  if (auto r = store->tag(args[0], args[1]); !r)
    return call.fail(r.error().wrap("cannot tag " + args[0] + " as " + args[1]));
  return 0;
}

} // namespace ctk::plugins::images
