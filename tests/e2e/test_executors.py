"""The three executors end to end (docs/executors.md): `kiln run --executor process|sandbox|docker`.

- parity: the same buildspecs give the same build records on the host, in the sandbox and in
  Docker, once what legitimately differs (ids, times, paths under CODEBUILD_SRC_DIR, the image)
  is normalised;
- isolation: a sandboxed or containerised build cannot see the host's files, processes, the
  image store, Kiln's build folders or another build, cannot change the image, and gets the
  network it asked for;
- limits: the compute type's memory and CPU limits are applied, and an out-of-memory kill is
  reported as such;
- cleanup: no container, cgroup or overlay mount outlives a build, however it ends, and what a
  kill -9 leaves is removed by the next `kiln run`;
- provisioning failures, CodeBuild image names, runtime-versions, and run-as.

These tests choose their executor themselves (KILN_E2E_EXECUTOR does not apply). The image store
is $KILN_IMAGE_DIR and must hold kiln/minimal (kiln/standard is optional). A missing bwrap,
image or Docker daemon skips the tests that need it, unless KILN_REQUIRE_EXECUTORS=1 (CI), which
makes it a failure.
"""
import concurrent.futures
import glob
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import zipfile

import pytest

IMAGE_DIR = os.environ.get("KILN_IMAGE_DIR", "")
REQUIRE = os.environ.get("KILN_REQUIRE_EXECUTORS") == "1"
DOCKER_SOCK = "/var/run/docker.sock"
MINIMAL = "kiln/minimal"
CONTAINERS = ["sandbox", "docker"]
ALL = ["process", "sandbox", "docker"]


# ---------------------------------------------------------------------------------------------
# Prerequisites


def _store_has(name, what="rootfs"):
    return bool(IMAGE_DIR) and (pathlib.Path(IMAGE_DIR) / name.replace("/", "_") / what).exists()


def _docker_ping():
    try:
        status, _ = docker_api("GET", "/_ping")
        return status == 200
    except OSError:
        return False


def missing_prerequisite(executor):
    """Why `executor` cannot run kiln/minimal builds here, or None."""
    if executor == "process":
        return None
    if not IMAGE_DIR:
        return "KILN_IMAGE_DIR is not set (the image store with kiln/minimal)"
    if executor == "sandbox":
        if shutil.which("bwrap") is None:
            return "bwrap (bubblewrap) is not installed"
        if not _store_has(MINIMAL, "rootfs"):
            return f"kiln/minimal is not in the image store {IMAGE_DIR} (kiln image build kiln/minimal)"
        return None
    if executor == "docker":
        if not os.path.exists(DOCKER_SOCK):
            return f"no Docker daemon: {DOCKER_SOCK} is absent"
        if not _docker_ping():
            return f"the Docker daemon at {DOCKER_SOCK} does not answer /_ping"
        if not _store_has(MINIMAL, "image.tar"):
            return f"kiln/minimal is not in the image store {IMAGE_DIR} (kiln image build kiln/minimal)"
        return None
    raise ValueError(executor)


def require(executor):
    why = missing_prerequisite(executor)
    if why is None:
        return
    if REQUIRE:
        pytest.fail(f"{executor} executor: {why} (KILN_REQUIRE_EXECUTORS=1)", pytrace=False)
    pytest.skip(f"{executor} executor: {why}")


_warmed = set()


def warm_up(kiln, executor):
    """Runs one build on `executor` first, once per session: the docker executor imports
    kiln/minimal into the daemon on first use (about a second, more when several builds start
    at once), and a --timeout counts from the start of the build, provisioning included."""
    if executor != "docker" or executor in _warmed:
        return
    k = sub_kiln(kiln, "warm-up")
    r = k.run(k.project("version: 0.2\nphases:\n  build:\n    commands: [true]\n"),
              *exe_args(executor))
    assert r.status == "SUCCEEDED", r.out + r.err
    _warmed.add(executor)


@pytest.fixture(params=CONTAINERS)
def container(request, kiln):
    """The name of a container executor whose prerequisites are met."""
    require(request.param)
    warm_up(kiln, request.param)
    return request.param


# ---------------------------------------------------------------------------------------------
# Host-side probes: Docker's API, cgroups, mounts, processes


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=20):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def docker_api(method, path):
    conn = _UnixHTTPConnection(DOCKER_SOCK)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(body) if body else None
    except ValueError:
        return resp.status, body.decode(errors="replace")


def kiln_containers(owner_pid=None):
    """Containers (running or not) labelled kiln.managed, of one kiln process if given."""
    labels = ["kiln.managed"]
    if owner_pid is not None:
        labels.append(f"kiln.owner-pid={owner_pid}")
    q = urllib.parse.quote(json.dumps({"label": labels}))
    status, body = docker_api("GET", f"/containers/json?all=1&filters={q}")
    assert status == 200, body
    return body


def cgroup_dirs(pid):
    """The build cgroups a kiln process `pid` made: kiln/<pid>-* in every hierarchy (v1, the
    hybrid's unified mount, or v2's single hierarchy)."""
    return sorted(glob.glob(f"/sys/fs/cgroup/*/kiln/{pid}-*") +
                  glob.glob(f"/sys/fs/cgroup/kiln/{pid}-*"))


def cgroup_v2():
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def overlay_mounts():
    """Mount points of the host's overlay mounts."""
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ", 1)[0] == "overlay":
                out.add(left.split()[4])
    return out


def merged_dirs_of_other_containers(our_pids):
    """The overlay mount points of containers that are not ours (another engineer's or another
    suite's), which may come and go while a test runs."""
    status, body = docker_api("GET", "/containers/json?all=1")
    if status != 200:
        return set()
    dirs = set()
    for c in body:
        if c.get("Labels", {}).get("kiln.owner-pid") in {str(p) for p in our_pids}:
            continue
        st, info = docker_api("GET", f"/containers/{c['Id']}/json")
        if st == 200:
            merged = (info.get("GraphDriver") or {}).get("Data", {}) or {}
            if merged.get("MergedDir"):
                dirs.add(merged["MergedDir"])
    return dirs


