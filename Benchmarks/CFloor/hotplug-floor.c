// SPDX-License-Identifier: Apache-2.0
// The floor under devsyncd's memory (issue 17; docs/benchmarks.md, "Side by side with boltd"): the smallest
// daemon that does devsyncd's minimal job in plain C against the same libraries (libudev, libdbus-1), measured by
// the same peer harness (Benchmarks/CFloor/peers.py adds it as the peer `cfloor`).
//
//   cc -O2 -o /tmp/hotplug-floor Benchmarks/CFloor/hotplug-floor.c $(pkg-config --cflags --libs libudev dbus-1)
//   /tmp/hotplug-floor --bus ADDRESS        # under umockdev's preload, with UMOCKDEV_DIR, as the harness runs it
//
// What it does, and no more: a libudev monitor (netlink "udev", usb_device only) and, at start, the enumeration
// of the USB devices present; for each, its properties copied out of libudev into one allocation of its own (the
// udev properties as udev.NAME, the sysfs attributes devsyncd reads as usb.*, the interface triples of its
// usb_interface children), the udev_device released at once; one D-Bus object per device registered with libdbus
// (dbus_connection_register_object_path), answering Properties.Get/GetAll with Uid and Properties (a{sv});
// DeviceAdded(o)/DeviceRemoved(o) on the Manager, ListDevices() -> ao, the Version property, and
// GetManagedObjects, on a private bus; one thread, poll(2) on the two fds, no timer: idle, it does not wake.
// What it does not do: profiles (no sync.* keys, no matching), a store, approvals, owners, authorization,
// InterfacesAdded, Bluetooth, logging. Those are devsyncd's job beyond the floor. Like devsyncd, it gives the
// cold-plug's transient heap back once (malloc_trim) when it is done.
#include <dbus/dbus.h>
#include <libudev.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUS_NAME "org.devsync.CFloor1"
#define MANAGER_PATH "/org/devsync/CFloor1"
#define MANAGER_IFACE "org.devsync.CFloor1.Manager"
#define DEVICE_IFACE "org.devsync.CFloor1.Device"
#define DEVICE_PREFIX "/org/devsync/CFloor1/devices/"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"

// One device: its syspath (the key a remove names), object path, uid and properties, all in one block of strings
// that `strings` points into. `keys[i]`/`values[i]` point into the same block.
struct device {
    struct device *next;
    const char *syspath, *path, *uid;
    int count;
    const char **keys, **values;
    char strings[];
};

static struct device *devices;
static int device_count;
static DBusConnection *bus;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "hotplug-floor: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

// systemd's bus-label escaping, as devsyncd's object paths (docs/dbus-api.md).
static void escape_label(const char *label, char *out, size_t size) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)label; *p && n + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, size - n, "_%02x", *p);
    }
    out[n] = 0;
}

// A property list being gathered before it is copied into its device's block.
struct gather { int count, capacity; const char **keys; char **values; };

static void add(struct gather *g, const char *key, const char *value) {
    if (!value) return;
    if (g->count == g->capacity) {
        g->capacity = g->capacity ? 2 * g->capacity : 32;
        g->keys = realloc(g->keys, (size_t)g->capacity * sizeof *g->keys);
        g->values = realloc(g->values, (size_t)g->capacity * sizeof *g->values);
        if (!g->keys || !g->values) die("out of memory", NULL);
    }
    g->keys[g->count] = key;
    g->values[g->count] = strdup(value);
    if (!g->values[g->count]) die("out of memory", NULL);
    g->count++;
}

static const char *sysfs_names[][2] = {
    {"usb.vendor_id", "idVendor"}, {"usb.product_id", "idProduct"}, {"usb.device_revision_bcd", "bcdDevice"},
    {"usb.device_class", "bDeviceClass"}, {"usb.device_subclass", "bDeviceSubClass"},
    {"usb.device_protocol", "bDeviceProtocol"}, {"info.vendor", "manufacturer"}, {"info.product", "product"},
    {"usb.serial", "serial"}, {"usb.bus_number", "busnum"}, {"usb.linux.device_number", "devnum"},
};

