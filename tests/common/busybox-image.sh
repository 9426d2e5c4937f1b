# Builds a tiny busybox image at test time, offline, from Debian's
# busybox-static, and loads it into the runtimes started by runtimes.sh.
# Source it after lib.sh:
#   . "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"
#
# The image itself (ctk_busybox_available, ctk_busybox_rootfs,
# ctk_busybox_tarball, ctk_busybox_docker_archive OUT [REF [LAYER_TAR]]) is
# built by scripts/busybox-image.sh, which the quickstart uses too; this file
# adds the helpers that import it into the harness's runtimes:
#   ctk_busybox_import_docker REF     docker import into the harness's dockerd
#   ctk_busybox_import_podman REF     podman import into the harness's podman
#   ctk_busybox_import_containerd REF ctr -n k8s.io images import
#
# The import helpers use the wrappers from runtimes.sh (ctk_docker,
# ctk_podman, ctk_ctr) and cache the tarballs in $CTK_RT_DIR.

. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/busybox-image.sh"

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
