#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Drives python-dbusmock's notification_daemon on the session bus, for tests/system-bus/agent-rig.py.

    notifications.py calls                        one JSON list: [method, args] of every Notify and CloseNotification
                                                  the mock received, in order
    notifications.py emit ActionInvoked ID KEY    the server's signals, as a click or a dismissal sends them
    notifications.py emit NotificationClosed ID REASON

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


def main():
    mock = dbus.Interface(dbus.SessionBus().get_object(NAME, PATH), "org.freedesktop.DBus.Mock")
    if sys.argv[1:2] == ["calls"]:
        calls = [[str(method), plain(args)] for _, method, args in mock.GetCalls()
                 if method in ("Notify", "CloseNotification")]
        print(json.dumps(calls))
    elif sys.argv[1:3] == ["emit", "ActionInvoked"]:
        mock.EmitSignal(NAME, "ActionInvoked", "us", [dbus.UInt32(int(sys.argv[3])), sys.argv[4]])
    elif sys.argv[1:3] == ["emit", "NotificationClosed"]:
        mock.EmitSignal(NAME, "NotificationClosed", "uu", [dbus.UInt32(int(sys.argv[3])), dbus.UInt32(int(sys.argv[4]))])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
