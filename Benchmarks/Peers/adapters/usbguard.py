# SPDX-License-Identifier: Apache-2.0
"""usbguard 1.1.x (usbguard-daemon + usbguard-dbus bridge, org.usbguard1): USB.

Which device backend works under umockdev:
  * DeviceManagerBackend=uevent (the default) opens its own NETLINK_KOBJECT_UEVENT
    socket.  umockdev's preload does wrap that socket, but usbguard drops every
    message whose SCM_CREDENTIALS pid is not 0 ("received uevent of unknown
    origin: ignoring", UEventDeviceManager.cpp).  Only the kernel sends with
    pid 0; a unix-socket sender cannot forge pid 0 (the kernel refuses it), so
    hotplug never reaches the daemon.  Kept as the probe peer 'usbguard-uevent'.
  * DeviceManagerBackend=umockdev (built into Debian's libusbguard1) works:
    the daemon (run under LD_PRELOAD=libumockdev-preload.so.0) creates its OWN
    testbed, loads umockdev-format definition files from
    $USBGUARD_UMOCKDEV_DEVICEDIR at start, then watches that directory with
    inotify: IN_CREATE -> parse file, add to its testbed, send itself an 'add'
    uevent (accepted because ucred.pid == getpid()); IN_DELETE -> 'remove'.
    So the driver's "emit" is link()ing a finished definition file into the
    directory (link() raises IN_CREATE with the content already there; a plain
    open/write would race) and unlink()ing it.
Quirks of that backend that shape the harness:
  * a sysfs path is never forgotten (_sysfs_path_map is not erased), so every
    hotplug cycle uses a fresh port name 1-<1000+i>;
  * each device needs A: port/connect_type, else DeviceBase retries the read
    up to ~50 times with usleep(1000) (~60 ms per device);
  * after the policy is applied the backend re-sends 'add', so a trailing
    DevicePresenceChanged(event=Present) follows each Insert (ignored here).
Signals: org.usbguard.Devices1 DevicePresenceChanged(u id, u event, u target,
s rule, a{ss} attrs); event 1 = Insert, 3 = Remove.  Key = the serial.
List: org.usbguard.Devices1.listDevices("match") -> a(us); needs polkit
(python-dbusmock 'polkitd' template, AllowUnknown(True)).
usbguard-dbus connects to the daemon's IPC from a 1 s GLib timer after it
owns its name (gdbus-server.cpp), so the D-Bus cold-plug figure has a ~1 s
floor; coldplug.*.ipc_ms polls the daemon itself via `usbguard list-devices`.
"""
import os
import re
import subprocess
import time

from .base import Adapter

DAEMON = '/usr/sbin/usbguard-daemon'
BRIDGE = '/usr/sbin/usbguard-dbus'
CLI = '/usr/bin/usbguard'
IFACE = 'org.usbguard.Devices1'
PATH = '/org/usbguard1/Devices'
SERIAL_RE = re.compile(r'serial "([^"]*)"')

BASE = """P: /devices/pci0000:00/0000:00:14.0
E: DRIVER=xhci_hcd
E: PCI_CLASS=C0330
E: PCI_ID=8086:A12F
E: PCI_SLOT_NAME=0000:00:14.0
E: SUBSYSTEM=pci
A: class=0x0c0330
A: device=0xa12f
A: vendor=0x8086

P: /devices/pci0000:00/0000:00:14.0/usb1
E: BUSNUM=001
E: DEVNUM=001
E: DEVTYPE=usb_device
E: DRIVER=usb
E: PRODUCT=1d6b/2/415
E: SUBSYSTEM=usb
E: TYPE=9/0/1
A: authorized=1
A: authorized_default=0
A: bConfigurationValue=1
A: bDeviceClass=09
A: bNumConfigurations=1
A: bNumInterfaces= 1
A: busnum=1
H: descriptors=12010002090001406B1D020015040302010109021900010100E0000904000001090000000705810304000C
A: devnum=1
A: devpath=0
A: idProduct=0002
A: idVendor=1d6b
A: manufacturer=Linux xhci-hcd
A: maxchild=16
A: product=xHCI Host Controller
A: serial=0000:00:14.0
A: speed=480

"""


