/* A C shim around the nettrace light skeleton (build/bpf/nettrace.lskel.h),
 * whose generated code is C only. Used by libruntime/net/trace_bpf.cc. */
#ifndef CTK_BPF_NETTRACE_LSKEL_H
#define CTK_BPF_NETTRACE_LSKEL_H

#include <stdint.h>

#include <linux/types.h>

#include "nettrace.h"

#ifdef __cplusplus
extern "C" {
#endif

struct nettrace_lskel_config {
  uint8_t proto;  /* 0: any */
  uint16_t dport; /* 0: any; host order */
  uint8_t any_a;  /* an empty side: any address */
  uint8_t any_b;
  uint32_t max_packets; /* 0: no limit */
  uint8_t attach_only;  /* every program returns at once (see FlowFilter) */
  /* Up to NETTRACE_FAST_ADDRS addresses, compared inline; with more, naddrs
   * is their count and the caller fills the addrs map. */
  uint32_t naddrs;
  struct nettrace_fast_addr addrs[NETTRACE_FAST_ADDRS];
};

struct nettrace_lskel;

/* Opens and loads the programs with `cfg`; nothing is attached yet, so the
 * filter maps can be filled first. *out owns them until
 * nettrace_lskel_close(). On failure returns -errno and names the failed
 * step in *step ("open", "load"). */
int nettrace_lskel_load(const struct nettrace_lskel_config *cfg, struct nettrace_lskel **out,
                        const char **step);
/* Attaches every program; -errno on failure (then nothing stays attached
 * once the object is closed). */
int nettrace_lskel_attach(struct nettrace_lskel *l);
int nettrace_lskel_addrs_fd(const struct nettrace_lskel *l);
int nettrace_lskel_events_fd(const struct nettrace_lskel *l);
int nettrace_lskel_lost_fd(const struct nettrace_lskel *l);
void nettrace_lskel_close(struct nettrace_lskel *l);

#ifdef __cplusplus
}
#endif

#endif /* CTK_BPF_NETTRACE_LSKEL_H */
