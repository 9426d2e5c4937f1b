// The timeline of `ctk net trace`, shared by its three parts:
//   cmd_trace.cc       the command: endpoints, the path, the tracers, Trace::run
//   trace_timeline.cc  events of nftables tracing and of the kernel tracer,
//                      put in order and emitted as one packet's timeline
//   trace_verdict.cc   the end of each packet: delivered, dropped (by which
//                      rule), no route, or no verdict, and the probable cause
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctk/runtime/net_inspect.h"
#include "ctk/runtime/net_rules.h"
#include "ctk/runtime/net_trace.h"
#include "ctk/runtime/net_trace_bpf.h"
#include "commands.h"

namespace ctk::plugins::net::trace {

namespace nt = rt::nettrace;
namespace ni = rt::netinspect;
using Clock = std::chrono::steady_clock;

// Whether a link has carrier, from its operational state.
inline bool has_carrier(const ni::Iface &l) {
  return l.operstate != "down" && l.operstate != "lowerlayerdown" && l.operstate != "notpresent";
}
// An address with a port: "10.77.0.3:80", "[fd00:77::3]:80".
std::string with_port(const std::string &addr, uint16_t port);
// The tuple of an nftables trace event, as the TUPLE column shows it.
std::string tuple_of(const nt::NftEvent &e);

// What one packet's timeline found.
struct Outcome {
  std::optional<nt::NftEvent> drop;       // the rule (or policy) that dropped it
  std::string drop_base;                  // the base chain it was dropped under
  std::optional<nt::NftEvent> delivered;  // ctk's marker at the end of input
  std::optional<nt::NftEvent> last_hop;   // the last place it was seen going forward
  bool reply = false;                     // a packet of B's seen coming back
  std::string icmp_error_from;            // who sent an ICMP error back to A
  std::optional<nt::NftEvent> translated; // the first event after a DNAT changed the destination
  std::optional<nt::SkbEvent> kdrop;      // the kernel freed the packet: reason and place
  std::optional<nt::SkbEvent> consumed;   // consumed (by the transport layer) in B's namespace
  std::optional<nt::SkbEvent> klast;      // the last device the packet was seen at, forward
  std::set<uint64_t> skbs;                // forward skbs of this packet
  std::map<uint64_t, uint64_t> skb_ns;    // skb -> the namespace it was last seen in
  std::optional<std::string> answer;      // what the probe's socket said
  // A next hop whose neighbour entry failed (ARP or neighbour discovery got
  // no answer): netns inode, and the words for the summary.
  std::optional<std::pair<uint64_t, std::string>> neigh_failed;

  // The probe's socket heard B: a connection, a refusal or a reply.
  bool answered() const {
    return answer && (*answer == "connected" || *answer == "refused" || *answer == "reply");
  }
};

class Trace {
public:
  Trace(Call &call, nt::Endpoint a, nt::Endpoint b, nt::Flow flow, std::vector<nt::Netns> path)
      : call_(call), a_(std::move(a)), b_(std::move(b)), flow_(std::move(flow)),
        path_(std::move(path)), start_(Clock::now()) {}

  int run(std::optional<nt::Probe> probe, long long count, double timeout);

  // Set up by run_trace: one reader per namespace, ctk's table name, and
  // the kernel tracer (absent when BPF is not available: a warning says so).
  std::vector<nt::NftraceReader> readers_;
  std::string table_;
  std::optional<nt::SkbTracer> bpf_;
  std::map<uint64_t, std::string> labels_; // namespace inode -> label
  std::vector<nt::NftEvent> pending_nft_;
  std::vector<nt::SkbEvent> pending_skb_;
  uint64_t cur_ts_ = 0;

private:
  std::string now() const {
    return fmt::format("{:.3f}", std::chrono::duration<double>(Clock::now() - start_).count());
  }
  void emit(long long pkt, const std::string &netns, const std::string &event,
            const std::string &where, const std::string &verdict, const std::string &tuple,
            const std::string &detail, uint64_t ts_ns = 0) {
    // Kernel events carry their own time (CLOCK_MONOTONIC, as steady_clock).
    std::string when = now();
    if (!ts_ns)
      ts_ns = cur_ts_;
    if (ts_ns) {
      auto start =
          std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch()).count();
      when = fmt::format("{:.3f}", (static_cast<double>(ts_ns) - static_cast<double>(start)) / 1e9);
    }
    auto r = call_.record();
    r.field("Packet", pkt).field("Time", when).field("Netns", netns).field("Event", event);
    r.field("Where", where).field("Verdict", verdict).field("Tuple", tuple).field("Detail", detail);
  }
  void event(long long pkt, nt::NftEvent &ev, Outcome &o);
  void skb_event(long long pkt, const nt::SkbEvent &ev, Outcome &o);
  void flush(long long pkt, Outcome &o);
  bool wanted(const nt::SkbEvent &ev, const Outcome &o) const;
  bool skb_forward(const nt::SkbEvent &ev) const {
    nt::NftEvent t;
    t.saddr = ev.saddr;
    t.proto = ev.proto;
    t.sport = ev.sport;
    return forward(t);
  }
  std::string label_of(uint64_t inode) const {
    auto it = labels_.find(inode);
    return it != labels_.end() ? it->second : fmt::format("netns:[{}]", inode);
  }
  bool forward(const nt::NftEvent &ev) const {
    if (flow_.sport)
      return ev.proto == flow_.proto && ev.sport == *flow_.sport && ev.saddr == flow_.src;
    return ev.saddr == flow_.src;
  }
  void finish(long long pkt, const Outcome &o);
  void explain_timeout(long long pkt, const Outcome &o);
  std::vector<std::string> causes_in(long long pkt, const Outcome &o, const std::string &only);
  void explain_no_route(long long pkt, const rt::Error &why);
  std::string where_of(const nt::NftEvent &ev) const;

  Call &call_;
  nt::Endpoint a_, b_;
  nt::Flow flow_;
  std::vector<nt::Netns> path_;
  // Each namespace's rules, read when a trace event first names one there.
  std::map<uint64_t, rt::netrules::Ruleset> rulesets_;
  void name_rule(const nt::Netns &ns, nt::NftEvent &ev);
  std::map<std::string, nt::NftEvent> headers_;
  // iptables-legacy counters before the packet, for namespaces with legacy tables.
  std::vector<std::pair<size_t, rt::netrules::LegacyCounters>> legacy_before_;
  Clock::time_point start_;
};

} // namespace ctk::plugins::net::trace
