#!/bin/bash
# The network lab the net tests trace through (tests/common/netlab.sh) really
# has the faults it claims: traffic a → b works, and each fault stops it (or,
# for the published port, makes it work), so a trace test that names a
# reason is tracing a real failure.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/netlab.sh"
require_root
command -v iptables-legacy >/dev/null || skip_or_fail "iptables-legacy is missing"
P=ctklab$$
on_exit netlab_down $P

for fault in none nft_drop ipt_nft_drop no_route_sender port_down rp_filter dnat ipt_legacy_drop ipt_legacy_policy_drop; do
    netlab_up $P || fail "netlab_up"
    netlab_tcp_ok $P a $NETLAB_B_IP 80 || fail "$fault: a → b:80 before the fault"
    expect_eq "a's holder is in a" "$(readlink /proc/$NETLAB_A_PID/ns/net)" "$(stat -L -c 'net:[%i]' /run/netns/$P-a)"
    expect_eq "b's holder is in b" "$(readlink /proc/$NETLAB_B_PID/ns/net)" "$(stat -L -c 'net:[%i]' /run/netns/$P-b)"
    [ $fault = none ] || netlab_$fault $P || fail "netlab_$fault"
    case $fault in
    none) netlab_tcp_ok $P a $NETLAB_B_IP 80 || fail "a → b:80" ;;
    dnat) netlab_tcp_ok $P a $NETLAB_GW_IP 8080 || fail "dnat: a → 10.77.0.1:8080 not forwarded to b" ;;
    no_route_sender)
        expect_eq "no route at the sender" "$(netlab_udp_errno $P a $NETLAB_UNROUTED_IP 9)" "connect ENETUNREACH" ;;
    rp_filter)
        nl_in $P-a timeout 2 python3 -c "
import socket; s = socket.socket(); s.bind(('10.66.0.2', 0)); s.settimeout(1.5); s.connect(('$NETLAB_B_IP', 80))" 2>/dev/null &&
            fail "rp_filter: connect from 10.66.0.2 succeeded" ;;
    *) netlab_tcp_ok $P a $NETLAB_B_IP 80 && fail "$fault: a → b:80 still works" ;;
    esac
    netlab_down $P
done
# d2: the router has no route to 10.79.0.0/16; it answers "net unreachable".
netlab_up $P || fail "netlab_up"
expect_eq "the router's answer" "$(netlab_udp_errno $P a $NETLAB_UNROUTED_IP 9)" "recv ENETUNREACH"
expect_eq "udp echo a → b" "$(netlab_udp_errno $P a $NETLAB_B_IP 5353)" "ok"
echo "net_lab: ok"