def sleepers(arg):
    """Pids of `sleep ARG` processes (argv exactly that), wherever they run."""
    found = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if [a.decode(errors="replace") for a in argv] == ["sleep", arg]:
            found.append(int(d[6:]))
    return found


def kill_sleepers(arg):
    for pid in sleepers(arg):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(pred, seconds=10, step=0.05):
    deadline = time.time() + seconds
    while True:
        v = pred()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


def unique(prefix="kt"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_sleep():
    """A `sleep` argument no other process has: 1000 plus a random fraction of a second."""
    return f"1000.{uuid.uuid4().int % 10**9:09d}"


# ---------------------------------------------------------------------------------------------
# Running kiln


def conftest_module(kiln):
    return sys.modules[type(kiln).__module__]


def sub_kiln(kiln, name):
    """A Kiln of its own (own project, artifact and record folders) for a concurrent run."""
    d = kiln.tmp / name
    d.mkdir(parents=True, exist_ok=True)
    return type(kiln)(d)


def exe_args(executor, image=MINIMAL, *more):
    args = ["--executor", executor]
    if executor != "process":
        args += ["-i", image]
    return args + list(more)


class Background:
    """`kiln run` in the background, its output collected line by line."""
    count = 0

    def __init__(self, kiln, project, *args, env=None):
        Background.count += 1
        n = Background.count
        self.kiln = kiln
        self.project = project
        self.record = kiln.tmp / f"bg-record{n}.json"
        self.artifacts = kiln.tmp / f"bg-artifacts{n}"
        self.cmd = [kiln.bin, "run", "-s", str(project), "-a", str(self.artifacts), "--no-color",
                    "--json", str(self.record), *args]
        run_env = dict(os.environ)
        run_env.update(env or {})
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=run_env)
        self.pid = self.proc.pid
        self.out, self.err = [], []
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._read, args=(s, buf), daemon=True)
                        for s, buf in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    def _read(self, stream, buf):
        for line in stream:
            with self.cond:
                buf.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "".join(self.out)

    def wait_for(self, needle, seconds=30):
        """True once a stdout line contains `needle`; False on timeout or exit."""
        deadline = time.time() + seconds
        with self.cond:
            while True:
                if any(needle in l for l in self.out):
                    return True
                if self.proc.poll() is not None and not any(t.is_alive() for t in self.threads):
                    return False
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))

    def finish(self, seconds=60):
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for t in self.threads:
            t.join(5)
        done = subprocess.CompletedProcess(self.cmd, self.proc.returncode, "".join(self.out),
                                           "".join(self.err))
        return conftest_module(self.kiln).Result(done, self.project, self.record, self.artifacts)


@pytest.fixture
def background():
    """Starts background kiln runs; any still running at the end of the test is killed."""
    runs = []

    def start(kiln, project, *args, env=None):
        b = Background(kiln, project, *args, env=env)
        runs.append(b)
        return b

    yield start
    for b in runs:
        if b.proc.poll() is None:
            b.proc.send_signal(signal.SIGINT)
            try:
                b.proc.wait(10)
            except subprocess.TimeoutExpired:
                b.proc.kill()
                b.proc.wait()


def src_dir_of(result_text):
    m = re.search(r"CODEBUILD_SRC_DIR=(\S+)", result_text)
    assert m, result_text
    return m.group(1)


def kept_build_root_of(r):
    """The host folder of a build run with --keep-workspace."""
    m = re.search(r"workspace kept at (\S+)", r.err)
    assert m, r.out + r.err
    return m.group(1)


# ---------------------------------------------------------------------------------------------
# 1. Same fixtures, same records

STATE_SPEC = """\
version: 0.2
env:
  variables:
    GREETING: hello
  exported-variables: [STATE, PLAIN, WHERE, LOOP, LIST, WEIRD, AFTER_POST, NEVER_SET]
phases:
  install:
    commands:
      - mkdir -p out/deep/er && cd out
      - export STATE=installed
      - PLAIN="two words"
      - |
        WEIRD="it's \\"quoted\\" \\$x
        and a second line"
  pre_build:
    commands:
      - cd deep
      - WHERE=$(pwd | sed "s|^$CODEBUILD_SRC_DIR|SRC|")
  build:
    commands:
      - cd er && echo "$GREETING $STATE $PLAIN" > greeting.txt
      - for LOOP in a b c; do echo $LOOP >> loop.txt; done
      - LIST=$(tr '\\n' , < loop.txt)
      - mkdir -p "$CODEBUILD_SRC_DIR/dist/a/b"
      - printf 'one\\n' > "$CODEBUILD_SRC_DIR/dist/a/b/one.txt"
      - cp greeting.txt loop.txt "$CODEBUILD_SRC_DIR/dist/a/"
      - printf '%s' "$WEIRD" > "$CODEBUILD_SRC_DIR/dist/weird.txt"
  post_build:
    commands:
      - STATE="$STATE+post"
      - pwd | sed "s|^$CODEBUILD_SRC_DIR|SRC|" > "$CODEBUILD_SRC_DIR/dist/post-pwd.txt"
      - AFTER_POST=$(cat "$CODEBUILD_SRC_DIR/src-file.txt" | sed 's/source/SOURCE/')
artifacts:
  base-directory: dist
  files: ['**/*']
  secondary-artifacts:
    flat:
      base-directory: dist
      files: ['a/**/*']
      discard-paths: yes
    tree:
      files: ['out/**/*', 'src-file.txt']
"""