def usb_device(port, serial, pid):
    """umockdev definition of a mass-storage device (1 interface, 2 bulk EPs)."""
    desc = ('1201000200000040' + '3412' + '%02X%02X' % (pid & 0xff, pid >> 8) +
            '0100010203010902200001010080320904000002080650000705810200020007050202000200')
    devnum = (port % 120) + 2
    return (f"P: /devices/pci0000:00/0000:00:14.0/usb1/1-{port}\n"
            f"E: BUSNUM=001\nE: DEVNUM={devnum:03d}\nE: DEVTYPE=usb_device\n"
            f"E: DRIVER=usb\nE: PRODUCT=1234/{pid:x}/100\nE: SUBSYSTEM=usb\nE: TYPE=0/0/0\n"
            f"A: authorized=1\nA: bConfigurationValue=1\nA: bDeviceClass=00\n"
            f"A: bNumConfigurations=1\nA: bNumInterfaces= 1\nA: busnum=1\n"
            f"H: descriptors={desc}\nA: devnum={devnum}\nA: devpath={port}\n"
            f"A: idProduct={pid:04x}\nA: idVendor=1234\nA: manufacturer=Bench\n"
            f"A: product=Bench Disk {port}\nA: serial={serial}\n"
            f"A: port/connect_type=hotplug\nA: speed=480\n\n")


