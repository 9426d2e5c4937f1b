// Loader of the flow tracer (bpf/nettrace.bpf.c): load with the filter's
// protocol and port as constants, fill the address map, attach, read the
// ring buffer.
//
// It uses the light skeleton (through bpf/nettrace_lskel.c), as the pidmap
// loader does: the kernel applies the CO-RE relocations from its own BTF,
// where libbpf would first parse all of /sys/kernel/btf/vmlinux in user
// space, which would eat most of the 100 ms the whole `ctk net trace` start
// may take. The BTF is parsed only when a drop's reason must be named, and
// /proc/kallsyms only when a location must be; both once per process.
#include "ctk/runtime/net_trace_bpf.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <unistd.h>
#include <unordered_map>

#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "nettrace.h"
#include "nettrace_lskel.h"

namespace ctk::rt::nettrace {
namespace {

struct LskelDeleter {
  void operator()(nettrace_lskel *l) const { nettrace_lskel_close(l); }
};
using LskelPtr = std::unique_ptr<nettrace_lskel, LskelDeleter>;

struct RingDeleter {
  void operator()(ring_buffer *rb) const { ring_buffer__free(rb); }
};
using RingPtr = std::unique_ptr<ring_buffer, RingDeleter>;

tl::unexpected<Error> bpf_fail(const std::string &what, int err) {
  if (err < 0)
    err = -err;
  Errc code = Errc::unsupported;
  if (err == EPERM || err == EACCES)
    code = Errc::permission_denied;
  return tl::unexpected<Error>(Error(code, "cannot " + what + " the flow tracer", err));
}

Result<nettrace_addr> parse_addr(const std::string &text) {
  nettrace_addr a{};
  if (inet_pton(AF_INET, text.c_str(), a.addr) == 1)
    a.family = AF_INET;
  else if (inet_pton(AF_INET6, text.c_str(), a.addr) == 1)
    a.family = AF_INET6;
  else
    return fail(Errc::invalid_argument,
                "invalid address '" + text + "' in the trace filter: not IPv4 or IPv6");
  return a;
}

// inet_ntop formats IPv4 with sprintf: too slow for a million events.
std::string addr_text(int family, const uint8_t *a) {
  if (family == AF_INET) {
    char buf[16];
    char *p = buf;
    for (int i = 0; i < 4; i++) {
      unsigned v = a[i];
      if (i)
        *p++ = '.';
      if (v >= 100)
        *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10)
        *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
    }
    return std::string(buf, p);
  }
  char buf[INET6_ADDRSTRLEN] = "";
  if (family != AF_INET6)
    return {};
  inet_ntop(family, a, buf, sizeof(buf));
  return buf;
}

std::string mac_text(const uint8_t *a, unsigned len) {
  std::string s;
  for (unsigned i = 0; i < len; i++)
    s += fmt::format("{}{:02x}", i ? ":" : "", a[i]);
  return s;
}

std::string nud_text(uint8_t state) {
  static const char *const names[] = {"INCOMPLETE", "REACHABLE", "STALE", "DELAY",
                                      "PROBE",      "FAILED",    "NOARP", "PERMANENT"};
  if (state == 0)
    return "NONE";
  std::string s;
  for (int i = 0; i < 8; i++)
    if (state & (1u << i))
      s += (s.empty() ? "" : "|") + std::string(names[i]);
  return s;
}

const char *neigh_event_name(uint8_t e) {
  switch (e) {
  case NETTRACE_NEIGH_UPDATE:
    return "update";
  case NETTRACE_NEIGH_TIMER:
    return "timer";
  case NETTRACE_NEIGH_SEND_DONE:
    return "send_done";
  case NETTRACE_NEIGH_SEND_DEAD:
    return "send_dead";
  }
  return "";
}

SkbEventKind kind_of(uint8_t k) {
  switch (k) {
  case NETTRACE_QUEUE:
    return SkbEventKind::queue;
  case NETTRACE_XMIT:
    return SkbEventKind::xmit;
  case NETTRACE_DROP:
    return SkbEventKind::drop;
  case NETTRACE_CONSUME:
    return SkbEventKind::consume;
  case NETTRACE_ARP_PKT:
    return SkbEventKind::arp;
  case NETTRACE_NEIGH:
    return SkbEventKind::neigh;
  default:
    return SkbEventKind::receive;
  }
}

} // namespace

