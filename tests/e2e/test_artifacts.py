"""Artifacts (docs/reference/codebuild-semantics.md §5), end to end: zips, folders, every buildspec key."""
import hashlib
import os

TREE = {
    "my-build-1/my-file-1.txt": "1",
    "my-build-2/my-file-2.txt": "2",
    "my-build-2/my-subdirectory/my-file-3.txt": "3",
}


def build(kiln, artifacts_yaml, *args, files=TREE):
    return kiln.build("version: 0.2\nphases:\n  build:\n    commands: [echo]\nartifacts:\n"
                      + artifacts_yaml, *args, files=files)


def test_doc_example_base_directory_and_single_star(kiln):
    r = build(kiln, "  base-directory: my-build-2\n  files: ['*/my-file-3.txt']\n")
    assert r.status == "SUCCEEDED", r.out
    assert r.zip_names() == ["my-subdirectory/my-file-3.txt"]


def test_doc_example_base_directory_glob_with_discard_paths(kiln):
    r = build(kiln, "  base-directory: 'my-build*'\n  files: ['**/*']\n  discard-paths: yes\n")
    assert r.zip_names() == ["my-file-1.txt", "my-file-2.txt", "my-file-3.txt"]


def test_double_star_crosses_directories(kiln):
    r = build(kiln, "  files: ['**/*.txt']\n")
    assert r.zip_names() == sorted(TREE)


def test_single_star_does_not_cross_slash(kiln):
    r = build(kiln, "  files: ['my-build-2/*']\n")
    assert r.zip_names() == ["my-build-2/my-file-2.txt"]


def test_exclude_paths(kiln):
    r = build(kiln, "  files: ['**/*']\n  exclude-paths: ['**/my-subdirectory/**/*', buildspec.yml]\n")
    assert r.zip_names() == ["my-build-1/my-file-1.txt", "my-build-2/my-file-2.txt"]


def test_name_is_shell_expanded_and_slashes_make_folders(kiln):
    r = build(kiln, "  files: ['my-build-1/*']\n  name: builds/$CODEBUILD_BUILD_NUMBER/out-$(echo x)\n")
    assert r.status == "SUCCEEDED", r.out
    path = r.artifacts / "builds" / "1" / "out-x.zip"
    assert path.exists()
    assert r.record["artifacts"]["location"] == str(path)


def test_name_cannot_escape_the_artifacts_folder(kiln):
    r = build(kiln, "  files: ['my-build-1/*']\n  name: ../../escaped\n")
    assert r.status == "FAILED"
    assert r.phase("UPLOAD_ARTIFACTS")["phaseStatus"] == "FAILED"
    assert not (r.artifacts.parent.parent / "escaped.zip").exists()


def test_record_carries_hashes_of_the_zip(kiln):
    r = build(kiln, "  files: ['**/*']\n")
    data = (r.artifacts / "artifacts.zip").read_bytes()
    a = r.record["artifacts"]
    assert a["sha256sum"] == hashlib.sha256(data).hexdigest()
    assert a["md5sum"] == hashlib.md5(data).hexdigest()


def test_secondary_artifacts(kiln):
    r = build(kiln, "  files: ['my-build-1/*']\n  secondary-artifacts:\n    second:\n"
                    "      base-directory: my-build-2\n      files: ['**/*']\n")
    assert r.zip_names("second.zip") == ["my-file-2.txt", "my-subdirectory/my-file-3.txt"]
    sec = r.record["secondaryArtifacts"]
    assert len(sec) == 1 and sec[0]["artifactIdentifier"] == "second"
    assert sec[0]["location"] == str(r.artifacts / "second.zip")


def test_secondary_without_primary_files_is_a_client_error(kiln):
    r = build(kiln, "  secondary-artifacts:\n    second:\n      files: ['**/*']\n")
    assert r.status == "FAILED"
    assert r.context("UPLOAD_ARTIFACTS") == ("CLIENT_ERROR",
                                             "no definition for primary artifacts in buildspec")


def test_no_match_fails_with_client_error(kiln):
    r = build(kiln, "  files: ['nothing/here/*']\n")
    assert r.code == 1
    assert r.context("UPLOAD_ARTIFACTS") == ("CLIENT_ERROR", "no matching artifact paths found")
    assert "Skipping invalid file path nothing/here/*" in r.out


def test_packaging_none_writes_folders(kiln):
    r = build(kiln, "  files: ['my-build-2/**/*']\n", "--packaging", "NONE")
    out = r.artifacts / "artifacts"
    assert (out / "my-build-2" / "my-subdirectory" / "my-file-3.txt").read_text() == "3"


def test_files_made_by_the_build_are_collected(kiln):
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - mkdir -p dist && echo built > dist/app.txt
        artifacts:
          files: ['dist/*']
        """)
    assert r.zip_read("dist/app.txt") == "built\n"


def test_enable_symlinks_keeps_links(kiln):
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands: [echo]\nartifacts:\n"
                     "  files: ['d/*']\n  enable-symlinks: yes\n", {"d/real.txt": "r"})
    os.symlink("real.txt", p / "d" / "link.txt")
    r = kiln.run(p)
    import zipfile
    with zipfile.ZipFile(r.artifacts / "artifacts.zip") as z:
        info = z.getinfo("d/link.txt")
        assert (info.external_attr >> 16) & 0o170000 == 0o120000  # S_IFLNK
        assert z.read(info) == b"real.txt"


def test_symlink_out_of_the_source_is_never_followed(kiln):
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands: [echo]\nartifacts:\n"
                     "  files: ['**/*']\n", {"ok.txt": "ok"})
    os.symlink("/etc/passwd", p / "passwd")
    r = kiln.run(p)
    names = r.zip_names() if (r.artifacts / "artifacts.zip").exists() else []
    for n in names:
        if n == "passwd":
            assert "root:" not in r.zip_read("passwd")


def test_base_directory_from_a_secondary_source_variable(kiln):
    other = kiln.project(None, {"dist/lib.txt": "lib"}, name="other")
    p = kiln.project("version: 0.2\nphases:\n  build:\n    commands: [echo]\nartifacts:\n"
                     "  base-directory: $CODEBUILD_SRC_DIR_lib/dist\n  files: ['**/*']\n")
    for extra in ([], ["--in-place"]):
        r = kiln.run(p, "--secondary-source", f"lib={other}", *extra)
        assert r.status == "SUCCEEDED", r.out
        assert r.zip_names() == ["lib.txt"]
