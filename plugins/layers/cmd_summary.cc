// ctk layers summary IMAGE: dive's metrics and ctk's reclaimable bytes in one
// record; ctk layers findings IMAGE: one record per finding.
#include <cmath>

#include <fmt/format.h>

#include "commands.h"

namespace ctk::plugins::layers {

int run_summary(Call &call) {
  auto audit = audit_image(call);
  if (!audit)
    return call.fail(audit.error());
  const auto &m = audit->metrics;
  auto r = call.record();
  r.field("Image", call.args().at(0));
  r.field("Layers", static_cast<unsigned long long>(audit->layers.size()));
  r.field("Size", static_cast<unsigned long long>(m.total_bytes));
  r.field("Efficiency", m.efficiency * 100.0);
  r.field("WastedBytes", static_cast<unsigned long long>(m.wasted_bytes));
  // +inf (waste, but no bytes above the first layer) has no JSON form: null.
  if (std::isfinite(m.user_wasted_percent))
    r.field("UserWastedPercent", m.user_wasted_percent * 100.0);
  else
    r.field("UserWastedPercent", nullptr);
  r.field("Reclaimable", static_cast<unsigned long long>(m.reclaimable_bytes));
  r.field("Findings", static_cast<unsigned long long>(audit->findings.size()));
  r.field("FinalSize", static_cast<unsigned long long>(m.final_bytes));
  r.field("FinalEntries", static_cast<unsigned long long>(m.final_entries));
  r.field("UserSize", static_cast<unsigned long long>(m.user_bytes));
  r.key("Wasted").begin_array();
  for (const auto &w : audit->wasted) {
    r.begin_object();
    r.field("Path", "/" + w.path);
    r.field("Count", static_cast<unsigned long long>(w.count));
    r.field("Total", static_cast<unsigned long long>(w.total));
    r.end_object();
  }
  r.end_array();
  return 0;
}

int run_findings(Call &call) {
  auto audit = audit_image(call);
  if (!audit)
    return call.fail(audit.error());
  for (const auto &f : audit->findings) {
    std::string detail;
    if (f.kind == rt::image::FindingKind::deleted_but_shipped) {
      detail = f.deleted_in ? fmt::format("deleted in layer {}, still shipped in layer {}",
                                          *f.deleted_in, f.layer)
                            : fmt::format("still shipped in layer {}", f.layer);
      if (f.secret)
        detail += "; likely secret: " + f.reason;
    } else {
      detail = fmt::format("{} mode {}", entry_type_name(f.type), mode_string(f.mode));
    }
    auto r = call.record();
    r.field("Kind", rt::image::finding_kind_name(f.kind));
    r.field("Path", "/" + f.path);
    r.field("Layer", static_cast<unsigned long long>(f.layer));
    r.field("Size", static_cast<unsigned long long>(f.size));
    r.field("Secret", f.secret);
    r.field("Detail", detail);
    if (f.deleted_in)
      r.field("DeletedIn", static_cast<unsigned long long>(*f.deleted_in));
    else
      r.field("DeletedIn", nullptr);
    r.field("Reason", f.reason);
    r.field("Mode", mode_string(f.mode));
  }
  return 0;
}

} // namespace ctk::plugins::layers
