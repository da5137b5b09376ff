#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Resident memory and idle wakeups of devsync-agent, connected and idle (docs/agent.md, "Size and wakeups").

Starts two private dbus-daemons, one standing for the system bus, one for the session bus; on the first a
stand-in broker (python-dbusmock owning org.devsync.Broker1 with an ObjectManager at /org/devsync/Broker1, no
devices), on the second python-dbusmock's notification_daemon with the "actions" capability. Then runs the agent
binary given, waits until it has found both, lets it settle, and reads from /proc: VmRSS, Pss (smaps_rollup), the
thread count, and every thread's voluntary + involuntary context switches before and after an idle interval (each
is one wakeup). Then SIGTERM, and the exit status. Also prints the binary's size, and its size stripped.

    /usr/bin/python3 Benchmarks/Agent/resources.py --binary .build-static/release/devsync-agent [--idle 10] [--settle 2] [--runs 3]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow eavesdrop="true"/></policy>
</busconfig>
"""


def wait_for(predicate, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"gave up waiting for {what}")
        time.sleep(0.05)


def switches(pid):
    """Each thread's voluntary + involuntary context switches, by thread id."""
    counts = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as status:
                counts[task] = sum(int(line.split()[1]) for line in status
                                   if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        except FileNotFoundError:
            continue
    return counts


def wakeups(before, after):
    """Switches in the interval: those of threads alive at both ends, all of a new thread's, one per ended one."""
    total = sum(count - before.get(task, 0) for task, count in after.items())
    return total + sum(1 for task in before if task not in after)


def field(pid, name, path="status"):
    with open(f"/proc/{pid}/{path}") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def run_once(binary, idle, settle, work):
    processes = []
    try:
        env = dict(os.environ)
        addresses = {}
        for bus in ("system", "session"):
            socket = f"{work}/{bus}"
            with open(f"{work}/{bus}.conf", "w") as file:
                file.write(CONFIG.format(socket=socket))
            processes.append(subprocess.Popen(["dbus-daemon", f"--config-file={work}/{bus}.conf", "--nofork"]))
            wait_for(lambda: os.path.exists(socket), f"the {bus} bus")
            addresses[bus] = f"unix:path={socket}"
        env.update(DBUS_SYSTEM_BUS_ADDRESS=addresses["system"], DBUS_SESSION_BUS_ADDRESS=addresses["session"])
        broker_env = dict(env, DBUS_SESSION_BUS_ADDRESS=addresses["system"])
        processes.append(subprocess.Popen(
            ["/usr/bin/python3", "-m", "dbusmock", "-m", "org.devsync.Broker1", "/org/devsync/Broker1",
             "org.devsync.Broker1.Manager"], env=broker_env, stdout=subprocess.DEVNULL))
        processes.append(subprocess.Popen(
            ["/usr/bin/python3", "-m", "dbusmock", "--template", "notification_daemon", "-p",
             '{"capabilities": "body actions"}'], env=env, stdout=subprocess.DEVNULL))
        for name, bus in (("org.devsync.Broker1", "system"), ("org.freedesktop.Notifications", "session")):
            subprocess.run(["gdbus", "wait", "--session", "--timeout", "20", name], check=True,
                           env=dict(env, DBUS_SESSION_BUS_ADDRESS=addresses[bus]))
        log = open(f"{work}/agent.log", "w")
        agent = subprocess.Popen([binary, "--log-level", "info"], env=env, stderr=log)
        processes.append(agent)

        def ready():
            with open(f"{work}/agent.log") as file:
                text = file.read()
            return "devsyncd is on the system bus" in text and "notification server is on" in text
        wait_for(ready, "the agent to find the broker and the notification server")
        time.sleep(settle)
        before = switches(agent.pid)
        time.sleep(idle)
        after = switches(agent.pid)
        rss, pss = field(agent.pid, "VmRSS"), field(agent.pid, "Pss", "smaps_rollup")
        threads = field(agent.pid, "Threads")
        agent.send_signal(signal.SIGTERM)
        status = agent.wait(10)
        if os.environ.get("DEVSYNC_BENCH_VERBOSE"):
            print("  threads before", before, "after", after)
        return rss, pss, threads, wakeups(before, after), status
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                process.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build-static/release/devsync-agent")
    parser.add_argument("--idle", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2,
                        help="seconds between finding both peers and the idle interval (libdispatch's worker "
                             "threads of the start-up end about 5 s after their last job)")
    arguments = parser.parse_args()
    size = os.path.getsize(arguments.binary)
    with tempfile.TemporaryDirectory(prefix="devsync-agent-bench.") as work:
        stripped = f"{work}/stripped"
        shutil.copy(arguments.binary, stripped)
        subprocess.run(["strip", "--strip-all", stripped], check=True)
        print(f"{arguments.binary}: {size / 1e6:.2f} MB, {os.path.getsize(stripped) / 1e6:.2f} MB stripped")
        for run in range(arguments.runs):
            rss, pss, threads, wakeups, status = run_once(os.path.abspath(stripped), arguments.idle, arguments.settle, work)
            print(f"run {run + 1}: VmRSS {rss / 1024:.1f} MB, Pss {pss / 1024:.1f} MB, {threads} threads, "
                  f"{wakeups} wakeups in {arguments.idle:g} idle seconds, exit status {status}")


if __name__ == "__main__":
    main()
