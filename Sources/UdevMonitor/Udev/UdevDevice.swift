// SPDX-License-Identifier: Apache-2.0
/// One udev device record, copied out of libudev at once: a uevent from the monitor or an entry of an
/// enumeration. A plain value, safe to hand across queues.
package struct UdevDevice: Sendable, Hashable {
    /// `add`, `remove`, `change`, `bind`, `unbind`, `move`; nil for an enumerated (already present) device.
    var action: String?
    /// The kernel devpath, `/devices/pci0000:00/…/1-2`; the key everything is folded by.
    package var devpath: String
    /// The devpath with the sysfs mount in front, `/sys/devices/…`.
    var syspath: String
    /// `usb`, `tty` …
    var subsystem: String?
    /// `usb_device`, `usb_interface` … (the kernel's DEVTYPE).
    var devtype: String?
    /// The device node, `/dev/ttyUSB1`, if the device has one.
    var devnode: String?
    /// The kernel's event sequence number; 0 for an enumerated device.
    var seqnum: UInt64
    /// Every udev property (`PRODUCT`, `ID_MTP_DEVICE` …) as udev has them.
    package var properties: [String: String]
    /// The last path component: `1-2`, `1-2:1.0`, `ttyUSB1` (kept, not recomputed: folding asks for it often).
    package let sysname: String

    /// A record of these fields.
    package init(action: String?, devpath: String, syspath: String, subsystem: String?, devtype: String?, devnode: String?,
         seqnum: UInt64, properties: [String: String]) {
        self.action = action
        self.devpath = devpath
        self.syspath = syspath
        self.subsystem = subsystem
        self.devtype = devtype
        self.devnode = devnode
        self.seqnum = seqnum
        self.properties = properties
        if let slash = devpath.utf8.lastIndex(of: UInt8(ascii: "/")) {
            sysname = String(devpath[devpath.utf8.index(after: slash)...])
        } else {
            sysname = devpath
        }
    }

    /// When udev first finished processing this device instance (µs, CLOCK_MONOTONIC), if known.
    ///
    /// Distinguishes two instances at the same devpath: a remove whose instance predates the tracked one is stale.
    var initializedAt: UInt64? { properties["USEC_INITIALIZED"].flatMap { UInt64($0) } }

    /// Whether this is a whole USB device (not one of its interfaces), other than a root hub.
    ///
    /// Root hubs (`usb1`, `usb2` …) are the host controller's own and never plugged in; they are not devices
    /// devsync reports.
    ///
    /// A remove uevent carries no sysfs to look at, so this reads only the event: DEVTYPE, or else the
    /// kernel's PRODUCT (`vid/pid/bcd`) without an INTERFACE, which only a usb_device has.
    package var isUSBDevice: Bool {
        guard subsystem == "usb", !sysname.hasPrefix("usb") else { return false }
        if let devtype { return devtype == "usb_device" }
        return properties["PRODUCT"] != nil && properties["INTERFACE"] == nil
    }

    /// Whether this is an interface of a USB device.
    package var isUSBInterface: Bool {
        guard subsystem == "usb" else { return false }
        if let devtype { return devtype == "usb_interface" }
        return properties["INTERFACE"] != nil
    }
}

extension String {
    /// The devpath of the parent directory: `/devices/…/1-2` for `/devices/…/1-2/1-2:1.0`.
    var parentDevpath: String? {
        guard let slash = lastIndex(of: "/"), slash != startIndex else { return nil }
        return String(self[..<slash])
    }

    /// Whether `self` is `ancestor` or lies below it in the device tree (component-wise, so `1-2` is not below `1-20`).
    func isDevpath(below ancestor: String) -> Bool {
        guard hasPrefix(ancestor) else { return false }
        let rest = utf8.dropFirst(ancestor.utf8.count)
        return rest.first == UInt8(ascii: "/")
    }
}
