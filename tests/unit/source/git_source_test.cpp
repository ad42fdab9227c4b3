// git_clone on real repositories with the real git: versions, depth, submodules, failures and
// the source cache. Clones over git://, HTTP with credentials, cancellation and timeouts are in
// git_remote_test.cpp.
#include "source/git_source.h"

#include "source/git_fixture.h"
#include "source/git_run.h"

namespace kiln::source::gittest {
namespace {

class GitCloneTest : public GitFixture {};

TEST_F(GitCloneTest, DefaultBranchIsCheckedOutOnTheBranch) {
  auto r = clone(request(""));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_d_);
  EXPECT_EQ(r->branch, "main");
  EXPECT_FALSE(r->mirror_used);
  EXPECT_EQ(git_in(root_ / "clone", "branch --show-current"), "main");
  EXPECT_EQ(git_in(root_ / "clone", "config remote.origin.url"), url());
  EXPECT_EQ(log_, "Cloning " + url() + "\nChecked out " + commit_d_ + " (main)\n");
}

TEST_F(GitCloneTest, DefaultBranchFollowsTheRemotesHead) {
  sh("cd origin && git symbolic-ref HEAD refs/heads/feature");
  auto r = clone(request(""));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_c_);
  EXPECT_EQ(r->branch, "feature");
}

TEST_F(GitCloneTest, NamedBranchIsCheckedOutOnThatBranch) {
  auto r = clone(request("feature"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_c_);
  EXPECT_EQ(r->branch, "feature");
  EXPECT_EQ(git_in(root_ / "clone", "branch --show-current"), "feature");
  EXPECT_EQ(git_in(root_ / "clone", "rev-parse --abbrev-ref @{upstream}"), "origin/feature");
}

TEST_F(GitCloneTest, FullBranchRef) {
  auto r = clone(request("refs/heads/feature"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_c_);
  EXPECT_EQ(r->branch, "feature");
}

TEST_F(GitCloneTest, TagIsDetachedAtItsCommit) {
  auto r = clone(request("v1"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, tag_commit_);
  EXPECT_EQ(r->branch, "");
  EXPECT_EQ(git_in(root_ / "clone", "branch --show-current"), "");
  EXPECT_EQ(sh("cat clone/f"), "one");
}

TEST_F(GitCloneTest, FullTagRef) {
  auto r = clone(request("refs/tags/v1"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, tag_commit_);
}

TEST_F(GitCloneTest, FullCommitThatIsNoRefTip) {
  auto r = clone(request(commit_b_));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_b_);
  EXPECT_EQ(r->branch, "");
  EXPECT_EQ(sh("cat clone/f"), "two");
  EXPECT_NE(log_.find("Checked out " + commit_b_ + " (" + commit_b_ + ")"), std::string::npos);
}

TEST_F(GitCloneTest, RefAndCommitChecksOutThatCommitOnTheRef) {
  // CodeBuild's `refs/heads/<branch>^{<full sha>}`: B is on main (A - B - D).
  auto req = request("refs/heads/main^{" + commit_b_ + "}");
  req.depth = 1;  // the ref is fetched with the history that holds the commit
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_b_);
  EXPECT_EQ(r->branch, "main");
  EXPECT_EQ(sh("cat clone/f"), "two");
}

TEST_F(GitCloneTest, RefAndCommitNotOnThatRefIsReferenceNotFound) {
  auto r = clone(request("refs/heads/main^{" + commit_c_ + "}"));  // C is only on feature
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "reference not found");
}

TEST_F(GitCloneTest, ShallowCommitFallsBackWhenTheServerRefusesIds) {
  // Protocol v2 accepts a want of any id; v0 without uploadpack.allow*SHA1InWant refuses it
  // ("Server does not allow request for unadvertised object"). The client picks the protocol,
  // so git runs through a wrapper that forces v0.
  sh("printf '#!/bin/sh\\nexec /usr/bin/git -c protocol.version=0 \"$@\"\\n' > git0 && "
     "chmod +x git0");
  auto req = request(commit_b_);
  req.depth = 1;
  req.git_program = (root_ / "git0").string();
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_b_);
  // The full fetch it fell back to: all of B's history, not a shallow clone.
  EXPECT_EQ(git_in(root_ / "clone", "rev-list --count HEAD"), "2");
  EXPECT_FALSE(fs::exists(root_ / "clone/.git/shallow"));
}

TEST_F(GitCloneTest, AbbreviatedCommit) {
  auto r = clone(request(commit_b_.substr(0, 8)));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_b_);
  EXPECT_EQ(r->branch, "");
}

TEST_F(GitCloneTest, PullRequest) {
  auto r = clone(request("pr/7"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_e_);
  EXPECT_EQ(r->branch, "");
  EXPECT_EQ(sh("cat clone/f"), "pr");
}

TEST_F(GitCloneTest, MergeRequestWhenThereIsNoPullRef) {
  sh("cd origin && git update-ref refs/merge-requests/9/head feature");
  auto r = clone(request("pr/9"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_c_);
}

TEST_F(GitCloneTest, DepthOneIsShallow) {
  auto req = request("main");
  req.depth = 1;
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_d_);
  EXPECT_EQ(git_in(root_ / "clone", "rev-list --count HEAD"), "1");
  EXPECT_TRUE(fs::exists(root_ / "clone/.git/shallow"));
}

TEST_F(GitCloneTest, ShallowCommitById) {
  auto req = request(commit_b_);
  req.depth = 1;
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->commit, commit_b_);
  EXPECT_EQ(git_in(root_ / "clone", "rev-list --count HEAD"), "1");
}

