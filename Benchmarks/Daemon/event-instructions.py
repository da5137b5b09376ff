#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Instructions devsyncd executes per hotplug add and per remove, counted by valgrind's callgrind.

Timings on this 2-core machine move with whatever else runs; instruction counts do not. This runs the release
devsyncd under `valgrind --tool=callgrind` on a private dbus-daemon over a umockdev testbed, plugs and unplugs
the peer harness's device (Benchmarks/Peers, adapters/devsyncd.py: the SanDisk Sansa Clip+ MTP player 0781:74d0,
one interface 06/01/01, a serial of its own per plug) in either order the harness knows:

  udev    (default) the interface is added first, below a device directory without a uevent file yet; the
          measured add is the usb_device's one uevent. The interface's remove is sent before the measured
          remove (the device's one uevent), as udevd delivers them.
  kernel  the measured add is add_device(usb_device) then add_device(interface), two uevents; the measured
          remove is both removes. Slowed down by valgrind, devsyncd reads the device after its interface exists.
  kernel-held  the same with --hold seconds between the two: devsyncd reads the device before its interface
          exists, holds it back (arming its grace timer) and announces it on the interface's uevent, as the
          harness's unslowed devsyncd does in the kernel order.

Collection is switched on (callgrind_control -i on, through vgdb) just before each measured add (or remove) and
off once devsyncd has sent what follows it and gone quiet, so the figure is every instruction of the daemon's
process per event, each thread, the D-Bus signals, the log lines and umockdev's preload library (devsyncd's file
operations on the testbed go through it; real sysfs costs no user-space instructions there) included. Run as
root (vgdb attaches with ptrace), under umockdev's preload as the harness runs:

    LD_PRELOAD=libumockdev-preload.so.0 /usr/bin/python3 Benchmarks/Daemon/event-instructions.py \\
        [--binary PATH] [--order udev|kernel] [--plugs 30] [--warmup 3] [--measure add|remove] \\
        [--daemon-arg=--hwdb=/nonexistent ...] [--keep DIR]

Prints `<measure> instructions/event=N events=N order=… binary=…`, and with --keep leaves the callgrind file
(callgrind_annotate --inclusive=yes FILE) for where they went. valgrind 3.19 cannot read clang's DWARF 5: the
binary profiled is a copy with its debug info stripped (objcopy --strip-debug), symbols kept.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import dbus
import dbus.bus
from dbus.mainloop.glib import DBusGMainLoop
import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import GLib, UMockdev  # noqa: E402

# The binding's emit of a DBusSignalEmission: the first one an add (remove) makes sends DeviceAdded (DeviceRemoved).
EMIT = "$s4DBus14ConnectionCoreC4emityyAA0A14SignalEmissionVAA0A5ErrorVYKF"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANAGER = "org.devsync.Broker1.Manager"
VID, PID, BCD = 0x0781, 0x74D0, 0x0100
IF_ATTRS = ["bInterfaceNumber", "00", "bAlternateSetting", " 0", "bInterfaceClass", "06",
            "bInterfaceSubClass", "01", "bInterfaceProtocol", "01", "interface", "MTP"]
IF_PROPS = ["DEVTYPE", "usb_interface", "PRODUCT", "%x/%x/%x" % (VID, PID, BCD), "INTERFACE", "6/1/1"]


def device_attrs(k, serial):
    return ["idVendor", "%04x" % VID, "idProduct", "%04x" % PID, "bcdDevice", "%04x" % BCD,
            "bDeviceClass", "00", "bDeviceSubClass", "00", "bDeviceProtocol", "00", "bNumInterfaces", " 1",
            "bConfigurationValue", "1", "busnum", "1", "devnum", str(k % 126 + 2),
            "manufacturer", "SanDisk", "product", "Sansa Clip+", "serial", serial]


