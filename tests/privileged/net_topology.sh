#!/bin/bash
# ctk net topology on a lab of namespaces this test creates (netlab.sh) and
# on one of ctk's own containers started inside a namespace of the test:
# veth peers resolve to the right namespaces, port state follows the port,
# routes, fdb, neighbours and sysctls are in the JSON, a TARGET narrows the
# view to its neighbourhood, and bad targets fail with one line.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/netlab.sh"
. "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"
require_root
command -v jq >/dev/null || skip_or_fail "jq is missing"
P=ctktopo$$
on_exit netlab_down $P
netlab_up $P || fail "netlab_up"
# A process inside a's namespace. ($NETLAB_A_PID is the backgrounded
# subshell around nsenter, which stays in the test's own namespace.)
A_PID=$(ip netns pids $P-a | head -1)
[ -n "$A_PID" ] || fail "no process in $P-a"

topo() { "$CTK_BIN" net topology "$@"; }
# row JSON NETNS IFACE: the record of one interface.
row() { jq -c --arg n "$2" --arg i "$3" '.[] | select(.Netns == $n and .Iface == $i)' <<<"$1"; }
field() { jq -r "$2" <<<"$1"; }

all=$(topo --format json) || fail "net topology --format json"
a=$(row "$all" "netns $P-a" eth0); b=$(row "$all" "netns $P-b" eth0)
va=$(row "$all" "netns $P-br" va); vb=$(row "$all" "netns $P-br" vb)
br=$(row "$all" "netns $P-br" br0)
[ -n "$a" ] && [ -n "$va" ] && [ -n "$br" ] || fail "lab interfaces missing: $all"
# Peers, both ways, with the bridge the host side is on.
expect_eq "a's peer" "$(field "$a" .Peer)" "netns $P-br:va"
expect_eq "a's peer's bridge" "$(field "$a" .PeerDetail.Master)" br0
expect_eq "va's peer" "$(field "$va" .Peer)" "netns $P-a:eth0"
expect_eq "rt's peer" "$(field "$(row "$all" "netns $P-rt" eth0)" .Peer)" "netns $P-br:vr"
expect_eq "va's peer ifindex is a's eth0" "$(field "$va" .PeerDetail.Ifindex)" "$(field "$a" .Ifindex)"
expect_eq "va port" "$(field "$va" .Port)" "br0/forwarding"
expect_eq "br0 kind" "$(field "$br" .Kind)" bridge
expect_eq "a's address" "$(field "$a" '.Addresses[0]')" "$NETLAB_A_IP/24"
expect_eq "a's MTU" "$(field "$a" .MTU)" 1500
# Routes (a's default and the route to the router), neighbours, fdb, sysctls.
expect_eq "a's default route" \
    "$(field "$a" '.Routes[] | select(.Dst == "default" and .Table == "main") | .Gateway')" "$NETLAB_GW_IP"
expect_eq "a's route to 10.79/16" \
    "$(field "$a" '.Routes[] | select(.Dst == "10.79.0.0/16") | .Gateway')" "$NETLAB_RT_IP"
expect_eq "a's local route" \
    "$(field "$a" '.Routes[] | select(.Table == "local" and .Dst == "'$NETLAB_A_IP'/32") | .Type')" local
# netlab_up connected a to b, so a knows b's MAC and the bridge learnt both.
expect_eq "a's neighbour b" \
    "$(field "$a" '.Neighbours[] | select(.Address == "'$NETLAB_B_IP'") | .MAC')" "$(field "$b" .MAC)"
expect_contains "fdb on va has a's MAC" \
    "$(field "$va" '.Fdb[] | select(.Master == "br0") | "\(.MAC) \(.State)"')" "$(field "$a" .MAC) dynamic"
expect_contains "fdb on vb has b's MAC" "$(field "$vb" '.Fdb[].MAC')" "$(field "$b" .MAC)"
expect_eq "br ip_forward" "$(field "$br" '.Sysctls["net.ipv4.ip_forward"]')" 1
expect_eq "a ip_forward" "$(field "$a" '.Sysctls["net.ipv4.ip_forward"]')" 0
if [ -e /proc/sys/net/bridge ]; then
    expect_eq "br bridge-nf-call-iptables" "$(field "$br" '.Sysctls["net.bridge.bridge-nf-call-iptables"]')" 1
fi

# TARGET: a's namespace, the host side of its veth, the bridge and its other ports; not b.
mine=$(topo --format json "pid://$A_PID") || fail "net topology pid://"
expect_eq "focused rows" "$(jq -r '[.[] | "\(.Netns):\(.Iface)"] | join(" ")' <<<"$mine")" \
    "netns $P-a:eth0 netns $P-br:br0 netns $P-br:va netns $P-br:vb netns $P-br:vr"
