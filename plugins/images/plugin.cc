// The images plugin: ctk's image store and the archive formats.
//
//   ctk load -i busybox.tar            docker-archive, hybrid, OCI archive, oci:DIR, stdin
//   ctk save -o out.tar busybox        hybrid docker-archive (--format oci-archive|oci-dir)
//   ctk import rootfs.tar.gz app:v1    one-layer image from a rootfs tarball
//   ctk images / tag / rmi / history
#include "commands.h"

namespace ctk::plugins::images {
namespace {

template <size_t N> constexpr size_t count(const ctk_option_v1 (&)[N]) {
  return N;
}
template <size_t N> constexpr size_t count(const ctk_positional_v1 (&)[N]) {
  return N;
}
template <size_t N> constexpr size_t count(const ctk_column_v1 (&)[N]) {
  return N;
}

const ctk_column_v1 kLoadedColumns[] = {
    {"Image", "IMAGE", CTK_COL_STRING, 0, "Name of the image (its ID when it has none)"},
    {"ID", "IMAGE ID", CTK_COL_ID, 0, "Image ID (config digest)"},
};

const ctk_option_v1 kLoadOptions[] = {
    {"input", 'i', 0, CTK_ARG_PATH, "FILE", nullptr,
     "Archive (docker-archive, hybrid, OCI archive), OCI layout directory or oci:DIR; - or "
     "nothing reads stdin"},
    {"platform", 0, 0, CTK_ARG_STRING, "OS/ARCH[/VARIANT]", nullptr,
     "Which image of a multi-platform index to load (default: the host's)"},
};

const ctk_option_v1 kSaveOptions[] = {
    {"output", 'o', 0, CTK_ARG_PATH, "[TRANSPORT:]FILE", nullptr,
     "Write to FILE; oci-archive:FILE or oci:DIR choose the format (default: the hybrid "
     "docker-archive that docker, podman and skopeo load)"},
    {"format", 0, 0, CTK_ARG_STRING, "docker-archive|oci-archive|oci-dir", nullptr,
     "Archive format, as podman save --format (a transport prefix on -o also chooses it)"},
};
const ctk_positional_v1 kSavePositionals[] = {
    {"IMAGE", CTK_ARG_IMAGE, CTK_POS_VARIADIC, "Images to save (names or IDs)"},
};

const ctk_option_v1 kImportOptions[] = {
    {"message", 'm', 0, CTK_ARG_STRING, "TEXT", nullptr, "Comment for the image's history"},
};
const ctk_positional_v1 kImportPositionals[] = {
    {"ROOTFS", CTK_ARG_PATH, 0, "Root filesystem tarball (plain, gzip or zstd); - for stdin"},
    {"NAME", CTK_ARG_STRING, 0, "NAME[:TAG] of the new image"},
};

const ctk_column_v1 kImagesColumns[] = {
    {"Repository", "REPOSITORY", CTK_COL_STRING, 0, "Repository, docker's short form"},
    {"Tag", "TAG", CTK_COL_STRING, 0, "Tag"},
    {"ID", "IMAGE ID", CTK_COL_ID, CTK_COL_QUIET, "Image ID (config digest)"},
    {"CreatedAt", "CREATED", CTK_COL_TIMESTAMP, 0, "When the image was built"},
    {"Size", "SIZE", CTK_COL_BYTES, 0, "Size of its layers as stored"},
    {"Digest", "DIGEST", CTK_COL_ID, CTK_COL_HIDDEN, "Manifest digest"},
    {"Name", "NAME", CTK_COL_STRING, CTK_COL_HIDDEN, "Full normalised name"},
};

const ctk_positional_v1 kTagPositionals[] = {
    {"SOURCE", CTK_ARG_IMAGE, 0, "Image name or ID"},
    {"TARGET", CTK_ARG_STRING, 0, "New NAME[:TAG]"},
};

const ctk_option_v1 kRmiOptions[] = {
    {"force", 'f', CTK_OPT_FLAG, CTK_ARG_STRING, nullptr, nullptr,
     "Remove an image with several names by ID, or one a container uses"},
};
const ctk_positional_v1 kRmiPositionals[] = {
    {"IMAGE", CTK_ARG_IMAGE, CTK_POS_VARIADIC, "Images to remove (names or IDs)"},
};
const ctk_column_v1 kRmiColumns[] = {
    {"Action", "ACTION", CTK_COL_STRING, 0, "Untagged or Deleted"},
    {"Image", "IMAGE", CTK_COL_STRING, CTK_COL_WIDE, "Name untagged or image ID deleted"},
};

const ctk_positional_v1 kHistoryPositionals[] = {
    {"IMAGE", CTK_ARG_IMAGE, 0, "Image name or ID"},
};
const ctk_column_v1 kHistoryColumns[] = {
    {"ID", "IMAGE", CTK_COL_ID, 0, "Image ID on the newest entry, <missing> below"},
    {"CreatedAt", "CREATED", CTK_COL_TIMESTAMP, 0, "When the step ran"},
    {"CreatedBy", "CREATED BY", CTK_COL_STRING, 0, "The command of the step"},
    {"Size", "SIZE", CTK_COL_BYTES, 0, "Size of the layer it made (0: empty layer)"},
    {"Comment", "COMMENT", CTK_COL_STRING, 0, "Comment"},
    {"EmptyLayer", "EMPTY", CTK_COL_BOOL, CTK_COL_HIDDEN, "The step made no layer"},
};

const ctk_command_v1 kCommands[] = {
    {"load", "Load images from an archive or OCI layout", "[-i FILE] [--platform OS/ARCH]",
     "Reads the docker-archive of docker save (legacy or with an OCI layout inside), an OCI "
     "archive, or an OCI layout directory (oci:DIR). Layers may be plain, gzip or zstd; blobs "
     "are kept byte for byte. An archive is read once, so stdin works.",
     kLoadOptions, count(kLoadOptions), nullptr, 0, kLoadedColumns, count(kLoadedColumns), 0,
     &rt::plugin::entry<run_load>},
    {"save", "Save images to an archive", "[-o [oci-archive:|oci:]FILE] [--format F] IMAGE...",
     "Writes the images with their blobs unchanged (same digests).", kSaveOptions,
     count(kSaveOptions), kSavePositionals, count(kSavePositionals), nullptr, 0, CTK_CMD_NO_OUTPUT,
     &rt::plugin::entry<run_save>},
    {"import", "Create an image from a root filesystem tarball", "[-m TEXT] ROOTFS NAME[:TAG]",
     "The tarball becomes the image's only layer, stored as it is.", kImportOptions,
     count(kImportOptions), kImportPositionals, count(kImportPositionals), kLoadedColumns,
     count(kLoadedColumns), 0, &rt::plugin::entry<run_import>},
    {"images", "List images", nullptr,
     "One row per name; an image without one shows as <none>. For IDs only: "
     "--format '{{.ID}}'.",
     nullptr, 0, nullptr, 0, kImagesColumns, count(kImagesColumns), 0,
     &rt::plugin::entry<run_images>},
    {"tag", "Give an image another name", "SOURCE TARGET", nullptr, nullptr, 0, kTagPositionals,
     count(kTagPositionals), nullptr, 0, CTK_CMD_NO_OUTPUT, &rt::plugin::entry<run_tag>},
    {"rmi", "Remove images", "[-f] IMAGE...",
     "Removes a name; the image goes with its last name. Blobs another image uses stay.",
     kRmiOptions, count(kRmiOptions), kRmiPositionals, count(kRmiPositionals), kRmiColumns,
     count(kRmiColumns), 0, &rt::plugin::entry<run_rmi>},
    {"history", "Show the history of an image", "IMAGE", nullptr, nullptr, 0, kHistoryPositionals,
     count(kHistoryPositionals), kHistoryColumns, count(kHistoryColumns), 0,
     &rt::plugin::entry<run_history>},
};

} // namespace
} // namespace ctk::plugins::images

CTK_DEFINE_PLUGIN("images", "Image store: load, save, import, images, tag, rmi, history",
                  ctk::plugins::images::kCommands)
