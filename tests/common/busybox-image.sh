# Builds a tiny busybox image at test time, offline, from Debian's
# busybox-static, and loads it into the runtimes started by runtimes.sh.
# Source it after lib.sh:
#   . "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
#
#   ctk_busybox_rootfs DIR            populate DIR with the rootfs
#   ctk_busybox_tarball OUT           rootfs as a plain tar (docker/podman import)
#   ctk_busybox_docker_archive OUT [REF [LAYER_TAR]]
#                                     a one-layer docker-archive (manifest.json,
#                                     config, layer.tar) written by hand, loadable
#                                     by `docker load`, `podman load`, `ctr import`;
#                                     LAYER_TAR reuses a tarball made above
#   ctk_busybox_import_docker REF     docker import into the harness's dockerd
#   ctk_busybox_import_podman REF     podman import into the harness's podman
#   ctk_busybox_import_containerd REF ctr -n k8s.io images import
#
# The import helpers use the wrappers from runtimes.sh (ctk_docker,
# ctk_podman, ctk_ctr) and cache the tarballs in $CTK_RT_DIR.

CTK_BUSYBOX_BIN=${CTK_BUSYBOX_BIN:-/bin/busybox}

ctk_busybox_available() {
    # Only the static build works inside an image without a libc; ldd fails
    # on a static binary ("not a dynamic executable").
    [ -x "$CTK_BUSYBOX_BIN" ] && ! ldd "$CTK_BUSYBOX_BIN" >/dev/null 2>&1
}

ctk_busybox_rootfs() {
    local dir=$1 applet
    mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,run,var/tmp}
    chmod 1777 "$dir/tmp" "$dir/var/tmp"
    chmod 700 "$dir/root"
    cp "$CTK_BUSYBOX_BIN" "$dir/bin/busybox"
    # Every applet as a symlink in /bin: one directory in PATH is enough, and
    # it keeps the layer small (symlinks, not copies).
    for applet in $("$CTK_BUSYBOX_BIN" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
    done
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$dir/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$dir/etc/group"
    : >"$dir/etc/hosts"
    : >"$dir/etc/resolv.conf"
}

# A deterministic tar (sorted, fixed owner and mtime) so the layer digest is
# the same on every run.
_ctk_busybox_tar() {
    local dir=$1 out=$2
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        -C "$dir" -cf "$out" .
}

ctk_busybox_tarball() {
    local out=$1 tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctk-busybox.XXXXXX") || return 1
    ctk_busybox_rootfs "$tmp/rootfs" && _ctk_busybox_tar "$tmp/rootfs" "$out"
    local rc=$?
    rm -rf "$tmp"
    return $rc
}

ctk_busybox_docker_archive() {
    local out=$1 ref=${2:-ctk-busybox:latest} layer=${3:-} tmp layer_sha cfg cfg_sha
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/ctk-busybox.XXXXXX") || return 1
    mkdir "$tmp/archive"
    if [ -n "$layer" ]; then
        cp "$layer" "$tmp/layer.tar" || { rm -rf "$tmp"; return 1; }
    else
        ctk_busybox_rootfs "$tmp/rootfs" && _ctk_busybox_tar "$tmp/rootfs" "$tmp/layer.tar" ||
            { rm -rf "$tmp"; return 1; }
    fi
    layer_sha=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
    mkdir "$tmp/archive/$layer_sha"
    mv "$tmp/layer.tar" "$tmp/archive/$layer_sha/layer.tar"
    cfg=$(printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",'`
        `'"config":{"Env":["PATH=/bin:/sbin:/usr/bin:/usr/sbin"],"Cmd":["sh"]},'`
        `'"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},'`
        `'"history":[{"created":"1970-01-01T00:00:00Z","created_by":"ctk tests busybox-image.sh"}]}' \
        "$layer_sha")
    printf '%s' "$cfg" >"$tmp/archive/config.json"
    cfg_sha=$(sha256sum "$tmp/archive/config.json" | cut -d' ' -f1)
    mv "$tmp/archive/config.json" "$tmp/archive/$cfg_sha.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
        "$cfg_sha" "$ref" "$layer_sha" >"$tmp/archive/manifest.json"
    # Member names without a leading "./", as docker save writes them.
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
        -C "$tmp/archive" -cf "$out" manifest.json "$cfg_sha.json" "$layer_sha"
    local rc=$?
    rm -rf "$tmp"
    return $rc
}

# Cached artefacts under the harness directory (runtimes.sh sets CTK_RT_DIR).
_ctk_busybox_cached_tarball() {
    local f="${CTK_RT_DIR:?ctk_rt_init first}/busybox-rootfs.tar"
    [ -s "$f" ] || ctk_busybox_tarball "$f" || return 1
    echo "$f"
}

ctk_busybox_import_docker() {
    local ref=${1:-ctk-busybox:latest} f
    f=$(_ctk_busybox_cached_tarball) || return 1
    ctk_docker import --change 'CMD ["sh"]' \
        --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' "$f" "$ref" >/dev/null
}

ctk_busybox_import_podman() {
    local ref=${1:-ctk-busybox:latest} f
    f=$(_ctk_busybox_cached_tarball) || return 1
    ctk_podman import -q --change 'CMD ["sh"]' \
        --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' "$f" "$ref" >/dev/null
}

# ctr needs an image archive with a manifest; the hand-written docker-archive
# avoids depending on another runtime's store. ctr names the image
# docker.io/library/<ref>.
ctk_busybox_import_containerd() {
    local ref=${1:-ctk-busybox:latest}
    local f="${CTK_RT_DIR:?ctk_rt_init first}/busybox-docker-archive-${ref//[:\/@]/_}.tar"
    local layer
    layer=$(_ctk_busybox_cached_tarball) || return 1
    [ -s "$f" ] || ctk_busybox_docker_archive "$f" "$ref" "$layer" || return 1
    ctk_ctr images import "$f" >/dev/null
}
