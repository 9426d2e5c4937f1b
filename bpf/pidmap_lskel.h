/* A C shim around the pidmap light skeleton (build/bpf/pidmap.lskel.h),
 * whose generated code is C only. Used by libruntime/proc/task_iter_bpf.cc. */
#ifndef CTK_BPF_PIDMAP_LSKEL_H
#define CTK_BPF_PIDMAP_LSKEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pidmap_lskel_config {
  uint32_t want_argv;
  uint32_t want_cgroups;
  uint32_t want_kthreads;
  uint32_t want_all_v1;
  uint32_t nr_shards; /* 1 .. PIDMAP_MAX_SHARDS */
};

struct pidmap_lskel;

/* Loads and attaches the iterator; *out owns it until pidmap_lskel_close().
 * On failure returns -errno and names the failed step in *step ("open",
 * "load", "attach"); 0 on success. */
int pidmap_lskel_open(const struct pidmap_lskel_config *cfg, struct pidmap_lskel **out,
                      const char **step);
/* Declares thread `tid` the reader of `shard`: its reads emit that shard. */
int pidmap_lskel_set_reader(struct pidmap_lskel *l, uint32_t shard, uint32_t tid);
/* A new iterator fd (O_CLOEXEC) to read records from, or -errno. */
int pidmap_lskel_new_iter(struct pidmap_lskel *l);
void pidmap_lskel_close(struct pidmap_lskel *l);

#ifdef __cplusplus
}
#endif

#endif /* CTK_BPF_PIDMAP_LSKEL_H */
