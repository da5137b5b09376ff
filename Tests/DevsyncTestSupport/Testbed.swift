// SPDX-License-Identifier: Apache-2.0
import CUmockdev
import Foundation

/// A umockdev testbed: a fake /sys in a temp dir that the preload library shows this process as the real one,
/// plus synthetic uevents on the "udev" netlink source. A child started with the same UMOCKDEV_DIR (devsyncd in
/// EndToEndTests) sees it too. UMOCKDEV_DIR is process-global, so one at a time.
///
/// `close()` it at the end of the test, before the next begins: finalizing a testbed unsets UMOCKDEV_DIR, and a
/// testbed released late by the test runner would pull the next test's sysfs away.
public final class Testbed: @unchecked Sendable {
    // @unchecked Sendable: used by one test at a time (the suite is serialized), from the test's task or, in
    // the enumeration-window tests, from the source's queue while the test task waits in `start()`.
    private let pointer: UnsafeMutablePointer<UMockdevTestbed>
    private var closed = false

    /// Whether libumockdev-preload is loaded into this process; without it a testbed is invisible to libudev.
    public static var preloadActive: Bool {
        ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("libumockdev-preload") ?? false
    }

    /// A testbed with an empty /sys; sets UMOCKDEV_DIR.
    public init() { pointer = umockdev_testbed_new() }

    deinit { close() }

    /// Removes the testbed's directory and unsets UMOCKDEV_DIR.
    public func close() {
        guard !closed else { return }
        closed = true
        g_object_unref(pointer)
    }

    /// Adds a device directory and sends its "add" uevent at once, as the kernel does (before any child exists);
    /// returns its syspath (`/sys/devices/…`).
    @discardableResult
    public func addDevice(
        subsystem: String, name: String, parent: String?, attributes: [(String, String)] = [],
        properties: [(String, String)] = []
    ) -> String {
        // Only usb and tty uevents pass the source's filter and are read, so only those count against the gate.
        if subsystem == "usb" || subsystem == "tty" { gate?.willSend() }
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
    public func setAttribute(_ syspath: String, _ name: String, bytes: [UInt8]) {
        var bytes = bytes
        bytes.withUnsafeMutableBufferPointer { buffer in
            umockdev_testbed_set_attribute_binary(pointer, syspath, name, buffer.baseAddress, Int32(buffer.count))
        }
    }

    /// Writes a text attribute.
    public func setAttribute(_ syspath: String, _ name: String, _ value: String) {
        umockdev_testbed_set_attribute(pointer, syspath, name, value)
    }

    /// Paces `uevent` so that umockdev's sender never finds the socket full (see ``UeventGate``); nil sends at once,
    /// which is safe for a few uevents at a time.
    public var gate: UeventGate?

    /// Sends a uevent for the device, with its current properties, as udev would after its rules.
    public func uevent(_ syspath: String, _ action: String) {
        gate?.willSend()
        umockdev_testbed_uevent(pointer, syspath, action)
    }

    /// Removes the device's directory (and everything below it).
    public func remove(_ syspath: String) { umockdev_testbed_remove_device(pointer, syspath) }

    /// The host controller the fixtures hang below, so devpaths look like the real ones.
    public lazy var hostController: String = addDevice(subsystem: "pci", name: "0000:00:14.0", parent: nil)
}

/// A USB device to put into a testbed, with the attributes the kernel gives a real one.
public struct USBFixture {
    /// One interface of the fixture's first configuration.
    public struct Interface {
        /// bInterfaceClass.
        public var classCode: UInt8
        /// bInterfaceSubClass.
        public var subclass: UInt8
        /// bInterfaceProtocol.
        public var protocolCode: UInt8
        /// The `interface` string, if the device gives one.
        public var name: String?
        /// usb-serial ports (`ttyUSB1`) bound to this interface.
        public var ttys: [String]

        /// An interface with the given descriptor fields.
        public init(classCode: UInt8, subclass: UInt8, protocolCode: UInt8, name: String? = nil, ttys: [String] = []) {
            self.classCode = classCode
            self.subclass = subclass
            self.protocolCode = protocolCode
            self.name = name
            self.ttys = ttys
        }
    }

