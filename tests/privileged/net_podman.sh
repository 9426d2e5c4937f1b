#!/bin/bash
# ctk net topology, rules and trace with podman containers on podman's
# default CNI network (Debian's podman 4 with containernetworking-plugins):
# podman runs inside a network namespace this test creates, so the bridge
# cni-podman0, the host-side veths and the CNI plugins' iptables chains
# (firewall: CNI-FORWARD; portmap: CNI-HOSTPORT-DNAT, CNI-DN-<hash>) are made
# there and never in the machine's own namespace.
# - topology: cni-podman0 with both veths, each labelled with the podman
#   container that owns its peer;
# - rules: the published container's CNI rules and its publication
#   "host 0.0.0.0:8080/tcp -> NAME:80" from portmap's DNAT;
# - trace: a's probe to b's httpd is delivered, then a DROP put ahead of
#   CNI-FORWARD in FORWARD is named;
# - nothing left: no tracing table, no container, no netns-* file of podman.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
missing=$(ctk_rt_have_tools podman conmon runc iptables-nft nft nsenter ip jq) ||
    skip_or_fail "missing: $missing"
# The CNI plugins run `iptables`: the test reads and adds rules as iptables-nft.
iptables -V 2>/dev/null | grep -q nf_tables || skip_or_fail "iptables is not iptables-nft: $(iptables -V 2>&1)"
for p in bridge host-local portmap firewall tuning; do
    [ -x "/usr/lib/cni/$p" ] || skip_or_fail "no CNI plugin /usr/lib/cni/$p (package containernetworking-plugins)"
done

# The machine's own namespace before: podman must add nothing to it.
host_had_bridge=$(ip -o link show cni-podman0 2>/dev/null)
host_had_chains=$(nft list ruleset 2>/dev/null | grep -c 'chain CNI-')

CTK_RT_PODMAN_NETWORK=1
ctk_rt_init
T=$CTK_RT_DIR/ctk
mkdir -p "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
in_ns() { ctk_rt_nsenter "$@"; }
ctk_rt_setup_podman
ctk_busybox_import_podman ctk-busybox:latest || fail "podman import of the busybox image failed"
# Bridged traffic between containers meets iptables only through br_netfilter.
in_ns sysctl -qw net.bridge.bridge-nf-call-iptables=1 || skip_or_fail "no br_netfilter"

A=ctkpoda$$
B=ctkpodb$$
ctk_podman run -d --name $A localhost/ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "podman run $A on the CNI network failed"
ctk_podman run -d --name $B -p 8080:80 localhost/ctk-busybox:latest httpd -f -p 80 -h / >/dev/null ||
    fail "podman run $B -p 8080:80 failed"
inspect() { ctk_podman inspect --format "$2" "$1"; }
AIP=$(inspect $A '{{.NetworkSettings.IPAddress}}')
BIP=$(inspect $B '{{.NetworkSettings.IPAddress}}')
[[ $AIP =~ ^10\.88\.[0-9.]+$ && $BIP =~ ^10\.88\.[0-9.]+$ ]] || fail "no CNI addresses: '$AIP' '$BIP'"
SANDBOXES="$(inspect $A '{{.NetworkSettings.SandboxKey}}') $(inspect $B '{{.NetworkSettings.SandboxKey}}')"
for s in $SANDBOXES; do
    case $s in /run/netns/netns-*) [ -e "$s" ] || fail "no namespace file $s" ;;
    *) fail "unexpected sandbox key '$s'" ;; esac
done
wait_until 10 ctk_podman exec $A sh -c "echo | nc -w 1 $BIP 80" || fail "$B's httpd does not answer $A"

# Where podman put things: all in the test's namespace, none in the machine's.
in_ns ip link show cni-podman0 >/dev/null || fail "podman made no cni-podman0 in $CTK_RT_NETNS"
in_ns iptables-nft -S CNI-FORWARD >/dev/null || fail "no CNI-FORWARD chain in $CTK_RT_NETNS"
[ -n "$host_had_bridge" ] || ! ip -o link show cni-podman0 >/dev/null 2>&1 ||
    fail "cni-podman0 appeared in the machine's own namespace"
