// SPDX-License-Identifier: GPL-2.0
/* pidmap: one pass over every task in the kernel, emitting per process its
 * PID chain across PID namespaces, namespace inodes, cgroup paths and argv.
 * Sleepable (iter.s/task) so that argv can be read from user memory with
 * bpf_copy_from_user_task. The record layout is in pidmap.h.
 *
 * Load time is part of every `ctk pidmap`, so the program is shaped for a
 * cheap verification: loop state lives in the scratch map (the verifier does
 * not track map contents, so paths that differ only there merge), and the
 * per-subsystem work is a bpf_loop callback, verified once. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "pidmap.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_KTHREAD 0x00200000
#define PIDMAP_NSPROXY_MAX 128 /* struct nsproxy is 72 bytes in 6.x */

/* Set by the loader before load: skip work the caller does not need. */
const volatile __u32 want_argv = 1;
const volatile __u32 want_cgroups = 1;
const volatile __u32 want_kthreads = 0;
const volatile __u32 want_all_v1 = 1; /* else only the pids and memory hierarchies */
/* Readers sharing the work: reader i (its thread id in shard_tids[i]) emits
 * the processes whose PID modulo nr_shards is i, so several CPUs copy argv
 * in parallel. 1: one reader, every process. */
const volatile __u32 nr_shards = 1;

/* kernfs_node::parent became __parent in 6.15; accept both. */
struct kernfs_node___new {
  struct kernfs_node *__parent;
} __attribute__((preserve_access_index));
struct kernfs_node___old {
  struct kernfs_node *parent;
} __attribute__((preserve_access_index));

struct scratch {
  struct pidmap_event ev;
  struct pidmap_cgroup cg;
  __u64 seen;                       /* v1 hierarchy ids already written for this task */
  __u32 depth;                      /* of the cgroup being written */
  __u64 chain[PIDMAP_CG_MAX_DEPTH]; /* its kernfs nodes, leaf first */
  char name[PIDMAP_NAME_MAX];
  char nsproxy[PIDMAP_NSPROXY_MAX]; /* a copy of the task's struct nsproxy */
  char argv[2 * PIDMAP_ARGV_MAX];   /* twice the cap: see the mask below */
};

/* Too big for the 512-byte stack. One slot per reader thread, not per CPU:
 * a sleepable program may be preempted while copying argv, and another
 * reader could then run on the same CPU. A map per loaded program, so
 * concurrent ctk processes never share it. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, PIDMAP_MAX_SHARDS);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch_map SEC(".maps");

/* Thread id of the reader of each shard, set by the loader. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, PIDMAP_MAX_SHARDS);
  __type(key, __u32);
  __type(value, __u32);
} shard_tids SEC(".maps");

struct loop_ctx {
  struct seq_file *seq;
  struct css_set *cset;
  __u32 shard;
};

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn) {
  if (bpf_core_field_exists(struct kernfs_node___new, __parent))
    return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
  return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* Writes struct pidmap_cgroup and the path names of `cgrp`, root first. */
static __noinline int emit_cgroup(struct seq_file *seq, struct cgroup *cgrp, int hierarchy_id,
                                  __u32 shard) {
  struct kernfs_node *kn;
  struct scratch *s;
  int i;

  s = bpf_map_lookup_elem(&scratch_map, &shard);
  if (!s || !seq)
    return 0;
  s->depth = 0;
  s->cg.flags = 0;
  kn = BPF_CORE_READ(cgrp, kn);
  /* The root node is not part of the path: stop at the node without parent. */
  for (i = 0; i < PIDMAP_CG_MAX_DEPTH; i++) {
    struct kernfs_node *parent;

    if (!kn)
      break;
    parent = kn_parent(kn);
    if (!parent)
      break;
    s->chain[i] = (__u64)kn;
    s->depth = i + 1;
    kn = parent;
  }
  if (i == PIDMAP_CG_MAX_DEPTH && kn && kn_parent(kn))
    s->cg.flags |= PIDMAP_CG_TRUNCATED;

  s->cg.hierarchy_id = hierarchy_id;
  s->cg.depth = s->depth;
  s->cg.reserved = 0;
  bpf_seq_write(seq, &s->cg, sizeof(s->cg));

  for (i = 0; i < PIDMAP_CG_MAX_DEPTH; i++) {
    struct kernfs_node *node;
    const char *name;
    long n;
    int at = (int)s->depth - 1 - i;

    if (at < 0)
      break;
    /* Out of the CO-RE macro: scratch is no kernel type to relocate. */
    node = (struct kernfs_node *)s->chain[at & (PIDMAP_CG_MAX_DEPTH - 1)];
    name = BPF_CORE_READ(node, name);
    n = bpf_probe_read_kernel_str(s->name, sizeof(s->name), name);
    if (n < 1) {
      s->name[0] = 0;
      n = 1;
    }
    bpf_seq_write(seq, s->name, n & (PIDMAP_NAME_MAX - 1));
    if (n >= PIDMAP_NAME_MAX) /* cannot happen with NAME_MAX names; keep the stream parseable */
      bpf_seq_write(seq, "", 1);
  }
  return 0;
}

