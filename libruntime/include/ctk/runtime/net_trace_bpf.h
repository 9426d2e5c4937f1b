// The kernel half of `ctk net trace`: a CO-RE program (bpf/nettrace.bpf.c)
// on the stable skb and net tracepoints that follows one flow through
// devices and network namespaces and reports each hop, each drop with the
// kernel's reason, and the ARP and neighbour events of the flow's next hops.
//
//   using namespace ctk::rt::nettrace;
//   FlowFilter f;
//   f.proto = IPPROTO_TCP;
//   f.side_a = {"10.77.0.2"};
//   f.side_b = {"10.77.0.3"};
//   f.dport = 80;
//   auto tracer = SkbTracer::start(f);            // attached and ready on return
//   if (!tracer) return wrap(tracer, "cannot trace");
//   tracer->poll([](const SkbEvent &e) { ... }, 1000);
//
// The filter runs in the kernel: a packet matches when one address is in
// side_a and the other in side_b (either direction, so replies count), with
// the protocol and, for TCP/UDP, the port (destination port one way, source
// port the other). ICMP errors between the two sides always match. Once a
// packet matched, its skb is followed by pointer through every later event,
// so a DNAT or SNAT rewrite shows the tuple before and after; the rewritten
// tuple is learned so the replies of the translated flow match too.
//
// Nothing is pinned: programs, links and maps live as long as the tracer's
// file descriptors, so a killed process leaves nothing attached.
// Needs CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) and kernel BTF; errors are
// permission_denied or unsupported. Link ctk_runtime_bpf to use it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include "ctk/runtime/core.h"

namespace ctk::rt::nettrace {

struct FlowFilter {
  uint8_t proto = 0;    // 0 any, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6)
  // Addresses of the two ends (IPv4 or IPv6 text). An empty side matches
  // any address.
  std::vector<std::string> side_a, side_b;
  uint16_t dport = 0; // 0 any; else the port of side_b (TCP/UDP)
  // Next hops whose ARP packets (sender or target IP), IPv6 neighbour
  // solicitations and advertisements (source, destination or target) and
  // neighbour-table events matter: usually the two ends and their gateways.
  std::vector<std::string> arp_addresses;
  // The kernel stops following new packets (skbs: replies, ICMP errors and
  // ARP included) after this many; those already followed are reported to
  // their end. 0: no limit. Bounds the cost of tracing a busy flow.
  uint32_t max_packets = 0;
  // Attach every program but let each return at once, following nothing:
  // what the attachment alone costs each packet of the host, the floor
  // under any filter (for tests/bench/net_trace_bench.sh).
  bool attach_only = false;
};

enum class SkbEventKind { receive, queue, xmit, drop, consume, arp, neigh };

// "receive", "queue", ...
const char *kind_name(SkbEventKind k);

struct SkbEvent {
  uint64_t ts_ns = 0; // CLOCK_MONOTONIC (bpf_ktime_get_ns)
  uint64_t skb = 0;   // the kernel's skb address: the packet's identity
  SkbEventKind kind = SkbEventKind::receive;
  // Where it was seen: the same as kind, except for an ARP or NDP packet
  // (kind arp; receive, queue, xmit, drop or consume) and neigh.
  SkbEventKind hop = SkbEventKind::receive;
  uint64_t netns_inode = 0; // as in /proc/PID/ns/net; 0 if unknown
  int ifindex = 0;
  std::string ifname;
  int family = 0; // AF_INET, AF_INET6 (ARP: AF_INET; kind arp with AF_INET6: NDP)
  uint8_t proto = 0;
  // ARP: sender and target IP; NDP solicitation: source and target; NDP
  // advertisement: target and destination; neigh: daddr is the neighbour.
  std::string saddr, daddr;
  uint16_t sport = 0, dport = 0;
  uint8_t tcp_flags = 0, icmp_type = 0;
  uint16_t arp_op = 0;      // 1 request (NDP: solicitation), 2 reply (advertisement)
  uint32_t len = 0;         // skb->len at the event
  uint32_t reason = 0;      // drop: enum skb_drop_reason
  std::string reason_name;  // drop: "NETFILTER_DROP" (from the kernel's BTF)
  uint64_t location = 0;    // drop/consume: the freeing call site
  std::string location_sym; // "nf_hook_slow+0x8c" from /proc/kallsyms
  std::string neigh_state;  // neigh: "INCOMPLETE", "REACHABLE|PROBE", ...
  std::string neigh_event;  // neigh: "update", "timer", "send_done", "send_dead"
  std::string lladdr; // neigh: the link-layer address if known; ARP: sender MAC; NDP: its option's
};

class SkbTracer {
public:
  // Loads, fills the filter maps and attaches; events flow on return.
  static Result<SkbTracer> start(const FlowFilter &f);
  SkbTracer(SkbTracer &&) noexcept;
  SkbTracer &operator=(SkbTracer &&) noexcept;
  SkbTracer(const SkbTracer &) = delete;
  SkbTracer &operator=(const SkbTracer &) = delete;
  ~SkbTracer(); // detaches and frees everything

  // Readable (an epoll fd) when events may wait: the kernel queues events
  // without waking the reader until 64 KiB pile up, so the fd also turns
  // readable every 20 ms while the tracer lives; call poll() then.
  // Events therefore reach the caller at most ~20 ms after they happened.
  int fd() const;
  // Delivers waiting events to fn, waiting up to timeout_ms (0: no wait,
  // -1: forever) for fd() to turn readable. EINTR returns success with no
  // events.
  Result<void> poll(const std::function<void(const SkbEvent &)> &fn, int timeout_ms);
  // Events the kernel could not queue (ring buffer full), all CPUs.
  uint64_t lost() const;
  // Milliseconds start() took from open to attached (for the benchmark).
  double start_ms() const;

  struct Impl;

private:
  explicit SkbTracer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Names of enum skb_drop_reason read from the running kernel's BTF, with
// the SKB_DROP_REASON_ prefix removed (SKB_CONSUMED -> "CONSUMED",
// SKB_NOT_DROPPED_YET -> "NOT_DROPPED_YET"). Unknown value -> "reason N".
// The BTF is read once per process.
Result<std::string> drop_reason_name(uint32_t reason);

// "sym+0xoff" of a kernel text address from /proc/kallsyms (read once per
// process), or "0x..." when no symbol covers it.
std::string kernel_symbol(uint64_t addr);

} // namespace ctk::rt::nettrace
