#!/bin/bash
# ctk run's network modes, inside a network namespace this test creates (a
# private "host"; nothing touches the machine's interfaces or tables): the
# default bridge gives eth0 an address and a default route, --net
# container:NAME shares the same network namespace (same inode), --net none
# has only lo, and rm removes the container's veth.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"
command -v jq >/dev/null || skip_or_fail "jq is missing"

ctk_store run-net --netns
ctk_store_busybox

out=$(ctk run --rm bb sh -c 'ip -4 -o addr show eth0; ip route') || fail "run on the bridge"
expect_contains "eth0 address" "$out" "inet 10.89."
expect_contains "default route" "$out" "default via 10.89.0.1"

expect_eq "--net none: only lo" "$(ctk run --rm --net none bb sh -c 'ls /sys/class/net | tr "\n" " "')" "lo "

id=$(ctk run -d --name netowner bb sleep 100) || fail "run -d on the bridge"
pid=$(jq -r .pid "$T/run/containers/$id/state.json")
veth=$(jq -r .endpoint.host_veth "$T/run/containers/$id/state.json")
[ -n "$veth" ] && [ "$veth" != null ] || fail "no host veth recorded"
nsenter --net="/run/netns/$NS" ip link show "$veth" >/dev/null || fail "veth $veth missing"
expect_eq "--net container: same netns" \
    "$(ctk run --rm --net container:netowner bb readlink /proc/self/ns/net)" "$(readlink /proc/$pid/ns/net)"
expect_contains "own name in /etc/hosts" "$(ctk run --rm --net container:netowner bb cat /etc/hosts)" "localhost"
ctk rm -f netowner >/dev/null || fail "rm -f"
nsenter --net="/run/netns/$NS" ip link show "$veth" >/dev/null 2>&1 && fail "veth $veth left after rm"
echo "run_net_basic: ok"
