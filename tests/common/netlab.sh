# A small network lab for the net tests, built only inside network
# namespaces it creates: two "containers" on a bridge, and a router.
#
#   P-a   10.77.0.2/24   fd00:77::2/64  eth0 ──┐
#   P-b   10.77.0.3/24   fd00:77::3/64  eth0 ──┼── P-br: bridge br0 10.77.0.1/24 fd00:77::1/64
#   P-rt  10.77.0.254/24 fd00:77::fe/64 eth0 ┘   (ports va, vb, vr), forwarding on,
#                                                bridge-nf-call-iptables/ip6tables=1
#
# a and b route by default via 10.77.0.1 (IPv6: no default route) and
# 10.79.0.0/16 (fd00:79::/32) via the router, which has no route there. b answers TCP 80
# and UDP 5353 (echo) and ping over both families. IPv6 addresses are added
# with nodad, so they are usable at once.
# Holder processes give PIDs to use as targets: $NETLAB_A_PID, $NETLAB_B_PID.
# Each fault is one function; netlab_down removes everything (the test traps
# it). Interfaces are created inside the namespaces (`ip -n NS link add ...
# peer ... netns OTHER`), so nothing touches the machine's own.
#
#   . "$CTK_SOURCE_DIR/tests/common/netlab.sh"
#   netlab_up lab1; on_exit netlab_down lab1
#   netlab_nft_drop lab1

NETLAB_A_IP=10.77.0.2
NETLAB_B_IP=10.77.0.3
NETLAB_GW_IP=10.77.0.1
NETLAB_RT_IP=10.77.0.254
NETLAB_UNROUTED_IP=10.79.0.5
NETLAB_A_IP6=fd00:77::2
NETLAB_B_IP6=fd00:77::3
NETLAB_GW_IP6=fd00:77::1
NETLAB_RT_IP6=fd00:77::fe
NETLAB_UNROUTED_IP6=fd00:79::5

# nl_in NS CMD...: CMD in namespace NS's network namespace only (nsenter
# --net keeps /sys and the cgroups as they are, unlike `ip netns exec`).
nl_in() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

netlab_up() {
    local p=$1 ns
    for ns in a b br rt; do
        ip netns add "$p-$ns" || return 1
    done
    ip -n "$p-br" link add br0 type bridge || return 1
    ip -n "$p-br" addr add "$NETLAB_GW_IP/24" dev br0
    ip -n "$p-br" addr add "$NETLAB_GW_IP6/64" dev br0 nodad
    ip -n "$p-br" link set br0 up
    local pair
    for pair in a/va/$NETLAB_A_IP/$NETLAB_A_IP6 b/vb/$NETLAB_B_IP/$NETLAB_B_IP6 \
        rt/vr/$NETLAB_RT_IP/$NETLAB_RT_IP6; do
        local who port ip ip6
        IFS=/ read -r who port ip ip6 <<<"$pair"
        ip -n "$p-br" link add "$port" type veth peer name eth0 netns "$p-$who" || return 1
        ip -n "$p-br" link set "$port" master br0 up
        ip -n "$p-$who" addr add "$ip/24" dev eth0
        ip -n "$p-$who" addr add "$ip6/64" dev eth0 nodad
        ip -n "$p-$who" link set lo up
        ip -n "$p-$who" link set eth0 up
    done
    for ns in a b; do
        ip -n "$p-$ns" route add default via "$NETLAB_GW_IP"
        ip -n "$p-$ns" route add 10.79.0.0/16 via "$NETLAB_RT_IP"
        ip -n "$p-$ns" -6 route add fd00:79::/32 via "$NETLAB_RT_IP6"
    done
    nl_in "$p-br" sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
        net.ipv6.conf.all.forwarding=1 net.bridge.bridge-nf-call-ip6tables=1 || return 1
    nl_in "$p-rt" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1

    # nsenter itself, not nl_in: a backgrounded function is a subshell, and
    # $! would be that subshell in our own namespace. nsenter --net execs its
    # command in place, so $! is the process inside.
    nsenter --net="/run/netns/$p-a" sleep 100000 >/dev/null 2>&1 &
    NETLAB_A_PID=$!
    nsenter --net="/run/netns/$p-b" sleep 100000 >/dev/null 2>&1 &
    NETLAB_B_PID=$!
    nsenter --net="/run/netns/$p-b" python3 -c '
import socket, threading
def v6only(s):
    if s.family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return s
def tcp(family, any):
    s = v6only(socket.socket(family)); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((any, 80)); s.listen(64)
    while True:
        c, _ = s.accept(); c.close()
def udp(family, any):
    u = v6only(socket.socket(family, socket.SOCK_DGRAM)); u.bind((any, 5353))
    while True:
        d, a = u.recvfrom(2048); u.sendto(d, a)
threading.Thread(target=udp, args=(socket.AF_INET, "0.0.0.0"), daemon=True).start()
threading.Thread(target=udp, args=(socket.AF_INET6, "::"), daemon=True).start()
threading.Thread(target=tcp, args=(socket.AF_INET6, "::"), daemon=True).start()
tcp(socket.AF_INET, "0.0.0.0")' >/dev/null 2>&1 &
    NETLAB_B_SERVER_PID=$!
    export NETLAB_A_PID NETLAB_B_PID NETLAB_B_SERVER_PID
    # Ready when b's TCP port answers from a, over both families.
    local i
    for i in $(seq 50); do
        nl_in "$p-a" bash -c "exec 3<>/dev/tcp/$NETLAB_B_IP/80 && exec 4<>/dev/tcp/$NETLAB_B_IP6/80" \
            2>/dev/null && return 0
        sleep 0.1
    done
    echo "netlab: b's server did not come up" >&2
    return 1
}

