#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Drives python-dbusmock's notification_daemon on the session bus, for tests/system-bus/agent-rig.py and make demo.

    notifications.py calls                        one JSON list: [method, args] of every Notify and CloseNotification
                                                  the mock received, in order
    notifications.py emit ActionInvoked ID KEY    the server's signals, as a click or a dismissal sends them
    notifications.py emit NotificationClosed ID REASON
    notifications.py show FROM                    the calls from the FROM-th on, one line each, for people (make demo)
    notifications.py count                        how many calls there were

Run as the session's user (the session bus admits only its own user).
"""

import json
import sys

import dbus

NAME, PATH = "org.freedesktop.Notifications", "/org/freedesktop/Notifications"


def plain(value):
    """dbus-python's types as JSON's."""
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (dbus.Dictionary, dict)):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (int, float)):
        return value if isinstance(value, float) else int(value)
    return str(value)


def show(calls, start):
    """One line per call: the id the mock gave it, its summary, body, buttons and progress; or its withdrawal."""
    last_id = 0
    for index, (method, args) in enumerate(calls):
        if method == "Notify":
            number = args[1] or last_id + 1
            last_id = max(last_id, number)
            if index < start:
                continue
            actions = args[5]
            buttons = " ".join(f"[{actions[i + 1]}]" for i in range(0, len(actions) - 1, 2))
            progress = args[6].get("value")
            line = f"#{number}{' (in place)' if args[1] else ''}  {args[3]}: {args[4]}"
            if progress is not None:
                line += f"  ({progress}%)"
            if buttons:
                line += f"  {buttons}"
            print(line)
        elif index >= start:
            print(f"#{args[0]}  withdrawn")


def main():
    mock = dbus.Interface(dbus.SessionBus().get_object(NAME, PATH), "org.freedesktop.DBus.Mock")
    calls = [[str(method), plain(args)] for _, method, args in mock.GetCalls()
             if method in ("Notify", "CloseNotification")]
    if sys.argv[1:2] == ["calls"]:
        print(json.dumps(calls))
    elif sys.argv[1:2] == ["count"]:
        print(len(calls))
    elif sys.argv[1:2] == ["show"] and len(sys.argv) == 3:
        show(calls, int(sys.argv[2]))
    elif sys.argv[1:3] == ["emit", "ActionInvoked"]:
        mock.EmitSignal(NAME, "ActionInvoked", "us", [dbus.UInt32(int(sys.argv[3])), sys.argv[4]])
    elif sys.argv[1:3] == ["emit", "NotificationClosed"]:
        mock.EmitSignal(NAME, "NotificationClosed", "uu", [dbus.UInt32(int(sys.argv[3])), dbus.UInt32(int(sys.argv[4]))])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
