// The image store: content-addressed blobs, manifests and named references,
// and the archive formats images travel in.
//
//   using namespace ctk::rt::image;
//   auto store = Store::open("/var/lib/ctk");            // <root>/image, mode 0700
//   auto loaded = load_archive(*store, "busybox.tar", {}); // docker-archive, hybrid,
//                                                          // OCI archive (or "-" = stdin)
//   auto img = store->resolve("busybox");                // name, ID prefix or digest
//   auto cfg = store->read_json(img->config);
//   save_archive(*store, {*img}, "out.tar", {SaveFormat::docker_archive});
//
//   auto use = store->use(*img);                         // held while a container runs
//   auto layers = store->unpack(*img, {});                // once per chain ID
//   mount("overlay", dst, "overlay", 0, ("lowerdir=" + layers->lowerdir()).c_str());
//
// Layout under <root>/image/:
//   blobs/sha256/<hex>   every blob: manifests, configs, layers, byte for byte
//   refs.json            {"images": {"sha256:<manifest>": {"names": [...],
//                         "loaded": <unix seconds>}}}
//   layers/<chain hex>/  one unpacked layer per OCI chain ID, shared read-only
//     diff/              the layer's files in overlayfs form (whiteouts are 0/0
//                        character devices, opaque directories carry
//                        trusted.overlay.opaque=y): an overlayfs lowerdir
//     layer.json         {"chain_id", "diff_id", "parent", "blob", "size", "entries"}
//   tmp/                 blobs being written and layers being unpacked (each
//                        flocked by its writer); leftovers of a killed load or
//                        unpack are removed by the next Store::open
//   locks/               chain-<hex>: one unpacker per chain at a time;
//                        use-<manifest hex>: shared by the users of an image
//   lock                 flock: exclusive while refs.json changes or blobs go
//   gc.lock, gc-needed   see "Garbage" below
//
// A load writes blobs first (content-addressed, so a half-finished load
// leaves nothing visible) and commits refs.json last, atomically. A layer is
// unpacked into tmp/ and renamed into layers/ only once complete and its
// content matched the config's diff ID.
//
// Garbage: a load killed after some blobs were committed leaves blobs that no
// image references; an rmi killed halfway leaves blobs or layers. Every write
// session (begin_write(): load, import, and later pull and commit) holds
// gc.lock shared for its whole duration and marks the store gc-needed; the
// next Store::open that finds the mark and can take gc.lock exclusively at
// once removes every blob, layer and lock file no image in refs.json needs. A
// store in use by a session is never collected: the collection is skipped
// and happens on a later open.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctk/runtime/core.h"
#include "ctk/runtime/image_tar.h"

