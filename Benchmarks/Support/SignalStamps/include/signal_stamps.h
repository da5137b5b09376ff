// SPDX-License-Identifier: Apache-2.0
#ifndef SIGNAL_STAMPS_H
#define SIGNAL_STAMPS_H

#include <stddef.h>
#include <stdint.h>

/// A plain libdbus client on a thread of its own, blocked in poll on its socket as a main-loop client is: every
/// signal its match rule lets through is stamped (CLOCK_MONOTONIC and CLOCK_REALTIME) as soon as the thread has
/// read it, and queued for signal_stamps_next.
typedef struct signal_stamps signal_stamps;

/// Connects to `address`, registers, adds `rule`, and starts the reading thread; NULL with a message on stderr if
/// any step fails.
signal_stamps *signal_stamps_start(const char *address, const char *rule);

/// Waits for the next signal: copies its member and its first argument when that is a string or an object path
/// (else ""), and its stamps. Returns 0, or -1 once the connection is gone.
int signal_stamps_next(signal_stamps *stamps, char *member, size_t member_size, char *argument, size_t argument_size,
                       uint64_t *monotonic_ns, uint64_t *realtime_ns);

/// Stops the thread and closes the connection.
void signal_stamps_stop(signal_stamps *stamps);

#endif
