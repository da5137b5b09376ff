// SPDX-License-Identifier: Apache-2.0
// devsyncd's main thread as the thread of its event queue: it drains libdispatch's main queue, which the daemon's
// serial queue targets (docs/benchmarks.md, "Idle wakeups").
//
// Why: a serial DispatchQueue of its own runs on libdispatch's overcommit root queue, whose pool threads end
// 5 s after their last job (`_dispatch_worker_thread` in swift-corelibs-libdispatch's src/queue.c, a fixed
// timeout). Every burst (a cold-plug, a hotplug, a flood of calls) so left a thread that woke once more to exit,
// an idle wakeup with nothing to do. The main thread never exits, so as an event loop it costs no wakeup of its
// own: it sleeps in poll() until libdispatch pokes the main queue's eventfd, as a CFRunLoop does with the same
// two calls, and systemd's daemons do with their one sd-event loop.
#include "devsync_task_pool.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>

// libdispatch's run-loop interface (queue.c, "dispatch_main_queue"); exported on Linux for CoreFoundation.
extern int _dispatch_get_main_queue_handle_4CF(void);
extern void _dispatch_main_queue_callback_4CF(void *unused);

void devsync_main_queue_run(void) {
    int handle = _dispatch_get_main_queue_handle_4CF();
    struct pollfd ready = {.fd = handle, .events = POLLIN};
    for (;;) {
        if (poll(&ready, 1, -1) < 0) continue;  // EINTR
        // Reset the eventfd (non-blocking) before draining: a job queued while the drain runs pokes it again.
        eventfd_t pokes;
        (void)eventfd_read(handle, &pokes);
        _dispatch_main_queue_callback_4CF(0);
    }
}