FAIL_SPEC = """\
version: 0.2
env:
  exported-variables: [SEEN, SUCCEEDING, LAST]
phases:
  install:
    on-failure: CONTINUE
    commands:
      - SEEN=install
      - grep -q zzz-absent src-file.txt
      - SEEN="$SEEN,not-reached"
    finally:
      - SEEN="$SEEN,install-finally"
  pre_build:
    commands:
      - SEEN="$SEEN,pre_build"
  build:
    commands:
      - SEEN="$SEEN,build"
      - sh -c 'echo failing; exit 7'
      - SEEN="$SEEN,not-reached"
    finally:
      - SEEN="$SEEN,build-finally"; LAST=$CODEBUILD_LAST_EXIT
      - mkdir -p out/in && echo finally > out/in/finally.txt
  post_build:
    commands:
      - SEEN="$SEEN,post_build"; SUCCEEDING=$CODEBUILD_BUILD_SUCCEEDING
      - echo post > out/post.txt
artifacts:
  files: ['out/**/*']
  discard-paths: yes
"""

TIMEOUT_SPEC = """\
version: 0.2
env:
  exported-variables: [BEFORE]
phases:
  install:
    commands:
      - BEFORE=set
  build:
    commands:
      - echo sleeping
      - sleep 30
      - echo never
  post_build:
    commands:
      - echo post
"""

PARITY = {
    "state": (STATE_SPEC, []),
    "failure": (FAIL_SPEC, []),
    "timeout": (TIMEOUT_SPEC, ["--timeout", "0.05"]),
}
PARITY_FILES = {"src-file.txt": "from the source\n"}


def _zips(r):
    """{zip name: {member: (unix mode, content)}} of a result's artifact folder."""
    out = {}
    if not r.artifacts.exists():
        return out
    for z in sorted(r.artifacts.glob("*.zip")):
        with zipfile.ZipFile(z) as f:
            out[z.name] = {i.filename: (oct(i.external_attr >> 16),
                                        f.read(i.filename).decode(errors="replace"))
                           for i in sorted(f.infolist(), key=lambda i: i.filename)}
    return out


def normalise(record, src_dir):
    """The record with what differs between executors and runs replaced by placeholders."""
    rec = json.loads(json.dumps(record).replace(src_dir, "<SRC>"))
    for k in ("id", "arn", "startTime", "endTime", "buildNumber", "logs"):
        rec.pop(k, None)
    rec["environment"].pop("image", None)
    rec["environment"].pop("type", None)
    # A zip's digests cover its members' times, which differ from run to run; the members
    # themselves are compared separately.
    for a in [rec.get("artifacts", {})] + rec.get("secondaryArtifacts", []):
        a.pop("md5sum", None)
        a.pop("sha256sum", None)
    rec.get("artifacts", {}).pop("location", None)
    rec.get("source", {}).pop("location", None)  # each run has its own copy of the project
    for a in rec.get("secondaryArtifacts", []):
        a.pop("location", None)
    for p in rec["phases"]:
        for k in ("startTime", "endTime", "durationInSeconds"):
            p.pop(k, None)
    return rec


def _run_parity(kiln, name, executor):
    spec, extra = PARITY[name]
    k = sub_kiln(kiln, f"{name}-{executor}")
    r = k.run(k.project(spec, PARITY_FILES, name="proj"), *exe_args(executor), *extra)
    assert r.record is not None, f"{name} on {executor}: no record\n{r.out}\n{r.err}"
    return r


def test_same_buildspecs_give_the_same_records_on_every_executor(kiln):
    for executor in ALL:
        require(executor)
        warm_up(kiln, executor)
    jobs = [(name, ex) for name in PARITY for ex in ALL]
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        futures = {job: pool.submit(_run_parity, kiln, *job) for job in jobs}
        results = {job: f.result() for job, f in futures.items()}

    # The reference: the process executor does what the buildspecs say.
    state = results[("state", "process")]
    assert state.status == "SUCCEEDED", state.out
    exported = {v["name"]: v["value"] for v in state.record["exportedEnvironmentVariables"]}
    assert exported == {
        "STATE": "installed+post", "PLAIN": "two words", "WHERE": "SRC/out/deep", "LOOP": "c",
        "LIST": "a,b,c,", "WEIRD": "it's \"quoted\" $x\nand a second line",
        "AFTER_POST": "from the SOURCE", "NEVER_SET": ""}, state.out
    zips = _zips(state)
    assert sorted(zips) == ["artifacts.zip", "flat.zip", "tree.zip"]
    assert zips["artifacts.zip"]["a/greeting.txt"][1] == "hello installed two words\n"
    assert zips["artifacts.zip"]["post-pwd.txt"][1] == "SRC/out/deep/er\n"
    assert zips["artifacts.zip"]["weird.txt"][1] == "it's \"quoted\" $x\nand a second line"
    assert sorted(zips["flat.zip"]) == ["greeting.txt", "loop.txt", "one.txt"]
    assert "src-file.txt" in zips["tree.zip"] and "out/deep/er/loop.txt" in zips["tree.zip"]

    failure = results[("failure", "process")]
    assert failure.status == "FAILED"
    assert failure.phase("INSTALL")["phaseStatus"] == "FAILED"
    assert failure.phase("BUILD")["phaseStatus"] == "FAILED"
    assert failure.context("BUILD") == (
        "COMMAND_EXECUTION_ERROR",
        "Error while executing command: sh -c 'echo failing; exit 7'. Reason: exit status 7")
    assert {v["name"]: v["value"] for v in failure.record["exportedEnvironmentVariables"]} == {
        "SEEN": "install,install-finally,pre_build,build,build-finally,post_build",
        "SUCCEEDING": "0", "LAST": "7"}
    assert sorted(_zips(failure)["artifacts.zip"]) == ["finally.txt", "post.txt"]

    timeout = results[("timeout", "process")]
    assert timeout.status == "TIMED_OUT"
    assert timeout.phase("BUILD")["phaseStatus"] == "TIMED_OUT"

    for name in PARITY:
        ref = results[(name, "process")]
        ref_norm = normalise(ref.record, src_dir_of(ref.out))
        for ex in CONTAINERS:
            r = results[(name, ex)]
            where = f"{name} on {ex}"
            src = src_dir_of(r.out)
            assert src.startswith("/codebuild/output/src") and src.endswith("/src"), where
            norm = normalise(r.record, src)
            # The parts the brief names, one by one for readable failures, then everything.
            assert r.status == ref.status, f"{where}\n{r.out}"
            assert [(p["phaseType"], p.get("phaseStatus"), p.get("contexts")) for p in norm["phases"]] \
                == [(p["phaseType"], p.get("phaseStatus"), p.get("contexts")) for p in ref_norm["phases"]], \
                f"{where}\n{r.out}"
            assert norm["exportedEnvironmentVariables"] == ref_norm["exportedEnvironmentVariables"], where
            assert _zips(r) == _zips(ref), where
            assert norm == ref_norm, where


