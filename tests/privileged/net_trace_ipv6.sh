#!/bin/bash
# ctk net trace over IPv6, in the network lab (tests/common/netlab.sh, which
# has fd00:77::/64 beside 10.77.0.0/24): the family choice (IPv4 by default
# for two containers, IPv6 with -6 or an IPv6 address), delivered over TCP,
# UDP and ICMPv6, an ip6 nftables drop, no route at the sender and at a
# router (its ICMPv6 error), a neighbour that never answers NDP, and the
# errors: -6 with a side that has no IPv6 address, mixed families, ::1 and
# link-local. After every run, no tracing table is left in the lab.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/netlab.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
command -v jq >/dev/null || skip_or_fail "jq is missing"
[ -e /proc/sys/net/ipv6 ] || skip_or_fail "the kernel has no IPv6"
T=$(mktemp -d /tmp/ctk-net-trace6.XXXXXX)
on_exit rm -rf "$T"
P=ctk6t$$
on_exit netlab_down $P

BPF= # set from the first trace's warnings: the kernel tracer runs where BPF works
trace() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" net trace "$@"; }
pid_in() { ip netns pids "$1" | head -1; }
# summary ARGS...: the trace's last line, in plain words.
summary() {
    trace --format json "$@" >"$T/out.json" 2>"$T/err" || fail "trace $*: status $? ($(cat "$T/err"))"
    jq -r 'select(.Event == "summary") | .Detail' "$T/out.json"
}
# field EVENT KEY: KEY of every record of EVENT, one a line.
field() { jq -r --arg e "$1" 'select(.Event == $e) | .'"$2" "$T/out.json"; }
no_tables() { netlab_no_trace_left $P "$1" "$BPF"; }
lab() {
    netlab_down $P
    netlab_up $P || fail "netlab_up"
    A=$(pid_in $P-a) B=$(pid_in $P-b)
    [ -n "$A" ] && [ -n "$B" ] || fail "no holder processes in the lab"
}

# Two containers with both families: IPv4 unless -6 says otherwise.
lab
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
grep -q "no kernel tracer" "$T/err" || BPF=1
expect_contains "default family" "$s" "DELIVERED to netns $P-b (in eth0)"
field sent Detail | grep -qF "tcp $NETLAB_A_IP:" || fail "default family: not IPv4: $(field sent Detail)"
no_tables "default family"

