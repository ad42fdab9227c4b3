"""docs/security.md: the server's data folder and the isolation of its builds.

- A damaged data folder is refused at start with a message naming the file: a 0-byte or missing
  kiln.db beside the logs of earlier builds, damaged pages (PRAGMA quick_check), another
  master.key (the canary in secrets.db).
- `kiln backup DATA DEST` while builds run, and a restore (the copy used as the data folder)
  that shows the builds, projects and secrets.
- The default executor is sandbox; `--executor process` is announced as unisolated, and on a
  root server its builds run as kiln-build, who cannot read the data folder's keys and state.
- SIGTERM of the server ends a running build STOPPED with a context that says so."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from kiln_server import KILN, KilnServer, inline_project, wait_for_build

IMAGES = os.environ.get("KILN_IMAGE_DIR", "")
SLEEP = ("version: 0.2\nphases:\n  build:\n    commands:\n"
         "      - sleep 300\n")
OK = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo built-ok\n"


def refused(data, *args):
    """Starts a server that must refuse to start; returns its exit status and stderr."""
    proc = subprocess.run([KILN, "server", "--data", str(data), "--listen", "127.0.0.1:0",
                           "--executor", "process", *args], capture_output=True, text=True,
                          timeout=30)
    return proc.returncode, proc.stderr


def wait_running(cb, build_id, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        b = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if b.get("currentPhase") == "BUILD":
            time.sleep(0.3)
            return b
        time.sleep(0.1)
    raise AssertionError("build %s never reached BUILD" % build_id)


def log_of(server, build):
    uuid = build["id"].split(":", 1)[1]
    return (server.data / "logs" / build["projectName"] / (uuid + ".log")).read_text()


class DamagedDataFolder(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kiln-df-")
        os.chmod(self.tmp, 0o711)  # a root server's build user must reach DATA/builds
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def make_history(self):
        server = KilnServer(data=self.data).start()
        try:
            cb = server.boto3()
            inline_project(cb, "hist", OK)
            for _ in range(3):
                b = cb.start_build(projectName="hist")["build"]
                self.assertEqual(wait_for_build(cb, b["id"])["buildStatus"], "SUCCEEDED")
            server.boto3("ssm").put_parameter(Name="/df/p", Value="v1", Type="SecureString")
        finally:
            server.stop()

    def test_empty_database_beside_logs_is_refused(self):
        self.make_history()
        db = os.path.join(self.data, "kiln.db")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        open(db, "w").close()
        rc, err = refused(self.data)
        self.assertEqual(rc, 1, err)
        self.assertIn(db + " is empty (0 bytes), but " + os.path.join(self.data, "logs") +
                      " holds the output of earlier builds", err)
        self.assertEqual(os.path.getsize(db), 0)  # left as it was
        os.unlink(db)
        rc, err = refused(self.data)
        self.assertIn(db + " is missing, but", err)

    def test_damaged_pages_are_refused(self):
        self.make_history()
        db = os.path.join(self.data, "kiln.db")
        size = os.path.getsize(db)
        self.assertGreater(size, 3 * 4096)
        with open(db, "r+b") as f:
            f.seek(4096)  # page 2 onwards; page 1 keeps the header so the file is still SQLite
            f.write(os.urandom(min(size - 4096, 3 * 4096)))
        rc, err = refused(self.data)
        self.assertEqual(rc, 1, err)
        self.assertIn("cannot use " + db, err)

    def test_another_master_key_is_refused(self):
        self.make_history()
        key = os.path.join(self.data, "secrets", "master.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        rc, err = refused(self.data)
        self.assertEqual(rc, 1, err)
        self.assertIn("the master key " + key + " does not open its canary", err)
        os.unlink(key)
        rc, err = refused(self.data)
        self.assertIn(key + " is missing, but", err)
        self.assertFalse(os.path.exists(key))

    def test_store_errors_carry_no_sql_or_paths(self):
        """A table the server needs vanishes under it: the 500 names neither SQL nor a path."""
        server = KilnServer(data=self.data).start()
        try:
            cb = server.boto3()
            inline_project(cb, "p1", OK)
            subprocess.run(["sqlite3", os.path.join(self.data, "kiln.db"),
                            "DROP TABLE builds"], check=True)
            with self.assertRaises(Exception) as e:
                cb.list_builds()
            text = str(e.exception)
            self.assertNotIn("SELECT", text)
            self.assertNotIn(self.data, text)
            self.assertIn("no such table", text)
            server.stop()
            with open(server.stderr_path) as f:
                self.assertIn("SELECT", f.read())  # the details are in the server's log
        finally:
            server.cleanup()


class BackupAndRestore(unittest.TestCase):
    def test_backup_while_builds_run_then_restore(self):
        server = KilnServer(extra_args=["--max-builds", "1"]).start()
        dest_parent = tempfile.mkdtemp(prefix="kiln-backup-")
        os.chmod(dest_parent, 0o711)
        dest = os.path.join(dest_parent, "copy")
        restored = None
        try:
            cb = server.boto3()
            inline_project(cb, "done", OK)
            inline_project(cb, "slow", SLEEP)
            finished = cb.start_build(projectName="done")["build"]
            self.assertEqual(wait_for_build(cb, finished["id"])["buildStatus"], "SUCCEEDED")
            running = cb.start_build(projectName="slow")["build"]
            queued = cb.start_build(projectName="done")["build"]
            wait_running(cb, running["id"])
            server.boto3("ssm").put_parameter(Name="/bk/p", Value="param-value",
                                              Type="SecureString")
            server.boto3("secretsmanager").create_secret(Name="bk-secret",
                                                         SecretString="secret-value")

            out = subprocess.run([KILN, "backup", str(server.data), dest], capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            again = subprocess.run([KILN, "backup", str(server.data), dest],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(again.returncode, 1)
            self.assertIn("already exists", again.stderr)
            for root, dirs, files in os.walk(dest):
                for d in dirs:
                    self.assertEqual(os.stat(os.path.join(root, d)).st_mode & 0o777, 0o700)
                for f in files:
                    self.assertEqual(os.stat(os.path.join(root, f)).st_mode & 0o777, 0o600, f)
            for name in ("kiln.db", "keys.json", "credentials", "secrets/master.key",
                         "secrets/secrets.db"):
                self.assertTrue(os.path.exists(os.path.join(dest, name)), name)
            self.assertFalse(os.path.exists(os.path.join(dest, "builds")))
            server.stop()

            restored = KilnServer(data=dest).start()
            cb2 = restored.boto3()
            self.assertEqual(sorted(cb2.list_projects()["projects"]), ["done", "slow"])
            ids = [finished["id"], running["id"], queued["id"]]
            builds = {b["id"]: b for b in cb2.batch_get_builds(ids=ids)["builds"]}
            self.assertEqual(builds[finished["id"]]["buildStatus"], "SUCCEEDED")
            # Running in the copy: the restored server ends it, as after a crash.
            self.assertEqual(builds[running["id"]]["buildStatus"], "FAILED")
            self.assertIn("built-ok", log_of(restored, builds[finished["id"]]))
            # Queued in the copy: the restored server runs it.
            self.assertEqual(wait_for_build(cb2, queued["id"])["buildStatus"], "SUCCEEDED")
            p = restored.boto3("ssm").get_parameter(Name="/bk/p", WithDecryption=True)
            self.assertEqual(p["Parameter"]["Value"], "param-value")
            s = restored.boto3("secretsmanager").get_secret_value(SecretId="bk-secret")
            self.assertEqual(s["SecretString"], "secret-value")
        finally:
            server.cleanup()
            if restored:
                restored.stop()
            shutil.rmtree(dest_parent, ignore_errors=True)


class Executors(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "the build user needs a root server")
    def test_process_builds_cannot_read_the_data_folder(self):
        server = KilnServer().start()
        try:
            cb = server.boto3()
            data = str(server.data)
            checks = "".join(
                "      - if cat %s/%s > /dev/null 2>&1; then echo READ-%s; else echo DENIED-%s; "
                "fi\n" % (data, f, f, f)
                for f in ("keys.json", "credentials", "secrets/master.key", "kiln.db",
                          "secrets/secrets.db"))
            spec = ("version: 0.2\nphases:\n  build:\n    commands:\n"
                    "      - echo \"user=$(id -un)\"\n" + checks +
                    "      - ls %s > /dev/null 2>&1 && echo LISTED || echo NOT-LISTED\n" % data +
                    "      - echo written > out.txt && cat out.txt\n"
                    "      - echo home > $HOME/kiln-home-test && rm $HOME/kiln-home-test\n")
            inline_project(cb, "spy", spec)
            b = wait_for_build(cb, cb.start_build(projectName="spy")["build"]["id"])
            log = log_of(server, b)
            self.assertEqual(b["buildStatus"], "SUCCEEDED", log)
            self.assertIn("user=kiln-build", log)
            self.assertNotIn("\nREAD-", log)
            self.assertEqual(log.count("\nDENIED-"), 5, log)
            self.assertIn("NOT-LISTED", log)
            self.assertIn("\nwritten", log)
            # run-as root would undo the isolation.
            inline_project(cb, "asroot", "version: 0.2\nrun-as: root\nphases:\n  build:\n"
                           "    commands:\n      - cat %s/keys.json\n" % data)
            b = wait_for_build(cb, cb.start_build(projectName="asroot")["build"]["id"])
            self.assertEqual(b["buildStatus"], "FAILED")
            self.assertNotIn("aws_secret", log_of(server, b))
        finally:
            server.cleanup()

    def test_process_is_announced_as_unisolated(self):
        server = KilnServer().start()
        try:
            with open(server.stderr_path) as f:
                self.assertIn("WARNING: --executor process: builds run UNISOLATED", f.read())
        finally:
            server.cleanup()

    def test_without_a_sandbox_there_is_no_silent_fallback(self):
        data = tempfile.mkdtemp(prefix="kiln-df-nobwrap-")
        try:
            env = dict(os.environ, KILN_BWRAP="/nonexistent/bwrap")
            proc = subprocess.run([KILN, "server", "--data", data, "--listen", "127.0.0.1:0"],
                                  capture_output=True, text=True, timeout=30, env=env)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertIn("the sandbox cannot run here", proc.stderr)
            self.assertIn("choose --executor process explicitly", proc.stderr)
        finally:
            shutil.rmtree(data, ignore_errors=True)

    @unittest.skipUnless(IMAGES and os.path.isdir(IMAGES) and shutil.which("bwrap") and
                         os.geteuid() == 0, "needs bwrap, root and KILN_IMAGE_DIR")
    def test_default_executor_is_sandbox(self):
        server = KilnServer(executor=None, extra_args=["--image-dir", IMAGES]).start()
        try:
            cb = server.boto3()
            inline_project(cb, "dflt", OK, environment={
                "type": "LINUX_CONTAINER", "image": "kiln/minimal",
                "computeType": "BUILD_GENERAL1_SMALL"})
            b = wait_for_build(cb, cb.start_build(projectName="dflt")["build"]["id"], 120)
            log = log_of(server, b)
            self.assertEqual(b["buildStatus"], "SUCCEEDED", log)
            self.assertIn("(sandbox executor)", log)
            with open(server.stderr_path) as f:
                self.assertNotIn("UNISOLATED", f.read())
        finally:
            server.cleanup()


class Shutdown(unittest.TestCase):
    def test_sigterm_says_the_server_shut_down(self):
        server = KilnServer().start()
        try:
            cb = server.boto3()
            inline_project(cb, "term", SLEEP)
            build = cb.start_build(projectName="term")["build"]
            wait_running(cb, build["id"])
            server.stop(signal.SIGTERM)
            server.start()
            b = server.boto3().batch_get_builds(ids=[build["id"]])["builds"][0]
            self.assertEqual(b["buildStatus"], "STOPPED")
            contexts = [c["message"] for p in b["phases"] for c in p.get("contexts", [])]
            self.assertIn("Build was stopped because the Kiln server shut down", contexts)
            self.assertNotIn("Build was stopped", contexts)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