# ---------------------------------------------------------------------------------------------
# 2. Isolation


def lines_with(prefix, text):
    """The values of output lines `PREFIX<value>` (never the `Running command` log lines)."""
    return [l[len(prefix):] for l in text.splitlines() if l.startswith(prefix)]


def test_build_cannot_read_host_files(kiln, container, tmp_path):
    marker = tmp_path / f"{unique('host-marker')}.txt"
    secret = unique("secret")
    marker.write_text(secret + "\n")
    root = pathlib.Path(__file__).resolve().parents[2]  # the repository, e.g. /work/main
    with open("/proc/sys/kernel/hostname") as f:
        host_name = f.read().strip()
    candidates = [str(marker), str(tmp_path), str(root), str(root / "tests" / "e2e"),
                  os.path.dirname(kiln.bin)]
    r = kiln.build(f"""\
        version: 0.2
        phases:
          build:
            commands:
              - for p in {' '.join(candidates)}; do if [ -e "$p" ]; then echo "VISIBLE:$p"; fi; done
              - cat {marker} 2>/dev/null | sed 's/^/READ:/' || true
              - echo "HOSTNAME:$(cat /proc/sys/kernel/hostname)"
              - echo "CHECKED:$(cat /etc/debian_version)"
        """, *exe_args(container))
    assert r.status == "SUCCEEDED", r.out
    assert lines_with("VISIBLE:", r.out) == []
    assert lines_with("READ:", r.out) == [] and secret not in r.out
    names = lines_with("HOSTNAME:", r.out)
    assert len(names) == 1 and names[0] and names[0] != host_name, r.out
    assert len(lines_with("CHECKED:", r.out)) == 1  # the commands ran, in the image
    # The same check on the host does see them: the probe itself works.
    assert all(os.path.exists(p) for p in candidates)


def test_build_cannot_see_host_processes(kiln, container):
    token = unique_sleep()
    host_sleep = subprocess.Popen(["sleep", token])
    try:
        assert wait_until(lambda: sleepers(token), 5)
        r = kiln.build("""\
            version: 0.2
            phases:
              build:
                commands:
                  - for f in /proc/[0-9]*/cmdline; do printf 'PROC:'; tr '\\0' ' ' < "$f"; echo; done
            """, *exe_args(container))
        assert host_sleep.poll() is None  # it ran during the whole build
    finally:
        host_sleep.kill()
        host_sleep.wait()
    assert r.status == "SUCCEEDED", r.out
    procs = lines_with("PROC:", r.out)
    assert any("kiln-agent" in p for p in procs), r.out  # the build's own processes are listed
    assert not [p for p in procs if token in p], r.out
    assert len(procs) < 20, r.out  # only the build's own handful, not the host's hundreds


def test_build_cannot_see_another_build_or_kilns_folders(kiln, container, background):
    """Build A writes a marker into its CODEBUILD_SRC_DIR and sleeps; build B, running at the
    same time, looks for it in /codebuild/output and /tmp and lists /codebuild/output."""
    a_marker, b_marker = unique("kiln-marker-a"), unique("kiln-marker-b")
    token = unique_sleep()
    ka, kb = sub_kiln(kiln, "a"), sub_kiln(kiln, "b")
    a = background(ka, ka.project(f"""\
        version: 0.2
        phases:
          build:
            commands:
              - echo {a_marker} > {a_marker}.txt && cp {a_marker}.txt /tmp/
              - sleep {token} || true
        """), *exe_args(container))
    try:
        assert a.wait_for(f"Running command sleep {token}"), a.text()
        assert wait_until(lambda: sleepers(token), 10), a.text()
        data_dirs = [d for d in (os.path.expanduser("~/.local/share/kiln"),
                                 os.path.expanduser("~/.cache/kiln"), IMAGE_DIR)
                     if d and os.path.exists(d)]
        b = kb.build(f"""\
            version: 0.2
            phases:
              build:
                commands:
                  - echo {b_marker} > {b_marker}.txt
                  - find /codebuild/output /tmp -name 'kiln-marker-*' | sed 's/^/FOUND:/'
                  - grep -rls kiln-marker- /codebuild/output /tmp | sed 's/^/GREP:/' || true
                  - ls -a /codebuild/output | sed 's/^/LS:/'
                  - for d in {' '.join(data_dirs) or '/nonexistent'} /tmp/kiln-build-*; do [ -e "$d" ] && echo "VISIBLE:$d"; done; true
            """, *exe_args(container))
        assert a.proc.poll() is None, "build A ended before build B looked: " + a.text()
    finally:
        kill_sleepers(token)
    ra = a.finish()
    assert ra.status == "SUCCEEDED", ra.out
    assert b.status == "SUCCEEDED", b.out
    a_src = src_dir_of(ra.out)
    b_src = src_dir_of(b.out)
    a_root, b_root = os.path.dirname(a_src), os.path.dirname(b_src)
    assert a_root != b_root
    found = lines_with("FOUND:", b.out)
    assert found == [f"{b_src}/{b_marker}.txt"], b.out  # its own marker only
    assert a_marker not in "".join(lines_with("GREP:", b.out)), b.out
    listed = lines_with("LS:", b.out)
    assert os.path.basename(b_root) in listed, b.out
    assert os.path.basename(a_root) not in listed, b.out
    assert not [n for n in listed if n.startswith("src") and n != os.path.basename(b_root)], b.out
    assert lines_with("VISIBLE:", b.out) == [], b.out


