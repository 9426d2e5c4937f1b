// The layers plugin: what each layer of an image holds, and what it wastes.
//
//   ctk layers IMAGE                  one row per layer (JSON: every file)
//   ctk layers tree IMAGE             the merged filesystem (--layer N, --changes-only)
//   ctk layers summary IMAGE          dive's efficiency and wasted bytes, reclaimable bytes
//   ctk layers findings IMAGE         deleted-but-shipped (secrets), setuid, world-writable
//   ctk layers ci IMAGE               dive's CI gate: exit 0 pass, 1 fail, 2 error
//   ctk diff IMAGE IMAGE              files added, deleted, changed (cmd_diff.cc)
//   ctk diff packages IMAGE IMAGE     packages added, removed, upgraded, downgraded
//
// Each view is its own command because the host renders a command's records
// from one static column table: a tree row and a layer row cannot share it.
// `ctk layers --tree IMAGE` (and --summary, --findings, --ci) are the same
// commands, selected by view flags (CTK_OPT_VIEW).
#include "commands.h"

namespace ctk::plugins::layers {
namespace {

template <size_t N> constexpr size_t count(const ctk_option_v1 (&)[N]) {
  return N;
}
template <size_t N> constexpr size_t count(const ctk_column_v1 (&)[N]) {
  return N;
}

#define IMAGE_HELP                                                                                 \
  "Image name or ID in the store, or docker-archive:PATH, oci-archive:PATH, oci:DIR, or a path "   \
  "to an archive (read into a temporary store, yours untouched)"

const ctk_positional_v1 kImage[] = {{"IMAGE", CTK_ARG_IMAGE, 0, IMAGE_HELP}};

const ctk_column_v1 kLayerColumns[] = {
    {"Index", "INDEX", CTK_COL_INT, 0, "Layer index, 0 at the bottom"},
    {"Digest", "DIGEST", CTK_COL_ID, 0, "Digest of the layer blob"},
    {"Size", "SIZE", CTK_COL_BYTES, 0, "Data size of its entries (uncompressed, dive's size)"},
    {"Compressed", "COMPRESSED", CTK_COL_BYTES, 0, "Size of the blob as stored"},
    {"Added", "ADDED", CTK_COL_INT, 0, "Paths it adds"},
    {"Modified", "MODIFIED", CTK_COL_INT, 0,
     "Paths it changes (content, mode, owner or group differ from below)"},
    {"Deleted", "DELETED", CTK_COL_INT, 0, "Paths it deletes (whiteouts)"},
    {"CreatedBy", "CREATED BY", CTK_COL_STRING, CTK_COL_WIDE, "The history step that made it"},
    {"AddedBytes", "ADDED BYTES", CTK_COL_BYTES, CTK_COL_HIDDEN, "Data size of added paths"},
    {"ModifiedBytes", "MODIFIED BYTES", CTK_COL_BYTES, CTK_COL_HIDDEN,
     "Data size of modified paths"},
    {"DeletedBytes", "DELETED BYTES", CTK_COL_BYTES, CTK_COL_HIDDEN,
     "Bytes its deletions remove (whole subtrees)"},
    {"Unchanged", "UNCHANGED", CTK_COL_INT, CTK_COL_HIDDEN, "Paths rewritten identically"},
    {"Files", "FILES", CTK_COL_LIST, CTK_COL_HIDDEN,
     "Every entry: Path, Type, Status (added|modified|deleted|unchanged), Size, Mode, Uid, Gid"},
};

const ctk_option_v1 kLayerOptions[] = {
    {"layer", 'l', 0, CTK_ARG_INT, "N", nullptr, "Only layer N (from 0)"},
    {"changes-only", 'c', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Leave paths rewritten identically out of Files"},
    // dive's and the spellings of the other views.
    {"tree", 0, CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr,
     "The merged filesystem, path by path"},
    {"summary", 0, CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr,
     "dive's efficiency and wasted bytes, reclaimable bytes"},
    {"findings", 0, CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr,
     "Deleted-but-shipped files, setuid and world-writable paths"},
    {"ci", 0, CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr,
     "dive's CI gate: exit 0 pass, 1 fail, 2 error"},
};

const ctk_option_v1 kTreeOptions[] = {
    {"layer", 'l', 0, CTK_ARG_INT, "N", nullptr,
     "The tree as of layer N (from 0), statuses relative to the layers below it"},
    {"changes-only", 'c', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Only changed paths (and the directories above them)"},
};
const ctk_column_v1 kTreeColumns[] = {
    {"Name", "NAME", CTK_COL_STRING, CTK_COL_WIDE, "Last path component, indented by depth"},
    {"Type", "TYPE", CTK_COL_STRING, 0, "file, dir, symlink, hardlink, chardev, blockdev, fifo"},
    {"Size", "SIZE", CTK_COL_BYTES, 0, "Data size (a directory: the live data below it)"},
    {"Status", "STATUS", CTK_COL_STRING, 0, "added, modified, deleted or unchanged"},
    {"Layer", "LAYER", CTK_COL_INT, 0, "Layer of its last change"},
    {"Mode", "MODE", CTK_COL_STRING, CTK_COL_HIDDEN, "Permission bits, octal"},
    {"Path", "PATH", CTK_COL_STRING, CTK_COL_HIDDEN | CTK_COL_WIDE, "Full path"},
    {"Uid", "UID", CTK_COL_INT, CTK_COL_HIDDEN, "Owner"},
    {"Gid", "GID", CTK_COL_INT, CTK_COL_HIDDEN, "Group"},
};

const ctk_column_v1 kSummaryColumns[] = {
    {"Image", "IMAGE", CTK_COL_STRING, 0, "The image as given"},
    {"Layers", "LAYERS", CTK_COL_INT, 0, "Number of layers"},
    {"Size", "SIZE", CTK_COL_BYTES, 0, "Sum of the layer sizes"},
    {"Efficiency", "EFFICIENCY", CTK_COL_PERCENT, 0, "dive's efficiency score"},
    {"WastedBytes", "WASTED", CTK_COL_BYTES, 0,
     "dive's wasted bytes: every version of every path in two or more layers"},
    {"UserWastedPercent", "USER WASTED", CTK_COL_PERCENT, 0,
     "Wasted bytes over the size of all layers but the first (null: infinite)"},
    {"Reclaimable", "RECLAIMABLE", CTK_COL_BYTES, 0, "What squashing the layers would save"},
    {"Findings", "FINDINGS", CTK_COL_INT, 0, "See ctk layers findings"},
    {"FinalSize", "FINAL SIZE", CTK_COL_BYTES, CTK_COL_HIDDEN, "Data size of the merged tree"},
    {"FinalEntries", "FINAL ENTRIES", CTK_COL_INT, CTK_COL_HIDDEN, "Paths in the merged tree"},
    {"UserSize", "USER SIZE", CTK_COL_BYTES, CTK_COL_HIDDEN, "Size of all layers but the first"},
    {"Wasted", "WASTED PATHS", CTK_COL_LIST, CTK_COL_HIDDEN,
     "Largest wasted paths: Path, Count (layers), Total (bytes)"},
};

const ctk_column_v1 kFindingColumns[] = {
    {"Kind", "KIND", CTK_COL_STRING, 0, "deleted-but-shipped, setuid, setgid, world-writable"},
    {"Path", "PATH", CTK_COL_STRING, CTK_COL_WIDE, "The path"},
    {"Layer", "LAYER", CTK_COL_INT, 0, "Layer that ships it"},
    {"Size", "SIZE", CTK_COL_BYTES, 0, "Its data size"},
    {"Secret", "SECRET", CTK_COL_BOOL, 0, "Name or content looks like a credential"},
    {"Detail", "DETAIL", CTK_COL_STRING, CTK_COL_WIDE, "Why it is reported"},
    {"DeletedIn", "DELETED IN", CTK_COL_INT, CTK_COL_HIDDEN, "Layer that deletes it"},
    {"Reason", "REASON", CTK_COL_STRING, CTK_COL_HIDDEN, "Why it looks like a secret"},
    {"Mode", "MODE", CTK_COL_STRING, CTK_COL_HIDDEN, "Permission bits, octal"},
};

const ctk_option_v1 kCiOptions[] = {
    {"lowest-efficiency", 0, 0, CTK_ARG_STRING, "RATIO", nullptr,
     "Fail below this efficiency (0.9 or 90%; dive's default 0.9)"},
    {"highest-wasted-bytes", 0, 0, CTK_ARG_STRING, "SIZE", nullptr,
     "Fail above this many wasted bytes (20MB, 20MiB, 1024; default: off)"},
    {"highest-user-wasted-percent", 0, 0, CTK_ARG_STRING, "RATIO", nullptr,
     "Fail above this user wasted ratio (0.1 or 10%; dive's default 0.1)"},
    {"no-deleted-secrets", 0, CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Fail when a likely secret is deleted in a later layer but ships in an earlier one"},
    {"ci-config", 0, 0, CTK_ARG_PATH, "FILE", nullptr,
     "dive's .dive-ci rules file (default: ./.dive-ci when present); flags override it"},
};
const ctk_column_v1 kCiColumns[] = {
    {"Rule", "RULE", CTK_COL_STRING, 0, "The rule, by its .dive-ci key"},
    {"Status", "STATUS", CTK_COL_STRING, 0, "PASS, FAIL or SKIP (disabled)"},
    {"Detail", "DETAIL", CTK_COL_STRING, CTK_COL_WIDE, "Measured value and threshold"},
};

// ctk diff IMAGE IMAGE (cmd_diff.cc).
const ctk_positional_v1 kTwoImages[] = {
    {"IMAGE", CTK_ARG_IMAGE, 0, "The image to compare from. " IMAGE_HELP},
    {"IMAGE", CTK_ARG_IMAGE, 0, "The image to compare to, in the same forms"},
};
// ctk diff CONTAINER (one argument): a ctk container's changes, as docker diff.
const ctk_positional_v1 kDiffPositionals[] = {
    {"IMAGE", CTK_ARG_IMAGE, 0,
     "The image to compare from (" IMAGE_HELP "), or alone: a ctk container (its changes)"},
    {"IMAGE", CTK_ARG_IMAGE, CTK_POS_OPTIONAL, "The image to compare to, in the same forms"},
};
const ctk_option_v1 kDiffOptions[] = {
    {"packages", 0, CTK_OPT_FLAG | CTK_OPT_VIEW, CTK_ARG_STRING, nullptr, nullptr,
     "Compare the installed packages (dpkg, apk) instead of the files"},
};
const ctk_column_v1 kDiffColumns[] = {
    {"Change", "CHANGE", CTK_COL_STRING, 0, "A added, D deleted, C changed (as docker diff)"},
    {"Path", "PATH", CTK_COL_STRING, CTK_COL_WIDE, "Full path"},
    {"Type", "TYPE", CTK_COL_STRING, 0, "file, dir, symlink, hardlink, chardev, blockdev, fifo"},
    {"OldSize", "OLD SIZE", CTK_COL_BYTES, 0, "Data size in the first image"},
    {"NewSize", "NEW SIZE", CTK_COL_BYTES, 0, "Data size in the second image"},
    {"OldMode", "OLD MODE", CTK_COL_STRING, 0, "Permission bits in the first image, octal"},
    {"NewMode", "NEW MODE", CTK_COL_STRING, 0, "Permission bits in the second image, octal"},
    {"Detail", "DETAIL", CTK_COL_STRING, CTK_COL_WIDE,
     "What changed: content, mode, owner, type, link (with old -> new)"},
    {"Kind", "KIND", CTK_COL_STRING, CTK_COL_HIDDEN, "added, removed or changed"},
    {"What", "WHAT", CTK_COL_LIST, CTK_COL_HIDDEN, "What changed, as a list"},
    {"Old", "OLD", CTK_COL_OBJECT, CTK_COL_HIDDEN,
     "The path in the first image: Type, Size, Mode, Uid, Gid, Target (null if absent)"},
    {"New", "NEW", CTK_COL_OBJECT, CTK_COL_HIDDEN, "The path in the second image, as Old"},
};
const ctk_column_v1 kDiffPackageColumns[] = {
    {"Change", "CHANGE", CTK_COL_STRING, 0, "added, removed, upgraded or downgraded"},
    {"Package", "PACKAGE", CTK_COL_STRING, 0, "Name (name:arch when installed for several)"},
    {"OldVersion", "OLD VERSION", CTK_COL_STRING, 0, "Version in the first image"},
    {"NewVersion", "NEW VERSION", CTK_COL_STRING, 0, "Version in the second image"},
    {"OldSize", "OLD SIZE", CTK_COL_BYTES, 0, "Installed size in the first image"},
    {"NewSize", "NEW SIZE", CTK_COL_BYTES, 0, "Installed size in the second image"},
    {"Manager", "MANAGER", CTK_COL_STRING, 0, "dpkg or apk"},
    {"Arch", "ARCH", CTK_COL_STRING, CTK_COL_HIDDEN, "Architecture"},
};

const ctk_command_v1 kCommands[] = {
    {"layers", "Show what each layer of an image adds, modifies and deletes",
     "[--layer N] [--changes-only] IMAGE",
     "One row per layer, bottom first. --format json adds every file of every layer (Files). "
     "Other views: --tree, --summary, --findings, --ci (or ctk layers tree|summary|findings|ci "
     "IMAGE).",
     kLayerOptions, count(kLayerOptions), kImage, 1, kLayerColumns, count(kLayerColumns), 0,
     &rt::plugin::entry<run_layers>},
    {"layers tree", "Show the merged filesystem of an image, path by path",
     "[--layer N] [--changes-only] IMAGE",
     "Each path with its status and the layer it comes from; deleted paths show as deleted.",
     kTreeOptions, count(kTreeOptions), kImage, 1, kTreeColumns, count(kTreeColumns), 0,
     &rt::plugin::entry<run_tree>},
    {"layers summary", "Show dive's efficiency and wasted bytes of an image", "IMAGE",
     "Efficiency, wasted bytes and user wasted percent as dive defines them, and reclaimable "
     "bytes: what squashing the layers would save. JSON adds the largest wasted paths.",
     nullptr, 0, kImage, 1, kSummaryColumns, count(kSummaryColumns), 0,
     &rt::plugin::entry<run_summary>},
    {"layers findings", "Show deleted-but-shipped files, setuid and world-writable paths", "IMAGE",
     "Files deleted by a later layer still ship in an earlier one; likely secrets (keys, .env, "
     "credentials) come first.",
     nullptr, 0, kImage, 1, kFindingColumns, count(kFindingColumns), 0,
     &rt::plugin::entry<run_findings>},
    {"layers ci", "Check an image against dive's CI rules",
     "[--lowest-efficiency R] [--highest-wasted-bytes B] [--highest-user-wasted-percent R] "
     "[--no-deleted-secrets] [--ci-config FILE] IMAGE",
     "Rules come from dive's defaults, then the .dive-ci file, then the flags. Exit status: 0 "
     "when every rule passes, 1 when one fails (named on stderr), 2 on an error.",
     kCiOptions, count(kCiOptions), kImage, 1, kCiColumns, count(kCiColumns), 0,
     &rt::plugin::entry<run_ci>},
    {"diff", "Show the files changed from one image to another, or by a container",
     "[--packages] IMAGE IMAGE | CONTAINER",
     "Every path of the second image's filesystem that differs from the first's: A added, D "
     "deleted, C changed (content, mode, owner, type or link target). Deleted files of lower "
     "layers are gone, as in a container. --packages (or ctk diff packages) compares the "
     "installed packages instead. With one argument, a ctk container (running or stopped): "
     "what it changed in its image, from its upper directory, as docker diff.",
     kDiffOptions, count(kDiffOptions), kDiffPositionals, 2, kDiffColumns, count(kDiffColumns), 0,
     &rt::plugin::entry<run_diff>},
    {"diff packages", "Show the packages added, removed, upgraded and downgraded between images",
     "IMAGE IMAGE",
     "From the dpkg database (/var/lib/dpkg/status, distroless /var/lib/dpkg/status.d) and the "
     "apk database (/lib/apk/db/installed) of each image; versions compare by dpkg's and apk's "
     "rules. When neither image has one, nothing is shown and a warning says so.",
     nullptr, 0, kTwoImages, 2, kDiffPackageColumns, count(kDiffPackageColumns), 0,
     &rt::plugin::entry<run_diff_packages>},
};

} // namespace
} // namespace ctk::plugins::layers

CTK_DEFINE_PLUGIN("layers", "Image layer audit (layers, tree, summary, findings, CI), image diff",
                  ctk::plugins::layers::kCommands)
