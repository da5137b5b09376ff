#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""make check: devsync-agent, the desktop side, on the installed-system rig with a session bus per user.

The stage is tests/system-bus/rig.py's (a bus configured as the system bus with the installed policy, the mocks,
the umockdev testbed, the installed devsyncd as root), plus, for each of two users, a session bus of their own
with python-dbusmock's notification_daemon on it (the "actions" capability on) and the installed devsync-agent,
all three run as that user through setpriv. The owner (nobody, logind's active user, so every device's suggested
owner) answers the agent's notifications by having the mock emit ActionInvoked; the other user's agent runs
throughout and must never be asked anything. tests/system-bus/notifications.py reads what each mock was told.

    tests/system-bus/agent-rig.py [--destdir DIR] [--build-dir DIR] [--keep]

Output ends in "N passed, N failed"; the exit status is 0 only when nothing failed. Needs root.
"""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rig as base  # noqa: E402  (the rig's stage, its processes and its main loop)

from rig import OWNER, OTHER, PALM, PYTHON, expect  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
IPHONE = "usb-05ac-12a8"
PLAYER = "usb-0781-74d0"
ACTIONS = "body actions body-markup"
PLAIN = "body"


def session_address(rig, user):
    return f"unix:path={rig.work}/tmp-{user}/session_bus_socket"


def session_env(rig, user):
    return rig.env(user, DBUS_SESSION_BUS_ADDRESS=session_address(rig, user))


def start_session(rig, user, capabilities=ACTIONS, bus=True):
    """The user's session bus (unless it runs) and a notification server on it."""
    if bus:
        rig.start(f"session-bus-{user}", ["dbus-daemon", "--session", "--nofork",
                                           f"--address={session_address(rig, user)}"], user=user)
        base.wait_until(f"{user}'s session bus", lambda: os.path.exists(f"{rig.work}/tmp-{user}/session_bus_socket"))
    start_server(rig, user, capabilities)


def start_server(rig, user, capabilities=ACTIONS):
    name = f"notifications-{user}"
    server = rig.start(name, [PYTHON, "-m", "dbusmock", "--template", "notification_daemon", "-p",
                              json.dumps({"capabilities": capabilities})], user=user, env=session_env(rig, user))
    result = base.subprocess.run(rig.as_user(user, ["gdbus", "wait", "--session", "--timeout", "20",
                                                    "org.freedesktop.Notifications"]),
                                 env=session_env(rig, user), capture_output=True, text=True, timeout=30)
    expect(result.returncode == 0, f"{user}'s notification server did not start: {result.stderr.strip()}")
    return server


def start_agent(rig, user, name=None):
    name = name or f"agent-{user}"
    agent = rig.start(name, [rig.tree.agent, "--log-level", "info"], user=user, env=session_env(rig, user))
    base.wait_until(f"{name} to find the broker", lambda: "devsyncd is on the system bus" in rig.log(name)
                    or "devsyncd is not running" in rig.log(name), alive=agent)
    return agent


def process(rig, name):
    return dict(rig.processes)[name]


def calls(rig, user):
    """Every Notify and CloseNotification the user's notification server received: [method, args]."""
    result = base.subprocess.run(rig.as_user(user, [PYTHON, f"{rig.work}/notifications.py", "calls"]),
                                 env=session_env(rig, user), capture_output=True, text=True, timeout=30)
    expect(result.returncode == 0, f"reading {user}'s notifications: {result.stderr.strip()}")
    return json.loads(result.stdout)


def emit(rig, user, *arguments):
    result = base.subprocess.run(rig.as_user(user, [PYTHON, f"{rig.work}/notifications.py", "emit", *arguments]),
                                 env=session_env(rig, user), capture_output=True, text=True, timeout=30)
    expect(result.returncode == 0, f"emitting {arguments} for {user}: {result.stderr.strip()}")


def notifications(rig, user, summary):
    """The Notify calls whose summary is `summary`, as dicts."""
    found = []
    for method, args in calls(rig, user):
        if method == "Notify" and args[3] == summary:
            found.append({"replaces": args[1], "icon": args[2], "summary": args[3], "body": args[4],
                          "actions": args[5], "hints": args[6], "timeout": args[7]})
    return found


def wait_for_notification(rig, user, summary, count=1):
    """Waits until `count` notifications titled `summary` were sent; returns the last, with its id."""
    found = []

    def arrived():
        found[:] = notifications(rig, user, summary)
        return len(found) >= count
    base.wait_until(f"{user}'s notification {summary!r}", arrived, alive=process(rig, f"agent-{user}"),
                    poll=0.25)
    return found[-1]


