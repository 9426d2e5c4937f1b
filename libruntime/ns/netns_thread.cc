// ns::in_netns: work in another network namespace on a thread of its own.
#include "ctk/runtime/ns.h"

#include <sched.h>

#include <thread>

namespace ctk::rt::ns {

Result<void> in_netns(int netns_fd, const std::function<Result<void>()> &fn) {
  Result<void> result;
  std::thread worker([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      result = fail_errno("cannot enter the network namespace");
      return;
    }
    try {
      result = fn();
    } catch (const std::exception &e) {
      result = fail(Errc::internal, e.what());
    }
  });
  worker.join();
  return result;
}

} // namespace ctk::rt::ns
