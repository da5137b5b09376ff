import CUmockdev
import Foundation

/// A umockdev testbed: a fake /sys in a temp dir that the preload library shows devsyncd (started with the same
/// UMOCKDEV_DIR) as the real one, plus synthetic uevents on the "udev" netlink source. A copy of UdevMonitorTests'
/// testbed, without its pacing gate: a few uevents at a time stay below umockdev's socket queue. UMOCKDEV_DIR is process-global, so one at a time.
///
/// `close()` it at the end of the test, before the next begins: finalizing a testbed unsets UMOCKDEV_DIR, and a
/// testbed released late by the test runner would pull the next test's sysfs away.
final class Testbed: @unchecked Sendable {
    // @unchecked Sendable: used by one test at a time (the suite is serialized), from the test's task only.
    private let pointer: UnsafeMutablePointer<UMockdevTestbed>
    private var closed = false

    /// Whether libumockdev-preload is loaded into this process; without it a testbed is invisible to libudev.
    static var preloadActive: Bool {
        ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("libumockdev-preload") ?? false
    }

    init() { pointer = umockdev_testbed_new() }

    deinit { close() }

    /// Removes the testbed's directory and unsets UMOCKDEV_DIR.
    func close() {
        guard !closed else { return }
        closed = true
        g_object_unref(pointer)
    }

    /// Adds a device directory and sends its "add" uevent at once, as the kernel does (before any child exists);
    /// returns its syspath (`/sys/devices/…`).
    @discardableResult
    func addDevice(
        subsystem: String, name: String, parent: String?, attributes: [(String, String)] = [],
        properties: [(String, String)] = []
    ) -> String {
        func flattened(_ pairs: [(String, String)]) -> [UnsafeMutablePointer<CChar>?] {
            pairs.flatMap { [strdup($0.0), strdup($0.1)] } + [nil]
        }
        var attributeList = flattened(attributes)
        var propertyList = flattened(properties)
        defer { (attributeList + propertyList).forEach { free($0) } }
        let path = attributeList.withUnsafeMutableBufferPointer { attributePointer in
            propertyList.withUnsafeMutableBufferPointer { propertyPointer in
                umockdev_testbed_add_devicev(pointer, subsystem, name, parent, attributePointer.baseAddress, propertyPointer.baseAddress)
            }
        }
        guard let path else { fatalError("umockdev could not add \(subsystem) device \(name)") }
        defer { g_free(path) }
        return String(cString: path)
    }

    /// Writes an attribute's raw bytes (invalid UTF-8, NULs and all).
    func setAttribute(_ syspath: String, _ name: String, bytes: [UInt8]) {
        var bytes = bytes
        bytes.withUnsafeMutableBufferPointer { buffer in
            umockdev_testbed_set_attribute_binary(pointer, syspath, name, buffer.baseAddress, Int32(buffer.count))
        }
    }

    /// Writes a text attribute.
    func setAttribute(_ syspath: String, _ name: String, _ value: String) {
        umockdev_testbed_set_attribute(pointer, syspath, name, value)
    }

    /// Sends a uevent for the device, with its current properties, as udev would after its rules.
    func uevent(_ syspath: String, _ action: String) {
        umockdev_testbed_uevent(pointer, syspath, action)
    }

    /// Removes the device's directory (and everything below it).
    func remove(_ syspath: String) { umockdev_testbed_remove_device(pointer, syspath) }

    /// The host controller the fixtures hang below, so devpaths look like the real ones.
    lazy var hostController: String = addDevice(subsystem: "pci", name: "0000:00:14.0", parent: nil)
}

/// A USB device to put into a testbed, with the attributes the kernel gives a real one.
struct USBFixture {
    struct Interface {
        var classCode: UInt8
        var subclass: UInt8
        var protocolCode: UInt8
        var name: String? = nil
        /// usb-serial ports (`ttyUSB1`) bound to this interface.
        var ttys: [String] = []
    }

    var port: String
    var vendorID: UInt16
    var productID: UInt16
    var revision: UInt16 = 0x0100
    var deviceClass: UInt8 = 0
    var manufacturer: String? = nil
    var product: String? = nil
    var serial: String? = nil
    var interfaces: [Interface] = []
    var udev: [(String, String)] = []

