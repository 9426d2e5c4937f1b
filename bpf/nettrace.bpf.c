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
const volatile __u8 cfg_proto = 0;      /* 0: any */
const volatile __u16 cfg_dport = 0;     /* 0: any; host order */
const volatile __u8 cfg_any_a = 0;      /* side A given empty: any address is A */
const volatile __u8 cfg_any_b = 0;

/* Approximate counts, only to skip a lookup in an empty map on the hot
 * path (LRU eviction makes `followed` drift upwards, which costs nothing
 * but that lookup). */
__u64 followed = 0;
__u64 learned = 0;

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
  __u8 icmp_error; /* an ICMP error: matches between the sides whatever the port */
  __u8 is_arp;
  __u16 arp_op;
  __u8 lladdr[6]; /* ARP sender hardware address */
};

struct follow {
  __u64 seen_ns;
  struct pkt p; /* as last parsed: xmit and consume report it */
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
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
  __uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

static __always_inline __u32 addr_bits(__u8 family, const __u8 *a) {
  struct nettrace_addr key = {};
  __u32 *bits;

  key.family = family;
  if (family == AF_INET)
    __builtin_memcpy(key.addr, a, 4);
  else
    __builtin_memcpy(key.addr, a, 16);
  bits = bpf_map_lookup_elem(&addrs, &key);
  return bits ? *bits : 0;
}

/* Parses the packet at `l3` (the network header) as `proto` (ethertype,
 * network order). Returns 0 when it is neither IP nor ARP. */
static __always_inline int parse(const unsigned char *l3, __be16 proto, struct pkt *p) {
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
    return 1;
  case IPPROTO_ICMPV6:
    if (bpf_probe_read_kernel(l4, 1, l4p))
      return 1;
    p->icmp_type = l4[0];
    p->icmp_error = l4[0] >= 1 && l4[0] <= 4;
    return 1;
  default:
    return 1;
  }
  p->t.sport = ((__u16)l4[0] << 8) | l4[1];
  p->t.dport = ((__u16)l4[2] << 8) | l4[3];
  return 1;
}

static __always_inline int match_filter(const struct pkt *p) {
  __u32 s = addr_bits(p->t.family, p->t.saddr);
  __u32 d = addr_bits(p->t.family, p->t.daddr);
  int fwd, rev;

  if (p->is_arp)
    return (s | d) & NETTRACE_ARP;
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
  if (p->icmp_error)
    return 1;
  if (cfg_proto && p->t.proto != cfg_proto)
    return 0;
  if (!cfg_dport)
    return 1;
  if (p->t.proto != IPPROTO_TCP && p->t.proto != IPPROTO_UDP)
    return 0;
  return (fwd && p->t.dport == cfg_dport) || (rev && p->t.sport == cfg_dport);
}

static __always_inline int match(const struct pkt *p) {
  if (match_filter(p))
    return 1;
  return !p->is_arp && learned && bpf_map_lookup_elem(&tuples, &p->t);
}

/* The tuple of a followed skb changed under NAT: remember it both ways so
 * the translated flow's other packets (the replies) match. */
