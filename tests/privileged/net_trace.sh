#!/bin/bash
# ctk net trace --probe names the place and the reason for each fault of the
# network lab (tests/common/netlab.sh): delivered, an nftables drop, an
# iptables-nft DOCKER-USER drop, no route at the sender and at a router, a
# bridge port down, rp_filter, a published port's DNAT (the tuple before and
# after) and an iptables-legacy drop. After every trace, a killed trace and
# every bad input, no tracing table is left in any of the lab's namespaces.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/netlab.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
command -v iptables-legacy >/dev/null || skip_or_fail "iptables-legacy is missing"
command -v jq >/dev/null || skip_or_fail "jq is missing"
T=$(mktemp -d /tmp/ctk-net-trace.XXXXXX)
on_exit rm -rf "$T"
P=ctktr$$
on_exit netlab_down $P

# The kernel tracer runs where BPF works; without it the trace says so and
# goes on with netfilter alone.
# (set from the first trace's warnings).
BPF=
trace() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" net trace "$@"; }
# The lab's holder processes, found in their namespaces.
pid_in() { ip netns pids "$1" | head -1; }
# summary ARGS...: the trace's last line, in plain words.
summary() {
    trace --format json "$@" >"$T/out.json" 2>"$T/err" || fail "trace $*: status $? ($(cat "$T/err"))"
    jq -r 'select(.Event == "summary") | .Detail' "$T/out.json"
}
# No ctk_trace table in any of the lab's namespaces, and no tracing program
# (nt_*) held by a ctk process.
no_tables() { netlab_no_trace_left $P "$1" "$BPF"; }
lab() {
    netlab_down $P
    netlab_up $P || fail "netlab_up"
    A=$(pid_in $P-a) B=$(pid_in $P-b)
    [ -n "$A" ] && [ -n "$B" ] || fail "no holder processes in the lab"
}