def test_build_cannot_see_the_image_store_or_build_folders(kiln, container):
    r = kiln.build(f"""\
        version: 0.2
        phases:
          build:
            commands:
              - env | sed 's/^/ENV:/'
              - for d in {IMAGE_DIR} {IMAGE_DIR}/kiln_minimal/rootfs /tmp/kiln-build-*; do [ -e "$d" ] && echo "VISIBLE:$d"; done; true
              - echo "SEEN-SRC:$CODEBUILD_SRC_DIR"
        """, *exe_args(container), "--keep-workspace")
    host_root = kept_build_root_of(r)
    try:
        assert r.status == "SUCCEEDED", r.out
        # The build's folder was on the host under that name (kept, so this can be checked).
        assert os.path.isdir(host_root) and os.path.basename(host_root).startswith("kiln-build-")
        assert os.path.isdir(os.path.join(IMAGE_DIR, "kiln_minimal", "rootfs"))
        assert lines_with("VISIBLE:", r.out) == [], r.out
        env = lines_with("ENV:", r.out)
        assert any(e.startswith("CODEBUILD_SRC_DIR=") for e in env), r.out
        assert not [e for e in env if host_root in e or IMAGE_DIR in e], r.out
        assert lines_with("SEEN-SRC:", r.out)[0].startswith("/codebuild/output/src"), r.out
    finally:
        shutil.rmtree(host_root, ignore_errors=True)


def test_writes_to_the_image_do_not_change_it(kiln, container):
    name = f"/etc/{unique('kiln-test-marker')}"
    store_rootfs = pathlib.Path(IMAGE_DIR) / "kiln_minimal" / "rootfs"
    first = kiln.build(f"""\
        version: 0.2
        phases:
          build:
            commands:
              # Only inside a build environment: this must never run on the host.
              - |
                [ -x /codebuild/bin/kiln-agent ] || {{ echo "not in a build environment"; exit 99; }}
                echo x > {name} && cat {name}
                rm /etc/debian_version && echo removed
                echo changed >> /etc/hostname
        """, *exe_args(container))
    assert first.status == "SUCCEEDED", first.out
    assert "\nx\nremoved\n" in first.out  # the build saw its own changes
    second = kiln.build(f"""\
        version: 0.2
        phases:
          build:
            commands:
              - if [ -e {name} ]; then echo MARKER:present; else echo MARKER:absent; fi
              - echo "DEBIAN:$(cat /etc/debian_version)"
              - grep -c changed /etc/hostname | sed 's/^/CHANGED:/' || true
        """, *exe_args(container))
    assert second.status == "SUCCEEDED", second.out
    assert lines_with("MARKER:", second.out) == ["absent"], second.out
    assert re.fullmatch(r"12(\.\d+)?", lines_with("DEBIAN:", second.out)[0]), second.out
    assert lines_with("CHANGED:", second.out) == ["0"], second.out
    assert not (store_rootfs / name.lstrip("/")).exists()
    assert (store_rootfs / "etc" / "debian_version").exists()
    assert "changed" not in (store_rootfs / "etc" / "hostname").read_text()


def interfaces(proc_net_dev_text):
    return sorted(l.split(":", 1)[0].strip() for l in proc_net_dev_text.splitlines()[2:] if ":" in l)


NET_SPEC = """\
version: 0.2
phases:
  build:
    commands:
      - |
        sed -n '3,$p' /proc/net/dev | cut -d: -f1 | tr -d ' ' | sed 's/^/IFACE:/'
"""


@pytest.mark.parametrize("network", ["none", "default"])
def test_network(kiln, container, network):
    args = exe_args(container) + (["--network", "none"] if network == "none" else [])
    with open("/proc/net/dev") as f:
        host_before = interfaces(f.read())
    r = kiln.build(NET_SPEC, *args)
    with open("/proc/net/dev") as f:
        host_after = interfaces(f.read())
    assert r.status == "SUCCEEDED", r.out
    inside = sorted(lines_with("IFACE:", r.out))
    if network == "none":
        assert inside == ["lo"], r.out
    elif container == "docker":
        assert "eth0" in inside and "lo" in inside, r.out
        assert not set(inside) - {"lo", "eth0"}, r.out  # its own namespace, not the host's
    else:
        # The sandbox's default is a namespace of its own with slirp4netns's tap0, already up
        # for the first command (tests/e2e/test_sandbox_security.py attacks it).
        assert inside == ["lo", "tap0"], r.out


def test_sandbox_host_network_is_the_hosts(kiln):
    require("sandbox")
    with open("/proc/net/dev") as f:
        host_before = interfaces(f.read())
    r = kiln.build(NET_SPEC, *exe_args("sandbox", MINIMAL, "--network", "host"))
    with open("/proc/net/dev") as f:
        host_after = interfaces(f.read())
    assert r.status == "SUCCEEDED", r.out
    inside = sorted(lines_with("IFACE:", r.out))
    # The host's interfaces (a container's veth may come or go meanwhile: only those present
    # before and after must be there).
    stable = (set(host_before) & set(host_after)) - {i for i in host_before if i.startswith("veth")}
    assert len(stable) > 1, host_before
    assert stable <= set(inside), r.out


# ---------------------------------------------------------------------------------------------
# 3. Limits


LIMIT_SPEC = """\
version: 0.2
phases:
  build:
    commands:
      - sleep {token} || true
      - echo allocating
      - dd bs=1500M count=1 if=/dev/zero of=/dev/null
      - echo never
  post_build:
    commands:
      - echo post-ran
"""

GiB = 1024 ** 3


def _read(path):
    with open(path) as f:
        return f.read().strip()


