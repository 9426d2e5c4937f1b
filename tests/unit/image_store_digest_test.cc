// Digests: the sha256 text form and the streaming hash.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ctk/runtime/image_store.h"

using namespace ctk::rt::image;

TEST(ImageStoreDigest, KnownVectors) {
  EXPECT_EQ(sha256_of("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ImageStoreDigest, StreamingEqualsOneShot) {
  std::string data(200000, 'x');
  for (size_t i = 0; i < data.size(); i++)
    data[i] = static_cast<char>(i * 7);
  Sha256 h;
  for (size_t off = 0; off < data.size(); off += 4093)
    h.update(data.data() + off, std::min<size_t>(4093, data.size() - off));
  EXPECT_EQ(h.finish(), sha256_of(data));
}

TEST(ImageStoreDigest, OfFdReadsToTheEnd) {
  char tmpl[] = "/tmp/ctk-digest.XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "abc", 3), 3);
  lseek(fd, 0, SEEK_SET);
  uint64_t size = 0;
  auto d = sha256_of_fd(fd, &size);
  close(fd);
  unlink(tmpl);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, sha256_of("abc"));
  EXPECT_EQ(size, 3u);
}

TEST(ImageStoreDigest, ParseAcceptsOnlySha256With64Hex) {
  const std::string hex(64, 'a');
  auto ok = Digest::parse("sha256:" + hex);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->hex(), hex);
  EXPECT_EQ(ok->short_id(), std::string(12, 'a'));

  auto short_one = Digest::parse("sha256:abcd");
  ASSERT_FALSE(short_one);
  EXPECT_NE(short_one.error().message().find("64 hex digits, not 4"), std::string::npos)
      << short_one.error().message();
  auto other = Digest::parse("sha512:" + std::string(128, 'a'));
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("sha512 is not supported"), std::string::npos);
  EXPECT_FALSE(Digest::parse("sha256:" + std::string(64, 'A'))); // uppercase
  EXPECT_FALSE(Digest::parse("sha256:" + std::string(63, 'a') + "g"));
  EXPECT_FALSE(Digest::parse(hex)); // no algorithm
}
