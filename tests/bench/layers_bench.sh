#!/bin/bash
# Benchmark of `ctk layers --format json` (issue 3): an image of about 1 GB in
# 100,000 files over 10 gzip layers (layers_gen.py: rewrites, a chown layer,
# whiteouts), loaded into a store under a temporary --root. Prints, in one
# run, wall time, CPU time and peak RSS of
#   tar -tzf over each layer, in sequence              (the floor)
#   ctk layers --format json IMAGE                     (image in ctk's store)
#   ctk layers --format json docker-archive:PATH       (archive read directly:
#                                                       copied into a private store first)
#   ctk layers IMAGE / ctk layers summary IMAGE        (the same audit, without
#                                                       the per-file JSON: what the
#                                                       records and rendering cost)
# each the best of N runs, with the ratios to the floor.
# Targets: `ctk layers --format json IMAGE` at most 1.2x the floor's wall
# time, under 150 MB peak RSS.
#
#   tests/bench/layers_bench.sh [--runs N] [--check]
# --check exits 1 when a target is missed. CTK_BENCH_CACHE=DIR keeps the
# generated image between runs. No root needed.
. "${CTK_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}/tests/common/lib.sh"
. "$CTK_SOURCE_DIR/tests/bench/common.bash"

RUNS=3
CHECK=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2;;
        --check) CHECK=1; shift;;
        *) fail "unknown option $1";;
    esac
done
bench_require_tools

W=$(mktemp -d /tmp/ctk-layers-bench.XXXXXX) || fail "mktemp"
on_exit "rm -rf '$W'"
bench_image "$W/img"
mapfile -t layers < <(bench_layers "$W/img")
[ ${#layers[@]} -eq 10 ] || fail "expected 10 layers, found ${#layers[@]}"
root=(--root "$W/root" --run-root "$W/run")
"$CTK_BIN" "${root[@]}" load -i "$W/img/image.tar" >/dev/null || fail "ctk load of the benchmark image"

# Correctness first, so the numbers below are of a command that works: each
# layer's Files must list exactly the entries its tar holds.
i=0
for l in "${layers[@]}"; do
    tar -tzf "$l" >"$W/list.$i" || fail "tar -tzf $l"
    i=$((i + 1))
done
"$CTK_BIN" "${root[@]}" layers --format json "$BENCH_REF" >"$W/layers.json" || fail "ctk layers --format json"
got=$(jq -r '.[] | .Files | length' "$W/layers.json" | tr '\n' ' ')
want=$(for i in $(seq 0 9); do wc -l <"$W/list.$i"; done | tr '\n' ' ')
expect_eq "files per layer (ctk layers vs tar -tzf)" "$got" "$want"
data=$(jq '[.[] | .Size] | add' "$W/layers.json")
compressed=$(stat -L -c %s "${layers[@]}" | awk '{ s += $1 } END { print s }')
files=$(jq '[.[] | .Files[] | select(.Type == "file")] | length' "$W/layers.json")
paths=$(jq '[.[] | .Files[] | select(.Type == "file") | .Path] | unique | length' "$W/layers.json")

export BENCH_LAYERS="${layers[*]}"
ctk_store=("$CTK_BIN" "${root[@]}")
for round in $(seq "$RUNS"); do
    echo "round $round of $RUNS..." >&2
    bench_run floor bash -c 'for l in $BENCH_LAYERS; do tar -tzf "$l"; done'
    BENCH_OUT="$W/out.json" bench_run json "${ctk_store[@]}" layers --format json "$BENCH_REF"
    bench_run table "${ctk_store[@]}" layers "$BENCH_REF"
    bench_run summary "${ctk_store[@]}" layers summary "$BENCH_REF"
    bench_run archive "$CTK_BIN" --root "$W/root2" --run-root "$W/run" layers --format json \
        "docker-archive:$W/img/image.tar"
done
cmp -s "$W/out.json" "$W/layers.json" || fail "ctk layers --format json printed something else when timed"
json_bytes=$(stat -c %s "$W/out.json")
cpu_diff() { awk -v a="${BENCH_CPU[$1]}" -v b="${BENCH_CPU[$2]}" 'BEGIN { printf "%.2f", a - b }'; }

echo "layers benchmark: $paths files ($files file entries), $((data / 1000000)) MB of file data in 10 gzip layers" \
    "($((compressed / 1000000)) MB compressed), best of $RUNS interleaved rounds"
echo "  load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs; JSON output $((json_bytes / 1000000)) MB"
bench_header "ratio to the floor: wall, cpu"
bench_row "tar -tzf, each layer in sequence (floor)" floor
bench_row "ctk layers --format json IMAGE" json floor
bench_row "ctk layers IMAGE (table: no per-file output)" table floor
bench_row "ctk layers summary IMAGE (audit only)" summary floor
bench_row "ctk layers --format json docker-archive:PATH" archive floor
echo "  target: ctk layers --format json IMAGE <= 1.2x the floor's wall time, < 150 MB peak RSS"
echo "  cpu by component: audit library and start-up ${BENCH_CPU[summary]} s (summary)," \
    "per-file records $(cpu_diff table summary) s (table - summary)," \
    "JSON rendering $(cpu_diff json table) s (json - table)," \
    "copying the archive into a private store $(cpu_diff archive json) s (archive - json)"

if [ "$CHECK" = 1 ]; then
    awk -v a="${BENCH_WALL[json]}" -v b="${BENCH_WALL[floor]}" 'BEGIN { exit !(a <= 1.2 * b) }' ||
        fail "ctk layers --format json took ${BENCH_WALL[json]} s, more than 1.2x the floor (${BENCH_WALL[floor]} s)"
    [ "${BENCH_RSS[json]}" -lt $((150000000 / 1024)) ] ||
        fail "ctk layers --format json peaked at $((BENCH_RSS[json] / 1024)) MiB (target < 150 MB)"
fi
exit 0
