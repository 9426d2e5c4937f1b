// Test-only: a synthetic four-layer image whose every metric is computed by
// hand in the tests (see the comments beside each layer).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ctk/runtime/image_audit.h"
#include "unit/image_tar_builder.h"

namespace ctk::test {

inline rt::image::AuditLayerInput audit_layer(const std::vector<TarItem> &items, std::string digest,
                                              TarCompression comp = TarCompression::none) {
  auto bytes = std::make_shared<std::string>(make_tar(items, comp));
  rt::image::AuditLayerInput in;
  in.open = [bytes]() -> rt::Result<rt::UniqueFd> { return memfd_of(*bytes); };
  in.digest = std::move(digest);
  in.created_by = "RUN " + in.digest;
  return in;
}

inline TarItem owned(TarItem t, int64_t uid, int64_t gid) {
  t.uid = uid;
  t.gid = gid;
  return t;
}

// Sizes: L0 472, L1 130, L2 359, L3 0 (empty layer).
inline std::vector<rt::image::AuditLayerInput> sample_stack() {
  const std::string key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r\n"; // 49 bytes
  std::vector<rt::image::AuditLayerInput> layers;
  layers.push_back(audit_layer(
      {
          tar_dir("etc"),
          tar_file("etc/passwd", std::string(100, 'a')),
          tar_dir("bin"),
          tar_file("bin/su", std::string(50, 's'), 04755),
          tar_file("bin/tool", std::string(30, 't'), 0755),
          tar_dir("app"),
          tar_file("app/deploy", key, 0600), // a key by content only, 49 bytes
          tar_file("app/data.bin", std::string(200, 'd')),
          tar_dir("cache"),
          tar_file("cache/a", std::string(10, 'c')),
          tar_file("cache/sub/.env", "PASSWORD=hunter2....\n"), // implicit parent; 21 bytes
          tar_dir("tmp", 01777),
          tar_dir("opt"),
          tar_file("opt/x", std::string(5, 'x')),
          tar_file("opt/y", std::string(7, 'y')),
      },
      "sha256:l0", TarCompression::gzip));
  layers.push_back(audit_layer(
      {
          tar_file("etc/passwd", std::string(100, 'b')),    // content, same size
          tar_file("bin/tool", std::string(30, 't'), 0700), // chmod only
          tar_file("app/.wh.deploy", ""),                   // deletes the key (49)
          tar_file(".wh.cache", ""),                        // deletes 4 paths, 31 bytes
          tar_dir("shared", 0777),                          // world-writable
      },
      "sha256:l1"));
  layers.push_back(audit_layer(
      {
          tar_dir("etc"),                                                  // identical: unchanged
          tar_file("etc/passwd", std::string(100, 'b')),                   // identical rewrite
          owned(tar_file("app/data.bin", std::string(200, 'd')), 1000, 0), // chown only
          owned(tar_file("bin/su", std::string(50, 's'), 04755), 0, 50),   // chgrp only
          tar_dir("opt"),
          tar_file("opt/.wh..wh..opq", ""), // hides opt/x and opt/y (12 bytes)
          tar_file("opt/z", std::string(9, 'z')),
      },
      "sha256:l2", TarCompression::zstd));
  rt::image::AuditLayerInput empty;
  empty.empty_layer = true;
  empty.created_by = "ENV A=1";
  layers.push_back(std::move(empty));
  return layers;
}

} // namespace ctk::test