def device_props(k):
    return ["DEVTYPE", "usb_device", "PRODUCT", "%x/%x/%x" % (VID, PID, BCD), "TYPE", "0/0/0",
            "BUSNUM", "001", "DEVNUM", "%03d" % (k % 126 + 2), "ID_MTP_DEVICE", "1", "ID_MEDIA_PLAYER", "1"]


def object_path(serial):
    label = "usb-%04x-%04x-%s" % (VID, PID, serial)
    return "/org/devsync/Broker1/devices/" + "".join(
        c if c.isascii() and c.isalnum() else "_%02x" % ord(c) for c in label)


def plain_environment():
    return {key: value for key, value in os.environ.items()
            if key not in ("LD_PRELOAD", "UMOCKDEV_DIR", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS")}


def private_bus(directory):
    socket = os.path.join(directory, "bus")
    config = os.path.join(directory, "bus.conf")
    with open(config, "w") as file:
        file.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/></policy></busconfig>
""")
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=plain_environment())
    return bus, bus.stdout.readline().decode().strip()


class Signals:
    """The Manager's DeviceAdded/DeviceRemoved and every signal devsyncd sends, as a GLib loop reads them."""

    def __init__(self, address):
        self.connection = dbus.bus.BusConnection(address, mainloop=DBusGMainLoop())
        self.seen = []  # (member, first argument)
        self.count = 0
        self.connection.add_message_filter(self._filter)
        self.connection.add_match_string("type='signal',sender='org.devsync.Broker1'")
        self.connection.add_match_string("type='signal',interface='org.freedesktop.DBus',member='NameOwnerChanged'")

    def _filter(self, connection, message):
        if message.get_type() == dbus.lowlevel.MESSAGE_TYPE_SIGNAL:
            self.count += 1
            args = message.get_args_list()
            self.seen.append((message.get_member(), str(args[0]) if args else ""))
        return None

    def pump(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        context = GLib.MainContext.default()
        while not predicate():
            if time.monotonic() > deadline:
                return False
            context.iteration(False) or time.sleep(0.005)
        return True

    def quiet(self, gap):
        """Until `gap` seconds pass with no signal."""
        while True:
            count = self.count
            self.pump(lambda: False, gap)
            if self.count == count:
                return


def callgrind_control(pid, *arguments):
    result = subprocess.run(["callgrind_control", *arguments, str(pid)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=120)
    if b"OK" not in result.stdout and result.returncode != 0:
        raise SystemExit(f"callgrind_control {' '.join(arguments)} failed: {result.stdout.decode()}")


def summary(path):
    """The file's `totals:` (its `summary:` stays 0 when instrumentation was switched on and off)."""
    with open(path) as file:
        for line in file:
            match = re.match(r"^totals:\s+(\d+)", line)
            if match:
                return int(match.group(1))
    raise SystemExit(f"no totals in {path}")


def run(arguments):
    work = tempfile.mkdtemp(prefix="devsync-events-")
    profiled = os.path.join(work, "devsyncd")
    subprocess.run(["objcopy", "--strip-debug", arguments.binary, profiled], check=True)
    testbed = UMockdev.Testbed.new()
    pci = testbed.add_device("pci", "pci0000:00/0000:00:14.0", None,
                             ["class", "0x0c0330", "vendor", "0x8086", "device", "0xa12f"], ["DRIVER", "xhci_hcd"])
    hub = testbed.add_device("usb", "usb1", pci,
                             ["idVendor", "1d6b", "idProduct", "0002", "bDeviceClass", "09", "bNumInterfaces", " 1",
                              "bConfigurationValue", "1", "busnum", "1", "devnum", "1"],
                             ["DEVTYPE", "usb_device", "PRODUCT", "1d6b/2/615", "TYPE", "9/0/1", "BUSNUM", "001",
                              "DEVNUM", "001"])
    for i in range(arguments.cold):
        port, serial = "1-%d" % (i + 1), "COLD%06d" % i
        device = testbed.add_device("usb", port, hub, device_attrs(i + 1, serial), device_props(i + 1))
        testbed.add_device("usb", port + ":1.0", device, IF_ATTRS, IF_PROPS)
    bus, address = private_bus(work)
    config = os.path.join(work, "devsyncd.conf")
    with open(config, "w") as file:
        file.write("# empty: built-in defaults + flags only\n")
    out = os.path.join(work, "callgrind.out")
    environment = dict(plain_environment(), LD_PRELOAD="libumockdev-preload.so.0",
                       UMOCKDEV_DIR=testbed.get_root_dir(), DBUS_SYSTEM_BUS_ADDRESS=address)
    log_path = os.path.join(work, "devsyncd.log")
    signals = Signals(address)
    with open(log_path, "w") as log:
        daemon = subprocess.Popen(
            ["valgrind", "--quiet", "--tool=callgrind", f"--instr-atstart={'yes' if arguments.measure == 'start' else 'no'}",
             "--dump-instr=no"] + ([f"--dump-before={EMIT}"] if arguments.until_signal else []) + [
             f"--callgrind-out-file={out}", profiled, "--config", config, "--bus", address,
             "--profiles", os.path.join(ROOT, "fdi-profiles"), "--state-dir", os.path.join(work, "state")]
            + arguments.daemon_arg,
            env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not signals.pump(lambda: ("NameOwnerChanged", "org.devsync.Broker1") in signals.seen, 300):
            raise SystemExit(f"devsyncd did not take its name:\n{open(log_path).read()}")
        if arguments.measure == "start":
            # From exec until quiet after the name is taken: the cold-plug of --cold devices, their export and
            # the ApprovalRequested signals that follow readiness included.
            signals.quiet(arguments.gap * 4)
            callgrind_control(daemon.pid, "-d", "ready")
            callgrind_control(daemon.pid, "-i", "off")
            arguments.plugs = max(arguments.cold, 1)
            if arguments.keep:
                os.makedirs(arguments.keep, exist_ok=True)
                shutil.copy(out + ".1", os.path.join(arguments.keep, f"callgrind.start.{arguments.cold}.out"))
            return summary(out + ".1")
        signals.quiet(1.0)
        plugged = {}
        before_signal = []

        def first_new_dump(known):
            """The callgrind file dumped at the event's first emit: its instructions before that signal."""
            fresh = sorted((f for f in os.listdir(work) if f.startswith("callgrind.out.") and f not in known),
                           key=lambda name: int(name.rsplit(".", 1)[1]))
            return summary(os.path.join(work, fresh[0])) if fresh else None

        def dumps():
            return {f for f in os.listdir(work) if f.startswith("callgrind.out.")}

        def add(i):
            port, k, serial = "1-%d" % (1000 + i), 1000 + i, "HOT%06d" % i
            if arguments.order == "udev":
                interface = testbed.add_device("usb", f"{port}/{port}:1.0", hub, IF_ATTRS, IF_PROPS)
                signals.quiet(0.3)
                known = dumps()
                if arguments.measure == "add":
                    callgrind_control(daemon.pid, "-i", "on")
                device = testbed.add_device("usb", port, hub, device_attrs(k, serial), device_props(k))
            else:
                known = dumps()
                if arguments.measure == "add":
                    callgrind_control(daemon.pid, "-i", "on")
                device = testbed.add_device("usb", port, hub, device_attrs(k, serial), device_props(k))
                if arguments.order == "kernel-held":
                    # devsyncd reads the device before its interface exists (as a daemon not slowed 50 times by
                    # valgrind does in the kernel order) and holds it back, inside its grace time.
                    signals.pump(lambda: False, arguments.hold)
                interface = testbed.add_device("usb", port + ":1.0", device, IF_ATTRS, IF_PROPS)
            plugged[i] = (device, interface)
            if not signals.pump(lambda: ("DeviceAdded", object_path(serial)) in signals.seen, 120):
                raise SystemExit(f"no DeviceAdded for {serial}:\n{open(log_path).read()[-3000:]}")
            signals.quiet(arguments.gap)
            if arguments.measure == "add":
                callgrind_control(daemon.pid, "-i", "off")
                if arguments.until_signal:
                    before_signal.append(first_new_dump(known))

        def remove(i):
            device, interface = plugged.pop(i)
            serial = "HOT%06d" % i
            if arguments.order == "udev":
                testbed.uevent(interface, "remove")
                signals.quiet(0.3)
            known = dumps()
            if arguments.measure == "remove":
                callgrind_control(daemon.pid, "-i", "on")
            if arguments.order != "udev":
                testbed.uevent(interface, "remove")
            testbed.uevent(device, "remove")
            if not signals.pump(lambda: ("DeviceRemoved", object_path(serial)) in signals.seen, 120):
                raise SystemExit(f"no DeviceRemoved for {serial}:\n{open(log_path).read()[-3000:]}")
            signals.quiet(arguments.gap)
            if arguments.measure == "remove":
                callgrind_control(daemon.pid, "-i", "off")
                if arguments.until_signal:
                    before_signal.append(first_new_dump(known))
            testbed.remove_device(device)

        for i in range(arguments.warmup + arguments.plugs):
            measured = i >= arguments.warmup
            saved = arguments.measure
            if not measured:
                arguments.measure = None
            add(i)
            remove(i)
            arguments.measure = saved
        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(timeout=300)
        if status != 0:
            raise SystemExit(f"devsyncd exited with {status}:\n{open(log_path).read()[-3000:]}")
        total = summary(out) + sum(summary(os.path.join(work, f)) for f in dumps())
        if arguments.until_signal:
            counted = [n for n in before_signal if n is not None]
            print(f"{arguments.measure} instructions before its signal/event={sum(counted) // max(len(counted), 1)} "
                  f"events={len(counted)} order={arguments.order} binary={arguments.binary}", flush=True)
        if arguments.keep:
            os.makedirs(arguments.keep, exist_ok=True)
            shutil.copy(out, os.path.join(arguments.keep, f"callgrind.{arguments.measure}.{arguments.order}.out"))
        return total
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        signals.connection.close()
        bus.kill()
        bus.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/devsyncd"))
    parser.add_argument("--order", choices=["udev", "kernel", "kernel-held"], default="udev",
                        help="kernel-held: the kernel's order with --hold seconds between the two uevents")
    parser.add_argument("--hold", type=float, default=0.4,
                        help="kernel-held: seconds between the device's uevent and its interface's (below the 1 s grace)")
    parser.add_argument("--measure", choices=["add", "remove", "start"], default="add",
                        help="start: every instruction from exec until the name is taken, --cold devices present")
    parser.add_argument("--cold", type=int, default=0, help="devices present at start (the harness's cold-plug)")
    parser.add_argument("--plugs", type=int, default=30, help="measured adds or removes")
    parser.add_argument("--warmup", type=int, default=3, help="plug cycles before measuring")
    parser.add_argument("--gap", type=float, default=0.5,
                        help="seconds without a signal after which an event counts as done (valgrind is slow)")
    parser.add_argument("--daemon-arg", action="append", default=[],
                        help="one more devsyncd argument, such as --daemon-arg=--hwdb=/nonexistent (repeatable)")
    parser.add_argument("--until-signal", action="store_true",
                        help="also count the instructions before the event's DeviceAdded (DeviceRemoved) is sent")
    parser.add_argument("--keep", help="directory to copy the callgrind output file to")
    arguments = parser.parse_args()
    if "libumockdev-preload" not in os.environ.get("LD_PRELOAD", ""):
        sys.exit("event-instructions: run under LD_PRELOAD=libumockdev-preload.so.0")
    total = run(arguments)
    print(f"{arguments.measure} instructions/event={total // arguments.plugs} events={arguments.plugs} total={total} "
          f"order={arguments.order} binary={arguments.binary} args={' '.join(arguments.daemon_arg) or '-'} "
          f"load={os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
