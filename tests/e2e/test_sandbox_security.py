"""Attacks on the sandbox executor from inside a build (issue 13, findings 1-3; docs/executors.md,
"sandbox"). Each test is an attack that worked before the fix:

1. writing the host's /proc/sys from a build;
2. reaching or sniffing the host's loopback (the Kiln API) from a build on the default network;
3. the syscalls Docker's seccomp profile refuses, and a pids.max that left the host no pids.

The probes are a tiny static C program compiled here and shipped in the build's source folder,
so the tests depend on nothing in the image but /bin/sh."""
import json
import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time

import pytest

from test_executors import MINIMAL, exe_args, lines_with, require

PROBE_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void report(const char* what, long rc) {
  if (rc < 0) printf("%s=%s\n", what, strerrorname_np(errno));
  else printf("%s=OK\n", what);
}

int main(int argc, char** argv) {
  if (argc >= 2 && !strcmp(argv[1], "syscalls")) {
    /* Sockets first: after a successful unshare(CLONE_NEWUSER) they would fail anyway. */
    report("raw", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    report("packet", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
    report("unshare-user", unshare(CLONE_NEWUSER));
    report("unshare-mount", unshare(CLONE_NEWNS));
    report("mount", mount("none", "/mnt", "tmpfs", 0, NULL));
    report("add_key", syscall(SYS_add_key, "user", "kiln", "x", 1, -2));
    report("keyctl", syscall(SYS_keyctl, 0, -2, 0));
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "connect")) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {3, 0};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[3]));
    inet_pton(AF_INET, argv[2], &a.sin_addr);
    char what[64];
    snprintf(what, sizeof what, "connect-%s", argv[2]);
    report(what, connect(s, (struct sockaddr*)&a, sizeof a));
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "sniff")) {  // sniff SECONDS TOKEN
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    report("sniff-open", s);
    if (s < 0) return 0;
    struct timeval tv = {0, 200000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    time_t end = time(NULL) + atoi(argv[2]);
    static char buf[65536];
    int seen = 0;
    while (time(NULL) < end) {
      ssize_t n = recv(s, buf, sizeof buf, 0);
      if (n > 0 && memmem(buf, n, argv[3], strlen(argv[3]))) seen = 1;
    }
    printf("sniff-saw-token=%s\n", seen ? "yes" : "no");
    return 0;
  }
  return 2;
}
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the probe")
    d = tmp_path_factory.mktemp("probe")
    (d / "probe.c").write_text(PROBE_C)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(d / "probe"), str(d / "probe.c")],
                   check=True, capture_output=True)
    return (d / "probe").read_bytes()


@pytest.fixture
def sandbox():
    require("sandbox")


def build(kiln, probe, commands, *args):
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(
        f"      - {json.dumps(c)}\n" for c in commands)  # a JSON string is a YAML scalar
    project = kiln.project(spec)
    (project / "probe").write_bytes(probe)
    (project / "probe").chmod(0o755)
    r = kiln.run(project, *args)
    assert r.record is not None, r.out + r.err
    return r


def has_line(text, line):
    """Whether `line` is a whole line of the output (the log also echoes each command)."""
    return line in (l.strip() for l in text.splitlines())


def values(text):
    """{'name': 'value'} of the probe's name=value lines."""
    out = {}
    for line in text.splitlines():
        name, eq, value = line.rpartition(" ")[2].partition("=")
        if eq and name and value:
            out[name] = value
    return out


def host_address():
    """A non-loopback IPv4 address of this host (not docker0's), or None."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        words = line.split()
        if words[1] != "docker0" and not words[1].startswith("veth"):
            return words[3].split("/")[0]
    return None


class Listener:
    """A TCP listener on the host that counts the connections it accepts."""

    def __init__(self, address):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((address, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.accepted += 1
                c.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# 1. /proc/sys


def test_proc_sys_is_read_only_and_the_host_value_is_unchanged(kiln, sandbox):
    path = pathlib.Path("/proc/sys/kernel/printk_ratelimit_burst")
    before = path.read_text()
    spec = """\
version: 0.2
phases:
  build:
    commands:
      - v=$(cat /proc/sys/kernel/printk_ratelimit_burst); echo $((v+1)) > /proc/sys/kernel/printk_ratelimit_burst && echo WROTE || echo WRITE-FAILED
      - test -w /proc/sys/kernel/core_pattern && echo CORE-WRITABLE || echo CORE-READ-ONLY
      - echo 1 > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ-WRITTEN || echo SYSRQ-REFUSED
      - for p in /proc/keys /proc/timer_list /proc/kcore; do test -e $p && echo "MASKED:$p:$(head -c 64 $p 2>/dev/null | wc -c)"; done; true
      - ls /proc/acpi 2>/dev/null | wc -l | sed 's/^/ACPI-ENTRIES:/'
