# SPDX-License-Identifier: Apache-2.0
"""devsyncd (org.devsync.Broker1): USB sync devices (PDAs, phones, media players).

The daemon is started like boltd: under LD_PRELOAD=libumockdev-preload.so.0 with
UMOCKDEV_DIR pointing at the harness's testbed (ctx.tb), on the private bus
(--bus ADDRESS; DBUS_SYSTEM_BUS_ADDRESS points there too, so its logind lookup
finds nothing and it suggests no owner), with the project's profiles
(--profiles PROJECT/fdi-profiles), a fresh --state-dir per daemon run and an
empty --config file, so a host /etc/devsync/devsyncd.conf cannot leak in.
Log level is devsyncd's default (info: one line per event), as boltd runs at
its default; --verbose-peers gives --log-level debug.

Test device: the project's own MTP player fixture (Tests/DevsyncTestSupport/
Fixtures.swift, scripts/demo-testbed): SanDisk Sansa Clip+ 0781:74d0, a
usb_device with the kernel's uevent properties (PRODUCT, TYPE, BUSNUM,
DEVNUM), libmtp's udev properties (ID_MTP_DEVICE=1, ID_MEDIA_PLAYER=1) and one
interface 06/01/01 named "MTP" below it. 20-mtp.fdi names it: kind
media-player, plugin mtp. Each device gets its own serial, hence its own uid
usb-0781-74d0-<serial> and object path.

How a plug-in is emitted (DEVSYNCD_PLUG):
  udev (default)    the order udevd broadcasts in: the usb_device's 'add' finds
                    its interface already in sysfs.  In prepare_add (untimed) the
                    interface is added first, below a device directory that has
                    no uevent file yet (umockdev allows that); its 'add' reaches
                    devsyncd, which ignores an interface of an unknown device.
                    The timed emit is add_device(usb_device): attributes written,
                    then ONE 'add' uevent -- the same shape as bolt's add_device
                    -- and devsyncd announces the device on that uevent.
                    Unplug: the interface's 'remove' in prepare_remove (untimed;
                    devsyncd updates its record silently), the timed emit is ONE
                    'remove' for the usb_device, as bolt's.
  kernel            raw kernel order, as umockdev's add_device and the project's
                    own tests (Testbed.plug) do it: add_device(usb_device), then
                    add_device(interface), both in the timed emit.  devsyncd holds
                    the device back (bNumInterfaces > interface dirs) and
                    announces it on the interface's uevent.  Unplug: interface
                    'remove' then device 'remove', both timed.
In both modes the directory is removed after the remove signal, untimed.

Signals: org.devsync.Broker1.Manager DeviceAdded(o) / DeviceRemoved(o).  A
pending (unapproved) device is forgotten when unplugged -> DeviceRemoved, as
bolt drops an unenrolled device.
List: org.devsync.Broker1.Manager.ListDevices() -> ao (no baseline entry).

Binary: $DEVSYNCD, else $PROJECT/.build-static/x86_64-unknown-linux-gnu/release/
devsyncd (make release), $PROJECT/.build/{release,debug}/devsyncd,
/usr/{local/,}libexec/devsyncd.  Profiles: $DEVSYNCD_PROFILES, else
$PROJECT/fdi-profiles, else the fdi-profiles/ of the checkout the binary was
built in, else /usr/share/devsync/fdi-profiles.
"""
import os

from .base import Adapter

BUS_NAME = 'org.devsync.Broker1'
IFACE = 'org.devsync.Broker1.Manager'
PATH = '/org/devsync/Broker1'
DEV_PREFIX = '/org/devsync/Broker1/devices/'
ADDED, REMOVED, LIST = 'DeviceAdded', 'DeviceRemoved', 'ListDevices'

VID, PID, BCD = 0x0781, 0x74d0, 0x0100      # SanDisk Sansa Clip+ (MTP), 20-mtp.fdi


def _project():
    # In devsync's tree (Benchmarks/Peers/adapters), the checkout this file is in; PROJECT overrides it.
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get('PROJECT', '') or os.path.normpath(os.path.join(here, '..', '..', '..'))


def _binary():
    p = _project()
    cands = [os.environ.get('DEVSYNCD', '')]
    if p:
        cands += [os.path.join(p, '.build-static/x86_64-unknown-linux-gnu/release/devsyncd'),
                  os.path.join(p, '.build/release/devsyncd'),
                  os.path.join(p, '.build/debug/devsyncd')]
    cands += ['/usr/local/libexec/devsyncd', '/usr/libexec/devsyncd']
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return None


