"""docs/security.md, findings 7 and 10, against a real kiln server: an unauthenticated peer cannot grow
it, and log reads do not load the log.

Finding 7: a chunked request with an endless chunk extension grew the server by 100 MB per 100 MB
sent; 100 connections that declared 10 MiB bodies and sent 9 MiB held about 1 GB, never given
back. Now a request without a valid SigV4 head is answered before its body is read, a chunk line
or trailer is capped, and the peak RSS (VmHWM, reset through /proc/PID/clear_refs before each
attack) stays small; the server answers signed boto3 calls afterwards.
Finding 10: on a log with a 200 MB line, GetLogEvents(limit=1), four concurrent `Range: bytes=0-9`
reads and FilterLogEvents stay small, ListProjects is answered while FilterLogEvents runs, and
50 follows do not make 50 threads.
"""
import concurrent.futures
import select
import socket
import threading
import time
import unittest
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kiln_server import REGION, KilnServer, inline_project, wait_for_build

# The attacks reached 100 MB to 3.7 GB; the server's own heap and SQLite's cache fit easily.
MAX_GROWTH_MB = 64
BIG_LINE = 200 * 1000 * 1000


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KilnServer().start()
        cls.cb = cls.server.boto3()
        cls.logs = cls.server.boto3("logs")
        cls.key, cls.secret = cls.server.credentials()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    # --- helpers ---

    def status(self, field):
        with open("/proc/%d/status" % self.server.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) // 1024
        return -1

    def reset_peak(self):
        with open("/proc/%d/clear_refs" % self.server.proc.pid, "w") as f:
            f.write("5")
        return self.status("VmRSS")

    def threads(self):
        import os
        return len(os.listdir("/proc/%d/task" % self.server.proc.pid))

    def signed(self, method, path, service="codebuild", body=b"", headers=None):
        req = AWSRequest(method=method, url=self.server.endpoint + path, data=body,
                         headers=dict(headers or {}))
        SigV4Auth(Credentials(self.key, self.secret), service, REGION).add_auth(req)
        return dict(req.headers.items())

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        return s

    def head(self, extra=""):
        return ("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: "
                "CodeBuild_20161006.ListProjects\r\nContent-Type: application/x-amz-json-1.1\r\n"
                + extra)

    def read_reply(self, s, timeout=10):
        s.settimeout(timeout)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionError):
            pass
        return data.decode("latin-1")

    def assert_still_serves(self):
        self.assertIn("projects", self.cb.list_projects())

    # --- finding 7 ---

    def test_unsigned_10mib_body_is_refused_before_it_is_sent(self):
        s = self.connect()
        s.sendall(self.head("Content-Length: %d\r\n\r\n" % (10 << 20)).encode())
        s.sendall(b"{" * 65536)
        # The answer comes while 10 MiB - 64 KiB are still unsent.
        readable, _, _ = select.select([s], [], [], 5)
        self.assertTrue(readable, "no answer before the body was sent")
        reply = self.read_reply(s)
        self.assertTrue(reply.startswith("HTTP/1.1 400"), reply[:200])
        self.assertIn("MissingAuthenticationTokenException", reply)
        s.close()
        self.assert_still_serves()

    def attack_chunk_extension(self, authorization):
        rss = self.reset_peak()
        s = self.connect()
        s.sendall((self.head(authorization) + "Transfer-Encoding: chunked\r\n\r\n2;").encode())
        piece = b"x" * (1 << 20)
        sent = 0
        try:
            while sent < 100 << 20:
                s.sendall(piece)
                sent += len(piece)
        except (ConnectionError, socket.timeout):
            pass
        reply = self.read_reply(s, 5)
        s.close()
        growth = self.status("VmHWM") - rss
        self.assertLess(growth, MAX_GROWTH_MB, "the server grew by %d MB" % growth)
        self.assert_still_serves()
        return reply, sent

    def test_endless_chunk_extension_unsigned(self):
        reply, sent = self.attack_chunk_extension("")
        self.assertLess(sent, 100 << 20, "the server read the whole attack")
        if reply:
            self.assertIn("MissingAuthenticationTokenException", reply)

    def test_endless_chunk_extension_from_a_key_holder(self):
        # A well-formed, current Authorization with a real key passes the head check; the chunk
        # line's cap stops it.
        h = self.signed("POST", "/", headers={"X-Amz-Target": "CodeBuild_20161006.ListProjects"})
        auth = "Authorization: %s\r\nX-Amz-Date: %s\r\n" % (h["Authorization"], h["X-Amz-Date"])
        reply, sent = self.attack_chunk_extension(auth)
        self.assertLess(sent, 100 << 20, "the server read the whole attack")
        if reply:
            self.assertIn("chunk extension", reply)

    def test_hundred_unsigned_9mib_bodies(self):
        rss = self.reset_peak()
        body = b"{" * (9 << 20)

        def one(_):
            s = self.connect()
            try:
                s.sendall(self.head("Content-Length: %d\r\n\r\n" % (10 << 20)).encode())
                s.sendall(body)
            except (ConnectionError, socket.timeout):
                pass
            finally:
                s.close()

        with concurrent.futures.ThreadPoolExecutor(100) as pool:
            list(pool.map(one, range(100)))
        time.sleep(3)  # lingering connections close, the sweeper trims the heap
        growth = self.status("VmHWM") - rss
        self.assertLess(growth, MAX_GROWTH_MB, "peak RSS grew by %d MB" % growth)
        self.assertLess(self.status("VmRSS") - rss, MAX_GROWTH_MB)
        self.assert_still_serves()

    def test_slow_head_is_cut(self):
        s = self.connect()
        s.sendall(b"POST / HTTP/1.1\r\n")
        t0 = time.time()
        closed = False
        while time.time() - t0 < 40 and not closed:
            time.sleep(1)
            try:
                s.sendall(b"X")
                closed = select.select([s], [], [], 0)[0] and s.recv(1) == b""
            except ConnectionError:
                closed = True
        s.close()
        self.assertTrue(closed, "a head trickled for 40 s")
        self.assert_still_serves()

    # --- finding 10 ---

    @classmethod
    def big_build(cls):
        if getattr(cls, "_big", None):
            return cls._big
        spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                "      - head -c %d /dev/zero | tr '\\\\0' x; echo\n"
                "      - echo needle-at-the-end\n" % BIG_LINE)
        inline_project(cls.cb, "biglog", spec)
        build = cls.cb.start_build(projectName="biglog")["build"]
        wait_for_build(cls.cb, build["id"], timeout=300)
        cls._big = build["id"]
        return cls._big

    def test_big_log_reads_stay_small(self):
        build_id = self.big_build()
        uuid = build_id.split(":", 1)[1]
        rss = self.reset_peak()
        events = self.logs.get_log_events(logGroupName="/aws/codebuild/biglog",
                                          logStreamName=uuid, limit=1)["events"]
        self.assertEqual(len(events), 1)

        def ranged(_):
            path = "/logs/biglog/%s" % uuid
            req = urllib.request.Request(self.server.endpoint + path,
                                         headers=self.signed("GET", path, headers={"Range": "bytes=0-9"}))
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for status, data in pool.map(ranged, range(4)):
                self.assertEqual(status, 206)
                self.assertEqual(len(data), 10)

        # ListProjects answers while FilterLogEvents reads the 200 MB.
        waits = []
        done = threading.Event()

        def filter_():
            try:
                return self.server.boto3("logs").filter_log_events(
                    logGroupName="/aws/codebuild/biglog", filterPattern="needle-at-the-end")
            finally:
                done.set()

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            found = pool.submit(filter_)
            while not done.is_set():
                t0 = time.time()
                self.cb.list_projects()
                waits.append(time.time() - t0)
                time.sleep(0.05)
            events = found.result()["events"]
        self.assertTrue(any("needle-at-the-end" in e["message"] for e in events))
        self.assertLess(max(waits), 1.0, "ListProjects waited %.2f s" % max(waits))
        growth = self.status("VmHWM") - rss
        self.assertLess(growth, MAX_GROWTH_MB, "log reads grew the server by %d MB" % growth)

    def test_fifty_follows_do_not_make_fifty_threads(self):
        inline_project(self.cb, "follow", "version: 0.2\nphases:\n  build:\n    commands:\n"
                                          "      - echo started\n      - sleep 30\n")
        build_id = self.cb.start_build(projectName="follow")["build"]["id"]
        uuid = build_id.split(":", 1)[1]
        path = "/logs/follow/%s" % uuid
        before = self.threads()
        socks = []
        try:
            for _ in range(50):
                s = self.connect()
                h = self.signed("GET", path + "?follow=1")
                lines = ["GET %s?follow=1 HTTP/1.1" % path, "Host: 127.0.0.1:%d" % self.server.port]
                lines += ["%s: %s" % kv for kv in h.items()]
                s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
                socks.append(s)
            for s in socks:
                reply = self.read_reply(s)
                self.assertTrue(reply.startswith("HTTP/1.1 200"), reply[:300])
            time.sleep(0.5)
            during = self.threads()
            self.assertLess(during - before, 10, "%d threads for 50 follows" % (during - before))
        finally:
            for s in socks:
                s.close()
            self.cb.stop_build(id=build_id)
        self.assert_still_serves()


if __name__ == "__main__":
    unittest.main()
