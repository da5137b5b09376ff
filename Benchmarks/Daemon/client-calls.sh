#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The calls clients make of a running devsyncd, a few of each: what devsyncctl, devsync-agent, busctl and gdbus
# ask (ListDevices, GetManagedObjects, Introspect, Properties.Get/GetAll of the broker and of devices) and the
# answers a flood of calls gets (an unknown uid's error, a call with wrong arguments). `make orderfile` runs it
# as resources.py's hook (DEVSYNC_RESOURCES_HOOK; the bus in DEVSYNC_RESOURCES_BUS) so that the code answering
# clients is ordered too, not only the code of a start and of the demo (docs/benchmarks.md, "Memory after
# floods": a flood made each such function's 64 KiB of unordered text resident).
#   Benchmarks/Daemon/client-calls.sh PID        (PID unused; the bus comes from DEVSYNC_RESOURCES_BUS)
set -u
bus=${DEVSYNC_RESOURCES_BUS:?the bus address, in DEVSYNC_RESOURCES_BUS}
name=org.devsync.Broker1
manager=/org/devsync/Broker1
call() { busctl --address="$bus" --timeout=120 "$@" >/dev/null 2>&1; }
paths=$(busctl --address="$bus" --timeout=120 call $name $manager org.devsync.Broker1.Manager ListDevices 2>/dev/null |
    tr ' ' '\n' | grep '^"/' | tr -d '"' | head -n 5)
for round in 1 2 3; do
    call call $name $manager org.devsync.Broker1.Manager ListDevices
    call call $name $manager org.freedesktop.DBus.ObjectManager GetManagedObjects
    call call $name $manager org.freedesktop.DBus.Introspectable Introspect
    call call $name $manager org.freedesktop.DBus.Properties GetAll s org.devsync.Broker1.Manager
    call call $name $manager org.devsync.Broker1.Manager DeviceByUid s "usb-ffff-ffff-no-such-device"
    call call $name $manager org.devsync.Broker1.Manager DeviceByUid i 7
    for path in $paths; do
        call call $name "$path" org.freedesktop.DBus.Introspectable Introspect
        call call $name "$path" org.freedesktop.DBus.Properties GetAll s org.devsync.Broker1.Device
        call call $name "$path" org.freedesktop.DBus.Properties Get ss org.devsync.Broker1.Device Properties
    done
done
exit 0
