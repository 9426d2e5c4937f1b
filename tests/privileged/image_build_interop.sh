#!/bin/bash
# ctk layers on images the real builders made: `docker build` (saved with
# `docker save`, legacy docker-archive) and `podman build` (saved with
# `podman save --format oci-archive`) of one Dockerfile that adds files,
# rewrites one, deletes one, changes a mode and replaces a directory (an
# opaque directory on overlay storage). ctk loads both archives, and for each
# layer the test lists the layer's own tar (tar -tvf over the blob it takes
# out of the archive) and checks that `ctk layers --format json` reports
# exactly those entries: path, type, size, mode, owner; whiteouts as deleted
# paths. The statuses of the files the Dockerfile touched are checked by name.
# (ctk save -> docker/podman/skopeo is image_store_interop.sh.)
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/common/runtimes.sh"
. "$CTK_SOURCE_DIR/tests/common/busybox-image.sh"

require_root
missing=$(ctk_rt_have_tools docker dockerd containerd runc podman jq) || skip_or_fail "missing: $missing"
ctk_busybox_available || skip_or_fail "busybox-static is not installed"

ctk_rt_init
ctk_rt_start_dockerd || fail "dockerd did not start"
ctk_rt_setup_podman
T=$CTK_RT_DIR/build
mkdir -p "$T/ctx"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
# ctk_id NAME: the image ID ctk's store gives NAME (as `ctk images` shows it).
ctk_id() { ctk images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | awk -v n="$1" '$1 == n { print $2 }'; }

# Offline: FROM the busybox image imported into each builder, no network in
# RUN steps. ENV makes an empty layer, which ctk must not count.
echo alpha >"$T/ctx/a.txt"
echo bravo >"$T/ctx/b.txt"
cat >"$T/ctx/Dockerfile" <<'EOF'
FROM ctk-busybox:latest
COPY a.txt b.txt /app/
RUN echo changed >/app/a.txt && mkdir -p /data/sub && echo one >/data/sub/f && echo two >/data/g
ENV STAGE=2
RUN rm /app/b.txt && chmod 600 /app/a.txt
RUN rm -rf /data && mkdir /data && echo new >/data/h
EOF