// Copies what the daemon keeps of a usb_device out of libudev; the caller releases the udev_device.
static struct device *device_from_udev(struct udev *udev, struct udev_device *dev) {
    struct gather g = {0};
    char *udev_keys[256];
    int udev_key_count = 0;
    add(&g, "info.subsystem", "usb");
    for (size_t i = 0; i < sizeof sysfs_names / sizeof sysfs_names[0]; i++)
        add(&g, sysfs_names[i][0], udev_device_get_sysattr_value(dev, sysfs_names[i][1]));
    // The interfaces, as devsyncd's usb.interfaces: "cc/ss/pp" for each <sysname>:<configuration>.<n> below it.
    char interfaces[512] = "";
    const char *configuration = udev_device_get_sysattr_value(dev, "bConfigurationValue");
    const char *count = udev_device_get_sysattr_value(dev, "bNumInterfaces");
    for (int n = 0; configuration && count && n < atoi(count); n++) {
        char child_path[1024];
        snprintf(child_path, sizeof child_path, "%s/%s:%s.%d", udev_device_get_syspath(dev),
                 udev_device_get_sysname(dev), configuration, n);
        struct udev_device *child = udev_device_new_from_syspath(udev, child_path);
        if (!child) continue;
        const char *c = udev_device_get_sysattr_value(child, "bInterfaceClass");
        const char *s = udev_device_get_sysattr_value(child, "bInterfaceSubClass");
        const char *p = udev_device_get_sysattr_value(child, "bInterfaceProtocol");
        if (c && s && p) {
            size_t used = strlen(interfaces);
            snprintf(interfaces + used, sizeof interfaces - used, "%s%s/%s/%s", used ? "," : "", c, s, p);
        }
        udev_device_unref(child);
    }
    struct udev_list_entry *entry;
    if (interfaces[0]) add(&g, "usb.interfaces", interfaces);
    udev_list_entry_foreach(entry, udev_device_get_properties_list_entry(dev)) {
        const char *name = udev_list_entry_get_name(entry);
        if (!strcmp(name, "ACTION") || !strcmp(name, "SEQNUM") || !strcmp(name, "USEC_INITIALIZED")) continue;
        if (udev_key_count == 256) break;
        char *key = malloc(strlen(name) + 6);
        if (!key) die("out of memory", NULL);
        strcpy(key, "udev."), strcat(key, name);
        udev_keys[udev_key_count++] = key;
        add(&g, key, udev_list_entry_get_value(entry));
    }

    const char *vendor = udev_device_get_sysattr_value(dev, "idVendor");
    const char *product = udev_device_get_sysattr_value(dev, "idProduct");
    const char *serial = udev_device_get_sysattr_value(dev, "serial");
    char uid[256], label[800], path[900];
    snprintf(uid, sizeof uid, "usb-%s-%s-%s", vendor ? vendor : "0000", product ? product : "0000",
             serial ? serial : udev_device_get_sysname(dev));
    escape_label(uid, label, sizeof label);
    snprintf(path, sizeof path, DEVICE_PREFIX "%s", label);
    const char *syspath = udev_device_get_syspath(dev);

    // One block: the header, the two pointer arrays, then every string.
    size_t bytes = strlen(syspath) + strlen(path) + strlen(uid) + 3;
    for (int i = 0; i < g.count; i++) bytes += strlen(g.keys[i]) + strlen(g.values[i]) + 2;
    size_t arrays = 2 * (size_t)g.count * sizeof(char *);
    struct device *d = malloc(sizeof *d + arrays + bytes);
    if (!d) die("out of memory", NULL);
    d->count = g.count;
    d->keys = (const char **)(void *)d->strings;
    d->values = d->keys + g.count;
    char *s = d->strings + arrays;
#define COPY(dst, src) do { size_t n_ = strlen(src) + 1; memcpy(s, (src), n_); (dst) = s; s += n_; } while (0)
    COPY(d->syspath, syspath);
    COPY(d->path, path);
    COPY(d->uid, uid);
    for (int i = 0; i < g.count; i++) {
        COPY(d->keys[i], g.keys[i]);
        COPY(d->values[i], g.values[i]);
        free(g.values[i]);
    }
#undef COPY
    for (int i = 0; i < udev_key_count; i++) free(udev_keys[i]);
    free(g.keys);
    free(g.values);
    return d;
}

// --- D-Bus --------------------------------------------------------------------------------------------------

static void append_properties(DBusMessageIter *array, const struct device *d) {
    DBusMessageIter entry, variant, dict, inner, value;
    const char *name = "Uid";
    dbus_message_iter_open_container(array, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
    dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &name);
    dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "s", &variant);
    dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &d->uid);
    dbus_message_iter_close_container(&entry, &variant);
    dbus_message_iter_close_container(array, &entry);

    name = "Properties";
    dbus_message_iter_open_container(array, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
    dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &name);
    dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "a{sv}", &variant);
    dbus_message_iter_open_container(&variant, DBUS_TYPE_ARRAY, "{sv}", &dict);
    for (int i = 0; i < d->count; i++) {
        dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &inner);
        dbus_message_iter_append_basic(&inner, DBUS_TYPE_STRING, &d->keys[i]);
        dbus_message_iter_open_container(&inner, DBUS_TYPE_VARIANT, "s", &value);
        dbus_message_iter_append_basic(&value, DBUS_TYPE_STRING, &d->values[i]);
        dbus_message_iter_close_container(&inner, &value);
        dbus_message_iter_close_container(&dict, &inner);
    }
    dbus_message_iter_close_container(&variant, &dict);
    dbus_message_iter_close_container(&entry, &variant);
    dbus_message_iter_close_container(array, &entry);
}

