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

// How devsync starts every child it supervises (the owner callout, SyncEvolution): stdin from /dev/null, stdout
// onto `out` and, if `err` >= 0, stderr onto `err` (else the parent's), no other descriptor, an empty signal mask
// and default handling for every signal (the parent's threads block SIGTERM for the service lifecycle and ignore
// SIGPIPE; a child must start with neither, or `timeout`-style scripts and pipelines misbehave), and a process
// group of its own, so that the whole group can be stopped. Both structures must be initialised by the caller.
#include <signal.h>
static inline void devsync_spawn_setup(posix_spawn_file_actions_t *actions, posix_spawnattr_t *attributes,
                                       int out, int err) {
    posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(actions, out, 1);
    if (err >= 0) posix_spawn_file_actions_adddup2(actions, err, 2);
    devsync_spawn_closefrom(actions, 3);
    sigset_t none, every;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(attributes, &none);
    sigfillset(&every);
    sigdelset(&every, SIGKILL);
    sigdelset(&every, SIGSTOP);
    posix_spawnattr_setsigdefault(attributes, &every);
    posix_spawnattr_setpgroup(attributes, 0);
    posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
}