# tar_entries BLOB: one line per entry of a layer tar, as ctk should report it:
#   PATH TYPE SIZE MODE UID GID     an entry
#   PATH deleted                    a whiteout (.wh.NAME: PATH is NAME; an
#                                   opaque marker .wh..wh..opq: PATH is its dir)
# The root directory ("./") is not a path of the image and is left out.
# GNU tar detects gzip by itself; paths here have no spaces.
tar_entries() {
    tar --numeric-owner -tvf "$1" | awk '
    function octal(p,   m) {
        m = 0
        if (substr(p, 2, 1) == "r") m += 256; if (substr(p, 3, 1) == "w") m += 128
        if (substr(p, 4, 1) ~ /[xs]/) m += 64; if (substr(p, 4, 1) ~ /[sS]/) m += 2048
        if (substr(p, 5, 1) == "r") m += 32; if (substr(p, 6, 1) == "w") m += 16
        if (substr(p, 7, 1) ~ /[xs]/) m += 8; if (substr(p, 7, 1) ~ /[sS]/) m += 1024
        if (substr(p, 8, 1) == "r") m += 4; if (substr(p, 9, 1) == "w") m += 2
        if (substr(p, 10, 1) ~ /[xt]/) m += 1; if (substr(p, 10, 1) ~ /[tT]/) m += 512
        return sprintf("%04o", m)
    }
    {
        path = $6
        sub(/^\.\//, "", path); sub(/^\/+/, "", path); sub(/\/+$/, "", path)
        if (path == "" || path == ".") next
        n = split(path, part, "/"); base = part[n]
        dir = substr(path, 1, length(path) - length(base) - 1)
        if (base == ".wh..wh..opq") { print "/" dir " deleted"; next }
        if (substr(base, 1, 4) == ".wh.") {
            print "/" (dir == "" ? "" : dir "/") substr(base, 5) " deleted"; next
        }
        t = substr($1, 1, 1)
        type = t == "d" ? "dir" : t == "l" ? "symlink" : t == "h" ? "hardlink" : \
               t == "c" ? "chardev" : t == "b" ? "blockdev" : t == "p" ? "fifo" : "file"
        size = type == "file" ? $3 : 0
        split($2, owner, "/")
        print "/" path, type, size, octal($1), owner[1], owner[2]
    }' | sort
}

# ctk_entries JSON INDEX: the same lines from `ctk layers --format json`.
ctk_entries() {
    jq -r --argjson i "$2" '.[] | select(.Index == $i) | .Files[] |
        if .Status == "deleted" then "\(.Path) deleted"
        else "\(.Path) \(.Type) \(.Size) \(.Mode) \(.Uid) \(.Gid)" end' "$1" | sort
}

# status JSON INDEX PATH: the status ctk gives PATH in layer INDEX ("" if absent).
status() {
    jq -r --argjson i "$2" --arg p "$3" \
        '.[] | select(.Index == $i) | .Files[] | select(.Path == $p) | .Status' "$1" | tr '\n' ' ' |
        sed 's/ $//'
}

# check_image WHAT REF JSON BLOB...: the per-layer comparison, then the
# statuses of what the Dockerfile did (the busybox base is layer 0).
check_image() {
    local what=$1 ref=$2 json=$3 i=0 blob got want
    shift 3
    ctk layers --format json "$ref" >"$json" || fail "$what: ctk layers --format json $ref"
    expect_eq "$what: layers" "$(jq length "$json")" "$#"
    for blob in "$@"; do
        expect_eq "$what: digest of layer $i" "$(jq -r --argjson i $i '.[] | select(.Index == $i) | .Digest' "$json")" \
            "sha256:$(sha256sum "$blob" | cut -d' ' -f1)"
        want=$(tar_entries "$blob")
        got=$(ctk_entries "$json" $i)
        [ -n "$want" ] || fail "$what: layer $i: no entries listed in $blob"
        [ "$got" = "$want" ] || fail "$what: layer $i differs from its tar (< ctk, > tar):
$(diff <(echo "$got") <(echo "$want"))"
        i=$((i + 1))
    done
    [ "$#" -eq 5 ] || fail "$what: expected 5 layers (busybox + 4 Dockerfile steps), got $#"
    expect_eq "$what: COPY adds /app/a.txt" "$(status "$json" 1 /app/a.txt)" added
    expect_eq "$what: COPY adds /app/b.txt" "$(status "$json" 1 /app/b.txt)" added
    expect_eq "$what: RUN rewrites /app/a.txt" "$(status "$json" 2 /app/a.txt)" modified
    expect_eq "$what: RUN adds /data/sub/f" "$(status "$json" 2 /data/sub/f)" added
    expect_eq "$what: RUN rm deletes /app/b.txt" "$(status "$json" 3 /app/b.txt)" deleted
    expect_eq "$what: size of the deletion of /app/b.txt" \
        "$(jq -r '.[3].Files[] | select(.Path == "/app/b.txt") | .Size' "$json")" 6
    expect_eq "$what: chmod 600 modifies /app/a.txt" "$(status "$json" 3 /app/a.txt)" modified
    expect_eq "$what: mode of /app/a.txt after chmod" \
        "$(jq -r '.[3].Files[] | select(.Path == "/app/a.txt") | .Mode' "$json")" 0600
    expect_eq "$what: the new /data/h" "$(status "$json" 4 /data/h)" added
    # rm -rf /data && mkdir /data: an opaque /data on overlay storage, single
    # whiteouts of g and sub elsewhere; either way g, sub and sub/f are gone.
    local opaque
    opaque=$(jq -r '.[4].Files[] | select(.Path == "/data" and .Status == "deleted") | .DeletedEntries' "$json")
    if [ -n "$opaque" ]; then
        expect_eq "$what: entries the opaque /data removed" "$opaque" 3
    else
        expect_eq "$what: whiteout of /data/g" "$(status "$json" 4 /data/g)" deleted
        expect_eq "$what: whiteout of /data/sub" "$(status "$json" 4 /data/sub)" deleted
    fi
    expect_eq "$what: counts per layer (added/modified/deleted)" \
        "$(ctk layers "$ref" --format '{{.Added}}/{{.Modified}}/{{.Deleted}}' | sed -n 4p)" \
        "$(jq -r '.[3].Files | "\(map(select(.Status == "added")) | length)/\(map(select(.Status == "modified")) | length)/\(map(select(.Status == "deleted")) | length)"' "$json")"
}

# ---- docker build, docker save (legacy docker-archive) ----
ctk_busybox_import_docker ctk-busybox:latest || fail "docker import of busybox"
# The legacy builder: what docker.io 20.10 runs by default, and no BuildKit
# daemon or buildx plugin is needed.
DOCKER_BUILDKIT=0 ctk_docker build -q --network none -t ctk-build:1 "$T/ctx" >"$T/docker-build.log" 2>&1 ||
    fail "docker build: $(cat "$T/docker-build.log")"
ctk_docker save -o "$T/docker.tar" ctk-build:1 || fail "docker save"
mkdir "$T/docker"
tar -xf "$T/docker.tar" -C "$T/docker" || fail "unpacking docker save output"
mapfile -t blobs < <(jq -r '.[0].Layers[]' "$T/docker/manifest.json" | sed "s|^|$T/docker/|")
ctk load -i "$T/docker.tar" >/dev/null || fail "ctk load of docker save output"
expect_eq "image ID of the docker build" "$(ctk_id ctk-build:1)" \
    "$(ctk_docker image inspect -f '{{.Id}}' ctk-build:1)"
check_image "docker build" ctk-build:1 "$T/docker.json" "${blobs[@]}"

# ---- podman build, podman save --format oci-archive ----
ctk_busybox_import_podman ctk-busybox:latest || fail "podman import of busybox"
ctk_podman build -q --pull=never --network none -t ctk-build:2 "$T/ctx" >"$T/podman-build.log" 2>&1 ||
    fail "podman build: $(cat "$T/podman-build.log")"
ctk_podman save --format oci-archive -o "$T/podman.tar" ctk-build:2 >/dev/null 2>&1 ||
    fail "podman save --format oci-archive"
mkdir "$T/podman"
tar -xf "$T/podman.tar" -C "$T/podman" || fail "unpacking podman's oci-archive"
manifest=$(jq -r '.manifests[0].digest' "$T/podman/index.json")
mapfile -t blobs < <(jq -r '.layers[].digest' "$T/podman/blobs/sha256/${manifest#sha256:}" |
    sed "s|^sha256:|$T/podman/blobs/sha256/|")
ctk load -i "$T/podman.tar" >/dev/null || fail "ctk load of podman's oci-archive"
expect_eq "image ID of the podman build" "$(ctk_id localhost/ctk-build:2)" \
    "sha256:$(ctk_podman image inspect -f '{{.Id}}' ctk-build:2)"
check_image "podman build" localhost/ctk-build:2 "$T/podman.json" "${blobs[@]}"
echo PASS
