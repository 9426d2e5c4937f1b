// dpkg and apk version orderings, and the package database parsers.
#include <gtest/gtest.h>

#include "ctk/runtime/image_diff.h"

using namespace ctk::rt::image;

namespace {

// Each list is strictly increasing; every pair is checked both ways.
void expect_ascending(int (*cmp)(std::string_view, std::string_view),
                      const std::vector<std::string> &v) {
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(cmp(v[i], v[i]), 0) << v[i];
    for (size_t j = i + 1; j < v.size(); ++j) {
      EXPECT_LT(cmp(v[i], v[j]), 0) << v[i] << " < " << v[j];
      EXPECT_GT(cmp(v[j], v[i]), 0) << v[j] << " > " << v[i];
    }
  }
}

} // namespace

TEST(ImageDiffVersions, DpkgPolicyExamples) {
  // Debian policy 5.6.12: '~' sorts before everything, even the end; a
  // revision makes a version newer; an epoch beats everything after it.
  expect_ascending(compare_dpkg_versions, {"1.0~rc1", "1.0", "1.0-1", "1:0.9"});
  expect_ascending(compare_dpkg_versions, {"~~", "~~a", "~", "", "a"});
  expect_ascending(compare_dpkg_versions, {"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", "1.0+b1"});
}

TEST(ImageDiffVersions, DpkgNumbersAndParts) {
  expect_ascending(compare_dpkg_versions, {"1.2", "1.9", "1.10", "1.100", "2"});
  // Leading zeros do not count; a missing revision equals "0".
  EXPECT_EQ(compare_dpkg_versions("1.01", "1.1"), 0);
  EXPECT_EQ(compare_dpkg_versions("1.0", "1.0-0"), 0);
  EXPECT_EQ(compare_dpkg_versions("0:1.0", "1.0"), 0);
  // The revision is after the last hyphen; the upstream part may hold more.
  EXPECT_LT(compare_dpkg_versions("1.0-beta-1", "1.0-beta-2"), 0);
  EXPECT_GT(compare_dpkg_versions("2.36-9+deb12u4", "2.36-9+deb12u3"), 0);
  EXPECT_LT(compare_dpkg_versions("2.36-9", "2.36-9+deb12u1"), 0);
  // Letters sort before non-letters: '+' and '.' come after 'a'.
  EXPECT_LT(compare_dpkg_versions("1.0a", "1.0+"), 0);
  EXPECT_LT(compare_dpkg_versions("1.0a", "1.0."), 0);
  // Digit runs longer than any integer type.
  EXPECT_LT(compare_dpkg_versions("1.123456789012345678901", "1.123456789012345678902"), 0);
  EXPECT_GT(compare_dpkg_versions("10:1", "9:99"), 0);
}

TEST(ImageDiffVersions, ApkOrdering) {
  expect_ascending(compare_apk_versions,
                   {"1.0_alpha", "1.0_alpha2", "1.0_beta", "1.0_pre1", "1.0_rc1", "1.0_rc2", "1.0",
                    "1.0-r1", "1.0-r10", "1.0_p1", "1.0a", "1.0b", "1.0.1", "1.1", "1.10", "2"});
  expect_ascending(compare_apk_versions, {"1.0_cvs", "1.0_svn", "1.0_git", "1.0_hg", "1.0_p"});
  EXPECT_LT(compare_apk_versions("3.1.4-r5", "3.1.4-r6"), 0);
  EXPECT_LT(compare_apk_versions("1.36.1-r2", "1.36.1-r15"), 0);
  EXPECT_GT(compare_apk_versions("2.4.10-r0", "2.4.9-r9"), 0);
  // A part after the first with a leading zero compares as a fraction.
  EXPECT_LT(compare_apk_versions("1.02", "1.1"), 0);
  EXPECT_EQ(compare_apk_versions("1.0_rc1-r0", "1.0_rc1"), 0);
  // Malformed: a plain string comparison, so still a total order.
  EXPECT_LT(compare_apk_versions("abc", "abd"), 0);
}

