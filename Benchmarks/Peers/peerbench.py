#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Peer benchmark harness (see README.md).  Run through run-peers.sh, which
sets LD_PRELOAD=libumockdev-preload.so.0 and TMPDIR for this process.

One process is driver, listener and clock: it emits the uevent (or the
peer-specific equivalent), then reads the peer's D-Bus signal from its own
connection; both timestamps are time.monotonic_ns() in this process.  The
signal timestamp is taken in a libdbus message filter before the message
arguments are converted, so Python overhead on the receive side is small
and the same for every peer (see harness.bus_floor.latency_us).
"""
import argparse
import gc
import glob
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time

import dbus
import dbus.lowlevel
from dbus.mainloop.glib import DBusGMainLoop
import gi
gi.require_version('UMockdev', '1.0')
from gi.repository import GLib, UMockdev  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from adapters import PEERS, PROBES  # noqa: E402

PRELOAD = 'libumockdev-preload.so.0'
FLOOR_IFACE = 'org.peerbench.Floor'

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- private stand-in for the system bus: system type, no activation,
       anyone may own any name and talk to anyone -->
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
"""


# ----------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------
RESULTS = []


def emit(peer, figure, **kv):
    """One line per figure: '<peer> <figure> k=v ...'; also kept for JSON."""
    parts = []
    for k, v in kv.items():
        if isinstance(v, float):
            v = ('%.1f' % v) if abs(v) >= 10 else ('%.3f' % v)
        elif isinstance(v, (list, tuple)):
            v = '[' + ','.join(('%.1f' % x) if isinstance(x, float) else str(x) for x in v) + ']'
        parts.append('%s=%s' % (k, v))
    print('%-16s %-40s %s' % (peer, figure, ' '.join(parts)), flush=True)
    RESULTS.append(dict(peer=peer, figure=figure, **kv))


def pct(sorted_vals, q):
    if not sorted_vals:
        return float('nan')
    k = max(0, min(len(sorted_vals) - 1, int(math.ceil(q * len(sorted_vals))) - 1))
    return sorted_vals[k]


def dist(vals):
    s = sorted(vals)
    if not s:
        return dict(n=0)
    return dict(n=len(s), p50=pct(s, .5), p90=pct(s, .9), p99=pct(s, .99), max=s[-1],
                min=s[0], mean=sum(s) / len(s))


def median(vals):
    s = sorted(vals)
    return s[len(s) // 2] if s else float('nan')


# ----------------------------------------------------------------------------------
# process / environment bookkeeping
# ----------------------------------------------------------------------------------
class Ctx:
    def __init__(self, workdir, verbose_peers):
        self.workdir = workdir
        self.verbose_peers = verbose_peers
        self.procs = []          # [(name, Popen, helper)] -- only what we started
        self.bus_addr = None
        self.tb = None
        self.run_dir = workdir
        self.logdir = workdir

    # environment -----------------------------------------------------------------
    def _clean_env(self):
        env = dict(os.environ)
        for k in ('LD_PRELOAD', 'UMOCKDEV_DIR', 'DBUS_SESSION_BUS_ADDRESS',
                  'DBUS_SYSTEM_BUS_ADDRESS', 'USBGUARD_UMOCKDEV_DEVICEDIR'):
            env.pop(k, None)
        env['TMPDIR'] = self.workdir
        if self.bus_addr:
            env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus_addr
        return env

    def client_env(self):
        """Environment for non-mocked helpers (bridges, CLIs, mocks)."""
        return self._clean_env()

    def daemon_env(self, preload=True, umockdev_dir=None):
        env = self._clean_env()
        if preload:
            env['LD_PRELOAD'] = PRELOAD
        if umockdev_dir:
            env['UMOCKDEV_DIR'] = umockdev_dir
        return env

    # files ------------------------------------------------------------------------
    def new_run(self, label):
        self.run_dir = tempfile.mkdtemp(prefix=label + '.', dir=self.workdir)
        self.logdir = self.run_dir
        return self.run_dir

    def mkdtemp(self, prefix):
        return tempfile.mkdtemp(prefix=prefix + '.', dir=self.run_dir)

    def log_path(self, name):
        return os.path.join(self.logdir, name + '.log')

    def log_tail(self, name, n=6):
        try:
            with open(self.log_path(name), 'rb') as f:
                lines = f.read().decode(errors='replace').splitlines()
            return ' | '.join(lines[-n:])
        except OSError:
            return ''

    # testbed ------------------------------------------------------------------------
    def new_testbed(self):
        self.drop_testbed()
        self.tb = UMockdev.Testbed.new()
        if not UMockdev.in_mock_environment():
            raise RuntimeError('driver not running under %s (use run-peers.sh)' % PRELOAD)
        return self.tb

    def drop_testbed(self):
        if self.tb is not None:
            self.tb = None
            gc.collect()   # finalizer removes the testbed directory

    # processes ---------------------------------------------------------------------
    def spawn(self, name, argv, env, helper=False):
        log = open(self.log_path(name), 'ab')
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, close_fds=True)
        log.close()
        p.peer_name = name
        self.procs.append((name, p, helper))
        return p

    def register(self, name, p, helper=True):
        p.peer_name = name
        self.procs.append((name, p, helper))

    @staticmethod
    def _stop(p, timeout=5.0):
        if p.poll() is not None:
            return
        try:
            p.terminate()             # SIGTERM to this PID only
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)
        except ProcessLookupError:
            pass

    def stop_run_procs(self):
        keep = []
        for name, p, helper in reversed(self.procs):
            if helper:
                keep.append((name, p, helper))
            else:
                self._stop(p)
        self.procs = list(reversed(keep))

    def stop_all(self):
        for name, p, helper in reversed(self.procs):
            self._stop(p)
        self.procs = []


