#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make check: runs `make demo`'s script (scripts/demo) twice, as a user would, and checks that it cleans up:
#   1. to the end: it must exit 0 having told the whole story;
#   2. interrupted by Ctrl-C (SIGINT to its process group, as a terminal sends it) once devsyncd runs: it must
#      exit 130.
# After each run no process it started may be left (each carries a marker in its environment, which is how they
# are found) and its TMPDIR, where the demo keeps everything, must be empty. Uses the debug binaries `make check`
# has just built. The demo's output is shown only when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/marked-processes.sh
scratch=$(mktemp -d "${TMPDIR:-/tmp}/devsync-demo-check.XXXXXX")
chmod 755 "$scratch"   # run as root, the demo's users (nobody) reach its directory, below this one
trap 'rm -rf "$scratch"' EXIT
mark="$$-$RANDOM$RANDOM"
failures=0
fail() { echo "demo-check: FAIL: $*" >&2; failures=$((failures + 1)); }

# Kills (and reports) every process carrying this check's marker; reports files left in the run's TMPDIR.
leftovers() {   # run name
    kill_marked "DEVSYNC_DEMO_CHECK=$mark" "$1"
    if [ -n "$(ls -A "$scratch/tmp")" ]; then
        fail "$1: left files: $(find "$scratch/tmp" -mindepth 1 -maxdepth 2 | tr '\n' ' ')"
        rm -rf "${scratch:?}/tmp"
    fi
    mkdir -p "$scratch/tmp"
}

show() { sed 's/^/  | /' "$1" >&2; }
mkdir -p "$scratch/tmp"
export DEVSYNC_DEMO_CHECK=$mark

# 1. The whole story.
started=$(date +%s.%N)
status=0
TMPDIR=$scratch/tmp scripts/demo >"$scratch/full.out" 2>&1 </dev/null || status=$?
seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ "$status" -ne 0 ]; then
    fail "full run: exit status $status, expected 0; its output:"
    show "$scratch/full.out"
else
    for line in 'sync-all succeeded' 'Imported 3 new photos from Canon, Inc. EOS 600D / Rebel T3i (ptp) into ' \
        'No new photos or videos on Canon, Inc. EOS 600D / Rebel T3i (ptp); 3 imported before.' 'IMG_0003.JPG' \
        'devsyncd exited with status 0' 'processes the demo started and removed'; do
        grep -q "$line" "$scratch/full.out" || { fail "full run: no '$line' in its output:"; show "$scratch/full.out"; }
    done
fi
leftovers "full run"

# 2. Ctrl-C once the story has begun. Job control gives the demo its own process group whose SIGINT is not
# ignored (a non-interactive shell's background jobs ignore it), as in a terminal; env --default-signal undoes
# an ignored SIGINT this check inherited (started in the background, by nohup, by a CI runner), which bash could
# not trap and which the demo would then run through to the end.
: >"$scratch/interrupted.out"
set -m
TMPDIR=$scratch/tmp env --default-signal=INT scripts/demo >"$scratch/interrupted.out" 2>&1 </dev/null &
demo=$!
set +m
tenths=600
until grep -q '^== 3\.' "$scratch/interrupted.out" || ! kill -0 "$demo" 2>/dev/null || [ "$tenths" -eq 0 ]; do
    sleep 0.1
    tenths=$((tenths - 1))
done
kill -INT -- "-$demo" 2>/dev/null || true
status=0
wait "$demo" || status=$?
if [ "$status" -ne 130 ]; then
    fail "interrupted run: exit status $status, expected 130; its output:"
    show "$scratch/interrupted.out"
fi
leftovers "interrupted run"

if [ "$failures" -ne 0 ]; then
    echo "demo-check: $failures failure(s)" >&2
    exit 1
fi
echo "demo-check: the demo ran to the end in ${seconds} s and, run again and interrupted, exited 130; neither left a process or a file"