static void send_and_unref(DBusMessage *message) {
    if (!message || !dbus_connection_send(bus, message, NULL)) die("out of memory", NULL);
    dbus_message_unref(message);
}

static DBusHandlerResult device_message(DBusConnection *connection, DBusMessage *message, void *data) {
    (void)connection;
    const struct device *d = data;
    const char *iface = NULL, *name = NULL;
    DBusMessageIter it, array;
    if (dbus_message_is_method_call(message, PROPERTIES_IFACE, "GetAll")) {
        if (!dbus_message_get_args(message, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID))
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        DBusMessage *reply = dbus_message_new_method_return(message);
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &array);
        if (!strcmp(iface, DEVICE_IFACE)) append_properties(&array, d);
        dbus_message_iter_close_container(&it, &array);
        send_and_unref(reply);
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    if (dbus_message_is_method_call(message, PROPERTIES_IFACE, "Get")) {
        if (!dbus_message_get_args(message, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING, &name,
                                   DBUS_TYPE_INVALID))
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        if (strcmp(iface, DEVICE_IFACE) || strcmp(name, "Uid")) {
            send_and_unref(dbus_message_new_error(message, DBUS_ERROR_UNKNOWN_PROPERTY, "No such property."));
            return DBUS_HANDLER_RESULT_HANDLED;
        }
        DBusMessage *reply = dbus_message_new_method_return(message);
        DBusMessageIter variant;
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, "s", &variant);
        dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &d->uid);
        dbus_message_iter_close_container(&it, &variant);
        send_and_unref(reply);
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static const DBusObjectPathVTable device_vtable = {.message_function = device_message};

static DBusHandlerResult manager_message(DBusConnection *connection, DBusMessage *message, void *data) {
    (void)connection, (void)data;
    DBusMessageIter it, array, entry, ifaces, iface_entry, props, variant;
    const char *version = "1", *version_name = "Version";
    if (dbus_message_is_method_call(message, MANAGER_IFACE, "ListDevices")) {
        DBusMessage *reply = dbus_message_new_method_return(message);
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "o", &array);
        for (const struct device *d = devices; d; d = d->next)
            dbus_message_iter_append_basic(&array, DBUS_TYPE_OBJECT_PATH, &d->path);
        dbus_message_iter_close_container(&it, &array);
        send_and_unref(reply);
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    if (dbus_message_is_method_call(message, PROPERTIES_IFACE, "Get")) {
        DBusMessage *reply = dbus_message_new_method_return(message);
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, "s", &variant);
        dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &version);
        dbus_message_iter_close_container(&it, &variant);
        send_and_unref(reply);
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    if (dbus_message_is_method_call(message, PROPERTIES_IFACE, "GetAll")) {
        DBusMessage *reply = dbus_message_new_method_return(message);
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &array);
        dbus_message_iter_open_container(&array, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
        dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &version_name);
        dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "s", &variant);
        dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &version);
        dbus_message_iter_close_container(&entry, &variant);
        dbus_message_iter_close_container(&array, &entry);
        dbus_message_iter_close_container(&it, &array);
        send_and_unref(reply);
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    if (dbus_message_is_method_call(message, OBJECT_MANAGER_IFACE, "GetManagedObjects")) {
        const char *iface = DEVICE_IFACE;
        DBusMessage *reply = dbus_message_new_method_return(message);
        dbus_message_iter_init_append(reply, &it);
        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &array);
        for (const struct device *d = devices; d; d = d->next) {
            dbus_message_iter_open_container(&array, DBUS_TYPE_DICT_ENTRY, NULL, &entry);
            dbus_message_iter_append_basic(&entry, DBUS_TYPE_OBJECT_PATH, &d->path);
            dbus_message_iter_open_container(&entry, DBUS_TYPE_ARRAY, "{sa{sv}}", &ifaces);
            dbus_message_iter_open_container(&ifaces, DBUS_TYPE_DICT_ENTRY, NULL, &iface_entry);
            dbus_message_iter_append_basic(&iface_entry, DBUS_TYPE_STRING, &iface);
            dbus_message_iter_open_container(&iface_entry, DBUS_TYPE_ARRAY, "{sv}", &props);
            append_properties(&props, d);
            dbus_message_iter_close_container(&iface_entry, &props);
            dbus_message_iter_close_container(&ifaces, &iface_entry);
            dbus_message_iter_close_container(&entry, &ifaces);
            dbus_message_iter_close_container(&array, &entry);
        }
        dbus_message_iter_close_container(&it, &array);
        send_and_unref(reply);
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static const DBusObjectPathVTable manager_vtable = {.message_function = manager_message};

