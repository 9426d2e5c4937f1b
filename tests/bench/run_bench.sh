#!/bin/bash
# Start-and-teardown time of a container: `ctk run --rm --net none IMAGE
# /bin/true` beside `runc run` (and `crun run` where it works) on an OCI
# bundle of the same busybox root filesystem, `ctk run --rm` on the bridge
# (inside a network namespace of our own), and 20 ctk runs started in
# parallel. Prints medians and ratios. Manual: ctest -L bench --verbose.
#   CTK_BENCH_RUNS=N   runs per variant (default 21)
#   CTK_BENCH_BASELINE=PATH  another ctk binary (with its plugins beside it,
#                      e.g. an older build) timed in the same run, for
#                      before/after numbers under the same machine load
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
ctk_busybox_available || skip_or_fail "no static busybox (package busybox-static)"
command -v runc >/dev/null || skip_or_fail "runc is missing (Debian package runc)"
command -v python3 >/dev/null || skip_or_fail "python3 is missing"
N=${CTK_BENCH_RUNS:-21}

T=$(mktemp -d /tmp/ctk-run-bench.XXXXXX)
NS=ctk-run-bench-$$
ip netns add "$NS" || skip_or_fail "cannot create a network namespace"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
cleanup() {
    local id
    for id in $(ctk ps -aq --no-trunc 2>/dev/null); do ctk rm -f "$id"; done
    nsenter --net="/run/netns/$NS" "$CTK_BIN" --root "$T/root" --run-root "$T/run" ps -aq >/dev/null 2>&1
    ip netns del "$NS"
    rm -rf "$T"
}
on_exit cleanup

ctk_busybox_docker_archive "$T/bb.tar" bb:latest || fail "cannot build the busybox archive"
ctk load -i "$T/bb.tar" >/dev/null || fail "ctk load"
mkdir -p "$T/bundle" && ctk_busybox_rootfs "$T/bundle/rootfs"
(cd "$T/bundle" && runc spec) || fail "runc spec"
python3 - "$T/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p))
s["process"]["terminal"] = False; s["process"]["args"] = ["/bin/true"]
json.dump(s, open(p, "w"))
PY

# times LABEL CMD...: N wall-clock times (seconds) into $T/LABEL.times
times() {
    local label=$1 i s e; shift
    : >"$T/$label.times"
    for i in $(seq "$N"); do
        s=$(date +%s.%N)
        "$@" "$i" >/dev/null 2>&1 || fail "$label: run $i failed"
        e=$(date +%s.%N)
        echo "$e - $s" | bc -l >>"$T/$label.times"
    done
}
median() { sort -n "$T/$1.times" | awk '{a[NR]=$1} END {printf "%.4f", a[int((NR+1)/2)]}'; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

ctk_none() { ctk run --rm --net none bb /bin/true; }
ctk_bridge() { nsenter --net="/run/netns/$NS" "$CTK_BIN" --root "$T/root" --run-root "$T/run" run --rm bb /bin/true; }
runc_run() { runc run -b "$T/bundle" "ctk-bench-$$-$1"; }
crun_run() { crun run -b "$T/bundle" "ctk-bench-c-$$-$1"; }

ctk_none 0 || fail "ctk run failed"
times ctk-none ctk_none
base=${CTK_BENCH_BASELINE:-}
if [ -n "$base" ]; then
    [ -x "$base" ] || fail "CTK_BENCH_BASELINE is not an executable: $base"
    ctk_base() { "$base" --root "$T/root" --run-root "$T/run" run --rm --net none bb /bin/true; }
    times ctk-base ctk_base
fi
times runc runc_run
have_crun=
if command -v crun >/dev/null && crun run -b "$T/bundle" "ctk-bench-probe-$$" >/dev/null 2>&1; then
    have_crun=1
    times crun crun_run
fi
ctk_bridge 0 || fail "ctk run on the bridge failed"
times ctk-bridge ctk_bridge

s=$(date +%s.%N)
for i in $(seq 20); do ctk run --rm --net none bb /bin/true >/dev/null 2>&1 & done
wait
e=$(date +%s.%N)
par=$(echo "$e - $s" | bc -l)

printf '%-32s %10s %8s\n' "variant ($N runs)" "median s" "ratio"
printf '%-32s %10s %8s\n' "runc run (bundle)" "$(median runc)" "1.00"
[ -n "$have_crun" ] && printf '%-32s %10s %8s\n' "crun run (bundle)" "$(median crun)" "$(ratio "$(median crun)" "$(median runc)")"
printf '%-32s %10s %8s\n' "ctk run --rm --net none" "$(median ctk-none)" "$(ratio "$(median ctk-none)" "$(median runc)")"
[ -n "$base" ] && printf '%-32s %10s %8s\n' "baseline ctk --rm --net none" "$(median ctk-base)" "$(ratio "$(median ctk-base)" "$(median runc)")"
printf '%-32s %10s %8s\n' "ctk run --rm (bridge)" "$(median ctk-bridge)" "$(ratio "$(median ctk-bridge)" "$(median ctk-none)")x none"
printf '%-32s %10.3f\n' "20 ctk runs in parallel (total)" "$par"
