"""A seccomp filter for student code: the system calls it has no use for fail with EPERM.

The filter is compiled by libseccomp (present wherever apt is: apt depends on it) in the
grader, and the worker installs it on itself before it runs student code, after Landlock, with
or without bubblewrap. It closes what the other layers leave open: sockets of every family
(UDP, vsock, MPTCP and TCP Fast Open included, where there are no namespaces), System V shared
memory, queues and semaphores (memory that outlives a process and escapes its memory limit),
kernel keyrings, new namespaces and mounts, tracing, io_uring (which bypasses seccomp for the
operations it queues), BPF, perf events and userfaultfd. System calls of another architecture
(32-bit ones on a 64-bit kernel) kill the process, as libseccomp's filters do by default.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import tempfile

DENIED = (
    # network and local sockets
    "socket",
    "socketpair",
    # System V and POSIX IPC: segments and queues outlive the process and its memory limit
    "shmget",
    "msgget",
    "semget",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    # kernel keyrings: quota shared by the uid, left behind after exit
    "add_key",
    "request_key",
    "keyctl",
    # namespaces, mounts and the file-system root
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsmount",
    # other processes and the kernel
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "init_module",
    "finit_module",
    "kexec_load",
    "open_by_handle_at",
)

_ALLOW = 0x7FFF0000  # SCMP_ACT_ALLOW
_EPERM = 0x00050000 | errno.EPERM  # SCMP_ACT_ERRNO(EPERM)


@functools.cache
def filter_program() -> bytes | None:
    """The filter as a BPF program (what ``prctl(PR_SET_SECCOMP)`` loads), or None where
    libseccomp is not installed."""
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    context = lib.seccomp_init(_ALLOW)
    if not context:
        return None
    try:
        for name in DENIED:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not a system call on this architecture
                continue
            if lib.seccomp_rule_add(context, _EPERM, number, 0) != 0:
                return None
        with tempfile.TemporaryFile() as program:
            if lib.seccomp_export_bpf(context, program.fileno()) != 0:
                return None
            program.seek(0)
            return program.read()
    finally:
        lib.seccomp_release(context)
