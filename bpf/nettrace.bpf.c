// SPDX-License-Identifier: GPL-2.0
/* nettrace: follows one flow through devices and network namespaces for
 * `ctk net trace`. BTF tracepoints (tp_btf: attached by BTF name, so no
 * tracefs is needed) on the stable skb and net tracepoints and the
 * neighbour tracepoints; events go to a ring buffer (nettrace.h).
 *
 * Every packet of the host passes here several times, so the path for a
 * packet of another flow is kept short: parse the network and transport
 * headers, two hash lookups for the addresses, done. A packet that matched
 * is remembered by its skb pointer and followed through every later event,
 * even after NAT rewrote it; it is forgotten when freed. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "nettrace.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86DD
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ICMPV6 58
/* A followed skb not seen for this long is taken for a pointer the kernel
 * reused after a free that has no tracepoint (e.g. TCP coalescing's
 * kfree_skb_partial). A packet can wait ~3 s in a neighbour's queue. */
#define NETTRACE_STALE_NS (10ull * 1000 * 1000 * 1000)

/* Set by the loader before load. */
const volatile __u8 cfg_proto = 0;  /* 0: any */
const volatile __u16 cfg_dport = 0; /* 0: any; host order */
const volatile __u8 cfg_any_a = 0;  /* side A given empty: any address is A */
const volatile __u8 cfg_any_b = 0;
/* The addresses, when few: compared inline, which costs less than the two
 * hash lookups every packet of the host would pay. More than
 * NETTRACE_FAST_ADDRS: the `addrs` map. */
const volatile __u32 cfg_naddrs = 0;
/* Stop following new packets after this many (0: no limit): a caller that
 * reports N packets need not pay for the rest of a busy flow. */
const volatile __u32 cfg_max_packets = 0;
/* Every program returns at once: the benchmark's floor (see FlowFilter).
 * Read-only data, so the verifier removes the branch not taken. */
const volatile __u8 cfg_attach_only = 0;
const volatile struct nettrace_fast_addr cfg_addrs[NETTRACE_FAST_ADDRS] = {};

/* Approximate counts, only to skip a lookup in an empty map on the hot
 * path (LRU eviction makes `followed` drift upwards, which costs nothing
 * but that lookup). */
__u64 followed = 0;
__u64 learned = 0;
__u64 started = 0; /* packets followed so far, for cfg_max_packets */

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, NETTRACE_MAX_ADDRS);
  __type(key, struct nettrace_addr);
  __type(value, __u32); /* NETTRACE_SIDE_* bits */
} addrs SEC(".maps");

/* What the headers say; tuple first so it can be stored and compared as is. */
struct pkt {
  struct nettrace_tuple t;
  __u8 tcp_flags;
  __u8 icmp_type;
  __u8 icmp_error; /* an ICMP error: matched by the packet it quotes, `inner` */
  __u8 is_arp;    /* ARP, or IPv6 neighbour discovery (NS/NA), its IPv6 twin */
  __u16 arp_op;   /* 1 request/solicitation, 2 reply/advertisement */
  __u8 lladdr[6]; /* ARP sender hardware address; NDP: the link-layer option's */
  __u16 ip_id;    /* IPv4 identification: NAT keeps it */
  __u16 l3_len;   /* IPv4 total length, IPv6 payload length: NAT keeps it too */
  struct nettrace_tuple inner;
};

struct follow {
  __u64 seen_ns;
  struct pkt p; /* as last parsed: xmit and consume report it */
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u64); /* skb address */
  __type(value, struct follow);
} skbs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, struct nettrace_tuple);
  __type(value, __u8);
} tuples SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 2 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

static __always_inline __u32 addr_bits(__u8 family, const __u8 *a) {
  struct nettrace_addr key = {};
  __u32 *bits, found = 0;

  if (cfg_naddrs <= NETTRACE_FAST_ADDRS) {
#pragma clang loop unroll(full)
    for (int i = 0; i < NETTRACE_FAST_ADDRS; i++) {
      if (i >= cfg_naddrs)
        break;
      if (cfg_addrs[i].family != family)
        continue;
      /* volatile: the table is zeros to the compiler, which would fold a
       * plain read of it. cfg_addrs sits at offset 12 of .rodata, so IPv6
       * is compared in 32-bit words. */
      const volatile __u32 *w = (const volatile __u32 *)cfg_addrs[i].addr;
      const __u32 *x = (const __u32 *)a;

      if (family == AF_INET) {
        if (w[0] == x[0])
          found |= cfg_addrs[i].bits;
      } else if (w[0] == x[0] && w[1] == x[1] && w[2] == x[2] && w[3] == x[3]) {
        found |= cfg_addrs[i].bits;
      }
    }
    return found;
  }
  key.family = family;
  if (family == AF_INET)
    __builtin_memcpy(key.addr, a, 4);
  else
    __builtin_memcpy(key.addr, a, 16);
  bits = bpf_map_lookup_elem(&addrs, &key);
  return bits ? *bits : 0;
}

