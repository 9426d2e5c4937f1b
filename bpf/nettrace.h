/* Events and filter of the flow tracer (bpf/nettrace.bpf.c), shared with
 * its loader libruntime/net/trace_bpf.cc. Fixed-width types only.
 *
 * The filter: each address with NETTRACE_SIDE_* bits, up to
 * NETTRACE_FAST_ADDRS of them in the read-only cfg_addrs (compared inline),
 * more in the `addrs` hash map (key: family and 16 address bytes, IPv4 in
 * the first four); protocol and port are read-only globals set before load. */
#ifndef CTK_BPF_NETTRACE_H
#define CTK_BPF_NETTRACE_H

#define NETTRACE_IFNAMSIZ 16
#define NETTRACE_MAX_ADDRS 256
#define NETTRACE_FAST_ADDRS 16 /* compared inline; more go to the addrs map */

/* Bits of an address in the `addrs` map. */
#define NETTRACE_SIDE_A 0x1u
#define NETTRACE_SIDE_B 0x2u
#define NETTRACE_ARP 0x4u

enum nettrace_kind {
  NETTRACE_RECEIVE = 0,
  NETTRACE_QUEUE = 1,
  NETTRACE_XMIT = 2,
  NETTRACE_DROP = 3,
  NETTRACE_CONSUME = 4,
  NETTRACE_ARP_PKT = 5,
  NETTRACE_NEIGH = 6,
};

/* nettrace_event.neigh_event */
enum nettrace_neigh_event {
  NETTRACE_NEIGH_UPDATE = 1,
  NETTRACE_NEIGH_TIMER = 2,
  NETTRACE_NEIGH_SEND_DONE = 3,
  NETTRACE_NEIGH_SEND_DEAD = 4,
};

struct nettrace_addr {
  __u32 family; /* AF_INET, AF_INET6 */
  __u8 addr[16];
};

struct nettrace_fast_addr {
  __u32 family;
  __u32 bits; /* NETTRACE_SIDE_* */
  __u8 addr[16];
};

/* One 5-tuple the tracer learned from a followed skb after an address or
 * port rewrite (NAT), in both directions, so the translated flow's replies
 * match too. */
struct nettrace_tuple {
  __u8 saddr[16];
  __u8 daddr[16];
  __u16 sport;
  __u16 dport;
  __u8 family;
  __u8 proto;
  __u8 pad[2];
} __attribute__((aligned(8))); /* compared as __u64 words */

struct nettrace_event {
  __u64 ts_ns;
  __u64 skb;
  __u64 location;
  __u32 netns_inode;
  __s32 ifindex;
  __u32 len;
  __u32 reason;
  __u8 kind;   /* enum nettrace_kind */
  __u8 hop;    /* where it was seen: kind, except for ARP packets */
  __u8 family; /* AF_INET, AF_INET6; 0 when the skb is neither */
  __u8 proto;
  __u8 tcp_flags;
  __u8 icmp_type;
  __u8 neigh_state; /* NUD_* bits */
  __u8 neigh_event; /* enum nettrace_neigh_event */
  __u8 lladdr_len;
  __u8 pad[3];
  __u16 sport; /* host order; ARP: op */
  __u16 dport;
  __u8 saddr[16];
  __u8 daddr[16];
  __u8 lladdr[8];
  char ifname[NETTRACE_IFNAMSIZ];
};

#endif /* CTK_BPF_NETTRACE_H */
