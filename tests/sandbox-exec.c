// SPDX-License-Identifier: Apache-2.0
/* Runs a program under a seccomp filter like the one systemd builds from devsyncd.service's
 * SystemCallFilter=~… lines: the system calls in killed[] kill the process (SIGSYS), those in eperm[] fail with EPERM,
 * everything else is allowed. tests/install-tree.sh generates sandbox-syscalls.h (two lists of __NR_ numbers) from
 * the installed unit, compiles this and runs the installed devsyncd under it, as far as a machine without
 * systemd as PID 1 can reproduce the unit's sandbox.
 *
 * Usage: sandbox-exec PROGRAM [ARGUMENT…] */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* static const int killed[] = { __NR_…, …, -1 }; static const int eperm[] = { …, -1 }; */
#include "sandbox-syscalls.h"

int main(int argc, char **argv) {
    enum { killedCount = sizeof killed / sizeof killed[0] - 1, epermCount = sizeof eperm / sizeof eperm[0] - 1 };
    struct sock_filter filter[2 + 2 * (killedCount + epermCount)];
    size_t n = 0;
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < epermCount; i++) {
        filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)eperm[i], 0, 1);
        filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    for (size_t i = 0; i < killedCount; i++) {
        filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)killed[i], 0, 1);
        filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    }
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog program = { (unsigned short)n, filter };
    if (argc < 2) {
        fprintf(stderr, "usage: sandbox-exec PROGRAM [ARGUMENT...]\n");
        return 2;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        perror("sandbox-exec: seccomp");
        return 127;
    }
    execv(argv[1], argv + 1);
    perror("sandbox-exec: execv");
    return 127;
}
