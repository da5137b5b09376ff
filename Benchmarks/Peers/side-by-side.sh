#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 17's side-by-side runs: RUNS rounds (default 3) of the peer harness's four invocations, boltd and
# devsyncd (and usbguard, in `all`; the plain-C floor of Benchmarks/CFloor in the other three) one after the other
# in each, then the table of devsyncd / boltd ratios per run and the floor's table (peer-table.py). Run as root on a quiet machine after `make release`; the load average is printed with
# each run and belongs next to the table. Output and JSON go to OUT (default: a new /tmp/devsync-peers.XXXXXX).
#   Benchmarks/Peers/side-by-side.sh [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cfloor="$here/../CFloor/run-peers.sh"
runs=${1:-3}
out=${OUT:-$(mktemp -d /tmp/devsync-peers.XXXXXX)}
mkdir -p "$out"
load() { cut -d' ' -f1-3 /proc/loadavg; }
arguments=()
loads=()
for run in $(seq 1 "$runs"); do
    before=$(load)
    echo "side-by-side: run $run of $runs, load $before" >&2
    "$here/run-peers.sh" all --json "$out/r$run-all.json" >"$out/r$run-all.txt" 2>&1
    # The memory and kernel-order invocations, and a fourth for the udev order's timings, carry the plain-C floor
    # (Benchmarks/CFloor) as one more peer: the table's floor rows come from the same invocations as the ratios.
    "$cfloor" bolt devsyncd cfloor --phases floor,api --json "$out/r$run-api.json" >"$out/r$run-api.txt" 2>&1
    DEVSYNCD_PLUG=kernel "$cfloor" bolt devsyncd cfloor --phases floor,hotplug \
        --json "$out/r$run-kernel.json" >"$out/r$run-kernel.txt" 2>&1
    "$cfloor" bolt devsyncd cfloor --phases floor,hotplug,coldplug \
        --json "$out/r$run-floor.json" >"$out/r$run-floor.txt" 2>&1
    arguments+=(--run "$out/r$run-all.json,$out/r$run-api.json,$out/r$run-kernel.json,$out/r$run-floor.json")
    loads+=(--load "$before → $(load)")
done
"$here/peer-table.py" "${arguments[@]}" "${loads[@]}" | tee "$out/table.md"
echo "side-by-side: figures in $out" >&2
