// Image references with containers-transports(5) names.
#include "internal.h"

namespace ctk::rt::discovery {

Result<ImageRef> parse_image_ref(std::string_view text) {
  if (trim(text).empty())
    return fail(Errc::invalid_argument, "invalid image reference: empty");
  // "docker://REF" is a registry reference (transport "docker"), the only
  // transport written with "//".
  if (text.substr(0, 9) == "docker://") {
    auto ref = text.substr(9);
    if (ref.empty())
      return fail(Errc::invalid_argument,
                  "invalid image reference " + std::string(text) + ": missing registry reference");
    return ImageRef{"docker", std::string(ref)};
  }
  static constexpr std::string_view kTransports[] = {"docker-archive", "oci-archive",        "oci",
                                                     "docker-daemon",  "containers-storage", "dir"};
  auto colon = text.find(':');
  if (colon != std::string_view::npos) {
    auto transport = text.substr(0, colon);
    for (auto t : kTransports) {
      if (transport != t)
        continue;
      auto ref = text.substr(colon + 1);
      // PATH[:ref], DIR[:ref], NAME:TAG: the reference part is kept whole;
      // the image layer splits a path from its ref when it opens the file.
      if (ref.empty() || ref[0] == ':')
        return fail(Errc::invalid_argument,
                    "invalid image reference " + std::string(text) + ": " + std::string(t) +
                        ": needs a " +
                        (t == "docker-daemon" || t == "containers-storage" ? "name" : "path"));
      return ImageRef{std::string(t), std::string(ref)};
    }
  }
  // Anything else is a name in ctk's own store ("busybox", "busybox:1.36",
  // "localhost:5000/app:v1": the colon there is a port or a tag).
  if (text.find_first_of(" \t\n") != std::string_view::npos)
    return fail(Errc::invalid_argument,
                "invalid image reference " + std::string(text) + ": contains whitespace");
  return ImageRef{"ctk", std::string(text)};
}

} // namespace ctk::rt::discovery