# (a) delivered over IPv6, with the hops through the bridge's namespace.
s=$(summary -6 --from pid://$A --to pid://$B --dport 80 --probe)
expect_contains "(a) delivered" "$s" "DELIVERED to netns $P-b (in eth0)"
expect_contains "(a) reply" "$s" "reply seen"
field sent Detail | grep -qF "tcp [$NETLAB_A_IP6]:" || fail "(a) not IPv6: $(field sent Detail)"
field hop Netns | grep -qx "$P-br" || fail "(a) no hop through $P-br"
field hop Tuple | grep -qF "> [$NETLAB_B_IP6]:80" || fail "(a) no IPv6 tuple in the hops"
# nftables' trace events (ctk's input marker in b) decoded as IPv6.
field local Tuple | grep -qF "tcp [$NETLAB_A_IP6]:" || fail "(a) no IPv6 tuple from nftables: $(field local Tuple)"
if [ -n "$BPF" ]; then
    jq -r 'select(.Event == "hop" and .Netns == "'$P-br'") | .Where' "$T/out.json" | grep -q "in va" ||
        fail "(a) the kernel tracer did not see the packet enter va"
fi
no_tables "(a)"
# An IPv6 address with its port in brackets picks IPv6 and the port.
s=$(summary --from pid://$A --to "[$NETLAB_B_IP6]:80" --probe)
expect_contains "(a) [addr]:port" "$s" "DELIVERED to netns $P-b (in eth0)"
s=$(summary --from pid://$A --to $NETLAB_B_IP6 --proto udp --dport 5353 --probe)
expect_contains "(a) udp" "$s" "DELIVERED to netns $P-b"
s=$(summary --from $NETLAB_A_IP6 --to pid://$B --proto icmp --probe)
expect_contains "(a) icmpv6" "$s" "DELIVERED to netns $P-b"
field sent Detail | grep -qF "icmpv6 $NETLAB_A_IP6 id " || fail "(a) icmpv6: $(field sent Detail)"
no_tables "(a) udp, icmpv6"

# (b) an ip6 nftables drop in the bridge namespace's forward hook.
netlab_nft_drop6 $P || fail "netlab_nft_drop6"
h=$(nl_in $P-br nft -a list chain inet labfw6 forward | sed -n 's/.*drop a-b v6" # handle \([0-9]*\)/\1/p')
[ -n "$h" ] || fail "(b) no handle for the lab's rule"
s=$(summary -6 --from pid://$A --to pid://$B --dport 80 --probe)
expect_eq "(b) nft drop" "$s" \
    "DROPPED in netns $P-br (bridge br0, forward): inet labfw6 forward rule $h \"drop a-b v6\" (NETFILTER_DROP)"
field verdict Detail | grep -qF "(NETFILTER_DROP)" || fail "(b) no NETFILTER_DROP verdict"
jq -r 'select(.Event == "rule" and .Verdict == "drop") | .Tuple' "$T/out.json" | grep -qF "> [$NETLAB_B_IP6]:80" ||
    fail "(b) the drop's tuple is not the IPv6 flow"
# IPv4 still passes: the drop is IPv6's only.
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
expect_contains "(b) IPv4 unaffected" "$s" "DELIVERED to netns $P-b"
no_tables "(b)"

# (d2) no route at the router: its ICMPv6 error comes back.
lab
s=$(summary --from pid://$A --to $NETLAB_UNROUTED_IP6 --dport 80 --probe)
expect_contains "(d2) router" "$s" "DROPPED in netns $P-rt"
expect_contains "(d2) no route" "$s" "no route to $NETLAB_UNROUTED_IP6"
jq -r '.Tuple' "$T/out.json" | grep -qF "icmpv6 $NETLAB_RT_IP6 > $NETLAB_A_IP6 unreachable" ||
    fail "(d2) the router's ICMPv6 unreachable is not in the timeline"
jq -r 'select(.Event == "fib" and .Netns == "'$P-rt'") | .Verdict' "$T/out.json" | grep -qx "no route" ||
    fail "(d2) no FIB explanation at the router"
# The same over UDP: the socket hears the ICMPv6 error (IPV6_RECVERR).
s=$(summary --from pid://$A --to $NETLAB_UNROUTED_IP6 --proto udp --dport 53 --probe)
expect_contains "(d2) udp router" "$s" "DROPPED in netns $P-rt"
expect_eq "(d2) udp socket" "$(field answer Verdict)" "Network is unreachable"
no_tables "(d2)"

# (d1) no route at the sender: no packet exists; the FIB says why.
netlab_no_route_sender6 $P || fail "netlab_no_route_sender6"
s=$(summary --from pid://$A --to $NETLAB_UNROUTED_IP6 --dport 80 --probe)
expect_eq "(d1) sender" "$s" "NO ROUTE in netns $P-a (sender): tcp $NETLAB_UNROUTED_IP6: no route (Network is unreachable)"
no_tables "(d1)"

# A neighbour that does not exist on the link: NDP solicits it and fails.
lab
s=$(summary --from pid://$A --to fd00:77::99 --dport 80 --probe --timeout 6)
if [ -n "$BPF" ]; then
    field ndp Tuple | grep -qF "ndp solicit who-has fd00:77::99 ? tell $NETLAB_A_IP6" ||
        fail "(ndp) no neighbour solicitation in the timeline: $(jq -c . "$T/out.json")"
    jq -r 'select(.Event == "neigh") | .Where + " " + .Detail' "$T/out.json" |
        grep -q "neigh fd00:77::99 eth0 FAILED" ||
        fail "(ndp) no FAILED neighbour line: $(field neigh Detail)"
    expect_contains "(ndp) where" "$s" "DROPPED in netns $P-a (eth0)"
    expect_contains "(ndp) cause" "$s" "neighbour fd00:77::99 on eth0 FAILED (no answer to neighbour discovery)"
else
    echo "net_trace_ipv6: no kernel tracer; the NDP lines are not checked"
fi
no_tables "(ndp)"

# Bad input: one line naming the thing and the cause, non-zero, nothing left.
bad() {
    local what=$1 expect=$2; shift 2
    trace "$@" >"$T/out" 2>"$T/err" && fail "$what: succeeded"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "$what: not one line: $(cat "$T/err")"
    expect_contains "$what" "$(cat "$T/err")" "$expect"
    no_tables "$what"
}
bad "mixed families" "--from $NETLAB_A_IP6 is IPv6 but --to $NETLAB_B_IP is IPv4" \
    --from $NETLAB_A_IP6 --to $NETLAB_B_IP --dport 80
bad "-6 with IPv4" "-6: --to $NETLAB_B_IP is an IPv4 address" -6 --from pid://$A --to $NETLAB_B_IP --dport 80
bad "v6 loopback" "loopback" --from ::1 --to pid://$B --dport 80
bad "link-local" "link-local" --from pid://$A --to fe80::1 --dport 80
bad "brackets" "expected [IPv6] or [IPv6]:PORT" --from pid://$A --to "[$NETLAB_B_IP]:80"
bad "bracket port" "the port must be 1-65535" --from pid://$A --to "[$NETLAB_B_IP6]:0"
# b without a global IPv6 address (its link-local one does not count).
ip -n $P-b -6 addr flush dev eth0 scope global || fail "cannot remove b's IPv6 address"
bad "-6 without IPv6" "--to pid://$B has no IPv6 address (global or unique local)" \
    -6 --from pid://$A --to pid://$B --dport 80
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
expect_contains "IPv4 without IPv6 at b" "$s" "DELIVERED to netns $P-b"
no_tables "after the errors"
echo "net_trace_ipv6: ok"
