#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""devsync's reference sync engine: the org.devsync.Engine1 contract, in Python with GLib's GDBus.

It registers with the broker (org.devsync.Broker1), accepts Sync calls for devices owned by the user it runs as,
reports progress per data type and finishes each job. It is a dry run: it talks to no device and changes no data;
it prints what a real engine would sync and through which port. Copy it as the start of a real engine: replace
`Job.sync_one` with the work. The contract is docs/dbus-api.md ("Engines") and data/org.devsync.Broker1.xml.

    reference-engine.py [--bus system|session|ADDRESS] [--plugin P]... [--datatype D]... [--step-delay S]

Only python3-gi (GLib, Gio) is needed. Exit status: 0 after SIGINT or SIGTERM, 1 when the broker refuses the
registration or the bus connection closes, 2 on bad arguments.
"""

import argparse
import signal
import sys

from gi.repository import Gio, GLib

BROKER = "org.devsync.Broker1"
MANAGER_PATH = "/org/devsync/Broker1"
MANAGER_INTERFACE = "org.devsync.Broker1.Manager"
ENGINE_INTERFACE = "org.devsync.Engine1"
# Any path of our own; the broker learns it from RegisterEngine.
ENGINE_PATH = "/org/devsync/examples/ReferenceEngine"

# The org.devsync.Engine1 interface, as data/org.devsync.Broker1.xml declares it.
ENGINE_XML = """
<node>
  <interface name="org.devsync.Engine1">
    <method name="Sync">
      <arg name="uid" type="s" direction="in"/>
      <arg name="device" type="a{sv}" direction="in"/>
      <arg name="datatypes" type="as" direction="in"/>
      <arg name="options" type="a{sv}" direction="in"/>
    </method>
    <method name="Cancel">
      <arg name="job" type="o" direction="in"/>
    </method>
    <signal name="Progress">
      <arg name="job" type="o"/>
      <arg name="fraction" type="d"/>
      <arg name="message" type="s"/>
    </signal>
    <signal name="Finished">
      <arg name="job" type="o"/>
      <arg name="success" type="b"/>
      <arg name="error" type="s"/>
    </signal>
  </interface>
