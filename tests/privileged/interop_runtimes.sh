#!/bin/bash
# Interoperability of `ctk pidmap` with real runtimes (issue 2): dockerd,
# podman and containerd (ctr -n k8s.io) from Debian, started by this test in
# a network namespace it creates. ctk must find the containers by name and
# report the host PID the runtimes report, and keep finding the docker
# container by name after dockerd and containerd are killed with SIGKILL.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools dockerd docker containerd containerd-shim-runc-v2 ctr runc \
    podman conmon ip nsenter findmnt) || skip_or_fail "runtimes not installed: $missing"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
[ -x "$CTK_BIN" ] || fail "ctk binary not found: $CTK_BIN"

# ctk must find the runtimes on its own (daemon command lines, state
# directories, mountinfo), not from a developer's environment.
unset DOCKER_HOST DOCKER_CONTEXT CONTAINERD_ADDRESS CONTAINERD_NAMESPACE \
    CONTAINERS_CONF CONTAINERS_STORAGE_CONF

T_START=$(date +%s.%N)
phase() { echo "interop: $* (t=$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s)"; }

# Failures are collected so one run reports every broken check; the test
# fails at the end if any was recorded.
FAILURES=()
check_failed() { echo "CHECK FAILED: $*" >&2; FAILURES+=("$*"); }

# run_ctk ARGS...: runs ctk, stdout in CTK_OUT, stderr in CTK_ERR; returns
# ctk's exit status.
run_ctk() {
    local rc=0 errf="$CTK_RT_DIR/ctk.err"
    CTK_OUT=$("$CTK_BIN" "$@" 2>"$errf") || rc=$?
    CTK_ERR=$(cat "$errf")
    return $rc
}

# expect_ctk WHAT EXPECTED ARGS...: ctk ARGS must succeed and print EXPECTED.
expect_ctk() {
    local what=$1 expected=$2 rc=0
    shift 2
    run_ctk "$@" || rc=$?
    if [ $rc -ne 0 ]; then
        check_failed "$what: 'ctk $*' exited $rc; stdout: '$CTK_OUT'; stderr: '$CTK_ERR'"
    elif [ "$CTK_OUT" != "$expected" ]; then
        check_failed "$what: 'ctk $*' printed '$CTK_OUT', expected '$expected' (stderr: '$CTK_ERR')"
    else
        echo "ok: $what"
    fi
}

# ---- runtimes ---------------------------------------------------------------
ctk_rt_init
ctk_rt_start_containerd || fail "containerd did not start"
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_rt_setup_podman
phase "daemons up"

ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of the busybox image failed"
ctk_busybox_import_podman ctk-busybox:latest || fail "podman import of the busybox image failed"
ctk_busybox_import_containerd ctk-busybox:latest || fail "ctr images import of the busybox image failed"
phase "images imported"

K8S_ID="ctk-k8s-${CTK_RT_DIR##*.}"
ctk_docker run -d --name ctkweb ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "docker run ctkweb failed"
ctk_podman run -d --name ctkdb localhost/ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "podman run ctkdb failed"
ctk_ctr_run "$K8S_ID" sleep 100000 || fail "ctr run $K8S_ID failed"
phase "containers running"

DOCKER_PID=$(ctk_docker inspect --format '{{.State.Pid}}' ctkweb)
DOCKER_ID=$(ctk_docker inspect --format '{{.Id}}' ctkweb)
PODMAN_PID=$(ctk_podman inspect --format '{{.State.Pid}}' ctkdb)
K8S_PID=$(ctk_ctr tasks ls | awk -v id="$K8S_ID" '$1 == id { print $2 }')
for v in DOCKER_PID PODMAN_PID K8S_PID; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || fail "$v from the runtime is '${!v}'"
done
echo "interop: docker ctkweb pid $DOCKER_PID, podman ctkdb pid $PODMAN_PID, ctr $K8S_ID pid $K8S_PID"

# ---- ctk against live daemons ------------------------------------------------
expect_ctk "docker://ctkweb PID 1 is docker's State.Pid" "$DOCKER_PID" \
    pidmap docker://ctkweb --ns-pid 1 --format '{{.PID}}'
expect_ctk "podman://ctkdb PID 1 is podman's State.Pid" "$PODMAN_PID" \
    pidmap podman://ctkdb --ns-pid 1 --format '{{.PID}}'
expect_ctk "bare name ctkweb resolves to the docker container" "$DOCKER_PID" \
    pidmap ctkweb --ns-pid 1 --format '{{.PID}}'
expect_ctk "bare name ctkdb resolves to the podman container" "$PODMAN_PID" \
    pidmap ctkdb --ns-pid 1 --format '{{.PID}}'
expect_ctk "--host-pid names ctkweb, runtime docker and its ID" "ctkweb docker $DOCKER_ID 1" \
    pidmap --host-pid "$DOCKER_PID" --format '{{.Container}} {{.Runtime}} {{.ID}} {{.NSPid}}'
expect_ctk "containerd://k8s.io/$K8S_ID PID 1 is ctr's task pid" "$K8S_PID" \
    pidmap "containerd://k8s.io/$K8S_ID" --ns-pid 1 --format '{{.PID}}'
expect_ctk "the /proc fallback agrees for docker://ctkweb" "$DOCKER_PID" \
    pidmap docker://ctkweb --ns-pid 1 --backend proc --format '{{.PID}}'

