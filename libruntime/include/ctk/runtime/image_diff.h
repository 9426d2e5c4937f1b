// Image diff: what changed between two images, file by file (added, removed,
// changed with sizes, modes, owners and link targets) and package by package
// from the package databases they carry (dpkg status, apk installed), as
// container-diff's file, apt and apk analyzers.
//
//   auto a = open_image("app:1", so), b = open_image("app:2", so);
//   auto d = diff_images(audit_inputs(*a), audit_inputs(*b), {});
//   for (const FileChange &c : d->files)          // sorted by path
//     use(change_letter(c.change), c.path, c.old_size, c.new_size, c.what);
//   for (const PackageChange &p : d->packages)    // sorted by name
//     use(p.name, p.old_version, p.new_version);  // upgraded, downgraded, ...
//
// Each layer is read once, as a stream: file data is hashed (the audit's
// scan) and dropped, except the package databases, which are kept up to
// DiffOptions::max_db_bytes. A layer both images share (same digest) is read
// once. The final tree is the audit's merge: whiteouts and opaque
// directories are honoured, so a deleted database is no database.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctk/runtime/core.h"
#include "ctk/runtime/image_audit.h"
#include "ctk/runtime/image_tar.h"

namespace ctk::rt::image {

// ---- files --------------------------------------------------------------

enum class FileChangeKind : uint8_t { added, removed, changed };
char change_letter(FileChangeKind k); // 'A', 'D', 'C' as docker diff
std::string_view change_name(FileChangeKind k);

// What differs in a changed path (bit set).
enum DiffBits : uint8_t {
  diff_content = 1, // file data (SHA-256), device numbers
  diff_mode = 2,
  diff_owner = 4, // uid or gid
  diff_type = 8,  // e.g. a file became a symlink
  diff_link = 16, // symlink or hardlink target
};
// "content,mode" in bit order; "" for none.
std::string diff_bits_string(uint8_t bits);

// One live path of an image's merged filesystem.
struct FileState {
  EntryType type = EntryType::file;
  uint64_t size = 0; // data size; 0 for all but files
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string link_target;        // symlink, hardlink
  std::array<uint64_t, 2> hash{}; // content identity (SHA-256 prefix)
};

struct FileChange {
  std::string path; // relative to the root, no leading '/' ("etc/passwd")
  FileChangeKind change = FileChangeKind::added;
  FileState old_state; // removed, changed
  FileState new_state; // added, changed
  uint8_t what = 0;    // DiffBits, for changed
};

// ---- packages -----------------------------------------------------------

enum class PackageManager : uint8_t { dpkg, apk };
std::string_view manager_name(PackageManager m);

struct Package {
  std::string name;
  std::string version;
  std::string arch;
  uint64_t size = 0; // installed size in bytes (dpkg's KiB * 1024, apk's bytes)
  PackageManager manager = PackageManager::dpkg;
};

enum class PackageChangeKind : uint8_t { added, removed, upgraded, downgraded };
std::string_view change_name(PackageChangeKind k);

struct PackageChange {
  std::string name; // "name:arch" when a database holds it for several architectures
  PackageChangeKind change = PackageChangeKind::added;
  PackageManager manager = PackageManager::dpkg;
  std::string arch;
  std::string old_version, new_version; // "" where absent
  uint64_t old_size = 0, new_size = 0;
};

// Where images keep their package databases (paths relative to the root).
inline constexpr std::string_view kDpkgStatus = "var/lib/dpkg/status";
inline constexpr std::string_view kDpkgStatusDir = "var/lib/dpkg/status.d"; // distroless
inline constexpr std::string_view kApkInstalled = "lib/apk/db/installed";

// dpkg's ordering (Debian policy 5.6.12): epoch, then upstream version, then
// revision, each compared as alternating non-digit and digit runs; letters
// sort before other characters and '~' before everything, even the end.
// <0, 0, >0 like strcmp.
int compare_dpkg_versions(std::string_view a, std::string_view b);
// apk's ordering: dot-separated numbers, an optional letter, suffixes
// (_alpha < _beta < _pre < _rc < none < _cvs < _svn < _git < _hg < _p, each
// with an optional number), then -rN. Malformed versions compare as strings.
int compare_apk_versions(std::string_view a, std::string_view b);

// Packages that are installed ("Status: install ok installed"); stanzas of
// other states are left out. Errors name the line.
Result<std::vector<Package>> parse_dpkg_status(std::string_view text);
// P:/V:/A:/I: records separated by blank lines.
Result<std::vector<Package>> parse_apk_installed(std::string_view text);

// Sorted by name; packages whose version is the same are left out.
std::vector<PackageChange> diff_packages(const std::vector<Package> &a,
                                         const std::vector<Package> &b);

// ---- images -------------------------------------------------------------

struct DiffOptions {
  Limits limits;
  unsigned threads = 0;                // 0: min(2, cores); layers of both images share them
  bool files = true;                   // compute DiffResult::files
  bool packages = true;                // read and diff the package databases
  uint64_t max_db_bytes = 64ull << 20; // per database file; larger is an error
  std::string a_name = "the first image", b_name = "the second image"; // for errors
};

// The package databases found in one image's final tree.
struct PackageDatabases {
  bool dpkg = false, apk = false;
  std::vector<Package> packages;
  bool any() const { return dpkg || apk; }
};

struct DiffResult {
  std::vector<FileChange> files; // PathLess order: a directory right before its subtree
  std::vector<PackageChange> packages;
  PackageDatabases a_databases, b_databases; // with DiffOptions::packages
  uint64_t a_entries = 0, b_entries = 0;     // live paths in each final tree
};

// Errors name the image (DiffOptions::a_name, b_name), the layer or the
// database file, and the cause.
Result<DiffResult> diff_images(const std::vector<AuditLayerInput> &a,
                               const std::vector<AuditLayerInput> &b, const DiffOptions &opt = {});

} // namespace ctk::rt::image