"""
    r = kiln.build(spec, *exe_args("sandbox"))
    assert path.read_text() == before
    assert r.status == "SUCCEEDED", r.out
    assert has_line(r.out, "WRITE-FAILED") and not has_line(r.out, "WROTE"), r.out
    assert has_line(r.out, "CORE-READ-ONLY"), r.out
    assert not has_line(r.out, "SYSRQ-WRITTEN"), r.out
    for line in lines_with("MASKED:", r.out):
        assert line.endswith(":0"), r.out  # an empty file: /dev/null, not the kernel's
    assert lines_with("ACPI-ENTRIES:", r.out) in ([], ["0"]), r.out


# ---------------------------------------------------------------------------------------------
# 2. Network


def test_default_network_cannot_reach_the_hosts_loopback(kiln, sandbox, probe):
    loop = Listener("127.0.0.1")
    try:
        r = build(kiln, probe, [f"./probe connect 10.0.2.2 {loop.port}",
                                f"./probe connect 127.0.0.1 {loop.port}",
                                "sed -n '3,$p' /proc/net/dev | cut -d: -f1 | tr -d ' ' | sed 's/^/IFACE:/'"],
                  *exe_args("sandbox"))
    finally:
        loop.close()
    v = values(r.out)
    assert v.get("connect-10.0.2.2") not in (None, "OK"), r.out
    assert v.get("connect-127.0.0.1") not in (None, "OK"), r.out
    assert loop.accepted == 0
    assert sorted(lines_with("IFACE:", r.out)) == ["lo", "tap0"], r.out


def test_default_network_reaches_the_hosts_other_addresses(kiln, sandbox, probe):
    address = host_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address")
    outside = Listener(address)
    try:
        r = build(kiln, probe, [f"./probe connect {address} {outside.port}",
                                "grep '^nameserver' /etc/resolv.conf | sed 's/^/DNS:/'"],
                  *exe_args("sandbox"))
    finally:
        outside.close()
    assert values(r.out).get(f"connect-{address}") == "OK", r.out
    assert outside.accepted >= 1
    assert lines_with("DNS:", r.out), r.out  # a resolv.conf written for the build


def test_host_loopback_is_an_explicit_opt_in(kiln, sandbox, probe):
    loop = Listener("127.0.0.1")
    try:
        r = build(kiln, probe, [f"./probe connect 10.0.2.2 {loop.port}"],
                  *exe_args("sandbox", MINIMAL, "--network", "host-loopback"))
    finally:
        loop.close()
    assert values(r.out).get("connect-10.0.2.2") == "OK", r.out
    assert loop.accepted >= 1


def _loopback_chatter(token, stop):
    """Sends `token` over the host's loopback until `stop` is set: another client's API call."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not stop.is_set():
            s.sendto(token.encode(), ("127.0.0.1", 9))
            time.sleep(0.02)


@pytest.mark.parametrize("executor", ["process", "sandbox"])
def test_packet_socket_cannot_see_host_loopback_traffic(kiln, probe, executor):
    if executor == "sandbox":
        require("sandbox")
    elif os.geteuid() != 0:
        pytest.skip("the process executor's control run needs root for AF_PACKET")
    token = f"kiln-secret-{os.getpid()}-{time.time_ns()}"
    stop = threading.Event()
    chatter = threading.Thread(target=_loopback_chatter, args=(token, stop), daemon=True)
    chatter.start()
    try:
        r = build(kiln, probe, [f"./probe sniff 2 {token}"], *exe_args(executor))
    finally:
        stop.set()
        chatter.join()
    v = values(r.out)
    assert v.get("sniff-open") == "OK", r.out  # the attack itself is possible...
    # ...and sees the host's traffic only on the host (the control that the probe works).
    assert v.get("sniff-saw-token") == ("yes" if executor == "process" else "no"), r.out


def test_host_network_cannot_open_raw_or_packet_sockets(kiln, sandbox, probe):
    r = build(kiln, probe, ["./probe syscalls"],
              *exe_args("sandbox", MINIMAL, "--network", "host"))
    v = values(r.out)
    assert v.get("raw") == "EPERM", r.out
    assert v.get("packet") == "EPERM", r.out


# ---------------------------------------------------------------------------------------------
# 3. seccomp and pids


def test_docker_seccomp_profile_refuses_namespace_mount_and_key_syscalls(kiln, sandbox, probe):
    r = build(kiln, probe, ["./probe syscalls", "grep '^Seccomp:' /proc/self/status",
                            "sed -n 's/^Seccomp:/PID1-SECCOMP:/p' /proc/1/status",
                            "unshare -U true 2>&1 || echo UNSHARE-FAILED"],
              *exe_args("sandbox"))
    assert r.status == "SUCCEEDED", r.out
    v = values(r.out)
    for name in ("unshare-user", "unshare-mount", "mount", "add_key", "keyctl"):
        assert v.get(name) == "EPERM", (name, r.out)
    assert "Seccomp:\t2" in r.out, r.out
    # Docker's profile allows ptrace (kernel >= 4.8 re-checks the filter after it). bwrap's pid 1
    # is no way around the filter: it runs under the same filter, with no capabilities.
    assert [l.strip() for l in lines_with("PID1-SECCOMP:", r.out)] == ["2"], r.out
    assert has_line(r.out, "UNSHARE-FAILED"), r.out
    assert v.get("packet") == "OK", r.out  # the private network keeps Docker's CAP_NET_RAW


def _kiln_parent_pids_max():
    for d in ("/sys/fs/cgroup/pids/kiln", "/sys/fs/cgroup/kiln"):
        p = pathlib.Path(d) / "pids.max"
        if p.exists():
            return p
    return None


def test_all_builds_together_leave_the_host_pids(kiln, sandbox):
    r = kiln.build("version: 0.2\nphases:\n  build:\n    commands: [true]\n", *exe_args("sandbox"))
    assert r.status == "SUCCEEDED", r.out
    parent = _kiln_parent_pids_max()
    if parent is None:
        pytest.skip("no pids controller")
    # Unlimited as an older kiln left it: each build must set it again.
    parent.write_text("max")
    r = kiln.build("version: 0.2\nphases:\n  build:\n    commands: [true]\n", *exe_args("sandbox"))
    assert r.status == "SUCCEEDED", r.out
    pid_max = int(pathlib.Path("/proc/sys/kernel/pid_max").read_text())
    assert parent.read_text().strip() == str(pid_max - max(pid_max // 4, 1024))
