/* Records of the pidmap task iterator (bpf/pidmap.bpf.c), shared with the
 * loader in libruntime/proc/task_iter_bpf.cc. Fixed-width types only.
 *
 * The iterator writes one record per thread-group leader, back to back:
 *
 *   struct pidmap_event
 *   argv_len bytes of argv (NUL-separated, as /proc/PID/cmdline)
 *   struct pidmap_cgroup, then its depth NUL-terminated names, root first
 *   ("docker", "<id>"); repeated until a pidmap_cgroup whose hierarchy_id
 *   is PIDMAP_CG_END (the kernel learns how many there are only while
 *   writing them)
 *
 * The magic at the start of each record lets the reader detect a desync
 * instead of decoding garbage.
 */
#ifndef CTK_BPF_PIDMAP_H
#define CTK_BPF_PIDMAP_H

#define PIDMAP_MAGIC 0x314d4950u /* "PIM1" */
#define PIDMAP_MAX_LEVELS 32     /* MAX_PID_NS_LEVEL */
#define PIDMAP_ARGV_MAX 4096
#define PIDMAP_CG_MAX_DEPTH 16
#define PIDMAP_NAME_MAX 256 /* NAME_MAX + NUL */
#define PIDMAP_COMM_LEN 16
#define PIDMAP_MAX_SUBSYS 64 /* bound on CGROUP_SUBSYS_COUNT (12 in 6.x) */
#define PIDMAP_MAX_SHARDS 4  /* reader threads sharing one scan */

/* Namespace slots, in the order of ctk::rt::proc::NsType. */
enum pidmap_ns {
  PIDMAP_NS_CGROUP = 0,
  PIDMAP_NS_IPC = 1,
  PIDMAP_NS_MNT = 2,
  PIDMAP_NS_NET = 3,
  PIDMAP_NS_PID = 4,
  PIDMAP_NS_TIME = 5,
  PIDMAP_NS_USER = 6,
  PIDMAP_NS_UTS = 7,
  PIDMAP_NS_COUNT = 8,
};

/* pidmap_event.flags */
#define PIDMAP_F_KTHREAD 0x1u
#define PIDMAP_F_ARGV_TRUNCATED 0x2u
#define PIDMAP_F_NO_MM 0x4u /* kernel thread or zombie: no argv */

struct pidmap_event {
  __u32 magic;
  __u32 pid; /* tgid in the initial PID namespace */
  __u32 ppid;
  __u32 uid; /* real uid, as the first Uid: of /proc/PID/status */
  __u32 gid;
  __u32 flags;
  __u64 start_boottime_ns; /* /proc/PID/stat field 22, in ns */
  __u32 ns_inum[PIDMAP_NS_COUNT];
  __u32 level; /* PID namespace level: the NSpid chain has level + 1 entries */
  __u32 nspid[PIDMAP_MAX_LEVELS];
  char comm[PIDMAP_COMM_LEN];
  __u32 argv_len;
  __u32 reserved;
};

/* pidmap_cgroup.flags */
#define PIDMAP_CG_TRUNCATED 0x1u /* deeper than PIDMAP_CG_MAX_DEPTH: outer names lost */
#define PIDMAP_CG_END (-1)       /* hierarchy_id of the entry that ends a record */

struct pidmap_cgroup {
  __s32 hierarchy_id; /* 0: the default (v2) hierarchy */
  __u32 depth;        /* number of names that follow */
  __u32 flags;
  __u32 reserved;
};

#endif /* CTK_BPF_PIDMAP_H */