# netlab_no_trace_left P WHAT [BPF]: fails (naming WHAT) if a ctk_trace_
# table is in any of lab P's namespaces, or, when BPF is set, a tracing
# program (nt_*) is still held by a ctk process.
netlab_no_trace_left() {
    local p=$1 what=$2 bpf=$3 ns
    if [ -n "$bpf" ] && command -v bpftool >/dev/null && bpftool -j prog show 2>/dev/null |
        jq -e '[.[] | select((.name // "") | startswith("nt_")) | select(any(.pids[]?; .comm == "ctk"))] | length > 0' >/dev/null; then
        fail "$what: a BPF tracing program of ctk is still loaded"
    fi
    for ns in a b br rt; do
        ! nl_in "$p-$ns" nft list tables 2>/dev/null | grep -q ctk_trace_ ||
            fail "$what: a tracing table is left in $p-$ns: $(nl_in "$p-$ns" nft list tables)"
    done
}

netlab_down() {
    local p=$1 ns pid
    for pid in ${NETLAB_A_PID:-} ${NETLAB_B_PID:-} ${NETLAB_B_SERVER_PID:-}; do
        kill "$pid" 2>/dev/null
    done
    # Anything else still running in the lab's namespaces.
    for ns in a b br rt; do
        [ -e "/run/netns/$p-$ns" ] || continue
        for pid in $(ip netns pids "$p-$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$p-$ns" 2>/dev/null
    done
    return 0
}

# (b) an nftables drop in the bridge namespace's forward hook.
netlab_nft_drop() {
    nl_in "$1-br" nft -f - <<EOF
table inet labfw {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip saddr $NETLAB_A_IP ip daddr $NETLAB_B_IP tcp dport 80 counter drop comment "drop a-b"
    }
}
EOF
}

# (b, IPv6) the same for IPv6: an ip6 drop in the bridge namespace's forward hook.
netlab_nft_drop6() {
    nl_in "$1-br" nft -f - <<EOF
table inet labfw6 {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip6 saddr $NETLAB_A_IP6 ip6 daddr $NETLAB_B_IP6 tcp dport 80 counter drop comment "drop a-b v6"
    }
}
EOF
}

# (c) an iptables-nft drop in a DOCKER-USER chain jumped to from FORWARD.
netlab_ipt_nft_drop() {
    nl_in "$1-br" iptables-nft -N DOCKER-USER &&
    nl_in "$1-br" iptables-nft -I FORWARD -j DOCKER-USER &&
    nl_in "$1-br" iptables-nft -A DOCKER-USER -s "$NETLAB_A_IP" -d "$NETLAB_B_IP" -p tcp --dport 80 -j DROP
}

# (d1) no route at the sender: a keeps only its connected subnet.
netlab_no_route_sender() {
    ip -n "$1-a" route del default && ip -n "$1-a" route del 10.79.0.0/16
}
# (d1, IPv6) the same for IPv6.
netlab_no_route_sender6() {
    ip -n "$1-a" -6 route del fd00:79::/32
}
# (d2) needs no change: a → $NETLAB_UNROUTED_IP goes to the router, which has no route.

# (e) b's bridge port down.
netlab_port_down() { ip -n "$1-br" link set vb down; }

# (f) reverse-path filter at b: a sends from 10.66.0.2, which b cannot route back.
netlab_rp_filter() {
    ip -n "$1-a" addr add 10.66.0.2/32 dev eth0 &&
    ip -n "$1-b" route del default &&
    nl_in "$1-b" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
}

# (g) a published port, docker's shape: 10.77.0.1:8080 → b:80 (DNAT in a
# DOCKER chain of nat, masquerade for the hairpin).
netlab_dnat() {
    local p=$1
    nl_in "$p-br" iptables-nft -t nat -N DOCKER &&
    nl_in "$p-br" iptables-nft -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER &&
    nl_in "$p-br" iptables-nft -t nat -A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination "$NETLAB_B_IP:80" &&
    nl_in "$p-br" iptables-nft -t nat -A POSTROUTING -s 10.77.0.0/24 -d "$NETLAB_B_IP" -p tcp -m tcp --dport 80 -j MASQUERADE
}

# (h) an iptables-legacy drop in FORWARD (nftables tracing cannot see it).
netlab_ipt_legacy_drop() {
    nl_in "$1-br" iptables-legacy -A FORWARD -s "$NETLAB_A_IP" -d "$NETLAB_B_IP" -p tcp --dport 80 -j DROP
}

# (h2) docker-on-legacy's shape: iptables-legacy FORWARD policy DROP, no rule.
netlab_ipt_legacy_policy_drop() {
    nl_in "$1-br" iptables-legacy -P FORWARD DROP
}

# netlab_tcp_ok P FROM IP PORT: a TCP connect from namespace P-FROM succeeds within 2 s.
netlab_tcp_ok() {
    nl_in "$1-$2" timeout 2 bash -c "exec 3<>/dev/tcp/$3/$4" 2>/dev/null
}

# netlab_udp_errno P FROM IP PORT: sends one UDP datagram from P-FROM and
# prints where it failed and how: "connect ENETUNREACH" (no route at the
# sender), "recv ENETUNREACH" (a router answered net unreachable), "recv
# timeout", or "ok" (an answer came back).
netlab_udp_errno() {
    nl_in "$1-$2" python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR: report a router answering net unreachable too
step = "connect"
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); step = "send"; s.send(b"x")
    step = "recv"; s.recv(64); print("ok")
except socket.timeout:
    print(step, "timeout")
except OSError as e:
    print(step, errno.errorcode.get(e.errno, e.errno))' "$3" "$4"
}