def _sandbox_limits(pid):
    """{'memory', 'swap', 'cpus', 'pids', 'procs'} of kiln `pid`'s build cgroup, or None."""
    dirs = cgroup_dirs(pid)
    if not dirs:
        return None
    out = {}
    if cgroup_v2():
        d = dirs[0]
        out["memory"] = int(_read(f"{d}/memory.max"))
        swap = _read(f"{d}/memory.swap.max") if os.path.exists(f"{d}/memory.swap.max") else "0"
        out["swap"] = out["memory"] + (0 if swap == "max" else int(swap))
        quota, period = _read(f"{d}/cpu.max").split()
        out["cpus"] = int(quota) / int(period)
        out["pids"] = int(_read(f"{d}/pids.max"))
        out["procs"] = _read(f"{d}/cgroup.procs").split()
        return out
    by = {p.split("/")[4]: p for p in dirs}  # /sys/fs/cgroup/<controller>/kiln/<name>
    mem = by["memory"]
    out["memory"] = int(_read(f"{mem}/memory.limit_in_bytes"))
    memsw = f"{mem}/memory.memsw.limit_in_bytes"
    out["swap"] = int(_read(memsw)) if os.path.exists(memsw) else out["memory"]
    cpu = by.get("cpu") or by.get("cpu,cpuacct")
    out["cpus"] = int(_read(f"{cpu}/cpu.cfs_quota_us")) / int(_read(f"{cpu}/cpu.cfs_period_us"))
    out["pids"] = int(_read(f"{by['pids']}/pids.max"))
    out["procs"] = _read(f"{mem}/cgroup.procs").split()
    return out


def _docker_limits(pid):
    cs = [c for c in kiln_containers(pid) if c.get("State") == "running"]
    if not cs:
        return None
    status, info = docker_api("GET", f"/containers/{cs[0]['Id']}/json")
    assert status == 200, info
    hc = info["HostConfig"]
    return {"memory": hc["Memory"], "swap": hc["MemorySwap"], "cpus": hc["NanoCpus"] / 1e9,
            "pids": hc["PidsLimit"], "id": info["Id"]}


def test_compute_type_limits_and_out_of_memory(kiln, container, background):
    token = unique_sleep()
    b = background(kiln, kiln.project(LIMIT_SPEC.format(token=token)),
                   *exe_args(container, MINIMAL, "--compute-type", "BUILD_LAMBDA_1GB"))
    try:
        assert wait_until(lambda: sleepers(token), 20), b.text()
        limits = (_sandbox_limits if container == "sandbox" else _docker_limits)(b.pid)
        assert limits, f"no cgroup or container found for kiln pid {b.pid}\n{b.text()}"
        # The build's processes are inside the limited cgroup.
        sleeper = sleepers(token)[0]
        with open(f"/proc/{sleeper}/cgroup") as f:
            own = f.read()
        if container == "sandbox":
            assert f"/kiln/{b.pid}-" in own, own
            assert str(sleeper) in limits["procs"], limits
        else:
            assert limits["id"] in own, own  # /docker/<container id>
    finally:
        kill_sleepers(token)
    r = b.finish()
    assert limits["memory"] == GiB, limits
    assert limits["swap"] == GiB, limits  # swap included: the build does not swap
    assert limits["cpus"] == 2, limits
    assert limits["pids"] == 16384, limits
    assert r.status == "FAILED", r.out
    assert r.phase("BUILD")["phaseStatus"] == "FAILED"
    assert r.phase("POST_BUILD")["phaseStatus"] == "SUCCEEDED"
    assert "\nallocating\n" in r.out and "\nnever\n" not in r.out and "\npost-ran\n" in r.out
    code, message = r.context("BUILD")
    assert code == "COMMAND_EXECUTION_ERROR"
    assert message == ("Error while executing command: dd bs=1500M count=1 if=/dev/zero "
                       "of=/dev/null. Reason: exit status 137 (the build ran out of memory: "
                       "BUILD_LAMBDA_1GB allows 1 GiB, 2 vCPUs)"), message


def test_default_compute_type_allows_what_lambda_1gb_does_not(kiln, container):
    """The control for the OOM test: the same allocation fits BUILD_GENERAL1_SMALL (3 GB)."""
    r = kiln.build("""\
        version: 0.2
        phases:
          build:
            commands:
              - dd bs=1500M count=1 if=/dev/zero of=/dev/null
        """, *exe_args(container))
    assert r.status == "SUCCEEDED", r.out


# ---------------------------------------------------------------------------------------------
# 4. Cleanup