namespace ctk::rt::image {

// ---- digests ---------------------------------------------------------------

// "sha256:<64 lowercase hex>"; nothing else is accepted.
class Digest {
public:
  Digest() = default;
  static Result<Digest> parse(std::string_view text);
  static Result<Digest> from_hex(std::string_view hex);
  const std::string &str() const { return text_; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  std::string short_id() const { return std::string(hex().substr(0, 12)); }
  bool empty() const { return text_.empty(); }
  auto operator<=>(const Digest &) const = default;

private:
  std::string text_;
};

// Streaming SHA-256 (OpenSSL EVP).
class Sha256 {
public:
  Sha256();
  Sha256(Sha256 &&) noexcept;
  Sha256 &operator=(Sha256 &&) noexcept;
  ~Sha256();
  void update(const void *data, size_t n);
  Digest finish(); // once
private:
  void *ctx_ = nullptr;
};

Digest sha256_of(std::string_view data);
// Digest of everything readable from fd (from its current offset).
Result<Digest> sha256_of_fd(int fd, uint64_t *size = nullptr);

// ---- names -----------------------------------------------------------------

// docker's normalisation: "busybox" -> "docker.io/library/busybox:latest",
// "me/app:v1" -> "docker.io/me/app:v1", "localhost:5000/app" ->
// "localhost:5000/app:latest". A digest suffix (@sha256:...) is refused.
Result<std::string> normalize_name(std::string_view name);
// The familiar form docker shows: "docker.io/library/busybox:latest" ->
// "busybox:latest"; repository and tag split for tables.
std::string familiar_name(std::string_view full);
void split_name(std::string_view full, std::string &repository, std::string &tag);

// ---- manifests and configs --------------------------------------------------

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  nlohmann::json annotations; // object or null
  nlohmann::json platform;    // object or null
};

struct Manifest {
  std::string media_type; // OCI or docker schema 2 manifest
  Descriptor config;
  std::vector<Descriptor> layers;
};

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";

Result<nlohmann::json> parse_json(std::string_view text, std::string_view what);
Result<Descriptor> parse_descriptor(const nlohmann::json &j, std::string_view what);
Result<Manifest> parse_manifest(std::string_view text, std::string_view what);
bool is_index_type(std::string_view media_type);
// The layer media type for a blob that starts with `head` (gzip, zstd, tar).
std::string layer_media_type(std::string_view head);

struct Platform {
  std::string os = "linux", arch, variant;
  static Platform host();
  static Result<Platform> parse(std::string_view text); // os/arch[/variant]
  std::string str() const;
};
// The manifest of an index that matches `want`; an error lists what exists.
Result<Descriptor> choose_platform(const nlohmann::json &index, const Platform &want,
                                   std::string_view what);

// ---- the store -------------------------------------------------------------

struct Image {
  Digest manifest;
  Digest config;
  std::vector<std::string> names; // normalised, sorted
  int64_t loaded = 0;
};

class Store;

using ProgressFn = std::function<void(std::string_view label, uint64_t done, uint64_t total)>;
// Polled between chunks of long copies; true stops the work with an
// `interrupted` error (temporary files removed, nothing committed).
using CancelFn = std::function<bool()>;

// ---- unpacked layers ---------------------------------------------------------

// OCI image spec: ChainID(L0) = DiffID(L0), ChainID(Ln) =
// sha256(ChainID(Ln-1) + " " + DiffID(Ln)). Bottom layer first.
std::vector<Digest> chain_ids(const std::vector<Digest> &diff_ids);

struct UnpackOptions {
  // "Unpacking", compressed bytes read of the layers this call extracts.
  ProgressFn progress;
  CancelFn cancelled;
  Limits limits;
  // syncfs before a layer is renamed into place, so that a power loss never
  // leaves a visible layer with missing data. Off only for throwaway stores.
  bool sync = true;
};

struct UnpackedImage {
  // layers/<chain>/diff of every layer, BOTTOM FIRST: layers[0] is the base.
  // overlayfs wants the opposite order (lowerdir=top:...:base): lowerdir().
  std::vector<std::string> layers;
  std::vector<Digest> chains; // the chain ID of each, same order
  size_t unpacked = 0;        // layers this call extracted
  size_t reused = 0;          // layers found already unpacked
  // "top:...:base", the value of overlayfs' lowerdir= option.
  std::string lowerdir() const;
};

// A hold on an image by a running container (or an unpack): while one is
// alive, rmi refuses to delete the image (with force it only untags it, the
// image stays as <none>) and its unpacked layers are never collected. It is
// an flock (shared) on locks/use-<manifest hex>: a forked child shares it,
// and a container monitor that execs keeps it by inheriting fd() without
// O_CLOEXEC. Dropping the last holder does not delete anything.
class ImageUse {
public:
  ImageUse(ImageUse &&) noexcept = default;
  ImageUse &operator=(ImageUse &&) noexcept = default;
  const Image &image() const { return image_; }
  int fd() const { return fd_.get(); }

private:
  friend class Store;
  ImageUse(UniqueFd fd, Image image) : fd_(std::move(fd)), image_(std::move(image)) {}
  UniqueFd fd_;
  Image image_;
};

// A blob being written: bytes go to <root>/image/tmp/, flocked while open so
// that cleanup never removes a live writer's file.
class BlobWriter {
public:
  BlobWriter(BlobWriter &&) noexcept;
  BlobWriter &operator=(BlobWriter &&) noexcept;
  ~BlobWriter(); // removes the temporary file unless committed
  Result<void> write(const void *data, size_t n);
  uint64_t size() const { return size_; }
  std::string_view head() const { return head_; } // first bytes, for sniffing
  // A new read-only fd on what was written so far, to check the content
  // before committing it.
  Result<UniqueFd> reopen() const;
  // fsync, check against `expected` (when given), rename into blobs/.
  Result<Digest> commit(const std::optional<Digest> &expected = std::nullopt);

private:
  friend class Store;
  BlobWriter() = default;
  UniqueFd fd_;
  std::string tmp_path_, blobs_dir_;
  Sha256 sha_;
  uint64_t size_ = 0;
  std::string head_;
};

class Store {
public:
  // Creates <root>/image (0700) and cleans tmp/ leftovers of dead writers.
  static Result<Store> open(const std::string &root);
  const std::string &dir() const { return dir_; }

  Result<BlobWriter> begin_blob();
  Result<Digest> put_blob(std::string_view data, const std::optional<Digest> &expected = {});
  bool has_blob(const Digest &d) const;
  std::string blob_path(const Digest &d) const;
  Result<UniqueFd> open_blob(const Digest &d) const;
  Result<uint64_t> blob_size(const Digest &d) const;
  // Small blobs (manifests, configs), refused past `max` bytes.
  Result<std::string> read_blob(const Digest &d, uint64_t max = 64u << 20) const;
  Result<nlohmann::json> read_json(const Digest &d) const;
  Result<Manifest> read_manifest(const Digest &d) const;

