#!/bin/bash
# Benchmark of `ctk stats` (issue 7): N cgroups (default 500) with a process
# each, named like docker's cgroupfs driver (<parent>/docker/<64 hex>) so the
# resolver finds them as containers from their cgroup paths. Prints the CPU
# time (user+sys, best of 3) of
#   ctk stats --no-stream            one sample, container lookup included
#   one refresh                      ctk stats --iterations 2 minus --iterations 1
#   cat of the files one sample reads (the floor)
# and the ratios to the floor. Target: a refresh within 1.5x the floor.
#
#   tests/bench/stats_bench.sh [--cgroups N] [--check]
# Needs root. Every process and cgroup made here is removed on exit.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"

N=500
CHECK=0
while [ $# -gt 0 ]; do
    case "$1" in
        --cgroups) N=$2; shift 2;;
        --check) CHECK=1; shift;;
        *) fail "unknown option $1";;
    esac
done
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN (set CTK_BIN or CTK_BUILD_DIR)"
[ -x /usr/bin/time ] || skip_or_fail "GNU time (/usr/bin/time) is missing"

CG=/sys/fs/cgroup
PARENT=ctk-bench-$$
if [ -f $CG/cgroup.controllers ]; then
    V=2; CTRLS=("")
    for c in cpu memory pids io; do echo "+$c" >$CG/cgroup.subtree_control 2>/dev/null; done
else
    V=1; CTRLS=()
    for c in cpu cpuacct memory pids blkio; do
        d=$(awk -v c="$c" '$3 == "cgroup" && $4 ~ "(^|,)" c "(,|$)" { print $2; exit }' /proc/mounts)
        [ -n "$d" ] || skip_or_fail "no v1 $c hierarchy"
        CTRLS+=("$d")
    done
fi
[ "$V" = 2 ] && CTRLS=("$CG")
# De-duplicate co-mounted controllers (cpu,cpuacct).
mapfile -t CTRLS < <(printf '%s\n' "${CTRLS[@]}" | awk '!seen[$0]++')

PIDS=()
cleanup() {
    local p d
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for d in "${CTRLS[@]}"; do
        [ -d "$d/$PARENT" ] || continue
        find "$d/$PARENT" -depth -type d -exec rmdir {} + 2>/dev/null
        rmdir "$d/$PARENT" 2>/dev/null
    done
}
on_exit cleanup

echo "creating $N cgroups with a process each (v$V)..." >&2
IDS=()
for i in $(seq 1 "$N"); do
    id=$(printf 'cb%062x' "$i")
    IDS+=("$id")
    for d in "${CTRLS[@]}"; do mkdir -p "$d/$PARENT/docker/$id" || fail "mkdir $d/$PARENT/docker/$id"; done
    sleep 1000 &
    p=$!
    PIDS+=("$p")
    for d in "${CTRLS[@]}"; do echo "$p" >"$d/$PARENT/docker/$id/cgroup.procs" || fail "cannot move $p"; done
done

# The files one sample reads, as cgroup_stats.cc reads them.
FILES=$(mktemp)
on_exit "rm -f '$FILES'"
unified=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
for i in "${!IDS[@]}"; do
    id=${IDS[$i]}; p=${PIDS[$i]}
    if [ "$V" = 2 ]; then
        d=$CG/$PARENT/docker/$id
        printf '%s\n' $d/cpu.stat $d/cpu.max $d/memory.current $d/memory.max $d/memory.stat \
            $d/memory.swap.current $d/memory.swap.max $d/memory.events $d/pids.current \
            $d/pids.max $d/io.stat $d/cpu.pressure $d/memory.pressure $d/io.pressure
    else
        for d in "${CTRLS[@]}"; do
            d=$d/$PARENT/docker/$id
            for f in cpuacct.usage cpuacct.usage_user cpuacct.usage_sys cpu.stat cpu.cfs_period_us \
                cpu.cfs_quota_us memory.usage_in_bytes memory.limit_in_bytes memory.stat \
                memory.kmem.usage_in_bytes memory.kmem.tcp.usage_in_bytes \
                memory.memsw.limit_in_bytes memory.oom_control memory.failcnt pids.current \
                pids.max blkio.bfq.io_serviced_recursive blkio.throttle.io_serviced_recursive; do
                [ -e "$d/$f" ] && echo "$d/$f"
            done
        done
        # The processes' unified cgroup (hybrid: PSI only).
        u=$(awk -F: '$1 == "0" { print $3 }' /proc/$p/cgroup)
        [ -n "$unified" ] && for f in cpu.pressure memory.pressure io.pressure; do
            [ -e "$unified$u/$f" ] && echo "$unified$u/$f"
        done
    fi
    # No /proc/PID/net/dev: the sleepers share the host's network namespace,
    # whose counters ctk leaves blank (they would be the whole host's).
done >"$FILES"
nfiles=$(wc -l <"$FILES")

cpu_of() { # CPU seconds (user+sys) of one run
    local t
    t=$(mktemp)
    /usr/bin/time -f '%U %S' -o "$t" "$@" >/dev/null 2>&1 || { rm -f "$t"; fail "command failed: $*"; }
    awk '{ printf "%.3f", $1 + $2 }' "$t"
    rm -f "$t"
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }

# Sanity: ctk sees every cgroup.
rows=$("$CTK_BIN" stats --no-stream --interval 0.1 --format json | grep -c "\"$(printf 'cb%058x' 0 | cut -c1-10)")
[ "$rows" -ge "$N" ] || fail "ctk stats saw $rows of the $N benchmark cgroups"

best_one= best_two= best_cat=
for round in 1 2 3; do
    best_cat=$(min "$best_cat" "$(cpu_of xargs -a "$FILES" cat)")
    best_one=$(min "$best_one" "$(cpu_of "$CTK_BIN" stats --no-stream --interval 0.1 --format json)")
    best_two=$(min "$best_two" "$(cpu_of "$CTK_BIN" stats --iterations 2 --interval 0.1 --format json)")
done
refresh=$(awk -v a="$best_two" -v b="$best_one" 'BEGIN { d = a - b; printf "%.3f", d < 0 ? 0 : d }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
echo "stats benchmark: $N cgroups (v$V), $nfiles files per sample"
printf '%-34s %10s %8s\n' "what" "cpu s" "x floor"
printf '%-34s %10s %8s\n' "cat of the same files (floor)" "$best_cat" "1.00"
printf '%-34s %10s %8s\n' "ctk stats --no-stream" "$best_one" "$(ratio "$best_one" "$best_cat")"
printf '%-34s %10s %8s\n' "one refresh (--iterations 2 - 1)" "$refresh" "$(ratio "$refresh" "$best_cat")"
if [ "$CHECK" = 1 ]; then
    awk -v r="$refresh" -v c="$best_cat" 'BEGIN { exit !(r <= 1.5 * c) }' ||
        fail "one refresh costs $(ratio "$refresh" "$best_cat")x the floor (target 1.5x)"
fi