@pytest.fixture
def short_tmpdir():
    """A TMPDIR for kiln (its build folders go there) with a short path: the agent's socket
    path must fit in sun_path. Removed afterwards."""
    d = tempfile.mkdtemp(prefix="kt-", dir="/tmp")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def mounts_under(path):
    """Host mount points at or below `path`."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == str(path) or mp.startswith(str(path) + "/"):
                out.append(mp)
    return out


CLEANUP_CASES = {
    # name: (command, extra args, expected status)
    "normal": ("echo ok", [], "SUCCEEDED"),
    "failed": ("sh -c 'exit 3'", [], "FAILED"),
    "timed-out": ("sleep {token}", ["--timeout", "0.05"], "TIMED_OUT"),
    "stopped": ("sleep {token}", [], "STOPPED"),  # SIGINT once the sleep runs
}


def test_nothing_outlives_a_build(kiln, container, background, short_tmpdir):
    before = overlay_mounts()
    runs = {}
    for name, (command, extra, _) in CLEANUP_CASES.items():
        token = unique_sleep()
        k = sub_kiln(kiln, name)
        tmp = short_tmpdir / name
        tmp.mkdir()
        spec = f"""\
            version: 0.2
            phases:
              build:
                commands:
                  - echo started
                  - {command.format(token=token)}
              post_build:
                commands:
                  - echo post
            """
        b = background(k, k.project(spec), *exe_args(container), *extra, env={"TMPDIR": str(tmp)})
        runs[name] = (b, token, tmp)

    stop, stop_token, stop_tmp = runs["stopped"]
    assert wait_until(lambda: sleepers(stop_token), 20), stop.text()
    # While it runs, the things checked below exist (so their absence afterwards means something).
    if container == "sandbox":
        assert cgroup_dirs(stop.pid), "the running build has no cgroup"
    else:
        assert kiln_containers(stop.pid), "the running build has no container"
    assert [n for n in os.listdir(stop_tmp) if n.startswith("kiln-build-")]
    time.sleep(0.1)
    stop.proc.send_signal(signal.SIGINT)
    results = {name: b.finish() for name, (b, _, _) in runs.items()}

    for name, (b, token, tmp) in runs.items():
        r = results[name]
        assert r.record is not None, f"{name}: {r.out}\n{r.err}"
        assert r.status == CLEANUP_CASES[name][2], f"{name}: {r.out}"
        assert r.code == (0 if name == "normal" else 1), f"{name}: {r.out}\n{r.err}"
        if name in ("timed-out", "stopped"):
            assert r.phase("BUILD")["phaseStatus"] == CLEANUP_CASES[name][2]
        assert r.phase("FINALIZING")["phaseStatus"] == "SUCCEEDED", f"{name}: {r.out}"
        # Nothing of the build remains: processes, cgroup, container, build folder, mounts.
        assert wait_until(lambda: not sleepers(token), 5), f"{name}: sleep survived"
        assert cgroup_dirs(b.pid) == [], f"{name}: cgroup left: {cgroup_dirs(b.pid)}"
        if container == "docker":
            assert kiln_containers(b.pid) == [], f"{name}: container left"
        assert os.listdir(tmp) == [], f"{name}: build folder left in {tmp}: {os.listdir(tmp)}"
    assert mounts_under(short_tmpdir) == []
    # New overlay mounts on the host, minus those of containers that are not ours (read twice
    # around the container list, so that a container of someone else that comes or goes
    # meanwhile does not count).
    after1 = overlay_mounts()
    others = merged_dirs_of_other_containers([b.pid for b, _, _ in runs.values()]) \
        if container == "docker" else set()
    after2 = overlay_mounts()
    assert (after1 & after2) - before - others == set()


def _start_sleeper(kiln, background, container, tmpdir):
    token = unique_sleep()
    b = background(kiln, kiln.project(f"""\
        version: 0.2
        phases:
          build:
            commands:
              - sleep {token}
        """), *exe_args(container), env={"TMPDIR": str(tmpdir)})
    assert wait_until(lambda: sleepers(token), 20), b.text()
    return b, token


ECHO_SPEC = """\
version: 0.2
phases:
  build:
    commands:
      - echo next-build
