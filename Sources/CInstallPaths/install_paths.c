// SPDX-License-Identifier: Apache-2.0
#include "devsync_install_paths.h"

/* Without the Makefile's defines (a plain `swift build`), the directories of its default PREFIX=/usr/local:
 * PROFILEDIR=$(PREFIX)/share/devsync/fdi-profiles, CONFIGDIR=$(SYSCONFDIR)/devsync with SYSCONFDIR=/etc. */
#ifndef DEVSYNC_PROFILEDIR
#define DEVSYNC_PROFILEDIR "/usr/local/share/devsync/fdi-profiles"
#endif
#ifndef DEVSYNC_CONFIGDIR
#define DEVSYNC_CONFIGDIR "/etc/devsync"
#endif

const char *devsync_install_profiledir(void) { return DEVSYNC_PROFILEDIR; }
const char *devsync_install_configdir(void) { return DEVSYNC_CONFIGDIR; }
