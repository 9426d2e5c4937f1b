// Private to the image module: layer path normalisation shared by the
// reader (entry names, hardlink targets) and the extractor.
#pragma once

#include <string>
#include <string_view>

#include "ctk/runtime/core.h"

namespace ctk::rt::image::detail {

// Normalises a path stored in a layer: drops leading "/" and "./", empty and
// "." components; ".." removes the previous component and is an error when
// there is none (the path escapes the layer root). "" stands for the root.
// `what` names the entry in the error.
Result<std::string> normalise_layer_path(std::string_view raw, std::string_view what);

// Linux dev_t encoding keeps 12 bits of major and 20 of minor; larger numbers
// would be silently truncated by mknod into a different device.
constexpr unsigned long kMaxDevMajor = 0xfff;
constexpr unsigned long kMaxDevMinor = 0xfffff;

} // namespace ctk::rt::image::detail
