#!/bin/bash
# ctk net rules with a real dockerd (iptables on, docker0) started inside a
# network namespace this test creates: a container with -p 8080:80 shows the
# publication with its arguments, docker's DOCKER chain rules for it after
# FORWARD's jump, and a drop a user put in DOCKER-USER; a second container
# without ports does not get the first one's DOCKER accept.
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
ctk_rt_start_dockerd || fail "dockerd with iptables did not start"
ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of the busybox image failed"
WEB=ctkrulesweb$$
OTHER=ctkrulesother$$
ctk_docker run -d --name $WEB -p 8080:80 ctk-busybox:latest sleep 100000 >/dev/null || fail "docker run $WEB failed"
ctk_docker run -d --name $OTHER ctk-busybox:latest sleep 100000 >/dev/null || fail "docker run $OTHER failed"
IP=$(ctk_docker inspect --format '{{.NetworkSettings.IPAddress}}' $WEB)
[[ $IP =~ ^[0-9.]+$ ]] || fail "no address for $WEB: '$IP'"
ctk_rt_nsenter iptables-nft -I DOCKER-USER -d "$IP" -p tcp --dport 80 -j DROP ||
    fail "cannot add the DOCKER-USER drop"

out=$("$CTK_BIN" net rules $WEB --format json) || fail "ctk net rules $WEB failed"
rows() { jq -c "$1" <<<"$out"; }
expect_eq "publication" "$(rows '[.[] | select(.Kind == "publication") | .Publication
    | {Proto, HostAddr, HostPort, Container, Addr, Port}]')" \
    "[{\"Proto\":\"tcp\",\"HostAddr\":\"0.0.0.0\",\"HostPort\":\"8080\",\"Container\":\"$WEB\",\"Addr\":\"$IP\",\"Port\":\"80\"}]"
expect_contains "publication text" "$(rows '.[0].Rule')" "host 0.0.0.0:8080/tcp → $WEB:80 (rule ip nat DOCKER handle"
# docker's rules for this container, in iptables syntax, in chain order.
filter=$(rows '[.[] | select(.Kind == "rule" and .Table == "ip filter") | .Rule]')
expect_contains "DOCKER-USER drop" "$filter" "\"-A DOCKER-USER -d $IP/32 -p tcp -m tcp --dport 80 -j DROP\""
expect_contains "DOCKER accept after FORWARD's jump" "$filter" \
    "\"-A FORWARD -o docker0 -j DOCKER\",\"-A DOCKER -d $IP/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\""
# The DOCKER chain of nat runs from PREROUTING and from OUTPUT: listed under both.
expect_eq "DNAT rule under both hooks" \
    "$(rows "[.[] | select(.Kind == \"rule\" and (.Rule | endswith(\"--dport 8080 -j DNAT --to-destination $IP:80\"))) | .Chain]")" \
    '["DOCKER (prerouting/-100)","DOCKER (output/-100)"]'
expect_eq "every docker rule came through iptables-nft-save (none opaque)" \
    "$(rows '[.[] | select(.Source == "iptables-nft" and .May != "")] | length')" "0"

other=$("$CTK_BIN" net rules $OTHER --format json) || fail "ctk net rules $OTHER failed"
expect_eq "$OTHER: no publication" "$(jq '[.[] | select(.Kind == "publication")] | length' <<<"$other")" "0"
expect_eq "$OTHER: not $WEB's DOCKER accept" \
    "$(jq "[.[] | select(.Rule | startswith(\"-A DOCKER -d $IP/32\"))] | length" <<<"$other")" "0"
echo "net_rules_docker: ok"