def closed_ids(rig, user):
    return [args[0] for method, args in calls(rig, user) if method == "CloseNotification"]


def notification_id(rig, user, summary):
    """The id the mock gave the last notification titled `summary`: its replaces_id, or its place in the series."""
    ids, last = 0, None
    for method, args in calls(rig, user):
        if method != "Notify":
            continue
        current = args[1] if args[1] else ids + 1
        ids = max(ids, current)
        if args[3] == summary:
            last = current
    expect(last is not None, f"no notification {summary!r} for {user}")
    return last


def status(rig, device):
    info = rig.device_json(OWNER, device)
    return info.get("status"), info.get("owner")


def name(rig, device):
    """The device's name as the agent shows it: vendor and model, or the model when it begins with the vendor."""
    info = rig.device_json(OWNER, device)
    vendor, model = info.get("vendor", ""), info.get("model", "")
    if vendor and model.lower().startswith(vendor.lower()):
        return model
    return " ".join(part for part in (vendor, model) if part)


# ---- the flows -------------------------------------------------------------------------------------------------

def plugged_device_is_a_prompt(rig):
    """A Palm plugged in: its suggested owner's agent shows "Palm Tungsten T connected" with Approve and Reject."""
    rig.plug("plug", "palm")
    note = wait_for_notification(rig, OWNER, "Palm Tungsten T connected")
    expect(note["actions"] == ["approve", "Approve", "reject", "Reject"], f"actions: {note['actions']}")
    expect(note["hints"].get("category") == "device.added" and note["hints"].get("resident") is True,
           f"hints: {note['hints']}")
    expect(note["icon"] == "pda" and note["timeout"] == 0, f"icon {note['icon']!r}, timeout {note['timeout']}")


def approve_click_approves_for_the_user(rig):
    """Approve clicked: the agent, running as the owner (no root, no polkit grant), approves the Palm for them."""
    palm_id = notification_id(rig, OWNER, "Palm Tungsten T connected")
    emit(rig, OWNER, "ActionInvoked", str(palm_id), "approve")
    base.wait_until("the Palm approved", lambda: status(rig, PALM) == ("approved", OWNER))
    base.wait_until("the prompt withdrawn", lambda: palm_id in closed_ids(rig, OWNER), poll=0.25)
    expect("approved" in rig.log(f"agent-{OWNER}").lower(), f"agent log: {rig.log(f'agent-{OWNER}')}")


def reject_click_rejects(rig):
    """An iPhone plugged in, Reject clicked: rejected, and the prompt withdrawn."""
    rig.plug("plug", "iphone")
    rig.wait_for_event("the iPhone's approval request", "approval-requested", IPHONE)
    summary = f"{name(rig, IPHONE)} connected"
    wait_for_notification(rig, OWNER, summary)
    iphone_id = notification_id(rig, OWNER, summary)
    emit(rig, OWNER, "ActionInvoked", str(iphone_id), "reject")
    base.wait_until("the iPhone rejected", lambda: status(rig, IPHONE)[0] == "rejected")
    base.wait_until("the prompt withdrawn", lambda: iphone_id in closed_ids(rig, OWNER), poll=0.25)


def sync_now_syncs_with_progress(rig):
    """With the owner's engine registered, "Sync now" runs sync-all; progress updates one notification in place
    (throttled), and it ends in "Synced Palm Tungsten T"."""
    rig.start_engine("engine", OWNER, "--plugin", "palm-sync", "--step-delay", "0.4")
    offer = wait_for_notification(rig, OWNER, "Palm Tungsten T is ready to sync")
    expect(offer["actions"][:2] == ["default", "Sync now"], f"offer actions: {offer['actions']}")
    offer_id = notification_id(rig, OWNER, "Palm Tungsten T is ready to sync")
    emit(rig, OWNER, "ActionInvoked", str(offer_id), "default")
    done = wait_for_notification(rig, OWNER, "Synced Palm Tungsten T")
    progress = notifications(rig, OWNER, "Syncing Palm Tungsten T")
    expect(progress, "no progress notification")
    expect(all(note["replaces"] == offer_id for note in progress + [done]),
           f"progress and outcome do not replace the offer ({offer_id}): {[n['replaces'] for n in progress]}")
    values = [note["hints"].get("value") for note in progress]
    expect(values == sorted(values) and values[0] == 0, f"progress values: {values}")
    # The engine takes 4 steps of 0.4 s, reporting each: at most one update a second gets through.
    expect(len(progress) <= 3, f"{len(progress)} progress updates for a 1.6 s sync: not throttled")
    expect("finished" in rig.log("engine"), f"the engine did not run the job: {rig.log('engine')}")