# ps --runtime all: every runtime's containers, with runtime, host PID and
# the command their init runs; the default table shows RUNTIME and PID.
expect_ctk "ps --runtime all lists docker's ctkweb" "ctkweb docker $DOCKER_PID \"sleep 100000\"" \
    ps --runtime all --filter name=ctkweb --format '{{.Names}} {{.Runtime}} {{.Pid}} {{.Command}}'
expect_ctk "ps --runtime podman lists podman's ctkdb" "ctkdb podman $PODMAN_PID" \
    ps --runtime podman --filter name=ctkdb --format '{{.Names}} {{.Runtime}} {{.Pid}}'
ps_all_header=$("$CTK_BIN" ps --runtime all | head -1)
case $ps_all_header in *RUNTIME*PID*) ;; *) fail "ps --runtime all: no RUNTIME/PID columns: $ps_all_header" ;; esac

# The same name in docker and podman: a bare name is ambiguous and the error
# lists both candidates; the scheme picks one.
ctk_docker run -d --name ctkdup ctk-busybox:latest sleep 100000 >/dev/null || fail "docker run ctkdup failed"
ctk_podman run -d --name ctkdup localhost/ctk-busybox:latest sleep 100000 >/dev/null ||
    fail "podman run ctkdup failed"
if run_ctk pidmap ctkdup --ns-pid 1 --format '{{.PID}}'; then
    check_failed "ambiguous bare name ctkdup: ctk succeeded with '$CTK_OUT'"
elif [[ $CTK_ERR != *docker* || $CTK_ERR != *podman* || $(wc -l <<<"$CTK_ERR") -ne 1 ]]; then
    check_failed "ambiguous bare name ctkdup: want one error line naming docker and podman, got '$CTK_ERR'"
else
    echo "ok: ambiguous bare name is an error listing both ($CTK_ERR)"
fi
expect_ctk "podman://ctkdup picks the podman one" "$(ctk_podman inspect --format '{{.State.Pid}}' ctkdup)" \
    pidmap podman://ctkdup --ns-pid 1 --format '{{.PID}}'

# The host-wide listing (no argument) shows all three containers' init.
expect_listed() {
    local what=$1 pid=$2 runtime=$3 name=$4 line
    line=$(awk -v p="$pid" '$1 == p' <<<"$CTK_OUT")
    [ "$line" = "$pid $runtime $name" ] ||
        check_failed "$what: listing has '$line' for pid $pid, expected '$pid $runtime $name'"
}
if run_ctk pidmap --format '{{.PID}} {{.Runtime}} {{.Container}}'; then
    n=${#FAILURES[@]}
    expect_listed "listing: docker container" "$DOCKER_PID" docker ctkweb
    expect_listed "listing: podman container" "$PODMAN_PID" podman ctkdb
    expect_listed "listing: containerd k8s.io container" "$K8S_PID" containerd ""
    [ ${#FAILURES[@]} -eq "$n" ] && echo "ok: host-wide listing"
else
    check_failed "ctk pidmap (host-wide) failed: $CTK_ERR"
fi
phase "live checks done"

# ---- daemons killed ------------------------------------------------------------
# Shims and containers outlive their daemons: that is the situation a
# debugging tool meets when dockerd or containerd crashed.
kill -9 "$CTK_DOCKERD_PID" "$CTK_CONTAINERD_PID"
for p in "$CTK_DOCKERD_PID" "$CTK_CONTAINERD_PID"; do
    ctk_rt_wait_gone "$p" || fail "daemon pid $p survived SIGKILL"
done
ctk_rt_alive "$DOCKER_PID" || fail "container ctkweb died with its daemons"
[ -S "$CTK_DOCKER_SOCK" ] && echo "interop: note: $CTK_DOCKER_SOCK still exists (stale socket)"
phase "dockerd and containerd killed"

expect_ctk "docker://ctkweb still resolves by name with dockerd and containerd dead" "$DOCKER_PID" \
    pidmap docker://ctkweb --ns-pid 1 --format '{{.PID}}'
expect_ctk "--host-pid still names ctkweb with dockerd dead" "ctkweb docker" \
    pidmap --host-pid "$DOCKER_PID" --format '{{.Container}} {{.Runtime}}'
# Informative only: the issue requires the docker container after the kill.
if run_ctk pidmap "containerd://k8s.io/$K8S_ID" --ns-pid 1 --format '{{.PID}}' && [ "$CTK_OUT" = "$K8S_PID" ]; then
    echo "ok (informative): containerd://k8s.io/$K8S_ID still resolves with containerd dead"
else
    echo "note (informative): containerd://k8s.io/$K8S_ID with containerd dead: stdout '$CTK_OUT' stderr '$CTK_ERR'"
fi

# ---- cleanup must leave nothing ------------------------------------------------
ctk_rt_cleanup
left=$(ctk_rt_leftovers)
[ -z "$left" ] || check_failed "harness left behind: $left"
for p in "$DOCKER_PID" "$PODMAN_PID" "$K8S_PID"; do
    ctk_rt_wait_gone "$p" || check_failed "container process $p survived cleanup"
done
phase "cleaned up"

if [ ${#FAILURES[@]} -gt 0 ]; then
    printf 'FAILED CHECK: %s\n' "${FAILURES[@]}" >&2
    fail "${#FAILURES[@]} interop check(s) failed"
fi
echo "interop: all checks passed"
