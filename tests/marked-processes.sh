# SPDX-License-Identifier: Apache-2.0
# Sourced by the checks that start a whole tree of processes (demo-check.sh, system-bus/interrupt-check.sh): they
# mark it with an environment variable, which every descendant inherits, and look for it afterwards.

# kill_marked VAR=VALUE NAME: reports through `fail` and kills every process whose environment holds VAR=VALUE.
kill_marked() {
    local environ pid
    for environ in /proc/[0-9]*/environ; do
        pid=${environ#/proc/}
        pid=${pid%/environ}
        if tr '\0' '\n' 2>/dev/null <"$environ" | grep -qxF "$1"; then
            fail "$2: left running: pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}
