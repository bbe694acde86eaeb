// Repository names (pipeline/repo_identity.h): the name records carry, shared by fixmined's
// `repo add` and `fixmine extract --repo-list`.
#include "pipeline/repo_identity.h"

#include <gtest/gtest.h>

namespace fixmine::pipeline {
namespace {

TEST(DefaultRepositoryName, UrlIsHostAndPathWithoutGit) {
  EXPECT_EQ(DefaultRepositoryName("https://github.com/fmtlib/fmt.git"), "github.com/fmtlib/fmt");
  EXPECT_EQ(DefaultRepositoryName("https://github.com/fmtlib/fmt"), "github.com/fmtlib/fmt");
  EXPECT_EQ(DefaultRepositoryName("https://GitHub.com/fmtlib/fmt/"), "github.com/fmtlib/fmt");
  EXPECT_EQ(DefaultRepositoryName("https://user@gitlab.com/g/sub/p.git?x=1#y"),
            "gitlab.com/g/sub/p");
  EXPECT_EQ(DefaultRepositoryName("http://127.0.0.1:8080/x.git"), "127.0.0.1_8080/x");
  EXPECT_EQ(DefaultRepositoryName("file:///srv/git/p/.git"), "srv/git/p");
  EXPECT_EQ(DefaultRepositoryName("https://h/a/../.b"), "h/a/_../_.b");
  // Forks differ.
  EXPECT_NE(DefaultRepositoryName("https://github.com/a/x"),
            DefaultRepositoryName("https://github.com/b/x"));
}

TEST(DefaultRepositoryName, LocalPathIsItsFolderName) {
  EXPECT_EQ(DefaultRepositoryName("/srv/git/project"), "project");
  EXPECT_EQ(DefaultRepositoryName("/srv/git/project.git"), "project");
  EXPECT_EQ(DefaultRepositoryName("/srv/git/project/.git"), "project");
  EXPECT_EQ(DefaultRepositoryName("repos/r1/"), "r1");
  EXPECT_EQ(DefaultRepositoryName("my repo"), "my_repo");
  EXPECT_EQ(DefaultRepositoryName("."), "");
}

TEST(ValidateRepositoryName, SegmentsOfNameBytes) {
  for (const char* good : {"x", "github.com/fmtlib/fmt", "a_b-c.d", "127.0.0.1_1/x"}) {
    EXPECT_TRUE(ValidateRepositoryName(good).ok()) << good;
  }
  for (const char* bad : {"", "/x", "x/", "a//b", "a/../b", ".x", "-x", "a b", "a/.b"}) {
    absl::Status st = ValidateRepositoryName(bad);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateRepositoryName(std::string(101, 'a')).ok());
  EXPECT_TRUE(ValidateRepositoryName(std::string(100, 'a') + "/" + std::string(100, 'b')).ok());
  std::string long_name =
      std::string(100, 'a') + "/" + std::string(100, 'b') + "/" + std::string(60, 'c');
  EXPECT_FALSE(ValidateRepositoryName(long_name).ok());
  // Every default name that is not empty is valid.
  for (const char* source : {"https://h:1/-a/.git/x", "we!rd", "https://h/a b/c"}) {
    std::string name = DefaultRepositoryName(source);
    EXPECT_TRUE(ValidateRepositoryName(name).ok()) << source << " -> " << name;
  }
}

}  // namespace
}  // namespace fixmine::pipeline