"""


def test_kill_9_leftovers_are_removed_by_the_next_run(kiln, container, background, short_tmpdir):
    b, token = _start_sleeper(kiln, background, container, short_tmpdir)
    killed = b.pid
    if container == "sandbox":
        assert cgroup_dirs(killed), "the running build has no cgroup"
    else:
        assert kiln_containers(killed), "the running build has no container"
    os.kill(killed, signal.SIGKILL)
    b.finish(10)
    assert b.proc.returncode == -signal.SIGKILL
    if container == "sandbox":
        # bwrap --die-with-parent and the launcher's parent-death signal: the build dies with
        # kiln, without anyone cleaning up.
        assert wait_until(lambda: not sleepers(token), 5), \
            f"the sandbox's processes outlived kill -9 of kiln: {sleepers(token)}"
        # What remains of its cgroup is empty: nothing of the sandbox (bwrap, the agent, the
        # shell) survived either.
        for d in cgroup_dirs(killed):
            assert wait_until(lambda: _read(f"{d}/cgroup.procs") == "", 5), \
                f"{d} still has processes: {_read(f'{d}/cgroup.procs')}"
    left = cgroup_dirs(killed) if container == "sandbox" else kiln_containers(killed)

    nxt = sub_kiln(kiln, "next").build(ECHO_SPEC, *exe_args(container))
    assert nxt.status == "SUCCEEDED", nxt.out + nxt.err
    if container == "sandbox":
        assert cgroup_dirs(killed) == [], nxt.err
        if left:
            assert re.search(r"removed \d+ leftover sandbox cgroup", nxt.err), nxt.err
    else:
        assert kiln_containers(killed) == [], nxt.err
        assert wait_until(lambda: not sleepers(token), 5), "the killed build's sleep survived"
        if left:
            assert re.search(r"removed \d+ leftover container", nxt.err), nxt.err






def test_kill_9_leftover_sandbox_folder_is_removed_by_the_next_run(kiln, background, short_tmpdir,
                                                                   request):
    require("sandbox")
    b, token = _start_sleeper(kiln, background, "sandbox", short_tmpdir)
    os.kill(b.pid, signal.SIGKILL)
    b.finish(10)
    assert wait_until(lambda: not sleepers(token), 5)
    assert [n for n in os.listdir(short_tmpdir) if n.startswith("kiln-build-")]  # left by the kill
    nxt = Background(sub_kiln(kiln, "next"), kiln.project(ECHO_SPEC, name="next-proj"),
                     *exe_args("sandbox"), env={"TMPDIR": str(short_tmpdir)}).finish()
    assert nxt.status == "SUCCEEDED", nxt.out + nxt.err
    assert os.listdir(short_tmpdir) == []


# ---------------------------------------------------------------------------------------------
# 5. Provisioning failures


def test_docker_pull_failure_fails_provisioning(kiln, background):
    require("docker")
    image = "no-such-registry.invalid/x:1"
    b = background(kiln, kiln.project(ECHO_SPEC), *exe_args("docker", image))
    r = b.finish()
    assert r.code == 1, r.out + r.err
    assert r.status == "FAILED"
    assert r.phase("PROVISIONING")["phaseStatus"] == "FAILED"
    code, message = r.context("PROVISIONING")
    assert code == "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE", message
    assert message.startswith("Unable to pull customer's container image. CannotPullContainerError: ")
    assert image in message
    assert r.phase("DOWNLOAD_SOURCE") is None and r.phase("BUILD") is None
    assert "next-build" not in r.out
    assert kiln_containers(b.pid) == []


def test_sandbox_image_not_in_store_fails_provisioning(kiln):
    require("sandbox")
    r = kiln.build(ECHO_SPEC, *exe_args("sandbox", "not/in-store"))
    assert r.code == 1, r.out + r.err
    assert r.status == "FAILED"
    assert r.phase("PROVISIONING")["phaseStatus"] == "FAILED"
    code, message = r.context("PROVISIONING")
    assert code == "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE", message
    assert message == (
        "Unable to pull customer's container image. CannotPullContainerError: image not/in-store "
        f"is not in the image store {IMAGE_DIR}: the sandbox runs images made by `kiln image "
        "build` (registry images need the docker executor)"), message
    assert r.phase("DOWNLOAD_SOURCE") is None and r.phase("BUILD") is None
    assert "next-build" not in r.out


# ---------------------------------------------------------------------------------------------
# 6. CodeBuild image names and runtime-versions


def runtime_spec(runtimes):
    lines = "".join(f"        {k}: {v}\n" for k, v in runtimes.items())
    return ("version: 0.2\nphases:\n  install:\n    runtime-versions:\n" + lines +
            "    commands:\n      - echo installing\n"
            "  build:\n    commands:\n      - echo built\n")


def test_codebuild_image_maps_to_kiln_standard(kiln):
    require("sandbox")
    if not _store_has("kiln/standard"):
        pytest.skip(f"kiln/standard is not in the image store {IMAGE_DIR}")
    r = kiln.build(runtime_spec({"nodejs": 18}) + "      - node --version | sed 's/^/NODE:/'\n",
                   *exe_args("sandbox", "aws/codebuild/standard:7.0"))
    assert r.status == "SUCCEEDED", r.out
    assert ("Image aws/codebuild/standard:7.0 is not available here: using kiln/standard, the "
            "nearest curated image\n") in r.out
    assert "Running in a sandbox (image kiln/standard," in r.out
    assert "Selecting 'nodejs' runtime version '18' based on manual selections..." in r.out
    assert lines_with("NODE:", r.out)[0].startswith("v18."), r.out
    assert r.record["environment"]["image"] == "aws/codebuild/standard:7.0"


@pytest.mark.parametrize("runtimes,message", [
    ({"nodejs": 12}, "Unknown runtime version named '12' of nodejs. This build image has the "
                     "following versions: 18"),
    ({"ruby": 3}, "Unknown runtime named 'ruby'. This build image has the following runtimes: "
                  "golang, java, nodejs, python"),
])
def test_unknown_runtime_versions_fail_download_source(kiln, runtimes, message):
    require("sandbox")
    if not _store_has("kiln/standard"):
        pytest.skip(f"kiln/standard is not in the image store {IMAGE_DIR}")
    r = kiln.build(runtime_spec(runtimes), *exe_args("sandbox", "kiln/standard"))
    assert r.status == "FAILED", r.out
    assert r.phase("PROVISIONING")["phaseStatus"] == "SUCCEEDED"
    assert r.phase("DOWNLOAD_SOURCE")["phaseStatus"] == "FAILED"
    assert r.context("DOWNLOAD_SOURCE") == ("YAML_FILE_ERROR", message)
    assert r.phase("INSTALL") is None
    assert "\ninstalling\n" not in r.out


def test_runtime_versions_on_kiln_minimal_are_skipped(kiln, container):
    r = kiln.build(runtime_spec({"nodejs": 18, "python": "3.11"}), *exe_args(container))
    assert r.status == "SUCCEEDED", r.out
    assert re.search(r"^\[Container\] \S+ \S+ Skipping install of runtimes\. Runtime version "
                     r"selection is not supported by this build image$", r.out, re.M), r.out
    assert "\ninstalling\n" in r.out and "\nbuilt\n" in r.out


# ---------------------------------------------------------------------------------------------
# 7. run-as


def test_run_as_inside_the_environment(kiln, container):
    r = kiln.build("""\
        version: 0.2
        env:
          exported-variables: [WHO, OWNER, ROOT_AGAIN]
        phases:
          install:
            commands:
              - chmod 777 .
          build:
            run-as: nobody
            commands:
              - id -un | sed 's/^/ID:/'
              - WHO=$(id -un)
              - echo made > made-by-build.txt
              - OWNER=$(stat -c %U:%u made-by-build.txt)
          post_build:
            commands:
              - ROOT_AGAIN=$(id -un)
        """, *exe_args(container), "--keep-workspace")
    root = kept_build_root_of(r)
    try:
        assert r.status == "SUCCEEDED", r.out
        assert lines_with("ID:", r.out) == ["nobody"], r.out
        exported = {v["name"]: v["value"] for v in r.record["exportedEnvironmentVariables"]}
        assert exported == {"WHO": "nobody", "OWNER": "nobody:65534", "ROOT_AGAIN": "root"}
        made = pathlib.Path(root) / "src" / "made-by-build.txt"
        assert made.read_text() == "made\n"
        if os.geteuid() == 0:  # no user namespace: the ids inside are the host's
            assert made.stat().st_uid == 65534
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Paths in what Kiln reports




def test_buildspec_errors_name_the_path_the_build_sees(kiln, container, request):
    r = kiln.build(ECHO_SPEC, *exe_args(container), "-b", "sub/missing.yml")
    src = src_dir_of(r.out)
    assert r.context("DOWNLOAD_SOURCE") == (
        "YAML_FILE_ERROR", f"stat {src}/sub/missing.yml: no such file or directory")
    ok = kiln.build(ECHO_SPEC, *exe_args(container))
    assert f"YAML location is {src_dir_of(ok.out)}/buildspec.yml\n" in ok.out
