#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The peer harness with the plain-C floor as one more peer, `cfloor` (Benchmarks/CFloor/peers.py):
#
#   make release
#   PROJECT=$PWD Benchmarks/CFloor/run-peers.sh bolt devsyncd cfloor --phases floor,api
#   Benchmarks/CFloor/summary.py FILE.json        # the memory rows of docs/benchmarks.md, per peer
#
# It compiles hotplug-floor.c into .build/cfloor/, then runs the harness's peerbench.py as the harness's own
# run-peers.sh does (as root, Debian's python3 under umockdev's preload, the scratch dir a private tmpfs), and
# writes the figures to .build/cfloor/peers-<time>.json unless --json is given, and each memory reading per
# mapped file to .build/cfloor/mappings-<time>.jsonl. The harness is the tree's (Benchmarks/Peers) unless
# PEERS_DIR names another.
set -eu
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PEERS_DIR="${PEERS_DIR:-$ROOT/Benchmarks/Peers}"
if [ ! -f "$PEERS_DIR/peerbench.py" ]; then
    echo "run-peers: no peer harness at $PEERS_DIR (set PEERS_DIR to the directory holding peerbench.py)" >&2
    exit 2
fi
OUT="$ROOT/.build/cfloor"
mkdir -p "$OUT"
export CFLOOR="$OUT/hotplug-floor" PROJECT="${PROJECT:-$ROOT}"
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -o "$CFLOOR" "$HERE/hotplug-floor.c" $(pkg-config --cflags --libs libudev dbus-1)

STAMP="$(date -u +%Y%m%d-%H%M%S)"
JSON=()
case " $* " in *" --json "*) ;; *) JSON=(--json "$OUT/peers-$STAMP.json") ;; esac
# Each smaps_rollup the api phase reads, also per mapped file (peers.py), one JSON line each.
export CFLOOR_MAPPINGS="${CFLOOR_MAPPINGS:-$OUT/mappings-$STAMP.jsonl}"
WORK="$(mktemp -d /tmp/peerbench.XXXXXX)"
MOUNTED=0
if mount -t tmpfs -o size=1g,mode=0700 peerbench "$WORK" 2>/dev/null; then MOUNTED=1; fi
cleanup() {
    if [ "$MOUNTED" = 1 ]; then umount "$WORK" || echo "run-peers: umount $WORK failed" >&2; fi
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export TMPDIR="$WORK"
unset DBUS_SESSION_BUS_ADDRESS DBUS_SYSTEM_BUS_ADDRESS UMOCKDEV_DIR
echo "run-peers: load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
LD_PRELOAD=libumockdev-preload.so.0 /usr/bin/python3 -u "$HERE/peers.py" --workdir "$WORK" "${JSON[@]}" "$@" || rc=$?
echo "run-peers: load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