def start_bus(ctx):
    sock = os.path.join(ctx.workdir, 'system_bus_socket')
    conf = os.path.join(ctx.workdir, 'bus.conf')
    with open(conf, 'w') as f:
        f.write(BUS_CONF.format(sock=sock))
    log = open(os.path.join(ctx.workdir, 'dbus-daemon.log'), 'ab')
    p = subprocess.Popen(['dbus-daemon', '--config-file=' + conf, '--nofork', '--print-address=1'],
                         env=ctx.client_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=log, close_fds=True)
    log.close()
    ctx.register('dbus-daemon', p, helper=True)
    addr = p.stdout.readline().decode().strip()
    if not addr:
        raise RuntimeError('dbus-daemon did not start')
    ctx.bus_addr = addr
    return addr


# ----------------------------------------------------------------------------------
# /proc readings
# ----------------------------------------------------------------------------------
def proc_field(pid, field, path='status'):
    with open('/proc/%d/%s' % (pid, path)) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return None


def ctx_switches(pid):
    total = 0
    for st in glob.glob('/proc/%d/task/*/status' % pid):
        try:
            with open(st) as f:
                for line in f:
                    if line.startswith(('voluntary_ctxt_switches:', 'nonvoluntary_ctxt_switches:')):
                        total += int(line.split()[1])
        except OSError:
            pass   # thread exited
    return total


def ctx_switches_by_tid(pid):
    out = {}
    for st in glob.glob('/proc/%d/task/*/status' % pid):
        total = 0
        try:
            with open(st) as f:
                for line in f:
                    if line.startswith(('voluntary_ctxt_switches:', 'nonvoluntary_ctxt_switches:')):
                        total += int(line.split()[1])
        except OSError:
            continue   # thread exited
        out[int(st.split('/')[4])] = total
    return out


class WakeupWatch:
    """Context switches of every thread of a process over a window, per thread id.

    A plain sum over /proc/PID/task/* at both ends goes wrong (even negative) when
    threads exit in the window (libdispatch ends idle workers 5 s after their last
    job): their counts vanish from the sum.  So the threads are sampled during the
    window (reading /proc does not wake the target); a thread that exits counts
    what it did until its last sample plus 1 for the wake-up that ended it, a
    thread that appears counts everything it did."""

    def __init__(self, pid):
        self.pid = pid
        self.base = ctx_switches_by_tid(pid)
        self.last = dict(self.base)
        self.gone = set()

    def sample(self):
        now = ctx_switches_by_tid(self.pid)
        for tid in self.last:
            if tid not in now:
                self.gone.add(tid)
        for tid, c in now.items():
            self.last[tid] = c
            self.gone.discard(tid)
        return now

    def result(self):
        now = self.sample()
        total = 0
        for tid, c in self.last.items():
            total += c - self.base.get(tid, 0) + (1 if tid in self.gone else 0)
        return dict(wakeups=total, threads_exited=len(self.gone),
                    threads_started=len([t for t in self.last if t not in self.base]),
                    threads_end=len(now))


