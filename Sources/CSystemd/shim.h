// SPDX-License-Identifier: Apache-2.0
// sd_journal_sendv (sd-journal(3)): one journal entry as an array of FIELD=value iovecs, written to
// /run/systemd/journal/socket. devsyncd's journal log handler is its only user.
#include <systemd/sd-journal.h>
