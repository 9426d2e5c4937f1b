// Image names normalised as docker does.
#include <gtest/gtest.h>

#include "ctk/runtime/image_store.h"

using namespace ctk::rt::image;

TEST(ImageStoreNames, NormalisesLikeDocker) {
  EXPECT_EQ(*normalize_name("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(*normalize_name("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(*normalize_name("me/app:v1"), "docker.io/me/app:v1");
  EXPECT_EQ(*normalize_name("docker.io/library/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(*normalize_name("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(*normalize_name("localhost/app:x"), "localhost/app:x");
  EXPECT_EQ(*normalize_name("quay.io/a/b/c:v-1.2_3"), "quay.io/a/b/c:v-1.2_3");
}

TEST(ImageStoreNames, RefusesMalformedNames) {
  for (const char *bad :
       {"", "Busybox", "busybox:", "busybox:-x", "a//b", "busybox@sha256:00", "bad name"}) {
    auto r = normalize_name(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message().find("invalid image name"), std::string::npos);
    }
  }
}

TEST(ImageStoreNames, FamiliarFormForTables) {
  EXPECT_EQ(familiar_name("docker.io/library/busybox:latest"), "busybox:latest");
  EXPECT_EQ(familiar_name("docker.io/me/app:v1"), "me/app:v1");
  EXPECT_EQ(familiar_name("localhost:5000/app:v1"), "localhost:5000/app:v1");
  std::string repo, tag;
  split_name("localhost:5000/app:v1", repo, tag);
  EXPECT_EQ(repo, "localhost:5000/app");
  EXPECT_EQ(tag, "v1");
  split_name("docker.io/library/busybox:1.36", repo, tag);
  EXPECT_EQ(repo, "busybox");
  EXPECT_EQ(tag, "1.36");
}

TEST(ImageStoreNames, PlatformParseAndHost) {
  auto p = Platform::parse("linux/arm64/v8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "linux/arm64/v8");
  EXPECT_FALSE(Platform::parse("linux"));
  EXPECT_FALSE(Platform::parse("linux//v8"));
  EXPECT_EQ(Platform::host().os, "linux");
  EXPECT_FALSE(Platform::host().arch.empty());
}