// How often poll() collects events the kernel queued without waking us.
constexpr long kCollectNs = 20 * 1000 * 1000;

struct SkbTracer::Impl {
  LskelPtr prog;
  RingPtr ring;
  UniqueFd epoll; // the ring buffer's epoll fd and the collect timer
  UniqueFd timer;
  int lost_fd = -1;
  double start_ms = 0;
  const std::function<void(const SkbEvent &)> *sink = nullptr;
  // Few call sites free packets: name each once.
  std::unordered_map<uint64_t, std::string> sym_cache;

  const std::string &symbol(uint64_t addr) {
    auto it = sym_cache.find(addr);
    if (it == sym_cache.end())
      it = sym_cache.emplace(addr, kernel_symbol(addr)).first;
    return it->second;
  }

  static int on_sample(void *ctx, void *data, size_t size) {
    auto *self = static_cast<Impl *>(ctx);
    if (size < sizeof(nettrace_event) || !self->sink)
      return 0;
    nettrace_event raw;
    std::memcpy(&raw, data, sizeof(raw));
    (*self->sink)(self->decode(raw));
    return 0;
  }

  SkbEvent decode(const nettrace_event &r) {
    SkbEvent e;
    e.ts_ns = r.ts_ns;
    e.skb = r.skb;
    e.kind = kind_of(r.kind);
    e.hop = kind_of(r.hop);
    e.netns_inode = r.netns_inode;
    e.ifindex = r.ifindex;
    e.ifname.assign(r.ifname, strnlen(r.ifname, sizeof(r.ifname)));
    e.family = r.family;
    e.proto = r.proto;
    e.saddr = addr_text(r.family, r.saddr);
    e.daddr = addr_text(r.family, r.daddr);
    e.len = r.len;
    if (e.kind == SkbEventKind::arp) {
      e.arp_op = r.sport;
      e.lladdr = mac_text(r.lladdr, std::min<unsigned>(r.lladdr_len, sizeof(r.lladdr)));
    } else {
      e.sport = r.sport;
      e.dport = r.dport;
      e.tcp_flags = r.tcp_flags;
      e.icmp_type = r.icmp_type;
    }
    if (e.kind == SkbEventKind::neigh) {
      e.saddr.clear();
      e.neigh_state = nud_text(r.neigh_state);
      e.neigh_event = neigh_event_name(r.neigh_event);
      if (r.neigh_state & 0xde) // any state with a valid address (not INCOMPLETE/FAILED)
        e.lladdr = mac_text(r.lladdr, std::min<unsigned>(r.lladdr_len, sizeof(r.lladdr)));
    }
    if (e.hop == SkbEventKind::drop) {
      e.reason = r.reason;
      auto name = drop_reason_name(r.reason);
      e.reason_name = name ? *name : fmt::format("reason {}", r.reason);
    }
    e.location = r.location;
    if (r.location)
      e.location_sym = symbol(r.location);
    return e;
  }
};

const char *kind_name(SkbEventKind k) {
  switch (k) {
  case SkbEventKind::receive:
    return "receive";
  case SkbEventKind::queue:
    return "queue";
  case SkbEventKind::xmit:
    return "xmit";
  case SkbEventKind::drop:
    return "drop";
  case SkbEventKind::consume:
    return "consume";
  case SkbEventKind::arp:
    return "arp";
  case SkbEventKind::neigh:
    return "neigh";
  }
  return "?";
}

SkbTracer::SkbTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SkbTracer::SkbTracer(SkbTracer &&) noexcept = default;
SkbTracer &SkbTracer::operator=(SkbTracer &&) noexcept = default;
// The ring buffer goes first (it maps the map's memory), then the links,
// programs and maps with the skeleton.
SkbTracer::~SkbTracer() {
  if (impl_)
    impl_->ring.reset();
}

