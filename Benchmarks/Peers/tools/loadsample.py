#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Load sampler used for results/turn2-*.load.txt:  loadsample.py ROOT_PID [INTERVAL]
Every INTERVAL s (default 5): load average, machine CPU busy % (both cores = 200 %), CPU % of
processes outside the run (not descended from ROOT_PID, e.g. the shell running run-peers.sh),
and the top foreign and own processes by CPU in the interval.  Reads /proc only; stops when
ROOT_PID exits."""
import os, sys, time
root = int(sys.argv[1]); interval = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
HZ = os.sysconf('SC_CLK_TCK')

def procs():
    out = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index('(') + 1:s.rindex(')')]
        rest = s[s.rindex(')') + 2:].split()
        out[int(d)] = (comm, int(rest[1]), int(rest[11]) + int(rest[12]))  # comm, ppid, ticks
    return out

def cpu_total():
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v), idle

def mine(p, table, root):
    seen = 0
    while p and seen < 64:
        if p == root:
            return True
        p = table.get(p, ('', 0, 0))[1]
        seen += 1
    return False

prev, (t0, i0) = procs(), cpu_total()
while True:
    time.sleep(interval)
    if not os.path.exists('/proc/%d' % root):
        break
    cur, (t1, i1) = procs(), cpu_total()
    busy = 100.0 * 2 * (1 - (i1 - i0) / max(1, t1 - t0))
    foreign, own = [], []
    for pid, (comm, ppid, ticks) in cur.items():
        d = ticks - prev.get(pid, (comm, ppid, 0))[2] if pid in prev else ticks
        if d <= 0:
            continue
        pct = 100.0 * d / HZ / interval
        (own if mine(pid, cur, root) else foreign).append((pct, comm))
    f = sum(p for p, _ in foreign)
    with open('/proc/loadavg') as fl:
        la = ' '.join(fl.read().split()[:3])
    top_f = ' '.join('%s:%.0f' % (c, p) for p, c in sorted(foreign, reverse=True)[:3])
    top_o = ' '.join('%s:%.0f' % (c, p) for p, c in sorted(own, reverse=True)[:3])
    print('%s load %s busy %3.0f%% foreign %3.0f%% [%s] own [%s]' % (
        time.strftime('%H:%M:%S'), la, busy, f, top_f, top_o), flush=True)
    prev, t0, i0 = cur, t1, i1
