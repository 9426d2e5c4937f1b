# Shared by the image benchmarks (layers_bench.sh, image_io_bench.sh).
# Source it after tests/common/lib.sh. Not a test itself: ctest runs
# tests/bench/*.sh only.
#
#   bench_image DIR            DIR/layer0.tar.gz..layer9.tar.gz and DIR/image.tar
#                              (docker-archive, tag ctk-bench/layers:1), generated
#                              by layers_gen.py, or reused from $CTK_BENCH_CACHE
#   bench_run LABEL CMD...     one timed run; best wall/CPU seconds and largest
#                              peak RSS (KiB) per label in BENCH_WALL/CPU/RSS
#   bench_row LABEL BASE       a table row for LABEL, with ratios to BASE
#   bench_ratio A B            A / B, two decimals

BENCH_REF=ctk-bench/layers:1
BENCH_GEN="$CTK_SOURCE_DIR/tests/bench/layers_gen.py"

bench_require_tools() {
    [ -x /usr/bin/time ] || skip_or_fail "GNU time (/usr/bin/time) is missing: scripts/install-deps.sh installs it"
    command -v python3 >/dev/null || skip_or_fail "python3 is missing: scripts/install-deps.sh installs it"
    command -v jq >/dev/null || skip_or_fail "jq is missing: scripts/install-deps.sh installs it"
    [ -x "$CTK_BIN" ] || fail "ctk binary not found at $CTK_BIN (set CTK_BIN or CTK_BUILD_DIR)"
}

# The image takes about a minute to write; it is the same on every run, so
# with CTK_BENCH_CACHE=DIR it is kept there, keyed by the generator's hash.
bench_image() {
    local dir=$1 stamp cache
    stamp=$(sha256sum "$BENCH_GEN" | cut -c1-16)
    if [ -n "${CTK_BENCH_CACHE:-}" ]; then
        cache="$CTK_BENCH_CACHE/layers-$stamp"
        if [ ! -f "$cache/done" ]; then
            echo "generating the benchmark image in $cache (about a minute)..." >&2
            rm -rf "$cache"
            python3 "$BENCH_GEN" "$cache" || fail "layers_gen.py failed"
            : >"$cache/done"
        fi
        mkdir -p "$dir"
        ln -sf "$cache"/layer*.tar.gz "$cache/image.tar" "$dir/"
        return 0
    fi
    echo "generating the benchmark image in $dir (about a minute)..." >&2
    python3 "$BENCH_GEN" "$dir" || fail "layers_gen.py failed"
}

bench_layers() { ls "$1"/layer*.tar.gz | sort -V; }

# bench_run LABEL CMD...: one timed run of CMD (stdout to $BENCH_OUT, default
# /dev/null); keeps the best wall and CPU time and the largest peak RSS per
# LABEL in BENCH_WALL[LABEL], BENCH_CPU[LABEL], BENCH_RSS[LABEL]. Callers
# interleave the commands they compare, round after round, so that every
# command sees the same share of a busy machine.
declare -A BENCH_WALL=() BENCH_CPU=() BENCH_RSS=()
bench_run() {
    local label=$1 t w u s m c
    shift
    t=$(mktemp) || fail "mktemp"
    /usr/bin/time -f '%e %U %S %M' -o "$t" "$@" >"${BENCH_OUT:-/dev/null}" ||
        { rm -f "$t"; fail "command failed: $*"; }
    read -r w u s m <"$t"
    rm -f "$t"
    c=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    local bw=${BENCH_WALL[$label]:-} bc=${BENCH_CPU[$label]:-}
    if [ -z "$bw" ] || awk -v a="$w" -v b="$bw" 'BEGIN { exit !(a < b) }'; then BENCH_WALL[$label]=$w; fi
    if [ -z "$bc" ] || awk -v a="$c" -v b="$bc" 'BEGIN { exit !(a < b) }'; then BENCH_CPU[$label]=$c; fi
    [ "$m" -gt "${BENCH_RSS[$label]:-0}" ] && BENCH_RSS[$label]=$m
    return 0
}

bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# bench_row TEXT LABEL [BASE...]: the row of LABEL; for each BASE, the ratios
# of its wall and CPU times to BASE's.
bench_row() {
    local text=$1 l=$2 base
    shift 2
    printf '  %-48s %8s s %8s s %7s MiB' "$text" "${BENCH_WALL[$l]}" "${BENCH_CPU[$l]}" \
        "$((BENCH_RSS[$l] / 1024))"
    for base in "$@"; do
        printf '   %5sx %5sx' "$(bench_ratio "${BENCH_WALL[$l]}" "${BENCH_WALL[$base]}")" \
            "$(bench_ratio "${BENCH_CPU[$l]}" "${BENCH_CPU[$base]}")"
    done
    printf '\n'
}
bench_header() {
    printf '  %-48s %10s %10s %11s   %s\n' "" "wall" "cpu" "peak RSS" "${1:-}"
}
