#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Resident memory and idle wakeups of the whole devsyncd, with N USB sync devices present at start.

Runs the built devsyncd (default .build/release/devsyncd) on a private dbus-daemon over a umockdev testbed
holding N Palm handhelds (distinct serials, so N devices), waits until it owns org.devsync.Broker1 and has
published them all, lets it settle, then reads from /proc:

  - VmRSS, VmHWM and RssAnon/RssFile of the process, Pss from smaps_rollup;
  - the context switches (voluntary + involuntary) of every thread, summed, before and after an idle interval:
    each is one wakeup of a thread of the daemon; a thread started or ended in the interval counts one more.

Then SIGTERM, and the exit status. Needs Debian's python3 (gi with UMockdev), dbus-daemon, umockdev, and
umockdev's preload in this process too (the testbed's parent devices exist only under it):

    LD_PRELOAD=libumockdev-preload.so.0 /usr/bin/python3 Benchmarks/Daemon/resources.py [--devices 100] [--idle 10] [--binary PATH] [--runs 3] [--daemon-arg=--modules-alias=FILE ...]
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

# A command to run devsyncd under (valgrind --tool=massif …), from DEVSYNC_RESOURCES_WRAPPER; figures are then
# the wrapper's, not devsyncd's.
WRAPPER = os.environ.get("DEVSYNC_RESOURCES_WRAPPER", "").split()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def palm(testbed, host, index):
    """A Palm Tungsten (visor driver, two usb-serial ports), as Tests/DevsyncTestSupport's fixture."""
    port = f"1-{index + 1}"
    serial = f"PalmSN{index:08d}"
    attributes = ["idVendor", "0830", "idProduct", "0061", "bcdDevice", "0100", "bDeviceClass", "00",
                  "bDeviceSubClass", "00", "bDeviceProtocol", "00", "bNumInterfaces", " 1",
                  "bConfigurationValue", "1", "busnum", "1", "devnum", str(index + 2),
                  "manufacturer", "Palm, Inc.", "product", "Palm Handheld", "serial", serial]
    properties = ["DEVTYPE", "usb_device", "PRODUCT", "830/61/100", "TYPE", "0/0/0", "BUSNUM", "001",
                  "DEVNUM", f"{index + 2:03d}"]
    device = testbed.add_device("usb", port, host, attributes, properties)
    interface = testbed.add_device(
        "usb", f"{port}:1.0", device,
        ["bInterfaceNumber", "00", "bAlternateSetting", " 0", "bInterfaceClass", "ff",
         "bInterfaceSubClass", "00", "bInterfaceProtocol", "00"],
        ["DEVTYPE", "usb_interface", "PRODUCT", "830/61/100", "INTERFACE", "255/0/0"])
    for tty in (f"ttyUSB{2 * index}", f"ttyUSB{2 * index + 1}"):
        serial_port = testbed.add_device("usb-serial", tty, interface, [], [])
        testbed.add_device("tty", tty, serial_port, [], ["DEVNAME", f"/dev/{tty}"])


def private_bus(directory):
    socket = os.path.join(directory, "bus")
    config = os.path.join(directory, "bus.conf")
    with open(config, "w") as file:
        file.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
