#!/bin/bash
# Image sources docker-daemon: and containers-storage: (issue 3) against the
# real stores of dockerd and podman: `ctk layers` of an image read from the
# store must match `ctk layers` of the same image's `docker save` / `podman
# save` output (same diff IDs, same per-layer files with sizes, modes and
# statuses), also after dockerd is killed, with the data root found the way a
# user's ctk finds it (no flags: discovery through a running container).
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools dockerd docker containerd containerd-shim-runc-v2 runc podman \
    conmon jq ip nsenter findmnt) || skip_or_fail "runtimes not installed: $missing"
ctk_busybox_available || skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
[ -x "$CTK_BIN" ] || fail "ctk binary not found: $CTK_BIN"
unset DOCKER_HOST DOCKER_CONTEXT CONTAINERD_ADDRESS CONTAINERS_CONF CONTAINERS_STORAGE_CONF

FAILURES=()
check_failed() { echo "CHECK FAILED: $*" >&2; FAILURES+=("$*"); }
ok() { echo "ok: $*"; }

ctk_rt_init
T=$CTK_RT_DIR/sources
mkdir -p "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }

# What is compared: everything `ctk layers` says per layer except the
# compressed size (a store has no blob; docker-archive has one).
layers_json() { ctk layers --format json "$1" | jq -c 'map(del(.Compressed))'; }

# same_layers WHAT REF REFERENCE_JSON
same_layers() {
    local what=$1 ref=$2 want=$3 got
    if ! got=$(layers_json "$ref" 2>"$T/err"); then
        check_failed "$what: ctk layers $ref failed: $(cat "$T/err")"
    elif [ "$got" != "$want" ]; then
        check_failed "$what: ctk layers $ref differs from the saved archive"
        diff <(jq . <<<"$want") <(jq . <<<"$got") | head -20 >&2
    else
        ok "$what"
    fi
}

# expect_error WHAT WANT_SUBSTRING ARGS...: ctk fails with exit 1 and one line.
expect_error() {
    local what=$1 want=$2 rc=0 err
    shift 2
    ctk "$@" >/dev/null 2>"$T/err" || rc=$?
    err=$(cat "$T/err")
    if [ $rc -ne 1 ] || [ "$(wc -l <"$T/err")" -ne 1 ] || [[ $err != *"$want"* ]]; then
        check_failed "$what: exit $rc, stderr '$err', want exit 1 and one line with '$want'"
    else
        ok "$what ($err)"
    fi
}

