# Starts real container runtimes (containerd, dockerd, podman) for
# interoperability tests, each inside a network namespace the test creates,
# with private roots under one directory, and removes every trace on exit.
# Source it after lib.sh:
#   . "$CTK_SOURCE_DIR/tests/common/lib.sh"
#   . "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
#   ctk_rt_init                  # dir + netns + cleanup trap
#   ctk_rt_start_containerd      # CTK_CONTAINERD_SOCK, CTK_CONTAINERD_PID
#   ctk_rt_start_dockerd         # CTK_DOCKER_SOCK, CTK_DOCKER_ROOT, CTK_DOCKER_EXEC_ROOT, CTK_DOCKERD_PID
#   ctk_rt_setup_podman          # CTK_PODMAN_ROOT, CTK_PODMAN_RUNROOT, config files
#   ctk_docker ARGS / ctk_podman ARGS / ctk_ctr ARGS (ctr -n k8s.io)
#   ctk_ctr_run ID CMD...        # ctr run -d a busybox container in k8s.io
#
# Why it looks like this:
# - Daemons run in a network namespace entered with `nsenter --net`, never
#   `ip netns exec`: the latter remounts /sys in a new mount namespace, so the
#   daemons would see a different /sys/fs/cgroup and break cgroup handling.
#   They stay in the host mount namespace so ctk can read their state.
# - Nothing may touch the host's netfilter: dockerd gets --bridge=none
#   --iptables=false --ip6tables=false, podman uses network "none", and
#   containerd's CRI plugin (which would load CNI) is disabled.
# - One containerd serves both dockerd (namespace moby) and ctr (k8s.io), like
#   a real host; the harness starts it, so a test can kill -9 it explicitly.
# - This machine cannot raise a resource limit, and podman as root asks runc
#   for nofile/nproc values above ours by default, so containers.conf sets
#   default_ulimits at or below the current limits. podman also lowers its own
#   RLIMIT_NPROC (to 32768 here), hence the nproc cap.
# - cgroupfs everywhere: there is no systemd, and the host is v1/v2 hybrid.

CTK_RT_DIR=${CTK_RT_DIR:-}
CTK_RT_NETNS=${CTK_RT_NETNS:-}
CTK_CONTAINERD_SOCK=
CTK_CONTAINERD_PID=
CTK_DOCKER_SOCK=
CTK_DOCKER_ROOT=
CTK_DOCKER_EXEC_ROOT=
CTK_DOCKERD_PID=
CTK_DOCKER_STORAGE_DRIVER=
CTK_PODMAN_ROOT=
CTK_PODMAN_RUNROOT=
CTK_CTR_NAMESPACE=${CTK_CTR_NAMESPACE:-k8s.io}
CTK_RT_WAIT=${CTK_RT_WAIT:-30} # seconds a daemon may take to answer
CTK_RT_LAST_IDS=
# Force dockerd's storage driver (e.g. vfs where overlay2 cannot work);
# empty means overlay2 with a fallback to vfs.
CTK_RT_DOCKER_DRIVER=${CTK_RT_DOCKER_DRIVER:-}
# CTK_RT_DOCKER_IPTABLES=1: dockerd with its iptables rules and default
# bridge docker0, as on a real docker host (FORWARD policy DROP, DOCKER-USER).
# dockerd runs iptables in its own network namespace, the test's: the
# machine's tables are never touched; they go with the namespace.
CTK_RT_DOCKER_IPTABLES=${CTK_RT_DOCKER_IPTABLES:-}
# CTK_RT_PODMAN_NETWORK=1: podman containers on its default CNI bridge
# network (cni-podman0, 10.88.0.0/16) with the CNI plugins' iptables rules,
# instead of network "none". podman runs the plugins in the test's network
# namespace, so the bridge, the host-side veths and the rules stay there.
CTK_RT_PODMAN_NETWORK=${CTK_RT_PODMAN_NETWORK:-}
# podman's storage driver (containers-storage.conf), "overlay" unless set.
CTK_RT_PODMAN_DRIVER=${CTK_RT_PODMAN_DRIVER:-overlay}

