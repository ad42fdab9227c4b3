"""Timeouts, Ctrl-C and process cleanup, end to end: no process of a build survives it."""
import os
import signal
import subprocess
import time

import pytest


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def wait_gone(pids, seconds=5):
    deadline = time.time() + seconds
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


DAEMON = """\
version: 0.2
phases:
  build:
    commands:
      - setsid nohup sh -c 'echo $$ > {pids}/daemon.pid; exec sleep 300' > /dev/null 2>&1 &
      - sh -c 'echo $$ > {pids}/child.pid; exec sleep 300'
  post_build:
    commands: [echo post]
"""


@pytest.mark.host_only  # host tools (git) or host pid files
def test_timeout_kills_the_tree_including_daemons(kiln, tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    start = time.time()
    r = kiln.build(DAEMON.format(pids=pids), "--timeout", "0.05")  # 3 seconds
    assert time.time() - start < 30
    assert r.code == 1
    assert r.status == "TIMED_OUT"
    assert r.phase("BUILD")["phaseStatus"] == "TIMED_OUT"
    assert r.phase("POST_BUILD") is None
    daemon = int((pids / "daemon.pid").read_text())
    child = int((pids / "child.pid").read_text())
    assert wait_gone([daemon, child]) == []


def test_ctrl_c_stops_the_build_and_writes_the_record(kiln, tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    p = kiln.project(DAEMON.format(pids=pids))
    record = tmp_path / "stopped.json"
    proc = subprocess.Popen([kiln.bin, "run", "-s", str(p), "-a", str(tmp_path / "a"),
                             "--json", str(record), "--no-color"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not (pids / "child.pid").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (pids / "child.pid").exists()
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    import json
    rec = json.loads(record.read_text())
    assert rec["buildStatus"] == "STOPPED"
    assert rec["buildComplete"] is True
    phases = {ph["phaseType"]: ph.get("phaseStatus") for ph in rec["phases"]}
    assert phases["BUILD"] == "STOPPED"
    daemon = int((pids / "daemon.pid").read_text())
    child = int((pids / "child.pid").read_text())
    assert wait_gone([daemon, child]) == []


@pytest.mark.host_only  # host tools (git) or host pid files
def test_no_process_survives_a_successful_build(kiln, tmp_path):
    r = kiln.build(f"""\
        version: 0.2
        phases:
          build:
            commands:
              - nohup sh -c 'echo $$ > {tmp_path}/bg.pid; exec sleep 300' > /dev/null 2>&1 &
              - sleep 0.2
        """)
    assert r.status == "SUCCEEDED"
    assert wait_gone([int((tmp_path / "bg.pid").read_text())]) == []
