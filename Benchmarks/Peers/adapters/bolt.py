# SPDX-License-Identifier: Apache-2.0
"""bolt (boltd 0.9.x, org.freedesktop.bolt): Thunderbolt devices.

Mock tree follows bolt's own tests/test-integration: a PCI NHI (DRIVER=
thunderbolt) -> thunderbolt domain0 (DEVTYPE=thunderbolt_domain, security=user)
-> host device (authorized=1) -> N peripherals (DEVTYPE=thunderbolt_device,
authorized=0, unique_id=uuid). boltd reads the testbed through libudev under
LD_PRELOAD=libumockdev-preload.so.0 with UMOCKDEV_DIR, keeps its store in
STATE_DIRECTORY and runtime files in RUNTIME_DIRECTORY.

Signals: org.freedesktop.bolt1.Manager DeviceAdded(o) / DeviceRemoved(o).
A peripheral that is not enrolled is dropped on 'remove' -> DeviceRemoved.
List: org.freedesktop.bolt1.Manager.ListDevices() -> ao (host + peripherals).
"""
import binascii
import os
import uuid

from .base import Adapter

BOLTD = '/usr/libexec/boltd'
IFACE = 'org.freedesktop.bolt1.Manager'
PATH = '/org/freedesktop/bolt'


def _obj_path(uid):
    return '/org/freedesktop/bolt/devices/' + uid.replace('-', '_')


class Bolt(Adapter):
    name = 'bolt'
    bus_name = 'org.freedesktop.bolt'
    signals = [(IFACE, 'DeviceAdded'), (IFACE, 'DeviceRemoved')]
    uses_external_testbed = True

    def available(self):
        if not os.access(BOLTD, os.X_OK):
            return BOLTD + ' not found (apt-get install bolt)'
        return None

    def baseline_count(self):
        return 1  # the host controller's own device

    # -- mock tree ---------------------------------------------------------------
    def _tbdev(self, name, parent, authorized, uid):
        dn = 'Thunderbolt ' + name
        attrs = ['authorized', str(authorized),
                 'device', '0x%X' % binascii.crc32(dn.encode()),
                 'device_name', dn,
                 'key', '\n',
                 'unique_id', uid,
                 'vendor', '0x%X' % binascii.crc32(b'GNOME.org'),
                 'vendor_name', 'GNOME.org']
        return self.ctx.tb.add_device('thunderbolt', name, parent, attrs,
                                      ['DEVTYPE', 'thunderbolt_device'])

    def populate(self, n):
        tb = self.ctx.tb
        nhi = tb.add_device('pci', 'pci0000:00:0d.0', None,
                            ['class', '0x088000', 'vendor', '0x8086', 'device', '0x15d2'],
                            ['DRIVER', 'thunderbolt'])
        dom = tb.add_device('thunderbolt', 'domain0', nhi,
                            ['security', 'user'], ['DEVTYPE', 'thunderbolt_domain'])
        self.host = self._tbdev('Laptop', dom, 1, '3b7d4bad-4fdf-44ff-8730-ffffdeadbab0')
        for i in range(n):
            self._tbdev('Cold%d' % i, self.host, 0, str(uuid.uuid4()))
        self.hp = {}

    # -- daemon ------------------------------------------------------------------
    def start(self):
        state = self.ctx.mkdtemp('bolt-state')
        run = self.ctx.mkdtemp('bolt-run')
        for d in ('devices', 'domains', 'keys'):
            os.makedirs(os.path.join(state, d))
        env = self.ctx.daemon_env(preload=True, umockdev_dir=self.ctx.tb.get_root_dir())
        env.update(STATE_DIRECTORY=state, RUNTIME_DIRECTORY=run,
                   SYSTEMD_DEVICE_VERIFY_SYSFS='0')
        argv = [BOLTD] + (['-v'] if self.ctx.verbose_peers else [])
        return [self.ctx.spawn('boltd', argv, env)]

    def list_count(self, conn):
        try:
            return len(conn.call_blocking(self.bus_name, PATH, IFACE, 'ListDevices',
                                          '', (), timeout=5))
        except Exception:  # dbus.DBusException while starting up
            return None

    def classify(self, member, args):
        if member == 'DeviceAdded':
            return ('add', str(args[0]))
        if member == 'DeviceRemoved':
            return ('remove', str(args[0]))
        return None

    # -- hotplug -------------------------------------------------------------------
    def prepare_add(self, i):
        self._next_uid = str(uuid.uuid4())

    def hotplug_add(self, i):
        uid = self._next_uid
        # add_device writes the sysfs entries, then emits the 'add' uevent
        self.hp[i] = (self._tbdev('Hot%d' % i, self.host, 0, uid), uid)
        return _obj_path(uid)

    def hotplug_remove(self, i):
        syspath, uid = self.hp[i]
        self.ctx.tb.uevent(syspath, 'remove')
        return _obj_path(uid)

    def after_remove(self, i):
        syspath, _ = self.hp.pop(i)
        self.ctx.tb.remove_device(syspath)

    def api_probes(self):
        """For the optional 'api' phase: a trivial property Get on the manager, and
        the bulk list (bolt has no ObjectManager: ListDevices, then GetAll per device)."""
        return {
            'get': (PATH, IFACE, 'Version'),
            'bulk': [('ListDevices', PATH, IFACE, 'ListDevices')],
            'per_device_getall': 'org.freedesktop.bolt1.Device',
        }

    def notes(self):
        return ['add latency includes umockdev add_device() writing ~10 sysfs attributes '
                'before the uevent goes out (see hotplug.add.emit_call_us)']