TEST_F(GitCloneTest, FullHistoryByDefault) {
  auto r = clone(request("main"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(git_in(root_ / "clone", "rev-list --count HEAD"), "3");
  EXPECT_FALSE(fs::exists(root_ / "clone/.git/shallow"));
}

TEST_F(GitCloneTest, NestedSubmodules) {
  const std::string file = "file://" + root_.string();
  sh("git init -q leaf && cd leaf && echo leaf > l && git add l && git commit -qm leaf");
  sh("git init -q mid && cd mid && git submodule -q add " + file + "/leaf leaf && " +
     "git commit -qm mid");
  sh("cd origin && git submodule -q add " + file + "/mid mid && git commit -qm sub");
  auto req = request("main");
  req.submodules = true;
  auto r = clone(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(sh("cat clone/mid/leaf/l"), "leaf");

  auto shallow = request("main", "shallow");
  shallow.submodules = true;
  shallow.depth = 1;
  auto s = clone(shallow);
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(sh("cat shallow/mid/leaf/l"), "leaf");
  EXPECT_EQ(git_in(root_ / "shallow/mid", "rev-list --count HEAD"), "1");
}

TEST_F(GitCloneTest, SubmodulesAreLeftOutUnlessAsked) {
  sh("git init -q leaf && cd leaf && echo leaf > l && git add l && git commit -qm leaf");
  sh("cd origin && git submodule -q add file://" + root_.string() +
     "/leaf leaf && "
     "git commit -qm sub");
  auto r = clone(request(""));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(fs::exists(root_ / "clone/leaf/l"));
}

TEST_F(GitCloneTest, MissingRepository) {
  for (const std::string& missing :
       {"file://" + (root_ / "nope").string(), (root_ / "nope").string()}) {
    auto req = request("");
    req.url = missing;
    auto r = clone(req);
    ASSERT_FALSE(r) << missing;
    EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(r.error().message(), "repository not found");
    EXPECT_FALSE(fs::exists(root_ / "clone")) << "a failed clone leaves nothing behind";
  }
}

TEST_F(GitCloneTest, MissingReference) {
  for (const std::string& version : std::vector<std::string>{
           "no-such-branch", "refs/heads/nope", "pr/99", "abcdef0123", std::string(40, 'a')}) {
    auto r = clone(request(version));
    ASSERT_FALSE(r) << version;
    EXPECT_EQ(r.error().code(), ErrorCode::kNotFound) << version;
    EXPECT_EQ(r.error().message(), "reference not found") << version;
  }
}

TEST_F(GitCloneTest, RefusesVersionsGitWouldReadAsOptions) {
  for (const std::string version : {"--upload-pack=touch /tmp/x", "a..b", "x y", "-b"}) {
    auto r = clone(request(version));
    ASSERT_FALSE(r) << version;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << version;
  }
}

TEST_F(GitCloneTest, RefusesANonEmptyDestinationAndKeepsIt) {
  fs::create_directory(root_ / "clone");
  sh("echo mine > clone/keep");
  auto r = clone(request(""));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(fs::exists(root_ / "clone/keep"));
}

TEST_F(GitCloneTest, MirrorIsCreatedThenReused) {
  auto first = request("main", "one");
  first.mirror_dir = root_ / "cache/mirror";
  auto a = clone(first);
  ASSERT_TRUE(a) << a.error().describe();
  EXPECT_FALSE(a->mirror_used);
  EXPECT_EQ(a->commit, commit_d_);
  EXPECT_NE(log_.find("Source cache miss: creating " + (root_ / "cache/mirror").string()),
            std::string::npos)
      << log_;
  EXPECT_EQ(git_in(root_ / "one", "config remote.origin.url"), url());
  EXPECT_EQ(git_in(root_ / "cache/mirror", "rev-parse --is-bare-repository"), "true");

  const std::string added =
      sh("cd origin && echo five > f && git commit -qam F && "
         "git rev-parse HEAD");
  log_.clear();
  auto second = request("", "two");
  second.mirror_dir = root_ / "cache/mirror";
  second.depth = 1;
  auto b = clone(second);
  ASSERT_TRUE(b) << b.error().describe();
  EXPECT_TRUE(b->mirror_used);
  EXPECT_EQ(b->commit, added);
  EXPECT_EQ(b->branch, "main");
  EXPECT_NE(
      log_.find("Source cache hit: fetching changes into " + (root_ / "cache/mirror").string()),
      std::string::npos)
      << log_;
  EXPECT_EQ(git_in(root_ / "two", "rev-list --count HEAD"), "1");
  EXPECT_EQ(git_in(root_ / "two", "config remote.origin.url"), url());
  // The mirror keeps every ref, pull requests included.
  auto pr = request("pr/7", "three");
  pr.mirror_dir = root_ / "cache/mirror";
  auto c = clone(pr);
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->commit, commit_e_);
}

TEST_F(GitCloneTest, FailedFirstMirrorFetchLeavesNoMirror) {
  auto req = request("");
  req.url = "file://" + (root_ / "nope").string();
  req.mirror_dir = root_ / "mirror";
  auto r = clone(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "repository not found");
  EXPECT_FALSE(fs::exists(root_ / "mirror"));
}

TEST_F(GitCloneTest, HomeScratchFolderIsRemoved) {
  ASSERT_TRUE(clone(request("")));
  for (const auto& e : fs::directory_iterator(root_)) {
    EXPECT_EQ(e.path().filename().string().find(".kiln-git-home"), std::string::npos);
  }
}

TEST(LooksLikeGitUrl, TellsUrlsFromFolders) {
  for (const char* yes :
       {"https://github.com/a/b", "http://h/x", "git://h/x", "ssh://git@h/x", "git@github.com:a/b",
        "file:///srv/x", "/srv/repo.git", "repo.git", "repo.git/"}) {
    EXPECT_TRUE(looks_like_git_url(yes)) << yes;
  }
  for (const char* no : {"/srv/project", ".", "src", "./app", "a@b/c:d", ""}) {
    EXPECT_FALSE(looks_like_git_url(no)) << no;
  }
}

// Messages of servers the tests cannot run (GitHub, GitLab, ssh), as git prints them.
TEST(ClassifyGitFailure, ServerMessages) {
  exec::CancelToken cancel = exec::CancelToken::create().value();
  GitSession session({.token = "s3cret"}, cancel);
  auto classify = [&](const std::string& output) {
    const Error e = classify_git_failure(GitOutput{128, output}, session);
    return std::string(to_string(e.code())) + ": " + e.message();
  };
  const std::string auth =
      std::string(to_string(ErrorCode::kPermission)) + ": authentication required";
  const std::string repo = std::string(to_string(ErrorCode::kNotFound)) + ": repository not found";
  const std::string ref = std::string(to_string(ErrorCode::kNotFound)) + ": reference not found";
  EXPECT_EQ(classify("remote: Repository not found.\nfatal: repository "
                     "'https://github.com/a/b/' not found\n"),
            repo);
  EXPECT_EQ(classify("ERROR: Repository not found.\nfatal: Could not read from remote "
                     "repository.\n"),
            repo);
  EXPECT_EQ(classify("fatal: unable to access 'https://h/x/': The requested URL returned "
                     "error: 404\n"),
            repo);
  EXPECT_EQ(classify("fatal: could not read Username for 'https://github.com': terminal "
                     "prompts disabled\n"),
            auth);
  EXPECT_EQ(classify("remote: HTTP Basic: Access denied\nfatal: Authentication failed for "
                     "'https://gitlab.com/a/b.git/'\n"),
            auth);
  EXPECT_EQ(classify("fatal: unable to access 'https://h/x/': The requested URL returned "
                     "error: 403\n"),
            auth);
  EXPECT_EQ(classify("git@github.com: Permission denied (publickey).\n"), auth);
  EXPECT_EQ(classify("fatal: couldn't find remote ref refs/heads/x\n"), ref);
  EXPECT_EQ(classify("error: pathspec 'x' did not match any file(s) known to git\n"), ref);
  EXPECT_EQ(classify("warning: x\nfatal: unable to access 'https://h/': Could not resolve "
                     "host: h\n\n"),
            std::string(to_string(ErrorCode::kProcess)) +
                ": fatal: unable to access 'https://h/': Could not resolve host: h");
  // The last line is shown as it is, but never with the token.
  EXPECT_EQ(classify("fatal: bad thing s3cret happened\n"),
            std::string(to_string(ErrorCode::kProcess)) + ": fatal: bad thing **** happened");
  EXPECT_EQ(classify(""),
            std::string(to_string(ErrorCode::kProcess)) + ": git exited with status 128");
}

TEST(GitUrls, UserinfoAndOrigin) {
  EXPECT_EQ(strip_userinfo("https://u:t@h.com:8443/a/b.git"), "https://h.com:8443/a/b.git");
  EXPECT_EQ(strip_userinfo("ssh://git@h/a"), "ssh://h/a");
  EXPECT_EQ(strip_userinfo("https://h/a@b"), "https://h/a@b");
  EXPECT_EQ(strip_userinfo("git@h:a/b"), "git@h:a/b");
  EXPECT_EQ(http_userinfo("https://u%40x:t%2Fy@h/a"),
            (std::pair<std::string, std::string>{"u@x", "t/y"}));
  EXPECT_EQ(http_userinfo("ssh://u:t@h/a"), (std::pair<std::string, std::string>{}));
  EXPECT_EQ(http_origin("HTTPS://u:t@Host:8443/a/b"), "https://Host:8443");
  EXPECT_EQ(http_origin("git://h/a"), "");
}

}  // namespace
}  // namespace kiln::source::gittest