class Usbguard(Adapter):
    name = 'usbguard'
    bus_name = 'org.usbguard1'
    signals = [(IFACE, 'DevicePresenceChanged')]
    uses_external_testbed = False
    backend = 'umockdev'

    def available(self):
        for p in (DAEMON, BRIDGE, CLI):
            if not os.access(p, os.X_OK):
                return p + ' not found (apt-get install usbguard)'
        return None

    def baseline_count(self):
        return 1  # root hub usb1

    # -- helpers --------------------------------------------------------------------
    def session_start(self, conn):
        # polkit mock: usbguard-dbus checks every method call with polkit
        self.ctx.spawn('polkitd-mock', ['/usr/bin/python3', '-m', 'dbusmock', '--system',
                                        '--template', 'polkitd'],
                       self.ctx.client_env(), helper=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                conn.call_blocking('org.freedesktop.PolicyKit1',
                                   '/org/freedesktop/PolicyKit1/Authority',
                                   'org.freedesktop.DBus.Mock', 'AllowUnknown', 'b', (True,),
                                   timeout=2)
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError('polkitd mock did not come up')

    def _write_config(self):
        conf = os.path.join(self.dir, 'usbguard-daemon.conf')
        rules = os.path.join(self.dir, 'rules.conf')
        with open(rules, 'w'):
            pass
        os.chmod(rules, 0o600)
        with open(conf, 'w') as f:
            f.write(f"""RuleFile={rules}
ImplicitPolicyTarget=block
PresentDevicePolicy=apply-policy
PresentControllerPolicy=keep
InsertedDevicePolicy=apply-policy
RestoreControllerDeviceState=false
DeviceManagerBackend={self.backend}
IPCAllowedUsers=root
IPCAllowedGroups=root
DeviceRulesWithPort=false
AuditBackend=FileAudit
AuditFilePath={self.dir}/audit.log
""")
        os.chmod(conf, 0o600)
        return conf

    # -- devices --------------------------------------------------------------------
    def populate(self, n):
        self.dir = self.ctx.mkdtemp('usbguard')
        self.devdir = os.path.join(self.dir, 'devices')
        self.stage = os.path.join(self.dir, 'stage')
        os.makedirs(self.devdir)
        os.makedirs(self.stage)
        with open(os.path.join(self.devdir, '000-cold.umockdev'), 'w') as f:
            f.write(BASE + ''.join(usb_device(p, 'CP%08d' % p, 0x5000 + p) for p in range(1, n + 1)))

    def start(self):
        conf = self._write_config()
        env = self.ctx.daemon_env(preload=True, umockdev_dir=None)
        env['USBGUARD_UMOCKDEV_DEVICEDIR'] = self.devdir
        argv = [DAEMON, '-k', '-P', '-c', conf]
        if self.ctx.verbose_peers:
            argv.insert(1, '-d')
        d = self.ctx.spawn('usbguard-daemon', argv, env)
        b = self.ctx.spawn('usbguard-dbus', [BRIDGE, '--system'], self.ctx.client_env())
        return [d, b]

    def list_count(self, conn):
        try:
            return len(conn.call_blocking(self.bus_name, PATH, IFACE, 'listDevices',
                                          's', ('match',), timeout=5))
        except Exception:
            return None

    def _ipc_count(self):
        try:
            r = subprocess.run([CLI, 'list-devices'], env=self.ctx.client_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        return sum(1 for line in r.stdout.decode(errors='replace').splitlines() if line.strip())

    def extra_coldplug_probes(self):
        return {'ipc': self._ipc_count}

    def classify(self, member, args):
        if member != 'DevicePresenceChanged' or len(args) < 4:
            return None
        m = SERIAL_RE.search(str(args[3]))
        key = m.group(1) if m else None
        ev = int(args[1])
        if ev == 1:
            return ('add', key)
        if ev == 3:
            return ('remove', key)
        return None  # 0 Present / 2 Update

    # -- hotplug --------------------------------------------------------------------
    def _hp_names(self, i):
        fname = 'hp-%d.umockdev' % i
        return os.path.join(self.stage, fname), os.path.join(self.devdir, fname), 'HP%08d' % i

    def prepare_add(self, i):
        staged, _, serial = self._hp_names(i)
        port = 1000 + i
        with open(staged, 'w') as f:
            f.write(usb_device(port, serial, (0x6000 + i) & 0xffff))

    def hotplug_add(self, i):
        staged, live, serial = self._hp_names(i)
        os.link(staged, live)
        return serial

    def hotplug_remove(self, i):
        _, live, serial = self._hp_names(i)
        os.unlink(live)
        return serial

    def after_remove(self, i):
        staged, _, _ = self._hp_names(i)
        os.unlink(staged)

    # -- reporting ------------------------------------------------------------------
    def coldplug_log_figures(self):
        """From usbguard-daemon's own log (-k, wall-clock ms stamps):
        start_to_first_event: first log line (config load) -> first audit
          line (first device event); this is mostly the daemon building its
          private umockdev testbed from the definition file (mock-only work);
        first_to_last_event: first -> last device audit line (the real
          enumeration + policy work for the N devices)."""
        ts = re.compile(rb'^\[(\d+\.\d+)\] \((\w)\)')
        first = a_first = a_last = None
        try:
            with open(self.ctx.log_path('usbguard-daemon'), 'rb') as f:
                for line in f:
                    m = ts.match(line)
                    if not m:
                        continue
                    t = float(m.group(1))
                    if first is None:
                        first = t
                    if m.group(2) == b'A':
                        a_first = a_first or t
                        a_last = t
        except OSError:
            return {}
        if first is None or a_first is None:
            return {}
        return {'start_to_first_event': (a_first - first) * 1000,
                'first_to_last_event': (a_last - a_first) * 1000}

    def overhead_estimates(self):
        """Cost of umockdev_testbed_add_from_string() -- the mock-only step
        usbguard's umockdev backend runs in-daemon per device -- measured by a
        tiny C program (tools/mockcost.c, built on the fly) under the same
        preload and on the same scratch filesystem. Never subtracted."""
        src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools', 'mockcost.c')
        d = self.ctx.new_run('usbguard-mockcost')
        exe = os.path.join(d, 'mockcost')
        try:
            flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'umockdev-1.0'], check=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode().split()
            subprocess.run(['cc', '-O2', '-o', exe, src] + flags, check=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except (OSError, subprocess.CalledProcessError) as e:
            return {'skipped': 'cannot build tools/mockcost.c (%s); needs cc + libumockdev-dev' % e}
        base = os.path.join(d, 'base.umockdev')
        with open(base, 'w') as f:
            f.write(BASE)
        os.makedirs(os.path.join(d, 'defs'))
        pat = os.path.join(d, 'defs', '%d.umockdev')
        for i in range(1, 501):
            with open(pat % i, 'w') as f:
                f.write(usb_device(i, 'OV%08d' % i, 0x5000 + i))
        env = self.ctx.daemon_env(preload=True)

        def run(*a):
            return subprocess.run([exe, base, pat] + list(a), env=env, check=True,
                                  stdout=subprocess.PIPE).stdout.decode().split()
        hot = sorted(float(x) for x in run('hot', '50'))
        res = {'mock_add_1dev_us_p50': hot[len(hot) // 2], 'mock_add_1dev_us_p90': hot[int(len(hot) * .9)]}
        for n in (10, 100, 500):
            res['mock_add_%ddev_seq_ms' % n] = float(run('cold', str(n))[0])
        return res

    def notes(self):
        return ['emit = link() of a definition file into USBGUARD_UMOCKDEV_DEVICEDIR; the latency '
                'includes inotify wake-up, usbguard parsing the umockdev file and adding it to its own '
                'testbed (mock-only work, see overhead.* figures), then the real pipeline: uevent -> '
                'sysfs read -> device/rule -> IPC -> usbguard-dbus -> DevicePresenceChanged',
                'two processes publish: usbguard-daemon and usbguard-dbus; RSS/wakeups are given for both',
                'D-Bus cold-plug has a ~1 s floor: usbguard-dbus first connects to the daemon IPC from a '
                '1 s timer (coldplug.*.ipc_ms polls the daemon directly with `usbguard list-devices`)']


class UsbguardUevent(Usbguard):
    """Probe: the default uevent backend fed by an external umockdev testbed.
    Expected to fail (see module docstring); kept so the failure is reproducible."""
    name = 'usbguard-uevent'
    uses_external_testbed = True
    backend = 'uevent'

    def populate(self, n):
        self.dir = self.ctx.mkdtemp('usbguard')
        tb = self.ctx.tb
        tb.add_from_string(BASE + ''.join(usb_device(p, 'CP%08d' % p, 0x5000 + p)
                                          for p in range(1, n + 1)))

    def start(self):
        conf = self._write_config()
        env = self.ctx.daemon_env(preload=True, umockdev_dir=self.ctx.tb.get_root_dir())
        argv = [DAEMON, '-k', '-d', '-P', '-c', conf]  # -d: log shows why events are dropped
        d = self.ctx.spawn('usbguard-daemon', argv, env)
        b = self.ctx.spawn('usbguard-dbus', [BRIDGE, '--system'], self.ctx.client_env())
        return [d, b]

    def prepare_add(self, i):
        self._def = usb_device(1000 + i, 'HP%08d' % i, (0x6000 + i) & 0xffff)

    def hotplug_add(self, i):
        self.ctx.tb.add_from_string(self._def)  # writes sysfs, emits 'add'
        return 'HP%08d' % i

    def hotplug_remove(self, i):
        self.ctx.tb.uevent('/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%d' % (1000 + i), 'remove')
        return 'HP%08d' % i

    def after_remove(self, i):
        self.ctx.tb.remove_device('/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%d' % (1000 + i))

    def extra_coldplug_probes(self):
        return {}

    def overhead_estimates(self):
        return {}

    def failure_hint(self):
        try:
            with open(self.ctx.log_path('usbguard-daemon'), 'rb') as f:
                n = f.read().count(b'received uevent of unknown origin')
        except OSError:
            n = '?'
        return ('usbguard uevent backend only accepts uevents whose SCM_CREDENTIALS pid is 0 (the kernel); '
                'umockdev delivers them from the driver process, so they are dropped '
                '(daemon log: %s x "received uevent of unknown origin: ignoring")' % n)

    def notes(self):
        return ['probe of the default uevent backend; expected to fail on hotplug']
