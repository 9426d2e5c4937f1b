#!/bin/bash
# ctk net trace between two containers of a real dockerd (with its iptables
# rules and docker0, started inside a network namespace this test creates):
# the probe is delivered, then a DROP inserted into DOCKER-USER is named by
# the trace, and nothing of the trace is left in docker's namespace.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
missing=$(ctk_rt_have_tools dockerd containerd docker iptables-nft nsenter ip jq) ||
    skip_or_fail "missing: $missing"
unset DOCKER_HOST DOCKER_CONTEXT CONTAINERD_ADDRESS CONTAINERD_NAMESPACE

CTK_RT_DOCKER_IPTABLES=1
ctk_rt_init
T=$CTK_RT_DIR/ctk
mkdir -p "$T"
in_ns() { ctk_rt_nsenter "$@"; }
trace() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" net trace --format json "$@"; }
summary() {
    trace "$@" >"$T/out.json" 2>"$T/err" || fail "trace $*: status $? ($(cat "$T/err"))"
    jq -r 'select(.Event == "summary") | .Detail' "$T/out.json"
}

ctk_rt_start_containerd || fail "containerd did not start"
ctk_rt_start_dockerd || fail "dockerd with iptables did not start"
ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of the busybox image failed"
in_ns ip link show docker0 >/dev/null || fail "dockerd made no docker0"
# Bridged traffic between containers meets iptables only through br_netfilter.
in_ns sysctl -qw net.bridge.bridge-nf-call-iptables=1 || skip_or_fail "no br_netfilter"

ctk_docker run -d --name ctktra ctk-busybox:latest sleep 100000 >/dev/null || fail "docker run a"
ctk_docker run -d --name ctktrb ctk-busybox:latest httpd -f -p 80 -h / >/dev/null || fail "docker run b"
BIP=$(ctk_docker inspect --format '{{.NetworkSettings.IPAddress}}' ctktrb)
AIP=$(ctk_docker inspect --format '{{.NetworkSettings.IPAddress}}' ctktra)
[ -n "$AIP" ] && [ -n "$BIP" ] || fail "containers have no addresses"
wait_until 10 ctk_docker exec ctktra sh -c "echo | nc -w 1 $BIP 80" || fail "b's httpd does not answer a"

s=$(summary --from docker://ctktra --to docker://ctktrb --dport 80 --probe)
expect_contains "delivered between docker containers" "$s" "DELIVERED to netns ctktrb"
jq -r 'select(.Event == "hop") | .Netns' "$T/out.json" | grep -qx "$CTK_RT_NETNS" ||
    fail "no hop through docker's namespace ($CTK_RT_NETNS)"

in_ns iptables-nft -I DOCKER-USER -s "$AIP" -d "$BIP" -p tcp --dport 80 -j DROP || fail "cannot add the drop"
s=$(summary --from ctktra --to ctktrb --dport 80 --probe)
expect_contains "DOCKER-USER drop" "$s" "DROPPED in netns $CTK_RT_NETNS (bridge docker0, FORWARD -> DOCKER-USER): ip filter DOCKER-USER rule"
jq -r 'select(.Event == "rule" and .Verdict == "drop") | .Detail' "$T/out.json" |
    grep -qF -- "-A DOCKER-USER -s $AIP/32 -d $BIP/32 -p tcp -m tcp --dport 80 -j DROP" ||
    fail "the DOCKER-USER rule's text is not shown: $(cat "$T/out.json")"
in_ns nft list tables | grep -q ctk_trace_ && fail "a tracing table is left in docker's namespace"
for c in ctktra ctktrb; do
    pid=$(ctk_docker inspect --format '{{.State.Pid}}' $c)
    nsenter --net=/proc/$pid/ns/net nft list tables | grep -q ctk_trace_ && fail "a tracing table is left in $c"
done
echo "net_trace_docker: ok"
