# SPDX-License-Identifier: Apache-2.0
"""Adapter interface: everything peer-specific lives in one small class.

A peer adapter says how to populate devices, how to start the daemon(s), which
D-Bus signal announces an arriving/leaving device, and how to list what the
daemon has published.  The harness (peerbench.py) owns the bus, the clock, the
listener, the statistics and the clean-up; adapters never kill anything
themselves, they start processes through ctx.spawn() so the harness can stop
them by PID.

To add a peer: subclass Adapter, fill in the class attributes and the methods
marked "required", register it in adapters/__init__.py.  See devsyncd.py.
"""


class Skip(Exception):
    """Raised by an adapter when the peer cannot run here (reason in str())."""


class Adapter:
    # --- required class attributes -------------------------------------------------
    name = 'base'
    bus_name = None            # well-known name the peer owns on the system bus
    # signals the harness subscribes to: list of (interface, member)
    signals = []
    # True: the harness creates a umockdev testbed (ctx.tb) before start() and
    # the daemon must run with LD_PRELOAD + UMOCKDEV_DIR=ctx.tb.get_root_dir().
    # False: the adapter produces devices some other way (usbguard: its own
    # in-process testbed fed from definition files).
    uses_external_testbed = True

    def __init__(self, ctx):
        self.ctx = ctx

    # --- required methods ----------------------------------------------------------
    def available(self):
        """Return None if runnable, else a string saying why not."""
        return None

    def baseline_count(self):
        """Devices the peer publishes with zero test devices (host, root hub...)."""
        return 0

    def populate(self, n):
        """Create n pre-existing devices (plus baseline) BEFORE start()."""
        raise NotImplementedError

    def start(self):
        """Start the daemon(s) via self.ctx.spawn(); return the list of Popen.
        The first one is 'the daemon' for RSS/wakeups; all are reported."""
        raise NotImplementedError

    def list_count(self, conn):
        """Number of devices currently published on the bus (incl. baseline),
        or None if the peer is not answering yet. conn: dbus.bus.BusConnection."""
        raise NotImplementedError

    def classify(self, member, args):
        """Map a received signal to ('add'|'remove', key) or None to ignore."""
        raise NotImplementedError

    def hotplug_add(self, i):
        """Make device #i arrive. Must return the key classify() will report
        for it.  The harness reads the clock immediately before calling this;
        keep any preparation in prepare_add()."""
        raise NotImplementedError

    def hotplug_remove(self, i):
        """Make device #i leave (emit only); return its key."""
        raise NotImplementedError

    # --- optional hooks --------------------------------------------------------------
    def prepare_add(self, i):
        """Untimed work before hotplug_add(i) (stage files, build strings)."""

    def prepare_remove(self, i):
        """Untimed work before hotplug_remove(i) (e.g. child uevents that precede
        the device's own remove)."""

    def after_remove(self, i):
        """Untimed clean-up after the remove signal arrived."""

    def session_start(self, conn):
        """Once per harness session, after the private bus is up and before
        any timed phase: start helpers (mocks) with ctx.spawn(helper=True)."""

    def failure_hint(self):
        """Explanation printed when no signal arrives for hotplug."""
        return None

    def extra_coldplug_probes(self):
        """{figure_suffix: callable() -> count or None} polled alongside the
        D-Bus list during cold-plug (e.g. a peer's private IPC)."""
        return {}

    def coldplug_log_figures(self):
        """{name: ms} read from the peer's own log after a cold-plug run
        (reported as coldplug.nN.log.<name>_ms)."""
        return {}

    def overhead_estimates(self):
        """{figure: value} mock-only costs the peer pays that a real system
        would not (reported, never subtracted)."""
        return {}

    def notes(self):
        """Lines printed with the results (caveats specific to this peer)."""
        return []
