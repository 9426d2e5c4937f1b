#!/bin/bash
# The generated scripts parse in their shells, and the bash one completes
# commands, groups, options and values by kind (test-echo's table).
. "$CTK_SOURCE_DIR/tests/common/lib.sh"
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
export CTK_PLUGIN_PATH=$CTK_BUILD_DIR/test-plugins/good
ctk_() { "$CTK_BIN" --run-root "$tmp/run" "$@"; }

for sh in bash zsh fish; do
    ctk_ completion $sh >"$tmp/ctk.$sh" || fail "ctk completion $sh failed"
done
bash -n "$tmp/ctk.bash" || fail "bash script does not parse"
if command -v zsh >/dev/null; then zsh -n "$tmp/ctk.zsh" || fail "zsh script does not parse"; fi
if command -v fish >/dev/null; then fish -n "$tmp/ctk.fish" || fail "fish script does not parse"; fi
ctk_ completion tcsh >/dev/null 2>&1 && fail "an unknown shell must be refused"

# Drive the bash function the way readline does. `ctk` inside the script is
# the built binary with the test plugins.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\nexec "%s" --run-root "%s" "$@"\n' "$CTK_BIN" "$tmp/run" >"$tmp/bin/ctk"
chmod +x "$tmp/bin/ctk"
PATH="$tmp/bin:$PATH"
complete() { :; }
. "$tmp/ctk.bash"
comp() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _ctk
    echo "${COMPREPLY[*]}"
}
expect_eq "commands" "$(comp ctk echo-)" "echo-args echo-opts echo-types"
expect_eq "after a global option" "$(comp ctk --log-level debug gr)" "grp"
expect_eq "log levels" "$(comp ctk --log-level d)" "debug"
expect_eq "a group's subcommands" "$(comp ctk grp '')" "other sub"
expect_eq "options" "$(comp ctk echo-opts --na)" "--name"
expect_eq "host options" "$(comp ctk echo-types --fo)" "--format"
expect_contains "pid values" " $(comp ctk echo-opts -p '') " " 1 "
expect_eq "after a stop, options are arguments" "$(comp ctk echo-args IMG --na)" ""
expect_contains "the command line of a stopping command" " $(comp ctk echo-args IMG bas) " " bash "

if command -v fish >/dev/null; then
    fcomp() { fish -c "source $tmp/ctk.fish; complete -C '$1'" | cut -f1 | tr '\n' ' ' | sed 's/ $//'; }
    expect_eq "fish commands" "$(fcomp 'ctk echo-')" "echo-args echo-opts echo-types"
    expect_eq "fish group" "$(fcomp 'ctk --log-level info grp ')" "other sub"
    expect_eq "fish options" "$(fcomp 'ctk echo-opts --na')" "--name"
fi
echo "completion ok"
