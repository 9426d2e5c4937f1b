#!/bin/bash
# A load killed (SIGKILL) in the middle of a blob leaves no visible image,
# and the next ctk command that opens the store removes its temporary file
# and the blobs it had already committed (garbage: no image references
# them), but never while another load is running.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

T=$(mktemp -d /tmp/ctk-cli-killed.XXXXXX) || fail "mktemp"
on_exit 'kill -9 $writer $loader $writer2 $loader2 2>/dev/null; rm -rf "$T"'
writer= loader= writer2= loader2=
ctk() { "$CTK_BIN" --root "$T/root" "$@"; }
blobs() { ls "$T/root/image/blobs/sha256" 2>/dev/null | sort; }

head -c 3000000 /dev/urandom >"$T/big"
tar -C "$T" -cf "$T/layer.tar" big
ctk_busybox_docker_archive "$T/in.tar" killed:1 "$T/layer.tar" || fail "building the archive"
# The config member comes before the layer: half the archive commits it.
cfg=$(tar -tf "$T/in.tar" | grep -E '^[0-9a-f]{64}\.json$' | cut -c1-64)
[ -n "$cfg" ] || fail "no config member in the archive"

mkfifo "$T/fifo"
# Half the archive, then the writer stalls with the pipe open.
(head -c 1500000 "$T/in.tar"; exec sleep 60) >"$T/fifo" &
writer=$!
"$CTK_BIN" --root "$T/root" load -i - <"$T/fifo" >/dev/null 2>&1 &
loader=$!
for _ in $(seq 200); do
    [ -e "$T/root/image/blobs/sha256/$cfg" ] && [ -n "$(ls "$T/root/image/tmp" 2>/dev/null)" ] &&
        break
    sleep 0.05
done
sleep 0.3
[ -n "$(ls "$T/root/image/tmp")" ] || fail "the load wrote no temporary blob"
kill -9 "$loader"
wait "$loader" 2>/dev/null
expect_eq "blobs committed by the killed load" "$(blobs)" "$cfg"

[ -z "$(ctk images --format '{{.ID}}')" ] || fail "a killed load left a visible image"
[ -z "$(ls "$T/root/image/tmp")" ] || fail "leftovers of the killed load were not cleaned"
expect_eq "orphaned blobs after the next command" "$(blobs)" ""
# And the store works: the full archive loads.
ctk load -i "$T/in.tar" >/dev/null || fail "load after the killed one"
expect_eq "images" "$(ctk images --format '{{.Repository}}:{{.Tag}}')" "killed:1"
kill -9 "$writer" 2>/dev/null

# A load running beside other commands is not disturbed: its committed but
# unreferenced blobs survive them, and it completes.
head -c 3000000 /dev/urandom >"$T/big"
tar -C "$T" -cf "$T/layer2.tar" big
ctk_busybox_docker_archive "$T/in2.tar" beside:1 "$T/layer2.tar" || fail "building archive 2"
cfg2=$(tar -tf "$T/in2.tar" | grep -E '^[0-9a-f]{64}\.json$' | cut -c1-64)
before=$(blobs)
mkfifo "$T/fifo2"
(head -c 1500000 "$T/in2.tar"; while [ ! -e "$T/go" ]; do sleep 0.05; done
 tail -c +1500001 "$T/in2.tar") >"$T/fifo2" &
writer2=$!
"$CTK_BIN" --root "$T/root" load -i - <"$T/fifo2" >"$T/load2.out" 2>&1 &
loader2=$!
for _ in $(seq 200); do
    [ -e "$T/root/image/blobs/sha256/$cfg2" ] && [ -n "$(ls "$T/root/image/tmp")" ] && break
    sleep 0.05
done
[ -e "$T/root/image/blobs/sha256/$cfg2" ] || fail "load 2 committed no config blob"
[ -e "$T/root/image/gc-needed" ] || fail "a running load did not mark the store for collection"
ctk images >/dev/null || fail "images beside a load"
ctk load -i "$T/in.tar" >/dev/null || fail "a second load beside a load"
[ -e "$T/root/image/blobs/sha256/$cfg2" ] || fail "a command beside a load removed its blob"
[ -n "$(ls "$T/root/image/tmp")" ] || fail "a command beside a load removed its temporary blob"
touch "$T/go"
wait "$loader2" || fail "load 2 failed: $(cat "$T/load2.out")"
expect_eq "images after both loads" "$(ctk images --format '{{.Repository}}:{{.Tag}}' | sort)" \
    "beside:1
killed:1"
# Nothing is garbage now: the next command keeps every blob.
all=$(blobs)
ctk images >/dev/null
expect_eq "blobs after a collection with nothing to collect" "$(blobs)" "$all"
[ ! -e "$T/root/image/gc-needed" ] || fail "the collection did not clear its mark"
[ "$all" != "$before" ] || fail "load 2 added no blobs"
echo PASS
