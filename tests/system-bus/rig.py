#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""make check: devsync as a distribution installs it, on a bus configured like the real system bus.

The rig installs devsync into a temporary DESTDIR (`make install-files DESTDIR=… PREFIX=/usr`, from the debug
binaries `make check` built) or takes an installed tree (--destdir), and finds what it needs in it by name, so
the install layout may change. Then it starts, all in one temporary directory:

  - a dbus-daemon whose configuration is the distribution's /usr/share/dbus-1/system.conf (deny by default),
    changed only where a private bus must differ (busconfig.py), with the *installed* policy file included and,
    in the rig's own include directory, mocks.conf: the test-only policy that lets the mocks own their names;
  - python-dbusmock's bluez5, logind (the active session is nobody's) and polkitd (granting nothing unless a
    test says so), as root;
  - a umockdev testbed with fake USB devices (scripts/demo-testbed);
  - the installed devsyncd as root, under umockdev's preload;

and runs every client — devsyncctl, the reference engine, gdbus — as a non-root user through setpriv: nobody
(the active user, who owns the devices) and devsync-test2 (another user; created as a system user if missing).
Each test is one flow a desktop has. Whatever happens (a failure, Ctrl-C, SIGTERM), every process is stopped
and the directory removed; the rig then checks that no process it started is left.

    tests/system-bus/rig.py [--destdir DIR] [--build-dir DIR] [--keep]

Output ends in "N passed, N failed"; the exit status is 0 only when nothing failed. Needs root.
"""

import argparse
import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"  # Debian's: the one with dbusmock and umockdev's GI bindings
OWNER = "nobody"  # logind's active user: the suggested owner of every device
OTHER = "devsync-test2"  # a second, unprivileged user
BROKER = "org.devsync.Broker1"
MANAGER_PATH = "/org/devsync/Broker1"
MANAGER = "org.devsync.Broker1.Manager"
PALM = "usb-0830-0060"  # the Palm Tungsten T of scripts/demo-testbed
CAMERA = "usb-04a9-3218"  # its PTP camera, whose pictures devsync-engine imports from a Directory Browse folder
NOKIA = "00:16:20:AB:CD:EF"
NOKIA_PATH = "/org/bluez/hci0/dev_" + NOKIA.replace(":", "_")
ENGINE_PATH = "/org/devsync/examples/ReferenceEngine"
TIMEOUT = 20  # seconds any one step may take before the rig gives up on it

# Every process the rig starts carries this in its environment, so that leftovers can be found: this run's own,
# or the one a caller passes (tests/system-bus/interrupt-check.sh looks for leftovers after an interrupted run).
MARK = "DEVSYNC_SYSTEM_BUS_RIG=" + (os.environ.get("DEVSYNC_SYSTEM_BUS_RIG") or f"{os.getpid()}-{time.time_ns()}")


class Failure(Exception):
    """A check that did not hold; its text says what was expected and what happened."""


def expect(condition, message):
    if not condition:
        raise Failure(message)


def wait_until(what, predicate, timeout=TIMEOUT, alive=None, poll=0.05):
    """Polls `predicate` every `poll` s until it holds; fails naming `what` after `timeout` or if `alive` dies."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if alive is not None and alive.poll() is not None:
            raise Failure(f"{getattr(alive, 'rig_name', 'a process')} exited with status {alive.returncode} "
                          f"while the rig waited for {what}")
        if time.monotonic() > deadline:
            raise Failure(f"gave up after {timeout} s waiting for {what}")
        time.sleep(poll)


class Tree:
    """An installed devsync: the files the rig uses, found by name under DESTDIR, wherever the Makefile put them."""

    def __init__(self, destdir):
        self.destdir = destdir
        self.daemon = self.find_file("devsyncd", executable=True)
        self.ctl = self.find_file("devsyncctl", executable=True)
        self.agent = self.find_file("devsync-agent", executable=True)
        self.engine = self.find_file("devsync-engine", executable=True)
        self.policy = self.find_file("org.devsync.Broker1.conf", under="dbus-1/system.d")
        self.config = self.find_file("devsyncd.conf", under="devsync")
        profiles = self.find_file("10-palm.fdi")
        self.profiles = os.path.dirname(profiles)

    def find_file(self, name, executable=False, under=None):
        found = []
        for directory, _, files in os.walk(self.destdir):
            if name in files:
                path = os.path.join(directory, name)
                if executable and not os.access(path, os.X_OK):
                    continue
                if under and not directory.endswith("/" + under):
                    continue
                found.append(path)
        if len(found) != 1:
            raise Failure(f"expected one installed {name}{' in */' + under if under else ''} under {self.destdir}, "
                          f"found {found or 'none'}")
        return found[0]


