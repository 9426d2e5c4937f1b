/* C shim around the nettrace light skeleton; see nettrace_lskel.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/types.h>

#include "nettrace.h"
#include "nettrace.lskel.h"
#include "nettrace_lskel.h"

struct nettrace_lskel {
  struct nettrace *skel;
};

/* The light skeleton returns -1 with errno set, or a negative errno. */
static int neg_errno(int err) {
  if (err == -1)
    err = -errno;
  return err < 0 ? err : -EINVAL;
}

int nettrace_lskel_load(const struct nettrace_lskel_config *cfg, struct nettrace_lskel **out,
                        const char **step) {
  struct nettrace_lskel *l;
  int err;

  *out = NULL;
  l = calloc(1, sizeof(*l));
  if (!l)
    return -ENOMEM;
  *step = "open";
  l->skel = nettrace__open();
  if (!l->skel) {
    err = -errno;
    goto fail;
  }
  l->skel->rodata->cfg_proto = cfg->proto;
  l->skel->rodata->cfg_dport = cfg->dport;
  l->skel->rodata->cfg_any_a = cfg->any_a;
  l->skel->rodata->cfg_any_b = cfg->any_b;
  l->skel->rodata->cfg_naddrs = cfg->naddrs;
  l->skel->rodata->cfg_max_packets = cfg->max_packets;
  l->skel->rodata->cfg_attach_only = cfg->attach_only;
  if (cfg->naddrs <= NETTRACE_FAST_ADDRS)
    memcpy((void *)l->skel->rodata->cfg_addrs, cfg->addrs, cfg->naddrs * sizeof(cfg->addrs[0]));
  *step = "load";
  err = nettrace__load(l->skel);
  if (err) {
    err = neg_errno(err);
    goto fail;
  }
  *out = l;
  return 0;
fail:
  if (err >= 0)
    err = -EINVAL;
  nettrace_lskel_close(l);
  return err;
}

int nettrace_lskel_attach(struct nettrace_lskel *l) {
  int err = nettrace__attach(l->skel);
  return err ? neg_errno(err) : 0;
}

int nettrace_lskel_addrs_fd(const struct nettrace_lskel *l) {
  return l->skel->maps.addrs.map_fd;
}
int nettrace_lskel_events_fd(const struct nettrace_lskel *l) {
  return l->skel->maps.events.map_fd;
}
int nettrace_lskel_lost_fd(const struct nettrace_lskel *l) {
  return l->skel->maps.lost.map_fd;
}

void nettrace_lskel_close(struct nettrace_lskel *l) {
  if (!l)
    return;
  nettrace__destroy(l->skel);
  free(l);
}