static void announce(const char *member, const char *path) {
    DBusMessage *signal = dbus_message_new_signal(MANAGER_PATH, MANAGER_IFACE, member);
    if (!signal || !dbus_message_append_args(signal, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID))
        die("out of memory", NULL);
    send_and_unref(signal);
}

// --- devices --------------------------------------------------------------------------------------------------

static void export_device(struct device *d, int signal) {
    for (struct device *e = devices; e; e = e->next)
        if (!strcmp(e->path, d->path)) { free(d); return; }   // the same device seen twice (enumeration, then add)
    if (!dbus_connection_register_object_path(bus, d->path, &device_vtable, d)) die("out of memory", NULL);
    d->next = devices;
    devices = d;
    device_count++;
    if (signal) announce("DeviceAdded", d->path);
}

static void remove_device(const char *syspath) {
    for (struct device **p = &devices; *p; p = &(*p)->next) {
        struct device *d = *p;
        if (strcmp(d->syspath, syspath)) continue;
        *p = d->next;
        device_count--;
        dbus_connection_unregister_object_path(bus, d->path);
        announce("DeviceRemoved", d->path);
        free(d);
        return;
    }
}

static int is_usb_device(struct udev_device *dev) {
    const char *type = udev_device_get_devtype(dev);
    return type && !strcmp(type, "usb_device") && strncmp(udev_device_get_sysname(dev), "usb", 3);
}

int main(int argc, char **argv) {
    const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--bus")) address = argv[i + 1];
    if (!address) die("usage: hotplug-floor --bus ADDRESS", NULL);

    DBusError error;
    dbus_error_init(&error);
    bus = dbus_connection_open_private(address, &error);
    if (!bus || !dbus_bus_register(bus, &error)) die("cannot connect to the bus", error.message);
    dbus_connection_set_exit_on_disconnect(bus, TRUE);
    if (!dbus_connection_register_object_path(bus, MANAGER_PATH, &manager_vtable, NULL)) die("out of memory", NULL);

    struct udev *udev = udev_new();
    if (!udev) die("udev_new failed", NULL);
    struct udev_monitor *monitor = udev_monitor_new_from_netlink(udev, "udev");
    if (!monitor || udev_monitor_filter_add_match_subsystem_devtype(monitor, "usb", "usb_device") < 0 ||
        udev_monitor_enable_receiving(monitor) < 0)
        die("cannot monitor udev", NULL);

    // Cold-plug: the monitor listens first, so nothing plugged during the enumeration is lost.
    struct udev_enumerate *enumerate = udev_enumerate_new(udev);
    udev_enumerate_add_match_subsystem(enumerate, "usb");
    udev_enumerate_add_match_property(enumerate, "DEVTYPE", "usb_device");
    udev_enumerate_scan_devices(enumerate);
    struct udev_list_entry *entry;
    udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(enumerate)) {
        struct udev_device *dev = udev_device_new_from_syspath(udev, udev_list_entry_get_name(entry));
        if (!dev) continue;
        if (is_usb_device(dev)) export_device(device_from_udev(udev, dev), 0);
        udev_device_unref(dev);
    }
    udev_enumerate_unref(enumerate);
    // What the enumeration left free goes back, as devsyncd trims its heap once after its cold-plug.
    malloc_trim(0);

    if (dbus_bus_request_name(bus, BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, &error) !=
        DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
        die("cannot own " BUS_NAME, error.message);
    fprintf(stderr, "hotplug-floor: ready, %d devices\n", device_count);

    int bus_fd = -1;
    if (!dbus_connection_get_unix_fd(bus, &bus_fd)) die("no bus fd", NULL);
    struct pollfd fds[2] = {{.fd = udev_monitor_get_fd(monitor), .events = POLLIN}, {.fd = bus_fd, .events = POLLIN}};
    for (;;) {
        while (dbus_connection_dispatch(bus) == DBUS_DISPATCH_DATA_REMAINS) {}
        dbus_connection_flush(bus);
        if (poll(fds, 2, -1) < 0) continue;
        if (fds[0].revents & POLLIN) {
            struct udev_device *dev;
            while ((dev = udev_monitor_receive_device(monitor))) {
                const char *action = udev_device_get_action(dev);
                if (action && !strcmp(action, "remove"))
                    remove_device(udev_device_get_syspath(dev));
                else if (action && !strcmp(action, "add") && is_usb_device(dev))
                    export_device(device_from_udev(udev, dev), 1);
                udev_device_unref(dev);
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!dbus_connection_read_write(bus, 0)) return 0;   // disconnected
        }
    }
}
