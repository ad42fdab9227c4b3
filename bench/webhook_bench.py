#!/usr/bin/env python3
"""Webhook benchmarks (docs/webhooks.md), each against a baseline measured in the same run:

1. Delivery to build: the time from a signed GitHub push POSTed to /webhooks/<project> to the
   first command of the build it starts, against StartBuild (same project, same commit) to the
   first command, ROUNDS times each, taking turns. Budget: the webhook's median within 5 ms of
   StartBuild's.
2. Intake: signed push deliveries per second with wrk (-t2 -c32, WRK_SECONDS), each with its
   own delivery id (so none is a duplicate), filters evaluated, every one queueing a build
   (`--max-builds 1`, and that one slot held by a sleeping build, so the builds wait in the
   queue). Budget: >= 2,000 deliveries/s on this 2-core machine. Its baseline, in the same run,
   is BatchGetBuilds of 5 ids on the same server (a signed call that writes nothing).

Both builds clone the same commit from a local git smart-HTTP server
(tests/unit/source/git_http_server.py), so the clone costs the same on both sides.

Needs: a release `kiln`, Debian's python3, git and wrk. Run: python3 bench/webhook_bench.py
ROUNDS=0 skips the first benchmark (e.g. to run the intake alone on another binary, KILN_BIN=...).
"""
import hashlib
import hmac
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "compat"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("KILN_BIN", str(ROOT / "build" / "release" / "kiln"))
from kiln_server import KilnServer, bare_repository, git_http_server, wait_for_build  # noqa: E402
from server_bench import signed_request  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "30"))
WRK_SECONDS = int(os.environ.get("WRK_SECONDS", "10"))
ENV = {"type": "LINUX_CONTAINER", "image": "kiln/host", "computeType": "BUILD_GENERAL1_SMALL"}
PUSH = ROOT / "tests/corpus/webhooks/github/push-branch.json"


def push_body(commit):
    """The corpus push with its `after` swapped for `commit` (same length), as the compat test."""
    body = PUSH.read_bytes()
    after = json.loads(body)["after"]
    return body.replace(after.encode(), commit.encode())


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(endpoint, path, secret, body):
    req = urllib.request.Request(endpoint + path, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": sign(secret, body),
        "User-Agent": "GitHub-Hookshot/bench"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 202, r.status
        return json.loads(r.read())["build"]  # the id of the build it queued


def repository(tmp, stamps):
    commit = bare_repository(
        tmp, "version: 0.2\nphases:\n  build:\n    commands:\n"
             "      - date +%%s.%%N > %s/$CODEBUILD_BUILD_NUMBER\n" % stamps, "master", "app.git")
    http, port = git_http_server(pathlib.Path(tmp) / "srv", "x-access-token", "unused-token")
    return http, "http://127.0.0.1:%d/app.git" % port, commit


def hooked_project(cb, name, url, build_type="BUILD"):
    cb.create_project(name=name, source={"type": "GITHUB", "location": url},
                      artifacts={"type": "NO_ARTIFACTS"}, environment=ENV,
                      serviceRole="arn:aws:iam::000000000000:role/kiln")
    return cb.create_webhook(projectName=name, buildType=build_type, filterGroups=[[
        {"type": "EVENT", "pattern": "PUSH"},
        {"type": "HEAD_REF", "pattern": "^refs/heads/master$"}]])["webhook"]["secret"]


def latency(server, cb, url, commit, stamps):
    secret = hooked_project(cb, "latency", url)
    body = push_body(commit)
    hook, start = [], []
    for i in range(ROUNDS * 2):
        t0 = time.time()
        if i % 2 == 0:
            build = deliver(server.endpoint, "/webhooks/latency", secret, body)
        else:
            build = cb.start_build(projectName="latency", sourceVersion=commit)["build"]["id"]
        b = wait_for_build(cb, build)
        assert b["buildStatus"] == "SUCCEEDED", (b["buildStatus"], b["phases"])
        took = float(open("%s/%d" % (stamps, b["buildNumber"])).read()) - t0
        (hook if i % 2 == 0 else start).append(took * 1000)
    return hook, start


def wrk(endpoint, path, body, headers, tmp, unique_delivery):
    script = pathlib.Path(tmp) / "req.lua"
    lines = ['wrk.method = "POST"', "wrk.body = %s" % json.dumps(body.decode())]
    for k, v in headers.items():
        if k.lower() in ("host", "content-length"):
            continue
        lines.append("wrk.headers[%s] = %s" % (json.dumps(k), json.dumps(v)))
    if unique_delivery:
        # Each thread numbers its own requests; the thread's id keeps the two apart.
        lines += ["local n = 0", "local tid = tostring(math.random(1, 2^30))",
                  "request = function()", "  n = n + 1",
                  '  wrk.headers["X-GitHub-Delivery"] = tid .. "-" .. n',
                  "  return wrk.format()", "end"]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % WRK_SECONDS, "--latency", "-s",
                          str(script), endpoint + path], capture_output=True, text=True,
                         check=True).stdout
    rps = float([l for l in out.splitlines() if l.startswith("Requests/sec")][0].split()[1])
    non2xx = [l for l in out.splitlines() if "Non-2xx" in l]
    if non2xx:
        raise RuntimeError("wrk saw errors: %s\n%s" % (non2xx, out))
    return rps


