#!/usr/bin/env python3
"""kiln server benchmarks (docs/server.md), each with its baseline measured in the same run:

1. StartBuild to first command, p50 and p99, over BUILDS sequential trivial builds (budget p50 < 50 ms).
2. Throughput of trivial builds per minute, THROUGHPUT builds submitted at once (budget >= 600/min).
3. BatchGetBuilds (5 ids, signed) with 32 keep-alive connections (wrk), against moto's server
   answering the same call on the same machine (budget >= 20x moto; DESIGN: >= 20,000 req/s).
4. Server RSS when idle and with 1,000+ builds in the store.

Needs: a release `kiln`, python3 with boto3 and moto, and wrk. Run: python3 bench/server_bench.py

With BASELINE_KILN_BIN set, only BatchGetBuilds is measured, on KILN_BIN and on that baseline
binary (e.g. the previous commit's, built in a git worktree), ROUNDS times each, alternating, and
the ratio of the medians is printed (docs/security.md: the request checks must keep >= 0.95x).
"""
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "compat"))
os.environ.setdefault("KILN_BIN", str(ROOT / "build" / "release" / "kiln"))
from kiln_server import KilnServer, inline_project, wait_for_build  # noqa: E402

BUILDS = int(os.environ.get("BUILDS", "200"))
THROUGHPUT = int(os.environ.get("THROUGHPUT", "1000"))
WRK_SECONDS = int(os.environ.get("WRK_SECONDS", "10"))


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def first_command_latency(cb, stamps):
    spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
            "      - date +%%s.%%N > %s/$CODEBUILD_BUILD_NUMBER\n" % stamps)
    inline_project(cb, "latency", spec)
    lat = []
    for _ in range(BUILDS):
        t0 = time.time()
        b = cb.start_build(projectName="latency")["build"]
        wait_for_build(cb, b["id"])
        lat.append(float(open("%s/%d" % (stamps, b["buildNumber"])).read()) - t0)
    return lat


def throughput(cb):
    inline_project(cb, "throughput", "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n")
    t0 = time.time()
    ids = [cb.start_build(projectName="throughput")["build"]["id"] for _ in range(THROUGHPUT)]
    for i in ids:
        wait_for_build(cb, i, timeout=600)
    return THROUGHPUT / ((time.time() - t0) / 60)


def signed_request(endpoint, body, key, secret):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=endpoint + "/", data=body,
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "CodeBuild_20161006.BatchGetBuilds"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "codebuild",
                            "us-east-1").add_auth(req)
    return dict(req.prepare().headers)


def wrk(endpoint, body, headers, tmp):
    script = pathlib.Path(tmp) / "req.lua"
    lines = ['wrk.method = "POST"', "wrk.body = %s" % json.dumps(body)]
    for k, v in headers.items():
        if k.lower() in ("host", "content-length"):
            continue
        lines.append("wrk.headers[%s] = %s" % (json.dumps(k), json.dumps(v)))
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % WRK_SECONDS, "--latency", "-s",
                          str(script), endpoint + "/"], capture_output=True, text=True,
                         check=True).stdout
    rps = float([l for l in out.splitlines() if l.startswith("Requests/sec")][0].split()[1])
    p99 = [l for l in out.splitlines() if l.strip().startswith("99%")][0].split()[1]
    non2xx = [l for l in out.splitlines() if "Non-2xx" in l]
    if non2xx:
        raise RuntimeError("wrk saw errors: %s" % non2xx)
    return rps, p99


