"""kill -9 of the server during a build: after a restart the build is FAILED with a context
that says the server stopped, its processes are gone, and queued builds still run."""
import os
import time
import unittest

from kiln_server import KilnServer, inline_project, wait_for_build

SLEEP = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo $$ > /tmp/kiln-crash-$CODEBUILD_BUILD_NUMBER.pid; sleep 300\n"


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ")[1][0] != "Z"


class CrashTest(unittest.TestCase):
    def test_kill_9_then_restart(self):
        server = KilnServer(extra_args=["--max-builds", "1"]).start()
        try:
            cb = server.boto3()
            inline_project(cb, "crash", SLEEP)
            running = cb.start_build(projectName="crash")["build"]
            inline_project(cb, "after", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n")
            queued = cb.start_build(projectName="after")["build"]
            pidfile = "/tmp/kiln-crash-%d.pid" % running["buildNumber"]
            deadline = time.time() + 20
            while not os.path.exists(pidfile) and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            with open(pidfile) as f:
                shell = int(f.read())
            self.assertTrue(alive(shell))
            self.assertFalse(cb.batch_get_builds(ids=[queued["id"]])["builds"][0]["buildComplete"])

            server.kill()
            deadline = time.time() + 10
            while alive(shell) and time.time() < deadline:
                time.sleep(0.05)
            self.assertFalse(alive(shell), "the build's process outlived the killed server")

            server.start()
            cb = server.boto3()
            dead = cb.batch_get_builds(ids=[running["id"]])["builds"][0]
            self.assertEqual(dead["buildStatus"], "FAILED")
            contexts = [c["message"] for p in dead["phases"] for c in p.get("contexts", [])]
            self.assertTrue(any("server stopped" in m for m in contexts), contexts)
            self.assertEqual(wait_for_build(cb, queued["id"])["buildStatus"], "SUCCEEDED")
            os.unlink(pidfile)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
