// SPDX-License-Identifier: Apache-2.0
// sd_journal_sendv (sd-journal(3)): one journal entry as an array of FIELD=value iovecs, written to
// /run/systemd/journal/socket. devsyncd's journal log handler is its only user.
#include <systemd/sd-journal.h>
// sd_hwdb (sd-hwdb(3)): the hardware database libudev reads, opened from a given file when asked
// (Sources/UdevMonitor/Databases/HardwareDatabase.swift).
#include <systemd/sd-hwdb.h>
