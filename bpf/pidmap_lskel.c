/* C shim around the pidmap light skeleton; see pidmap_lskel.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/types.h>

#include "pidmap.h"
#include "pidmap.lskel.h"
#include "pidmap_lskel.h"

struct pidmap_lskel {
  struct pidmap *skel;
};

/* The light skeleton returns -1 with errno set, or a negative errno. */
static int neg_errno(int err) {
  if (err == -1)
    err = -errno;
  return err < 0 ? err : -EINVAL;
}

int pidmap_lskel_open(const struct pidmap_lskel_config *cfg, struct pidmap_lskel **out,
                      const char **step) {
  struct pidmap_lskel *l;
  int err;

  *out = NULL;
  l = calloc(1, sizeof(*l));
  if (!l)
    return -ENOMEM;
  *step = "open";
  l->skel = pidmap__open();
  if (!l->skel) {
    err = -errno;
    goto fail;
  }
  l->skel->rodata->want_argv = cfg->want_argv;
  l->skel->rodata->want_cgroups = cfg->want_cgroups;
  l->skel->rodata->want_kthreads = cfg->want_kthreads;
  l->skel->rodata->want_all_v1 = cfg->want_all_v1;
  l->skel->rodata->nr_shards = cfg->nr_shards ? cfg->nr_shards : 1;
  *step = "load";
  err = pidmap__load(l->skel);
  if (err) {
    err = neg_errno(err);
    goto fail;
  }
  *step = "attach";
  err = pidmap__attach(l->skel);
  if (err) {
    err = neg_errno(err);
    goto fail;
  }
  *out = l;
  return 0;
fail:
  if (err >= 0)
    err = -EINVAL;
  pidmap_lskel_close(l);
  return err;
}

int pidmap_lskel_set_reader(struct pidmap_lskel *l, uint32_t shard, uint32_t tid) {
  if (shard >= PIDMAP_MAX_SHARDS)
    return -EINVAL;
  if (skel_map_update_elem(l->skel->maps.shard_tids.map_fd, &shard, &tid, 0))
    return -errno;
  return 0;
}

int pidmap_lskel_new_iter(struct pidmap_lskel *l) {
  union bpf_attr attr;
  int fd;

  memset(&attr, 0, sizeof(attr));
  attr.iter_create.link_fd = l->skel->links.pidmap_task_fd;
  fd = skel_sys_bpf(BPF_ITER_CREATE, &attr, sizeof(attr)); /* the kernel sets O_CLOEXEC */
  return fd < 0 ? -errno : fd;
}

void pidmap_lskel_close(struct pidmap_lskel *l) {
  if (!l)
    return;
  pidmap__destroy(l->skel);
  free(l);
}
