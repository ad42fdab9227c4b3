// The sandbox's system-call filter: Docker's default seccomp profile, compiled with libseccomp
// into classic BPF for `bwrap --seccomp FD`.
//
// Why Docker's profile: it is the filter CodeBuild's own Docker-based builds run under, so what
// builds there also builds here, and it is the most widely exercised allowlist there is. It is
// https://github.com/moby/moby/blob/master/profiles/seccomp/default.json, kept as a table in
// seccomp.cpp with the same groups, in the same order:
//   - an allowlist; everything else fails with EPERM (the profile's defaultErrnoRet);
//   - groups allowed only with a capability (mount, unshare, setns, bpf and the namespace flags
//     of clone need CAP_SYS_ADMIN; chroot CAP_SYS_CHROOT; kcmp CAP_SYS_PTRACE; ...), decided from
//     the capabilities the sandbox really keeps, so `cap_add` widens the filter as it does in
//     Docker;
//   - argument rules: socket(AF_VSOCK) is refused, personality() only takes the harmless
//     values, clone() without CAP_SYS_ADMIN may not make namespaces, and clone3 answers ENOSYS
//     (its flags sit in memory a filter cannot read; glibc then falls back to clone()).
// Architectures: the native ABI only. Docker also allows the 32-bit x86 and x32 ABIs on x86-64
// (the profile's archMap), but libseccomp 2.5 takes 20-100 ms to compile a three-ABI filter
// against about 1 ms for one, and each build compiles its own (a `kiln run` or server worker is
// one process per build), which would spend the sandbox's whole 50 ms start-up budget. A call
// through another ABI (`int 0x80`, x32 numbers) does not bypass the filter: it kills the
// process (SCMP_FLTATR_ACT_BADARCH). So 32-bit x86 programs do not run in the sandbox; to let
// them, the filter would have to be compiled once at Kiln's build time (a generated header of
// BPF for Docker's default capability set) with the three ABIs.
//
// Thread safety: pure; safe from any thread. Not async-signal-safe (allocates).
#pragma once

#include <string>
#include <vector>

#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::sandbox {

// The filter for a sandbox that keeps `capabilities` ("CAP_CHOWN", ...; cap_name() spelling), as
// a BPF program in a memfd at offset 0, O_CLOEXEC (launch.h passes it on to bwrap). Syscall names
// this libseccomp or architecture does not know are skipped, as Docker skips them. kProcess
// naming the libseccomp call that failed.
[[nodiscard]] Result<UniqueFd> seccomp_program(const std::vector<std::string>& capabilities);

}  // namespace kiln::sandbox