/* One cgroup subsystem: writes its v1 hierarchy unless already written (a
 * hierarchy may carry several subsystems, like cpu,cpuacct) or it is bound
 * to the default hierarchy. */
static int subsys_cb(__u32 idx, struct loop_ctx *lc) {
  struct cgroup_subsys_state *css;
  struct css_set *cset;
  struct scratch *s;
  struct cgroup *cg;
  __u32 shard = lc->shard;
  int hid;

  if (idx >= PIDMAP_MAX_SUBSYS)
    return 1;
  if (!want_all_v1 &&
      !(bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id) &&
        idx == bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id)) &&
      !(bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id) &&
        idx == bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)))
    return 0;
  cset = lc->cset; /* outside the CO-RE macro: loop_ctx is no kernel type */
  css = BPF_CORE_READ(cset, subsys[idx]);
  if (!css)
    return 0;
  cg = BPF_CORE_READ(css, cgroup);
  if (!cg)
    return 0;
  hid = BPF_CORE_READ(cg, root, hierarchy_id);
  s = bpf_map_lookup_elem(&scratch_map, &shard);
  if (!s || hid <= 0 || hid >= 64 || (s->seen & (1ull << hid)))
    return 0;
  s->seen |= 1ull << hid;
  emit_cgroup(lc->seq, cg, hid, shard);
  return 0;
}