  // Every image, from refs.json.
  Result<std::vector<Image>> images() const;
  // A normalised name, a full or prefix ID (config digest hex, >= 4 chars,
  // with or without "sha256:") or a manifest digest.
  Result<Image> resolve(std::string_view ref) const;

  // Adds (or re-points) an image with these names, under the lock. Every blob
  // of the manifest must exist; a name held by another image moves here.
  Result<void> commit_image(const Digest &manifest, const std::vector<std::string> &names);
  Result<void> tag(std::string_view src, std::string_view dst);
  // Removes a name; deletes the image (and the blobs and unpacked layers no
  // other image uses) when it was the last. By ID: refused with several
  // names unless force. An image someone holds (use()) is never deleted:
  // busy, or with force only untagged (kept without names).
  struct Removed {
    std::vector<std::string> untagged;
    std::optional<Digest> deleted; // config digest of a deleted image
  };
  Result<Removed> remove(std::string_view ref, bool force);

  Result<FileLock> lock(LockMode mode, bool wait = true) const;

  // A write session: held (shared) from before the first blob a load,
  // import, pull or commit writes until its commit_image, so that garbage
  // collection never takes blobs that are not referenced *yet*. Waits while
  // a collection runs (it is short).
  Result<FileLock> begin_write();

  // Unpacks every layer of `img` that is not unpacked yet, parents first, and
  // returns all its layer directories. A layer is extracted into tmp/,
  // checked against its diff ID (the sha256 of the uncompressed stream) and
  // renamed into layers/<chain hex> only when complete; two processes
  // unpacking the same chain do the work once (the second waits on
  // locks/chain-<hex>, then reuses it). The returned directories stay valid
  // while the image is not deleted: hold use(img) for as long as they are
  // mounted. Needs root (owners, device nodes, trusted.* xattrs). An image
  // without layers gives an empty list (overlayfs needs one lower dir: the
  // caller supplies an empty one).
  Result<UnpackedImage> unpack(const Image &img, const UnpackOptions &opt = {});
  // Takes a hold on `img` (see ImageUse); not_found if it was deleted.
  Result<ImageUse> use(const Image &img) const;
  std::string layer_path(const Digest &chain) const; // layers/<hex>/diff

  // Removes every blob, unpacked layer and lock file that no image in
  // refs.json needs. Skipped (busy) while a write session is open, unless
  // `wait`. Store::open runs it when a session marked the store gc-needed.
  // Do not call it with `wait` while this process holds a write session.
  struct GcStats {
    size_t blobs = 0, layers = 0;
  };
  Result<GcStats> collect_garbage(bool wait = false);

private:
  explicit Store(std::string dir) : dir_(std::move(dir)) {}
  Result<nlohmann::json> read_refs() const;
  Result<void> write_refs(const nlohmann::json &refs) const;
  Result<void> delete_unreferenced(const nlohmann::json &refs, const Image &img) const;
  // True when this call extracted it, false when another process had.
  Result<bool> unpack_layer(const Digest &chain, const Digest &parent, const Digest &diff_id,
                            const Descriptor &blob, const UnpackOptions &opt, uint64_t &done,
                            uint64_t total);
  std::string dir_;
};

// ---- archives --------------------------------------------------------------

struct LoadOptions {
  std::optional<Platform> platform; // host's when unset
  ProgressFn progress;
  CancelFn cancelled;
  // For OCI sources whose index names only a tag (or nothing): the name to use.
  std::optional<std::string> name;
};

struct Loaded {
  Image image;
};

// `path` is an archive file, "-" for stdin, or "oci:DIR" / a directory (an OCI
// layout). The format is detected: docker-archive (manifest.json), hybrid
// (both; index.json wins so digests are kept), OCI archive, OCI layout.
Result<std::vector<Loaded>> load_archive(Store &store, const std::string &path,
                                         const LoadOptions &opt);

enum class SaveFormat { docker_archive, oci_archive, oci_dir };
Result<SaveFormat> parse_save_format(std::string_view text);

struct SaveItem {
  Image image;
  std::optional<std::string> name; // the name the user gave, written into the archive
};

// A hybrid docker-archive (manifest.json + repositories + OCI layout), an OCI
// archive, or an OCI layout directory; blobs copied byte for byte. `path`
// "-" writes to `out_fd`.
Result<void> save_archive(const Store &store, const std::vector<SaveItem> &items,
                          const std::string &path, SaveFormat format, const ProgressFn &progress,
                          int out_fd = 1);

struct ImportOptions {
  std::string name;                 // NAME:TAG, normalised by the caller or not
  std::vector<std::string> changes; // unused yet
  std::string message;              // history comment
  ProgressFn progress;
  CancelFn cancelled;
};
// A one-layer image from a rootfs tarball (plain, gzip or zstd; "-" = stdin).
Result<Image> import_rootfs(Store &store, const std::string &path, const ImportOptions &opt);

} // namespace ctk::rt::image