_ctk_rt_log() { echo "runtimes: $*" >&2; }
_ctk_rt_now() { date +%s.%N; }
_ctk_rt_elapsed() { awk -v a="$1" -v b="$(_ctk_rt_now)" 'BEGIN { printf "%.2f", b - a }'; }

# ctk_rt_have_tools: succeeds when every runtime binary the harness needs is
# installed; prints the missing ones otherwise.
ctk_rt_have_tools() {
    local t absent=()
    for t in "$@"; do command -v "$t" >/dev/null 2>&1 || absent+=("$t"); done
    [ ${#absent[@]} -eq 0 ] && return 0
    echo "${absent[*]}"
    return 1
}

# ctk_rt_init: private directory and network namespace, cleanup on exit.
# The directory is short on purpose: it holds the daemons' unix sockets, whose
# paths are limited to 108 bytes.
ctk_rt_init() {
    CTK_RT_DIR=$(mktemp -d /tmp/ctk-rt.XXXXXX) || fail "mktemp failed"
    CTK_RT_NETNS="ctk-rt-${CTK_RT_DIR##*.}"
    # Standard run directories the runtimes create whatever their flags say;
    # cleanup removes them (when empty) only if they did not exist before.
    local d
    for d in /run/containerd /run/runc /run/docker /var/lib/cni; do
        [ -e "$d" ] || echo "$d" >>"$CTK_RT_DIR/created-run-dirs"
    done
    on_exit ctk_rt_cleanup
    # bash skips the EXIT trap when a signal kills it: turn ^C and SIGTERM
    # into an exit so the runtimes are still cleaned up.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    ip netns add "$CTK_RT_NETNS" || fail "ip netns add $CTK_RT_NETNS failed"
    # Loopback up, so daemons that listen on 127.0.0.1 inside it work.
    nsenter --net="/run/netns/$CTK_RT_NETNS" ip link set lo up
    _ctk_rt_log "dir $CTK_RT_DIR, netns $CTK_RT_NETNS"
}

# Runs a command inside the test's network namespace (host mount namespace).
ctk_rt_nsenter() { nsenter --net="/run/netns/$CTK_RT_NETNS" "$@"; }
# The same, replacing the calling (sub)shell: `_ctk_rt_exec_in_netns daemon &`
# makes $! the daemon's own PID (nsenter without --pid execs, it does not
# fork), so killing $! kills the daemon, not a shell around it.
_ctk_rt_exec_in_netns() { exec nsenter --net="/run/netns/$CTK_RT_NETNS" "$@"; }

# _ctk_rt_wait WHAT PID CMD...: polls CMD until it succeeds, the daemon PID
# dies, or CTK_RT_WAIT seconds pass.
_ctk_rt_wait() {
    local what=$1 pid=$2 deadline
    shift 2
    deadline=$(($(date +%s) + CTK_RT_WAIT))
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            _ctk_rt_log "$what exited during start-up"
            return 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            _ctk_rt_log "$what did not answer within ${CTK_RT_WAIT}s"
            return 1
        fi
        sleep 0.05
    done
}

_ctk_rt_dump_log() { [ -f "$1" ] && { echo "--- last lines of $1" >&2; tail -n 20 "$1" >&2; }; }

ctk_rt_start_containerd() {
    local d="$CTK_RT_DIR/containerd" t0
    mkdir -p "$d/root" "$d/state" "$d/fifo"
    CTK_CONTAINERD_SOCK="$CTK_RT_DIR/containerd.sock"
    # Own config so the host's /etc/containerd/config.toml does not apply;
    # CRI is off (it would load CNI), devmapper and friends just warn.
    cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTK_CONTAINERD_SOCK"
[ttrpc]
  address = "$CTK_CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
    t0=$(_ctk_rt_now)
    _ctk_rt_exec_in_netns containerd --config "$d/config.toml" >"$CTK_RT_DIR/containerd.log" 2>&1 &
    CTK_CONTAINERD_PID=$!
    disown # no "Killed" job notice when a test kills it on purpose
    echo "$CTK_CONTAINERD_PID" >"$d/containerd.pid"
    if ! _ctk_rt_wait containerd "$CTK_CONTAINERD_PID" ctr --address "$CTK_CONTAINERD_SOCK" version; then
        _ctk_rt_dump_log "$CTK_RT_DIR/containerd.log"
        return 1
    fi
    _ctk_rt_log "containerd ready in $(_ctk_rt_elapsed "$t0")s (pid $CTK_CONTAINERD_PID)"
}

# _ctk_rt_dockerd DRIVER: one start attempt with the given storage driver.
_ctk_rt_dockerd() {
    local driver=$1 d="$CTK_RT_DIR/docker" net
    mkdir -p "$CTK_DOCKER_ROOT" "$CTK_DOCKER_EXEC_ROOT"
    net=(--bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false)
    [ -n "$CTK_RT_DOCKER_IPTABLES" ] && net=(--iptables=true --ip6tables=false)
    # An empty config file so the host's /etc/docker/daemon.json is ignored.
    echo '{}' >"$d/daemon.json"
    _ctk_rt_exec_in_netns dockerd \
        --config-file "$d/daemon.json" \
        --data-root "$CTK_DOCKER_ROOT" \
        --exec-root "$CTK_DOCKER_EXEC_ROOT" \
        -H "unix://$CTK_DOCKER_SOCK" \
        --pidfile "$d/dockerd.pid" \
        --containerd "$CTK_CONTAINERD_SOCK" \
        "${net[@]}" --userland-proxy=false \
        --storage-driver "$driver" \
        --exec-opt native.cgroupdriver=cgroupfs \
        >>"$CTK_RT_DIR/dockerd.log" 2>&1 &
    CTK_DOCKERD_PID=$!
    disown
    _ctk_rt_wait dockerd "$CTK_DOCKERD_PID" docker -H "unix://$CTK_DOCKER_SOCK" info
}

# ctk_rt_start_dockerd: starts containerd first when the test has not.
ctk_rt_start_dockerd() {
    local t0
    [ -n "$CTK_CONTAINERD_PID" ] || ctk_rt_start_containerd || return 1
    CTK_DOCKER_ROOT="$CTK_RT_DIR/docker/data"
    CTK_DOCKER_EXEC_ROOT="$CTK_RT_DIR/docker/exec"
    CTK_DOCKER_SOCK="$CTK_RT_DIR/docker.sock"
    t0=$(_ctk_rt_now)
    if [ -n "$CTK_RT_DOCKER_DRIVER" ]; then
        CTK_DOCKER_STORAGE_DRIVER=$CTK_RT_DOCKER_DRIVER
        if ! _ctk_rt_dockerd "$CTK_RT_DOCKER_DRIVER"; then
            _ctk_rt_dump_log "$CTK_RT_DIR/dockerd.log"
            return 1
        fi
    elif CTK_DOCKER_STORAGE_DRIVER=overlay2 && ! _ctk_rt_dockerd overlay2; then
        # overlay2 needs a data-root on a filesystem overlayfs accepts as
        # upper layer (not overlayfs itself); vfs works anywhere, slowly.
        _ctk_rt_log "dockerd with overlay2 failed; retrying with vfs"
        _ctk_rt_dump_log "$CTK_RT_DIR/dockerd.log"
        _ctk_rt_kill_pid "$CTK_DOCKERD_PID"
        _ctk_rt_umount_under "$CTK_RT_DIR/docker"
        rm -rf "$CTK_RT_DIR/docker"
        CTK_DOCKER_STORAGE_DRIVER=vfs
        if ! _ctk_rt_dockerd vfs; then
            _ctk_rt_dump_log "$CTK_RT_DIR/dockerd.log"
            return 1
        fi
    fi
    _ctk_rt_log "dockerd ($CTK_DOCKER_STORAGE_DRIVER) ready in $(_ctk_rt_elapsed "$t0")s (pid $CTK_DOCKERD_PID)"
}

ctk_docker() { docker -H "unix://${CTK_DOCKER_SOCK:?dockerd not started}" "$@"; }

# ctk_rt_setup_podman: podman has no daemon; this writes its configuration.
# Every ctk_podman call runs in the test's netns.
ctk_rt_setup_podman() {
    local d="$CTK_RT_DIR/podman" nofile nproc netns=none
    CTK_PODMAN_ROOT="$d/root"
    CTK_PODMAN_RUNROOT="$d/runroot"
    mkdir -p "$CTK_PODMAN_ROOT" "$CTK_PODMAN_RUNROOT" "$d/tmp" "$d/cni" "$d/volumes"
    nofile=$(ulimit -n)
    nproc=$(ulimit -u)
    [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
    [ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ] && nproc=4096
    if [ -n "$CTK_RT_PODMAN_NETWORK" ]; then
        netns=bridge
        # podman's default network as it would make it, but with host-local's
        # leases under the harness directory instead of /var/lib/cni/networks.
        cat >"$d/cni/podman.conflist" <<EOF
{ "cniVersion": "0.4.0", "name": "podman", "plugins": [
  { "type": "bridge", "bridge": "cni-podman0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
    "ipam": { "type": "host-local", "dataDir": "$d/cni-leases", "routes": [{ "dst": "0.0.0.0/0" }],
              "ranges": [[{ "subnet": "10.88.0.0/16", "gateway": "10.88.0.1" }]] } },
  { "type": "portmap", "capabilities": { "portMappings": true } },
  { "type": "firewall" },
  { "type": "tuning" } ] }
EOF
    fi
    cat >"$d/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "$netns"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
runtime = "runc"
tmp_dir = "$d/tmp"
volume_path = "$d/volumes"

[network]
network_backend = "cni"
network_config_dir = "$d/cni"
EOF
    cat >"$d/storage.conf" <<EOF
[storage]
driver = "${CTK_RT_PODMAN_DRIVER:-overlay}"
graphroot = "$CTK_PODMAN_ROOT"
runroot = "$CTK_PODMAN_RUNROOT"
EOF
}

ctk_podman() {
    local d="$CTK_RT_DIR/podman"
    [ -n "$CTK_PODMAN_ROOT" ] || { _ctk_rt_log "podman not set up"; return 1; }
    CONTAINERS_CONF="$d/containers.conf" CONTAINERS_STORAGE_CONF="$d/storage.conf" \
        ctk_rt_nsenter podman --root "$CTK_PODMAN_ROOT" --runroot "$CTK_PODMAN_RUNROOT" \
        --cgroup-manager cgroupfs --runtime runc --events-backend file \
        --tmpdir "$d/tmp" "$@"
}

ctk_ctr() {
    ctr --address "${CTK_CONTAINERD_SOCK:?containerd not started}" -n "$CTK_CTR_NAMESPACE" "$@"
}

# ctk_ctr_run ID CMD...: a detached busybox container in $CTK_CTR_NAMESPACE.
# Its cgroup is the ctr default /<namespace>/<id> and its runc state is in
# the standard /run/containerd/runc/<namespace>, as on a real node.
ctk_ctr_run() {
    local id=$1
    shift
    ctk_ctr run -d --null-io --fifo-dir "$CTK_RT_DIR/containerd/fifo" \
        "${CTK_CTR_IMAGE:-docker.io/library/ctk-busybox:latest}" "$id" "$@" >/dev/null
}

# ---- cleanup ---------------------------------------------------------------

# ctk_rt_alive PID: the process exists and is not a zombie. Killed
# containers are reaped by whoever inherits them, which can take a moment.
ctk_rt_alive() {
    local state
    state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ]
}

# ctk_rt_wait_gone PID [TENTHS]: waits until PID is gone (default 3 s).
ctk_rt_wait_gone() {
    local i
    for i in $(seq "${2:-30}"); do ctk_rt_alive "$1" || return 0; sleep 0.1; done
    ! ctk_rt_alive "$1"
}

_ctk_rt_kill_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -9 "$pid" 2>/dev/null || return 0
    ctk_rt_wait_gone "$pid"
}

# Host processes whose command line names the harness directory: daemons,
# containerd shims (-address), conmon (-b bundle), podman and its cleanup
# children. Never this shell.
_ctk_rt_pids_by_cmdline() {
    local p
    for p in $(pgrep -f -- "$CTK_RT_DIR"); do
        [ "$p" = "$$" ] || [ "$p" = "${BASHPID:-$$}" ] || echo "$p"
    done
}

# Container processes: in another mount namespace whose mounts come from the
# harness directory (overlay lowerdir/upperdir). Host processes are skipped
# by their mount namespace first (one stat for all), since the host sees the
# same mounts and there can be thousands of them.
_ctk_rt_pids_by_mounts() {
    local self p
    self=$(stat -L -c %i /proc/self/ns/mnt)
    for p in $(stat -L -c '%i %n' /proc/[0-9]*/ns/mnt 2>/dev/null |
        awk -v self="$self" '$1 != self { split($2, a, "/"); print a[3] }'); do
        grep -q -F -- "$CTK_RT_DIR" "/proc/$p/mountinfo" 2>/dev/null && echo "$p"
    done
}

# Every container ID the runtimes wrote into the harness directory.
_ctk_rt_container_ids() {
    local d
    for d in "$CTK_RT_DIR"/docker/data/containers/* "$CTK_RT_DIR"/podman/root/*-containers/* \
        "$CTK_RT_DIR"/containerd/state/io.containerd.runtime.v2.task/*/*; do
        [ -d "$d" ] && basename "$d"
    done | sort -u
}

_ctk_rt_umount_under() {
    local dir=$1 m
    # Deepest first; lazy so a busy mount cannot stop the rest.
    for m in $(findmnt -rn -o TARGET | grep -F -- "$dir" | sort -r); do
        umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}

# Cgroup directories of our containers in every hierarchy (v1 controllers and
# the unified tree): /docker/<id>, /libpod_parent/libpod-<id>, /<ns>/<id>.
_ctk_rt_cgroup_dirs() {
    local id h
    for id in "$@"; do
        for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
            [ -d "$h" ] || continue
            ls -d "$h"docker/"$id" "$h"libpod_parent/libpod-"$id" \
                "$h"*/"$id" 2>/dev/null
        done
    done | sort -u
}

# ctk_rt_cleanup: kills and removes everything the harness started. Safe to
# run twice and after a partial start.
ctk_rt_cleanup() {
    [ -n "$CTK_RT_DIR" ] && [ -d "$CTK_RT_DIR" ] || { _ctk_rt_netns_del; return 0; }
    local ids pids cg i sock f p
    ids=$(_ctk_rt_container_ids)
    CTK_RT_LAST_IDS=$ids # for ctk_rt_leftovers once the directory is gone
    # Daemons first, so nothing restarts what we kill next.
    _ctk_rt_kill_pid "$CTK_DOCKERD_PID"
    [ -f "$CTK_RT_DIR/docker/dockerd.pid" ] && _ctk_rt_kill_pid "$(cat "$CTK_RT_DIR/docker/dockerd.pid")"
    _ctk_rt_kill_pid "$CTK_CONTAINERD_PID"
    for i in 1 2 3 4 5; do
        pids="$(_ctk_rt_pids_by_cmdline) $(_ctk_rt_pids_by_mounts)"
        for cg in $(_ctk_rt_cgroup_dirs $ids); do
            [ -f "$cg/cgroup.procs" ] && pids="$pids $(cat "$cg/cgroup.procs" 2>/dev/null)"
        done
        # Only those still there: a process may exit while we look.
        pids=$(for p in $pids; do ctk_rt_alive "$p" && echo "$p"; done)
        [ -n "$pids" ] || break
        kill -9 $pids 2>/dev/null
        sleep 0.1
    done
    # Shim sockets live in /run/containerd/s whatever --state says.
    for f in "$CTK_RT_DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/address; do
        [ -f "$f" ] || continue
        sock=$(cat "$f")
        sock=${sock#unix://}
        case $sock in /run/containerd/s/*) rm -f "$sock" ;; esac
    done
    # runc state of podman (/run/runc) and ctr (/run/containerd/runc/<ns>);
    # libcni's cache of podman's CNI results (its directory is not settable).
    for i in $ids; do
        rm -rf "/run/runc/$i" "/run/containerd/runc/$CTK_CTR_NAMESPACE/$i" /var/lib/cni/results/*-"$i"-*
    done
    # Network namespaces podman made for its containers (CTK_RT_PODMAN_NETWORK),
    # named in their runc bundles; `podman rm` would have removed them.
    for f in $(cat "$CTK_RT_DIR"/podman/root/*-containers/*/userdata/config.json 2>/dev/null |
        grep -o '/run/netns/netns-[0-9a-f-]*' | sort -u); do
        umount "$f" 2>/dev/null
        rm -f "$f"
    done
    _ctk_rt_umount_under "$CTK_RT_DIR"
    # rmdir only: a cgroup that still has processes stays (and is reported).
    for cg in $(_ctk_rt_cgroup_dirs $ids); do
        rmdir "$cg" 2>/dev/null || _ctk_rt_log "cgroup $cg not removed"
    done
    # Parents the runtimes created, if nobody else uses them any more.
    for cg in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        rmdir "$cg"libpod_parent/conmon "$cg"libpod_parent "$cg"docker \
            "$cg$CTK_CTR_NAMESPACE" 2>/dev/null
    done
    rmdir "/run/containerd/runc/$CTK_CTR_NAMESPACE" /run/containerd/runc 2>/dev/null
    if [ -f "$CTK_RT_DIR/created-run-dirs" ]; then
        while read -r f; do
            rmdir "$f"/*/ "$f" 2>/dev/null
        done <"$CTK_RT_DIR/created-run-dirs"
    fi
    _ctk_rt_netns_del
    if [ -n "${CTK_RT_KEEP:-}" ]; then
        _ctk_rt_log "kept $CTK_RT_DIR (CTK_RT_KEEP)"
    else
        rm -rf "$CTK_RT_DIR"
    fi
    return 0
}

_ctk_rt_netns_del() {
    [ -n "$CTK_RT_NETNS" ] && [ -e "/run/netns/$CTK_RT_NETNS" ] && ip netns delete "$CTK_RT_NETNS"
    return 0
}

# ctk_rt_leftovers: prints anything of this harness still on the host
# (for tests of the harness itself); empty output means clean.
ctk_rt_leftovers() {
    [ -n "$CTK_RT_NETNS" ] && [ -e "/run/netns/$CTK_RT_NETNS" ] && echo "netns $CTK_RT_NETNS"
    findmnt -rn -o TARGET | grep -F -- "$CTK_RT_DIR" | sed 's/^/mount /'
    pgrep -a -f -- "$CTK_RT_DIR" | grep -v "^$$ " | sed 's/^/process /'
    [ -d "$CTK_RT_DIR" ] && [ -z "${CTK_RT_KEEP:-}" ] && echo "dir $CTK_RT_DIR"
    local ids=${CTK_RT_LAST_IDS:-$(_ctk_rt_container_ids 2>/dev/null)} id
    _ctk_rt_cgroup_dirs $ids | sed 's/^/cgroup /'
    for id in $ids; do
        ls -d "/run/runc/$id" "/run/containerd/runc/$CTK_CTR_NAMESPACE/$id" 2>/dev/null | sed 's/^/runc state /'
    done
    return 0
}
