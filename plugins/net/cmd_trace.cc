// ctk net trace --from A --to B: one timeline per packet. Where the packet
// went (the hooks of ctk's tracing tables, namespace and device), each
// netfilter rule that matched with its verdict (nftables tracing), and the
// end: delivered, dropped (by which rule), no route, or no verdict.
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>

#include "commands.h"
#include "ctk/runtime/discovery.h"
#include "trace.h"

namespace ctk::plugins::net {
namespace {

using namespace trace;

// An endpoint: "10.77.0.3", "10.77.0.1:8080", a container target or a pid.
// Namespaces nearest to `from` first (itself, its veth peers, theirs), then
// the rest: the same address (10.77.0.1 on every lab's bridge, 172.17.0.1 on
// docker0 and a test's docker) is looked for where A's packets go.
std::vector<nt::Netns> nearest_first(const std::optional<nt::Netns> &from,
                                     const std::vector<nt::Netns> &known) {
  if (!from)
    return known;
  std::vector<nt::Netns> all = known;
  all.push_back(*from);
  auto peers = nt::veth_peers(all);
  std::vector<nt::Netns> out{*from};
  auto add = [&](const nt::Netns &ns) {
    for (const auto &o : out)
      if (o.inode == ns.inode)
        return;
    out.push_back(ns);
  };
  for (size_t depth = 0, begin = 0; peers && depth < 2; ++depth) {
    size_t end = out.size();
    for (size_t i = begin; i < end; ++i)
      if (auto it = peers->find(out[i].inode); it != peers->end())
        for (const auto &p : it->second)
          add(p.netns);
    begin = end;
  }
  for (const auto &k : known)
    add(k);
  return out;
}

// An endpoint as resolved before the flow's family is chosen: an address
// given as such, or the usable addresses of a container's or PID's
// namespace of both families.
struct Resolved {
  nt::Endpoint ep;
  nt::EndFamilies families;
  std::vector<std::string> v4, v6;
};

// An endpoint: "10.77.0.3", "10.77.0.1:8080", "fd00:77::3",
// "[fd00:77::3]:8080" (looked for near `near`), or a container target or
// a PID through netinspect's resolver.
rt::Result<Resolved> resolve_endpoint(std::string_view role, const std::string &text,
                                      const std::vector<nt::Netns> &known,
                                      rt::discovery::Resolver &resolver,
                                      const std::optional<nt::Netns> &near = std::nullopt) {
  Resolved out;
  out.families.role = std::string(role);
  out.families.text = text;
  nt::Endpoint &ep = out.ep;
  auto parsed = nt::parse_address(text);
  if (!parsed)
    return rt::wrap(parsed, fmt::format("invalid {}", role));
  if (*parsed) {
    const auto &addr = (*parsed)->address;
    if (!nt::usable_address(addr)) {
      bool loopback = addr == "::1" || addr.rfind("127.", 0) == 0;
      std::string why = loopback ? "a loopback address is in every network namespace; name a "
                                   "container or a PID"
                                 : "a link-local, multicast or unspecified address names no one "
                                   "host; name a container, a PID or a global address";
      return rt::fail(rt::Errc::invalid_argument,
                      fmt::format("invalid {} '{}': {}", role, text, why));
    }
    ep.port = (*parsed)->port;
    ep.address = addr;
    ep.label = addr;
    out.families.given = (*parsed)->family;
    auto owner = nt::owner_of_address(addr, nearest_first(near, known));
    if (!owner)
      return tl::unexpected(owner.error());
    ep.netns = *owner;
    return out;
  }
  if (auto target = rt::discovery::parse_target(text); !target)
    return rt::wrap(target, fmt::format("invalid {}", role));
  auto e = rt::netinspect::resolve_endpoint(resolver, text, {});
  if (!e)
    return rt::wrap(e, fmt::format("cannot resolve {}", role));
  if (e->container) {
    // "The host" is pid 1's namespace, and the one ctk itself runs in
    // (ctk run --net host from inside a namespace shares that one).
    struct stat self {};
    bool ours = stat("/proc/self/ns/net", &self) == 0 && self.st_ino == e->netns_inode;
    if (e->host_netns || ours)
      return rt::fail(rt::Errc::invalid_argument,
                      fmt::format("{} {} shares the host's network namespace: there is no "
                                  "container network to trace",
                                  role, text));
  }
  auto ns = nt::netns_of(*e, known);
  if (!ns)
    return rt::wrap(ns, fmt::format("cannot open the network namespace of {} {}", role, text));
  if (e->container)
    ns->label = e->label;
  ep.label = ns->label;
  for (const auto &a : e->addresses())
    if (nt::usable_address(a.address))
      (a.family == AF_INET ? out.v4 : out.v6).push_back(a.address);
  out.families.v4 = !out.v4.empty();
  out.families.v6 = !out.v6.empty();
  ep.netns = std::move(*ns);
  return out;
}

} // namespace

namespace trace {

int Trace::run(std::optional<nt::Probe> probe, long long count, double timeout) {
  for (long long pkt = probe ? 1 : 0; pkt <= (probe ? count : 0); ++pkt) {
    Outcome o;
    headers_.clear(); // trace ids are per packet's traversal
    legacy_before_.clear();
    for (size_t i = 0; i < path_.size(); ++i) {
      auto c = rt::netrules::legacy_counters(path_[i].fd->get());
      if (!c)
        call_.warn(c.error().message());
      else if (!c->rules.empty())
        legacy_before_.emplace_back(i, std::move(*c));
    }
    if (probe) {
      auto sent = probe->send();
      if (!sent) {
        explain_no_route(pkt, sent.error());
        return 0;
      }
      emit(pkt, a_.netns->label, "sent", "", "", "",
           fmt::format("{} {} -> {}", nt::proto_name(flow_.proto),
                       nt::is_icmp(flow_.proto) ? fmt::format("{} id {}", flow_.src, *flow_.sport)
                                                : with_port(flow_.src, *flow_.sport),
                       flow_.dport ? with_port(flow_.dst, *flow_.dport) : flow_.dst));
    }
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(timeout));
    // A short wait for late events after an answer or a drop; max() = not settling.
    constexpr auto kNotSettling = Clock::time_point::max();
    auto settle = kNotSettling;
    auto last_event = Clock::now();
    long long verdicts = 0;
    while (true) {
      auto until = std::min(settle, deadline);
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0)
        break;
      std::vector<pollfd> fds;
      for (const auto &r : readers_)
        fds.push_back({r.fd(), POLLIN, 0});
      if (probe && !o.answer)
        fds.push_back(
            {probe->fd(), static_cast<short>(flow_.proto == IPPROTO_TCP ? POLLOUT : POLLIN), 0});
      if (bpf_)
        fds.push_back({bpf_->fd(), POLLIN, 0});
      fds.push_back({call_.interrupt_fd(), POLLIN, 0});
      poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 100)));
      if (call_.interrupted()) {
        emit(pkt, "", "summary", "", "INTERRUPTED", "", "interrupted before a verdict");
        return 130;
      }
      size_t before = pending_nft_.size() + pending_skb_.size();
      for (auto &r : readers_)
        if (auto rd = r.read(pending_nft_); !rd)
          call_.warn(rd.error().message());
      if (bpf_)
        if (auto r = bpf_->poll([&](const nt::SkbEvent &e) { pending_skb_.push_back(e); }, 0); !r)
          call_.warn(r.error().message());
      if (pending_nft_.size() + pending_skb_.size() != before)
        last_event = Clock::now();
      // The two sources arrive apart; a quiet moment lets them be merged
      // into one timeline.
      if (Clock::now() - last_event >= std::chrono::milliseconds(40))
        flush(pkt, o);
      if (probe && !o.answer)
        if (auto a = probe->answer()) {
          flush(pkt, o);
          o.answer = a;
          emit(pkt, a_.netns->label, "answer", "", *a, "", "what the sender's socket saw");
          settle = Clock::now() + std::chrono::milliseconds(300);
        }
      if (o.drop && settle == kNotSettling)
        settle = Clock::now() + std::chrono::milliseconds(200);
      const bool answered = o.answered();
      if (probe && (o.delivered || o.consumed) && (o.reply || answered) && (answered || !o.answer))
        break;
      if (o.kdrop && settle == kNotSettling)
        settle = Clock::now() + std::chrono::milliseconds(200);
      if (!probe && (o.drop || (o.delivered && o.reply))) {
        // Passive: each end is one packet's verdict.
        finish(0, o);
        o = Outcome{};
        headers_.clear();
        settle = kNotSettling;
        if (++verdicts >= count)
          break;
      }
    }
    flush(pkt, o);
    if (probe || !verdicts)
      finish(pkt, o);
  }
  uint64_t lost = 0;
  for (const auto &r : readers_)
    lost += r.lost();
  if (bpf_ && bpf_->lost())
    call_.warn(fmt::format(
        "{} kernel trace events were lost (ring buffer full): the timeline may miss hops",
        bpf_->lost()));
  if (lost)
    call_.warn(fmt::format("{} nftables trace message batches were lost (socket overrun): the "
                           "timeline may miss rules",
                           lost));
  return 0;
}

} // namespace trace


