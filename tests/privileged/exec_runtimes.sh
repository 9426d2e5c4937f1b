#!/bin/bash
# ctk exec and ctk nsenter into a docker container and a podman container by
# name (real runtimes from Debian's packages, started by this test inside a
# network namespace it creates): the command runs in the container's
# namespaces, root, cgroups and confinement, as `docker exec` would run it.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools dockerd docker containerd containerd-shim-runc-v2 runc \
    podman conmon ip nsenter findmnt) || skip_or_fail "runtimes not installed: $missing"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
[ -x "$CTK_BIN" ] || fail "ctk binary not found: $CTK_BIN"
unset DOCKER_HOST DOCKER_CONTEXT CONTAINERD_ADDRESS CONTAINERD_NAMESPACE \
    CONTAINERS_CONF CONTAINERS_STORAGE_CONF

ctk_rt_init
ctk_rt_start_containerd || fail "containerd did not start"
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_rt_setup_podman
ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of the busybox image failed"
ctk_busybox_import_podman ctk-busybox:latest || fail "podman import of the busybox image failed"

ctk_docker run -d --name ctkexecd -h dockerhost -e FROM_DOCKER=1 ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "docker run failed"
ctk_podman run -d --name ctkexecp -h podmanhost -e FROM_PODMAN=1 localhost/ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "podman run failed"
DPID=$(ctk_docker inspect --format '{{.State.Pid}}' ctkexecd)
PPID_=$(ctk_podman inspect --format '{{.State.Pid}}' ctkexecp)
for v in DPID PPID_; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || fail "$v is '${!v}'"; done

check_container() { # NAME PID HOSTNAME ENVVAR
    local name=$1 pid=$2 host=$3 var=$4 ns field
    expect_eq "$name: exec hostname" "$("$CTK_BIN" exec "$name" hostname)" "$host"
    expect_eq "$name: nsenter -t NAME -a hostname" "$("$CTK_BIN" nsenter -t "$name" -a hostname)" "$host"
    expect_eq "$name: nsenter NAME as first word" "$("$CTK_BIN" nsenter -u "$name" hostname)" "$host"
    for ns in mnt uts ipc net pid cgroup; do
        expect_eq "$name: exec joins $ns" "$("$CTK_BIN" exec "$name" readlink /proc/self/ns/$ns)" \
            "$(readlink /proc/$pid/ns/$ns)"
    done
    expect_eq "$name: /proc/1/cmdline" "$("$CTK_BIN" exec "$name" cat /proc/1/cmdline | tr '\0' ' ')" "sleep 100000 "
    expect_eq "$name: the container's environment" "$("$CTK_BIN" exec "$name" sh -c "echo \$$var")" "1"
    expect_eq "$name: cgroups as PID 1's" "$("$CTK_BIN" exec "$name" cat /proc/self/cgroup)" \
        "$("$CTK_BIN" exec "$name" cat /proc/1/cgroup)"
    "$CTK_BIN" exec "$name" cat /proc/self/status >"$CTK_RT_DIR/st"
    for field in CapBnd CapEff NoNewPrivs Seccomp; do
        expect_eq "$name: $field as PID 1's" "$(awk -v k="$field:" '$1==k{print $2}' "$CTK_RT_DIR/st")" \
            "$(awk -v k="$field:" '$1==k{print $2}' /proc/$pid/status)"
    done
    expect_eq "$name: -u nobody" "$("$CTK_BIN" exec -u nobody "$name" id -u)" "65534"
    local out rc=0
    out=$("$CTK_BIN" exec "$name" no-such-command 2>&1) || rc=$?
    expect_eq "$name: missing command status" "$rc" 127
    expect_contains "$name: missing command message" "$out" "executable file not found"
    echo "ok: $name"
}
check_container ctkexecd "$DPID" dockerhost FROM_DOCKER
check_container docker://ctkexecd "$DPID" dockerhost FROM_DOCKER
check_container ctkexecp "$PPID_" podmanhost FROM_PODMAN
check_container podman://ctkexecp "$PPID_" podmanhost FROM_PODMAN
# docker exec agrees with ctk exec on what a command sees.
expect_eq "docker exec and ctk exec see the same /proc/self/status caps" \
    "$(ctk_docker exec ctkexecd grep -E '^(CapBnd|CapEff|Seccomp|NoNewPrivs)' /proc/self/status)" \
    "$("$CTK_BIN" exec ctkexecd grep -E '^(CapBnd|CapEff|Seccomp|NoNewPrivs)' /proc/self/status)"
out=$("$CTK_BIN" exec no-such-container-xyz true 2>&1); rc=$?
expect_eq "unknown container status" "$rc" 125
expect_contains "unknown container message" "$out" "no-such-container-xyz"
echo "PASS"
