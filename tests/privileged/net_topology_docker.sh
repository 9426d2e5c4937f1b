#!/bin/bash
# ctk net topology with a real dockerd (Debian's docker.io, started by this
# test inside a network namespace it creates, with its default bridge
# docker0): each container's eth0 is paired with a veth on docker0 in the
# daemon's namespace, the host side names the container that owns its peer,
# containers sharing one namespace (--net container:, as a pod) are listed
# once under both names, and docker://NAME narrows the view to its
# neighbourhood.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools dockerd docker containerd containerd-shim-runc-v2 runc ip nsenter jq) ||
    skip_or_fail "runtimes not installed: $missing"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
[ -x "$CTK_BIN" ] || fail "ctk binary not found: $CTK_BIN"
unset DOCKER_HOST DOCKER_CONTEXT CONTAINERD_ADDRESS CONTAINERD_NAMESPACE

CTK_RT_DOCKER_IPTABLES=1 # docker0 and docker's own rules, in the test's namespace
ctk_rt_init
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of the busybox image failed"
for n in ctktopo1 ctktopo2; do
    ctk_docker run -d --name $n ctk-busybox:latest sleep 100000 >/dev/null || fail "docker run $n"
done
ctk_docker run -d --name ctktopo3 --net container:ctktopo1 ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "docker run --net container:"
ip1=$(ctk_docker inspect --format '{{.NetworkSettings.IPAddress}}' ctktopo1)

topo() { "$CTK_BIN" net topology "$@"; }
row() { jq -c --arg n "$2" --arg i "$3" '.[] | select(.Netns == $n and .Iface == $i)' <<<"$1"; }
field() { jq -r "$2" <<<"$1"; }

all=$(topo --format json) || fail "net topology"
c1=$(row "$all" ctktopo1,ctktopo3 eth0)
[ -n "$c1" ] || fail "no row for the shared namespace of ctktopo1 and ctktopo3: $(jq -r '.[].Netns' <<<"$all" | sort -u)"
expect_eq "ctktopo1's address" "$(field "$c1" '.Addresses[0]')" "$ip1/16"
expect_eq "ctktopo1's peer namespace" "$(field "$c1" .PeerDetail.Netns)" "netns $CTK_RT_NETNS"
expect_eq "ctktopo1's peer bridge" "$(field "$c1" .PeerDetail.Master)" docker0
expect_eq "namespace owner" "$(field "$c1" .NetnsOwner)" "docker://ctktopo1"
host1=$(row "$all" "netns $CTK_RT_NETNS" "$(field "$c1" .PeerDetail.Iface)")
expect_eq "host side's owner" "$(field "$host1" .PeerOwner)" "docker://ctktopo1"
expect_eq "host side's port" "$(field "$host1" .Port)" "docker0/forwarding"
expect_eq "docker0's address" "$(field "$(row "$all" "netns $CTK_RT_NETNS" docker0)" '.Addresses[0]')" \
    "$(ctk_docker inspect --format '{{.NetworkSettings.Gateway}}' ctktopo1)/16"
# The daemon's namespace forwards (docker sets ip_forward).
expect_eq "ip_forward in docker's namespace" \
    "$(field "$host1" '.Sysctls["net.ipv4.ip_forward"]')" 1

# docker://NAME: its namespace, its host side, docker0 and the other ports.
mine=$(topo --format json docker://ctktopo2) || fail "net topology docker://ctktopo2"
expect_eq "focused: the target first" "$(jq -r '.[0].Netns' <<<"$mine")" ctktopo2
expect_eq "focused: docker0 and two ports" \
    "$(jq -r '[.[] | select(.Netns == "netns '$CTK_RT_NETNS'") | .Kind] | sort | join(" ")' <<<"$mine")" \
    "bridge veth veth"
expect_contains "focused: the other container as a peer owner" \
    "$(jq -r '.[].PeerOwner' <<<"$mine")" "docker://ctktopo1"
expect_contains "tree" "$(topo --tree docker://ctktopo2)" "eth0 in ctktopo1,ctktopo3"
ctk_docker stop -t 0 ctktopo2 >/dev/null || fail "docker stop"
err=$(topo docker://ctktopo2 2>&1 >/dev/null) && fail "a stopped container was accepted"
expect_eq "stopped container" "$err" "ctk: container docker://ctktopo2 is not running"
echo "net_topology_docker: ok"
