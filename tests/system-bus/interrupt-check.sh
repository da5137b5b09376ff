#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make check: interrupts tests/system-bus/rig.py once the owner's sync has passed, when every kind of process it
# starts is running (devsyncd, the bus, the mocks, the testbed, the user's monitor and engine), twice:
#   1. SIGTERM to the rig alone, as a supervisor stops it: its own cleanup must stop them all; exit 143;
#   2. SIGINT to its process group, as a terminal's Ctrl-C: exit 130.
# After each, no process may be left (each carries this check's marker in its environment, and the rig says
# when its own check of that marker found one) and no directory of the rig's. Output is shown only on a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/marked-processes.sh
scratch=$(mktemp -d "${TMPDIR:-/tmp}/devsync-rig-check.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mark="$$-$RANDOM$RANDOM"
rig_arguments=("$@")   # passed on to the rig (--build-dir, --destdir …)
failures=0
fail() { echo "system-bus interrupt-check: FAIL: $*" >&2; failures=$((failures + 1)); }
show() { sed 's/^/  | /' "$scratch/out" >&2; }
rig_dirs() { ls -d /dev/shm/devsync-rig.* "${TMPDIR:-/tmp}"/devsync-rig.* 2>/dev/null | sort || true; }

interrupt() {   # name, kill arguments given the rig's pid, expected status
    local name=$1 how=$2 expected=$3 before rig tenths reached status left
    before=$(rig_dirs)
    : >"$scratch/out"   # before the rig's shell opens it, so that the first look finds it
    set -m   # the rig gets a process group of its own, whose SIGINT is not ignored
    # env --default-signal: nor one this check inherited as ignored (Python would then never see the Ctrl-C).
    DEVSYNC_SYSTEM_BUS_RIG=$mark env --default-signal=INT tests/system-bus/rig.py "${rig_arguments[@]}" >"$scratch/out" 2>&1 </dev/null &
    rig=$!
    set +m
    tenths=600
    until grep -q '^ok   owner_syncs' "$scratch/out" || ! kill -0 "$rig" 2>/dev/null || [ "$tenths" -eq 0 ]; do
        sleep 0.1
        tenths=$((tenths - 1))
    done
    reached=yes
    grep -q '^ok   owner_syncs' "$scratch/out" || reached=''
    kill ${how//PID/$rig} 2>/dev/null || true
    status=0
    wait "$rig" || status=$?
    if [ -z "$reached" ]; then
        fail "$name: the rig did not pass owner_syncs (within 60 s, or before it exited with status $status); its output:"
        show
    elif [ "$status" -ne "$expected" ]; then
        fail "$name: exit status $status, expected $expected; its output:"
        show
    fi
    if grep -q '^FAIL cleanup' "$scratch/out"; then fail "$name: the rig's own cleanup check:"; show; fi
    kill_marked "DEVSYNC_SYSTEM_BUS_RIG=$mark" "$name"
    left=$(comm -13 <(echo "$before") <(rig_dirs))
    [ -z "$left" ] || { fail "$name: left directories: $left"; rm -rf $left; }
}

interrupt "SIGTERM to the rig" "-TERM PID" 143
interrupt "Ctrl-C" "-INT -- -PID" 130

if [ "$failures" -ne 0 ]; then
    exit 1
fi
echo "system-bus interrupt-check: the rig, stopped by SIGTERM and by Ctrl-C after owner_syncs, exited 143 and 130 and left no process or directory"
