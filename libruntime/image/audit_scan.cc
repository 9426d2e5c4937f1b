// Streaming one layer into a table of per-path metadata. File data is hashed
// as it goes by and never kept: SHA-256 from libcrypto uses the CPU's SHA
// instructions where present and stays well under gzip's decompression cost,
// so the hash is not what bounds the scan.
#include <algorithm>
#include <cstring>
#include <memory>

#include <openssl/evp.h>

#include "audit_internal.h"

namespace ctk::rt::image::detail {
namespace {

constexpr size_t kBufSize = 256 * 1024;
constexpr size_t kSniffBytes = 128;

struct MdCtxFree {
  void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::array<uint64_t, 2> digest_prefix(const unsigned char *md) {
  std::array<uint64_t, 2> h{};
  std::memcpy(h.data(), md, sizeof h);
  return h;
}

Result<std::array<uint64_t, 2>> hash_bytes(EVP_MD_CTX *ctx, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, md, &len) != 1)
    return fail(Errc::internal, "cannot hash with SHA-256 (libcrypto)");
  return digest_prefix(md);
}

} // namespace

bool looks_like_private_key(std::string_view head) {
  if (head.substr(0, 20) == "PuTTY-User-Key-File-")
    return true;
  // PEM: "-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED |DSA ]PRIVATE KEY-----" and
  // PGP's "-----BEGIN PGP PRIVATE KEY BLOCK-----", possibly after a blank line.
  size_t begin = head.find("-----BEGIN ");
  if (begin == std::string_view::npos || begin > 16)
    return false;
  std::string_view line = head.substr(begin);
  line = line.substr(0, line.find('\n'));
  return line.find("PRIVATE KEY") != std::string_view::npos;
}

std::string secret_name_reason(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto ends_with = [](std::string_view s, std::string_view suf) {
    return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
  };
  auto starts_with = [](std::string_view s, std::string_view pre) {
    return s.substr(0, pre.size()) == pre;
  };
  auto reason = [&] { return "name " + std::string(name); };

  static constexpr std::string_view exact[] = {
      ".env",         "credentials",  ".npmrc",    ".netrc",       ".git-credentials",
      ".pgpass",      ".pypirc",      ".htpasswd", "secrets.yaml", "secrets.yml",
      "secrets.json", ".vault-token", "shadow",    "gshadow",      "master.key",
  };
  for (std::string_view e : exact)
    if (name == e)
      return reason();
  if (starts_with(name, ".env."))
    return reason();
  // SSH identities, but not their public halves.
  for (std::string_view k : {"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"})
    if (starts_with(name, k) && !ends_with(name, ".pub"))
      return reason();
  for (std::string_view ext :
       {".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk", ".kdbx"})
    if (ends_with(name, ext))
      return reason();
  if (ends_with(path, ".docker/config.json") || ends_with(path, ".kube/config"))
    return "name " + std::string(path.substr(path.rfind('/', path.size() - name.size() - 2) + 1));
  return {};
}

Result<LayerScan> scan_layer(UniqueFd fd, const Limits &limits, bool sniff_content,
                             const Capture *capture) {
  auto reader = LayerReader::open(std::move(fd), limits);
  if (!reader)
    return tl::unexpected(reader.error());
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx)
    return fail(Errc::internal, "cannot allocate a SHA-256 context (libcrypto)");
  std::unique_ptr<char[]> buf(new char[kBufSize]);

  LayerScan scan;
  Entry e;
  for (;;) {
    auto more = reader->next(e);
    if (!more)
      return tl::unexpected(more.error());
    if (!*more)
      break;
    ScanRecord r;
    r.type = e.type;
    r.mode = e.mode;
    r.uid = e.uid;
    r.gid = e.gid;
    r.whiteout = e.whiteout;
    r.opaque = e.opaque;
    if (e.whiteout || e.opaque) {
      r.path = std::move(e.path);
      scan.records.push_back(std::move(r));
      continue;
    }
    if (e.type == EntryType::file) {
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      if (EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
        return fail(Errc::internal, "cannot hash with SHA-256 (libcrypto)");
      uint64_t total = 0;
      std::string *kept = nullptr;
      std::shared_ptr<std::string> captured;
      if (capture && capture->wants(e.path)) {
        captured = std::make_shared<std::string>();
        kept = captured.get();
      }
      for (;;) {
        auto n = reader->read_data(buf.get(), kBufSize);
        if (!n)
          return tl::unexpected(n.error());
        if (*n == 0)
          break;
        if (total == 0 && sniff_content)
          r.key_content =
              looks_like_private_key(std::string_view(buf.get(), std::min(*n, kSniffBytes)));
        if (kept) {
          uint64_t room = capture->max_bytes - std::min<uint64_t>(kept->size(), capture->max_bytes);
          kept->append(buf.get(), std::min<uint64_t>(room, *n));
          r.content_truncated = r.content_truncated || *n > room;
        }
        total += *n;
        if (EVP_DigestUpdate(ctx.get(), buf.get(), *n) != 1)
          return fail(Errc::internal, "cannot hash with SHA-256 (libcrypto)");
      }
      if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
        return fail(Errc::internal, "cannot hash with SHA-256 (libcrypto)");
      r.hash = digest_prefix(md);
      r.content = std::move(captured);
      // The data actually read is the size: a truncated entry is the
      // reader's error, and sparse files report their apparent size.
      r.size = std::max<uint64_t>(total, e.size);
    } else if (e.type == EntryType::symlink || e.type == EntryType::hardlink) {
      auto h = hash_bytes(ctx.get(), e.link_target);
      if (!h)
        return tl::unexpected(h.error());
      r.hash = *h;
      r.link_target = std::move(e.link_target);
    } else if (e.type == EntryType::chardev || e.type == EntryType::blockdev) {
      r.hash = {e.dev_major, e.dev_minor};
    }
    r.path = std::move(e.path);
    scan.records.push_back(std::move(r));
  }
  scan.compressed_bytes = reader->compressed_bytes_read();
  return scan;
}

} // namespace ctk::rt::image::detail
