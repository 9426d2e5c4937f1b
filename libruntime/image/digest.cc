// SHA-256 digests (OpenSSL EVP) and the "sha256:<hex>" text form.
#include <unistd.h>

#include <openssl/evp.h>

#include "ctk/runtime/image_store.h"

namespace ctk::rt::image {

static bool lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

Result<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != 64)
    return fail(Errc::parse, "invalid digest sha256:" + std::string(hex.substr(0, 80)) +
                                 ": a sha256 digest has 64 hex digits, not " +
                                 std::to_string(hex.size()));
  if (!lower_hex(hex))
    return fail(Errc::parse, "invalid digest sha256:" + std::string(hex) + ": not lowercase hex");
  Digest d;
  d.text_ = "sha256:" + std::string(hex);
  return d;
}

Result<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail(Errc::parse, "invalid digest " + std::string(text.substr(0, 80)) +
                                 ": expected sha256:<64 hex digits>");
  auto algo = text.substr(0, colon);
  if (algo != "sha256")
    return fail(Errc::unsupported, "invalid digest " + std::string(text.substr(0, 80)) +
                                       ": algorithm " + std::string(algo) +
                                       " is not supported (only sha256)");
  return from_hex(text.substr(colon + 1));
}

Sha256::Sha256() {
  auto *ctx = EVP_MD_CTX_new();
  // Allocation failure of a few bytes: nothing sensible to return from a
  // constructor; EVP calls on a null ctx then fail and finish() yields "".
  if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    ctx = nullptr;
  }
  ctx_ = ctx;
}
Sha256::Sha256(Sha256 &&o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
Sha256 &Sha256::operator=(Sha256 &&o) noexcept {
  if (this != &o) {
    if (ctx_)
      EVP_MD_CTX_free(static_cast<EVP_MD_CTX *>(ctx_));
    ctx_ = std::exchange(o.ctx_, nullptr);
  }
  return *this;
}
Sha256::~Sha256() {
  if (ctx_)
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX *>(ctx_));
}

void Sha256::update(const void *data, size_t n) {
  if (ctx_ && n)
    EVP_DigestUpdate(static_cast<EVP_MD_CTX *>(ctx_), data, n);
}

Digest Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!ctx_ || EVP_DigestFinal_ex(static_cast<EVP_MD_CTX *>(ctx_), md, &len) != 1 || len != 32)
    return Digest();
  static const char *kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (unsigned i = 0; i < len; i++) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return *Digest::from_hex(hex);
}

Digest sha256_of(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.finish();
}

Result<Digest> sha256_of_fd(int fd, uint64_t *size) {
  Sha256 h;
  uint64_t total = 0;
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno("cannot read data to digest");
    }
    if (n == 0)
      break;
    h.update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  if (size)
    *size = total;
  return h.finish();
}

} // namespace ctk::rt::image
