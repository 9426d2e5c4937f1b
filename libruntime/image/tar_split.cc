// tar-split replay (see tar_split.h).
#include "tar_split.h"

#include <archive.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tar_fs.h"

namespace ctk::rt::image::detail {
namespace {

// Go's encoding/json writes []byte as standard base64 with padding.
std::optional<std::string> base64_decode(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=')
    in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) // one stray character: not whole bytes
    return std::nullopt;
  return out;
}

Result<void> write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    // send() on sockets so that a reader that went away is EPIPE, not SIGPIPE.
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == ENOTSOCK)
      w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return fail_errno("cannot write the layer stream");
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

// The file an entry names, as a regular file of the recorded size.
Result<UniqueFd> open_entry(const TarSplitEntry &e, int root_fd, std::string_view what) {
  int fd = open_in_root(root_fd, e.bytes, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (fd == -ELOOP)
      return fail(Errc::parse, fmt::format("{}: \"{}\" is a symbolic link in the layer directory, "
                                           "but the record says it is a file of {} bytes",
                                           what, e.bytes, e.size));
    return fail_errno(fmt::format("{}: cannot open \"{}\" in the layer directory", what, e.bytes),
                      -fd);
  }
  UniqueFd f(fd);
  struct stat st {};
  if (fstat(f.get(), &st) < 0)
    return fail_errno(fmt::format("{}: cannot stat \"{}\"", what, e.bytes));
  if (!S_ISREG(st.st_mode))
    return fail(Errc::parse, fmt::format("{}: \"{}\" is not a regular file in the layer directory",
                                         what, e.bytes));
  if (static_cast<uint64_t>(st.st_size) != e.size)
    return fail(Errc::parse,
                fmt::format("{}: \"{}\" has {} bytes in the layer directory, the record says {}",
                            what, e.bytes, st.st_size, e.size));
  return f;
}

} // namespace

Result<std::vector<TarSplitEntry>> parse_tar_split(std::string_view text, std::string_view what) {
  std::vector<TarSplitEntry> out;
  size_t line_no = 0;
  auto bad = [&](std::string_view why) {
    return fail(Errc::parse,
                fmt::format("{}: malformed tar-split record, line {}: {}", what, line_no, why));
  };
  for (auto line : split_lines(text)) {
    ++line_no;
    if (trim(line).empty())
      continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception &e) {
      return bad(e.what());
    }
    if (!j.is_object() || !j.contains("type") || !j["type"].is_number_integer())
      return bad("no type");
    TarSplitEntry e;
    int type = j["type"].get<int>();
    auto text_of = [&](const char *key) -> std::optional<std::string> {
      auto it = j.find(key);
      if (it == j.end() || it->is_null())
        return std::string();
      if (!it->is_string())
        return std::nullopt;
      return base64_decode(it->get_ref<const std::string &>());
    };
    if (type == 2) {
      auto p = text_of("payload");
      if (!p)
        return bad("payload is not base64");
      e.bytes = std::move(*p);
    } else if (type == 1) {
      e.file = true;
      if (auto it = j.find("name_raw"); it != j.end() && !it->is_null()) {
        auto raw = text_of("name_raw");
        if (!raw)
          return bad("name_raw is not base64");
        e.bytes = std::move(*raw);
      } else if (auto n = j.find("name"); n != j.end() && n->is_string()) {
        e.bytes = n->get<std::string>();
      } else {
        return bad("a file entry without a name");
      }
      if (auto s = j.find("size"); s != j.end()) {
        if (!s->is_number_integer() || s->get<int64_t>() < 0)
          return bad("size is not a non-negative integer");
        e.size = s->get<uint64_t>();
      }
      if (e.bytes.find('\0') != std::string::npos)
        return bad("a name with a NUL byte");
    } else {
      return bad(fmt::format("unknown entry type {}", type));
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<TarSplitEntry>> read_tar_split(int fd, std::string_view what) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a)
    return fail(Errc::internal, "cannot allocate a reader");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  archive_read_support_format_empty(a.get());
  auto err = [&](std::string_view op) {
    return fail(Errc::parse,
                fmt::format("{}: cannot {} its tar-split record: {}", what, op,
                            archive_error_string(a.get()) ? archive_error_string(a.get())
                                                          : "unknown error"));
  };
  if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK)
    return err("open");
  archive_entry *entry = nullptr;
  int rc = archive_read_next_header(a.get(), &entry);
  if (rc == ARCHIVE_EOF)
    return parse_tar_split("", what);
  if (rc != ARCHIVE_OK)
    return err("read");
  std::string text;
  char buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
    if (n < 0)
      return err("decompress");
    if (n == 0)
      break;
    text.append(buf, static_cast<size_t>(n));
  }
  return parse_tar_split(text, what);
}

uint64_t tar_split_size(const std::vector<TarSplitEntry> &entries) {
  uint64_t n = 0;
  for (const auto &e : entries)
    n += e.file ? e.size : e.bytes.size();
  return n;
}

Result<void> check_tar_split(const std::vector<TarSplitEntry> &entries, int root_fd,
                             std::string_view what) {
  for (const auto &e : entries)
    if (e.file && e.size > 0)
      if (auto f = open_entry(e, root_fd, what); !f)
        return tl::unexpected(f.error());
  return {};
}

Result<uint64_t> replay_tar_split(const std::vector<TarSplitEntry> &entries, int root_fd,
                                  int out_fd, std::string_view what) {
  uint64_t total = 0;
  std::vector<char> buf(1 << 17);
  for (const auto &e : entries) {
    if (!e.file) {
      if (auto w = write_all(out_fd, e.bytes.data(), e.bytes.size()); !w)
        return tl::unexpected(w.error());
      total += e.bytes.size();
      continue;
    }
    if (e.size == 0)
      continue;
    auto f = open_entry(e, root_fd, what);
    if (!f)
      return tl::unexpected(f.error());
    uint64_t left = e.size;
    while (left > 0) {
      ssize_t n = ::read(f->get(), buf.data(), std::min<uint64_t>(left, buf.size()));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return fail_errno(fmt::format("{}: cannot read \"{}\"", what, e.bytes));
      if (n == 0)
        return fail(Errc::parse, fmt::format("{}: \"{}\" shrank while it was read ({} of {} bytes)",
                                             what, e.bytes, e.size - left, e.size));
      if (auto w = write_all(out_fd, buf.data(), static_cast<size_t>(n)); !w)
        return tl::unexpected(w.error());
      left -= static_cast<uint64_t>(n);
    }
    total += e.size;
  }
  return total;
}

Result<UniqueFd> stream_tar_split(std::vector<TarSplitEntry> entries, UniqueFd root_fd,
                                  std::string what) {
  if (auto c = check_tar_split(entries, root_fd.get(), what); !c)
    return tl::unexpected(c.error());
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return fail_errno(what + ": cannot create a stream socket");
  UniqueFd reader(sv[0]), writer(sv[1]);
  // One direction only: the reader never writes back.
  ::shutdown(reader.get(), SHUT_WR);
  ::shutdown(writer.get(), SHUT_RD);
  try {
    std::thread([entries = std::move(entries), root = std::move(root_fd), out = std::move(writer),
                 what = std::move(what)]() mutable {
      // An error ends the stream early; the reader sees a truncated tar.
      (void)replay_tar_split(entries, root.get(), out.get(), what);
    }).detach();
  } catch (const std::system_error &e) {
    return fail(Errc::io, fmt::format("cannot start a worker thread: {}", e.what()));
  }
  return reader;
}

} // namespace ctk::rt::image::detail
