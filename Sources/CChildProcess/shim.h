// SPDX-License-Identifier: Apache-2.0
// What supervising a child process needs beyond Swift's Glibc module, which leaves these out.
#include <fcntl.h>
#include <sys/pidfd.h>  // pidfd_open (glibc 2.36, Linux 5.3): a process's exit as a readable descriptor

// pipe2 is declared only under _GNU_SOURCE; O_CLOEXEC at creation keeps the pipe out of concurrent spawns.
static inline int devsync_cloexec_pipe(int fds[2]) {
    extern int pipe2(int fds[2], int flags);
    return pipe2(fds, O_CLOEXEC);
}

// glibc 2.34; declared only under __USE_MISC. Closes every descriptor from `from` up in the child, so a callout
// inherits none of the daemon's sockets or files, whatever their close-on-exec flag.
#include <spawn.h>
static inline int devsync_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
    extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *, int);
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
