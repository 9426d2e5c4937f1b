// Internal to the image module: the pieces of load_archive().
#pragma once

#include <map>
#include <memory>

#include "ctk/runtime/image_store.h"

namespace ctk::rt::image::detail {

struct Member {
  Digest digest;
  uint64_t size = 0;
  std::string head; // first bytes, to tell gzip/zstd/tar apart
};

// What a pass over an archive leaves: blobs in the store, metadata in memory.
struct Collected {
  std::map<std::string, Member> files;      // member path -> stored blob
  std::map<std::string, std::string> links; // member path -> member it links to
  std::map<std::string, std::string> meta;  // manifest.json, index.json, repositories, oci-layout
  Result<std::string> resolve(const std::string &path) const;
  Result<const Member *> member(const std::string &path) const;
};

// "a/./b/../c" -> "a/c"; refuses paths leaving the archive.
Result<std::string> normalize_member(std::string_view raw);
Result<Collected> read_archive(Store &store, const std::string &path, const LoadOptions &opt);

// An image found in a source, checked and ready to commit.
struct Found {
  Digest manifest;
  std::vector<std::string> names;
};

// Copies blob `d` from an OCI layout directory into the store (verified), or
// checks that it is already there. Empty `layout_dir`: an archive source.
using EnsureBlob = std::function<Result<void>(const Descriptor &d)>;

Result<std::vector<Found>> interpret_oci(Store &store, const Collected &c, const EnsureBlob &ensure,
                                         const LoadOptions &opt);
Result<std::vector<Found>> interpret_docker(Store &store, const Collected &c);

} // namespace ctk::rt::image::detail