/* Whether the addresses alone can match (either direction). Global: see
 * nt_match. */
__attribute__((noinline)) int nt_addrs_match(const struct nettrace_tuple *t) {
  __u32 s, d;

  if (!t)
    return 0;
  s = addr_bits(t->family, t->saddr);
  d = addr_bits(t->family, t->daddr);

  if (cfg_any_a) {
    s |= NETTRACE_SIDE_A;
    d |= NETTRACE_SIDE_A;
  }
  if (cfg_any_b) {
    s |= NETTRACE_SIDE_B;
    d |= NETTRACE_SIDE_B;
  }
  return ((s & NETTRACE_SIDE_A) && (d & NETTRACE_SIDE_B)) ||
         ((s & NETTRACE_SIDE_B) && (d & NETTRACE_SIDE_A));
}

/* The packet an ICMP error quotes (its IP header and 8 bytes more), at
 * `l3`: a router's "no route" or TTL error about the flow comes from an
 * address of neither side, and an error about another flow between the
 * same hosts must not count. */
static __always_inline void parse_inner(const unsigned char *l3, __u8 family,
                                        struct nettrace_tuple *t) {
  __u8 ports[4];
  __u32 hl;

  if (family == AF_INET) {
    struct iphdr ip;

    if (bpf_probe_read_kernel(&ip, sizeof(ip), l3))
      return;
    hl = (*(__u8 *)&ip & 0x0f) * 4;
    t->proto = ip.protocol;
    __builtin_memcpy(t->saddr, &ip.saddr, 4);
    __builtin_memcpy(t->daddr, &ip.daddr, 4);
  } else {
    struct ipv6hdr ip6;

    if (bpf_probe_read_kernel(&ip6, sizeof(ip6), l3))
      return;
    hl = sizeof(ip6);
    t->proto = ip6.nexthdr;
    __builtin_memcpy(t->saddr, &ip6.saddr, 16);
    __builtin_memcpy(t->daddr, &ip6.daddr, 16);
  }
  t->family = family;
  if ((t->proto == IPPROTO_TCP || t->proto == IPPROTO_UDP) &&
      !bpf_probe_read_kernel(ports, sizeof(ports), l3 + (hl & 0x3c))) {
    t->sport = ((__u16)ports[0] << 8) | ports[1];
    t->dport = ((__u16)ports[2] << 8) | ports[3];
  }
}

/* A neighbour solicitation (135) or advertisement (136) at `l4p`, read as
 * ARP is: a solicitation asks who has the target (saddr the asker, daddr
 * the target), an advertisement answers for the target (saddr the target,
 * daddr whom it tells). Only ICMPv6 packets come here, after the type was
 * read: the path of other packets is unchanged. */
static __always_inline void parse_ndp(const unsigned char *l4p, __u8 type, struct pkt *p) {
  __u8 opt[8];

  p->is_arp = 1;
  p->arp_op = type == 135 ? 1 : 2;
  if (type == 135) {
    if (bpf_probe_read_kernel(p->t.daddr, 16, l4p + 8))
      return;
  } else if (bpf_probe_read_kernel(p->t.saddr, 16, l4p + 8)) {
    return;
  }
  /* The first option, when there is one: source (1) or target (2)
   * link-layer address, 8 bytes for Ethernet. */
  if (bpf_ntohs(p->l3_len) >= 32 && !bpf_probe_read_kernel(opt, sizeof(opt), l4p + 24) &&
      (opt[0] == 1 || opt[0] == 2) && opt[1] == 1)
    __builtin_memcpy(p->lladdr, opt + 2, 6);
}

/* Parses the packet at `l3` (the network header) as `proto` (ethertype,
 * network order). Returns 0 when it is neither IP nor ARP. With `quick`,
 * returns -1 as soon as the addresses show the packet cannot match, before
 * reading its transport header. */
