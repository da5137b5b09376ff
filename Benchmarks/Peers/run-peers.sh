#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Peer benchmark harness: measures hotplug->D-Bus latency, cold-plug time and
# idle cost of established device daemons (bolt, usbguard) and of devsyncd
# against a umockdev testbed and a private dbus-daemon.
#
#   run-peers.sh [bolt|usbguard|devsyncd|usbguard-uevent|all] [peerbench.py options]
#   run-peers.sh all --cycles 200 --repeat 3
#   run-peers.sh --help
#
# Must run as root (both peers insist on it) with Debian's /usr/bin/python3
# (dbus-python, GI UMockdev). Everything temporary goes under one
# /tmp/peerbench.XXXXXX directory that is removed on exit (--keep keeps it).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PRELOAD=libumockdev-preload.so.0

if ! /usr/bin/python3 -c 'import dbus, gi; gi.require_version("UMockdev", "1.0"); from gi.repository import UMockdev' 2>/dev/null; then
    echo "run-peers: /usr/bin/python3 lacks dbus-python or GI UMockdev (apt-get install python3-dbus gir1.2-umockdev-1.0 python3-gi)" >&2
    exit 2
fi

WORK="$(mktemp -d /tmp/peerbench.XXXXXX)" || exit 2
KEEP=0; TMPFS=1
for a in "$@"; do
    [ "$a" = "--keep" ] && KEEP=1
    [ "$a" = "--no-tmpfs" ] && TMPFS=0
done
# By default the scratch dir is a private tmpfs mounted on $WORK: umockdev
# testbeds on ext4 pay for fsync/rename on every sysfs attribute write
# (add_from_string of one USB device: ~4 ms on ext4, ~1.9 ms on tmpfs), which
# lands inside usbguard's latency (its testbed lives in the daemon). Real
# sysfs is in memory, so tmpfs is the closer stand-in. --no-tmpfs disables it.
MOUNTED=0
if [ "$TMPFS" = 1 ]; then
    if mount -t tmpfs -o size=1g,mode=0700 peerbench "$WORK" 2>/dev/null; then
        MOUNTED=1
    else
        echo "run-peers: could not mount tmpfs on $WORK, using $(stat -f -c %T "$WORK")" >&2
    fi
fi
cleanup() {
    if [ "$KEEP" = 1 ]; then
        if [ "$MOUNTED" = 1 ]; then
            cp -a "$WORK" "$WORK.kept" 2>/dev/null
            echo "run-peers: kept a copy in $WORK.kept" >&2
        else
            echo "run-peers: kept $WORK" >&2
        fi
    fi
    if [ "$MOUNTED" = 1 ]; then umount "$WORK" || echo "run-peers: umount $WORK failed" >&2; fi
    if [ "$KEEP" = 0 ] || [ "$MOUNTED" = 1 ]; then rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# GLib caches TMPDIR on first use, so set it before Python starts: umockdev
# testbeds (ours and the one usbguard creates in-process) land under $WORK.
export TMPDIR="$WORK"
unset DBUS_SESSION_BUS_ADDRESS DBUS_SYSTEM_BUS_ADDRESS UMOCKDEV_DIR
# The driver itself must run under the preload, or tb.uevent() cannot reach
# the daemons' wrapped netlink sockets.
LD_PRELOAD="$PRELOAD" /usr/bin/python3 -u "$HERE/peerbench.py" --workdir "$WORK" "$@"
rc=$?
exit $rc