def moto_batch_get(tmp):
    import boto3
    port = 17000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = "http://127.0.0.1:%d" % port
        for _ in range(100):
            try:
                cb = boto3.client("codebuild", endpoint_url=endpoint, region_name="us-east-1",
                                  aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")
                cb.list_projects()
                break
            except Exception:
                time.sleep(0.1)
        cb.create_project(name="moto-bench", source={"type": "S3", "location": "bucket/src.zip"},
                          artifacts={"type": "NO_ARTIFACTS"},
                          environment={"type": "LINUX_CONTAINER", "image": "x",
                                       "computeType": "BUILD_GENERAL1_SMALL"},
                          serviceRole="arn:aws:iam::123456789012:role/r")
        ids = [cb.start_build(projectName="moto-bench")["build"]["id"] for _ in range(5)]
        body = json.dumps({"ids": ids})
        return wrk(endpoint, body, signed_request(endpoint, body, "AKIDEXAMPLE", "x"), tmp)
    finally:
        proc.terminate()
        proc.wait()


def batch_get_server(binary, tmp):
    import kiln_server
    kiln_server.KILN = binary
    server = KilnServer().start()
    cb = server.boto3()
    inline_project(cb, "bench", "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n")
    ids = [cb.start_build(projectName="bench")["build"]["id"] for _ in range(5)]
    for i in ids:
        wait_for_build(cb, i)
    body = json.dumps({"ids": ids})
    key, secret = server.credentials()
    return server, body, signed_request(server.endpoint, body, key, secret)


def compare_batch_get(baseline):
    rounds = int(os.environ.get("ROUNDS", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        servers = {"kiln": batch_get_server(os.environ["KILN_BIN"], tmp),
                   "baseline": batch_get_server(baseline, tmp)}
        results = {"kiln": [], "baseline": []}
        try:
            for _ in range(rounds):
                for name, (server, body, headers) in servers.items():
                    rps, p99 = wrk(server.endpoint, body, headers, tmp)
                    results[name].append(rps)
                    print("  %-8s %8.0f req/s  p99 %s" % (name, rps, p99))
        finally:
            for server, _, _ in servers.values():
                server.cleanup()
    kiln, base = statistics.median(results["kiln"]), statistics.median(results["baseline"])
    print("BatchGetBuilds, 32 conns, median of %d x %ds: kiln %.0f req/s, baseline %.0f req/s, "
          "ratio %.3fx (budget >= 0.95x)" % (rounds, WRK_SECONDS, kiln, base, kiln / base))


def main():
    if os.environ.get("BASELINE_KILN_BIN"):
        return compare_batch_get(os.environ["BASELINE_KILN_BIN"])
    with tempfile.TemporaryDirectory() as tmp:
        server = KilnServer(extra_args=["--max-builds", str(os.cpu_count() or 2)]).start()
        try:
            pid = server.proc.pid
            time.sleep(0.5)
            idle = rss_kib(pid)
            cb = server.boto3()
            # A root server runs process builds as kiln-build (docs/security.md), which cannot
            # write into the private temporary folder: the stamps go where it can.
            os.chmod(tmp, 0o711)
            stamps = pathlib.Path(tmp) / "stamps"
            stamps.mkdir()
            stamps.chmod(0o1777)
            lat = first_command_latency(cb, str(stamps))
            per_min = throughput(cb)
            ids = cb.list_builds()["ids"][:5]
            body = json.dumps({"ids": ids})
            key, secret = server.credentials()
            rps, p99 = wrk(server.endpoint, body, signed_request(server.endpoint, body, key, secret), tmp)
            loaded = rss_kib(pid)
            stored = BUILDS + THROUGHPUT
        finally:
            server.cleanup()
        moto_rps, moto_p99 = moto_batch_get(tmp)

    print("server_bench: %d sequential builds, %d for throughput, wrk %ds" % (BUILDS, THROUGHPUT, WRK_SECONDS))
    print("  StartBuild -> first command   p50 %6.1f ms  p99 %6.1f ms  (budget p50 < 50 ms)"
          % (statistics.median(lat) * 1000, pct(lat, 0.99) * 1000))
    print("  trivial builds per minute     %6.0f           (budget >= 600)" % per_min)
    print("  BatchGetBuilds, 32 conns      %8.0f req/s  p99 %s  | moto %.0f req/s p99 %s | ratio %.0fx (budget >= 20x)"
          % (rps, p99, moto_rps, moto_p99, rps / moto_rps))
    print("  server RSS                    idle %.1f MiB, with %d builds stored %.1f MiB"
          % (idle / 1024, stored, loaded / 1024))


if __name__ == "__main__":
    sys.exit(main())