static __always_inline int parse_pkt(const unsigned char *l3, __be16 proto, struct pkt *p,
                                     int quick) {
  __u8 l4[16];
  const unsigned char *l4p;

  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr ip;
    __u32 hl;

    if (bpf_probe_read_kernel(&ip, sizeof(ip), l3))
      return 0;
    hl = (*(__u8 *)&ip & 0x0f) * 4;
    if (hl < sizeof(ip))
      return 0;
    p->t.family = AF_INET;
    p->t.proto = ip.protocol;
    p->ip_id = ip.id;
    p->l3_len = ip.tot_len;
    __builtin_memcpy(p->t.saddr, &ip.saddr, 4);
    __builtin_memcpy(p->t.daddr, &ip.daddr, 4);
    if (ip.frag_off & bpf_htons(0x1fff)) /* a later fragment: no transport header */
      return 1;
    l4p = l3 + hl;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr ip6;

    if (bpf_probe_read_kernel(&ip6, sizeof(ip6), l3))
      return 0;
    p->t.family = AF_INET6;
    p->t.proto = ip6.nexthdr;
    p->l3_len = ip6.payload_len;
    __builtin_memcpy(p->t.saddr, &ip6.saddr, 16);
    __builtin_memcpy(p->t.daddr, &ip6.daddr, 16);
    l4p = l3 + sizeof(ip6);
  } else if (proto == bpf_htons(ETH_P_ARP)) {
    /* Ethernet/IPv4 ARP: 8-byte header, sha(6) spa(4) tha(6) tpa(4). */
    __u8 arp[28];

    if (bpf_probe_read_kernel(arp, sizeof(arp), l3))
      return 0;
    if (arp[4] != 6 || arp[5] != 4)
      return 0;
    p->is_arp = 1;
    p->t.family = AF_INET;
    p->arp_op = ((__u16)arp[6] << 8) | arp[7];
    __builtin_memcpy(p->lladdr, arp + 8, 6);
    __builtin_memcpy(p->t.saddr, arp + 14, 4);
    __builtin_memcpy(p->t.daddr, arp + 24, 4);
    return 1;
  } else {
    return 0;
  }
  if (quick && p->t.proto != IPPROTO_ICMP && p->t.proto != IPPROTO_ICMPV6 && !nt_addrs_match(&p->t))
    return -1;

  switch (p->t.proto) {
  case IPPROTO_TCP:
    if (bpf_probe_read_kernel(l4, 14, l4p))
      return 1;
    p->tcp_flags = l4[13];
    break;
  case IPPROTO_UDP:
    if (bpf_probe_read_kernel(l4, 4, l4p))
      return 1;
    break;
  case IPPROTO_ICMP:
    if (bpf_probe_read_kernel(l4, 1, l4p))
      return 1;
    p->icmp_type = l4[0];
    /* dest unreachable, source quench, redirect, time exceeded, parameter problem */
    p->icmp_error = l4[0] == 3 || l4[0] == 4 || l4[0] == 5 || l4[0] == 11 || l4[0] == 12;
    if (p->icmp_error)
      parse_inner(l4p + 8, AF_INET, &p->inner);
    return 1;
  case IPPROTO_ICMPV6:
    if (bpf_probe_read_kernel(l4, 1, l4p))
      return 1;
    p->icmp_type = l4[0];
    p->icmp_error = l4[0] >= 1 && l4[0] <= 4;
    if (p->icmp_error)
      parse_inner(l4p + 8, AF_INET6, &p->inner);
    else if (l4[0] == 135 || l4[0] == 136)
      parse_ndp(l4p, l4[0], p);
    return 1;
  default:
    return 1;
  }
  p->t.sport = ((__u16)l4[0] << 8) | l4[1];
  p->t.dport = ((__u16)l4[2] << 8) | l4[3];
  return 1;
}

static __always_inline int match_tuple(const struct nettrace_tuple *t) {
  __u32 s = addr_bits(t->family, t->saddr);
  __u32 d = addr_bits(t->family, t->daddr);
  int fwd, rev;

  if (cfg_any_a) {
    s |= NETTRACE_SIDE_A;
    d |= NETTRACE_SIDE_A;
  }
  if (cfg_any_b) {
    s |= NETTRACE_SIDE_B;
    d |= NETTRACE_SIDE_B;
  }
  fwd = (s & NETTRACE_SIDE_A) && (d & NETTRACE_SIDE_B);
  rev = (s & NETTRACE_SIDE_B) && (d & NETTRACE_SIDE_A);
  if (!fwd && !rev)
    return 0;
  if (cfg_proto && t->proto != cfg_proto)
    return 0;
  if (!cfg_dport)
    return 1;
  if (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP)
    return 0;
  return (fwd && t->dport == cfg_dport) || (rev && t->sport == cfg_dport);
}