# ms_of N ARGS...: median wall time of N runs of ctk ARGS, in ms.
ms_of() {
    local n=$1 i t0 t1
    shift
    for i in $(seq "$n"); do
        t0=$(date +%s%N)
        ctk "$@" >/dev/null 2>&1 || { echo fail; return; }
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
    done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# ---- an image with several layers and a deletion -----------------------------
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_rt_setup_podman
ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of busybox"
mkdir -p "$T/ctx"
cat >"$T/ctx/Dockerfile" <<'EOF'
FROM ctk-busybox:latest
RUN mkdir -p /app/data && echo hello >/app/a.txt && echo secret >/app/key.pem && \
    for i in $(seq 1 300); do echo "$i" >/app/data/f$i; done && \
    head -c 3000000 /bin/busybox >/app/big && chmod 4755 /app/big
RUN rm /app/key.pem /app/data/f7 && echo changed >/app/a.txt && ln -s a.txt /app/link && \
    mkdir /app/empty
EOF
# The classic builder works offline from a local base image and needs no
# BuildKit; no network for RUN (the harness gives dockerd no bridge).
DOCKER_BUILDKIT=0 ctk_docker build -q --network none -t ctk-multi:latest "$T/ctx" >"$T/build.log" 2>&1 ||
    fail "docker build: $(cat "$T/build.log")"
ctk_docker save -o "$T/docker.tar" ctk-multi:latest || fail "docker save"
DOCKER_ID=$(ctk_docker image inspect -f '{{.Id}}' ctk-multi:latest)
DOCKER_LAYERS=$(ctk_docker image inspect -f '{{json .RootFS.Layers}}' ctk-multi:latest | jq -c .)
ctk_podman load -q -i "$T/docker.tar" >"$T/podman-load.log" 2>&1 || fail "podman load: $(cat "$T/podman-load.log")"
# --uncompressed: layer blobs whose digests are the diff IDs, as in the store.
ctk_podman save -q --uncompressed --format oci-archive -o "$T/podman-oci.tar" localhost/ctk-multi:latest \
    >"$T/podman-save.log" 2>&1 || fail "podman save: $(cat "$T/podman-save.log")"

WANT=$(layers_json "docker-archive:$T/docker.tar") || fail "ctk layers of docker save output"
[ "$(jq length <<<"$WANT")" -eq 3 ] || fail "expected 3 layers from docker save, got: $WANT"
expect_eq "diff IDs from docker-archive are docker's" "$(jq -c 'map(.Digest)' <<<"$WANT")" "$DOCKER_LAYERS"
expect_eq "the last layer deletes key.pem and f7" \
    "$(jq -c '.[2].Files | map(select(.Status == "deleted")) | map(.Path)' <<<"$WANT")" \
    '["/app/data/f7","/app/key.pem"]'

# ---- docker-daemon: with dockerd running ---------------------------------------
same_layers "docker-daemon: (dockerd up) matches docker save" docker-daemon:ctk-multi:latest "$WANT"
for ref in ctk-multi docker.io/library/ctk-multi:latest "${DOCKER_ID:7:12}" "$DOCKER_ID"; do
    got=$(ctk layers --format '{{.Digest}}' "docker-daemon:$ref" 2>&1 | paste -sd' ')
    [ "$got" = "$(jq -r 'map(.Digest) | join(" ")' <<<"$WANT")" ] &&
        ok "docker-daemon:$ref resolves" || check_failed "docker-daemon:$ref: '$got'"
done
expect_error "missing name in docker's store" \
    "cannot open image docker-daemon:nope: no image nope in docker's store ($CTK_DOCKER_ROOT)" \
    layers docker-daemon:nope

# ---- docker-daemon: with dockerd dead -------------------------------------------
# A running container is how a user's ctk finds a data root that is not
# /var/lib/docker once dockerd is gone (its /etc/hostname bind mount).
ctk_docker run -d --name ctksrc ctk-busybox:latest sleep 100000 >/dev/null 2>"$T/run.log" ||
    fail "docker run ctksrc: $(cat "$T/run.log")"
T_UP=$(ms_of 5 layers docker-daemon:ctk-multi)
T_ARCHIVE=$(ms_of 5 layers "docker-archive:$T/docker.tar")
# dockerd's own PID is in its pidfile: CTK_DOCKERD_PID may be the subshell
# that started it.
DOCKERD_PID=$(cat "$CTK_RT_DIR/docker/dockerd.pid") || fail "no dockerd pidfile"
kill -9 "$DOCKERD_PID" "$CTK_DOCKERD_PID" 2>/dev/null
ctk_rt_wait_gone "$DOCKERD_PID" || fail "dockerd did not die"
ctk_docker info >/dev/null 2>&1 && fail "dockerd still answers"
same_layers "docker-daemon: (dockerd killed) matches docker save" docker-daemon:ctk-multi "$WANT"
expect_error "missing name with dockerd down" \
    "no image nope in docker's store ($CTK_DOCKER_ROOT)" layers docker-daemon:nope
T_DOWN=$(ms_of 5 layers docker-daemon:ctk-multi)
# findings and the tree read the same streams.
ctk layers findings docker-daemon:ctk-multi >"$T/findings" 2>&1 || check_failed "findings: $(cat "$T/findings")"
grep -q key.pem "$T/findings" && ok "findings name the deleted key.pem" ||
    check_failed "findings do not name key.pem: $(cat "$T/findings")"

# ---- containers-storage: --------------------------------------------------------
# podman's store is where its storage.conf says, as for podman itself.
export CONTAINERS_STORAGE_CONF=$CTK_RT_DIR/podman/storage.conf
PWANT=$(layers_json "oci-archive:$T/podman-oci.tar") || fail "ctk layers of podman save output"
expect_eq "podman's oci-archive has docker's layers" "$(jq -c 'map(.Digest)' <<<"$PWANT")" "$DOCKER_LAYERS"
same_layers "containers-storage: matches podman save" containers-storage:ctk-multi "$PWANT"
same_layers "containers-storage: with the full name" containers-storage:localhost/ctk-multi:latest "$PWANT"
PODMAN_ID=$(ctk_podman image inspect -f '{{.Id}}' localhost/ctk-multi:latest)
same_layers "containers-storage: by ID prefix" "containers-storage:${PODMAN_ID:0:12}" "$PWANT"
expect_error "missing name in containers-storage" \
    "no image nope in containers-storage ($CTK_PODMAN_ROOT)" layers containers-storage:nope
T_STORAGE=$(ms_of 5 layers containers-storage:ctk-multi)
T_OCI=$(ms_of 5 layers "oci-archive:$T/podman-oci.tar")
unset CONTAINERS_STORAGE_CONF

echo "timing (median of 5, ms): docker-daemon: dockerd up $T_UP, dockerd down $T_DOWN," \
    "docker-archive: $T_ARCHIVE; containers-storage: $T_STORAGE, oci-archive: $T_OCI" \
    "($(du -k "$T/docker.tar" | cut -f1) KiB image)"

if [ ${#FAILURES[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILURES[@]}" >&2
    exit 1
fi
echo PASS
