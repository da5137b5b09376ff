// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// Everything devsync knows about one attached USB device: the usb_device, its interfaces and its ttys.
package struct USBDeviceRecord: Sendable, Hashable {
    /// The sysfs devpath of the usb_device, the observation's source key.
    package var devpath: String
    var vendorID: UInt16?
    var productID: UInt16?
    var revisionBCD: UInt16?
    var deviceClass: UInt8?
    var deviceSubclass: UInt8?
    var deviceProtocol: UInt8?
    var manufacturer: String?
    var product: String?
    var serial: String?
    var busNumber: UInt32?
    var deviceNumber: UInt32?
    /// Interfaces in bInterfaceNumber order.
    package var interfaces: [USBInterface] = []
    /// The tty nodes below this device, by the tty's devpath.
    package var ttys: [String: String] = [:]
    /// The udev properties of the usb_device (see ``isPublished(udevProperty:)``), published as `udev.<NAME>`.
    var udevProperties: UdevPropertyList = [:]
    /// udev's USEC_INITIALIZED for this instance, to tell a stale remove from a current one.
    var initializedAt: UInt64?
    /// How many interface directories the active configuration will create (bNumInterfaces), when the device
    /// is configured and authorized; nil when none are to be expected.
    var expectedInterfaces: Int?
    /// The interface numbers seen as sysfs directories (the others came from the descriptors).
    var boundInterfaces: Set<UInt8> = []

    /// Whether the kernel is still creating this device's interfaces: fewer directories than bNumInterfaces.
    var isAwaitingInterfaces: Bool {
        guard let expectedInterfaces else { return false }
        return boundInterfaces.count < expectedInterfaces
    }

    /// A record for `devpath` with nothing known yet.
    package init(devpath: String) { self.devpath = devpath }

    /// Whether a udev property is published as `udev.<NAME>`: every one (docs/profiles.md) except the
    /// bookkeeping of one event (`ACTION`, `SEQNUM`, `SYNTH_*`, `DEVPATH_OLD`, `USEC_INITIALIZED`) and `DRIVER`,
    /// which changes when a driver binds, not when the device does; with them every bind and every replayed
    /// event would look like a change of the device.
    static func isPublished(udevProperty name: String) -> Bool {
        switch name {
        case "ACTION", "SEQNUM", "DEVPATH_OLD", "USEC_INITIALIZED", "DRIVER": false
        default: !name.hasPrefix("SYNTH_")
        }
    }

    /// Adds or replaces an interface read from its sysfs directory.
    package mutating func bind(_ interface: USBInterface) {
        merge(interface)
        boundInterfaces.insert(interface.number)
    }

    /// Adds or replaces the interface with the same number, keeping interface order.
    package mutating func merge(_ interface: USBInterface) {
        if let index = interfaces.firstIndex(where: { $0.number == interface.number }) {
            var merged = interface
            if merged.name == nil { merged.name = interfaces[index].name }
            interfaces[index] = merged
        } else {
            interfaces.append(interface)
            interfaces.sort { $0.number < $1.number }
        }
    }

    /// The tty that is the sync port: the last one in port order (a Palm's visor ports are ttyUSB0, the console
    /// port, and ttyUSB1, the HotSync port; a phone's ACM data port comes after its modem port).
    var syncTTY: String? {
        ttys.values.max { lhs, rhs in
            (lhs.count, lhs) < (rhs.count, rhs)  // natural order: ttyUSB9 < ttyUSB10
        }
    }

    /// The observation's properties, in the vocabulary of `PropertyKey`. Absent facts are absent keys.
    package var properties: DeviceProperties {
        var properties = DeviceProperties()
        properties[PropertyKey.infoSubsystem] = .string("usb")
        // docs/profiles.md: the hwdb's curated names first, the device's own strings when the hwdb has none.
        if let vendor = udevProperties["ID_VENDOR_FROM_DATABASE"] ?? manufacturer {
            properties[PropertyKey.infoVendor] = .string(vendor)
        }
        if let name = udevProperties["ID_MODEL_FROM_DATABASE"] ?? product {
            properties[PropertyKey.infoProduct] = .string(name)
        }
        func int<T: BinaryInteger>(_ key: String, _ value: T?) {
            if let value { properties[key] = .int(Int32(truncatingIfNeeded: value)) }
        }
        int(PropertyKey.usbVendorID, vendorID)
        int(PropertyKey.usbProductID, productID)
        int(PropertyKey.usbDeviceRevision, revisionBCD)
        int(PropertyKey.usbDeviceClass, deviceClass)
        int(PropertyKey.usbDeviceSubclass, deviceSubclass)
        int(PropertyKey.usbDeviceProtocol, deviceProtocol)
        int(PropertyKey.usbBusNumber, busNumber)
        int(PropertyKey.usbDeviceNumber, deviceNumber)
        if let serial { properties[PropertyKey.usbSerial] = .string(serial) }
        if let product { properties[PropertyKey.usbProduct] = .string(product) }
        if !interfaces.isEmpty {
            properties[PropertyKey.usbInterfaces] = .strlist(interfaces.map(\.triple))
            let names = interfaces.compactMap(\.name)
            if !names.isEmpty { properties[PropertyKey.usbInterfaceNames] = .strlist(names) }
            var drivers: [String] = []
            for driver in interfaces.compactMap(\.driver) where !drivers.contains(driver) { drivers.append(driver) }
            if !drivers.isEmpty { properties[PropertyKey.sysfsInterfaceDrivers] = .strlist(drivers) }
        }
        if let tty = syncTTY { properties[PropertyKey.serialDevice] = .string(tty) }
        for (name, value) in udevProperties {
            properties[UdevPropertyList.publishedKey(for: name)] = .string(value)
        }
        return properties
    }

    /// The observation of this device.
    package var observation: DeviceObservation {
        DeviceObservation(transport: .usb, sourceKey: devpath, properties: properties)
    }
}
