# The common start of a test on ctk's own containers. Source it after lib.sh:
#   . "$CTK_SOURCE_DIR/tests/common/ctk-store.sh"
#   ctk_store run-basic              # or: ctk_store run-net --netns
#   ctk_store_busybox                # busybox-static as image bb:latest
#
# ctk_store NAME [--netns] requires root, the ctk binary and busybox-static;
# makes $T (a private temporary folder) and ctk(), which runs $CTK_BIN with
# a store of its own under $T; with --netns inside a network namespace $NS
# made for the test, so a bridge never touches the machine's. At exit every
# container of the store is removed, then the namespace and $T.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/busybox-image.sh"

ctk_store() {
    local name=$1 netns=${2:-}
    require_root
    [ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN"
    ctk_busybox_available ||
        skip_or_fail "no static busybox at $CTK_BUSYBOX_BIN (package busybox-static)"
    T=$(mktemp -d "/tmp/ctk-$name.XXXXXX")
    NS=
    if [ "$netns" = --netns ]; then
        NS=ctk-$name-$$
        ip netns add "$NS" || skip_or_fail "cannot create a network namespace"
        ctk() { nsenter --net="/run/netns/$NS" "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
    else
        ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
    fi
    on_exit _ctk_store_cleanup
}

_ctk_store_cleanup() {
    local id
    for id in $(ctk ps -aq --no-trunc 2>/dev/null); do ctk rm -f "$id"; done
    [ -z "$NS" ] || ip netns del "$NS"
    rm -rf "$T"
}

# ctk_store_busybox [REF]: the busybox image (default bb:latest) in the store.
ctk_store_busybox() {
    ctk_busybox_docker_archive "$T/bb.tar" "${1:-bb:latest}" || fail "cannot build the busybox archive"
    ctk load -i "$T/bb.tar" >/dev/null || fail "ctk load"
}