static __always_inline int match_filter(const struct pkt *p) {
  if (p->is_arp)
    return (addr_bits(p->t.family, p->t.saddr) | addr_bits(p->t.family, p->t.daddr)) &
           NETTRACE_ARP;
  if (p->icmp_error)
    return p->inner.family && match_tuple(&p->inner);
  return match_tuple(&p->t);
}

static __always_inline int match_pkt(const struct pkt *p) {
  if (match_filter(p))
    return 1;
  return !p->is_arp && learned && bpf_map_lookup_elem(&tuples, &p->t);
}

/* Global functions (neither static nor inlined) are verified once, on
 * their own, rather than along every path of their callers: that keeps
 * the verification of all programs, most of the start time, near 10 ms.
 * To the verifier their pointer arguments may be NULL. */
__attribute__((noinline)) int nt_match(const struct pkt *p) {
  if (!p)
    return 0;
  return match_pkt(p);
}

/* The tuple of a followed skb changed under NAT: remember it both ways so
 * the translated flow's other packets (the replies) match. */
static __always_inline void learn(const struct pkt *p) {
  struct nettrace_tuple r = {};
  __u8 one = 1;

  if (p->is_arp || !p->t.family || nt_match(p))
    return;
  bpf_map_update_elem(&tuples, &p->t, &one, BPF_ANY);
  r.family = p->t.family;
  r.proto = p->t.proto;
  __builtin_memcpy(r.saddr, p->t.daddr, 16);
  __builtin_memcpy(r.daddr, p->t.saddr, 16);
  r.sport = p->t.dport;
  r.dport = p->t.sport;
  bpf_map_update_elem(&tuples, &r, &one, BPF_ANY);
  __sync_fetch_and_add(&learned, 1);
}

static __always_inline struct follow *followed_skb(__u64 key, __u64 now) {
  struct follow *f;

  if (!followed)
    return 0;
  f = bpf_map_lookup_elem(&skbs, &key);
  if (f && now - f->seen_ns > NETTRACE_STALE_NS) {
    bpf_map_delete_elem(&skbs, &key);
    return 0;
  }
  return f;
}

static __always_inline void count_lost(void) {
  __u32 zero = 0;
  __u64 *n = bpf_map_lookup_elem(&lost, &zero);

  if (n)
    *n += 1;
}

/* A traced flow at full rate makes several events per packet: waking the
 * reader (an IPI) for each would cost more than the packet. The reader is
 * woken each time another 64 KiB have piled up (about 400 events) and
 * otherwise collects on a timer of its own (see SkbTracer::poll). */
#define NETTRACE_WAKEUP_BYTES (64 << 10)

