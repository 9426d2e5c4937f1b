#!/bin/bash
# ctk net rules on the network lab (tests/common/netlab.sh): for b, the
# nftables drop (b), the iptables-nft DOCKER-USER drop (c) right after the
# FORWARD jump that reaches it, the DNAT publication (g) with its arguments
# and a counter that counts, the legacy drop (h); none of the a→b rules for
# the router, which is on the same bridge; and no legacy iptables table
# created anywhere by reading.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/netlab.sh"
require_root
for t in jq iptables-nft iptables-legacy nft nsenter; do
    command -v $t >/dev/null || skip_or_fail "$t is missing"
done
[ -x "$CTK_BIN" ] || fail "ctk binary not found: $CTK_BIN"
P=ctkrl$$
on_exit netlab_down $P
netlab_up $P || fail "netlab_up"

# Holders whose own PID is in the namespace (nsenter execs sleep).
holder() { nsenter --net=/run/netns/$P-$1 sleep 100000 >/dev/null 2>&1 & echo $!; }
B=$(holder b); on_exit kill $B
RT=$(holder rt); on_exit kill $RT

legacy_tables() { # NS: the legacy tables that exist in P-NS, v4 and v6
    nsenter --net=/run/netns/$P-$1 sh -c 'cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null' |
        sort | tr '\n' ' '
}
for ns in a b br rt; do
    expect_eq "no legacy table in $ns before" "$(legacy_tables $ns)" ""
done
host_legacy_before=$(sh -c 'cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null' | sort)

netlab_nft_drop $P || fail "netlab_nft_drop"
netlab_ipt_nft_drop $P || fail "netlab_ipt_nft_drop"
netlab_dnat $P || fail "netlab_dnat"
# One connection to the published port: DNAT counts it (then the drops drop it).
netlab_tcp_ok $P a $NETLAB_GW_IP 8080 && fail "a → 10.77.0.1:8080 got through the drop rules"

out=$("$CTK_BIN" net rules pid://$B --format json) || fail "ctk net rules pid://$B failed"
rows() { jq -c "$1" <<<"$out"; }

# (b) the nftables drop, with its comment, hook and priority.
expect_eq "nft drop" "$(rows '[.[] | select(.Source == "nft" and .Table == "inet labfw")
    | {Chain, Verdict, Comment}]')" \
    '[{"Chain":"forward (forward/0)","Verdict":"drop","Comment":"drop a-b"}]'
# (c) the iptables-nft DOCKER-USER drop in iptables syntax, right after FORWARD's jump.
ipt=$(rows '[.[] | select(.Kind == "rule" and .Source == "iptables-nft" and .Table == "ip filter") | .Rule]')
expect_eq "DOCKER-USER drop after the FORWARD jump" "$ipt" \
    '["-A FORWARD -j DOCKER-USER","-A DOCKER-USER -s 10.77.0.2/32 -d 10.77.0.3/32 -p tcp -m tcp --dport 80 -j DROP"]'
expect_eq "DOCKER-USER chain runs at forward/0" \
    "$(rows '[.[] | select(.Rule | startswith("-A DOCKER-USER")) | .Chain]')" '["DOCKER-USER (forward/0)"]'
# (g) the publication with its arguments, first, and the DNAT counted the SYN.
expect_eq "publication" "$(rows '[.[] | select(.Kind == "publication") | .Publication
    | {Proto, HostAddr, HostPort, Addr, Port}]')" \
    '[{"Proto":"tcp","HostAddr":"0.0.0.0","HostPort":"8080","Addr":"10.77.0.3","Port":"80"}]'