def nthreads(pid):
    return len(glob.glob('/proc/%d/task/*' % pid))


def smaps_rollup(pid):
    """{field: kB} from /proc/PID/smaps_rollup (Rss, Pss, Pss_Anon, Private_Dirty...)."""
    out = {}
    with open('/proc/%d/smaps_rollup' % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == 'kB':
                out[parts[0].rstrip(':')] = int(parts[1])
    return out


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in s."""
    with open('/proc/%d/stat' % pid) as f:
        rest = f.read().rsplit(')', 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf('SC_CLK_TCK')


# ----------------------------------------------------------------------------------
# listener
# ----------------------------------------------------------------------------------
class Listener:
    def __init__(self, addr, adapter):
        self.adapter = adapter
        self.conn = dbus.bus.BusConnection(addr, mainloop=DBusGMainLoop())
        self.sigset = set(adapter.signals)
        self.events = []          # (t_ns, kind, key, member)
        self.owner = []           # (t_ns, new_owner)
        self.floor = []           # t_ns of FLOOR_IFACE pings
        self._wait = None
        self.conn.add_message_filter(self._filter)
        for iface, member in adapter.signals:
            self.conn.add_match_string("type='signal',interface='%s',member='%s'" % (iface, member))
        self.conn.add_match_string(
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
            "member='NameOwnerChanged',arg0='%s'" % adapter.bus_name)
        self.conn.add_match_string("type='signal',interface='%s'" % FLOOR_IFACE)

    def _filter(self, conn, msg):
        t = time.monotonic_ns()
        if msg.get_type() == dbus.lowlevel.MESSAGE_TYPE_SIGNAL:
            iface, member = msg.get_interface(), msg.get_member()
            if (iface, member) in self.sigset:
                c = self.adapter.classify(member, msg.get_args_list())
                self.events.append((t, c[0] if c else None, c[1] if c else None, member))
            elif iface == FLOOR_IFACE:
                self.floor.append(t)
            elif member == 'NameOwnerChanged' and iface == 'org.freedesktop.DBus':
                a = msg.get_args_list()
                if str(a[0]) == self.adapter.bus_name:
                    self.owner.append((t, str(a[2])))
            if self._wait is not None and self._wait[0]():
                self._wait[1].quit()
        return None  # not handled: let libdbus continue

    def pump(self, pred, timeout):
        """Run the GLib main loop until pred() or timeout (s). Returns pred()."""
        if pred():
            return True
        loop = GLib.MainLoop()
        fired = []

        def on_timeout():
            fired.append(1)
            loop.quit()
            return False
        tid = GLib.timeout_add(max(1, int(timeout * 1000)), on_timeout)
        self._wait = (pred, loop)
        try:
            loop.run()
        finally:
            self._wait = None
            if not fired:
                GLib.source_remove(tid)
        return pred()

    def quiesce(self, gap=0.03, limit=1.0):
        """Let trailing signals drain: wait until `gap` s pass without any."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            n = len(self.events)
            self.pump(lambda: len(self.events) != n, gap)
            if len(self.events) == n:
                return

    def find(self, start, kind, key):
        for e in self.events[start:]:
            if e[1] == kind and (key is None or e[2] == key):
                return e
        return None

    def owned(self, since_t):
        return any(t >= since_t and new for t, new in self.owner)

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


# ----------------------------------------------------------------------------------
# phases
# ----------------------------------------------------------------------------------
class PhaseFailed(Exception):
    pass


def check_alive(ctx, procs):
    for p in procs:
        rc = p.poll()
        if rc is not None:
            raise PhaseFailed('%s exited with %s; log: %s' % (p.peer_name, rc, ctx.log_tail(p.peer_name)))


def wait_ready(ctx, ad, lis, procs, expected, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lis.pump(lambda: False, 0.02)
        check_alive(ctx, procs)
        c = ad.list_count(lis.conn)
        if c is not None and c >= expected:
            return c
    raise PhaseFailed('peer did not publish %d devices within %ss (last count %s)' % (expected, timeout, c))


def fresh_devices(ctx, ad, n):
    if ad.uses_external_testbed:
        ctx.new_testbed()
    else:
        ctx.drop_testbed()
    ad.populate(n)


def phase_bus_floor(ctx, lis, n):
    """Harness floor: signal from a 2nd connection in this process to the
    listener through the same dbus-daemon (no peer involved)."""
    c2 = dbus.bus.BusConnection(ctx.bus_addr)
    lats = []
    for i in range(n + 10):
        k = len(lis.floor)
        msg = dbus.lowlevel.SignalMessage('/org/peerbench', FLOOR_IFACE, 'Ping')
        t0 = time.monotonic_ns()
        c2.send_message(msg)
        c2.flush()
        if not lis.pump(lambda: len(lis.floor) > k, 2.0):
            raise PhaseFailed('floor ping lost')
        if i >= 10:
            lats.append((lis.floor[k] - t0) / 1000)
    c2.close()
    return lats


def phase_hotplug(ctx, ad, lis, cycles, warmup, timeout):
    ctx.new_run(ad.name + '-hotplug')
    fresh_devices(ctx, ad, 0)
    procs = ad.start()
    try:
        wait_ready(ctx, ad, lis, procs, ad.baseline_count(), 30)
        lis.quiesce(0.2, 3)
        res = {k: [] for k in ('add', 'remove', 'add_emit', 'remove_emit', 'add_after', 'remove_after')}
        misses = {'add': 0, 'remove': 0}
        for i in range(warmup + cycles):
            for kind in ('add', 'remove'):
                if kind == 'add':
                    ad.prepare_add(i)
                else:
                    ad.prepare_remove(i)
                lis.quiesce()
                check_alive(ctx, procs)
                start = len(lis.events)
                t0 = time.monotonic_ns()
                key = ad.hotplug_add(i) if kind == 'add' else ad.hotplug_remove(i)
                t1 = time.monotonic_ns()
                ok = lis.pump(lambda: lis.find(start, kind, key) is not None, timeout)
                if not ok:
                    misses[kind] += 1
                    if not res['add'] and misses['add'] >= 3:
                        hint = ad.failure_hint() or ''
                        raise PhaseFailed('no %s signal within %ss for 3 devices. %s' % (kind, timeout, hint))
                    continue
                t_sig = lis.find(start, kind, key)[0]
                if i >= warmup:
                    res[kind].append((t_sig - t0) / 1000)
                    res[kind + '_emit'].append((t1 - t0) / 1000)
                    res[kind + '_after'].append((t_sig - t1) / 1000)
            ad.after_remove(i)
        res['misses'] = misses
        return res
    finally:
        ctx.stop_run_procs()


def phase_coldplug(ctx, ad, lis, n, poll, timeout, idle_window=0.0, idle_settle=2.0):
    ctx.new_run('%s-cold%d' % (ad.name, n))
    fresh_devices(ctx, ad, n)
    expected = n + ad.baseline_count()
    # drain signals a previous run left in our socket (e.g. sent while we
    # slept through an idle window) so they are not counted for this run
    lis.quiesce(0.05, 2)
    ev_mark = len(lis.events)
    t0 = time.monotonic_ns()
    procs = ad.start()
    try:
        # extra probes (e.g. a CLI talking to the peer's private IPC) block
        # while they run, so each gets its own thread; the main thread keeps
        # pumping D-Bus so signal / NameOwnerChanged timestamps stay exact
        import threading
        done, last = {}, {}
        stop = threading.Event()

        def probe_thread(k, fn, every):
            while not stop.is_set():
                c = fn()
                last[k] = c
                if c is not None and c >= expected:
                    done[k] = (time.monotonic_ns() - t0) / 1e6
                    return
                stop.wait(every)
        threads = [threading.Thread(target=probe_thread, args=(k, fn, max(poll, 0.02)), daemon=True)
                   for k, fn in ad.extra_coldplug_probes().items()]
        for th in threads:
            th.start()
        want = 1 + len(threads)
        last_poll = 0.0
        deadline = time.monotonic() + timeout
        try:
            while len(done) < want:
                if time.monotonic() > deadline:
                    raise PhaseFailed('cold-plug of %d not complete after %ss: %s' % (n, timeout, last))
                lis.pump(lambda: False, poll)
                check_alive(ctx, procs)
                now = time.monotonic()
                if 'published' in done or now - last_poll < poll or not lis.owned(t0):
                    continue
                last_poll = now
                c = ad.list_count(lis.conn)
                last['published'] = c
                if c is not None and c >= expected:
                    done['published'] = (time.monotonic_ns() - t0) / 1e6
        finally:
            stop.set()
            for th in threads:
                th.join(10)
        out = dict(done)
        own = [t for t, new in lis.owner if t >= t0 and new]
        out['name_owned'] = (own[0] - t0) / 1e6 if own else None
        adds = [e[0] for e in lis.events[ev_mark:] if e[1] == 'add']
        out['signals_seen'] = len(adds)
        out['signals'] = (adds[n - 1] - t0) / 1e6 if n and len(adds) >= n else None
        if idle_window > 0:
            # idle: nobody talks to the peer from here on
            time.sleep(idle_settle)
            check_alive(ctx, procs)
            rss = {p.peer_name: proc_field(p.pid, 'VmRSS') for p in procs}
            thr = {p.peer_name: nthreads(p.pid) for p in procs}
            watch = {p.peer_name: WakeupWatch(p.pid) for p in procs}
            end = time.monotonic() + idle_window
            while time.monotonic() < end:
                time.sleep(min(0.25, max(0.0, end - time.monotonic())))
                for w in watch.values():
                    w.sample()
            res = {k: w.result() for k, w in watch.items()}
            out['rss_kib'] = rss
            out['threads'] = thr
            out['wakeups'] = {k: r['wakeups'] for k, r in res.items()}
            out['thread_churn'] = {k: (r['threads_started'], r['threads_exited'], r['threads_end'])
                                   for k, r in res.items()}
    finally:
        ctx.stop_run_procs()
    # figures the adapter reads from its peer's logs (after stop: logs complete)
    for k, v in (ad.coldplug_log_figures() or {}).items():
        out['log.' + k] = v
    return out


def phase_api(ctx, ad, lis, n, args, probes):
    """Optional phase 'api' (not in the defaults): with n devices cold-plugged,
    memory from smaps_rollup after a settle, property-Get round trips per second
    from one blocking client, and the bulk list calls (at n == --api-bulk-n)."""
    ctx.new_run('%s-api%d' % (ad.name, n))
    fresh_devices(ctx, ad, n)
    lis.quiesce(0.05, 2)
    procs = ad.start()
    out = {}
    try:
        wait_ready(ctx, ad, lis, procs, n + ad.baseline_count(), args.coldplug_timeout)
        lis.quiesce(0.2, 5)
        time.sleep(args.api_settle)
        check_alive(ctx, procs)
        out['smaps'] = {p.peer_name: smaps_rollup(p.pid) for p in procs}
        pid = procs[0].pid
        # a plain blocking client connection: no main loop, no message filter
        c = dbus.bus.BusConnection(ctx.bus_addr)
        try:
            path, iface, prop = probes['get']
            args_get = (iface, prop)
            for _ in range(200):   # warm-up
                c.call_blocking(ad.bus_name, path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', args_get)
            cpu0 = cpu_seconds(pid)
            t0 = time.monotonic()
            end = t0 + args.api_window
            calls = 0
            while True:
                c.call_blocking(ad.bus_name, path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', args_get)
                calls += 1
                if calls % 50 == 0 and time.monotonic() >= end:
                    break
            el = time.monotonic() - t0
            out['get'] = dict(calls_per_s=calls / el, calls=calls, seconds=el,
                              daemon_cpu_us_per_call=(cpu_seconds(pid) - cpu0) * 1e6 / calls)
            if n == args.api_bulk_n:
                for label, bpath, biface, member in probes.get('bulk', []):
                    raw, dec, cnt = [], [], None
                    for rep in range(args.api_bulk_reps + 1):
                        msg = dbus.lowlevel.MethodCallMessage(ad.bus_name, bpath, biface, member)
                        t = time.monotonic_ns()
                        reply = c.send_message_with_reply_and_block(msg, 60)
                        t_raw = (time.monotonic_ns() - t) / 1e6
                        t = time.monotonic_ns()
                        r = c.call_blocking(ad.bus_name, bpath, biface, member, '', (), timeout=60)
                        t_dec = (time.monotonic_ns() - t) / 1e6
                        if rep:      # first one is a warm-up
                            raw.append(t_raw)
                            dec.append(t_dec)
                        cnt = len(r)
                        del reply
                    out['bulk.' + label] = dict(raw_ms=raw, decoded_ms=dec, entries=cnt)
                dev_iface = probes.get('per_device_getall')
                lst = probes['bulk'][0]
                if dev_iface:
                    # what a client without ObjectManager does: list, then GetAll per device
                    tot = []
                    for rep in range(args.api_bulk_reps):
                        t = time.monotonic_ns()
                        paths = c.call_blocking(ad.bus_name, lst[1], lst[2], lst[3], '', (), timeout=60)
                        for p in paths:
                            c.call_blocking(ad.bus_name, p, 'org.freedesktop.DBus.Properties', 'GetAll',
                                            's', (dev_iface,), timeout=60)
                        tot.append((time.monotonic_ns() - t) / 1e6)
                    out['bulk.%s+GetAll_each' % lst[0]] = dict(decoded_ms=tot, entries=len(paths))
        finally:
            c.close()
        check_alive(ctx, procs)
    finally:
        ctx.stop_run_procs()
    return out


# ----------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------
def pkg_version(pkg):
    try:
        return subprocess.run(['dpkg-query', '-W', '-f', '${Version}', pkg], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=10).stdout.decode() or '?'
    except Exception:
        return '?'


def run_peer(ctx, cls, args):
    ad = cls(ctx)
    why = ad.available()
    if why:
        emit(ad.name, 'status', result='SKIPPED', reason='"%s"' % why)
        return
    pkg = getattr(ad, 'package', ad.name.split('-')[0])
    ver = ad.version_string() if hasattr(ad, 'version_string') else pkg_version(pkg)
    emit(ad.name, 'version', package=pkg, version=ver)
    lis = Listener(ctx.bus_addr, ad)
    try:
        try:
            ad.session_start(lis.conn)
        except Exception as e:
            emit(ad.name, 'status', result='FAILED', phase='session_start', reason='"%s"' % e)
            return
        failed = []
        phases = args.phases

        if 'hotplug' in phases:
            try:
                r = phase_hotplug(ctx, ad, lis, args.cycles, args.warmup, args.signal_timeout)
                for kind in ('add', 'remove'):
                    emit(ad.name, 'hotplug.%s.latency_us' % kind, **dist(r[kind]),
                         misses=r['misses'][kind])
                    emit(ad.name, 'hotplug.%s.emit_call_us' % kind, **dist(r[kind + '_emit']))
                    emit(ad.name, 'hotplug.%s.after_emit_us' % kind, **dist(r[kind + '_after']))
            except PhaseFailed as e:
                failed.append('hotplug')
                emit(ad.name, 'status', result='FAILED', phase='hotplug', reason='"%s"' % e)

        if 'coldplug' in phases:
            for n in args.coldplug:
                runs = []
                for rep in range(args.repeat):
                    try:
                        idle = args.idle_window if n == args.idle_n else 0.0
                        runs.append(phase_coldplug(ctx, ad, lis, n, args.poll, args.coldplug_timeout,
                                                   idle_window=idle))
                    except PhaseFailed as e:
                        failed.append('coldplug%d' % n)
                        emit(ad.name, 'status', result='FAILED', phase='coldplug n=%d run=%d' % (n, rep),
                             reason='"%s"' % e)
                        break
                if not runs:
                    continue
                keys = ['published'] + list(ad.extra_coldplug_probes().keys()) + ['name_owned', 'signals']
                keys += sorted(k for k in runs[0] if k.startswith('log.'))
                for k in keys:
                    vals = [r[k] for r in runs if r.get(k) is not None]
                    if not vals:
                        continue
                    emit(ad.name, 'coldplug.n%d.%s_ms' % (n, k), runs=len(vals), median=median(vals),
                         min=min(vals), max=max(vals), values=vals)
                emit(ad.name, 'coldplug.n%d.add_signals_seen' % n, values=[r['signals_seen'] for r in runs])
                if 'rss_kib' in runs[0]:
                    for p in runs[0]['rss_kib']:
                        rss = [r['rss_kib'][p] for r in runs]
                        wk = [r['wakeups'][p] for r in runs]
                        emit(ad.name, 'idle.n%d.rss_kib.%s' % (n, p), median=median(rss),
                             values=rss, threads=runs[0]['threads'][p])
                        churn = [r['thread_churn'][p] for r in runs]
                        emit(ad.name, 'idle.n%d.wakeups_%ds.%s' % (n, args.idle_window, p),
                             median=median(wk), values=wk,
                             threads_started=[c[0] for c in churn], threads_exited=[c[1] for c in churn],
                             threads_end=[c[2] for c in churn])
                    if len(runs[0]['rss_kib']) > 1:
                        tot_rss = [sum(r['rss_kib'].values()) for r in runs]
                        tot_wk = [sum(r['wakeups'].values()) for r in runs]
                        emit(ad.name, 'idle.n%d.rss_kib.total' % n, median=median(tot_rss), values=tot_rss)
                        emit(ad.name, 'idle.n%d.wakeups_%ds.total' % (n, args.idle_window),
                             median=median(tot_wk), values=tot_wk)

        probes = ad.api_probes() if hasattr(ad, 'api_probes') else None
        if 'api' in phases and probes:
            for n in args.api_sizes:
                try:
                    r = phase_api(ctx, ad, lis, n, args, probes)
                except PhaseFailed as e:
                    failed.append('api%d' % n)
                    emit(ad.name, 'status', result='FAILED', phase='api n=%d' % n, reason='"%s"' % e)
                    continue
                for p, sm in r['smaps'].items():
                    emit(ad.name, 'api.n%d.smaps_kib.%s' % (n, p), rss=sm.get('Rss'), pss=sm.get('Pss'),
                         pss_anon=sm.get('Pss_Anon'), pss_file=sm.get('Pss_File'),
                         private_dirty=sm.get('Private_Dirty'), anonymous=sm.get('Anonymous'))
                emit(ad.name, 'api.n%d.get_property' % n, **r['get'])
                for k, v in sorted(r.items()):
                    if k.startswith('bulk.'):
                        kv = dict(entries=v['entries'])
                        for m in ('raw_ms', 'decoded_ms'):
                            if m in v:
                                kv[m.replace('_ms', '_median_ms')] = median(v[m])
                                kv[m] = v[m]
                        emit(ad.name, 'api.n%d.%s' % (n, k), **kv)
        elif 'api' in phases:
            print('%-16s note: no api_probes(): api phase skipped' % ad.name, flush=True)

        if 'overhead' in phases:
            try:
                for k, v in ad.overhead_estimates().items():
                    emit(ad.name, 'overhead.' + k, value=v)
            except Exception as e:
                emit(ad.name, 'status', result='FAILED', phase='overhead', reason='"%s"' % e)

        for line in ad.notes():
            print('%-16s note: %s' % (ad.name, line), flush=True)
        emit(ad.name, 'status', result='OK' if not failed else 'PARTIAL',
             failed=','.join(failed) if failed else '-')
    finally:
        lis.close()
        ctx.stop_run_procs()
        ctx.drop_testbed()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('peers', nargs='*', default=['all'],
                    help='bolt, usbguard, devsyncd, usbguard-uevent (probe), all (default)')
    ap.add_argument('--workdir', required=True, help='scratch dir (run-peers.sh makes one)')
    ap.add_argument('--cycles', type=int, default=200, help='hotplug cycles measured (default 200)')
    ap.add_argument('--warmup', type=int, default=10, help='hotplug cycles discarded first (default 10)')
    ap.add_argument('--coldplug', type=lambda s: [int(x) for x in s.split(',') if x], default=[10, 100, 500],
                    help='cold-plug sizes, comma separated (default 10,100,500)')
    ap.add_argument('--repeat', type=int, default=3, help='runs per cold-plug size (default 3)')
    ap.add_argument('--idle-n', type=int, default=100, help='cold-plug size whose runs also measure idle')
    ap.add_argument('--idle-window', type=int, default=10, help='idle window in s (default 10)')
    ap.add_argument('--poll', type=float, default=0.005, help='cold-plug list poll interval s (default 0.005)')
    ap.add_argument('--signal-timeout', type=float, default=5.0, help='per hotplug signal timeout s')
    ap.add_argument('--coldplug-timeout', type=float, default=60.0)
    ap.add_argument('--phases', type=lambda s: s.split(','), default=['floor', 'hotplug', 'coldplug', 'overhead'],
                    help='subset of floor,hotplug,coldplug,overhead,api (api is not a default)')
    ap.add_argument('--api-sizes', type=lambda s: [int(x) for x in s.split(',') if x], default=[0, 100, 1000],
                    help="phase 'api': device counts for memory / Get rate (default 0,100,1000)")
    ap.add_argument('--api-bulk-n', type=int, default=1000, help="phase 'api': size for the bulk list calls")
    ap.add_argument('--api-bulk-reps', type=int, default=5, help="phase 'api': timed bulk calls (after 1 warm-up)")
    ap.add_argument('--api-window', type=float, default=3.0, help="phase 'api': Get loop length s (default 3)")
    ap.add_argument('--api-settle', type=float, default=2.0, help="phase 'api': wait before smaps (default 2 s)")
    ap.add_argument('--verbose-peers', action='store_true', help='run peers with debug logging (skews timing)')
    ap.add_argument('--json', default=None, help='write all figures to this JSON file '
                    '(default: results/<timestamp>.json next to this script)')
    ap.add_argument('--keep', action='store_true', help='keep the scratch dir (handled by run-peers.sh)')
    ap.add_argument('--no-tmpfs', action='store_true', help='scratch dir on /tmp itself, not a tmpfs '
                    '(handled by run-peers.sh)')
    args = ap.parse_args()

    names = []
    for p in args.peers:
        if p == 'all':
            names += list(PEERS)
        elif p in PEERS or p in PROBES:
            names.append(p)
        else:
            ap.error('unknown peer %r (known: %s)' % (p, ', '.join(list(PEERS) + list(PROBES) + ['all'])))
    if os.geteuid() != 0:
        print('warning: not root; bolt and usbguard expect root', file=sys.stderr)

    ctx = Ctx(args.workdir, args.verbose_peers)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    try:
        start_bus(ctx)
        host = os.uname()
        fs = subprocess.run(['stat', '-f', '-c', '%T', ctx.workdir], stdout=subprocess.PIPE).stdout.decode().strip()
        emit('harness', 'host', kernel=host.release, cpus=os.cpu_count(), scratch_fs=fs,
             python=sys.version.split()[0], umockdev=pkg_version('umockdev'), dbus=pkg_version('dbus-daemon'))
        if 'floor' in args.phases:
            class _Null:
                bus_name = 'org.peerbench.none'
                signals = []
            lis = Listener(ctx.bus_addr, _Null())
            emit('harness', 'bus_floor.latency_us', **dist(phase_bus_floor(ctx, lis, 200)))
            lis.close()
        for name in names:
            cls = PEERS.get(name) or PROBES.get(name)
            try:
                run_peer(ctx, cls, args)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # keep going with the next peer
                import traceback
                traceback.print_exc()
                emit(name, 'status', result='FAILED', phase='harness', reason='"%s: %s"' % (type(e).__name__, e))
                rc = 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        rc = 130
    finally:
        ctx.stop_all()
        ctx.drop_testbed()
    out = args.json or os.path.join(HERE, 'results', time.strftime('%Y%m%d-%H%M%S') + '.json')
    try:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, 'w') as f:
            json.dump({'argv': sys.argv[1:], 'results': RESULTS}, f, indent=1, default=str)
        print('%-16s %-40s %s' % ('harness', 'json', out))
    except OSError as e:
        print('could not write %s: %s' % (out, e), file=sys.stderr)
    return rc


if __name__ == '__main__':
    sys.exit(main())