static __always_inline void learn(const struct pkt *p) {
  struct nettrace_tuple r = {};
  __u8 one = 1;

  if (p->is_arp || !p->t.family || match(p))
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

static __always_inline __u32 netns_of(struct net_device *dev, struct sk_buff *skb) {
  if (dev)
    return BPF_CORE_READ(dev, nd_net.net, ns.inum);
  if (skb)
    return BPF_CORE_READ(skb, sk, __sk_common.skc_net.net, ns.inum);
  return 0;
}

static __always_inline void emit(__u8 kind, __u64 now, struct sk_buff *skb,
                                 struct net_device *dev, const struct pkt *p, __u32 len,
                                 __u32 reason, __u64 location) {
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
  bpf_ringbuf_submit(e, 0);
}

/* Whether `n` can be the packet `o` was: one skb carries one packet, which
 * NAT may rewrite at one end. Anything else is a pointer the kernel reused
 * after a free with no tracepoint (TCP frees the segments it delivered with
 * __kfree_skb). */
static __always_inline int same_packet(const struct pkt *o, const struct pkt *n) {
  const __u64 *os = (const __u64 *)o->t.saddr, *ns = (const __u64 *)n->t.saddr;
  const __u64 *od = (const __u64 *)o->t.daddr, *nd = (const __u64 *)n->t.daddr;

  if (o->t.family != n->t.family || o->t.proto != n->t.proto || o->is_arp != n->is_arp)
    return 0;
  if (os[0] == ns[0] && os[1] == ns[1] && o->t.sport == n->t.sport)
    return 1;
  return od[0] == nd[0] && od[1] == nd[1] && o->t.dport == n->t.dport;
}

static __always_inline void forget(__u64 key) {
  if (!bpf_map_delete_elem(&skbs, &key))
    __sync_fetch_and_sub(&followed, 1);
}

/* receive, queue and drop: parse the skb, then follow it if it matches or
 * was matched before. `l3` is where its network header is. */
static __always_inline void on_skb(__u8 kind, struct sk_buff *skb, struct net_device *dev,
                                   const unsigned char *l3, __u32 reason, __u64 location) {
  __u64 key = (__u64)skb;
  __u64 now = bpf_ktime_get_ns();
  struct pkt p = {};
  struct follow *f;

  parse(l3, skb->protocol, &p);
  f = followed_skb(key, now);
  if (f && p.t.family && !same_packet(&f->p, &p)) {
    forget(key);
    f = 0;
  }
  if (!f) {
    if (!p.t.family || !match(&p))
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
  emit(kind, now, skb, dev, &p, skb->len, reason, location);
}

/* After xmit the skb may belong to the next device already (or be freed):
 * report the tuple last seen, for followed skbs only. */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(nt_xmit, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len) {
  __u64 key = (__u64)skb;
  __u64 now;
  struct follow *f;
  struct pkt p;

  if (!followed)
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

  if (!followed)
    return 0;
  now = bpf_ktime_get_ns();
  f = followed_skb(key, now);
  if (!f)
    return 0;
  parse(skb->head + skb->network_header, skb->protocol, &p);
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
  /* Before __netif_receive_skb_core resets the network header: data
   * points at it (eth_type_trans pulled the Ethernet header). */
  on_skb(NETTRACE_RECEIVE, skb, BPF_CORE_READ(skb, dev), skb->data, 0, 0);
  return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(nt_queue, struct sk_buff *skb) {
  on_skb(NETTRACE_QUEUE, skb, BPF_CORE_READ(skb, dev), skb->head + skb->network_header, 0, 0);
  return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(nt_kfree, struct sk_buff *skb, void *location, enum skb_drop_reason reason) {
  on_skb(NETTRACE_DROP, skb, BPF_CORE_READ(skb, dev), skb->head + skb->network_header, reason,
         (__u64)location);
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
  bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/neigh_update")
int BPF_PROG(nt_neigh_update, struct neighbour *n, const u8 *lladdr, u8 new_state) {
  on_neigh(n, NETTRACE_NEIGH_UPDATE, new_state, lladdr);
  return 0;
}

SEC("tp_btf/neigh_timer_handler")
int BPF_PROG(nt_neigh_timer, struct neighbour *n) {
  on_neigh(n, NETTRACE_NEIGH_TIMER, BPF_CORE_READ(n, nud_state), 0);
  return 0;
}

SEC("tp_btf/neigh_event_send_done")
int BPF_PROG(nt_neigh_send_done, struct neighbour *n) {
  on_neigh(n, NETTRACE_NEIGH_SEND_DONE, BPF_CORE_READ(n, nud_state), 0);
  return 0;
}

SEC("tp_btf/neigh_event_send_dead")
int BPF_PROG(nt_neigh_send_dead, struct neighbour *n) {
  on_neigh(n, NETTRACE_NEIGH_SEND_DEAD, BPF_CORE_READ(n, nud_state), 0);
  return 0;
}