TEST(ImageDiffParse, DpkgStatusKeepsInstalledOnly) {
  const char *status = "Package: base-files\n"
                       "Status: install ok installed\n"
                       "Priority: required\n"
                       "Installed-Size: 340\n"
                       "Architecture: amd64\n"
                       "Version: 12.4+deb12u5\n"
                       "Description: Debian base system miscellaneous files\n"
                       " This package contains the basic filesystem hierarchy.\n"
                       " .\n"
                       " Package: not-a-field\n"
                       "\n"
                       "Package: oldconf\n"
                       "Status: deinstall ok config-files\n"
                       "Version: 1.0\n"
                       "\n"
                       "package: lower-case\n"
                       "STATUS: install ok installed\n"
                       "version: 2:1.2-3\n"
                       "architecture: all\n";
  auto p = parse_dpkg_status(status);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].name, "base-files");
  EXPECT_EQ((*p)[0].version, "12.4+deb12u5");
  EXPECT_EQ((*p)[0].arch, "amd64");
  EXPECT_EQ((*p)[0].size, 340u * 1024);
  EXPECT_EQ((*p)[0].manager, PackageManager::dpkg);
  EXPECT_EQ((*p)[1].name, "lower-case");
  EXPECT_EQ((*p)[1].version, "2:1.2-3");
  EXPECT_EQ((*p)[1].size, 0u);
}

TEST(ImageDiffParse, DpkgStatusErrorNamesTheLine) {
  auto p = parse_dpkg_status("Package: a\nStatus: install ok installed\ngarbage line\n");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("line 3"), std::string::npos) << p.error().message();
  auto empty = parse_dpkg_status("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(ImageDiffParse, ApkInstalled) {
  const char *db = "C:Q1abc=\n"
                   "P:musl\n"
                   "V:1.2.4-r2\n"
                   "A:x86_64\n"
                   "S:383152\n"
                   "I:622592\n"
                   "T:the musl c library\n"
                   "F:lib\n"
                   "R:libc.musl-x86_64.so.1\n"
                   "\n"
                   "P:busybox\n"
                   "V:1.36.1-r5\n"
                   "A:x86_64\n"
                   "I:946176\n";
  auto p = parse_apk_installed(db);
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].name, "musl");
  EXPECT_EQ((*p)[0].version, "1.2.4-r2");
  EXPECT_EQ((*p)[0].size, 622592u);
  EXPECT_EQ((*p)[1].name, "busybox");
  EXPECT_EQ((*p)[1].arch, "x86_64");
  EXPECT_EQ((*p)[1].manager, PackageManager::apk);
  EXPECT_FALSE(parse_apk_installed("P:x\nnot a record\n"));
}

TEST(ImageDiffPackages, AddedRemovedUpgradedDowngraded) {
  auto pkg = [](std::string n, std::string v, uint64_t size = 0, std::string arch = "amd64") {
    return Package{std::move(n), std::move(v), std::move(arch), size, PackageManager::dpkg};
  };
  std::vector<Package> a = {pkg("libc6", "2.36-9", 100),  pkg("curl", "7.88.1-10"),
                            pkg("gone", "1.0"),           pkg("same", "1.0"),
                            pkg("tzdata", "2024a-1"),     pkg("libx", "1.0", 0, "amd64"),
                            pkg("libx", "1.0", 0, "i386")};
  std::vector<Package> b = {pkg("libc6", "2.36-9+deb12u4", 200),
                            pkg("curl", "7.88.1-10~bpo1"),
                            pkg("new", "0.1"),
                            pkg("same", "1.0"),
                            pkg("tzdata", "2024a-1"),
                            pkg("libx", "1.1", 0, "amd64"),
                            pkg("libx", "1.0", 0, "i386")};
  auto d = diff_packages(a, b);
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].name, "curl");
  EXPECT_EQ(d[0].change, PackageChangeKind::downgraded);
  EXPECT_EQ(d[1].name, "gone");
  EXPECT_EQ(d[1].change, PackageChangeKind::removed);
  EXPECT_EQ(d[1].new_version, "");
  EXPECT_EQ(d[2].name, "libc6");
  EXPECT_EQ(d[2].change, PackageChangeKind::upgraded);
  EXPECT_EQ(d[2].old_size, 100u);
  EXPECT_EQ(d[2].new_size, 200u);
  EXPECT_EQ(d[3].name, "libx:amd64"); // multiarch: each architecture on its own
  EXPECT_EQ(d[3].change, PackageChangeKind::upgraded);
  EXPECT_EQ(d[4].name, "new");
  EXPECT_EQ(d[4].change, PackageChangeKind::added);
  EXPECT_EQ(d[4].old_version, "");
}