Result<SkbTracer> SkbTracer::start(const FlowFilter &f) {
  auto t0 = std::chrono::steady_clock::now();
  if (f.proto != 0 && f.proto != IPPROTO_TCP && f.proto != IPPROTO_UDP && f.proto != IPPROTO_ICMP &&
      f.proto != IPPROTO_ICMPV6)
    return fail(Errc::invalid_argument,
                fmt::format("invalid protocol {} in the trace filter: tcp, udp or icmp", f.proto));
  if (f.dport && f.proto != 0 && f.proto != IPPROTO_TCP && f.proto != IPPROTO_UDP)
    return fail(Errc::invalid_argument, "invalid trace filter: a port needs protocol tcp or udp");
  // Parse everything before the kernel sees anything.
  std::map<std::pair<uint32_t, std::string>, uint32_t> bits;
  auto add = [&](const std::vector<std::string> &list, uint32_t bit) -> Result<void> {
    for (const auto &text : list) {
      auto a = parse_addr(text);
      if (!a)
        return tl::unexpected(a.error());
      bits[{a->family, std::string(reinterpret_cast<const char *>(a->addr), 16)}] |= bit;
    }
    return {};
  };
  if (auto r = add(f.side_a, NETTRACE_SIDE_A); !r)
    return tl::unexpected(r.error());
  if (auto r = add(f.side_b, NETTRACE_SIDE_B); !r)
    return tl::unexpected(r.error());
  if (auto r = add(f.arp_addresses, NETTRACE_ARP); !r)
    return tl::unexpected(r.error());
  if (bits.size() > NETTRACE_MAX_ADDRS)
    return fail(Errc::invalid_argument,
                fmt::format("invalid trace filter: {} addresses, at most {}", bits.size(),
                            NETTRACE_MAX_ADDRS));

  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return fail(Errc::unsupported,
                "cannot load the flow tracer: the kernel has no BTF (/sys/kernel/btf/vmlinux)",
                errno);
  nettrace_lskel_config cfg{};
  cfg.proto = f.proto;
  cfg.dport = f.dport;
  cfg.any_a = f.side_a.empty() ? 1 : 0;
  cfg.any_b = f.side_b.empty() ? 1 : 0;
  cfg.naddrs = static_cast<uint32_t>(bits.size());
  cfg.max_packets = f.max_packets;
  cfg.attach_only = f.attach_only ? 1 : 0;
  if (bits.size() <= NETTRACE_FAST_ADDRS) {
    size_t i = 0;
    for (const auto &[key, value] : bits) {
      cfg.addrs[i].family = key.first;
      cfg.addrs[i].bits = value;
      std::memcpy(cfg.addrs[i].addr, key.second.data(), 16);
      i++;
    }
  }
  nettrace_lskel *raw = nullptr;
  const char *step = "load";
  if (int err = nettrace_lskel_load(&cfg, &raw, &step); err < 0)
    return bpf_fail(step, err);
  auto impl = std::make_unique<Impl>();
  impl->prog.reset(raw);

  // Up to NETTRACE_FAST_ADDRS the program compares cfg.addrs inline and
  // never looks in the map.
  const int addrs_fd = nettrace_lskel_addrs_fd(raw);
  for (const auto &[key, value] : bits) {
    if (bits.size() <= NETTRACE_FAST_ADDRS)
      break;
    nettrace_addr a{};
    a.family = key.first;
    std::memcpy(a.addr, key.second.data(), 16);
    if (bpf_map_update_elem(addrs_fd, &a, &value, BPF_ANY) != 0)
      return bpf_fail("fill the address map of", errno);
  }
  impl->ring.reset(
      ring_buffer__new(nettrace_lskel_events_fd(raw), &Impl::on_sample, impl.get(), nullptr));
  if (!impl->ring)
    return bpf_fail("map the ring buffer of", errno);
  impl->lost_fd = nettrace_lskel_lost_fd(raw);
  // Events come without a wakeup (see submit() in nettrace.bpf.c): a
  // periodic timer makes fd() readable so they are collected in time.
  impl->epoll.reset(epoll_create1(EPOLL_CLOEXEC));
  impl->timer.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!impl->epoll || !impl->timer)
    return fail_errno("cannot create the event loop of the flow tracer");
  itimerspec every{{0, kCollectNs}, {0, kCollectNs}};
  epoll_event rev{}, tev{};
  rev.events = tev.events = EPOLLIN;
  rev.data.u32 = 0;
  tev.data.u32 = 1;
  if (timerfd_settime(impl->timer.get(), 0, &every, nullptr) != 0 ||
      epoll_ctl(impl->epoll.get(), EPOLL_CTL_ADD, ring_buffer__epoll_fd(impl->ring.get()), &rev) !=
          0 ||
      epoll_ctl(impl->epoll.get(), EPOLL_CTL_ADD, impl->timer.get(), &tev) != 0)
    return fail_errno("cannot set up the event loop of the flow tracer");
  if (int err = nettrace_lskel_attach(raw); err < 0)
    return bpf_fail("attach", err);
  impl->start_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return SkbTracer(std::move(impl));
}

