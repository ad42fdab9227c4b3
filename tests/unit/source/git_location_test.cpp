// classify_git_location(): which git URLs read this machine's files (the server treats them as
// LOCAL sources under --source-root) and which git would hand to a remote helper (refused
// everywhere, docs/security.md).
#include "source/git_fixture.h"

namespace kiln::source::gittest {
namespace {

using Kind = GitLocation::Kind;

TEST(ClassifyGitLocation, RemoteUrls) {
  for (const char* url :
       {"https://github.com/o/r.git", "http://h:8080/r", "git://h/r", "ssh://git@h:22/r.git",
        "git+ssh://h/r", "git@github.com:o/r.git", "h:r.git", "https://h/a::b"}) {
    EXPECT_EQ(classify_git_location(url).kind, Kind::kRemote) << url;
  }
}

TEST(ClassifyGitLocation, LocalPathsAndFileUrls) {
  const std::pair<const char*, const char*> cases[] = {
      {"file:///srv/repo.git", "/srv/repo.git"},
      {"/srv/repo", "/srv/repo"},
      {"/srv/repo/.git", "/srv/repo/.git"},
      {"relative/repo.git", "relative/repo.git"},
      {"./a:b", "./a:b"},  // a '/' before the ':' makes it a path, as git reads it
      {"repo", "repo"},
  };
  for (const auto& [url, path] : cases) {
    const auto at = classify_git_location(url);
    EXPECT_EQ(at.kind, Kind::kLocal) << url;
    EXPECT_EQ(at.path, path) << url;
  }
}

TEST(ClassifyGitLocation, RefusedAddresses) {
  const std::pair<const char*, const char*> cases[] = {
      {"ext::sh -c touch% /tmp/pwned", "uses the ext:: remote helper"},
      {"fd::3", "uses the fd:: remote helper"},
      {"--upload-pack=touch /tmp/pwned", "starts with '-' (git would read it as an option)"},
      {"-u", "starts with '-' (git would read it as an option)"},
      {"ssh://-oProxyCommand=touch%20x/r", "names a host starting with '-'"},
      {"ssh://u@-oProxyCommand=x/r", "names a host starting with '-'"},
      {"-oProxyCommand=x:r", "starts with '-' (git would read it as an option)"},
      {"u@-oProxyCommand=x:r", "names a host starting with '-'"},
      {"ftp://h/r", "uses the ftp:// transport, which Kiln does not allow"},
      {"/srv/repo\nx", "contains a control character"},
      {"", "is empty"},
  };
  for (const auto& [url, reason] : cases) {
    const auto at = classify_git_location(url);
    EXPECT_EQ(at.kind, Kind::kRefused) << url;
    EXPECT_EQ(at.reason, reason) << url;
  }
}

class GitLocationCloneTest : public GitFixture {};

TEST_F(GitLocationCloneTest, RemoteHelpersNeverRun) {
  const fs::path pwned = root_ / "pwned";
  auto req = request("");
  req.url = "ext::sh -c touch% " + pwned.string();
  auto r = clone(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(),
            "invalid git URL \"" + req.url + "\": it uses the ext:: remote helper");
  EXPECT_FALSE(fs::exists(pwned));
}

TEST_F(GitLocationCloneTest, ASubmoduleCannotNameARemoteHelper) {
  // A repository's .gitmodules is the repository author's: git_clone's protocol allow-list
  // (git_run.cpp) must stop an ext:: URL there, where classify_git_location() never looks.
  const fs::path pwned = root_ / "pwned-by-submodule";
  sh("cd origin && printf '[submodule \"sub\"]\\n\\tpath = sub\\n\\turl = ext::sh -c touch%% " +
     pwned.string() + "\\n' > .gitmodules && git update-index --add --cacheinfo 160000," +
     commit_d_ + ",sub && git add .gitmodules && git commit -qm sub");
  auto req = request("");
  req.submodules = true;
  auto r = clone(req);
  EXPECT_FALSE(r);
  EXPECT_FALSE(fs::exists(pwned));
}

}  // namespace
}  // namespace kiln::source::gittest