# An address names the namespace that has it (one of this test only: other
# labs may run at the same time with the same addresses).
UNIQ=10.78.$(( $$ / 250 % 250 )).$(( $$ % 250 + 1 ))
ip -n $P-rt addr add $UNIQ/32 dev eth0 || fail "cannot add $UNIQ"
expect_eq "address target" "$(topo --format json "$UNIQ" | jq -r '.[0].Netns')" "netns $P-rt"
ip -n $P-b addr add $UNIQ/32 dev eth0 || fail "cannot add $UNIQ to b"
err=$(topo "$UNIQ" 2>&1 >/dev/null) && fail "an address in two namespaces was accepted"
expect_eq "ambiguous address" "$err" "ctk: address $UNIQ is in several network namespaces: netns $P-b, netns $P-rt"
ip -n $P-b addr del $UNIQ/32 dev eth0
# The tree: bridge, its ports, each port's peer.
tree=$(topo --tree "pid://$A_PID") || fail "net topology --tree"
expect_contains "tree bridge" "$tree" "  br0 "
expect_contains "tree peer under va" "$(grep -A1 '^    va ' <<<"$tree")" "      eth0 in netns $P-a"
expect_eq "tree json depth of a port" \
    "$(topo --tree --format json "pid://$A_PID" | jq -r '.[] | select(.Kind == "port" and .Iface == "vb") | .Depth')" 2

# A peer in a namespace nobody names (no container, not in /run/netns) is
# found by its inode, and its own end points back.
unshare --net sleep 100000 &
UNNAMED=$!
on_exit "kill $UNNAMED"
unshared() { [ "$(readlink /proc/$UNNAMED/ns/net)" != "$(readlink /proc/$$/ns/net)" ]; }
wait_until 5 unshared ||
    fail "unshare did not start"
ip -n $P-br link add vq type veth peer name q0 netns $UNNAMED || fail "veth into the unnamed namespace"
ino=$(stat -L -c %i /proc/$UNNAMED/ns/net)
all=$(topo --format json) || fail "net topology with an unnamed namespace"
expect_eq "peer in an unnamed namespace" "$(field "$(row "$all" "netns $P-br" vq)" .Peer)" "netns:[$ino]:q0"
expect_eq "its end points back" "$(field "$(row "$all" "netns:[$ino]" q0)" .Peer)" "netns $P-br:vq"

# Port down: the port's state says so.
netlab_port_down $P || fail "netlab_port_down"
vb=$(row "$(topo --format json)" "netns $P-br" vb)
expect_eq "vb port state after down" "$(field "$vb" .PortState)" disabled
expect_eq "vb state after down" "$(field "$vb" .State)" down
expect_contains "table shows it" "$(topo | grep "netns $P-br .* vb ")" "br0/disabled"

# Bad input: one line, exit 1.
err=$(topo no-such-container-$$ 2>&1 >/dev/null); rc=$?
expect_eq "unknown target status" "$rc" 1
expect_eq "unknown target: one line" "$(wc -l <<<"$err")" 1
expect_contains "unknown target named" "$err" "no-such-container-$$"
err=$(topo "pid://999999999" 2>&1 >/dev/null) && fail "a PID that does not exist was accepted"
expect_contains "missing pid" "$err" "999999999"

# One of ctk's own containers, on ctk's bridge inside a namespace of the test.
ctk_store net-topology --netns
ctk_store_busybox
ctk run -d --name topoweb bb sleep 100 >/dev/null || fail "ctk run -d"
ctk run -d --name topodone bb true >/dev/null || fail "ctk run -d (exits)"
all=$(ctk net topology --format json) || fail "net topology with a ctk container"
web=$(row "$all" topoweb eth0)
[ -n "$web" ] || fail "no row for topoweb's eth0: $all"
hostside=$(field "$web" .PeerDetail.Iface)
expect_eq "topoweb's peer namespace" "$(field "$web" .PeerDetail.Netns)" "netns $NS"
expect_eq "topoweb's peer bridge" "$(field "$web" .PeerDetail.Master)" ctk0
veth=$(row "$all" "netns $NS" "$hostside")
expect_eq "host side's peer owner" "$(field "$veth" .PeerOwner)" "ctk://topoweb"
expect_eq "host side's peer" "$(field "$veth" .Peer)" "topoweb:eth0"
expect_contains "table names the owner" "$(ctk net topology topoweb)" "ctk://topoweb"
topodone_exited() { [ "$(ctk inspect --format '{{.State.Status}}' topodone 2>/dev/null)" = exited ]; }
wait_until 10 topodone_exited ||
    fail "topodone did not exit"
err=$(ctk net topology topodone 2>&1 >/dev/null) && fail "a stopped container was accepted"
expect_eq "stopped container" "$err" "ctk: container topodone is not running"
echo "net_topology: ok"
