#!/bin/bash
# A load killed (SIGKILL) in the middle of a blob leaves no visible image,
# and the next ctk command that opens the store removes its temporary file.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

T=$(mktemp -d /tmp/ctk-cli-killed.XXXXXX) || fail "mktemp"
on_exit 'kill -9 $writer $loader 2>/dev/null; rm -rf "$T"'
ctk() { "$CTK_BIN" --root "$T/root" "$@"; }

head -c 3000000 /dev/urandom >"$T/big"
tar -C "$T" -cf "$T/layer.tar" big
ctk_busybox_docker_archive "$T/in.tar" killed:1 "$T/layer.tar" || fail "building the archive"

mkfifo "$T/fifo"
# Half the archive, then the writer stalls with the pipe open.
(head -c 1500000 "$T/in.tar"; exec sleep 60) >"$T/fifo" &
writer=$!
"$CTK_BIN" --root "$T/root" load -i - <"$T/fifo" >/dev/null 2>&1 &
loader=$!
for _ in $(seq 100); do
    [ -n "$(ls "$T/root/image/tmp" 2>/dev/null)" ] && break
    sleep 0.05
done
sleep 0.3
[ -n "$(ls "$T/root/image/tmp")" ] || fail "the load wrote no temporary blob"
kill -9 "$loader"
wait "$loader" 2>/dev/null

[ -z "$(ctk images --format '{{.ID}}')" ] || fail "a killed load left a visible image"
[ -z "$(ls "$T/root/image/tmp")" ] || fail "leftovers of the killed load were not cleaned"
# And the store works: the full archive loads.
ctk load -i "$T/in.tar" >/dev/null || fail "load after the killed one"
expect_eq "images" "$(ctk images --format '{{.Repository}}:{{.Tag}}')" "killed:1"
echo PASS
