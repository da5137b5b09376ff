// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import UdevMonitor

/// A USB device as udev reports it and sysfs shows it: every string here but the kernel's own numbers came from
/// the device (its descriptors, serial, names), unauthenticated, the moment it is plugged in.
///
/// An input is three parts separated by a line `--`: the uevent's properties (`KEY=value` lines), the sysfs
/// attributes of the usb_device (`name=value` lines; `idVendor=0830`, `serial=…`, `bConfigurationValue=1`), and
/// the raw bytes of its `descriptors` attribute. The device's properties, its uid and its object path must be
/// clean whatever they hold.
enum UeventFuzzing {
    static let separator: [UInt8] = Array("\n--\n".utf8)

    static func run(_ bytes: [UInt8]) -> String? {
        let parts = split(bytes)
        var properties: [String: String] = [:]
        for line in parts[0].split(separator: UInt8(ascii: "\n")) {
            // libudev hands out C strings: nothing after a NUL reaches the daemon.
            let (key, value) = keyValue(Array(line.prefix { $0 != 0 }))
            properties[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        var attributes: [String: [UInt8]] = [:]
        for line in parts[1].split(separator: UInt8(ascii: "\n")) {
            let (name, value) = keyValue(Array(line))
            attributes[String(decoding: name, as: UTF8.self)] = value
        }
        let devpath = properties["DEVPATH"] ?? "/devices/pci0000:00/0000:00:14.0/usb1/1-2"
        let device = UdevDevice(
            action: properties["ACTION"], devpath: devpath, syspath: "/sys" + devpath, subsystem: "usb",
            devtype: properties["DEVTYPE"], devnode: properties["DEVNAME"], seqnum: 1, properties: properties)
        _ = device.isUSBDevice
        _ = device.isUSBInterface
        _ = USBDeviceReader.interfaceNumber(sysname: device.sysname)
        _ = USBDeviceReader.ueventValue("INTERFACE", in: parts[0])
        _ = properties["INTERFACE"].map { USBDeviceReader.fields($0, radix: 10) }

        var record = USBDeviceReader.record(of: device) { name, limit in attributes[name].map { Array($0.prefix(limit)) } }
        // Interfaces as readDevice completes them: the configuration descriptor first, udev's list last.
        let configuration = attributes["bConfigurationValue"]
            .flatMap { UInt32(String(decoding: $0, as: UTF8.self)) }.map { UInt8(truncatingIfNeeded: $0) }
        let described = USBDescriptorParser.interfaces(descriptors: parts[2], configurationValue: configuration) ?? []
        for interface in described { record.merge(interface) }
        if record.interfaces.isEmpty, let list = properties["ID_USB_INTERFACES"] {
            for interface in USBDescriptorParser.interfaces(udevList: list) { record.merge(interface) }
        }
        if let tty = attributes["tty"] {
            record.ttys[devpath + "/tty"] = "/dev/" + String(decoding: tty, as: UTF8.self)
        }

        let observation = record.observation
        for (key, value) in observation.properties.dictionary {
            if let broken = check(key, value) { return broken }
        }
        let identity = DeviceIdentity(transport: .usb, properties: observation.properties)
        guard DeviceIdentity.isValid(identity.uid) else { return "the uid \(identity.uid) is not a valid uid" }
        let element = DeviceIdentity.objectPathElement(identity.uid)
        guard !element.isEmpty, element.utf8.allSatisfy(isPathByte) else {
            return "the object path element \(element) of \(identity.uid) is not valid in an object path"
        }
        return nil
    }

    /// Whether a published value is safe: a string or list element has no control character and is bounded.
    static func check(_ key: String, _ value: PropertyValue) -> String? {
        switch value {
        case .string(let text) where !DeviceText.isClean(text):
            return "\(key) is published unclean: \(text.debugDescription)"
        case .strlist(let list):
            if list.count > DeviceText.maximumListCount { return "\(key) has \(list.count) elements" }
            if let text = list.first(where: { !DeviceText.isClean($0) }) {
                return "an element of \(key) is published unclean: \(text.debugDescription)"
            }
            return nil
        default:
            return nil
        }
    }

    static func isPathByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// The three parts of an input; missing parts are empty.
    static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var rest = bytes[...]
        while parts.count < 2, let range = firstRange(of: separator, in: rest) {
            parts.append(Array(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(Array(rest))
        while parts.count < 3 { parts.append([]) }
        return parts
    }

    static func firstRange(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        var start = haystack.startIndex
        while start + needle.count <= haystack.endIndex {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start..<(start + needle.count) }
            start += 1
        }
        return nil
    }

    /// `KEY=value` split at the first `=`; a line without one is a key with an empty value.
    static func keyValue(_ line: [UInt8]) -> ([UInt8], [UInt8]) {
        guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { return (line, []) }
        return (Array(line[..<equals]), Array(line[(equals + 1)...]))
    }
}