# (a) working traffic: delivered to b, with b's reply.
lab
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
grep -q "no kernel tracer" "$T/err" || BPF=1
expect_contains "(a) delivered" "$s" "DELIVERED to netns $P-b (in eth0)"
expect_contains "(a) reply" "$s" "reply seen"
jq -r 'select(.Event == "hop") | .Netns' "$T/out.json" | grep -qx "$P-br" || fail "(a) no hop through $P-br"
no_tables "(a)"
s=$(summary --from pid://$A --to pid://$B --proto udp --dport 5353 --probe)
expect_contains "(a) udp" "$s" "DELIVERED to netns $P-b"
s=$(summary --from pid://$A --to $NETLAB_B_IP --proto icmp --probe)
expect_contains "(a) icmp" "$s" "DELIVERED to netns $P-b"
no_tables "(a) udp, icmp"
# --count 3 with TCP: three SYNs from the probe's port, each a new connection
# (the last one reset), each delivered on its own.
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe --count 3)
[ "$(grep -c "^DELIVERED to netns $P-b" <<<"$s")" = 3 ] || fail "(a) --count 3: not three deliveries: $s"
[ "$(jq -r 'select(.Event == "sent") | .Detail' "$T/out.json" | sort -u | wc -l)" = 1 ] ||
    fail "(a) --count 3: the probes did not share one source port"
for n in 1 2 3; do
    jq -r "select(.Packet == $n and .Event == \"hop\") | .Netns" "$T/out.json" | grep -qx "$P-b" ||
        fail "(a) --count 3: packet $n has no hop in $P-b"
done
# and three times no socket at b (nothing listens on 81): the kernel's reason
if [ -n "$BPF" ]; then
    s=$(summary --from pid://$A --to pid://$B --dport 81 --probe --count 3)
    [ "$(grep -c "NO_SOCKET" <<<"$s")" = 3 ] || fail "(a) --count 3 to a closed port: $s"
    expect_contains "(a) closed port" "$s" "DROPPED in netns $P-b (eth0): NO_SOCKET at tcp_v4_rcv"
    expect_contains "(a) closed port" "$s" \
        "no tcp socket listens on $NETLAB_B_IP:81 (the sender's socket: refused)"
fi

# (b) an nftables drop in forward: the rule by table, chain, handle and comment.
netlab_nft_drop $P || fail "netlab_nft_drop"
h=$(nl_in $P-br nft -a list chain inet labfw forward | sed -n 's/.*drop a-b" # handle \([0-9]*\)/\1/p')
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
expect_eq "(b) nft drop" "$s" \
    "DROPPED in netns $P-br (bridge br0, forward): inet labfw forward rule $h \"drop a-b\" (NETFILTER_DROP)"
no_tables "(b)"

# (c) iptables-nft in DOCKER-USER, jumped to from FORWARD.
lab
netlab_ipt_nft_drop $P || fail "netlab_ipt_nft_drop"
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
expect_contains "(c) DOCKER-USER drop" "$s" "DROPPED in netns $P-br (bridge br0, FORWARD -> DOCKER-USER): ip filter DOCKER-USER rule"
jq -r 'select(.Event == "rule" and .Verdict == "drop") | .Detail' "$T/out.json" | grep -qF -- "-A DOCKER-USER -s 10.77.0.2/32 -d 10.77.0.3/32 -p tcp -m tcp --dport 80 -j DROP" ||
    fail "(c) the rule's text is not shown"
no_tables "(c)"

# (d2) no route at the router: it answers net unreachable.
lab
s=$(summary --from pid://$A --to $NETLAB_UNROUTED_IP --dport 80 --probe)
expect_contains "(d2) router" "$s" "DROPPED in netns $P-rt"
expect_contains "(d2) no route" "$s" "no route to $NETLAB_UNROUTED_IP"
no_tables "(d2)"

# (d1) no route at the sender: no packet exists; the FIB says why.
netlab_no_route_sender $P || fail "netlab_no_route_sender"
s=$(summary --from pid://$A --to $NETLAB_UNROUTED_IP --dport 80 --probe)
expect_eq "(d1) sender" "$s" "NO ROUTE in netns $P-a (sender): tcp $NETLAB_UNROUTED_IP: no route (Network is unreachable)"
no_tables "(d1)"

# (e) b's bridge port down.
lab
netlab_port_down $P || fail "netlab_port_down"
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe --timeout 4)
expect_contains "(e) port down" "$s" "NO VERDICT (timeout): last seen in netns $P-br"
expect_contains "(e) the port" "$s" "probable cause: vb (port of br0, disabled) down in netns $P-br"
no_tables "(e)"

# (f) rp_filter at b, for a source b cannot route back to.
lab
netlab_rp_filter $P || fail "netlab_rp_filter"
s=$(summary --from 10.66.0.2 --to pid://$B --dport 80 --probe --timeout 4)
expect_contains "(f) rp_filter" "$s" "netns $P-b drops source 10.66.0.2 arriving on eth0: reverse path filter (rp_filter=1"
if [ -n "$BPF" ]; then expect_contains "(f) kernel reason" "$s" "DROPPED in netns $P-b (eth0): IP_RPFILTER at "; fi
no_tables "(f)"

# (g) a published port: the DNAT rule and the tuple before and after it.
lab
netlab_dnat $P || fail "netlab_dnat"
s=$(summary --from pid://$A --to $NETLAB_GW_IP:8080 --probe)
expect_contains "(g) published port" "$s" "translated to $NETLAB_B_IP:80 in netns $P-br"
if [ -n "$BPF" ]; then expect_contains "(g) delivered" "$s" "DELIVERED to netns $P-b (in eth0)"; fi
jq -r 'select(.Event == "rule") | .Detail' "$T/out.json" | grep -qiE "dnat.*$NETLAB_B_IP:80" ||
    fail "(g) the DNAT rule is not shown"
jq -r 'select(.Netns == "'$P-br'") | .Tuple' "$T/out.json" | grep -q "> $NETLAB_GW_IP:8080" ||
    fail "(g) no tuple before the translation"
jq -r 'select(.Netns == "'$P-br'") | .Tuple' "$T/out.json" | grep -q "> $NETLAB_B_IP:80" ||
    fail "(g) no tuple after the translation"
no_tables "(g)"

# (h) iptables-legacy: named by the counter the packet advanced.
lab
netlab_ipt_legacy_drop $P || fail "netlab_ipt_legacy_drop"
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
expect_contains "(h) legacy drop" "$s" "DROPPED in netns $P-br"
expect_contains "(h) legacy rule" "$s" "iptables-legacy filter FORWARD rule 1 \"-A FORWARD -s 10.77.0.2/32 -d 10.77.0.3/32 -p tcp -m tcp --dport 80 -j DROP\""
no_tables "(h)"

# (h2) a legacy chain's policy: named by the policy's counter.
lab
netlab_ipt_legacy_policy_drop $P || fail "netlab_ipt_legacy_policy_drop"
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
expect_contains "(h2) legacy policy drop" "$s" "DROPPED in netns $P-br"
expect_contains "(h2) legacy policy" "$s" "iptables-legacy filter FORWARD policy \"-P FORWARD DROP\""
no_tables "(h2)"

# Interrupted (SIGINT) and killed (SIGKILL) traces: the first removes its
# tables itself, the next run removes those of the killed one.
lab
"$CTK_BIN" --root "$T/root" --run-root "$T/run" net trace --from pid://$A --to pid://$B --dport 81 --timeout 60 >/dev/null 2>&1 &
tp=$!
wait_until 10 sh -c "nsenter --net=/run/netns/$P-br nft list tables | grep -q ctk_trace_$tp" ||
    fail "no tracing table while tracing"
kill -INT $tp
wait $tp
no_tables "SIGINT"
"$CTK_BIN" --root "$T/root" --run-root "$T/run" net trace --from pid://$A --to pid://$B --dport 81 --timeout 60 >/dev/null 2>&1 &
tp=$!
wait_until 10 sh -c "nsenter --net=/run/netns/$P-br nft list tables | grep -q ctk_trace_$tp" ||
    fail "no tracing table while tracing"
kill -9 $tp
wait $tp 2>/dev/null
nl_in $P-br nft list tables | grep -q "ctk_trace_$tp" || fail "the killed trace's table is already gone (test is void)"
s=$(summary --from pid://$A --to pid://$B --dport 80 --probe)
expect_contains "after kill -9" "$s" "DELIVERED"
no_tables "after kill -9 and a new run"
[ -z "$(ls "$T/run/net-trace" 2>/dev/null)" ] || fail "records left: $(ls "$T/run/net-trace")"

# Killed again, and the next run traces another lab: the killed one's record
# leads that run to the tables in namespaces it does not trace.
"$CTK_BIN" --root "$T/root" --run-root "$T/run" net trace --from pid://$A --to pid://$B --dport 81 --timeout 60 >/dev/null 2>&1 &
tp=$!
wait_until 10 sh -c "nsenter --net=/run/netns/$P-br nft list tables | grep -q ctk_trace_$tp" ||
    fail "no tracing table while tracing"
kill -9 $tp
wait $tp 2>/dev/null
[ -f "$T/run/net-trace/$tp.json" ] || fail "no record of the killed trace in $T/run/net-trace"
nl_in $P-br nft list tables | grep -q "ctk_trace_$tp" || fail "the killed trace's table is already gone (test is void)"
P2=ctktq$$
on_exit netlab_down $P2
netlab_up $P2 || fail "netlab_up $P2"
trace --from pid://$(pid_in $P2-a) --to pid://$(pid_in $P2-b) --dport 80 --probe >/dev/null 2>"$T/err" ||
    fail "trace in $P2: $(cat "$T/err")"
no_tables "after kill -9 and a run elsewhere"
[ -z "$(ls "$T/run/net-trace")" ] || fail "records left: $(ls "$T/run/net-trace")"
netlab_down $P2

# Bad input: one line naming the thing and the cause, non-zero, nothing left.
bad() {
    local what=$1 expect=$2; shift 2
    trace "$@" >"$T/out" 2>"$T/err" && fail "$what: succeeded"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "$what: not one line: $(cat "$T/err")"
    expect_contains "$what" "$(cat "$T/err")" "$expect"
    no_tables "$what"
}
bad "unknown container" "no-such-container-$$" --from no-such-container-$$ --to pid://$B --dport 80
bad "protocol" "invalid protocol 'sctp'" --from pid://$A --to pid://$B --proto sctp
bad "port range" "invalid --dport 70000" --from pid://$A --to pid://$B --dport 70000
bad "port text" "dport" --from pid://$A --to pid://$B --dport eighty
bad "missing --to" "--from A and --to B are required" --from pid://$A
bad "icmp port" "--dport does not apply" --from pid://$A --to pid://$B --proto icmp --dport 80
bad "probe without port" "needs a destination port" --from pid://$A --to pid://$B --probe
bad "dead pid" "no such process" --from pid://999999999 --to pid://$B --dport 80
bad "loopback" "loopback" --from 127.0.0.1 --to pid://$B --dport 80
bad "timeout" "invalid --timeout" --from pid://$A --to pid://$B --dport 80 --timeout -1
if id nobody >/dev/null 2>&1; then
    chmod 755 "$T"
    out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTK_BIN" --root "$T/nobody" --run-root "$T/nobody-run" \
        net trace --from pid://$A --to pid://$B --dport 80 2>&1) && fail "unprivileged: succeeded"
    expect_contains "unprivileged" "$out" "needs root"
    no_tables "unprivileged"
fi
echo "net_trace: ok"
