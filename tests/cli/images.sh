#!/bin/bash
# ctk load / images / tag / history / save / rmi / import as a user runs
# them, on a docker-archive built here (no daemon, no root needed).
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

T=$(mktemp -d /tmp/ctk-cli-images.XXXXXX) || fail "mktemp"
on_exit rm -rf "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }

# A small two-file rootfs keeps the test fast; busybox is not needed here.
mkdir -p "$T/rootfs/etc"
echo box >"$T/rootfs/etc/hostname"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$T/rootfs" -cf "$T/layer.tar" .
ctk_busybox_docker_archive "$T/in.tar" cli-test:1 "$T/layer.tar" || fail "building the archive"
layer_sha=$(sha256sum "$T/layer.tar" | cut -d' ' -f1)

out=$(ctk load -i "$T/in.tar") || fail "load: $out"
expect_contains "load output" "$out" "cli-test:1"
[ "$(stat -c %a "$T/root/image")" = 700 ] || fail "store is not mode 0700"

# From stdin too, into another store.
out=$("$CTK_BIN" --root "$T/root2" load <"$T/in.tar") || fail "load from stdin: $out"
expect_contains "load from stdin" "$out" "cli-test:1"

out=$(ctk images --format '{{.Repository}} {{.Tag}} {{.Size}}')
expect_eq "images" "$out" "cli-test 1 $(stat -c %s "$T/layer.tar")"
id=$(ctk images --format '{{.ID}}')
[ ${#id} = 71 ] || fail "images --format {{.ID}} printed '$id'"

ctk tag cli-test:1 example.com/me/app:v2 || fail "tag"
out=$(ctk images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')
expect_eq "images after tag" "$out" "cli-test:1 example.com/me/app:v2 "
# -q: the short ID of every row, no header (docker images -q); --no-trunc the full one.
expect_eq "images -q" "$(ctk images -q | tr '\n' ' ')" "${id:7:12} ${id:7:12} "
expect_eq "images -q --no-trunc" "$(ctk images --quiet --no-trunc | head -1)" "$id"
expect_eq "-q wins over --format" "$(ctk images -q --format json | head -1)" "${id:7:12}"

out=$(ctk history cli-test:1 --format '{{.CreatedBy}}')
expect_eq "history" "$out" "ctk tests busybox-image.sh"

ctk save -o "$T/out.tar" cli-test:1 || fail "save"
tar -tf "$T/out.tar" | grep -qx "blobs/sha256/$layer_sha" || fail "save changed the layer digest"
tar -xOf "$T/out.tar" manifest.json | grep -q '"RepoTags":\["cli-test:1"\]' || fail "manifest.json lacks RepoTags"
ctk save -o "oci:$T/layout" "$id" || fail "save oci:DIR"
[ -f "$T/layout/index.json" ] && [ -f "$T/layout/blobs/sha256/$layer_sha" ] || fail "oci layout incomplete"

# rmi: by ID with two names is refused; by name untags, then deletes.
if ctk rmi "$id" 2>"$T/err"; then fail "rmi by ID of a two-name image succeeded"; fi
expect_contains "rmi error" "$(cat "$T/err")" "several names"
out=$(ctk rmi example.com/me/app:v2 --format '{{.Action}}')
expect_eq "rmi untag" "$out" "Untagged"
out=$(ctk rmi cli-test:1 --format '{{.Action}}' | tr '\n' ' ')
expect_eq "rmi delete" "$out" "Untagged Deleted "
[ -z "$(ls "$T/root/image/blobs/sha256")" ] || fail "blobs left after the last rmi"
[ -z "$(ctk images --format '{{.ID}}')" ] || fail "image still listed"

# A container using an image keeps it unless -f.
ctk load -i "$T/in.tar" >/dev/null
mkdir -p "$T/run/containers/c1"
echo '{"id":"c1","name":"web","image":"cli-test:1","status":"exited"}' >"$T/run/containers/c1/state.json"
if ctk rmi cli-test:1 2>"$T/err"; then fail "rmi removed an image a container uses"; fi
expect_contains "rmi in use" "$(cat "$T/err")" "used by container web"
ctk rmi -f cli-test:1 >/dev/null || fail "rmi -f"

# import: the tarball is the layer, gzip kept as is.
gzip -c "$T/layer.tar" >"$T/rootfs.tar.gz"
ctk import "$T/rootfs.tar.gz" imported:v1 >/dev/null || fail "import"
gz_sha=$(sha256sum "$T/rootfs.tar.gz" | cut -d' ' -f1)
[ -f "$T/root/image/blobs/sha256/$gz_sha" ] || fail "import did not keep the tarball as the layer"

# Errors name the file and the cause, and nothing becomes visible.
echo 'not a tar' >"$T/bad.tar"
if ctk load -i "$T/bad.tar" 2>"$T/err"; then fail "loaded garbage"; fi
expect_contains "load error" "$(cat "$T/err")" "cannot load $T/bad.tar"
expect_eq "images after failed load" "$(ctk images --format '{{.ID}}' | wc -l)" "1"
echo PASS