    var busNumber: Int { Int(port.split(separator: "-").first ?? "1") ?? 1 }
    var deviceNumber: Int { port.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 120 } + 2 }

    static func hex(_ value: some BinaryInteger, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// The sysfs paths of one plugged fixture, in the order the kernel announces them.
struct PluggedDevice {
    var device: String
    var interfaces: [String]
    var ttys: [String]
    /// The devpath (`/devices/…`), the observation's source key.
    var devpath: String { String(device.dropFirst("/sys".count)) }
}

extension Testbed {
    /// Plugs the fixture: creates the device, its interfaces, usb-serial ports and ttys, each announced by its
    /// own add uevent in that (the kernel's) order.
    @discardableResult
    func plug(_ fixture: USBFixture, ttys includeTTYs: Bool = true) -> PluggedDevice {
        var attributes: [(String, String)] = [
            ("idVendor", USBFixture.hex(fixture.vendorID, width: 4)),
            ("idProduct", USBFixture.hex(fixture.productID, width: 4)),
            ("bcdDevice", USBFixture.hex(fixture.revision, width: 4)),
            ("bDeviceClass", USBFixture.hex(fixture.deviceClass, width: 2)),
            ("bDeviceSubClass", "00"), ("bDeviceProtocol", "00"),
            ("bNumInterfaces", " \(fixture.interfaces.count)"), ("bConfigurationValue", "1"),
            ("busnum", "\(fixture.busNumber)"), ("devnum", "\(fixture.deviceNumber)"),
        ]
        if let manufacturer = fixture.manufacturer { attributes.append(("manufacturer", manufacturer)) }
        if let product = fixture.product { attributes.append(("product", product)) }
        if let serial = fixture.serial { attributes.append(("serial", serial)) }
        let product = "\(String(fixture.vendorID, radix: 16))/\(String(fixture.productID, radix: 16))/\(String(fixture.revision, radix: 16))"
        let device = addDevice(
            subsystem: "usb", name: fixture.port, parent: hostController, attributes: attributes,
            properties: [("DEVTYPE", "usb_device"), ("PRODUCT", product), ("TYPE", "\(fixture.deviceClass)/0/0"),
                         ("BUSNUM", USBFixture.hex(fixture.busNumber, width: 3)),
                         ("DEVNUM", USBFixture.hex(fixture.deviceNumber, width: 3))] + fixture.udev)
        var plugged = PluggedDevice(device: device, interfaces: [], ttys: [])
        for (number, interface) in fixture.interfaces.enumerated() {
            var interfaceAttributes: [(String, String)] = [
                ("bInterfaceNumber", USBFixture.hex(number, width: 2)), ("bAlternateSetting", " 0"),
                ("bInterfaceClass", USBFixture.hex(interface.classCode, width: 2)),
                ("bInterfaceSubClass", USBFixture.hex(interface.subclass, width: 2)),
                ("bInterfaceProtocol", USBFixture.hex(interface.protocolCode, width: 2)),
            ]
            if let name = interface.name { interfaceAttributes.append(("interface", name)) }
            let path = addDevice(
                subsystem: "usb", name: "\(fixture.port):1.\(number)", parent: device, attributes: interfaceAttributes,
                properties: [("DEVTYPE", "usb_interface"), ("PRODUCT", product),
                             ("INTERFACE", "\(interface.classCode)/\(interface.subclass)/\(interface.protocolCode)")])
            plugged.interfaces.append(path)
            if includeTTYs { plugged.ttys += addTTYs(interface.ttys, below: path) }
        }
        return plugged
    }

    /// Binds usb-serial ports below an interface, as a driver does: `<if>/ttyUSB1/tty/ttyUSB1`.
    func addTTYs(_ names: [String], below interface: String) -> [String] {
        names.map { name in
            let port = addDevice(subsystem: "usb-serial", name: name, parent: interface)
            return addDevice(subsystem: "tty", name: name, parent: port, properties: [("DEVNAME", "/dev/\(name)")])
        }
    }

    /// Sends `action` for the device and each of its interfaces and ttys, in kernel order.
    func resend(_ plugged: PluggedDevice, _ action: String) {
        uevent(plugged.device, action)
        plugged.interfaces.forEach { uevent($0, action) }
        plugged.ttys.forEach { uevent($0, action) }
    }

    /// Sends the remove uevents in kernel order (children first), then deletes the directories.
    func unplug(_ plugged: PluggedDevice) {
        plugged.ttys.forEach { uevent($0, "remove") }
        plugged.interfaces.forEach { uevent($0, "remove") }
        uevent(plugged.device, "remove")
        remove(plugged.device)
    }
}

/// The devices the scenarios plug, with the descriptors the real ones report (as in UdevMonitorTests).
extension USBFixture {
    /// A Palm Tungsten on the visor driver: HotSync is the second port, ttyUSB1.
    static func palm(port: String = "1-2") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x0830, productID: 0x0061, manufacturer: "Palm, Inc.", product: "Palm Handheld",
            serial: "PalmSN12345678",
            interfaces: [Interface(classCode: 0xff, subclass: 0, protocolCode: 0, ttys: ["ttyUSB0", "ttyUSB1"])])
    }

    /// A media player speaking MTP, as libmtp's rules mark it.
    static func mtpPlayer(port: String = "1-4") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x0781, productID: 0x74d0, manufacturer: "SanDisk", product: "Sansa Clip+",
            serial: "C0FFEE42",
            interfaces: [Interface(classCode: 0x06, subclass: 0x01, protocolCode: 0x01, name: "MTP")],
            udev: [("ID_MTP_DEVICE", "1"), ("ID_MEDIA_PLAYER", "1")])
    }

    /// A vendor-specific gadget no shipped profile knows: only an administrator's rule makes it a sync device.
    static func gadget(port: String = "1-5") -> USBFixture {
        USBFixture(
            port: port, vendorID: 0x1d6b, productID: 0x7777, manufacturer: "Acme", product: "Sync Gadget",
            serial: "GADGET01", interfaces: [Interface(classCode: 0xff, subclass: 0, protocolCode: 0)])
    }
}