int run_trace(Call &call) {
  auto from = call.get("from");
  auto to = call.get("to");
  if (!from || !to)
    return call.fail("net trace: --from A and --to B are required", 2);
  auto proto = nt::parse_proto(call.get("proto").value_or("tcp"));
  if (!proto)
    return call.fail(proto.error(), 2);
  auto dport = call.get_int("dport");
  if (!dport)
    return call.fail(dport.error(), 2);
  if (*dport && (**dport < 1 || **dport > 65535))
    return call.fail(fmt::format("invalid --dport {}: expected 1-65535", **dport), 2);
  if (*dport && *proto == IPPROTO_ICMP)
    return call.fail("--dport does not apply to --proto icmp", 2);
  auto count = call.get_int("count");
  if (!count)
    return call.fail(count.error(), 2);
  long long n = count->value_or(1);
  if (n < 1)
    return call.fail(fmt::format("invalid --count {}: expected 1 or more", n), 2);
  double timeout = 5;
  if (auto t = call.get("timeout")) {
    char *end = nullptr;
    timeout = std::strtod(t->c_str(), &end);
    if (t->empty() || *end || !(timeout > 0) || timeout > 3600)
      return call.fail(fmt::format("invalid --timeout '{}': expected seconds, more than 0", *t), 2);
  }
  if (geteuid() != 0)
    return call.fail("net trace: needs root (CAP_NET_ADMIN to add tracing rules in other network "
                     "namespaces, CAP_SYS_ADMIN to enter them)",
                     1);

  rt::discovery::Options ropt;
  ropt.roots.ctk_root = call.root(); // --root/--run-root name ctk's own store
  ropt.roots.ctk_run_root = call.run_root();
  auto resolver = rt::discovery::Resolver::open(std::move(ropt));
  if (!resolver)
    return call.fail(resolver.error());
  auto known = nt::list_namespaces(*resolver);
  if (!known)
    return call.fail(known.error());
  auto ra = resolve_endpoint("--from", *from, *known, *resolver);
  if (!ra)
    return call.fail(ra.error());
  auto rb = resolve_endpoint("--to", *to, *known, *resolver, ra->ep.netns);
  if (!rb)
    return call.fail(rb.error());
  auto family = nt::choose_family(ra->families, rb->families, call.flag("ipv6"));
  if (!family)
    return call.fail(family.error());
  for (auto *r : {&*ra, &*rb})
    if (!r->families.given)
      r->ep.address = (*family == AF_INET ? r->v4 : r->v6).front();
  auto a = std::optional<nt::Endpoint>(std::move(ra->ep));
  auto b = std::optional<nt::Endpoint>(std::move(rb->ep));
  if (b->port && *dport && **dport != *b->port)
    return call.fail(fmt::format("--to {} names port {} but --dport is {}", *to, *b->port, **dport),
                     2);

  nt::Flow flow;
  flow.family = *family;
  flow.src = a->address;
  flow.dst = b->address;
  flow.proto = *proto;
  if (flow.proto == IPPROTO_ICMP && flow.family == AF_INET6)
    flow.proto = IPPROTO_ICMPV6; // --proto icmp of an IPv6 flow
  if (*dport)
    flow.dport = static_cast<uint16_t>(**dport);
  else if (b->port)
    flow.dport = b->port;
  if (nt::is_icmp(flow.proto))
    flow.dport.reset();

  std::optional<nt::Probe> probe;
  if (call.flag("probe")) {
    if (!a->netns)
      return call.fail(
          fmt::format("--probe: no network namespace of this host has {}; --from must be "
                      "a container, a PID or one of their addresses",
                      a->address));
    auto p = nt::Probe::open(*a->netns, flow);
    if (!p)
      return call.fail(p.error(), p.error().code == rt::Errc::invalid_argument ? 2 : 1);
    flow.sport = p->sport();
    probe = std::move(*p);
  }
  if (!a->netns && !b->netns)
    return call.fail(
        fmt::format("neither {} nor {} is in a network namespace of this host", *from, *to));

  auto path = nt::path_namespaces(*a, *b, flow, *known);
  if (!path)
    return call.fail(path.error());
  // Use the endpoints' labels (container names) for their namespaces.
  for (auto &ns : *path)
    for (const auto *e : {&*a, &*b})
      if (e->netns && e->netns->inode == ns.inode)
        ns.label = e->netns->label;
  // A's namespace first, B's last, those between in between: the order a
  // forward packet meets them.
  std::stable_partition(path->begin(), path->end(), [&](const nt::Netns &ns) {
    return a->netns && ns.inode == a->netns->inode;
  });
  std::stable_partition(path->begin(), path->end(), [&](const nt::Netns &ns) {
    return !(b->netns && ns.inode == b->netns->inode);
  });
  // A killed ctk's tables, wherever its record says (install() also
  // deletes those it meets on this path).
  const std::string records = call.run_root() + "/net-trace";
  auto recorded = nt::remove_stale_records(records);
  if (!recorded)
    return call.fail(recorded.error());
  if (*recorded)
    call.log(CTK_LOG_INFO,
             fmt::format("removed {} stale tracing table(s) a killed ctk left", *recorded));
  Trace trace(call, *a, *b, flow, *path);
  // Readers first: an event between the table and its reader would be lost.
  for (const auto &ns : *path) {
    auto r = nt::NftraceReader::open(ns);
    if (!r)
      return call.fail(r.error());
    trace.readers_.push_back(std::move(*r));
  }
  auto tables = nt::TraceTables::install(*path, flow, records);
  if (!tables)
    return call.fail(tables.error());
  trace.table_ = tables->name();
  if (tables->stale_removed())
    call.log(CTK_LOG_INFO, fmt::format("removed {} stale tracing table(s) on the path",
                                       tables->stale_removed()));
  std::string labels;
  for (const auto &ns : *path)
    labels += (labels.empty() ? "" : ", ") + ns.label;
  call.log(CTK_LOG_INFO,
           fmt::format("tracing {} {} -> {} in {}", nt::proto_name(flow.proto), flow.src,
                       flow.dport ? with_port(flow.dst, *flow.dport) : flow.dst, labels));
  for (const auto &k : *known)
    trace.labels_[k.inode] = k.label;
  for (const auto &ns : *path)
    trace.labels_[ns.inode] = ns.label;
  // The kernel half: hops through devices and namespaces, drops with the
  // kernel's reason. Without BPF the trace goes on with netfilter's view.
  nt::FlowFilter filter;
  filter.proto = flow.proto;
  filter.side_a = {flow.src};
  filter.side_b = {flow.dst};
  filter.dport = flow.dport.value_or(0);
  filter.arp_addresses = {flow.src, flow.dst};
  if (a->netns)
    if (auto fib = nt::fib_lookup(*a->netns, flow.dst, flow.src); fib && !fib->gateway.empty())
      filter.arp_addresses.push_back(fib->gateway);
  // The kernel follows only as many skbs as --count packets can need (each
  // with its reply, ARP and retransmissions): a busy flow then costs what
  // an unrelated one does once they are seen (tests/bench/net_trace_bench.sh).
  filter.max_packets = static_cast<uint32_t>(std::min<long long>(n * 16, UINT32_MAX));
  if (auto tracer = nt::SkbTracer::start(filter))
    trace.bpf_.emplace(std::move(*tracer));
  else
    call.warn(fmt::format("no kernel tracer ({}): hops and drop reasons come from netfilter alone",
                          tracer.error().message()));
  int status = trace.run(std::move(probe), n, timeout);
  if (auto r = tables->remove(); !r)
    return call.fail(r.error());
  return status;
}

} // namespace ctk::plugins::net
