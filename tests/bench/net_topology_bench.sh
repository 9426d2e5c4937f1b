#!/bin/bash
# ctk net topology on many namespaces: N "containers" (namespaces with a veth
# each into one bridge namespace, made by this script) and whatever else the
# machine has. Prints the median wall time of the table, the JSON (routes,
# fdb, neighbours, sysctls of every namespace) and a focused TARGET view.
# Manual: ctest -L bench --verbose.  CTK_BENCH_NS=N (default 200), CTK_BENCH_RUNS (7).
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
command -v jq >/dev/null || skip_or_fail "jq is missing"
[ -x /usr/bin/time ] || skip_or_fail "GNU time (/usr/bin/time) is missing"
N=${CTK_BENCH_NS:-200}
RUNS=${CTK_BENCH_RUNS:-7}
P=ctktb$$
TIMES=$(mktemp /tmp/ctk-topo-bench.XXXXXX)
on_exit "rm -f $TIMES"

cleanup() {
    local i
    for i in $(seq "$N"); do ip netns del "$P-$i" 2>/dev/null; done
    ip netns del "$P-br" 2>/dev/null
}
on_exit cleanup
ip netns add "$P-br" || fail "ip netns add"
ip -n "$P-br" link add br0 type bridge && ip -n "$P-br" link set br0 up || fail "bridge"
for i in $(seq "$N"); do
    ip netns add "$P-$i" || fail "ip netns add $P-$i"
    ip -n "$P-br" link add "v$i" type veth peer name eth0 netns "$P-$i" || fail "veth $i"
    ip -n "$P-br" link set "v$i" master br0 up
    ip -n "$P-$i" addr add "10.200.$((i / 250)).$((i % 250 + 1))/16" dev eth0
    ip -n "$P-$i" link set eth0 up
done
nsenter --net="/run/netns/$P-1" sleep 100000 & # a process for the focused view
H1=$!
on_exit "kill $H1"

# median CMD...: median wall and CPU (user+sys) seconds of RUNS runs. CPU
# time says more than wall time on a busy machine.
median() {
    local i out walls=() cpus=()
    for i in $(seq "$RUNS"); do
        /usr/bin/time -o "$TIMES" -f "%e %U %S" "$@" >/dev/null || fail "$* failed"
        out=$(tail -1 "$TIMES")
        walls+=("$(awk '{ print $1 }' <<<"$out")")
        cpus+=("$(awk '{ printf "%.2f", $2 + $3 }' <<<"$out")")
    done
    mid() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    echo "wall $(mid "${walls[@]}") s, cpu $(mid "${cpus[@]}") s"
}
total=$(ip netns list | wc -l)
rows=$("$CTK_BIN" net topology --format json | jq length)
echo "namespaces on the machine: $total (of them $((N + 1)) made here), rows: $rows"
echo "table:            $(median "$CTK_BIN" net topology)"
echo "json (snapshots): $(median "$CTK_BIN" net topology --format json)"
echo "TARGET (focused): $(median "$CTK_BIN" net topology "pid://$H1")"
