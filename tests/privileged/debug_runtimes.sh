#!/bin/bash
# ctk debug into docker and podman containers: a real dockerd and podman
# (Debian's), started by the harness inside a network namespace it creates.
# The target is found by name through the resolver (docker://NAME, the bare
# name, podman://NAME), its root is at /target, its processes show in ps,
# the debug container shares its network namespace (the harness's, not the
# host's), and the target runs on unharmed after the --rm debug container
# is gone.
. "${CTK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools dockerd docker containerd containerd-shim-runc-v2 runc podman conmon \
    ip nsenter) ||
    skip_or_fail "runtimes not installed: $missing"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
[ -x "$CTK_BIN" ] || fail "ctk binary not found: $CTK_BIN"
unset DOCKER_HOST DOCKER_CONTEXT CONTAINERD_ADDRESS CONTAINERD_NAMESPACE CONTAINERS_CONF \
    CONTAINERS_STORAGE_CONF

ctk_rt_init
T="$CTK_RT_DIR/ctk"
mkdir -p "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@" </dev/null; }
cleanup_ctk() {
    local id
    for id in $(ctk ps -aq --no-trunc 2>/dev/null); do ctk rm -f "$id"; done
}
on_exit cleanup_ctk

ctk_rt_start_containerd || fail "containerd did not start"
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of the busybox image failed"
ctk_docker run -d --name ctkdbgweb ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "docker run ctkdbgweb failed"
ctk_docker exec ctkdbgweb sh -c "echo docker-$$ > /marker" || fail "docker exec failed"
DPID=$(ctk_docker inspect --format '{{.State.Pid}}' ctkdbgweb)
DID=$(ctk_docker inspect --format '{{.Id}}' ctkdbgweb)
[[ $DPID =~ ^[1-9][0-9]*$ ]] || fail "docker's State.Pid is '$DPID'"

out=$(ctk debug --rm docker://ctkdbgweb cat /target/marker 2>&1) || fail "ctk debug docker://ctkdbgweb: $out"
expect_eq "/target of the docker container" "$out" "docker-$$"
out=$(ctk debug --rm ctkdbgweb ps -o pid,args 2>&1) || fail "ctk debug ctkdbgweb ps: $out"
expect_contains "docker container's sleep in ps" "$out" "sleep 100000"
expect_eq "shared net namespace" "$(ctk debug --rm ctkdbgweb readlink /proc/self/ns/net)" \
    "$(readlink /proc/$DPID/ns/net)"
[ "$(readlink /proc/$DPID/ns/net)" != "$(readlink /proc/self/ns/net)" ] ||
    fail "the docker container is in the host's network namespace"
ctk debug --rm ctkdbgweb sh -c 'echo from-ctk > /target/from-ctk' || fail "write to /target failed"
expect_eq "the write is seen by docker exec" "$(ctk_docker exec ctkdbgweb cat /from-ctk)" "from-ctk"
ctk debug --rm --read-only ctkdbgweb sh -c 'echo x > /target/ro' 2>/dev/null &&
    fail "--read-only: writing the docker container's root succeeded"

# Kept, it records the docker container as its target.
ctk debug --name dbgdocker docker://ctkdbgweb true || fail "debug --name dbgdocker"
expect_eq "inspect: target id" \
    "$(ctk inspect --format '{{index .Config.Labels "ctk.debug.target-id"}}' dbgdocker)" "docker://$DID"
ctk rm dbgdocker >/dev/null || fail "rm dbgdocker"

# podman: found by podman://NAME, same checks on its overlay root.
ctk_rt_setup_podman
ctk_busybox_import_podman ctk-busybox:latest || fail "podman import of the busybox image failed"
ctk_podman run -d --name ctkdbgdb localhost/ctk-busybox:latest sleep 100001 >/dev/null ||
    fail "podman run ctkdbgdb failed"
ctk_podman exec ctkdbgdb sh -c "echo podman-$$ > /marker" || fail "podman exec failed"
PPID_=$(ctk_podman inspect --format '{{.State.Pid}}' ctkdbgdb)
[[ $PPID_ =~ ^[1-9][0-9]*$ ]] || fail "podman's State.Pid is '$PPID_'"
out=$(ctk debug --rm podman://ctkdbgdb sh -c 'cat /target/marker; ps -o args | grep -c "^sleep 100001"' 2>&1) ||
    fail "ctk debug podman://ctkdbgdb: $out"
expect_eq "podman: /target and ps" "$(echo $out)" "podman-$$ 1"
expect_eq "podman: shared ipc namespace" "$(ctk debug --rm podman://ctkdbgdb readlink /proc/self/ns/ipc)" \
    "$(readlink /proc/$PPID_/ns/ipc)"
expect_eq "podman container unharmed" \
    "$(ctk_podman inspect --format '{{.State.Status}} {{.State.Pid}}' ctkdbgdb)" "running $PPID_"

expect_eq "no ctk container left" "$(ctk ps -aq)" ""
out=$(ctk system check 2>&1) || fail "system check found leftovers: $out"
expect_eq "docker container unharmed" \
    "$(ctk_docker inspect --format '{{.State.Status}} {{.State.Pid}}' ctkdbgweb)" "running $DPID"
expect_eq "docker exec still works" "$(ctk_docker exec ctkdbgweb cat /marker)" "docker-$$"
echo "PASS"