</node>
"""


def say(text):
    """One line of output, at once (stdout is often a pipe or a file)."""
    print(text, flush=True)


def describe_link(device):
    """How a real engine would reach the device, from the properties the broker passed."""
    if "serial.device" in device:
        return f"the serial port {device['serial.device']}"
    if "bluetooth.address" in device:
        channels = sorted((key.rsplit(".", 1)[1], value) for key, value in device.items()
                          if key.startswith("bluetooth.channel."))
        found = ", ".join(f"{service} on RFCOMM channel {channel}" for service, channel in channels)
        return f"Bluetooth {device['bluetooth.address']}" + (f" ({found})" if found else " (no SDP channel known)")
    if "usb.vendor_id" in device:
        return f"USB device {device['usb.vendor_id']:04x}:{device.get('usb.product_id', 0):04x}"
    return "an unknown link"


class Job:
    """One Sync call: walks the data types one by one, reporting Progress after each, then Finished."""

    def __init__(self, engine, path, uid, device, datatypes, step_delay):
        self.engine, self.path, self.uid, self.device = engine, path, uid, device
        self.datatypes, self.step_delay = datatypes, step_delay
        self.done = 0
        self.timer = None

    def start(self):
        name = " ".join(filter(None, [self.device.get("sync.vendor"), self.device.get("sync.model")])) or self.uid
        say(f"sync {self.path}: {name} ({self.uid}), plugin {self.device.get('sync.plugin', '?')}, "
            f"owner {self.device.get('Owner', '?')}")
        say(f"  would talk to it through {describe_link(self.device)}")
        self.schedule()

    def schedule(self):
        # A timer instead of a loop: Sync must return at once, and the engine keeps serving while a job runs.
        self.timer = GLib.timeout_add(int(self.step_delay * 1000), self.step)

    def step(self):
        self.timer = None
        datatype = self.datatypes[self.done]
        message = self.sync_one(datatype)
        self.done += 1
        say(f"  {datatype}: {message}")
        self.engine.emit("Progress", GLib.Variant("(ods)", (self.path, self.done / len(self.datatypes), message)))
        if self.done < len(self.datatypes):
            self.schedule()
        else:
            self.finish(True, "")
        return GLib.SOURCE_REMOVE

    def sync_one(self, datatype):
        """Where a real engine exchanges one data type with the device; returns a line for the user."""
        return "dry run, nothing read or written"

    def cancel(self):
        if self.timer is not None:
            GLib.source_remove(self.timer)
            self.timer = None
        say(f"  cancelled after {self.done} of {len(self.datatypes)} data types")
        self.finish(False, "cancelled")

    def finish(self, success, error):
        self.engine.jobs.pop(self.path, None)
        if success:
            say(f"  finished {self.path}: {len(self.datatypes)} data types, dry run")
        self.engine.emit("Finished", GLib.Variant("(obs)", (self.path, success, error)))


class ReferenceEngine:
    """The engine object on the bus, its registration with the broker and its running jobs."""

    def __init__(self, connection, plugins, datatypes, step_delay, loop):
        self.connection, self.plugins, self.datatypes = connection, plugins, datatypes
        self.step_delay, self.loop = step_delay, loop
        self.broker_owner = None  # the broker's unique name while it is on the bus
        self.jobs = {}
        self.status = 0
        interface = Gio.DBusNodeInfo.new_for_xml(ENGINE_XML).lookup_interface(ENGINE_INTERFACE)
        connection.register_object(ENGINE_PATH, interface, self.on_method_call, None, None)
        connection.connect("closed", self.on_closed)
        # Registers whenever the broker appears: at start if it runs, and again after it restarts.
        Gio.bus_watch_name_on_connection(
            connection, BROKER, Gio.BusNameWatcherFlags.NONE, self.on_broker_appeared, self.on_broker_vanished)

    def emit(self, signal_name, arguments):
        self.connection.emit_signal(None, ENGINE_PATH, ENGINE_INTERFACE, signal_name, arguments)

    def on_broker_appeared(self, connection, name, owner):
        self.broker_owner = owner
        connection.call(
            BROKER, MANAGER_PATH, MANAGER_INTERFACE, "RegisterEngine",
            GLib.Variant("(oasas)", (ENGINE_PATH, self.plugins, self.datatypes)),
            None, Gio.DBusCallFlags.NONE, -1, None, self.on_registered)

    def on_registered(self, connection, result):
        try:
            connection.call_finish(result)
        except GLib.Error as error:
            say(f"reference-engine: the broker refused the registration: {Gio.DBusError.strip_remote_error(error) or error.message}")
            self.stop(1)
            return
        say(f"registered with {BROKER} as {ENGINE_PATH} for plugins {', '.join(self.plugins) or 'any'}, "
            f"data types {', '.join(self.datatypes) or 'any'}")

    def on_broker_vanished(self, connection, name):
        if self.broker_owner is None:
            say(f"waiting for {BROKER} on the bus")
            return
        self.broker_owner = None
        # The broker failed these jobs when it went; a new broker knows nothing of them.
        for job in list(self.jobs.values()):
            if job.timer is not None:
                GLib.source_remove(job.timer)
        self.jobs.clear()
        say(f"{BROKER} left the bus; waiting for it to come back")

    def on_method_call(self, connection, sender, path, interface, method, parameters, invocation):
        # Only the broker starts and cancels syncs: it checked the caller's right to the device.
        if sender != self.broker_owner:
            invocation.return_dbus_error(
                "org.freedesktop.DBus.Error.AccessDenied", f"Only {BROKER} calls {ENGINE_INTERFACE}.{method}.")
            return
        if method == "Sync":
            uid, device, datatypes, options = parameters.unpack()
            job_path = options.get("job")
            if not job_path or not datatypes:
                invocation.return_dbus_error(
                    "org.freedesktop.DBus.Error.InvalidArgs", "Sync needs options['job'] and at least one data type.")
                return
            # Return at once; the job reports through Progress and Finished.
            invocation.return_value(None)
            job = Job(self, job_path, uid, device, datatypes, self.step_delay)
            self.jobs[job_path] = job
            job.start()
        elif method == "Cancel":
            (job_path,) = parameters.unpack()
            invocation.return_value(None)
            job = self.jobs.get(job_path)
            if job is not None:
                job.cancel()

    def on_closed(self, connection, remote_peer_vanished, error):
        say("reference-engine: the bus connection closed")
        self.status = 1
        self.loop.quit()

    def stop(self, status=0):
        """Unregisters (politely; the broker would notice the disconnect anyway) and ends the main loop."""
        if status == 0 and self.broker_owner is not None and not self.connection.is_closed():
            try:
                self.connection.call_sync(
                    BROKER, MANAGER_PATH, MANAGER_INTERFACE, "UnregisterEngine", GLib.Variant("(o)", (ENGINE_PATH,)),
                    None, Gio.DBusCallFlags.NONE, 2000, None)
                say("unregistered")
            except GLib.Error:
                pass  # the broker may already be gone; leaving the bus unregisters us as well
        self.status = status
        self.loop.quit()
        return GLib.SOURCE_REMOVE


def connect(bus):
    """A connection to the system bus (honouring DBUS_SYSTEM_BUS_ADDRESS), the session bus, or an address."""
    if bus in ("system", "session"):
        connection = Gio.bus_get_sync(Gio.BusType.SYSTEM if bus == "system" else Gio.BusType.SESSION, None)
        connection.set_exit_on_close(False)
        return connection
    flags = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
    return Gio.DBusConnection.new_for_address_sync(bus, flags, None, None)


def main():
    parser = argparse.ArgumentParser(description="devsync's reference sync engine (a dry run: it talks to no device).")
    parser.add_argument("--bus", default="system", metavar="system|session|ADDRESS",
                        help="the bus the broker is on (default: system, honouring DBUS_SYSTEM_BUS_ADDRESS)")
    parser.add_argument("--plugin", action="append", default=[], dest="plugins", metavar="PLUGIN",
                        help="a plugin to offer (palm-sync, mtp …); repeatable; none means any")
    parser.add_argument("--datatype", action="append", default=[], dest="datatypes", metavar="DATATYPE",
                        help="a data type to offer (contacts, calendar …); repeatable; none means any")
    parser.add_argument("--step-delay", type=float, default=0.5, metavar="SECONDS",
                        help="pause before each data type, so progress can be watched (default: 0.5)")
    arguments = parser.parse_args()
    if not 0 <= arguments.step_delay <= 60:
        parser.error("--step-delay must be between 0 and 60 seconds")

    try:
        connection = connect(arguments.bus)
    except GLib.Error as error:
        say(f"reference-engine: cannot reach the {arguments.bus} bus: {error.message}")
        return 1
    loop = GLib.MainLoop()
    engine = ReferenceEngine(connection, arguments.plugins, arguments.datatypes, arguments.step_delay, loop)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    for signum in stop_signals:
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, engine.stop)
    # A launcher may hand its children a blocked signal mask (Foundation's Process does); we want these two.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    loop.run()
    return engine.status


if __name__ == "__main__":
    sys.exit(main())
