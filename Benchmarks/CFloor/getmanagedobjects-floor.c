// SPDX-License-Identifier: Apache-2.0
// The floor under GetManagedObjects with libdbus on both ends and dbus-daemon between (docs/benchmarks.md,
// BusService): what any libdbus broker and client pay to move and check a reply of that size.
//
//   cc -O2 -o /tmp/gmo-floor Benchmarks/CFloor/getmanagedobjects-floor.c $(pkg-config --cflags --libs dbus-1)
//   CFLOOR_ADDRESS=unix:path=... /tmp/gmo-floor server [N P] &    # on a private dbus-daemon
//   CFLOOR_ADDRESS=unix:path=... /tmp/gmo-floor client [N P]      # NOWALK=1: do not iterate the reply
//
// server: owns org.devsync.CFloor and answers GetManagedObjects at / with N objects (default 1,000) of one
// interface with P string properties (default 26: a 1.35 MB reply, about the broker's 1.41 MB), the reply built
// once and copied per call as the Swift binding does. client: 50 calls after 3 warm-up calls; prints p50/p99
// of the round trip, the reply walked with libdbus's iterator unless NOWALK is set.
#include <dbus/dbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int N = 1000, P = 26;

static DBusMessage *build_reply(DBusMessage *call) {
    DBusMessage *reply = dbus_message_new_method_return(call);
    DBusMessageIter it, objects, object, ifaces, iface, props, prop, variant;
    dbus_message_iter_init_append(reply, &it);
    dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &objects);
    char path[128], key[64], value[64];
    const char *ifname = "org.devsync.Broker1.Device";
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/org/devsync/Broker1/devices/usb_0830_0060_SN%08d", i);
        const char *p = path;
        dbus_message_iter_open_container(&objects, DBUS_TYPE_DICT_ENTRY, NULL, &object);
        dbus_message_iter_append_basic(&object, DBUS_TYPE_OBJECT_PATH, &p);
        dbus_message_iter_open_container(&object, DBUS_TYPE_ARRAY, "{sa{sv}}", &ifaces);
        dbus_message_iter_open_container(&ifaces, DBUS_TYPE_DICT_ENTRY, NULL, &iface);
        dbus_message_iter_append_basic(&iface, DBUS_TYPE_STRING, &ifname);
        dbus_message_iter_open_container(&iface, DBUS_TYPE_ARRAY, "{sv}", &props);
        for (int k = 0; k < P; k++) {
            snprintf(key, sizeof key, "Property%02d", k);
            snprintf(value, sizeof value, "value-%d-of-device-%d", k, i);
            const char *kp = key, *vp = value;
            dbus_message_iter_open_container(&props, DBUS_TYPE_DICT_ENTRY, NULL, &prop);
            dbus_message_iter_append_basic(&prop, DBUS_TYPE_STRING, &kp);
            dbus_message_iter_open_container(&prop, DBUS_TYPE_VARIANT, "s", &variant);
            dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &vp);
            dbus_message_iter_close_container(&prop, &variant);
            dbus_message_iter_close_container(&props, &prop);
        }
        dbus_message_iter_close_container(&iface, &props);
        dbus_message_iter_close_container(&ifaces, &iface);
        dbus_message_iter_close_container(&object, &ifaces);
        dbus_message_iter_close_container(&objects, &object);
    }
    dbus_message_iter_close_container(&it, &objects);
    return reply;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }

static void walk(DBusMessageIter *it, long *count) {
    do {
        int type = dbus_message_iter_get_arg_type(it);
        if (type == DBUS_TYPE_INVALID) break;
        (*count)++;
        if (type == DBUS_TYPE_ARRAY || type == DBUS_TYPE_DICT_ENTRY || type == DBUS_TYPE_VARIANT || type == DBUS_TYPE_STRUCT) {
            DBusMessageIter sub; dbus_message_iter_recurse(it, &sub); walk(&sub, count);
        }
    } while (dbus_message_iter_next(it));
}

int main(int argc, char **argv) {
    DBusError err; dbus_error_init(&err);
    const char *address = getenv("CFLOOR_ADDRESS");
    DBusConnection *c = dbus_connection_open_private(address, &err);
    if (!c || !dbus_bus_register(c, &err)) { fprintf(stderr, "%s\n", err.message); return 1; }
    if (argc > 2) N = atoi(argv[2]);
    if (argc > 3) P = atoi(argv[3]);
    if (!strcmp(argv[1], "server")) {
        dbus_bus_request_name(c, "org.devsync.CFloor", 0, &err);
        DBusMessage *kept = NULL;
        for (;;) {
            dbus_connection_read_write(c, -1);
            DBusMessage *m;
            while ((m = dbus_connection_pop_message(c))) {
                if (dbus_message_is_method_call(m, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")) {
                    // Kept, as the Swift broker keeps its reply: a call costs a copy and the send.
                    if (!kept) kept = build_reply(m);
                    DBusMessage *r = dbus_message_copy(kept);
                    dbus_message_set_reply_serial(r, dbus_message_get_serial(m));
                    dbus_message_set_destination(r, dbus_message_get_sender(m));
                    dbus_connection_send(c, r, NULL); dbus_message_unref(r);
                }
                dbus_message_unref(m);
            }
        }
    }
    int R = 50; double t[50]; long values = 0; int size = 0;
    for (int i = 0; i < R + 3; i++) {
        DBusMessage *m = dbus_message_new_method_call("org.devsync.CFloor", "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
        double t0 = now();
        DBusMessage *r = dbus_connection_send_with_reply_and_block(c, m, 10000, &err);
        if (!r) { fprintf(stderr, "%s\n", err.message); return 1; }
        DBusMessageIter it; values = 0; if (!getenv("NOWALK")) { dbus_message_iter_init(r, &it); walk(&it, &values); }
        double t1 = now();
        char *bytes; dbus_message_marshal(r, &bytes, &size); dbus_free(bytes);
        if (i >= 3) t[i - 3] = t1 - t0;
        dbus_message_unref(r); dbus_message_unref(m);
    }
    qsort(t, R, sizeof t[0], cmp);
    printf("C floor: %d objects x %d properties, reply %d bytes, %ld values: p50 %.1f ms, p99 %.1f ms (%d calls)\n", N, P, size, values, t[R / 2], t[R * 99 / 100], R);
    return 0;
}
