// Opening an image for reading from any source: ctk's own store, an archive
// or OCI layout on disk, docker's image store (docker-daemon:NAME) or
// containers-storage (podman, CRI-O). One resolver for image references, the
// image-side twin of discovery::Resolver for containers.
//
//   using namespace ctk::rt::image;
//   SourceOptions so;  so.ctk_root = "/var/lib/ctk";
//   auto img = open_image("docker-daemon:busybox:latest", so);
//   for (const auto &l : img->layers) { auto fd = l.open(); ... }   // tar stream per layer
//   auto audit = audit_layers(audit_inputs(*img), {});
//
// References (containers-transports(5) names, parsed by
// discovery::parse_image_ref):
//   NAME / ID              ctk's store under ctk_root
//   docker-archive:PATH    an archive as `docker save` writes it (legacy or hybrid)
//   oci-archive:PATH       an OCI image layout in a tar
//   oci:DIR                an OCI image layout directory
//   docker-daemon:NAME     docker's store (read directly, the daemon may be down;
//                          its API when the store cannot be read)
//   containers-storage:NAME  podman's / CRI-O's store
//   PATH                   an existing archive file or OCI layout directory
// Archives are read into a private temporary store that lives as long as the
// returned OpenedImage (its `hold`); the user's store is never touched.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/core.h"
#include "ctk/runtime/discovery.h"
#include "ctk/runtime/image_audit.h"
#include "ctk/runtime/image_store.h"

namespace ctk::rt::image {

struct SourceLayer {
  // Opens the layer's tar stream (plain, gzip or zstd). May be called more
  // than once, and from worker threads. For stores that keep layers
  // unpacked (docker, containers-storage) the stream is the uncompressed tar
  // rebuilt from the unpacked files and the store's tar-split record.
  std::function<Result<UniqueFd>()> open;
  std::string digest;           // blob digest when a blob exists, else the diff ID
  std::string diff_id;          // "sha256:..." from the config's rootfs.diff_ids, "" if unknown
  uint64_t compressed_size = 0; // bytes of the blob as stored; 0 when unknown
  uint64_t size = 0;            // uncompressed tar size when the source knows it; else 0
};

struct OpenedImage {
  std::string ref;                // as given
  std::string transport;          // "ctk", "docker-archive", "oci-archive", "oci",
                                  // "docker-daemon", "containers-storage"
  std::string id;                 // config digest, "sha256:..."
  std::vector<std::string> names; // the names the source knows it by
  nlohmann::json config;          // the image config document
  std::vector<SourceLayer> layers; // bottom first
  std::shared_ptr<void> hold;      // keeps temporary stores alive
};

struct SourceOptions {
  std::string ctk_root = "/var/lib/ctk"; // ctk's store is <ctk_root>/image
  // Where docker and containers-storage keep their images: the first root
  // that has the image wins (docker_data_roots, storage_roots).
  discovery::RuntimeRoots roots;
  std::string tmp_dir;              // private stores for archives; "" = $TMPDIR or /tmp
  std::optional<Platform> platform; // for archives with an index of several platforms
  bool ask_daemons = true;          // docker-daemon: the API when the store cannot be read
  ProgressFn progress;
  CancelFn cancelled;
};

// not_found names the reference and where it was looked for;
// invalid_argument for a malformed reference or an unsupported transport.
Result<OpenedImage> open_image(std::string_view ref, const SourceOptions &opt);

// "created by" of every non-empty history entry, in layer order; entries
// beyond the history are empty strings.
std::vector<std::string> layer_created_by(const nlohmann::json &config);

// Inputs for audit_layers(), bottom first, with created_by from the config.
std::vector<AuditLayerInput> audit_inputs(const OpenedImage &image);

} // namespace ctk::rt::image