def late_start_finds_pending_device(rig):
    """The agent stopped (its prompt withdrawn), the player plugged in, the agent started: it asks at once, from
    the device's SuggestedOwner (it never saw the ApprovalRequested)."""
    agent = process(rig, f"agent-{OWNER}")
    expect(rig.stop(agent) == 0, "the agent did not exit 0 on SIGTERM")
    rig.processes.remove((f"agent-{OWNER}", agent))
    rig.plug("plug", "player")
    rig.wait_for_event("the player's approval request", "approval-requested", PLAYER)
    rig.player = f"{name(rig, PLAYER)} connected"
    expect(notifications(rig, OWNER, rig.player) == [], "the player was shown while no agent ran")
    start_agent(rig, OWNER)
    note = wait_for_notification(rig, OWNER, rig.player)
    expect(note["icon"] == "multimedia-player", f"the player's icon: {note['icon']}")


def broker_restart_is_followed(rig):
    """devsyncd stopped: the prompt is withdrawn and the agent says once that it waits; started again: it asks again."""
    player_id = notification_id(rig, OWNER, rig.player)
    before = len(notifications(rig, OWNER, rig.player))
    expect(rig.stop(rig.daemon, timeout=15) == 0, "devsyncd did not exit 0")
    base.wait_until("the prompt withdrawn", lambda: player_id in closed_ids(rig, OWNER), poll=0.25)
    base.wait_until("the agent to say it waits", lambda: "waiting for it to come back" in rig.log(f"agent-{OWNER}"))
    rig.daemon = base.start_daemon(rig, "devsyncd-again")
    wait_for_notification(rig, OWNER, rig.player, count=before + 1)
    log = rig.log(f"agent-{OWNER}")
    expect(log.count("waiting for it to come back") == 1, f"said more than once: {log}")


def server_absent_then_plain(rig):
    """The notification server gone: the agent says so once and waits; a server without the actions capability
    comes: the prompt is shown again, with the devsyncctl commands in its body and no buttons."""
    server = process(rig, f"notifications-{OWNER}")
    rig.stop(server)
    rig.processes.remove((f"notifications-{OWNER}", server))
    base.wait_until("the agent to notice", lambda: "notification server left" in rig.log(f"agent-{OWNER}"))
    time.sleep(0.5)
    start_server(rig, OWNER, PLAIN)
    note = wait_for_notification(rig, OWNER, rig.player)
    uid = rig.device_json(OWNER, PLAYER)["uid"]
    expect(note["actions"] == [] and f"devsyncctl approve {uid}" in note["body"],
           f"a plain server's prompt: {note}")
    expect(rig.log(f"agent-{OWNER}").count("notification server left") == 1, "said more than once")


def session_bus_restart_is_followed(rig):
    """The session bus itself restarts (with a server with buttons): the agent connects again and asks again."""
    for name in (f"notifications-{OWNER}", f"session-bus-{OWNER}"):
        victim = process(rig, name)
        rig.stop(victim, signal.SIGKILL if name.startswith("session") else signal.SIGTERM)
        rig.processes.remove((name, victim))
    os.remove(f"{rig.work}/tmp-{OWNER}/session_bus_socket")
    start_session(rig, OWNER)
    wait_for_notification(rig, OWNER, rig.player)
    expect(process(rig, f"agent-{OWNER}").poll() is None, "the agent exited with its session bus")


def approval_elsewhere_withdraws(rig):
    """Approved with devsyncctl while the prompt shows: the agent withdraws it."""
    player_id = notification_id(rig, OWNER, rig.player)
    result = rig.ctl(OWNER, "approve", PLAYER)
    expect(result.returncode == 0, f"devsyncctl approve: {result.stderr.strip()}")
    base.wait_until("the prompt withdrawn", lambda: player_id in closed_ids(rig, OWNER), poll=0.25)


def forgotten_then_unplugged(rig):
    """Forgotten while plugged in, the player is pending again and asks again; unplugged before anyone answers,
    its prompt is withdrawn."""
    before = len(notifications(rig, OWNER, rig.player))
    result = rig.ctl(OWNER, "forget", PLAYER)
    expect(result.returncode == 0, f"devsyncctl forget: {result.stderr.strip()}")
    wait_for_notification(rig, OWNER, rig.player, count=before + 1)
    player_id = notification_id(rig, OWNER, rig.player)
    rig.plug("unplug", "player")
    base.wait_until("the player's prompt withdrawn", lambda: player_id in closed_ids(rig, OWNER), poll=0.25)