expect_eq "CNI chains in the machine's own ruleset" \
    "$(nft list ruleset 2>/dev/null | grep -c 'chain CNI-')" "$host_had_chains"

# ---- topology ------------------------------------------------------------
row() { jq -c --arg n "$2" --arg i "$3" '.[] | select(.Netns == $n and .Iface == $i)' <<<"$1"; }
field() { jq -r "$2" <<<"$1"; }
all=$(ctk net topology --format json) || fail "ctk net topology failed"
expect_eq "cni-podman0 in the test's namespace" \
    "$(field "$(row "$all" "netns $CTK_RT_NETNS" cni-podman0)" '.Kind + " " + .Addresses[0]')" "bridge 10.88.0.1/16"
for c in $A $B; do
    ip=$AIP
    [ $c = $B ] && ip=$BIP
    crow=$(row "$all" $c eth0)
    [ -n "$crow" ] || fail "no eth0 row for $c: $(jq -r '.[].Netns' <<<"$all" | sort -u)"
    expect_eq "$c's namespace owner" "$(field "$crow" .NetnsOwner)" "podman://$c"
    expect_eq "$c's address" "$(field "$crow" '.Addresses[0]')" "$ip/16"
    expect_eq "$c's peer" "$(field "$crow" '.PeerDetail.Netns + " " + .PeerDetail.Master')" \
        "netns $CTK_RT_NETNS cni-podman0"
    hrow=$(row "$all" "netns $CTK_RT_NETNS" "$(field "$crow" .PeerDetail.Iface)")
    expect_eq "$c's host-side veth" "$(field "$hrow" '.Kind + " " + .Port + " " + .PeerOwner')" \
        "veth cni-podman0/forwarding podman://$c"
done

# ---- rules ---------------------------------------------------------------
out=$(ctk net rules $B --format json) || fail "ctk net rules $B failed"
rows() { jq -c "$1" <<<"$out"; }
expect_eq "publication" "$(rows '[.[] | select(.Kind == "publication") | .Publication
    | {Proto, HostAddr, HostPort, Container, Addr, Port}]')" \
    "[{\"Proto\":\"tcp\",\"HostAddr\":\"0.0.0.0\",\"HostPort\":\"8080\",\"Container\":\"$B\",\"Addr\":\"$BIP\",\"Port\":\"80\"}]"
expect_contains "publication text" "$(rows '[.[] | select(.Kind == "publication") | .Rule]')" \
    "host 0.0.0.0:8080/tcp → $B:80 (rule ip nat CNI-DN-"
