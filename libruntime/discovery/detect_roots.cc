// detect_roots(): the roots a full discovery pass ends up with. Loading the
// containers is what finds a stopped dockerd's data root (see resolver.cc),
// so this is a resolver run whose containers are thrown away.
#include "ctk/runtime/discovery.h"

namespace ctk::rt::discovery {

Result<RuntimeRoots> detect_roots(Options opt) {
  auto r = Resolver::open(std::move(opt));
  if (!r)
    return tl::unexpected(r.error());
  if (auto l = r->list(true); !l)
    return tl::unexpected(l.error());
  return r->options().roots;
}

} // namespace ctk::rt::discovery