static __always_inline void submit(void *e) {
  __u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

  /* avail counts this record: it crossed a multiple of the batch. */
  if ((avail & (NETTRACE_WAKEUP_BYTES - 1)) < 2 * sizeof(struct nettrace_event))
    bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
  else
    bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline __u32 netns_of(struct net_device *dev, struct sk_buff *skb) {
  if (dev)
    return BPF_CORE_READ(dev, nd_net.net, ns.inum);
  if (skb)
    return BPF_CORE_READ(skb, sk, __sk_common.skc_net.net, ns.inum);
  return 0;
}

static __always_inline void emit(__u8 kind, __u64 now, struct sk_buff *skb, struct net_device *dev,
                                 const struct pkt *p, __u32 len, __u32 reason, __u64 location) {
  struct nettrace_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

  if (!e) {
    count_lost();
    return;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->ts_ns = now;
  e->skb = (__u64)skb;
  e->location = location;
  e->reason = reason;
  e->len = len;
  e->kind = p->is_arp ? NETTRACE_ARP_PKT : kind;
  e->hop = kind;
  e->netns_inode = netns_of(dev, skb);
  if (dev) {
    e->ifindex = BPF_CORE_READ(dev, ifindex);
    bpf_probe_read_kernel(e->ifname, sizeof(e->ifname), dev->name);
  }
  e->family = p->t.family;
  e->proto = p->t.proto;
  e->tcp_flags = p->tcp_flags;
  e->icmp_type = p->icmp_type;
  __builtin_memcpy(e->saddr, p->t.saddr, 16);
  __builtin_memcpy(e->daddr, p->t.daddr, 16);
  if (p->is_arp) {
    e->sport = p->arp_op;
    e->lladdr_len = 6;
    __builtin_memcpy(e->lladdr, p->lladdr, 6);
  } else {
    e->sport = p->t.sport;
    e->dport = p->t.dport;
  }
  submit(e);
}

/* Whether `n` can be the packet `o` was: one skb carries one packet, which
 * NAT may rewrite at one end, or at both (DNAT plus masquerade, as docker's
 * hairpin) keeping its IP ID and length. Anything else is a pointer the
 * kernel reused after a free with no tracepoint (TCP frees the segments it
 * delivered with __kfree_skb). */
static __always_inline int same_packet(const struct pkt *o, const struct pkt *n) {
  const __u64 *os = (const __u64 *)o->t.saddr, *ns = (const __u64 *)n->t.saddr;
  const __u64 *od = (const __u64 *)o->t.daddr, *nd = (const __u64 *)n->t.daddr;

  if (o->t.family != n->t.family || o->t.proto != n->t.proto || o->is_arp != n->is_arp)
    return 0;
  if (os[0] == ns[0] && os[1] == ns[1] && o->t.sport == n->t.sport)
    return 1;
  if (od[0] == nd[0] && od[1] == nd[1] && o->t.dport == n->t.dport)
    return 1;
  return o->t.family == AF_INET && o->ip_id == n->ip_id && o->l3_len == n->l3_len;
}

static __always_inline void forget(__u64 key) {
  if (!bpf_map_delete_elem(&skbs, &key))
    __sync_fetch_and_sub(&followed, 1);
}

/* receive, queue and drop: parse the skb, then follow it if it matches or
 * was matched before. `l3` is where its network header is. */
static __always_inline void on_skb(__u8 kind, struct sk_buff *skb, const unsigned char *l3,
                                   __u32 reason, __u64 location) {
  __u64 key = (__u64)skb;
  __u64 now;
  struct pkt p = {};
  struct follow *f;

  /* Past max_packets only the skbs already followed matter: no parsing
   * for the rest of a busy flow. */
  if (cfg_max_packets && started >= cfg_max_packets &&
      (!followed || !bpf_map_lookup_elem(&skbs, &key)))
    return;
  /* The common case: nothing followed, and a packet of another flow. */
  if (parse_pkt(l3, skb->protocol, &p, !followed) < 0)
    return;
  now = bpf_ktime_get_ns();
  f = followed_skb(key, now);
  if (f && p.t.family && !same_packet(&f->p, &p)) {
    forget(key);
    f = 0;
  }
  if (!f) {
    if (!p.t.family || !nt_match(&p))
      return;
    if (cfg_max_packets && __sync_fetch_and_add(&started, 1) >= cfg_max_packets)
      return;
    if (kind != NETTRACE_DROP) {
      struct follow nf = {.seen_ns = now, .p = p};

      if (!bpf_map_update_elem(&skbs, &key, &nf, BPF_ANY))
        __sync_fetch_and_add(&followed, 1);
    }
  } else if (kind == NETTRACE_DROP) {
    if (!p.t.family)
      p = f->p;
    forget(key);
  } else {
    f->seen_ns = now;
    if (p.t.family) {
      learn(&p);
      f->p = p;
    } else {
      p = f->p;
    }
  }
  emit(kind, now, skb, BPF_CORE_READ(skb, dev), &p, skb->len, reason, location);
}

/* After xmit the skb may belong to the next device already (or be freed):
 * report the tuple last seen, for followed skbs only. */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(nt_xmit, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len) {
  __u64 key = (__u64)skb;
  __u64 now;
  struct follow *f;
  struct pkt p;

  if (cfg_attach_only || !followed)
    return 0;
  now = bpf_ktime_get_ns();
  f = followed_skb(key, now);
  if (!f)
    return 0;
  f->seen_ns = now;
  p = f->p;
  emit(NETTRACE_XMIT, now, skb, dev, &p, len, 0, 0);
  return 0;
}

/* Consumed: of interest only when followed, and then only if the skb
 * still carries that packet (see same_packet). */
SEC("tp_btf/consume_skb")
int BPF_PROG(nt_consume, struct sk_buff *skb, void *location) {
  __u64 key = (__u64)skb;
  __u64 now;
  struct follow *f;
  struct pkt p = {};

  if (cfg_attach_only || !followed)
    return 0;
  now = bpf_ktime_get_ns();
  f = followed_skb(key, now);
  if (!f)
    return 0;
  parse_pkt(skb->head + skb->network_header, skb->protocol, &p, 0);
  if (!p.t.family || !same_packet(&f->p, &p)) {
    forget(key);
    return 0;
  }
  forget(key);
  emit(NETTRACE_CONSUME, now, skb, BPF_CORE_READ(skb, dev), &p, skb->len, 0, (__u64)location);
  return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(nt_receive, struct sk_buff *skb) {
  if (cfg_attach_only)
    return 0;
  /* Before __netif_receive_skb_core resets the network header: data
   * points at it (eth_type_trans pulled the Ethernet header). */
  on_skb(NETTRACE_RECEIVE, skb, skb->data, 0, 0);
  return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(nt_queue, struct sk_buff *skb) {
  if (cfg_attach_only)
    return 0;
  on_skb(NETTRACE_QUEUE, skb, skb->head + skb->network_header, 0, 0);
  return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(nt_kfree, struct sk_buff *skb, void *location, enum skb_drop_reason reason) {
  if (cfg_attach_only)
    return 0;
  on_skb(NETTRACE_DROP, skb, skb->head + skb->network_header, reason, (__u64)location);
  return 0;
}

/* Neighbour events of the addresses marked NETTRACE_ARP. */
static __always_inline void on_neigh(struct neighbour *n, __u8 event, __u8 state,
                                     const u8 *lladdr) {
  struct nettrace_event *e;
  struct net_device *dev;
  __u8 key[16] = {};
  __u32 family, alen;

  family = BPF_CORE_READ(n, tbl, family);
  if (family == AF_INET)
    bpf_probe_read_kernel(key, 4, n->primary_key);
  else if (family == AF_INET6)
    bpf_probe_read_kernel(key, 16, n->primary_key);
  else
    return;
  if (!(addr_bits(family, key) & NETTRACE_ARP))
    return;
  e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_lost();
    return;
  }
  __builtin_memset(e, 0, sizeof(*e));
  dev = BPF_CORE_READ(n, dev);
  e->ts_ns = bpf_ktime_get_ns();
  e->kind = NETTRACE_NEIGH;
  e->hop = NETTRACE_NEIGH;
  e->family = family;
  e->neigh_event = event;
  e->neigh_state = state;
  __builtin_memcpy(e->daddr, key, 16);
  if (dev) {
    e->netns_inode = netns_of(dev, 0);
    e->ifindex = BPF_CORE_READ(dev, ifindex);
    bpf_probe_read_kernel(e->ifname, sizeof(e->ifname), dev->name);
    alen = BPF_CORE_READ(dev, addr_len);
    if (alen > sizeof(e->lladdr))
      alen = sizeof(e->lladdr);
    e->lladdr_len = alen;
    /* neigh_update runs before the new address is stored: report that one. */
    bpf_probe_read_kernel(e->lladdr, sizeof(e->lladdr), lladdr ? lladdr : n->ha);
  }
  submit(e);
}

SEC("tp_btf/neigh_update")
int BPF_PROG(nt_neigh_update, struct neighbour *n, const u8 *lladdr, u8 new_state) {
  if (cfg_attach_only)
    return 0;
  on_neigh(n, NETTRACE_NEIGH_UPDATE, new_state, lladdr);
  return 0;
}

SEC("tp_btf/neigh_timer_handler")
int BPF_PROG(nt_neigh_timer, struct neighbour *n) {
  if (cfg_attach_only)
    return 0;
  on_neigh(n, NETTRACE_NEIGH_TIMER, BPF_CORE_READ(n, nud_state), 0);
  return 0;
}

SEC("tp_btf/neigh_event_send_done")
int BPF_PROG(nt_neigh_send_done, struct neighbour *n) {
  if (cfg_attach_only)
    return 0;
  on_neigh(n, NETTRACE_NEIGH_SEND_DONE, BPF_CORE_READ(n, nud_state), 0);
  return 0;
}

SEC("tp_btf/neigh_event_send_dead")
int BPF_PROG(nt_neigh_send_dead, struct neighbour *n) {
  if (cfg_attach_only)
    return 0;
  on_neigh(n, NETTRACE_NEIGH_SEND_DEAD, BPF_CORE_READ(n, nud_state), 0);
  return 0;
}
