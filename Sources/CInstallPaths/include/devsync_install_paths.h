// SPDX-License-Identifier: Apache-2.0
#ifndef DEVSYNC_INSTALL_PATHS_H
#define DEVSYNC_INSTALL_PATHS_H

/* The directories devsync was built to be installed in, compiled into install_paths.c from
 * -DDEVSYNC_PROFILEDIR=… and -DDEVSYNC_CONFIGDIR=…, which the Makefile passes (-Xcc) from PROFILEDIR and
 * CONFIGDIR. Swift code reads them through DevsyncBuild's BuildConfiguration. */

/* Where the packaged profiles are installed, e.g. "/usr/share/devsync/fdi-profiles". */
const char *devsync_install_profiledir(void);
/* devsync's configuration directory, e.g. "/etc/devsync": devsyncd.conf and the administrator's profiles. */
const char *devsync_install_configdir(void);

#endif