class Rig:
    """The processes of one run and the means to act as root or as a user on its bus."""

    def __init__(self, work, tree):
        self.work, self.tree = work, tree
        self.processes = []  # (name, Popen), in the order started
        self.testbed = None
        self.daemon = None
        self.address = f"unix:path={work}/system_bus_socket"
        base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "TMPDIR": work,
                # The session bus is this one too: nothing here may reach a desktop's.
                "DBUS_SYSTEM_BUS_ADDRESS": self.address, "DBUS_SESSION_BUS_ADDRESS": self.address}
        base.update([MARK.split("=", 1)])
        self.base_env = base

    # ---- processes ------------------------------------------------------------------------------------------
    def env(self, user=None, **extra):
        env = dict(self.base_env)
        if user is not None:
            entry = pwd.getpwnam(user)
            env.update(HOME=entry.pw_dir, USER=user, LOGNAME=user, TMPDIR=f"{self.work}/tmp-{user}")
        env.update(extra)
        return env

    @staticmethod
    def as_user(user, argv):
        """`argv` run as `user` with that user's uid and gid only: no root, no supplementary groups."""
        if user is None:
            return list(argv)
        entry = pwd.getpwnam(user)
        return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--", *argv]

    def start(self, name, argv, user=None, env=None, **popen):
        log = open(f"{self.work}/{name}.log", "wb")
        popen.setdefault("stdin", subprocess.DEVNULL)
        process = subprocess.Popen(self.as_user(user, argv), stdout=log, stderr=subprocess.STDOUT,
                                   env=env or self.env(user), **popen)
        log.close()
        process.rig_name = name
        self.processes.append((name, process))
        return process

    def log(self, name):
        try:
            with open(f"{self.work}/{name}.log", encoding="utf-8", errors="replace") as file:
                return file.read()
        except FileNotFoundError:
            return ""

    def stop(self, process, signum=signal.SIGTERM, timeout=10):
        """Signals `process` and waits for it; SIGKILL if it lingers. Its exit status, or None if it was killed."""
        if process.poll() is None:
            process.send_signal(signum)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return None
        return process.returncode

    def cleanup(self):
        """Stops everything the rig started, newest first; the testbed first, so its directory goes with it."""
        if self.testbed is not None and self.testbed.poll() is None:
            try:
                self.testbed.stdin.write("quit\n")
                self.testbed.stdin.flush()
                self.testbed.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for _, process in reversed(self.processes):
            self.stop(process, timeout=5)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()

    # ---- acting on the bus ----------------------------------------------------------------------------------
    def run(self, user, argv, timeout=TIMEOUT):
        return subprocess.run(self.as_user(user, argv), env=self.env(user), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def ctl(self, user, *arguments):
        return self.run(user, [self.tree.ctl, *arguments])

    def gdbus(self, user, destination, path, method, *arguments):
        return self.run(user, ["gdbus", "call", "--system", "--dest", destination, "--object-path", path,
                               "--method", method, *arguments])

    def mock(self, destination, path, method, *arguments):
        """A call to a mock's control interface, as root (mocks.conf lets only root talk to the mocks)."""
        result = self.gdbus(None, destination, path, method, *arguments)
        expect(result.returncode == 0, f"{destination} {method}: {result.stderr.strip()}")
        return result.stdout

    def testbed_says(self, what):
        """The testbed's next line; fails naming `what` if none comes within TIMEOUT."""
        ready, _, _ = select.select([self.testbed.stdout], [], [], TIMEOUT)
        expect(ready, f"the testbed said nothing for {TIMEOUT} s about {what}: {self.log('testbed')}")
        return self.testbed.stdout.readline()

    def plug(self, verb, name):
        self.testbed.stdin.write(f"{verb} {name}\n")
        self.testbed.stdin.flush()
        reply = self.testbed_says(f"{verb} {name}")
        expect(reply.startswith("ok"), f"testbed: {verb} {name}: {reply.strip() or 'no answer'}")

    def monitor_has(self, *words):
        return any(all(word in line for word in words) for line in self.log("monitor").splitlines())

    def wait_for_event(self, what, *words, daemon_running=True):
        wait_until(what, lambda: self.monitor_has(*words), alive=self.daemon if daemon_running else None)

    def device_json(self, user, device):
        result = self.ctl(user, "info", device, "--json")
        expect(result.returncode == 0, f"devsyncctl info {device} as {user}: exit {result.returncode}: "
                                       f"{result.stderr.strip()}")
        return json.loads(result.stdout)

    def start_engine(self, name, user, *arguments):
        engine = self.start(name, [PYTHON, f"{self.work}/reference-engine.py", *arguments], user=user)
        wait_until(f"{name} to register", lambda: "registered" in self.log(name), alive=engine)
        return engine


def ensure_user(name):
    """The second test user: a system user with no home and no shell, created once and kept."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True)


# ---- the flows -------------------------------------------------------------------------------------------------
# Each is a function of the rig, run in this order; a later one may build on what an earlier one did.

def bus_is_deny_by_default(rig):
    """The bus refuses what system.conf refuses: a user may not take the broker's name, nor call a mock."""
    claim = ("from gi.repository import Gio, GLib\n"
             "bus = Gio.bus_get_sync(Gio.BusType.SYSTEM)\n"
             "try:\n"
             "    bus.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',\n"
             f"        'RequestName', GLib.Variant('(su)', ('{BROKER}', 4)), None, 0, -1)\n"
             "    print('owned')\n"
             "except GLib.Error as error:\n"
             "    print(error.message)\n")
    result = rig.run(OWNER, [PYTHON, "-c", claim])
    expect("AccessDenied" in result.stdout and BROKER in result.stdout,
           f"{OWNER} asked for {BROKER}; expected AccessDenied, got: {result.stdout.strip()} {result.stderr.strip()}")
    result = rig.gdbus(OWNER, "org.freedesktop.login1", "/org/freedesktop/login1",
                       "org.freedesktop.login1.Manager.ListSessions")
    expect(result.returncode != 0 and "Rejected send message" in result.stderr,
           f"{OWNER} called the logind mock; expected the bus to refuse, got: {result.stdout}{result.stderr}")


def broker_starts_as_root_from_the_tree(rig):
    """The installed devsyncd takes org.devsync.Broker1; a monitor running as a user sees it start."""
    rig.wait_for_event("the broker-started event in the user's monitor", "broker-started")
    result = rig.ctl(OWNER, "list")
    expect(result.returncode == 0, f"devsyncctl list as {OWNER}: exit {result.returncode}: {result.stderr.strip()}")


def plugged_device_suggests_active_user(rig):
    """A Palm plugged in asks for approval, suggesting logind's active user."""
    rig.plug("plug", "palm")
    rig.wait_for_event("the Palm's approval request", "approval-requested", PALM)
    expect(rig.monitor_has("approval-requested", PALM, OWNER),
           f"the approval request does not suggest {OWNER}: "
           f"{[line for line in rig.log('monitor').splitlines() if 'approval-requested' in line]}")


def other_user_may_not_approve(rig):
    """Another user (not suggested, no polkit grant) is refused: exit 4, and the device stays pending."""
    result = rig.ctl(OTHER, "approve", PALM, "--owner", OTHER)
    expect(result.returncode == 4, f"approve as {OTHER}: expected exit 4, got {result.returncode}: "
                                   f"{result.stdout.strip()} {result.stderr.strip()}")
    device = rig.device_json(OWNER, PALM)
    expect(device.get("status") == "pending", f"after a refused approval the Palm is {device.get('Status')}")


def owner_approves_own_device(rig):
    """The suggested owner approves the device for themselves."""
    result = rig.ctl(OWNER, "approve", PALM)
    expect(result.returncode == 0, f"approve as {OWNER}: exit {result.returncode}: {result.stderr.strip()}")
    device = rig.device_json(OWNER, PALM)
    expect((device.get("status"), device.get("owner")) == ("approved", OWNER),
           f"after approval the Palm is {device.get('Status')} for {device.get('Owner')!r}")
    rig.wait_for_event("the approval's event in the monitor", "device-changed", PALM, "status=approved")


def owner_engine_registers(rig):
    """Another user's engine does not make the owner's device syncable; the owner's engine does."""
    def available():
        result = rig.ctl(OWNER, "actions", PALM, "--json")
        return result.returncode == 0 and any(action.get("available") for action in json.loads(result.stdout))
    expect(not available(), "a sync action is available before any engine registered")
    rig.start_engine("other-engine", OTHER, "--plugin", "palm-sync")
    expect(not available(), f"{OTHER}'s engine made {OWNER}'s Palm syncable")
    rig.start_engine("engine", OWNER, "--plugin", "palm-sync", "--step-delay", "0.05")
    wait_until("the Palm's sync action to become available", available)


def owner_syncs(rig):
    """The owner syncs through their engine: the broker (root) calls org.devsync.Engine1 on it."""
    result = rig.ctl(OWNER, "sync", PALM)
    expect(result.returncode == 0, f"sync as {OWNER}: exit {result.returncode}: {result.stdout.strip()} "
                                   f"{result.stderr.strip()}")
    expect("succeeded" in result.stdout, f"sync as {OWNER} printed no success: {result.stdout.strip()}")
    expect("finished" in rig.log("engine"), f"the engine did not run the job: {rig.log('engine')}")
    expect("sync /" not in rig.log("other-engine"), f"{OTHER}'s engine got {OWNER}'s job")


def other_user_may_not_sync(rig):
    """Another user may not sync the owner's device: exit 4."""
    result = rig.ctl(OTHER, "sync", PALM)
    expect(result.returncode == 4, f"sync as {OTHER}: expected exit 4, got {result.returncode}: "
                                   f"{result.stdout.strip()} {result.stderr.strip()}")


def root_syncs_owners_device(rig):
    """Root syncs the owner's device, through the owner's engine."""
    before = rig.log("engine").count("finished")
    result = rig.ctl(None, "sync", PALM)
    expect(result.returncode == 0, f"sync as root: exit {result.returncode}: {result.stdout.strip()} "
                                   f"{result.stderr.strip()}")
    expect(rig.log("engine").count("finished") == before + 1, "the owner's engine did not run root's job")


def bus_refusal_is_named(rig):
    """When the bus's policy forbids the broker's call to an engine, the user is told so, not that the engine refused."""
    deny = f"{rig.work}/system.d/zz-deny-engine.conf"
    with open(deny, "w", encoding="utf-8") as file:
        file.write('<busconfig><policy user="root"><deny send_interface="org.devsync.Engine1"/></policy></busconfig>\n')
    reload = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ReloadConfig")
    try:
        rig.mock(*reload)
        result = rig.ctl(OWNER, "sync", PALM)
        # The words are BusService's; what matters is that the policy file is named and the engine not blamed.
        expect(result.returncode == 5 and "org.devsync.Broker1.conf" in result.stderr
               and "The sync engine refused" not in result.stderr,
               f"sync with the broker's call forbidden: exit {result.returncode}: {result.stderr.strip()}")
    finally:
        os.remove(deny)
        rig.mock(*reload)


def only_the_broker_may_call_engines(rig):
    """A user's call to org.devsync.Engine1 on the owner's engine is refused by the bus, not just the engine."""
    names = rig.gdbus(None, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames")
    expect(names.returncode == 0, f"ListNames: {names.stderr.strip()}")
    owners = []
    for name in names.stdout.replace("(", "").replace(")", "").replace("[", "").replace("]", "").split(","):
        name = name.strip().strip("'")
        if not name.startswith(":"):
            continue
        uid = rig.gdbus(None, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus.GetConnectionUnixUser", name)
        if uid.returncode == 0 and f"uint32 {pwd.getpwnam(OWNER).pw_uid}" in uid.stdout:
            owners.append(name)
    expect(owners, f"no connection of {OWNER} on the bus")
    for name in owners:
        result = rig.gdbus(OTHER, name, ENGINE_PATH, "org.devsync.Engine1.Cancel", "/org/devsync/Broker1/jobs/1")
        expect(result.returncode != 0 and "Rejected send message" in result.stderr,
               f"{OTHER} called Engine1.Cancel on {name}: expected the bus to refuse, got "
               f"{result.stdout.strip()} {result.stderr.strip()}")


def owner_cancels_sync(rig):
    """Interrupting `devsyncctl sync` cancels the job: the broker calls Cancel on the engine; exit 6."""
    engine = dict(rig.processes)["engine"]
    rig.stop(engine)
    slow = rig.start_engine("slow-engine", OWNER, "--plugin", "palm-sync", "--step-delay", "30")
    sync = subprocess.Popen(rig.as_user(OWNER, [rig.tree.ctl, "sync", PALM]), env=rig.env(OWNER),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    rig.processes.append(("sync", sync))
    wait_until("the slow engine to start the job", lambda: "sync /org/devsync" in rig.log("slow-engine"),
               alive=slow)
    sync.send_signal(signal.SIGINT)
    output, _ = sync.communicate(timeout=TIMEOUT)
    expect(sync.returncode == 6, f"interrupted sync: expected exit 6, got {sync.returncode}: {output.strip()}")
    wait_until("the engine to hear of the cancel", lambda: "cancelled" in rig.log("slow-engine"), alive=slow)
    rig.wait_for_event("the job's end in the monitor", "job-finished", "cancelled")


def engine_home(rig, user):
    """A user's HOME and XDG directories for devsync-engine, in the rig's directory (nobody's home is
    /nonexistent), with an engine.conf that reads the camera from the rig's Directory Browse folder."""
    home = f"{rig.work}/home-{user}"
    os.makedirs(f"{home}/config/devsync", exist_ok=True)
    with open(f"{home}/config/devsync/engine.conf", "w", encoding="utf-8") as file:
        file.write(f"[Photos]\nImportDirectory={home}/Pictures\n[Testing]\nCameraPort=disk:{rig.work}/camera\n")
    subprocess.run(["chown", "-R", user, home], check=True)
    return home


def start_devsync_engine(rig, name, user):
    """The installed devsync-engine, as `user`; returns once it registered."""
    home = engine_home(rig, user)
    engine = rig.start(name, [rig.tree.engine], user=user,
                       env=rig.env(user, HOME=home, XDG_CONFIG_HOME=f"{home}/config", XDG_STATE_HOME=f"{home}/state"))
    wait_until(f"{name} to register", lambda: "Registered with the broker" in rig.log(name), alive=engine)
    return engine


def owner_imports_photos_with_devsync_engine(rig):
    """The owner's devsync-engine imports the camera's pictures through `devsyncctl sync`, into the owner's
    directory, once; another user's engine makes nothing syncable and gets no job; another user may not sync."""
    os.makedirs(f"{rig.work}/camera/DCIM/100CANON")
    for name in ("IMG_0001.JPG", "IMG_0002.JPG"):
        with open(f"{rig.work}/camera/DCIM/100CANON/{name}", "wb") as file:
            file.write(b"\xff\xd8\xff\xe0 rig picture " + name.encode())
    rig.plug("plug", "camera")
    rig.wait_for_event("the camera's approval request", "approval-requested", CAMERA)
    result = rig.ctl(OWNER, "approve", CAMERA)
    expect(result.returncode == 0, f"approve the camera as {OWNER}: {result.stderr.strip()}")

    def photos_available():
        result = rig.ctl(OWNER, "actions", CAMERA, "--json")
        return result.returncode == 0 and any(action.get("id") == "sync-photos" and action.get("available")
                                              for action in json.loads(result.stdout))
    expect(not photos_available(), "the camera's sync-photos is available before any devsync-engine registered")
    other = start_devsync_engine(rig, "other-devsync-engine", OTHER)
    expect(not photos_available(), f"{OTHER}'s devsync-engine made {OWNER}'s camera syncable")
    start_devsync_engine(rig, "devsync-engine", OWNER)
    wait_until("the camera's sync-photos to become available", photos_available)

    result = rig.ctl(OWNER, "sync", CAMERA, "sync-photos")
    expect(result.returncode == 0 and "Imported 2 new photos from Canon, Inc. EOS 600D / Rebel T3i (ptp)" in result.stdout,
           f"sync-photos as {OWNER}: exit {result.returncode}: {result.stdout.strip()} {result.stderr.strip()}")
    folder = f"{rig.work}/home-{OWNER}/Pictures/Canon, Inc. EOS 600D - Rebel T3i (ptp)"
    imported = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    expect(imported == ["IMG_0001.JPG", "IMG_0002.JPG"], f"imported into {folder}: {imported}")
    owner_uid = pwd.getpwnam(OWNER).pw_uid
    expect(all(os.stat(f"{folder}/{name}").st_uid == owner_uid for name in imported),
           f"the imported pictures are not {OWNER}'s")
    result = rig.ctl(OWNER, "sync", CAMERA, "sync-photos")
    expect(result.returncode == 0 and "No new photos or videos on Canon, Inc. EOS 600D / Rebel T3i (ptp); 2 imported before." in result.stdout,
           f"the second sync-photos: exit {result.returncode}: {result.stdout.strip()} {result.stderr.strip()}")
    expect("Job started" not in rig.log("other-devsync-engine"), f"{OTHER}'s devsync-engine got {OWNER}'s job")
    result = rig.ctl(OTHER, "sync", CAMERA, "sync-photos")
    expect(result.returncode == 4, f"sync-photos as {OTHER}: expected exit 4, got {result.returncode}: "
                                   f"{result.stdout.strip()} {result.stderr.strip()}")
    status = rig.stop(other)
    expect(status == 0, f"{OTHER}'s devsync-engine exited with {status} on SIGTERM: {rig.log('other-devsync-engine')}")


def model(rig):
    return rig.device_json(OWNER, PALM).get("model")


def write_extra_profile(rig, model_name):
    """A profile in the rig's extra profile directory that renames the Palm's model."""
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<deviceinfo version="0.2">
  <device>
    <match key="info.subsystem" string="usb">
      <match key="usb.vendor_id" int="0x0830">
        <match key="usb.product_id" int="0x0060">
          <merge key="sync.model" type="string">{model_name}</merge>
        </match>
      </match>
    </match>
  </device>
</deviceinfo>
"""
    path = f"{rig.work}/profiles/99-rig.fdi"
    with open(path + ".new", "w", encoding="utf-8") as file:
        file.write(text)
    os.rename(path + ".new", path)


def sighup_reloads_profiles(rig):
    """SIGHUP re-reads the profile directories and re-matches present devices."""
    write_extra_profile(rig, "Rig Reloaded By SIGHUP")
    expect(model(rig) != "Rig Reloaded By SIGHUP", "the Palm took a new profile before any reload")
    rig.daemon.send_signal(signal.SIGHUP)
    wait_until("the Palm's model from the reloaded profiles", lambda: model(rig) == "Rig Reloaded By SIGHUP",
               alive=rig.daemon)


def reload_method_as_root(rig):
    """ReloadProfiles as root reloads and reports the rules it loaded."""
    write_extra_profile(rig, "Rig Reloaded Over D-Bus")
    result = rig.gdbus(None, BROKER, MANAGER_PATH, f"{MANAGER}.ReloadProfiles", "{}")
    expect(result.returncode == 0 and result.stdout.startswith("(uint32 "),
           f"ReloadProfiles as root: {result.stdout.strip()} {result.stderr.strip()}")
    rules = int(result.stdout.split()[1].rstrip(","))
    expect(rules > 0, f"ReloadProfiles loaded {rules} rules")
    expect(model(rig) == "Rig Reloaded Over D-Bus", f"after ReloadProfiles the Palm's model is {model(rig)!r}")


def reload_method_refused_for_user(rig):
    """ReloadProfiles as a user is NotAuthorized while polkit grants nothing, allowed once polkit says so."""
    result = rig.gdbus(OWNER, BROKER, MANAGER_PATH, f"{MANAGER}.ReloadProfiles", "{}")
    expect(result.returncode != 0 and "org.devsync.Broker1.Error.NotAuthorized" in result.stderr,
           f"ReloadProfiles as {OWNER}: expected NotAuthorized, got {result.stdout.strip()} {result.stderr.strip()}")
    rig.mock("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
             "org.freedesktop.DBus.Mock.SetAllowed", "['org.devsync.manage-devices']")
    try:
        result = rig.gdbus(OWNER, BROKER, MANAGER_PATH, f"{MANAGER}.ReloadProfiles", "{}")
        expect(result.returncode == 0, f"ReloadProfiles as {OWNER} with polkit's grant: {result.stderr.strip()}")
    finally:
        rig.mock("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                 "org.freedesktop.DBus.Mock.SetAllowed", "@as []")


def log_level_readable_by_user(rig):
    """Anyone may read the broker's org.freedesktop.LogControl1.LogLevel (only root may change it)."""
    introspection = rig.gdbus(None, BROKER, "/org/freedesktop/LogControl1",
                              "org.freedesktop.DBus.Introspectable.Introspect")
    if "org.freedesktop.LogControl1" not in introspection.stdout:
        return "this devsyncd has no org.freedesktop.LogControl1"
    result = rig.gdbus(OWNER, BROKER, "/org/freedesktop/LogControl1", "org.freedesktop.DBus.Properties.Get",
                       "org.freedesktop.LogControl1", "LogLevel")
    expect(result.returncode == 0 and "<'" in result.stdout,
           f"reading LogLevel as {OWNER}: {result.stdout.strip()} {result.stderr.strip()}")
    result = rig.gdbus(OWNER, BROKER, "/org/freedesktop/LogControl1", "org.freedesktop.DBus.Properties.Set",
                       "org.freedesktop.LogControl1", "LogLevel", "<'debug'>")
    expect(result.returncode != 0 and "Rejected send message" not in result.stderr,
           f"{OWNER} set LogLevel: expected devsyncd (not the bus) to refuse, got "
           f"{result.stdout.strip()} {result.stderr.strip()}")


def bluetooth_paired_device_appears(rig):
    """A phone paired in BlueZ appears, identified, and asks for approval; a user's monitor sees it."""
    rig.mock("org.bluez", "/", "org.bluez.Mock.AddAdapter", "hci0", "devsync-rig")
    rig.mock("org.bluez", "/", "org.bluez.Mock.AddDevice", "hci0", NOKIA, "Nokia 6021")
    rig.mock("org.bluez", "/", "org.bluez.Mock.PairDevice", "hci0", NOKIA, "5898764")
    # As in scripts/demo: dbusmock's PairDevice leaves Class and Modalias empty and gives Android's services.
    rig.mock("org.bluez", NOKIA_PATH, "org.freedesktop.DBus.Mock.UpdateProperties", "org.bluez.Device1",
             "{'Class': <uint32 5898764>, 'Modalias': <'bluetooth:v0001p0060d0100'>, 'UUIDs': "
             "<['00000002-0000-1000-8000-0002ee000002', '00001105-0000-1000-8000-00805f9b34fb']>}")
    # Then ServicesResolved, as bluetoothd does once it has read them: devsyncd announces the phone then.
    rig.mock("org.bluez", NOKIA_PATH, "org.freedesktop.DBus.Mock.UpdateProperties", "org.bluez.Device1",
             "{'ServicesResolved': <true>}")
    rig.wait_for_event("the Nokia's approval request", "approval-requested", f"bt-{NOKIA}", OWNER)
    wait_until("the Nokia's vendor and plugin",
               lambda: (lambda d: (d.get("vendor"), d.get("plugin")))(rig.device_json(OWNER, f"bt-{NOKIA}"))
               == ("Nokia", "syncml-obex-client"), alive=rig.daemon)


def unplugged_device_is_remembered(rig):
    """Unplugging the approved Palm keeps its record, not present."""
    rig.plug("unplug", "palm")
    rig.wait_for_event("the Palm's departure", "device-changed", PALM, "present=no")
    device = rig.device_json(OWNER, PALM)
    expect((device.get("status"), device.get("present")) == ("approved", False),
           f"the unplugged Palm is {device.get('Status')}, present={device.get('Present')}")


def broker_stops_cleanly(rig):
    """SIGTERM stops devsyncd with status 0; the user's monitor sees the broker go."""
    status = rig.stop(rig.daemon, timeout=15)
    expect(status == 0, f"devsyncd exited with status {status} on SIGTERM")
    rig.wait_for_event("broker-stopped in the monitor", "broker-stopped", daemon_running=False)


FLOWS = [
    bus_is_deny_by_default, broker_starts_as_root_from_the_tree, plugged_device_suggests_active_user,
    other_user_may_not_approve, owner_approves_own_device, owner_engine_registers, owner_syncs,
    other_user_may_not_sync, root_syncs_owners_device, bus_refusal_is_named, only_the_broker_may_call_engines, owner_cancels_sync,
    owner_imports_photos_with_devsync_engine,
    sighup_reloads_profiles, reload_method_as_root, reload_method_refused_for_user, log_level_readable_by_user,
    bluetooth_paired_device_appears, unplugged_device_is_remembered, broker_stops_cleanly,
]


# The logs a failed run shows the end of.
FAILURE_LOGS = ["devsyncd", "dbus-daemon", "monitor"]


# ---- setting the stage -----------------------------------------------------------------------------------------

def install(destdir, build_dir):
    subprocess.run(["make", "-s", "-C", REPO, "install-files", f"DESTDIR={destdir}", "PREFIX=/usr",
                    f"BUILD_DIR={build_dir}", f"DAEMON_BUILD_DIR={build_dir}"],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)


def set_stage(rig):
    """Starts the bus, the mocks, the testbed, a user's monitor and devsyncd."""
    work, tree = rig.work, rig.tree
    config_dir = f"{work}/system.d"  # the rig's own policy files: the mocks'
    os.makedirs(config_dir)
    shutil.copy(f"{HERE}/mocks.conf", config_dir)
    for user in (OWNER, OTHER):
        os.makedirs(f"{work}/tmp-{user}")
        shutil.chown(f"{work}/tmp-{user}", user)
    os.makedirs(f"{work}/profiles")  # an extra profile directory, for the reload flows
    # The engine is not installed; the users read their copy from here (the checkout may not be theirs to read).
    shutil.copy(f"{REPO}/examples/reference-engine/reference-engine.py", work)
    config = subprocess.run(
        [PYTHON, f"{HERE}/busconfig.py", "--listen", rig.address, "--include", tree.policy,
         "--includedir", config_dir], check=True, capture_output=True, text=True).stdout
    with open(f"{work}/bus.conf", "w", encoding="utf-8") as file:
        file.write(config)

    bus = rig.start("dbus-daemon", ["dbus-daemon", f"--config-file={work}/bus.conf", "--nofork"])
    wait_until("the dbus-daemon's socket", lambda: os.path.exists(f"{work}/system_bus_socket"), alive=bus)
    for template in ("bluez5", "logind", "polkitd"):
        rig.start(template, [PYTHON, "-m", "dbusmock", "--template", template])
    for name in ("org.bluez", "org.freedesktop.login1", "org.freedesktop.PolicyKit1"):
        result = rig.run(None, ["gdbus", "wait", "--system", "--timeout", str(TIMEOUT), name], timeout=TIMEOUT + 5)
        expect(result.returncode == 0, f"{name} did not appear on the bus: {result.stderr.strip()}")
    owner = pwd.getpwnam(OWNER)
    rig.mock("org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.DBus.Mock.AddSession",
             "c1", "seat0", str(owner.pw_uid), OWNER, "true")

    # The testbed (scripts/demo-testbed) runs under the preload too: umockdev reads its devices back through /sys.
    rig.testbed = subprocess.Popen([PYTHON, f"{REPO}/scripts/demo-testbed"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=open(f"{work}/testbed.log", "wb"), text=True,
                                   env=rig.env(LD_PRELOAD="libumockdev-preload.so.0"))
    rig.processes.append(("testbed", rig.testbed))
    ready = rig.testbed_says("its start").split()
    expect(ready[:1] == ["ready"], f"the testbed did not start: {rig.log('testbed')}")

    monitor = rig.start("monitor", [tree.ctl, "monitor"], user=OWNER)
    wait_until("the user's monitor to listen", lambda: "monitoring" in rig.log("monitor"), alive=monitor)
    rig.umockdev_dir = ready[1]
    rig.daemon = start_daemon(rig)


def start_daemon(rig, name="devsyncd"):
    """The installed devsyncd as root, on the rig's bus and testbed (again, for a flow that restarts it)."""
    tree, work = rig.tree, rig.work
    return rig.start(
        name, [tree.daemon, "--config", tree.config, "--profiles", tree.profiles, "--profiles",
               f"{work}/profiles", "--state-dir", f"{work}/state", "--log-level", "info"],
        env=rig.env(LD_PRELOAD="libumockdev-preload.so.0", UMOCKDEV_DIR=rig.umockdev_dir))


def leftovers():
    """Processes still carrying this run's mark (killed on the way)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as file:
                if MARK.encode() not in file.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"pid {entry}: {command}")
            os.kill(int(entry), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
    return found


class Terminated(BaseException):
    """SIGTERM: the run ends as on Ctrl-C, through the cleanup, with status 143."""


def hide_toolchain():
    """Covers the toolchain's library directory with an empty tmpfs, for this process and all it starts.

    The first call re-executes the script that was run (same pid; the rig, or agent-rig.py, which runs the rig's
    main with its own flows) in a mount namespace of its own, so that the host never sees the mount; there, the
    second call mounts it.
    """
    hidden = os.environ.get("DEVSYNC_SYSTEM_BUS_RIG_HIDDEN")
    if hidden is None:
        swift = shutil.which("swift")
        if swift is None:
            raise SystemExit("system-bus rig: --hide-toolchain: no swift on PATH to find the toolchain by")
        # <toolchain>/usr/bin/swift: the runtime libraries are below <toolchain>/usr/lib.
        os.environ["DEVSYNC_SYSTEM_BUS_RIG_HIDDEN"] = os.path.join(os.path.dirname(os.path.dirname(
            os.path.realpath(swift))), "lib")
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--",
                              PYTHON, os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755,size=4k", "devsync-rig-hidden-toolchain", hidden],
                   check=True)
    print(f"system-bus rig: {hidden} (the Swift toolchain's libraries) is out of reach: an empty tmpfs covers it",
          flush=True)


def terminated(signum, frame):
    raise Terminated


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--destdir", help="an installed tree to test (default: make install-files into a new one)")
    parser.add_argument("--build-dir", default=".build/debug",
                        help="the binaries install-files takes, relative to the checkout (default: .build/debug)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) after the run")
    parser.add_argument("--hide-toolchain", action="store_true",
                        help="run with the Swift toolchain's libraries out of reach (an empty tmpfs over them, in a "
                             "mount namespace of the rig's own), to show that an installed release tree "
                             "(--destdir) needs none of them")
    arguments = parser.parse_args()
    if os.geteuid() != 0:
        print("system-bus rig: needs root, as devsyncd runs as root and the clients drop to other users; "
              "run it (or make check) as root, e.g. with sudo", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    if arguments.hide_toolchain:
        if arguments.destdir is None:
            parser.error("--hide-toolchain needs --destdir: install-files runs the build's own devsyncctl")
        hide_toolchain()
    signal.signal(signal.SIGTERM, terminated)

    started = time.monotonic()
    # umockdev's testbed is a tree of small files: on tmpfs. make check runs the rig through scripts/private-tmpfs,
    # whose TMPDIR is a tmpfs outside /dev (Debian 12's umockdev can abort on testbed files below /dev/); by hand,
    # /dev/shm unless TMPDIR says otherwise.
    base = os.environ.get("TMPDIR") or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    work = tempfile.mkdtemp(prefix="devsync-rig.", dir=base)
    os.chmod(work, 0o755)  # the users reach the bus socket, the engine and their TMPDIR through it
    passed, failed, skipped = 0, 0, 0
    rig = None
    interrupted = None  # the exit status of an interrupted run
    try:
        ensure_user(OTHER)
        destdir = arguments.destdir and os.path.abspath(arguments.destdir)
        if destdir is None:
            destdir = f"{work}/destdir"
            install(destdir, arguments.build_dir)
        rig = Rig(work, Tree(destdir))
        set_stage(rig)
        print(f"system-bus rig: installed and started in {time.monotonic() - started:.1f} s", flush=True)
        for flow in FLOWS:
            began = time.monotonic()
            try:
                note = flow(rig)
            except Failure as failure:
                failed += 1
                print(f"FAIL {flow.__name__}: {failure}", flush=True)
            except Exception:  # a bug in the rig or a tool's surprise: the flow failed, the rest still run
                failed += 1
                print(f"FAIL {flow.__name__}:\n{traceback.format_exc()}", flush=True)
            else:
                if note:
                    skipped += 1
                    print(f"skip {flow.__name__}: {note}", flush=True)
                else:
                    passed += 1
                    print(f"ok   {flow.__name__} ({time.monotonic() - began:.1f} s)", flush=True)
    except (KeyboardInterrupt, Terminated) as interruption:
        interrupted = 143 if isinstance(interruption, Terminated) else 130
        print("system-bus rig: interrupted; cleaning up", file=sys.stderr, flush=True)
    except (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        failed += 1
        print(f"FAIL setting the stage: {error}", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if rig is not None:
            if failed:
                for name in FAILURE_LOGS:
                    lines = rig.log(name).splitlines()[-15:]
                    if lines:
                        print(f"--- {name}.log (last {len(lines)} lines)\n" + "\n".join(lines))
            rig.cleanup()
        left = leftovers()
        if left:
            failed += 1
            print("FAIL cleanup: left running: " + "; ".join(left), flush=True)
        if arguments.keep:
            print(f"system-bus rig: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            if os.path.exists(work):
                failed += 1
                print(f"FAIL cleanup: {work} is still there")
    if interrupted is not None:
        return interrupted
    print(f"system-bus rig: {time.monotonic() - started:.1f} s" + (f", {skipped} skipped" if skipped else ""))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
