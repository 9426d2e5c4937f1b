#!/bin/bash
# Teardown under repetition: 100 `run --rm` cycles on the bridge network
# (inside a network namespace this test creates) and 20 parallel runs leave
# no container directory, state, cgroup, veth or mount behind, and the
# addresses go back to the pool (no allocation or endpoint record is left).
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"

ctk_store run-cycles --netns
ctk_store_busybox

first=$(ctk run --rm bb sh -c "ip -4 -o addr show eth0 | awk '{print \$4}'") || fail "first run"
for i in $(seq 100); do
    ctk run --rm bb true || fail "cycle $i failed"
done
last=$(ctk run --rm bb sh -c "ip -4 -o addr show eth0 | awk '{print \$4}'") || fail "last run"
[ -n "$first" ] && [ -n "$last" ] || fail "no address on eth0"
for i in $(seq 20); do ctk run --rm --net none bb true & done
wait

expect_eq "containers left" "$(ls "$T/root/containers" | grep -v '^names' | wc -l)" "0"
expect_eq "run dirs left" "$(ls "$T/run/containers" | wc -l)" "0"
left=$(ls -d /sys/fs/cgroup/*/ctk/*/ /sys/fs/cgroup/ctk/*/ 2>/dev/null | wc -l)
# Other ctk users of this machine may have containers; ours are all gone.
for d in $(ls -d /sys/fs/cgroup/*/ctk/*/ 2>/dev/null); do
    [ -e "$T/root/containers/$(basename "$d")" ] && fail "cgroup $d of ours left"
done
# A --rm run returns once the exit status is out; its monitor deletes the
# host veth right after (the kernel's deletion waits for RCU callbacks).
no_veths() { [ "$(nsenter --net="/run/netns/$NS" ip -o link show type veth | wc -l)" = 0 ]; }
wait_until 5 no_veths || fail "veths left: $(nsenter --net="/run/netns/$NS" ip -o link show type veth)"
expect_eq "veths left" "$(nsenter --net="/run/netns/$NS" ip -o link show type veth | wc -l)" "0"
findmnt -rn -o TARGET | grep -q "$T" && fail "mounts left under $T"
if command -v jq >/dev/null; then
    expect_eq "addresses still allocated" "$(jq -c '.allocated' "$T/run/net/ipam.json")" "{}"
    expect_eq "endpoint records left" "$(jq -c . "$T/run/net/endpoints.json")" "{}"
fi
: "$left"
echo "run_cycles: ok"
