// Internal pieces of netinspect shared by inspect_*.cc.
#pragma once

#include <memory>
#include <string>

#include <netlink/cache.h>

#include "ctk/runtime/net_inspect.h"

struct nl_addr;

namespace ctk::rt::netinspect::detail {

struct CacheFree {
  void operator()(nl_cache *c) const { nl_cache_free(c); }
};
using Cache = std::unique_ptr<nl_cache, CacheFree>;

// Text of a binary address ("10.77.0.2", "fd00::2", "02:42:ac:11:00:02"), no prefix.
std::string addr_text(nl_addr *a);

// The links of the calling thread's namespace (read_links without the
// thread): AF_UNSPEC dump, addresses, and the AF_BRIDGE dump for port states.
Result<std::vector<Iface>> read_links_here();

// Inode of an open namespace fd (fstat).
Result<uint64_t> fd_inode(int fd);

} // namespace ctk::rt::netinspect::detail
