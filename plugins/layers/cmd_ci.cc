// ctk layers ci IMAGE [thresholds] [--ci-config FILE]: dive's CI gate. One
// record per rule; exit 0 when every rule passes, 1 when one fails, 2 when
// the gate could not be evaluated (unreadable image or rules).
#include <unistd.h>

#include <fmt/format.h>

#include "commands.h"
#include "dive_ci.h"

namespace ctk::plugins::layers {
namespace {

constexpr int kError = 2;

// dive's defaults, overlaid by the .dive-ci file (given, or ./.dive-ci when
// present, as dive does), overlaid by the flags.
rt::Result<rt::image::CiRules> rules_of(const Call &call) {
  auto rules = rt::image::CiRules::dive_defaults();
  std::optional<std::string> file = call.get("ci-config");
  if (!file && ::access(".dive-ci", F_OK) == 0)
    file = ".dive-ci";
  if (file) {
    auto text = rt::read_file(*file);
    if (!text)
      return rt::wrap(text, "cannot read CI rules " + *file);
    auto parsed = parse_dive_ci(*text, rules);
    if (!parsed)
      return rt::wrap(parsed, "invalid CI rules in " + *file);
    rules = *parsed;
  }
  if (auto v = call.get("lowest-efficiency")) {
    auto r = parse_ratio(*v);
    if (!r)
      return rt::wrap(r, "invalid --lowest-efficiency");
    rules.lowest_efficiency = *r;
  }
  if (auto v = call.get("highest-wasted-bytes")) {
    auto b = parse_byte_size(*v);
    if (!b)
      return rt::wrap(b, "invalid --highest-wasted-bytes");
    rules.highest_wasted_bytes = *b;
  }
  if (auto v = call.get("highest-user-wasted-percent")) {
    auto r = parse_ratio(*v);
    if (!r)
      return rt::wrap(r, "invalid --highest-user-wasted-percent");
    rules.highest_user_wasted_percent = *r;
  }
  if (call.flag("no-deleted-secrets"))
    rules.no_deleted_secrets = true;
  return rules;
}

} // namespace

int run_ci(Call &call) {
  auto rules = rules_of(call);
  if (!rules)
    return call.fail(rules.error(), kError);
  auto audit = audit_image(call);
  if (!audit)
    return call.fail(audit.error(), kError);
  auto verdict = rt::image::evaluate_ci(*audit, *rules);
  std::vector<std::string> failed;
  for (const auto &rule : verdict.rules) {
    auto r = call.record();
    r.field("Rule", rule.rule);
    r.field("Status", !rule.enabled ? "SKIP" : rule.pass ? "PASS" : "FAIL");
    r.field("Detail", rule.message);
    if (rule.enabled && !rule.pass)
      failed.push_back(rule.rule);
  }
  if (verdict.pass)
    return 0;
  std::string names;
  for (const auto &f : failed)
    names += (names.empty() ? "" : ", ") + f;
  call.warn(fmt::format("image {} fails the CI rules: {}", call.args().at(0), names));
  return 1;
}

} // namespace ctk::plugins::layers
