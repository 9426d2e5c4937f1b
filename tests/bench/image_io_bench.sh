#!/bin/bash
# Benchmark of `ctk load` and `ctk save` (issue 3) on the image of
# layers_bench.sh: about 1 GB in 100,000 files over 10 gzip layers, a
# 640 MB docker-archive. Prints, in one run, wall time, CPU time and peak RSS
# of
#   tar -xf ARCHIVE -C DIR                 the same bytes, unpacked as files
#   tar -xf, then fsync of every file      the same, as durable as ctk's store
#   ctk load -i ARCHIVE                    (digests checked, blobs fsynced)
#   tar -cf OUT -C DIR .                   the same bytes, packed again
#   tar -cf, then fsync of OUT
#   ctk save -o OUT IMAGE                  (hybrid docker/OCI archive, fsynced)
# each the best of N interleaved rounds, with ctk's ratios to plain tar and
# to tar with fsync.
#
#   tests/bench/image_io_bench.sh [--runs N]
# CTK_BENCH_CACHE=DIR keeps the generated image between runs. No root needed.
. "${CTK_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/bench/common.bash"

RUNS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2;;
        *) fail "unknown option $1";;
    esac
done
bench_require_tools

W=$(mktemp -d /tmp/ctk-io-bench.XXXXXX) || fail "mktemp"
on_exit "rm -rf '$W'"
bench_image "$W/img"
archive=$W/img/image.tar
bytes=$(stat -L -c %s "$archive")
ctk_at() { local r=$1; shift; "$CTK_BIN" --root "$W/$r" --run-root "$W/run" "$@"; }

# The saved archive must hold the loaded image: a second store loads it with
# the same ID (the interop test checks docker, podman and skopeo read it).
ctk_at root load -i "$archive" >/dev/null || fail "ctk load"
id=$(ctk_at root images --format '{{.ID}}')
ctk_at root save -o "$W/saved.tar" "$BENCH_REF" || fail "ctk save"
ctk_at check load -i "$W/saved.tar" >/dev/null || fail "ctk load of what ctk saved"
expect_eq "image ID after save and load" "$(ctk_at check images --format '{{.ID}}')" "$id"
rm -rf "$W/check" "$W/saved.tar"
saved_bytes=0

for round in $(seq "$RUNS"); do
    echo "round $round of $RUNS..." >&2
    rm -rf "$W/x" && mkdir "$W/x"
    bench_run untar tar -xf "$archive" -C "$W/x"
    rm -rf "$W/x" && mkdir "$W/x"
    bench_run untar_sync bash -c 'tar -xf "$1" -C "$2" && find "$2" -type f -exec sync {} +' \
        - "$archive" "$W/x"
    rm -rf "$W/load"
    bench_run load "$CTK_BIN" --root "$W/load" --run-root "$W/run" load -i "$archive"

    rm -f "$W/out.tar"
    bench_run tar tar -cf "$W/out.tar" -C "$W/x" .
    rm -f "$W/out.tar"
    bench_run tar_sync bash -c 'tar -cf "$1" -C "$2" . && sync "$1"' - "$W/out.tar" "$W/x"
    rm -f "$W/out.tar"
    bench_run save "$CTK_BIN" --root "$W/root" --run-root "$W/run" save -o "$W/out.tar" "$BENCH_REF"
    saved_bytes=$(stat -c %s "$W/out.tar")
done

echo "image load/save benchmark: a docker-archive of $((bytes / 1000000)) MB (10 gzip layers," \
    "100,000 files); ctk save writes $((saved_bytes / 1000000)) MB; best of $RUNS interleaved rounds"
echo "  load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
bench_header "ratio to tar (wall cpu), to tar with fsync (wall cpu)"
bench_row "tar -xf ARCHIVE -C DIR" untar
bench_row "tar -xf, then fsync of every file" untar_sync
bench_row "ctk load -i ARCHIVE" load untar untar_sync
bench_row "tar -cf OUT -C DIR ." tar
bench_row "tar -cf, then fsync of OUT" tar_sync
bench_row "ctk save -o OUT IMAGE" save tar tar_sync
exit 0