def intake(server, cb, url, commit, tmp):
    secret = hooked_project(cb, "intake", url)
    # The one build slot is taken by a build that sleeps, so every delivery's build waits.
    cb.start_build(projectName="intake", sourceVersion=commit,
                   buildspecOverride="version: 0.2\nphases:\n  build:\n    commands:\n"
                                     "      - sleep 600\n")
    body = push_body(commit)
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-Hub-Signature-256": sign(secret, body), "User-Agent": "GitHub-Hookshot/bench"}
    hooks = wrk(server.endpoint, "/webhooks/intake", body, headers, tmp, True)
    queued = 0
    token = None
    while True:
        page = cb.list_builds_for_project(projectName="intake", **({"nextToken": token} if token else {}))
        queued += len(page["ids"])
        token = page.get("nextToken")
        if not token:
            break
    ids = cb.list_builds_for_project(projectName="intake")["ids"][:5]
    call = json.dumps({"ids": ids}).encode()
    key, secret_key = server.credentials()
    base = wrk(server.endpoint, "/", call,
               {**signed_request(server.endpoint, call.decode(), key, secret_key)}, tmp, False)
    return hooks, base, queued


def started_server(tmp, *extra):
    server = KilnServer(extra_args=["--source-root", tmp, *extra]).start()
    server.boto3().import_source_credentials(token="unused-token", serverType="GITHUB",
                                             authType="PERSONAL_ACCESS_TOKEN")
    return server


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-webhook-bench-")
    stamps = pathlib.Path(tmp) / "stamps"
    stamps.mkdir()
    # A root server's builds run as kiln-build (docs/server.md): they must reach the stamps.
    os.chmod(tmp, 0o755)
    os.chmod(stamps, 0o777)
    http, url, commit = repository(tmp, stamps)
    print("webhook_bench: %d rounds of each, wrk %ds, %s" % (ROUNDS, WRK_SECONDS, os.environ["KILN_BIN"]))
    try:
        if ROUNDS:
            server = started_server(tmp)
            try:
                hook, start = latency(server, server.boto3(), url, commit, stamps)
            finally:
                server.cleanup()
            h, s = statistics.median(hook), statistics.median(start)
            # Each webhook build is paired with the StartBuild right after it, so the clone's
            # own noise (the git server is Python) mostly cancels in the pair's difference.
            pairs = statistics.median(a - b for a, b in zip(hook, start))
            print("delivery to first command: webhook p50 %.1f ms, StartBuild p50 %.1f ms, "
                  "difference of medians %+.1f ms, median paired difference %+.1f ms "
                  "(budget +5 ms), ratio %.3fx" % (h, s, h - s, pairs, h / s))
        server = started_server(tmp, "--max-builds", "1")
        try:
            hooks, base, queued = intake(server, server.boto3(), url, commit, tmp)
        finally:
            server.cleanup()
        print("intake: %.0f signed deliveries/s (budget 2,000), %d builds queued; "
              "BatchGetBuilds on the same server %.0f req/s, ratio %.3fx"
              % (hooks, queued, base, hooks / base))
    finally:
        http.terminate()


if __name__ == "__main__":
    main()
