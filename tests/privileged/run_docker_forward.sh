#!/bin/bash
# ctk's bridge beside a real dockerd with its iptables rules: dockerd sets
# the FORWARD policy to DROP (iptables-nft, table ip filter), which an accept
# in ctk's own table cannot override. ctk says so at run and in system check;
# --allow-docker-forward adds ctk's ACCEPT rules to docker's DOCKER-USER
# chain, and they go with the bridge's last container, leaving docker's
# chains as they were.
#
# Everything happens in network namespaces this test creates: dockerd (with
# iptables on and docker0) and ctk share the "host" namespace of the
# harness, and a "client" namespace beyond a veth stands for the world
# outside. Traffic from a container to the client is forwarded by the host
# and meets docker's FORWARD chain; traffic between two containers on ctk0
# meets it too when br_netfilter hands bridged IPv4 to iptables
# (net.bridge.bridge-nf-call-iptables, per network namespace), which the
# test checks both ways.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
require_root
[ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
missing=$(ctk_rt_have_tools dockerd containerd docker iptables-nft nsenter ip) ||
    skip_or_fail "missing: $missing"

CTK_RT_DOCKER_IPTABLES=1
ctk_rt_init
T=$CTK_RT_DIR/ctk
CLIENT=ctk-dfwd-client-$$
mkdir -p "$T"
in_ns() { ctk_rt_nsenter "$@"; }
ctk() { in_ns "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
cleanup() {
    local id
    for id in $(ctk ps -aq --no-trunc 2>/dev/null); do ctk rm -f "$id"; done
    [ -f "$T/client.pid" ] && kill "$(cat "$T/client.pid")"
    ip netns del "$CLIENT"
}
on_exit cleanup

ctk_rt_start_dockerd || fail "dockerd with iptables did not start (see above)"
ipt() { in_ns iptables-nft "$@"; }
ipt -S FORWARD | grep -qx -- "-P FORWARD DROP" || fail "dockerd did not set FORWARD to DROP: $(ipt -S FORWARD)"
ipt -S DOCKER-USER >/dev/null 2>&1 || fail "dockerd made no DOCKER-USER chain"
in_ns ip link show docker0 >/dev/null || fail "dockerd made no docker0"
# docker's rules as dockerd left them, to compare at the end.
ipt -S >"$T/filter.before"
ipt -t nat -S >"$T/nat.before"

# The client beyond the host: 192.0.2.2, serving "outside" on port 7000.
ip netns add "$CLIENT" || fail "cannot create the client namespace"
ip link add dfwd-h$$ netns "$CTK_RT_NETNS" type veth peer name dfwd-c$$ netns "$CLIENT" ||
    fail "cannot create the client veth"
in_ns ip addr add 192.0.2.1/24 dev dfwd-h$$
in_ns ip link set dfwd-h$$ up
ip -n "$CLIENT" addr add 192.0.2.2/24 dev dfwd-c$$
ip -n "$CLIENT" link set dfwd-c$$ up
ip -n "$CLIENT" link set lo up
mkdir -p "$T/www"
echo outside >"$T/www/index.html"
nsenter --net="/run/netns/$CLIENT" "$CTK_BUSYBOX_BIN" httpd -f -p 7000 -h "$T/www" &
echo $! >"$T/client.pid"

ctk_busybox_docker_archive "$T/bb.tar" bb:latest || fail "cannot build the busybox archive"
ctk load -i "$T/bb.tar" >/dev/null || fail "ctk load"

# Two servers on ctk0. The run that finds docker's drop says so, once, on stderr.
for n in a b; do
    ctk run -d --name $n bb sh -c "mkdir /w && echo $n >/w/index.html && exec httpd -f -p 80 -h /w" \
        >/dev/null 2>"$T/run-$n.err" || fail "run $n: $(cat "$T/run-$n.err")"
done
err=$(cat "$T/run-a.err")
expect_contains "run warns of docker's drop" "$err" "nftables table ip filter chain FORWARD has policy drop"
expect_contains "run says what to do" "$err" "--allow-docker-forward"
expect_eq "warnings at run" "$(grep -c . "$T/run-a.err")" "1"
# By address: the test is about forwarding, not names.
A=$(ctk inspect --format '{{.NetworkSettings.IPAddress}}' a)
B=$(ctk inspect --format '{{.NetworkSettings.IPAddress}}' b)
case "$A$B" in 10.89.*10.89.*) ;; *) fail "addresses of a and b: '$A' '$B'" ;; esac

# fetch ADDR PORT [RUN OPTIONS]: the body an HTTP GET from a one-shot
# container gets; empty when dropped. (busybox-static's wget crashes here:
# nc it is.)
fetch() {
    local addr=$1 port=$2
    shift 2
    ctk run --rm "$@" bb sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 $addr $port" 2>/dev/null |
        tail -n 1
}
# docker's drop applies to what the host forwards: to the client...
expect_eq "to the client, dropped" "$(fetch 192.0.2.2 7000)" ""
# ...and, with br_netfilter calling iptables for bridged IPv4 (a fresh
# namespace's default), between containers on ctk0 too.
brnf=/proc/sys/net/bridge/bridge-nf-call-iptables
[ -f "$brnf" ] || skip_or_fail "no br_netfilter here ($brnf)"
expect_eq "bridge-nf-call-iptables in the test namespace" "$(in_ns cat $brnf)" "1"
expect_eq "container to container, dropped (br_netfilter)" "$(fetch $A 80)" ""
in_ns sh -c "echo 0 >$brnf"
expect_eq "container to container without br_netfilter" "$(fetch $A 80)" "a"
expect_eq "to the client without br_netfilter, still dropped" "$(fetch 192.0.2.2 7000)" ""
in_ns sh -c "echo 1 >$brnf"

