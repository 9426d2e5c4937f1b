#!/bin/bash
# ctk exec and ctk nsenter beside util-linux nsenter on one target, a ctk
# container (busybox, --net none): medians of N runs, interleaved round by
# round so every command sees the same share of a busy machine, and ratios
# to nsenter. Also printed, so the numbers can be read:
#   - the cost of name resolution (ctk exec NAME vs ctk exec PID),
#   - the front end's floor (ctk nsenter --help: process start, dynamic
#     linking, plugin load) beside nsenter --help,
#   - ctk exec's own extras over nsenter -a: joining the container's cgroups
#     (a v1 hierarchy move waits for an RCU grace period) and reading its
#     seccomp filter (ptrace), shown by ctk nsenter -a -c and by a target in
#     our own cgroups without a filter (an unshare'd sleep).
# Manual: ctest -L bench --verbose.  CTK_BENCH_RUNS=N (default 51).
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
ctk_busybox_available || skip_or_fail "no static busybox (package busybox-static)"
command -v python3 >/dev/null || skip_or_fail "python3 is missing"
command -v nsenter >/dev/null && command -v unshare >/dev/null || skip_or_fail "util-linux nsenter/unshare missing"
N=${CTK_BENCH_RUNS:-51}

T=$(mktemp -d /tmp/ctk-exec-bench.XXXXXX)
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
PLAIN= PLAINPID=
cleanup() {
    local id
    # The sleep is its pid namespace's init: only SIGKILL reaches it.
    [ -n "$PLAINPID" ] && kill -9 "$PLAINPID"
    [ -n "$PLAIN" ] && kill -9 "$PLAIN"
    for id in $(ctk ps -aq --no-trunc 2>/dev/null); do ctk rm -f "$id"; done
    rm -rf "$T"
}
on_exit cleanup

ctk_busybox_docker_archive "$T/bb.tar" bb:latest || fail "cannot build the busybox archive"
ctk load -i "$T/bb.tar" >/dev/null || fail "ctk load"
ctk run -d --net none --name benchtarget bb sleep 100000 >/dev/null || fail "ctk run"
PID=$(ctk inspect --format '{{.State.Pid}}' benchtarget)
unshare --uts --ipc --net --pid --fork --mount --mount-proc sleep 100000 </dev/null >/dev/null 2>&1 &
PLAIN=$!
for i in $(seq 100); do PLAINPID=$(pgrep -P "$PLAIN" -x sleep) && break; sleep 0.05; done
[ -n "$PLAINPID" ] || fail "the plain target did not start"

C="$CTK_BIN --root $T/root --run-root $T/run"
python3 - "$N" <<PY || fail "benchmark failed"
import os, statistics, subprocess, sys, time
n = int(sys.argv[1])

def run(c):
    """Wall time and CPU time (user+sys of the command and every process it waited for)."""
    s = time.perf_counter()
    p = subprocess.Popen(c.split(), stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    w = time.perf_counter() - s
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{c}: exit status {p.returncode}")
    return w, ru.ru_utime + ru.ru_stime

cmds = [
    ("nsenter -t PID -a /bin/true", "nsenter -t $PID -a /bin/true"),
    ("ctk exec PID /bin/true", "$C exec $PID /bin/true"),
    ("ctk nsenter -t PID -a /bin/true", "$C nsenter -t $PID -a /bin/true"),
    ("ctk exec NAME /bin/true", "$C exec benchtarget /bin/true"),
    ("ctk nsenter -t PID -a -c /bin/true", "$C nsenter -t $PID -a -c /bin/true"),
    ("nsenter --help", "nsenter --help"),
    ("ctk nsenter --help", "$C nsenter --help"),
    ("plain: nsenter -a", "nsenter -t $PLAINPID -a /bin/true"),
    ("plain: ctk exec", "$C exec $PLAINPID /bin/true"),
    ("plain: ctk nsenter -a", "$C nsenter -t $PLAINPID -a /bin/true"),
]
times = {k: [] for k, _ in cmds}
cpus = {k: [] for k, _ in cmds}
for k, c in cmds:  # warm-up, and every command must work
    run(c)
for i in range(n):
    for k, c in cmds:
        w, u = run(c)
        times[k].append(w)
        cpus[k].append(u)
med = {k: statistics.median(v) * 1000 for k, v in times.items()}
cpu = {k: statistics.median(v) * 1000 for k, v in cpus.items()}
base = med["nsenter -t PID -a /bin/true"]
cbase = cpu["nsenter -t PID -a /bin/true"]
print(f"{'command (' + str(n) + ' runs, ms)':40s} {'wall':>8s} {'ratio':>7s} {'cpu':>8s} {'ratio':>7s}")
for k, _ in cmds[:5]:
    print(f"{k:40s} {med[k]:8.2f} {med[k] / base:7.2f} {cpu[k]:8.2f} {cpu[k] / cbase:7.2f}")
print(f"{'name resolution (exec NAME - exec PID)':40s} {med['ctk exec NAME /bin/true'] - med['ctk exec PID /bin/true']:8.2f} {'':7s} {cpu['ctk exec NAME /bin/true'] - cpu['ctk exec PID /bin/true']:8.2f}")
print(f"{'cgroup join (nsenter -a -c - nsenter -a)':40s} {med['ctk nsenter -t PID -a -c /bin/true'] - med['ctk nsenter -t PID -a /bin/true']:8.2f}")
fl = med["ctk nsenter --help"] - med["nsenter --help"]
print(f"{'front-end floor: nsenter --help':40s} {med['nsenter --help']:8.2f}")
print(f"{'front-end floor: ctk nsenter --help':40s} {med['ctk nsenter --help']:8.2f} (+{fl:.2f})")
pb = med["plain: nsenter -a"]
for k in ("plain: nsenter -a", "plain: ctk exec", "plain: ctk nsenter -a"):
    print(f"{k:40s} {med[k]:8.2f} {med[k] / pb:7.2f} {cpu[k]:8.2f}")
work_ctk = med["ctk nsenter -t PID -a /bin/true"] - med["ctk nsenter --help"]
work_ns = base - med["nsenter --help"]
print(f"{'entering only (minus --help): nsenter':40s} {work_ns:8.2f}")
print(f"{'entering only (minus --help): ctk nsenter':40s} {work_ctk:8.2f} {work_ctk / work_ns:7.2f}")
PY
