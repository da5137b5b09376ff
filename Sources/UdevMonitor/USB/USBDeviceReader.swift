// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Logging

/// Reads a USB device and its interfaces out of sysfs at the moment udev reports them.
///
/// Where the interfaces come from, best first: the interface directories below the usb_device (they carry the
/// iInterface names); for the interfaces not (yet) there, the configuration descriptor, read WITHOUT opening the
/// device, from sysfs `descriptors` and else through libusb; and last udev's `ID_USB_INTERFACES`, which lists
/// each distinct triple once. devsync never opens, claims or sends a control transfer to a device.
package struct USBDeviceReader: Sendable {
    /// Reads the active configuration's interfaces of the device at bus/address without opening it (libusb);
    /// nil when that is not possible.
    var configurationDescriptor: @Sendable (_ bus: UInt32, _ address: UInt32) -> [USBInterface]?

    /// A reader with the libusb fallback.
    init(configurationDescriptor: @escaping @Sendable (_ bus: UInt32, _ address: UInt32) -> [USBInterface]? = LibUSBDescriptors.interfaces) {
        self.configurationDescriptor = configurationDescriptor
    }

    /// Why a device could not be read.
    enum Skip: Error, Equatable {
        /// The device directory vanished while it was being read: the device was unplugged.
        case vanished
    }

    /// The record of the usb_device `device` reports, with its interfaces; fails if the device vanished mid-read.
    func readDevice(_ device: UdevDevice) throws(Skip) -> USBDeviceRecord {
        // The device left before it could be read; its remove uevent follows.
        guard let directory = SysfsDirectory(path: device.syspath) else { throw .vanished }
        var record = Self.record(of: device) { name, limit in directory.bytes(name, limit: limit) }
        // Each interface directory is opened and listed once: the listing says whether it has a name to read
        // and which ttys hang below it, so no open is spent on a file that is not there.
        var found: [USBInterface] = []
        for name in directory.entries() where name.hasPrefix(device.sysname + ":") {
            guard let interfaceDirectory = directory.child(name) else { continue }
            let entries = interfaceDirectory.entries()
            // The interface's own uevent file holds INTERFACE=class/subclass/protocol: one read instead of three.
            let uevent = interfaceDirectory.bytes("uevent", limit: 4096).flatMap { Self.ueventValue("INTERFACE", in: $0) }
            if let interface = readInterface(at: interfaceDirectory, sysname: name, interface: uevent, entries: entries) {
                found.append(interface)
            }
            record.ttys.merge(readTTYs(in: interfaceDirectory, entries: entries, devpath: device.devpath + "/" + name)) { new, _ in new }
        }
        let expected = directory.decimal("bNumInterfaces").map(Int.init)
        for interface in found { record.bind(interface) }
        // Interface directories are only to be expected of a configured, authorized device (USBGuard and
        // `authorized_default=0` leave a device without interfaces until someone allows it). Those two
        // attributes are read only when directories are missing, which a normal plug-in never has.
        if let expected, expected > 0, record.boundInterfaces.count < expected,
            let configuration = directory.decimal("bConfigurationValue"), configuration > 0,
            directory.decimal("authorized") != 0
        {
            // The kernel is still creating its interfaces: the folder holds it back until their uevents have
            // brought them, and only a device announced without them is described (describeMissingInterfaces):
            // the descriptors, and libusb's enumeration where sysfs has none, are not read for a device that
            // is not announced yet, which in the kernel's order of uevents is every device.
            record.expectedInterfaces = expected
        } else {
            completeInterfaces(of: &record, in: directory, expected: expected, udevList: device.properties["ID_USB_INTERFACES"])
        }
        // Every attribute read above may have failed because the device left half-way; a record assembled from
        // such reads would be wrong, so it is dropped. Its remove uevent follows.
        guard directory.exists else { throw .vanished }
        return record
    }

    /// The usb_device's own fields from its uevent, and where the uevent lacks one, from the sysfs attribute
    /// that `attribute` reads (its raw bytes, at most `limit`; nil if missing): `readDevice`'s mapping of
    /// kernel and device strings, without the I/O, so that it can be fuzzed (Fuzz/Entries/UeventFuzzing.swift).
    package static func record(
        of device: UdevDevice, attribute: (_ name: String, _ limit: Int) -> [UInt8]?
    ) -> USBDeviceRecord {
        var record = USBDeviceRecord(devpath: device.devpath)
        func hex(_ name: String) -> UInt32? {
            attribute(name, SysfsDirectory.numberLimit).flatMap { SysfsDirectory.number(from: $0, radix: 16) }
        }
        func decimal(_ name: String) -> UInt32? {
            attribute(name, SysfsDirectory.numberLimit).flatMap { SysfsDirectory.number(from: $0, radix: 10) }
        }
        func text(_ name: String) -> String? {
            attribute(name, SysfsDirectory.textLimit).flatMap(SysfsDirectory.text(from:))
        }
        // The uevent's PRODUCT (`vid/pid/bcd`, hex), TYPE (`class/subclass/protocol`, decimal), BUSNUM and DEVNUM
        // are the kernel's own copy of these descriptor fields and cost no read; sysfs fills in what is missing.
        let product = device.properties["PRODUCT"].map { Self.fields($0, radix: 16) } ?? []
        let type = device.properties["TYPE"].map { Self.fields($0, radix: 10) } ?? []
        func field(_ fields: [UInt32?], _ index: Int) -> UInt32? { index < fields.count ? fields[index] : nil }
        record.vendorID = (field(product, 0) ?? hex("idVendor")).map { UInt16(truncatingIfNeeded: $0) }
        record.productID = (field(product, 1) ?? hex("idProduct")).map { UInt16(truncatingIfNeeded: $0) }
        record.revisionBCD = (field(product, 2) ?? hex("bcdDevice")).map { UInt16(truncatingIfNeeded: $0) }
        record.deviceClass = (field(type, 0) ?? hex("bDeviceClass")).map { UInt8(truncatingIfNeeded: $0) }
        record.deviceSubclass = (field(type, 1) ?? hex("bDeviceSubClass")).map { UInt8(truncatingIfNeeded: $0) }
        record.deviceProtocol = (field(type, 2) ?? hex("bDeviceProtocol")).map { UInt8(truncatingIfNeeded: $0) }
        record.manufacturer = text("manufacturer")
        record.product = text("product")
        record.serial = text("serial")
        record.busNumber = device.properties["BUSNUM"].flatMap { UInt32($0) } ?? decimal("busnum")
        record.deviceNumber = device.properties["DEVNUM"].flatMap { UInt32($0) } ?? decimal("devnum")
        record.initializedAt = device.initializedAt
        for (name, value) in device.properties where USBDeviceRecord.isPublished(udevProperty: name) {
            record.udevProperties[name] = value
        }
        return record
    }

    /// The interface an interface uevent reports, or nil if its directory is gone or unreadable.
    func readInterface(_ device: UdevDevice) -> USBInterface? {
        guard let directory = SysfsDirectory(path: device.syspath) else { return nil }
        return readInterface(at: directory, sysname: device.sysname, interface: device.properties["INTERFACE"],
                             entries: directory.entries())
    }

    /// Completes the interfaces of a device held back for its interface directories
    /// (``USBDeviceRecord/isAwaitingInterfaces``) that is announced without them: the grace time ran out, an
    /// enumeration found it so, or it was announced already. `syspath` is its directory; a device gone meanwhile
    /// keeps what it has.
    func describeMissingInterfaces(of record: inout USBDeviceRecord, syspath: String) {
        guard record.isAwaitingInterfaces, let directory = SysfsDirectory(path: syspath) else { return }
        completeInterfaces(of: &record, in: directory, expected: record.expectedInterfaces,
                           udevList: record.udevProperties["ID_USB_INTERFACES"])
    }

    /// Completes the interfaces read from their directories from the configuration descriptor (or udev's
    /// `ID_USB_INTERFACES`) where fewer directories exist than the device has interfaces.
    private func completeInterfaces(
        of record: inout USBDeviceRecord, in directory: borrowing SysfsDirectory, expected: Int?, udevList: String?
    ) {
        if let expected, record.interfaces.count >= expected, expected > 0 { return }
        if !record.interfaces.isEmpty && expected == nil { return }
        // Some interfaces are not in sysfs (yet, or unreadable): fill in from the configuration descriptor.
        let configuration = directory.decimal("bConfigurationValue").map { UInt8(truncatingIfNeeded: $0) }
        let described = directory.bytes("descriptors").flatMap {
            USBDescriptorParser.interfaces(descriptors: $0, configurationValue: configuration)
        } ?? record.busNumber.flatMap { bus in record.deviceNumber.flatMap { configurationDescriptor(bus, $0) } }
        if let described, !described.isEmpty {
            for interface in described where !record.interfaces.contains(where: { $0.number == interface.number }) {
                record.merge(interface)
            }
            return
        }
        if record.interfaces.isEmpty, let list = udevList {
            record.interfaces = USBDescriptorParser.interfaces(udevList: list)
        }
    }

    /// The ttys already bound below one interface, by the devpath their own uevent will carry:
    /// `<if>/ttyUSB1/tty/ttyUSB1` for usb-serial (visor, pl2303), `<if>/tty/ttyACM0` for cdc-acm. A candidate
    /// counts only if its `subsystem` link says tty, so a usb-serial port directory is not taken for its tty.
    private func readTTYs(in directory: borrowing SysfsDirectory, entries: [String], devpath: String) -> [String: String] {
        var candidates: [String] = []
        for entry in entries {
            if entry == "tty" {
                candidates += directory.entries(of: "tty").map { "tty/" + $0 }
            } else if entry.hasPrefix("tty") {
                candidates += [entry, entry + "/tty/" + entry]
                candidates += directory.entries(of: entry).filter { $0.hasPrefix("tty") }.map { entry + "/" + $0 }
            }
        }
        var ttys: [String: String] = [:]
        for candidate in candidates where directory.isTTY(candidate) {
            let name = candidate.split(separator: "/").last.map(String.init) ?? candidate
            ttys["\(devpath)/\(candidate)"] = "/dev/" + name
        }
        return ttys
    }

    /// An interface from its directory; `interface` is the uevent's INTERFACE (`8/6/80`, decimal) if known,
    /// `entries` the directory's listing (empty: it is gone).
    private func readInterface(at directory: borrowing SysfsDirectory, sysname: String, interface: String?, entries: [String]) -> USBInterface? {
        // A directory that vanished (or never was) is not an interface any more.
        guard !entries.isEmpty else { return nil }
        let triple = interface.map { Self.fields($0, radix: 10) } ?? []
        let classes: [UInt32?] = triple.count == 3 && !triple.contains(nil)
            ? triple
            : [directory.hex("bInterfaceClass"), directory.hex("bInterfaceSubClass"), directory.hex("bInterfaceProtocol")]
        guard let classCode = classes[0], let subclass = classes[1], let protocolCode = classes[2] else { return nil }
        guard let number = Self.interfaceNumber(sysname: sysname) ?? directory.hex("bInterfaceNumber") else { return nil }
        // Most interfaces have no iInterface string: no file, no open.
        let name = entries.contains("interface") ? directory.text("interface") : nil
        // An unbound interface has no `driver` link: no readlink spent on it.
        let driver = entries.contains("driver") ? directory.linkTarget("driver").flatMap { Self.driverName(linkTarget: $0) } : nil
        return USBInterface(
            number: UInt8(truncatingIfNeeded: number), classCode: UInt8(truncatingIfNeeded: classCode),
            subclass: UInt8(truncatingIfNeeded: subclass), protocolCode: UInt8(truncatingIfNeeded: protocolCode),
            name: name, driver: driver)
    }

    /// The driver's name from a `driver` link's target (`../../../../bus/usb/drivers/cdc_acm` → `cdc_acm`).
    package static func driverName(linkTarget: String) -> String? {
        guard let last = linkTarget.split(separator: "/").last, !last.isEmpty, last != ".." else { return nil }
        return DeviceText.sanitize(String(last))
    }

    /// The value of `key` in a uevent file's `KEY=value` lines.
    package static func ueventValue(_ key: String, in bytes: [UInt8]) -> String? {
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let text = String(decoding: line, as: UTF8.self)
            if text.hasPrefix(key + "=") { return String(text.dropFirst(key.utf8.count + 1)) }
        }
        return nil
    }

    /// The interface number in an interface's sysfs name, `1-2:1.3` → 3, readable after the directory is gone.
    package static func interfaceNumber(sysname: String) -> UInt32? {
        guard let dot = sysname.lastIndex(of: "."), sysname.contains(":") else { return nil }
        return UInt32(sysname[sysname.index(after: dot)...])
    }

    /// The `/`-separated numbers of a PRODUCT (`830/61/100`, hex) or TYPE / INTERFACE (`255/0/0`, decimal)
    /// property; a malformed field is nil.
    package static func fields(_ value: String, radix: Int) -> [UInt32?] {
        // By hand over the UTF-8: this runs for every uevent, and split + map + UInt32(_:radix:) allocated a
        // substring array for three small numbers.
        var fields: [UInt32?] = []
        fields.reserveCapacity(3)
        var current: UInt32? = nil
        var valid = true
        var empty = true
        for byte in value.utf8 {
            if byte == UInt8(ascii: "/") {
                fields.append(valid && !empty ? current : nil)
                (current, valid, empty) = (nil, true, true)
                continue
            }
            let digit: UInt32? = switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
            empty = false
            guard valid, let digit, digit < UInt32(radix) else { valid = false; continue }
            let (product, overflow1) = (current ?? 0).multipliedReportingOverflow(by: UInt32(radix))
            let (sum, overflow2) = product.addingReportingOverflow(digit)
            if overflow1 || overflow2 { valid = false } else { current = sum }
        }
        fields.append(valid && !empty ? current : nil)
        return fields
    }
}