int SkbTracer::fd() const {
  return impl_->epoll.get();
}

double SkbTracer::start_ms() const {
  return impl_->start_ms;
}

Result<void> SkbTracer::poll(const std::function<void(const SkbEvent &)> &fn, int timeout_ms) {
  epoll_event evs[2];
  int n = epoll_wait(impl_->epoll.get(), evs, 2, timeout_ms);
  if (n < 0 && errno == EINTR)
    return {};
  if (n < 0)
    return fail_errno("cannot wait for events of the flow tracer");
  uint64_t ticks;
  for (int i = 0; i < n; i++)
    if (evs[i].data.u32 == 1)
      (void)!read(impl_->timer.get(), &ticks, sizeof ticks);
  impl_->sink = &fn;
  int got = ring_buffer__consume(impl_->ring.get());
  impl_->sink = nullptr;
  if (got < 0 && got != -EINTR)
    return fail_errno("cannot read the ring buffer of the flow tracer", -got);
  return {};
}

uint64_t SkbTracer::lost() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0)
    return 0;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(impl_->lost_fd, &zero, per_cpu.data()) != 0)
    return 0;
  uint64_t sum = 0;
  for (auto v : per_cpu)
    sum += v;
  return sum;
}

namespace {

struct ReasonTable {
  std::map<uint32_t, std::string> names;
  std::optional<Error> error;
};

const ReasonTable &reason_table() {
  static ReasonTable table;
  static std::once_flag once;
  std::call_once(once, [] {
    struct btf *btf = btf__load_vmlinux_btf();
    if (!btf) {
      table.error = errno_error("cannot read the kernel's BTF for drop reasons", errno);
      return;
    }
    int id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
    if (id < 0) {
      table.error = Error(Errc::unsupported,
                          "cannot name drop reasons: the kernel's BTF has no enum skb_drop_reason");
      btf__free(btf);
      return;
    }
    const struct btf_type *t = btf__type_by_id(btf, id);
    const struct btf_enum *e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); i++, e++) {
      std::string name = btf__name_by_offset(btf, e->name_off);
      for (std::string_view prefix : {"SKB_DROP_REASON_", "SKB_"})
        if (name.starts_with(prefix)) {
          name.erase(0, prefix.size());
          break;
        }
      table.names.emplace(static_cast<uint32_t>(e->val), std::move(name));
    }
    btf__free(btf);
  });
  return table;
}

struct Symbols {
  std::vector<std::pair<uint64_t, std::string>> text; // sorted by address
};

const Symbols &symbols() {
  static Symbols syms;
  static std::once_flag once;
  std::call_once(once, [] {
    auto data = read_file("/proc/kallsyms");
    if (!data)
      return;
    for (auto line : split_lines(*data)) {
      // "ffffffff81000000 T _stext" or "... t name\t[module]"
      auto sp1 = line.find(' ');
      if (sp1 == std::string_view::npos || sp1 + 3 > line.size())
        continue;
      char type = line[sp1 + 1];
      if (type != 't' && type != 'T')
        continue;
      auto rest = line.substr(sp1 + 3);
      auto end = rest.find_first_of(" \t");
      unsigned long long addr = 0;
      std::string_view hex = line.substr(0, sp1);
      if (!is_hex(hex))
        continue;
      addr = std::stoull(std::string(hex), nullptr, 16);
      if (addr == 0)
        continue;
      syms.text.emplace_back(addr, std::string(rest.substr(0, end)));
    }
    std::sort(syms.text.begin(), syms.text.end());
  });
  return syms;
}

} // namespace

Result<std::string> drop_reason_name(uint32_t reason) {
  const auto &table = reason_table();
  if (table.error)
    return tl::unexpected(*table.error);
  auto it = table.names.find(reason);
  if (it == table.names.end())
    return fmt::format("reason {}", reason);
  return it->second;
}

std::string kernel_symbol(uint64_t addr) {
  const auto &syms = symbols();
  auto it = std::upper_bound(syms.text.begin(), syms.text.end(), addr,
                             [](uint64_t a, const auto &s) { return a < s.first; });
  if (it == syms.text.begin())
    return fmt::format("{:#x}", addr);
  --it;
  return fmt::format("{}+{:#x}", it->second, addr - it->first);
}

} // namespace ctk::rt::nettrace