def _profiles(binary):
    cands = [os.environ.get('DEVSYNCD_PROFILES', '')]
    if _project():
        cands.append(os.path.join(_project(), 'fdi-profiles'))
    if binary:   # <checkout>/.build*/.../devsyncd: walk up to the checkout
        d = os.path.dirname(binary)
        for _ in range(5):
            d = os.path.dirname(d)
            cands.append(os.path.join(d, 'fdi-profiles'))
    cands.append('/usr/share/devsync/fdi-profiles')
    for c in cands:
        if c and os.path.isdir(c):
            return os.path.abspath(c)
    return None


def _escape(label):
    """systemd's bus-label escaping, as docs/dbus-api.md describes it."""
    out = []
    for b in label.encode():
        c = chr(b)
        out.append(c if c.isascii() and c.isalnum() else '_%02x' % b)
    return ''.join(out)


def _obj_path(serial):
    return DEV_PREFIX + _escape('usb-%04x-%04x-%s' % (VID, PID, serial))


class Devsyncd(Adapter):
    name = 'devsyncd'
    bus_name = BUS_NAME
    signals = [(IFACE, ADDED), (IFACE, REMOVED)]
    uses_external_testbed = True
    package = 'devsyncd'   # not a Debian package: version comes from the binary's checkout

    def __init__(self, ctx):
        super().__init__(ctx)
        self.mode = os.environ.get('DEVSYNCD_PLUG', 'udev')
        self.hp = {}

    def available(self):
        if self.mode not in ('kernel', 'udev'):
            return 'DEVSYNCD_PLUG must be kernel or udev, not %r' % self.mode
        b = _binary()
        if b is None:
            return ('devsyncd binary not found (set DEVSYNCD=/path/to/devsyncd or '
                    'PROJECT=path/to/checkout with a release build)')
        if _profiles(b) is None:
            return 'fdi-profiles not found (set PROJECT or DEVSYNCD_PROFILES)'
        return None

    def baseline_count(self):
        return 0

    # -- mock tree -----------------------------------------------------------------
    @staticmethod
    def _devnum(k):
        return k % 126 + 2

    def _attrs(self, k, serial):
        return ['idVendor', '%04x' % VID, 'idProduct', '%04x' % PID, 'bcdDevice', '%04x' % BCD,
                'bDeviceClass', '00', 'bDeviceSubClass', '00', 'bDeviceProtocol', '00',
                'bNumInterfaces', ' 1', 'bConfigurationValue', '1',
                'busnum', '1', 'devnum', str(self._devnum(k)),
                'manufacturer', 'SanDisk', 'product', 'Sansa Clip+', 'serial', serial]

    def _props(self, k):
        return ['DEVTYPE', 'usb_device', 'PRODUCT', '%x/%x/%x' % (VID, PID, BCD), 'TYPE', '0/0/0',
                'BUSNUM', '001', 'DEVNUM', '%03d' % self._devnum(k),
                'ID_MTP_DEVICE', '1', 'ID_MEDIA_PLAYER', '1']

    IF_ATTRS = ['bInterfaceNumber', '00', 'bAlternateSetting', ' 0', 'bInterfaceClass', '06',
                'bInterfaceSubClass', '01', 'bInterfaceProtocol', '01', 'interface', 'MTP']
    IF_PROPS = ['DEVTYPE', 'usb_interface', 'PRODUCT', '%x/%x/%x' % (VID, PID, BCD), 'INTERFACE', '6/1/1']

    def _plug_kernel(self, port, k, serial):
        """add_device: each sysfs entry written, then its 'add' uevent (device, then interface)."""
        tb = self.ctx.tb
        dev = tb.add_device('usb', port, self.hub, self._attrs(k, serial), self._props(k))
        intf = tb.add_device('usb', port + ':1.0', dev, self.IF_ATTRS, self.IF_PROPS)
        return dev, intf

    def populate(self, n):
        tb = self.ctx.tb
        pci = tb.add_device('pci', 'pci0000:00/0000:00:14.0', None,
                            ['class', '0x0c0330', 'vendor', '0x8086', 'device', '0xa12f'],
                            ['DRIVER', 'xhci_hcd'])
        # root hub: skipped by devsyncd by name (usbN), present as on real hardware
        self.hub = tb.add_device('usb', 'usb1', pci,
                                 ['idVendor', '1d6b', 'idProduct', '0002', 'bDeviceClass', '09',
                                  'bNumInterfaces', ' 1', 'bConfigurationValue', '1', 'busnum', '1',
                                  'devnum', '1'],
                                 ['DEVTYPE', 'usb_device', 'PRODUCT', '1d6b/2/615', 'TYPE', '9/0/1',
                                  'BUSNUM', '001', 'DEVNUM', '001'])
        for i in range(n):
            self._plug_kernel('1-%d' % (i + 1), i + 1, 'COLD%06d' % i)
        self.hp = {}

    # -- daemon --------------------------------------------------------------------
    def start(self):
        binary = _binary()
        state = self.ctx.mkdtemp('devsyncd-state')
        conf = os.path.join(self.ctx.run_dir, 'devsyncd.conf')
        if not os.path.exists(conf):
            with open(conf, 'w') as f:
                f.write('# empty: built-in defaults + flags only\n')
        env = self.ctx.daemon_env(preload=True, umockdev_dir=self.ctx.tb.get_root_dir())
        argv = [binary, '--config', conf, '--bus', self.ctx.bus_addr,
                '--profiles', _profiles(binary), '--state-dir', state]
        if self.ctx.verbose_peers:
            argv += ['--log-level', 'debug']
        return [self.ctx.spawn('devsyncd', argv, env)]

    def list_count(self, conn):
        try:
            return len(conn.call_blocking(self.bus_name, PATH, IFACE, LIST, '', (), timeout=5))
        except Exception:  # dbus.DBusException while starting up
            return None

    def classify(self, member, args):
        if member == ADDED:
            return ('add', str(args[0]))
        if member == REMOVED:
            return ('remove', str(args[0]))
        return None

    # -- hotplug -------------------------------------------------------------------
    def prepare_add(self, i):
        port, k, serial = '1-%d' % (1000 + i), 1000 + i, 'HOT%06d' % i
        self._next = (port, k, serial)
        if self.mode == 'udev':
            # interface first, below a device dir without uevent file (untimed)
            self._next_intf = self.ctx.tb.add_device('usb', '%s/%s:1.0' % (port, port), self.hub,
                                                     self.IF_ATTRS, self.IF_PROPS)

    def hotplug_add(self, i):
        port, k, serial = self._next
        if self.mode == 'kernel':
            self.hp[i] = self._plug_kernel(port, k, serial)
        else:
            dev = self.ctx.tb.add_device('usb', port, self.hub, self._attrs(k, serial), self._props(k))
            self.hp[i] = (dev, self._next_intf)
        return _obj_path(serial)

    def prepare_remove(self, i):
        if self.mode == 'udev':
            # the interface's remove precedes the device's (kernel and udevd order);
            # devsyncd updates its record silently: untimed, as the interface's add
            self.ctx.tb.uevent(self.hp[i][1], 'remove')

    def hotplug_remove(self, i):
        dev, intf = self.hp[i]
        tb = self.ctx.tb
        if self.mode == 'kernel':
            tb.uevent(intf, 'remove')
        tb.uevent(dev, 'remove')
        return _obj_path('HOT%06d' % i)

    def after_remove(self, i):
        dev, _ = self.hp.pop(i)
        self.ctx.tb.remove_device(dev)

    # -- extras ----------------------------------------------------------------------
    def version_string(self):
        b = _binary()
        prof = _profiles(b)
        rev = '?'
        try:
            import subprocess
            rev = subprocess.run(['git', '-C', os.path.dirname(prof), 'rev-parse', '--short', 'HEAD'],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=10).stdout.decode().strip() or '?'
        except Exception:
            pass
        rel = os.path.relpath(b, os.path.dirname(prof))
        return 'git-%s:%s' % (rev, rel if not rel.startswith('..') else b)

    def api_probes(self):
        return {
            'get': (PATH, IFACE, 'Version'),
            'bulk': [('ListDevices', PATH, IFACE, 'ListDevices'),
                     ('GetManagedObjects', PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects')],
            'per_device_getall': 'org.devsync.Broker1.Device',
        }

    def failure_hint(self):
        return ('check devsyncd.log in the scratch dir (--keep): was the device matched by a '
                'profile, did it take the name?')

    def notes(self):
        if self.mode == 'udev':
            n = ['plug mode udev (DEVSYNCD_PLUG): interface add/remove uevents untimed; timed emit = '
                 'add_device(usb_device) (writes + 1 uevent) / 1 remove uevent, as bolt']
        else:
            n = ['plug mode kernel (DEVSYNCD_PLUG): timed add = add_device(usb_device) + '
                 'add_device(interface), 2 writes + 2 uevents, announced on the interface uevent; '
                 'timed remove = 2 uevents']
        n.append('per add devsyncd matches profiles and sends InterfacesAdded (all properties) '
                 'BEFORE DeviceAdded (inside the timing) and ApprovalRequested after it; per remove '
                 'DeviceRemoved, then InterfacesRemoved. bolt sends 1 signal per event. Both log '
                 '3 lines per add and 2 per remove at their default level')
        return n