expect_eq "publication is the first row" "$(rows '.[0].Kind')" '"publication"'
expect_contains "publication text" "$(rows '.[0].Rule')" "host 0.0.0.0:8080/tcp → "
dnat_pkts=$(rows '[.[] | select(.Kind == "rule" and (.Rule | contains("--to-destination 10.77.0.3:80")))][0].Packets')
[ "$dnat_pkts" -ge 1 ] 2>/dev/null || fail "DNAT rule counted $dnat_pkts packets, expected at least 1"
expect_eq "no legacy rules yet" "$(rows '[.[] | select(.Source == "iptables-legacy")] | length')" "0"
expect_eq "table view names the drop" \
    "$("$CTK_BIN" net rules pid://$B | grep -c 'drop comment "drop a-b"')" "1"

# The router sits on the same bridge: neither a→b drop can touch it (the
# DNAT and the masquerade of 10.77.0.0/24 can: it may connect to 10.77.0.1:8080).
rt_out=$("$CTK_BIN" net rules pid://$RT --format json) || fail "ctk net rules pid://$RT failed"
expect_eq "router: no a→b drop" "$(jq '[.[] | select(.Verdict == "drop")] | length' <<<"$rt_out")" "0"
expect_eq "router: the DNAT can rewrite its traffic to 10.77.0.1:8080" \
    "$(jq '[.[] | select(.Kind == "rule" and .Verdict == "dnat to 10.77.0.3:80")] | length' <<<"$rt_out")" "1"
expect_eq "router: FORWARD's jump is still listed" \
    "$(jq -c '[.[] | select(.Rule == "-A FORWARD -j DOCKER-USER") | .Source]' <<<"$rt_out")" '["iptables-nft"]'

for ns in a b br rt; do
    expect_eq "reading created no legacy table in $ns" "$(legacy_tables $ns)" ""
done

# (h) a legacy drop alone: listed (legacy rules have a number, no handle),
# and its counter counts the SYN it dropped.
nl_in $P-br nft delete table inet labfw || fail "cannot remove labfw"
nl_in $P-br iptables-nft -F DOCKER-USER || fail "cannot flush DOCKER-USER"
netlab_ipt_legacy_drop $P || fail "netlab_ipt_legacy_drop"
netlab_tcp_ok $P a $NETLAB_B_IP 80 && fail "a → b:80 got through the legacy drop"
out=$("$CTK_BIN" net rules pid://$B --format json) || fail "ctk net rules (legacy) failed"
expect_eq "legacy drop" "$(rows '[.[] | select(.Source == "iptables-legacy") | {Table, Chain, Position, Handle, Verdict, Rule}]')" \
    '[{"Table":"ip filter","Chain":"FORWARD (forward/0)","Position":1,"Handle":"-","Verdict":"drop","Rule":"-A FORWARD -s 10.77.0.2/32 -d 10.77.0.3/32 -p tcp -m tcp --dport 80 -j DROP"}]'
legacy_pkts=$(rows '[.[] | select(.Source == "iptables-legacy")][0].Packets')
[ "$legacy_pkts" -ge 1 ] 2>/dev/null || fail "legacy drop counted $legacy_pkts packets, expected at least 1"
expect_eq "only the filter table exists in br" "$(legacy_tables br)" "filter "
for ns in a b rt; do
    expect_eq "still no legacy table in $ns" "$(legacy_tables $ns)" ""
done

# Without TARGET: the host and the containers; reading creates nothing there either.
"$CTK_BIN" net rules >/dev/null || fail "ctk net rules (all) failed"
expect_eq "host legacy tables unchanged" \
    "$(sh -c 'cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null' | sort)" "$host_legacy_before"

# Bad input: one line, exit 1.
err=$("$CTK_BIN" net rules docker://ctk-no-such-$$ 2>&1 >/dev/null); rc=$?
expect_eq "unknown container status" "$rc" "1"
expect_eq "unknown container: one line" "$(wc -l <<<"$err")" "1"
expect_contains "unknown container message" "$err" "ctk-no-such-$$"
err=$("$CTK_BIN" net rules pid://$$ 2>&1 >/dev/null); rc=$?
expect_eq "host-namespace target status" "$rc" "1"
expect_contains "host-namespace target message" "$err" "no network namespace of its own"
echo "net_rules: ok"