SEC("iter.s/task")
int pidmap_task(struct bpf_iter__task *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct task_struct *task = ctx->task;
  struct pidmap_event *ev;
  const struct cred *cred;
  struct nsproxy *nsp;
  struct css_set *cset;
  struct pid *pid;
  struct mm_struct *mm;
  struct scratch *s;
  struct upid up[2] = {};
  __u32 shard = 0, level, tgid;
  int i;

  if (!task)
    return 0;
  /* Thread-group leaders only: one record per process. Reads go through
   * BPF_CORE_READ rather than direct BTF pointer walks: measured again on
   * 6.18, walks save a few ms of iteration over 10,000 processes but make
   * verification 2.7 -> 16 ms, and the load is part of every run. */
  tgid = BPF_CORE_READ(task, tgid);
  if (BPF_CORE_READ(task, pid) != tgid)
    return 0;
  if (nr_shards > 1) {
    __u32 tid = (__u32)bpf_get_current_pid_tgid();

    for (i = 0; i < PIDMAP_MAX_SHARDS; i++) {
      __u32 key = i, *t = bpf_map_lookup_elem(&shard_tids, &key);

      if (t && *t == tid) {
        shard = i;
        break;
      }
    }
    if (tgid % nr_shards != shard)
      return 0;
  }
  s = bpf_map_lookup_elem(&scratch_map, &shard);
  if (!s)
    return 0;
  ev = &s->ev;
  __builtin_memset(ev, 0, sizeof(*ev));
  ev->magic = PIDMAP_MAGIC;
  ev->pid = tgid;
  if (BPF_CORE_READ(task, flags) & PF_KTHREAD) {
    if (!want_kthreads)
      return 0;
    ev->flags |= PIDMAP_F_KTHREAD;
  }
  ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
  cred = BPF_CORE_READ(task, real_cred);
  ev->uid = BPF_CORE_READ(cred, uid.val);
  ev->gid = BPF_CORE_READ(cred, gid.val);
  ev->ns_inum[PIDMAP_NS_USER] = BPF_CORE_READ(cred, user_ns, ns.inum);
  ev->start_boottime_ns = BPF_CORE_READ(task, start_boottime);
  BPF_CORE_READ_INTO(&ev->comm, task, comm);

  /* The NSpid chain: numbers[0] is the initial namespace, numbers[level]
   * the process's own. */
  pid = BPF_CORE_READ(task, thread_pid);
  level = BPF_CORE_READ(pid, level);
  if (level >= PIDMAP_MAX_LEVELS)
    level = PIDMAP_MAX_LEVELS - 1;
  ev->level = level;
  /* Each probe read is a helper call, a good part of the scan: one read
   * covers the two common depths (the host and one namespace), and the
   * last entry read gives the process's own namespace. */
  bpf_probe_read_kernel(up, level ? sizeof(up) : sizeof(up[0]), &pid->numbers[0]);
  ev->nspid[0] = up[0].nr;
  if (level) {
    ev->nspid[1] = up[1].nr;
    up[0] = up[1];
  }
  for (i = 2; i < PIDMAP_MAX_LEVELS; i++) {
    if ((__u32)i > ev->level)
      break;
    bpf_probe_read_kernel(&up[0], sizeof(up[0]), &pid->numbers[i]);
    ev->nspid[i] = up[0].nr;
  }
  ev->ns_inum[PIDMAP_NS_PID] = BPF_CORE_READ(up[0].ns, ns.inum);

  nsp = BPF_CORE_READ(task, nsproxy); /* NULL once a process exited */
  if (nsp && bpf_core_type_size(struct nsproxy) <= PIDMAP_NSPROXY_MAX) {
    /* The six pointers in one read of the whole struct, not one each; the
     * CO-RE offsets then pick them out of the copy. */
    bpf_probe_read_kernel(s->nsproxy, bpf_core_type_size(struct nsproxy), nsp);
    /* Out of the CO-RE macros: scratch is no kernel type to relocate. */
#define NSP_FIELD(f) (*(void **)(s->nsproxy + bpf_core_field_offset(struct nsproxy, f)))
    struct uts_namespace *uts = NSP_FIELD(uts_ns);
    struct ipc_namespace *ipc = NSP_FIELD(ipc_ns);
    struct mnt_namespace *mnt = NSP_FIELD(mnt_ns);
    struct net *net = NSP_FIELD(net_ns);
    struct cgroup_namespace *cgns = NSP_FIELD(cgroup_ns);
    struct time_namespace *timens = NSP_FIELD(time_ns);
#undef NSP_FIELD

    ev->ns_inum[PIDMAP_NS_UTS] = BPF_CORE_READ(uts, ns.inum);
    ev->ns_inum[PIDMAP_NS_IPC] = BPF_CORE_READ(ipc, ns.inum);
    ev->ns_inum[PIDMAP_NS_MNT] = BPF_CORE_READ(mnt, ns.inum);
    ev->ns_inum[PIDMAP_NS_NET] = BPF_CORE_READ(net, ns.inum);
    ev->ns_inum[PIDMAP_NS_CGROUP] = BPF_CORE_READ(cgns, ns.inum);
    ev->ns_inum[PIDMAP_NS_TIME] = BPF_CORE_READ(timens, ns.inum);
  }

  mm = BPF_CORE_READ(task, mm);
  if (!mm) {
    ev->flags |= PIDMAP_F_NO_MM;
  } else if (want_argv) {
    unsigned long start = BPF_CORE_READ(mm, arg_start);
    unsigned long end = BPF_CORE_READ(mm, arg_end);
    __u32 len = 0;

    if (end > start) {
      unsigned long n = end - start;

      if (n > PIDMAP_ARGV_MAX) {
        n = PIDMAP_ARGV_MAX;
        ev->flags |= PIDMAP_F_ARGV_TRUNCATED;
      }
      len = n;
      if (bpf_copy_from_user_task(s->argv, len, (void *)start, task, 0) != 0)
        len = 0;
    }
    ev->argv_len = len;
  }

  bpf_seq_write(seq, ev, sizeof(*ev));
  /* The mask bounds the length for the verifier (the buffer is twice the
   * cap, so it never cuts a valid length); clang folds plain range checks. */
  if (ev->argv_len)
    bpf_seq_write(seq, s->argv, ev->argv_len & (2 * PIDMAP_ARGV_MAX - 1));

  /* Cgroups: the default hierarchy, then each v1 hierarchy once. Named v1
   * hierarchies (name=systemd) have no subsystem and are not reported. */
  cset = BPF_CORE_READ(task, cgroups);
  if (want_cgroups && cset) {
    struct loop_ctx lc = {.seq = seq, .cset = cset, .shard = shard};
    struct cgroup *dfl = BPF_CORE_READ(cset, dfl_cgrp);

    if (dfl)
      emit_cgroup(seq, dfl, 0, shard);
    s->seen = 0;
    bpf_loop(bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT), subsys_cb, &lc, 0);
  }
  s->cg.hierarchy_id = PIDMAP_CG_END;
  s->cg.depth = 0;
  s->cg.flags = 0;
  s->cg.reserved = 0;
  bpf_seq_write(seq, &s->cg, sizeof(s->cg));
  return 0;
}