""")
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=plain_environment())
    bus.stdout.readline()
    return bus, f"unix:path={socket}"


def plain_environment():
    """This process's environment without umockdev's preload: only devsyncd should see the testbed."""
    return {key: value for key, value in os.environ.items() if key not in ("LD_PRELOAD", "UMOCKDEV_DIR")}


def status_fields(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def kib(text):
    return int(text.split()[0])


def pss(pid):
    with open(f"/proc/{pid}/smaps_rollup") as file:
        text = file.read()
    return {key: int(value) for key, value in re.findall(r"^(Pss\w*):\s+(\d+) kB", text, re.M)}


def rss_by_file(pid, binary):
    """Rss and Pss (KiB) of each mapped file, summed over its mappings (the daemon's own by permissions);
    anonymous memory under "[anon]"."""
    totals = {}
    name = None
    with open(f"/proc/{pid}/smaps") as file:
        for line in file:
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = os.path.basename(head[5]) if len(head) > 5 else "[anon]"
                if name == os.path.basename(binary):
                    name += f" ({head[1]})"
            elif head and head[0] in ("Rss:", "Pss:"):
                rss, pss_ = totals.get(name, (0, 0))
                totals[name] = (rss + int(head[1]), pss_) if head[0] == "Rss:" else (rss, pss_ + int(head[1]))
    return totals


def switches(pid):
    """Context switches of each thread, by tid: (name, voluntary, involuntary)."""
    result = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = status_fields(f"{pid}/task/{tid}")
        except FileNotFoundError:
            continue
        result[tid] = (fields["Name"], int(fields["voluntary_ctxt_switches"]),
                       int(fields["nonvoluntary_ctxt_switches"]))
    return result


def run_once(binary, devices, idle, settle, extra=()):
    directory = tempfile.mkdtemp(prefix="devsync-resources-")
    testbed = UMockdev.Testbed.new()
    host = testbed.add_device("pci", "0000:00:14.0", None, [], [])
    for index in range(devices):
        palm(testbed, host, index)
    bus, address = private_bus(directory)
    log_path = os.path.join(directory, "devsyncd.log")
    environment = dict(plain_environment(), LD_PRELOAD="libumockdev-preload.so.0", UMOCKDEV_DIR=testbed.get_root_dir(),
                       DBUS_SYSTEM_BUS_ADDRESS=address)
    with open(log_path, "w") as log:
        daemon = subprocess.Popen(
            WRAPPER + [binary, "--bus", address, "--state-dir", os.path.join(directory, "state"),
             "--profiles", os.path.join(ROOT, "fdi-profiles")] + list(extra),
            env=environment, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + (600 if WRAPPER else 60)
        while "devsyncd ready" not in open(log_path).read():
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"devsyncd did not become ready:\n{open(log_path).read()}")
            time.sleep(0.05)
        ready = re.search(r"devices=(\d+)", open(log_path).read())
        published = int(ready.group(1)) if ready else -1
        time.sleep(settle)
        if os.environ.get("DEVSYNC_RESOURCES_HOOK"):
            # The hook gets the daemon's pid, and its bus in DEVSYNC_RESOURCES_BUS.
            subprocess.run([os.environ["DEVSYNC_RESOURCES_HOOK"], str(daemon.pid)],
                           env=dict(os.environ, DEVSYNC_RESOURCES_BUS=address))
        fields = status_fields(daemon.pid)
        proportional = pss(daemon.pid)
        by_file = rss_by_file(daemon.pid, binary)
        before = switches(daemon.pid)
        time.sleep(idle)
        after = switches(daemon.pid)
        woken = {tid: (after[tid][0], after[tid][1] - before[tid][1], after[tid][2] - before[tid][2])
                 for tid in after if tid in before}
        born = [tid for tid in after if tid not in before]
        # A thread that ended (a libdispatch worker's 5 s idle timeout) woke once to do so.
        gone = [tid for tid in before if tid not in after]
        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(timeout=30)
        return {
            "published": published,
            "VmRSS": kib(fields["VmRSS"]), "VmHWM": kib(fields["VmHWM"]),
            "RssAnon": kib(fields["RssAnon"]), "RssFile": kib(fields["RssFile"]),
            "Pss": proportional.get("Pss", 0), "Pss_Anon": proportional.get("Pss_Anon", 0),
            "Pss_File": proportional.get("Pss_File", 0),
            "threads": int(fields["Threads"]),
            "wakeups": sum(v + n for _, v, n in woken.values()) + len(born) + len(gone),
            "woken": {tid: w for tid, w in woken.items() if w[1] or w[2]},
            "by_file": by_file,
            "threads_born": len(born), "threads_ended": len(gone),
            "exit": status,
        }
    finally:
        if daemon.poll() is None:
            daemon.kill()
        bus.kill()
        bus.wait()
        subprocess.run(["rm", "-rf", directory])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/devsyncd"))
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds over which wakeups are counted")
    parser.add_argument("--settle", type=float, default=6.0,
                        help="seconds after readiness before measuring (libdispatch ends idle workers after 5 s)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mappings", action="store_true", help="print Rss/Pss per mapped file (first run)")
    parser.add_argument("--daemon-arg", action="append", default=[],
                        help="one more devsyncd argument, such as --daemon-arg=--modules-alias=FILE (repeatable)")
    arguments = parser.parse_args()
    print(f"# {arguments.binary}, {arguments.devices} devices, {arguments.idle:g} s idle; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    for run in range(arguments.runs):
        result = run_once(arguments.binary, arguments.devices, arguments.idle, arguments.settle, arguments.daemon_arg)
        woken = result.pop("woken")
        by_file = result.pop("by_file")
        print(" ".join(f"{key}={value}" for key, value in result.items()), flush=True)
        for tid, (name, voluntary, involuntary) in sorted(woken.items()):
            print(f"    thread {tid} {name}: {voluntary} voluntary, {involuntary} involuntary", flush=True)
        if arguments.mappings and run == 0:
            for name, (rss, proportional) in sorted(by_file.items(), key=lambda item: -item[1][0]):
                if rss >= 64:
                    print(f"    {rss:6d} KiB Rss {proportional:6d} KiB Pss  {name}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
