#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The peer harness (Benchmarks/Peers, its README) with one more peer: `cfloor`, the plain-C floor
(Benchmarks/CFloor/hotplug-floor.c), driven exactly as the devsyncd adapter drives devsyncd: the same umockdev
device tree (the SanDisk MTP player and its interface), the same plug order, the same phases and figures.

Run through run-peers.sh next to this file, which compiles the floor, sets the preload and the scratch tmpfs as
the harness's own run-peers.sh does, and passes PEERS_DIR and --json:

    PROJECT=$PWD Benchmarks/CFloor/run-peers.sh bolt devsyncd cfloor --phases floor,api
    DEVSYNCD_BASE=/path/to/main/devsyncd PROJECT=$PWD Benchmarks/CFloor/run-peers.sh bolt devsyncd-base devsyncd …

`devsyncd-base` is a second devsyncd peer, the binary DEVSYNCD_BASE names, for a before/after in one run.
"""
import os
import subprocess
import sys

PEERS_DIR = os.environ['PEERS_DIR']
sys.path.insert(0, PEERS_DIR)
import peerbench  # noqa: E402  (puts the harness's adapters on the path)
from adapters import PEERS  # noqa: E402
from adapters.devsyncd import Devsyncd  # noqa: E402

BUS_NAME = 'org.devsync.CFloor1'
PATH = '/org/devsync/CFloor1'
IFACE = 'org.devsync.CFloor1.Manager'


def _tail(path):
    """The object's label (escaped uid): the same for devsyncd's and the floor's path of one device."""
    return str(path).rsplit('/', 1)[-1]


class CFloor(Devsyncd):
    """hotplug-floor.c over devsyncd's device tree: populate, plug and unplug are the devsyncd adapter's."""
    name = 'cfloor'
    bus_name = BUS_NAME
    signals = [(IFACE, 'DeviceAdded'), (IFACE, 'DeviceRemoved')]
    package = 'cfloor'

    def _binary(self):
        return os.environ.get('CFLOOR', '')

    def available(self):
        if self.mode not in ('kernel', 'udev'):
            return 'DEVSYNCD_PLUG must be kernel or udev, not %r' % self.mode
        b = self._binary()
        if not (b and os.access(b, os.X_OK)):
            return 'CFLOOR does not name the built hotplug-floor (run through Benchmarks/CFloor/run-peers.sh)'
        return None

    def start(self):
        env = self.ctx.daemon_env(preload=True, umockdev_dir=self.ctx.tb.get_root_dir())
        return [self.ctx.spawn('cfloor', [self._binary(), '--bus', self.ctx.bus_addr], env)]

    def list_count(self, conn):
        try:
            return len(conn.call_blocking(BUS_NAME, PATH, IFACE, 'ListDevices', '', (), timeout=5))
        except Exception:  # dbus.DBusException while starting up
            return None

    def classify(self, member, args):
        if member == 'DeviceAdded':
            return ('add', _tail(args[0]))
        if member == 'DeviceRemoved':
            return ('remove', _tail(args[0]))
        return None

    def hotplug_add(self, i):
        return _tail(super().hotplug_add(i))

    def hotplug_remove(self, i):
        return _tail(super().hotplug_remove(i))

    def version_string(self):
        b = self._binary()
        try:
            rev = subprocess.run(['git', '-C', os.path.dirname(os.path.abspath(__file__)), 'rev-parse', '--short',
                                  'HEAD'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=10).stdout.decode().strip() or '?'
        except Exception:
            rev = '?'
        return 'git-%s:%s' % (rev, b)

    def api_probes(self):
        return {
            'get': (PATH, IFACE, 'Version'),
            'bulk': [('ListDevices', PATH, IFACE, 'ListDevices'),
                     ('GetManagedObjects', PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects')],
            'per_device_getall': 'org.devsync.CFloor1.Device',
        }

    def failure_hint(self):
        return 'check cfloor.log in the scratch dir (--keep)'

    def notes(self):
        return ['plain-C floor (Benchmarks/CFloor/hotplug-floor.c): libudev monitor + enumeration, properties '
                'copied per device, one libdbus object each, DeviceAdded/DeviceRemoved only; no profiles, store, '
                'approvals or InterfacesAdded']


class DevsyncdBase(Devsyncd):
    """A second devsyncd binary in the same run (DEVSYNCD_BASE: say, main's release build), for before/after."""
    name = 'devsyncd-base'

    def available(self):
        b = os.environ.get('DEVSYNCD_BASE', '')
        if not (b and os.access(b, os.X_OK)):
            return 'DEVSYNCD_BASE does not name a devsyncd binary'
        return super().available()

    def start(self):
        import adapters.devsyncd as module
        real = module._binary
        module._binary = lambda: os.path.abspath(os.environ['DEVSYNCD_BASE'])
        try:
            return super().start()
        finally:
            module._binary = real

    def version_string(self):
        return os.environ['DEVSYNCD_BASE']


def _smaps_by_file(pid):
    """{mapped file or [anon]/[heap]/[stack]: [Rss, Pss] KiB}, summed over its mappings; the first mapping of each
    file separately by permissions (r--p, r-xp, rw-p), since text and data behave differently."""
    totals = {}
    name = None
    with open('/proc/%d/smaps' % pid) as f:
        for line in f:
            head = line.split()
            if '-' in head[0] and len(head) >= 5 and not head[0].endswith(':'):
                name = (os.path.basename(head[5]) + ' ' + head[1]) if len(head) > 5 else '[anon]'
            elif head and head[0] in ('Rss:', 'Pss:'):
                cell = totals.setdefault(name, [0, 0])
                cell[0 if head[0] == 'Rss:' else 1] += int(head[1])
    return totals


_rollup = peerbench.smaps_rollup


def _rollup_and_mappings(pid):
    """The harness's smaps_rollup, and, when CFLOOR_MAPPINGS names a file, each mapping's share appended to it."""
    out = _rollup(pid)
    path = os.environ.get('CFLOOR_MAPPINGS')
    if path:
        import json
        with open('/proc/%d/comm' % pid) as f:
            comm = f.read().strip()
        with open(path, 'a') as f:
            f.write(json.dumps(dict(comm=comm, pid=pid, rollup=out, by_file=_smaps_by_file(pid))) + '\n')
    return out


peerbench.smaps_rollup = _rollup_and_mappings
PEERS[CFloor.name] = CFloor
PEERS[DevsyncdBase.name] = DevsyncdBase

if __name__ == '__main__':
    sys.argv[0] = os.path.join(PEERS_DIR, 'peerbench.py')
    sys.exit(peerbench.main())
