// Privileged tests need root. Without it they skip, unless
// CTK_REQUIRE_PRIVILEGED=1 (set by .ci/run), where skipping is a failure.
#pragma once

#include <cstdlib>
#include <unistd.h>

#include <gtest/gtest.h>

#define CTK_REQUIRE_ROOT()                                                                         \
  do {                                                                                             \
    if (::geteuid() != 0) {                                                                        \
      if (std::getenv("CTK_REQUIRE_PRIVILEGED"))                                                   \
        FAIL() << "this test needs root (CTK_REQUIRE_PRIVILEGED is set)";                          \
      GTEST_SKIP() << "needs root";                                                                \
    }                                                                                              \
  } while (0)

// For a precondition other than root (a tool, a kernel feature).
#define CTK_REQUIRE(cond, why)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      if (std::getenv("CTK_REQUIRE_PRIVILEGED"))                                                   \
        FAIL() << "precondition failed: " << why;                                                  \
      GTEST_SKIP() << why;                                                                         \
    }                                                                                              \
  } while (0)
