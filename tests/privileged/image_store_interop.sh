#!/bin/bash
# ctk's image archives against the real peers: docker save -> ctk load ->
# ctk save -> docker load / podman load / skopeo inspect (docker-archive: and
# oci-archive:), and podman's oci-archive -> ctk load. Digests must survive.
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools docker dockerd containerd podman skopeo jq) || skip_or_fail "missing: $missing"
ctk_busybox_available || skip_or_fail "busybox-static is not installed"

ctk_rt_init
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_rt_setup_podman
T=$CTK_RT_DIR/images
mkdir -p "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }

ctk_busybox_import_docker ctk-busybox:latest || fail "docker import"
ctk_docker save -o "$T/docker.tar" ctk-busybox:latest || fail "docker save"
docker_id=$(ctk_docker image inspect -f '{{.Id}}' ctk-busybox:latest)
docker_layers=$(ctk_docker image inspect -f '{{join .RootFS.Layers " "}}' ctk-busybox:latest)

# docker save -> ctk load: same image ID (config digest) and layer digests.
ctk load -i "$T/docker.tar" >/dev/null || fail "ctk load of docker save output"
expect_eq "image ID after ctk load" "$(ctk images --format '{{.ID}}')" "$docker_id"
manifest=$(ctk images --format '{{.Digest}}')
ctk_layers=$(jq -r '[.layers[].digest] | join(" ")' "$T/root/image/blobs/sha256/${manifest#sha256:}")
expect_eq "layer digests after ctk load" "$ctk_layers" "$docker_layers"

# ctk save -> docker load (after docker forgot the image) -> runs there.
ctk save -o "$T/ctk.tar" ctk-busybox:latest || fail "ctk save"
ctk_docker rmi ctk-busybox:latest >/dev/null || fail "docker rmi"
ctk_docker load -i "$T/ctk.tar" >"$T/docker-load.log" 2>&1 || fail "docker load of ctk save: $(cat "$T/docker-load.log")"
expect_eq "docker image ID after docker load" \
    "$(ctk_docker image inspect -f '{{.Id}}' ctk-busybox:latest)" "$docker_id"
out=$(ctk_docker run --rm --network none ctk-busybox:latest echo hello-from-ctk 2>&1) ||
    fail "docker run of the image ctk saved: $out"
expect_eq "docker run" "$out" "hello-from-ctk"

# podman load of the same archive.
ctk_podman load -i "$T/ctk.tar" >"$T/podman-load.log" 2>&1 || fail "podman load: $(cat "$T/podman-load.log")"
expect_eq "podman image ID" "sha256:$(ctk_podman image inspect -f '{{.Id}}' ctk-busybox:latest)" "$docker_id"

# skopeo reads the hybrid archive both ways.
sk_layers=$(skopeo inspect "docker-archive:$T/ctk.tar" | jq -r '.Layers | join(" ")') ||
    fail "skopeo inspect docker-archive:"
expect_eq "skopeo docker-archive layers" "$sk_layers" "$docker_layers"
sk_digest=$(skopeo inspect "oci-archive:$T/ctk.tar" | jq -r .Digest) || fail "skopeo inspect oci-archive:"
expect_eq "skopeo oci-archive manifest digest" "$sk_digest" "$manifest"

# ctk's OCI archive, and podman's oci-archive loaded by ctk.
ctk save -o "oci-archive:$T/ctk-oci.tar" ctk-busybox:latest || fail "ctk save oci-archive"
expect_eq "skopeo oci-archive of ctk save" \
    "$(skopeo inspect "oci-archive:$T/ctk-oci.tar" | jq -r .Digest)" "$manifest"
ctk_podman save --format oci-archive -o "$T/podman-oci.tar" ctk-busybox:latest >/dev/null 2>&1 ||
    fail "podman save oci-archive"
"$CTK_BIN" --root "$T/root2" load -i "$T/podman-oci.tar" >/dev/null || fail "ctk load of podman oci-archive"
expect_eq "image ID from podman oci-archive" \
    "$("$CTK_BIN" --root "$T/root2" images --format '{{.ID}}')" "$docker_id"
ctk_podman save --format oci-dir -o "$T/podman-oci-dir" ctk-busybox:latest >/dev/null 2>&1 ||
    fail "podman save oci-dir"
"$CTK_BIN" --root "$T/root3" load -i "oci:$T/podman-oci-dir" >/dev/null || fail "ctk load of oci:DIR"
expect_eq "image ID from podman oci-dir" \
    "$("$CTK_BIN" --root "$T/root3" images --format '{{.ID}}')" "$docker_id"
ctk_podman save --format docker-archive -o "$T/podman-docker.tar" ctk-busybox:latest >/dev/null 2>&1 ||
    fail "podman save docker-archive"
"$CTK_BIN" --root "$T/root4" load -i "$T/podman-docker.tar" >/dev/null || fail "ctk load of podman docker-archive"
expect_eq "image ID from podman docker-archive" \
    "$("$CTK_BIN" --root "$T/root4" images --format '{{.ID}}')" "$docker_id"
expect_eq "name from podman docker-archive" \
    "$("$CTK_BIN" --root "$T/root4" images --format '{{.Repository}}:{{.Tag}}')" "ctk-busybox:latest"
# history shows every step, like docker history.
expect_eq "history rows" "$(ctk history ctk-busybox:latest --format '{{.ID}}' | wc -l)" \
    "$(ctk_docker history -q ctk-busybox:latest | wc -l)"
echo PASS
