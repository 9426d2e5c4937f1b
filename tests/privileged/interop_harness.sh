#!/bin/bash
# The runtime harness itself (tests/common/runtimes.sh): a test that fails
# with dockerd, containerd and podman running containers must leave nothing
# behind (processes, mounts, netns, cgroups, runc state, directories), and a
# second cleanup must be harmless. Later interop tests rely on this.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools dockerd docker containerd containerd-shim-runc-v2 ctr runc \
    podman conmon ip nsenter findmnt) || skip_or_fail "runtimes not installed: $missing"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"

out=$(mktemp -d /tmp/ctk-harness.XXXXXX) || fail "mktemp failed"
on_exit rm -rf "$out"

# The child starts everything, records what it made, then fails.
cat >"$out/child.sh" <<'CHILD'
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
out=$1
ctk_rt_init
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_rt_setup_podman
ctk_busybox_import_docker && ctk_busybox_import_podman && ctk_busybox_import_containerd ||
    fail "image import failed"
ctk_docker run -d --name h1 ctk-busybox:latest sleep 100000 >/dev/null || fail "docker run failed"
ctk_podman run -d --name h2 localhost/ctk-busybox:latest sleep 100000 >/dev/null || fail "podman run failed"
ctk_ctr_run "h3-${CTK_RT_DIR##*.}" sleep 100000 || fail "ctr run failed"
pids="$CTK_DOCKERD_PID $CTK_CONTAINERD_PID $(ctk_docker inspect --format '{{.State.Pid}}' h1)"
pids="$pids $(ctk_podman inspect --format '{{.State.Pid}}' h2) $(ctk_ctr tasks ls | awk 'NR > 1 { print $2 }')"
ids=$(_ctk_rt_container_ids | tr '\n' ' ')
printf 'dir=%q\nnetns=%q\npids=%q\nids=%q\n' "$CTK_RT_DIR" "$CTK_RT_NETNS" "$pids" "$ids" >"$out/state"
fail "deliberate failure with everything running"
CHILD

bash "$out/child.sh" "$out" >"$out/log" 2>&1 && fail "child succeeded: $(cat "$out/log")"
grep -q 'deliberate failure' "$out/log" || fail "child failed early: $(cat "$out/log")"
. "$out/state"
echo "harness: child ran $dir (netns $netns), pids $pids"
[ -n "$dir" ] && [ -n "$netns" ] && [ -n "$ids" ] || fail "child state incomplete: $(cat "$out/state")"

problems=()
[ -e "$dir" ] && problems+=("directory $dir")
[ -e "/run/netns/$netns" ] && problems+=("netns $netns")
findmnt -rn -o TARGET | grep -qF -- "$dir" && problems+=("mounts under $dir")
for p in $pids; do
    ctk_rt_wait_gone "$p" || problems+=("process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)")
done
pgrep -f -- "$dir" >/dev/null && problems+=("processes naming $dir: $(pgrep -a -f -- "$dir")")
for id in $ids; do
    left=$(_ctk_rt_cgroup_dirs "$id")
    [ -z "$left" ] || problems+=("cgroups of $id: $left")
    for f in "/run/runc/$id" "/run/containerd/runc/k8s.io/$id"; do
        [ -e "$f" ] && problems+=("runc state $f")
    done
done
[ ${#problems[@]} -eq 0 ] || fail "left behind after a failed test: ${problems[*]}"

# A second cleanup of the same (now gone) harness is harmless.
CTK_RT_DIR=$dir CTK_RT_NETNS=$netns
ctk_rt_cleanup || fail "second cleanup failed"
CTK_RT_DIR='' CTK_RT_NETNS=''
echo "harness: nothing left behind"