    /// The port path (`1-2`), which is also the device's sysfs name.
    public var port: String
    /// idVendor.
    public var vendorID: UInt16
    /// idProduct.
    public var productID: UInt16
    /// bcdDevice.
    public var revision: UInt16
    /// bDeviceClass.
    public var deviceClass: UInt8
    /// The manufacturer string, if any.
    public var manufacturer: String?
    /// The product string, if any.
    public var product: String?
    /// The serial string, if any.
    public var serial: String?
    /// The interfaces, numbered in order.
    public var interfaces: [Interface]
    /// Properties udev's rules and hwdb would add.
    public var udev: [(String, String)]

    /// A fixture with the given descriptors.
    public init(
        port: String, vendorID: UInt16, productID: UInt16, revision: UInt16 = 0x0100, deviceClass: UInt8 = 0,
        manufacturer: String? = nil, product: String? = nil, serial: String? = nil, interfaces: [Interface] = [],
        udev: [(String, String)] = []
    ) {
        self.port = port
        self.vendorID = vendorID
        self.productID = productID
        self.revision = revision
        self.deviceClass = deviceClass
        self.manufacturer = manufacturer
        self.product = product
        self.serial = serial
        self.interfaces = interfaces
        self.udev = udev
    }

    /// The bus number, from the port path.
    public var busNumber: Int { Int(port.split(separator: "-").first ?? "1") ?? 1 }
    /// A device number derived from the port, stable across runs.
    public var deviceNumber: Int { port.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 120 } + 2 }

    /// `value` in lower-case hex, zero-padded to `width`.
    public static func hex(_ value: some BinaryInteger, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// The sysfs paths of one plugged fixture, in the order the kernel announces them.
public struct PluggedDevice: Sendable {
    /// The device's syspath.
    public var device: String
    /// The interfaces' syspaths.
    public var interfaces: [String]
    /// The ttys' syspaths.
    public var ttys: [String]
    /// The devpath (`/devices/…`), the observation's source key.
    public var devpath: String { String(device.dropFirst("/sys".count)) }
}

extension Testbed {
    /// Plugs the fixture: creates the device, its interfaces, usb-serial ports and ttys, each announced by its
    /// own add uevent in that (the kernel's) order.
    @discardableResult
    public func plug(_ fixture: USBFixture, ttys includeTTYs: Bool = true) -> PluggedDevice {
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
    public func addTTYs(_ names: [String], below interface: String) -> [String] {
        names.map { name in
            let port = addDevice(subsystem: "usb-serial", name: name, parent: interface)
            return addDevice(subsystem: "tty", name: name, parent: port, properties: [("DEVNAME", "/dev/\(name)")])
        }
    }

    /// Sends `action` for the device and each of its interfaces and ttys, in kernel order.
    public func resend(_ plugged: PluggedDevice, _ action: String) {
        uevent(plugged.device, action)
        plugged.interfaces.forEach { uevent($0, action) }
        plugged.ttys.forEach { uevent($0, action) }
    }

    /// Sends the remove uevents in kernel order (children first), then deletes the directories.
    public func unplug(_ plugged: PluggedDevice) {
        plugged.ttys.forEach { uevent($0, "remove") }
        plugged.interfaces.forEach { uevent($0, "remove") }
        uevent(plugged.device, "remove")
        remove(plugged.device)
    }
}

/// Keeps the uevents in flight below the socket's queue limit.
///
/// umockdev delivers uevents over a unix datagram socket, whose queue holds `net.unix.max_dgram_qlen` (10 by
/// default) messages, and aborts the process when a send would block. The kernel's netlink socket has a byte
/// budget instead. So the test driver waits, before each send, until the source has read all but a few.
public final class UeventGate: @unchecked Sendable {
    // @unchecked Sendable: both counters are guarded by `condition`.
    private let condition = NSCondition()
    private var sent = 0
    private var received = 0
    /// The most uevents sent and not yet read.
    public let window: Int

    /// A gate that lets `window` uevents be in flight.
    public init(window: Int = 8) { self.window = window }

    /// Called by the source (on its queue) after reading `count` uevents.
    public func didReceive(_ count: Int) {
        condition.lock()
        received += count
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until the source has caught up enough for one more uevent.
    public func willSend() {
        condition.lock()
        let deadline = Date().addingTimeInterval(30)
        while sent - received >= window, condition.wait(until: deadline) {}
        sent += 1
        condition.unlock()
    }
}
