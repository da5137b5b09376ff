import Logging

/// Reads a USB device and its interfaces out of sysfs at the moment udev reports them.
///
/// Where the interfaces come from, best first: the interface directories below the usb_device (they carry the
/// iInterface names); for the interfaces not (yet) there, the configuration descriptor, read WITHOUT opening the
/// device, from sysfs `descriptors` and else through libusb; and last udev's `ID_USB_INTERFACES`, which lists
/// each distinct triple once. devsync never opens, claims or sends a control transfer to a device.
struct USBDeviceReader: Sendable {
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
        let directory = SysfsDirectory(path: device.syspath)
        var record = USBDeviceRecord(devpath: device.devpath)
        // The kernel's PRODUCT (`vid/pid/bcd`, hex) is in every usb_device uevent; sysfs is read first because
        // it is complete, and PRODUCT fills in when an attribute is missing.
        let product = device.properties["PRODUCT"].map(Self.parseProduct) ?? (nil, nil, nil)
        record.vendorID = directory.hex("idVendor").map { UInt16(truncatingIfNeeded: $0) } ?? product.0
        record.productID = directory.hex("idProduct").map { UInt16(truncatingIfNeeded: $0) } ?? product.1
        record.revisionBCD = directory.hex("bcdDevice").map { UInt16(truncatingIfNeeded: $0) } ?? product.2
        record.deviceClass = directory.hex("bDeviceClass").map { UInt8(truncatingIfNeeded: $0) }
        record.deviceSubclass = directory.hex("bDeviceSubClass").map { UInt8(truncatingIfNeeded: $0) }
        record.deviceProtocol = directory.hex("bDeviceProtocol").map { UInt8(truncatingIfNeeded: $0) }
        record.manufacturer = directory.text("manufacturer")
        record.product = directory.text("product")
        record.serial = directory.text("serial")
        record.busNumber = directory.decimal("busnum") ?? device.properties["BUSNUM"].flatMap { UInt32($0) }
        record.deviceNumber = directory.decimal("devnum") ?? device.properties["DEVNUM"].flatMap { UInt32($0) }
        record.initializedAt = device.initializedAt
        for (name, value) in device.properties where USBDeviceRecord.isPublished(udevProperty: name) {
            record.udevProperties[name] = value
        }
        let interfaces = readInterfaces(of: directory, sysname: device.sysname, properties: device.properties,
                                        bus: record.busNumber, address: record.deviceNumber)
        record.interfaces = interfaces.all
        record.boundInterfaces = interfaces.bound
        // Interface directories are only to be expected of a configured, authorized device (USBGuard and
        // `authorized_default=0` leave a device without interfaces until someone allows it).
        if let configuration = directory.decimal("bConfigurationValue"), configuration > 0,
            directory.decimal("authorized") != 0, let count = directory.decimal("bNumInterfaces"), count > 0
        {
            record.expectedInterfaces = Int(count)
        }
        record.ttys = readTTYs(of: directory, devpath: device.devpath, sysname: device.sysname)
        // Every attribute read above may have failed because the device left half-way; a record assembled from
        // such reads would be wrong, so it is dropped. Its remove uevent follows.
        guard directory.exists else { throw .vanished }
        return record
    }

    /// The interface an interface uevent reports, or nil if its directory is gone or unreadable.
    func readInterface(_ device: UdevDevice) -> USBInterface? {
        readInterface(at: SysfsDirectory(path: device.syspath), sysname: device.sysname)
    }

    private func readInterfaces(
        of directory: SysfsDirectory, sysname: String, properties: [String: String], bus: UInt32?, address: UInt32?
    ) -> (all: [USBInterface], bound: Set<UInt8>) {
        var record = USBDeviceRecord(devpath: "")
        for entry in directory.entries() where entry.hasPrefix(sysname + ":") {
            if let interface = readInterface(at: directory.child(entry), sysname: entry) { record.bind(interface) }
        }
        let bound = record.boundInterfaces
        let expected = directory.decimal("bNumInterfaces").map(Int.init)
        if let expected, record.interfaces.count >= expected, expected > 0 { return (record.interfaces, bound) }
        if !record.interfaces.isEmpty && expected == nil { return (record.interfaces, bound) }
        // Some interfaces are not in sysfs (yet, or unreadable): fill in from the configuration descriptor.
        let configuration = directory.decimal("bConfigurationValue").map { UInt8(truncatingIfNeeded: $0) }
        let described = directory.bytes("descriptors").flatMap {
            USBDescriptorParser.interfaces(descriptors: $0, configurationValue: configuration)
        } ?? bus.flatMap { bus in address.flatMap { configurationDescriptor(bus, $0) } }
        if let described, !described.isEmpty {
            for interface in described where !record.interfaces.contains(where: { $0.number == interface.number }) {
                record.merge(interface)
            }
            return (record.interfaces, bound)
        }
        if record.interfaces.isEmpty, let list = properties["ID_USB_INTERFACES"] {
            return (USBDescriptorParser.interfaces(udevList: list), bound)
        }
        return (record.interfaces, bound)
    }

    /// The ttys already bound below the device's interfaces, by the devpath their own uevent will carry:
    /// `<if>/ttyUSB1/tty/ttyUSB1` for usb-serial (visor, pl2303), `<if>/tty/ttyACM0` for cdc-acm.
    private func readTTYs(of directory: SysfsDirectory, devpath: String, sysname: String) -> [String: String] {
        var ttys: [String: String] = [:]
        for interface in directory.entries() where interface.hasPrefix(sysname + ":") {
            let interfaceDirectory = directory.child(interface)
            for entry in interfaceDirectory.entries() {
                if entry == "tty" {
                    for name in interfaceDirectory.child("tty").entries() {
                        ttys["\(devpath)/\(interface)/tty/\(name)"] = "/dev/" + name
                    }
                } else if entry.hasPrefix("tty"), interfaceDirectory.child(entry).child("tty").child(entry).exists {
                    ttys["\(devpath)/\(interface)/\(entry)/tty/\(entry)"] = "/dev/" + entry
                }
            }
        }
        return ttys
    }

    private func readInterface(at directory: SysfsDirectory, sysname: String) -> USBInterface? {
        guard let classCode = directory.hex("bInterfaceClass"),
            let subclass = directory.hex("bInterfaceSubClass"),
            let protocolCode = directory.hex("bInterfaceProtocol")
        else { return nil }
        let number = directory.hex("bInterfaceNumber") ?? Self.interfaceNumber(sysname: sysname) ?? 0
        return USBInterface(
            number: UInt8(truncatingIfNeeded: number), classCode: UInt8(truncatingIfNeeded: classCode),
            subclass: UInt8(truncatingIfNeeded: subclass), protocolCode: UInt8(truncatingIfNeeded: protocolCode),
            name: directory.text("interface"))
    }

    /// The interface number in an interface's sysfs name, `1-2:1.3` → 3, readable after the directory is gone.
    static func interfaceNumber(sysname: String) -> UInt32? {
        guard let dot = sysname.lastIndex(of: "."), sysname.contains(":") else { return nil }
        return UInt32(sysname[sysname.index(after: dot)...])
    }

    /// Vendor, product and bcdDevice from the kernel's PRODUCT property, `830/61/100`.
    static func parseProduct(_ product: String) -> (UInt16?, UInt16?, UInt16?) {
        let fields = product.split(separator: "/", omittingEmptySubsequences: false).map { UInt16($0, radix: 16) }
        guard fields.count == 3 else { return (nil, nil, nil) }
        return (fields[0], fields[1], fields[2])
    }
}
