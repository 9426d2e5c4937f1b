// dive's CI rules from what users type: flag values and .dive-ci files.
//
//   auto rules = parse_dive_ci(text);            // dive's defaults overlaid
//   rules->highest_wasted_bytes = *parse_byte_size("20MB");
#pragma once

#include <cstdint>
#include <string_view>

#include "ctk/runtime/image_audit.h"

namespace ctk::plugins::layers {

// "20MB" (SI, as dive's go-humanize), "20MiB", "1.5 GB", "1024", "20k".
rt::Result<uint64_t> parse_byte_size(std::string_view text);
// "0.1" (dive's ratio) or "10%".
rt::Result<double> parse_ratio(std::string_view text);

// Overlays the `rules:` mapping of a .dive-ci file on `base` (keys
// lowestEfficiency, highestWastedBytes, highestUserWastedPercent, and ctk's
// noDeletedSecrets; a value "disabled" turns a rule off). Other top-level
// sections are ignored; unknown rule keys and bad values are errors naming
// the line.
rt::Result<rt::image::CiRules>
parse_dive_ci(std::string_view text, rt::image::CiRules base = rt::image::CiRules::dive_defaults());

} // namespace ctk::plugins::layers