def paired_phone_prompt_names_it(rig):
    """A Nokia paired over Bluetooth: BlueZ describes it after Paired (class, Device ID, services), and the
    prompt names the Nokia it is, never the inquiry's first guess."""
    nokia, path = base.NOKIA, base.NOKIA_PATH
    rig.mock("org.bluez", "/", "org.bluez.Mock.AddAdapter", "hci0", "devsync-agent-rig")
    rig.mock("org.bluez", "/", "org.bluez.Mock.AddDevice", "hci0", nokia, "Nokia 6021")
    rig.mock("org.bluez", "/", "org.bluez.Mock.PairDevice", "hci0", nokia, "5898764")
    time.sleep(0.5)  # bluetoothd takes a moment to read the services; devsyncd must wait for them
    rig.mock("org.bluez", path, "org.freedesktop.DBus.Mock.UpdateProperties", "org.bluez.Device1",
             "{'Class': <uint32 5898764>, 'Modalias': <'bluetooth:v0001p0060d0100'>, 'UUIDs': "
             "<['00000002-0000-1000-8000-0002ee000002', '00001105-0000-1000-8000-00805f9b34fb']>}")
    rig.mock("org.bluez", path, "org.freedesktop.DBus.Mock.UpdateProperties", "org.bluez.Device1",
             "{'ServicesResolved': <true>}")
    note = wait_for_notification(rig, OWNER, "Nokia 6021 connected")
    expect(note["icon"] == "phone", f"the Nokia's icon: {note['icon']}")
    prompts = [args[3] for method, args in calls(rig, OWNER) if method == "Notify" and "connected" in args[3]]
    expect(not any("Nokia" in summary and summary != "Nokia 6021 connected" for summary in prompts),
           f"the Nokia was first shown as something else: {prompts}")
    expect(status(rig, f"bt-{nokia}")[0] == "pending", "the Nokia is not pending")


def other_user_never_asked(rig):
    """The second user's agent ran throughout, following the same broker, and was never shown anything."""
    log = rig.log(f"agent-{OTHER}")
    expect("devsyncd is on the system bus" in log, f"{OTHER}'s agent never found the broker: {log}")
    expect(process(rig, f"agent-{OTHER}").poll() is None, f"{OTHER}'s agent exited: {log}")
    seen = calls(rig, OTHER)
    expect(seen == [], f"{OTHER}'s notification server was told: {seen}")


def system_bus_restart_is_followed(rig):
    """The system bus itself restarts (devsyncd exits with it and is started again): the agents connect again,
    saying so once, and find the broker."""
    agent_log = f"agent-{OWNER}"
    found_before = rig.log(agent_log).count("devsyncd is on the system bus")
    bus = process(rig, "dbus-daemon")
    rig.stop(bus)
    rig.processes.remove(("dbus-daemon", bus))
    base.wait_until("the agent to see the system bus go", lambda: "The system bus closed" in rig.log(agent_log))
    rig.stop(rig.daemon)
    socket = f"{rig.work}/system_bus_socket"
    if os.path.exists(socket):
        os.remove(socket)
    rig.start("dbus-daemon-again", ["dbus-daemon", f"--config-file={rig.work}/bus.conf", "--nofork"])
    base.wait_until("the system bus again", lambda: os.path.exists(socket))
    rig.daemon = base.start_daemon(rig, "devsyncd-third")
    base.wait_until("the agent to find the broker on the new bus",
                    lambda: rig.log(agent_log).count("devsyncd is on the system bus") > found_before,
                    alive=process(rig, agent_log))
    for user in (OWNER, OTHER):
        expect(process(rig, f"agent-{user}").poll() is None, f"{user}'s agent exited with the system bus")


FLOWS = [
    plugged_device_is_a_prompt, approve_click_approves_for_the_user, reject_click_rejects,
    sync_now_syncs_with_progress, late_start_finds_pending_device, broker_restart_is_followed,
    server_absent_then_plain, session_bus_restart_is_followed, approval_elsewhere_withdraws,
    forgotten_then_unplugged, paired_phone_prompt_names_it, other_user_never_asked, system_bus_restart_is_followed,
]


def set_stage(rig):
    """The rig's stage, then a session bus, a notification server and an agent for each user."""
    rig_set_stage(rig)
    base.shutil.copy(f"{HERE}/notifications.py", rig.work)
    rig.wait_for_event("the broker to start", "broker-started")
    for user in (OWNER, OTHER):
        start_session(rig, user)
        start_agent(rig, user)


rig_set_stage = base.set_stage

if __name__ == "__main__":
    base.FLOWS = FLOWS
    base.set_stage = set_stage
    base.FAILURE_LOGS += [f"agent-{OWNER}", f"agent-{OTHER}", f"notifications-{OWNER}"]
    sys.exit(base.main())
