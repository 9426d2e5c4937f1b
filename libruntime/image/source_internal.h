// Shared between the image sources (source*.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/image_source.h"

namespace ctk::rt::image::detail {

// docker's image store under one of opt.roots.docker_data_roots
// (image/<driver>/repositories.json, imagedb, layerdb), or its API.
Result<OpenedImage> open_docker_daemon(std::string_view ref, const std::string &name,
                                       const SourceOptions &opt);
// containers-storage under one of opt.roots.storage_roots
// (<driver>-images/images.json, <driver>-layers/layers.json).
Result<OpenedImage> open_containers_storage(std::string_view ref, const std::string &name,
                                            const SourceOptions &opt);

// A layer kept unpacked in `dir` with its tar-split record at `tar_split`:
// open() replays the record into a stream (see tar_split.h). `what` names the
// layer in errors ("layer sha256:ab12 of docker-daemon:web").
SourceLayer unpacked_layer(std::string tar_split, std::string dir, std::string what);

// A JSON file of a runtime's store; Errc::parse names the file.
Result<nlohmann::json> read_store_json(const std::string &path);

// rootfs.diff_ids of an image config ("" for a malformed entry).
std::vector<std::string> config_diff_ids(const nlohmann::json &config);

// A reference as typed that is an image ID or ID prefix: "sha256:ab12..." or
// at least 3 hex digits ("ab12"); the hex part, else "".
std::string id_prefix_of(std::string_view name);

} // namespace ctk::rt::image::detail
