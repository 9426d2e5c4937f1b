#!/bin/bash
# Builds a tiny busybox image offline from Debian's busybox-static
# (/bin/busybox, every applet a symlink to it) as a one-layer docker-archive
# that `ctk load`, `docker load`, `podman load` and `ctr import` accept.
#
#   scripts/busybox-image.sh [NAME:TAG] > busybox.tar   (default busybox:latest)
#   ctk load -i busybox.tar
#
# Sourced (tests/common/busybox-image.sh does), it only defines the functions:
#   ctk_busybox_available             true when $CTK_BUSYBOX_BIN is a static busybox
#   ctk_busybox_rootfs DIR            populate DIR with the rootfs
#   ctk_busybox_tarball OUT           rootfs as a plain tar (docker/podman import)
#   ctk_busybox_docker_archive OUT [REF [LAYER_TAR]]
#                                     the docker-archive (manifest.json, config,
#                                     layer.tar) written by hand; LAYER_TAR reuses
#                                     a tarball made above
# The tars are deterministic (sorted, owner 0, mtime 0): the same busybox
# gives the same image ID on every run.

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

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -eu
    ref=${1:-busybox:latest}
    if ! ctk_busybox_available; then
        echo "busybox-image.sh: $CTK_BUSYBOX_BIN is not a static busybox (apt-get install busybox-static)" >&2
        exit 1
    fi
    if [ -t 1 ]; then
        echo "busybox-image.sh: the image is a tar on stdout; redirect it to a file" >&2
        exit 2
    fi
    out=$(mktemp "${TMPDIR:-/tmp}/ctk-busybox-image.XXXXXX")
    trap 'rm -f "$out"' EXIT
    ctk_busybox_docker_archive "$out" "$ref"
    cat "$out"
fi