# The firewall plugin's rules for b, after FORWARD's jump, in chain order
# (a's rules are listed too: they match a's traffic to and from b).
expect_eq "firewall plugin's rules for $B" \
    "$(rows "[.[] | select(.Kind == \"rule\" and .Table == \"ip filter\") | .Rule
        | select(endswith(\"-j CNI-FORWARD\") or contains(\"$BIP/\"))]")" \
    "[\"-A FORWARD -m comment --comment \\\"CNI firewall plugin rules\\\" -j CNI-FORWARD\",\"-A CNI-FORWARD -d $BIP/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\",\"-A CNI-FORWARD -s $BIP/32 -j ACCEPT\"]"
# portmap's DNAT runs from PREROUTING and OUTPUT through CNI-HOSTPORT-DNAT.
expect_eq "portmap's DNAT under both hooks" \
    "$(rows "[.[] | select(.Kind == \"rule\" and (.Rule | endswith(\"--dport 8080 -j DNAT --to-destination $BIP:80\"))) | .Chain | sub(\"^CNI-DN-[0-9a-f]+ \"; \"\")]")" \
    '["(prerouting/-100)","(output/-100)"]'
expect_contains "bridge plugin's masquerade chain" \
    "$(rows '[.[] | select(.Kind == "rule" and .Table == "ip nat") | .Rule]')" "\"-A POSTROUTING -s $BIP/32 -m comment"
# a's nat chain accepts a's packets to the network before it masquerades:
# that masquerade never meets b's traffic; b's own does (what b sends out).
ACHAIN=$(in_ns iptables-nft -t nat -S POSTROUTING | awk -v s="$AIP/32" '$4 == s { print $NF }')
BCHAIN=$(in_ns iptables-nft -t nat -S POSTROUTING | awk -v s="$BIP/32" '$4 == s { print $NF }')
[[ $ACHAIN == CNI-* && $BCHAIN == CNI-* ]] || fail "no CNI nat chains for the containers: '$ACHAIN' '$BCHAIN'"
nat=$(rows '[.[] | select(.Kind == "rule" and .Table == "ip nat") | .Rule]')
expect_contains "$B's masquerade" "$nat" "\"-A $BCHAIN ! -d 224.0.0.0/4"
expect_contains "$A's accept of the network" "$nat" "\"-A $ACHAIN -d 10.88.0.0/16"
case $nat in *"-A $ACHAIN ! -d 224.0.0.0/4"*) fail "$A's masquerade listed for $B: $nat" ;; esac
# Only portmap's mark match is beyond iptables-nft-save's words: it may apply.
expect_eq "rules that may apply" "$(rows '[.[] | select(.Kind == "rule" and .May != "") | .Rule]')" \
    '["-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE"]'
other=$(ctk net rules $A --format json) || fail "ctk net rules $A failed"
expect_eq "$A: no publication" "$(jq '[.[] | select(.Kind == "publication")] | length' <<<"$other")" 0

# ---- trace ---------------------------------------------------------------
summary() {
    ctk net trace --format json "$@" >"$T/out.json" 2>"$T/err" || fail "trace $*: status $? ($(cat "$T/err"))"
    jq -r 'select(.Event == "summary") | .Detail' "$T/out.json"
}
s=$(summary --from podman://$A --to podman://$B --dport 80 --probe)
expect_contains "delivered between podman containers" "$s" "DELIVERED to netns $B"
jq -r 'select(.Event == "hop") | .Netns' "$T/out.json" | grep -qx "$CTK_RT_NETNS" ||
    fail "no hop through podman's namespace ($CTK_RT_NETNS)"
in_ns iptables-nft -I FORWARD 1 -s "$AIP" -d "$BIP" -p tcp --dport 80 -j DROP || fail "cannot add the drop"
s=$(summary --from $A --to $B --dport 80 --probe)
expect_contains "FORWARD drop" "$s" "DROPPED in netns $CTK_RT_NETNS (bridge cni-podman0, FORWARD): ip filter FORWARD rule"
jq -r 'select(.Event == "rule" and .Verdict == "drop") | .Detail' "$T/out.json" |
    grep -qF -- "-A FORWARD -s $AIP/32 -d $BIP/32 -p tcp -m tcp --dport 80 -j DROP" ||
    fail "the FORWARD rule's text is not shown: $(cat "$T/out.json")"
in_ns nft list tables | grep -q ctk_trace_ && fail "a tracing table is left in podman's namespace"
for c in $A $B; do
    pid=$(inspect $c '{{.State.Pid}}')
    nsenter --net=/proc/$pid/ns/net nft list tables | grep -q ctk_trace_ && fail "a tracing table is left in $c"
done

# ---- nothing left ----------------------------------------------------------
ctk_podman rm -f -t 0 $A $B >/dev/null || fail "podman rm -f failed"
expect_eq "podman containers left" "$(ctk_podman ps -aq)" ""
for s in $SANDBOXES; do [ -e "$s" ] && fail "podman left its namespace file $s"; done
echo "net_podman: ok"