# system check warns too (and finds no leftover).
ctk system check >"$T/check" 2>"$T/check.err"
rc=$?
expect_eq "system check status" "$rc" "0"
expect_contains "system check warns" "$(cat "$T/check.err")" "chain FORWARD has policy drop"

# The option: ctk's rules in DOCKER-USER, before the command's first packet.
expect_eq "with --allow-docker-forward, to the client" \
    "$(fetch 192.0.2.2 7000 --allow-docker-forward)" "outside"
rules=$(ipt -S DOCKER-USER)
expect_eq "ctk's DOCKER-USER rules" "$(grep -c 'ctk:docker-user' <<<"$rules")" "2"
expect_contains "docker's own DOCKER-USER rule stays" "$rules" "-A DOCKER-USER -j RETURN"
# They stay while containers are on the bridge (a and b), for every one of
# them, and the drop no longer applies: no warning.
expect_eq "container to container, with the rules" "$(fetch $B 80)" "b"
ctk run --rm bb sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 192.0.2.2 7000" >"$T/out" 2>"$T/run-c.err"
expect_eq "to the client, another container" "$(tail -n 1 "$T/out")" "outside"
expect_eq "no warning once the rules are in" "$(cat "$T/run-c.err")" ""
# What the rules let in from outside: replies and published ports, not the
# containers' other ports (as docker's rules for docker0; the rule into
# ctk0 matches conntrack states ESTABLISHED, RELATED and DNAT only).
ip -n "$CLIENT" route add 10.89.0.0/16 via 192.0.2.1 || fail "client route to ctk0"
client_fetch() {
    printf 'GET / HTTP/1.0\r\n\r\n' |
        nsenter --net="/run/netns/$CLIENT" "$CTK_BUSYBOX_BIN" nc -w 2 "$1" "$2" 2>/dev/null | tail -n 1
}
expect_eq "from outside to an unpublished port of a, dropped" "$(client_fetch "$A" 80)" ""
ctk run -d --name pub -p 8081:80 bb sh -c "mkdir /w && echo pub >/w/index.html && exec httpd -f -p 80 -h /w" \
    >/dev/null || fail "run pub"
pub_up() { [ "$(client_fetch 192.0.2.1 8081)" = pub ]; }
wait_until 10 pub_up || fail "published port 8081 never answered from outside"
expect_eq "from outside to a published port" "$(client_fetch 192.0.2.1 8081)" "pub"
expect_contains "the rule into ctk0 is conntrack's" "$(ipt -S DOCKER-USER)" \
    "-A DOCKER-USER -o ctk0 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment \"ctk:docker-user\" -j ACCEPT"
ctk rm -f pub >/dev/null || fail "rm pub"

# The bridge's last container takes them away; docker's chains are as before.
ctk rm -f a b >/dev/null || fail "rm a b"
expect_eq "ctk's DOCKER-USER rules after the last container" \
    "$(ipt -S DOCKER-USER | grep -c 'ctk:docker-user')" "0"
ipt -S >"$T/filter.after"
ipt -t nat -S >"$T/nat.after"
diff -u "$T/filter.before" "$T/filter.after" || fail "docker's filter table changed"
diff -u "$T/nat.before" "$T/nat.after" || fail "docker's nat table changed"
ctk_docker info >/dev/null 2>&1 || fail "dockerd stopped answering"
ctk system check >"$T/check2" 2>/dev/null || fail "leftovers after rm: $(cat "$T/check2")"

# Rules without any container: a ctk killed inside the last detach, after
# it saved the endpoint records and before it removed the rules (imitated by
# emptying the records). system check lists them, prune removes exactly them.
id=$(ctk run -d --allow-docker-forward bb sleep 1000) || fail "run -d --allow-docker-forward"
expect_eq "rules of a detached run" "$(ipt -S DOCKER-USER | grep -c 'ctk:docker-user')" "2"
echo '{}' >"$T/run/net/endpoints.json"
ctk system check --format '{{.Kind}}|{{.What}}' >"$T/check4" 2>/dev/null
rc=$?
expect_eq "check status with stray rules" "$rc" "1"
expect_contains "check lists the stray rules" "$(cat "$T/check4")" "network|2 ACCEPT rules of ctk in docker's DOCKER-USER"
ctk system prune --format '{{.Action}}' >"$T/prune4" 2>/dev/null || fail "prune of the stray rule"
expect_eq "prune of the stray rules" "$(cat "$T/prune4")" "removed"
expect_eq "rules after prune" "$(ipt -S DOCKER-USER | grep -c 'ctk:docker-user')" "0"
ctk rm -f "$id" >/dev/null || fail "rm $id"
ipt -S >"$T/filter.after2"
diff -u "$T/filter.before" "$T/filter.after2" || fail "docker's filter table changed by prune"
ctk system check >/dev/null 2>&1 || fail "leftovers after prune"
echo "PASS"
