#!/bin/bash
# ctk layers / layers tree|summary|findings|ci as a user runs them, on a
# three-layer docker-archive built here: layer 0 adds files (one a .env
# secret), layer 1 rewrites one and adds another, layer 2 deletes the .env.
# Expected metrics are worked out by hand below (no daemon, no root needed).
. "$CTK_SOURCE_DIR/tests/common/lib.sh"

T=$(mktemp -d /tmp/ctk-cli-layers.XXXXXX) || fail "mktemp"
on_exit rm -rf "$T"
ctk() { "$CTK_BIN" --root "$T/root" --run-root "$T/run" "$@"; }
# Temporary stores for archives go here, so that leftovers are ours to see.
mkdir -p "$T/tmp" && export TMPDIR=$T/tmp
# A .dive-ci in the caller's directory would change the CI defaults.
cd "$T" || fail "cd $T"

# Deterministic tars of exactly the listed members (no implicit parents).
mktar() { local dir=$1 out=$2; shift 2
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --no-recursion \
        -C "$dir" -cf "$out" "$@"; }
mkdir -p "$T/l0/app" "$T/l0/etc" "$T/l1/app" "$T/l2/app"
head -c 100 /dev/zero | tr '\0' a >"$T/l0/app/config"
printf 'TOKEN=%043d\n' 0 >"$T/l0/app/.env"                 # 50 bytes
echo box >"$T/l0/etc/hostname"                             # 4 bytes
head -c 200 /dev/zero | tr '\0' b >"$T/l1/app/config"      # rewritten: 100 -> 200
head -c 300 /dev/zero | tr '\0' c >"$T/l1/app/data"
: >"$T/l2/app/.wh..env"                                    # deletes app/.env
chmod 755 "$T"/l0/app "$T"/l0/etc
chmod 644 "$T"/l0/app/* "$T"/l0/app/.env "$T"/l0/etc/hostname "$T"/l1/app/* "$T"/l2/app/.wh..env
mktar "$T/l0" "$T/l0.tar" app app/.env app/config etc etc/hostname
mktar "$T/l1" "$T/l1.tar" app/config app/data
mktar "$T/l2" "$T/l2.tar" app/.wh..env

# The docker-archive, written as docker save does.
mkdir "$T/arc"
diff_ids= layers= sums=()
for i in 0 1 2; do
    s=$(sha256sum "$T/l$i.tar" | cut -d' ' -f1); sums+=("$s")
    mkdir "$T/arc/$s" && cp "$T/l$i.tar" "$T/arc/$s/layer.tar"
    diff_ids+="${diff_ids:+,}\"sha256:$s\""; layers+="${layers:+,}\"$s/layer.tar\""
done
printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{},'`
    `'"rootfs":{"type":"layers","diff_ids":[%s]},"history":['`
    `'{"created_by":"ADD files"},{"created_by":"RUN rewrite config"},'`
    `'{"created_by":"ENV X=1","empty_layer":true},{"created_by":"RUN rm app/.env"}]}' \
    "$diff_ids" >"$T/arc/config.json"
cfg=$(sha256sum "$T/arc/config.json" | cut -d' ' -f1)
mv "$T/arc/config.json" "$T/arc/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["layers-test:1"],"Layers":[%s]}]' "$cfg" "$layers" \
    >"$T/arc/manifest.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$T/arc" -cf "$T/it.tar" \
    manifest.json "$cfg.json" "${sums[@]}" || fail "building the archive"
ctk load -i "$T/it.tar" >/dev/null || fail "load"

# Per layer: counts, sizes (data bytes; the whiteout weighs 0), blob sizes,
# and CreatedBy skipping the empty-layer history entry.
out=$(ctk layers layers-test:1 --format '{{.Index}} {{.Added}} {{.Modified}} {{.Deleted}} {{.Size}} {{.CreatedBy}}')
expect_eq "per-layer rows" "$out" "0 5 0 0 154 ADD files
1 1 1 0 500 RUN rewrite config
2 0 0 1 0 RUN rm app/.env"
out=$(ctk layers layers-test:1 --format '{{.Digest}} {{.Compressed}}' | head -1)
expect_eq "layer 0 digest and blob size" "$out" "sha256:${sums[0]} $(stat -c %s "$T/l0.tar")"
out=$(ctk layers layers-test:1)
expect_contains "table header" "$out" "CREATED BY"
expect_contains "table row" "$out" "RUN rewrite config"
out=$(ctk layers --layer 1 layers-test:1 --format '{{.Index}} {{len .Files}}')
expect_eq "layers --layer 1" "$out" "1 2"
# JSON carries the full file lists.
out=$(ctk layers layers-test:1 --format json)
expect_contains "json files of layer 1" "$out" '"Path":"/app/config","Type":"file","Status":"modified","Size":200'
expect_contains "json deletion in layer 2" "$out" '"Path":"/app/.env","Type":"file","Status":"deleted","Size":50'

# dive's metrics, by hand. Sizes per path and layer: app/config 100, 200;
# app/.env 50, 50 (the whiteout counts what it deletes); etc/hostname 4;
# app/data 300. Efficiency = (100+50+4+300) / (300+100+4+300) = 454/704;
# wasted = 300 + 100 = 400; user wasted = 400 / (500 + 0) = 80%;
# reclaimable = (154+500+0) - (200+300+4) = 150.
out=$(ctk layers summary layers-test:1 --format \
    '{{.Layers}} {{printf "%.2f" .Efficiency}} {{.WastedBytes}} {{printf "%.1f" .UserWastedPercent}} {{.Reclaimable}} {{.FinalSize}}')
expect_eq "summary" "$out" "3 64.49 400 80.0 150 504"
out=$(ctk layers summary layers-test:1)
expect_contains "summary table" "$out" "64.49%"

# The deleted .env still ships in layer 0, and is flagged as a secret.
out=$(ctk layers findings layers-test:1 --format '{{.Kind}} {{.Path}} {{.Layer}} {{.DeletedIn}} {{.Secret}}')
expect_eq "findings" "$out" "deleted-but-shipped /app/.env 0 2 true"

# The tree: changes only, as of the last layer, and as of layer 1.
out=$(ctk layers tree layers-test:1 --format '{{.Path}} {{.Status}} {{.Layer}}')
expect_contains "tree" "$out" "/etc/hostname added 0"
expect_contains "tree" "$out" "/app/config modified 1"
expect_contains "tree" "$out" "/app/.env deleted 2"
out=$(ctk layers tree --layer 2 --changes-only layers-test:1 --format '{{.Name}}|{{.Status}}')
expect_eq "tree --layer 2 --changes-only" "$out" "app/|unchanged
  .env|deleted"
out=$(ctk layers tree -l 1 -c layers-test:1 --format '{{.Path}} {{.Status}}' | grep -v '^/app ')
expect_eq "tree --layer 1 --changes-only" "$out" "/app/config modified
/app/data added"
if ctk layers tree --layer 7 layers-test:1 2>"$T/err"; then fail "tree --layer 7 succeeded"; fi
expect_contains "bad --layer" "$(cat "$T/err")" "has 3 layers"

# CI: exit 0 on pass, 1 on fail (rule named), 2 on error.
ctk layers ci layers-test:1 --lowest-efficiency 0.6 --highest-user-wasted-percent 85% \
    --highest-wasted-bytes 1KB >"$T/out" || fail "ci with loose thresholds failed: $(cat "$T/out")"
expect_contains "ci pass" "$(cat "$T/out")" "PASS"
ctk layers ci layers-test:1 >"$T/out" 2>"$T/err"; rc=$?
expect_eq "ci with dive's defaults (efficiency 0.64 < 0.9)" "$rc" 1
expect_contains "ci fail table" "$(cat "$T/out")" "FAIL"
expect_contains "ci names the rule" "$(cat "$T/err")" "lowestEfficiency"
ctk layers ci layers-test:1 --lowest-efficiency 0.6 --highest-user-wasted-percent 0.85 \
    --no-deleted-secrets >/dev/null 2>"$T/err"; rc=$?
expect_eq "ci --no-deleted-secrets" "$rc" 1
out=$(ctk layers ci layers-test:1 --highest-wasted-bytes 399 --format '{{.Rule}} {{.Status}}' 2>/dev/null)
expect_contains "ci wasted bytes" "$out" "highestWastedBytes FAIL"
# A .dive-ci (dive's keys) in the current directory is used, flags override it.
printf 'rules:\n  lowestEfficiency: 0.6\n  highestUserWastedPercent: 0.85\n' >"$T/.dive-ci"
ctk layers ci layers-test:1 >/dev/null || fail "ci with ./.dive-ci failed"
ctk layers ci layers-test:1 --lowest-efficiency 0.7 >/dev/null 2>&1; rc=$?
expect_eq "flag overrides .dive-ci" "$rc" 1
printf 'rules:\n  lowestEfficiency: 0.7\n' >"$T/strict.yaml"
ctk layers ci layers-test:1 --ci-config "$T/strict.yaml" >/dev/null 2>&1; rc=$?
expect_eq "ci --ci-config" "$rc" 1
rm -f "$T/.dive-ci"
ctk layers ci no-such-image:1 >/dev/null 2>"$T/err"; rc=$?
expect_eq "ci on a missing image" "$rc" 2
expect_contains "missing image error" "$(cat "$T/err")" "no-such-image:1"
ctk layers ci layers-test:1 --ci-config "$T/nope" >/dev/null 2>&1; rc=$?
expect_eq "ci with a missing rules file" "$rc" 2

# The views as flags (dive's and docker users' spelling): the same commands.
expect_eq "--tree is layers tree" "$(ctk layers --tree --changes-only layers-test:1 --format '{{.Path}}')" \
    "$(ctk layers tree --changes-only layers-test:1 --format '{{.Path}}')"
out=$(ctk layers --summary layers-test:1 --format '{{.WastedBytes}}')
expect_eq "--summary" "$out" "400"
out=$(ctk layers layers-test:1 --findings --format '{{.Path}}')
expect_eq "--findings after the image" "$out" "/app/.env"
ctk layers --ci --lowest-efficiency 0.6 --highest-user-wasted-percent 0.85 layers-test:1 \
    --format '{{.Rule}} {{.Detail}}' >"$T/out" || fail "--ci with loose thresholds failed"
expect_contains "--ci pass shows the measured value" "$(cat "$T/out")" \
    "lowestEfficiency efficiency=0.6449 >= threshold=0.6"
ctk layers --ci layers-test:1 >/dev/null 2>&1; rc=$?
expect_eq "--ci with dive's defaults" "$rc" 1
if ctk layers --tree --ci layers-test:1 2>"$T/err"; then fail "two views accepted"; fi
expect_contains "two views" "$(cat "$T/err")" "--tree and --ci select different views"
if ctk layers --tree --lowest-efficiency 0.5 layers-test:1 2>"$T/err"; then
    fail "a ci option accepted by the tree view"; fi
expect_contains "view options are the view's" "$(cat "$T/err")" "layers tree"
ctk layers --tree --help | grep -q '^Usage:  ctk layers tree' || fail "--tree --help is not the tree's help"

# Archives directly, without loading them into the store.
rm -rf "$T/root2"
out=$("$CTK_BIN" --root "$T/root2" layers "docker-archive:$T/it.tar" --format '{{.Added}}/{{.Modified}}/{{.Deleted}}' | tr '\n' ' ')
expect_eq "docker-archive:PATH" "$out" "5/0/0 1/1/0 0/0/1 "
out=$("$CTK_BIN" --root "$T/root2" layers summary "$T/it.tar" --format '{{.WastedBytes}}')
expect_eq "bare archive path" "$out" "400"
[ ! -e "$T/root2/image/refs.json" ] || fail "auditing an archive loaded it into the store"
ctk save -o "oci:$T/layout" layers-test:1 || fail "save oci:DIR"
out=$("$CTK_BIN" --root "$T/root2" layers findings "oci:$T/layout" --format '{{.Path}}')
expect_eq "oci:DIR" "$out" "/app/.env"
ctk save --format oci-archive -o "$T/oci.tar" layers-test:1 || fail "save oci-archive"
out=$("$CTK_BIN" --root "$T/root2" layers "oci-archive:$T/oci.tar" --format '{{.Size}}' | tr '\n' ' ')
expect_eq "oci-archive:PATH" "$out" "154 500 0 "
leftover=$(ls -A "$T/tmp")
[ -z "$leftover" ] || fail "temporary stores left behind: $leftover"

# bash completion: "ctk layers <TAB>" offers the views and the store's images.
"$CTK_BIN" --run-root "$T/run" completion bash >"$T/ctk.bash" || fail "completion bash"
mkdir -p "$T/bin"
printf '#!/bin/sh\nexec "%s" --root "%s" --run-root "%s" "$@"\n' "$CTK_BIN" "$T/root" "$T/run" >"$T/bin/ctk"
chmod +x "$T/bin/ctk"
out=$(PATH="$T/bin:$PATH"; complete() { :; }; . "$T/ctk.bash"
      COMP_WORDS=(ctk layers ''); COMP_CWORD=2; _ctk; echo " ${COMPREPLY[*]} ")
expect_contains "completion offers the views" "$out" " tree "
expect_contains "completion offers images" "$out" " layers-test:1 "
out=$(PATH="$T/bin:$PATH"; complete() { :; }; . "$T/ctk.bash"
      COMP_WORDS=(ctk layers --tr); COMP_CWORD=2; _ctk; echo "${COMPREPLY[*]}")
expect_eq "completion of a view flag" "$out" "--tree"

# Errors: one line naming the image and the cause.
if ctk layers nope:1 2>"$T/err"; then fail "layers on a missing image succeeded"; fi
expect_eq "error lines" "$(wc -l <"$T/err")" 1
expect_contains "error names the image" "$(cat "$T/err")" "cannot open image nope:1"
echo 'not a tar' >"$T/bad.tar"
if ctk layers "docker-archive:$T/bad.tar" 2>"$T/err"; then fail "audited garbage"; fi
expect_contains "bad archive error" "$(cat "$T/err")" "docker-archive:$T/bad.tar"
echo PASS
