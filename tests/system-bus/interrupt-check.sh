#!/usr/bin/env bash
# make check: interrupts tests/system-bus/rig.py as a terminal's Ctrl-C does (SIGINT to its process group) once
# the owner's sync has passed, when every kind of process it starts is running: devsyncd, the bus, the mocks, the
# testbed, the user's monitor and engine. The rig must exit 130 and leave no process (each carries this check's
# marker in its environment) and no directory of its own in TMPDIR. Its output is shown only on a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d "${TMPDIR:-/tmp}/devsync-rig-check.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mark="$$-$RANDOM$RANDOM"
failures=0
fail() { echo "system-bus interrupt-check: FAIL: $*" >&2; failures=$((failures + 1)); }
show() { sed 's/^/  | /' "$scratch/out" >&2; }

before=$(ls -d /dev/shm/devsync-rig.* "${TMPDIR:-/tmp}"/devsync-rig.* 2>/dev/null || true)
set -m
DEVSYNC_SYSTEM_BUS_RIG=$mark tests/system-bus/rig.py "$@" >"$scratch/out" 2>&1 </dev/null &
rig=$!
set +m
tenths=600
until grep -q '^ok   owner_syncs' "$scratch/out" || ! kill -0 "$rig" 2>/dev/null || [ "$tenths" -eq 0 ]; do
    sleep 0.1
    tenths=$((tenths - 1))
done
grep -q '^ok   owner_syncs' "$scratch/out" || { fail "the rig never passed owner_syncs; its output:"; show; }
kill -INT -- "-$rig" 2>/dev/null || true
status=0
wait "$rig" || status=$?
[ "$status" -eq 130 ] || { fail "interrupted rig: exit status $status, expected 130; its output:"; show; }
# The rig looks for its leftovers itself (and kills them); then it says so.
if grep -q '^FAIL cleanup' "$scratch/out"; then fail "the rig's own cleanup check:"; show; fi

for environ in /proc/[0-9]*/environ; do
    pid=${environ#/proc/}
    pid=${pid%/environ}
    if tr '\0' '\n' 2>/dev/null <"$environ" | grep -qx "DEVSYNC_SYSTEM_BUS_RIG=$mark"; then
        fail "left running: pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
        kill -KILL "$pid" 2>/dev/null || true
    fi
done
after=$(ls -d /dev/shm/devsync-rig.* "${TMPDIR:-/tmp}"/devsync-rig.* 2>/dev/null || true)
left=$(comm -13 <(echo "$before" | sort) <(echo "$after" | sort))
[ -z "$left" ] || fail "left directories: $left"

if [ "$failures" -ne 0 ]; then
    exit 1
fi
echo "system-bus interrupt-check: the rig, interrupted after owner_syncs, exited 130 and left no process or directory"
