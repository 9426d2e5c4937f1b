// CI rules evaluated over an audit: dive's semantics (a rule fails when
// lowestEfficiency > efficiency, wastedBytes > highestWastedBytes,
// userWastedPercent > highestUserWastedPercent), plus ctk's
// noDeletedSecrets. Reading rules from flags or a .dive-ci file is the
// layers plugin's job (plugins/layers/dive_ci.cc).
#include <cmath>

#include <fmt/format.h>

#include "audit_internal.h"

namespace ctk::rt::image {

CiRules CiRules::dive_defaults() {
  CiRules r;
  r.lowest_efficiency = 0.9;
  r.highest_user_wasted_percent = 0.1;
  return r;
}

namespace {

// Thresholds and values in messages, as dive prints them.
std::string fmt_double(double v) {
  return fmt::format("{:.4g}", v);
}

} // namespace

CiVerdict evaluate_ci(const Audit &audit, const CiRules &rules) {
  CiVerdict v;
  const AuditMetrics &m = audit.metrics;
  auto add = [&](std::string name, bool enabled, bool pass, std::string msg) {
    if (!enabled)
      msg = "rule disabled";
    v.pass = v.pass && pass;
    v.rules.push_back({std::move(name), enabled, pass, std::move(msg)});
  };
  {
    bool on = rules.lowest_efficiency.has_value();
    bool ok = !on || !(*rules.lowest_efficiency > m.efficiency);
    add("lowestEfficiency", on, ok,
        ok ? "efficiency=" + fmt_double(m.efficiency) +
                 " >= threshold=" + fmt_double(rules.lowest_efficiency.value_or(0))
           : "image efficiency is too low (efficiency=" + fmt_double(m.efficiency) +
                 " < threshold=" + fmt_double(*rules.lowest_efficiency) + ")");
  }
  {
    bool on = rules.highest_wasted_bytes.has_value();
    bool ok = !on || m.wasted_bytes <= *rules.highest_wasted_bytes;
    add("highestWastedBytes", on, ok,
        ok ? "wasted-bytes=" + std::to_string(m.wasted_bytes) +
                 " <= threshold=" + std::to_string(rules.highest_wasted_bytes.value_or(0))
           : "too many bytes wasted (wasted-bytes=" + std::to_string(m.wasted_bytes) +
                 " > threshold=" + std::to_string(*rules.highest_wasted_bytes) + ")");
  }
  {
    bool on = rules.highest_user_wasted_percent.has_value();
    bool ok = !on || !(m.user_wasted_percent > *rules.highest_user_wasted_percent);
    add("highestUserWastedPercent", on, ok,
        ok ? "%-user-wasted-bytes=" + fmt_double(m.user_wasted_percent) +
                 " <= threshold=" + fmt_double(rules.highest_user_wasted_percent.value_or(0))
           : "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=" +
                 fmt_double(m.user_wasted_percent) +
                 " > threshold=" + fmt_double(*rules.highest_user_wasted_percent) + ")");
  }
  {
    std::vector<const Finding *> secrets;
    for (const Finding &f : audit.findings)
      if (f.kind == FindingKind::deleted_but_shipped && f.secret)
        secrets.push_back(&f);
    bool ok = !rules.no_deleted_secrets || secrets.empty();
    std::string msg = "no deleted secret ships";
    if (!ok) {
      msg = std::to_string(secrets.size()) + " deleted secret(s) still ship in earlier layers:";
      for (size_t i = 0; i < secrets.size() && i < 5; ++i)
        msg += " /" + secrets[i]->path + " (layer " + std::to_string(secrets[i]->layer) +
               ", deleted in layer " + std::to_string(secrets[i]->deleted_in.value_or(0)) + ")";
      if (secrets.size() > 5)
        msg += " …";
    }
    add("noDeletedSecrets", rules.no_deleted_secrets, ok, std::move(msg));
  }
  return v;
}

} // namespace ctk::rt::image
