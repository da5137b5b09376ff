// SPDX-License-Identifier: Apache-2.0
/// One interface of a USB device's active configuration (alternate setting 0), as devsync publishes it.
package struct USBInterface: Sendable, Hashable {
    /// bInterfaceNumber.
    package var number: UInt8
    /// bInterfaceClass.
    var classCode: UInt8
    /// bInterfaceSubClass.
    var subclass: UInt8
    /// bInterfaceProtocol.
    var protocolCode: UInt8
    /// The iInterface string, sanitized, where the kernel read one (sysfs `interface`).
    package var name: String?
    /// The driver bound to the interface now (the name its sysfs `driver` link points at), if any.
    package var driver: String? = nil

    /// The lowercase `cc/ss/pp` triple of `usb.interfaces`.
    var triple: String { "\(hex2(classCode))/\(hex2(subclass))/\(hex2(protocolCode))" }
}

/// Two lowercase hex digits.
func hex2(_ byte: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}

/// Parses the raw descriptors a USB device returned, as the kernel keeps them in sysfs `descriptors`.
///
/// Reading this file (or asking libusb, which on Linux reads the same file) never opens the device nor sends it a
/// control transfer: the kernel fetched the descriptors once at enumeration. devsync never opens, claims or
/// talks to a device; it only looks.
package enum USBDescriptorParser {
    /// The interfaces (alternate setting 0) of configuration `configurationValue`, or of the first configuration
    /// if that one is absent, in interface order; nil if the bytes hold no usable configuration.
    ///
    /// The bytes are a device descriptor (18 bytes) followed by each configuration's full descriptor set.
    /// Lengths come from the device and are checked at every step: a short or looping set ends the walk.
    package static func interfaces(descriptors bytes: [UInt8], configurationValue: UInt8?) -> [USBInterface]? {
        guard bytes.count >= 18, bytes[0] == 18, bytes[1] == 1 else { return nil }
        var configurations: [(value: UInt8, interfaces: [USBInterface])] = []
        var offset = 18
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset])
            guard length >= 9, bytes[offset + 1] == 2 else { break }
            let total = Int(bytes[offset + 2]) | Int(bytes[offset + 3]) << 8
            guard total >= length else { break }
            let end = min(offset + total, bytes.count)
            // A header longer than what the device returned after it (bLength past the data) is a short set too.
            guard offset + length <= end else { break }
            let interfaces = interfaces(in: bytes[(offset + length)..<end])
            configurations.append((bytes[offset + 5], interfaces))
            offset = end
        }
        let chosen = configurations.first { $0.value == configurationValue } ?? configurations.first
        return chosen?.interfaces
    }

    /// The interface descriptors (alternate setting 0) in one configuration's descriptor set.
    static func interfaces(in set: ArraySlice<UInt8>) -> [USBInterface] {
        var found: [UInt8: USBInterface] = [:]
        var offset = set.startIndex
        while offset + 2 <= set.endIndex {
            let length = Int(set[offset])
            guard length >= 2, offset + length <= set.endIndex else { break }
            if set[offset + 1] == 4, length >= 9, set[offset + 3] == 0 {
                let number = set[offset + 2]
                if found[number] == nil {
                    found[number] = USBInterface(
                        number: number, classCode: set[offset + 5], subclass: set[offset + 6],
                        protocolCode: set[offset + 7], name: nil)
                }
            }
            offset += length
        }
        return found.values.sorted { $0.number < $1.number }
    }

    /// The triples of udev's `ID_USB_INTERFACES` (`:ffff00:060101:`), as interfaces numbered in list order.
    ///
    /// The last resort: udev's usb_id lists each distinct triple once, so two identical interfaces appear as one.
    package static func interfaces(udevList: String) -> [USBInterface] {
        var interfaces: [USBInterface] = []
        for field in udevList.split(separator: ":") where field.utf8.count == 6 {
            let digits = Array(field.utf8)
            func byte(_ at: Int) -> UInt8? { UInt8(String(decoding: digits[at..<(at + 2)], as: UTF8.self), radix: 16) }
            guard let classCode = byte(0), let subclass = byte(2), let protocolCode = byte(4) else { continue }
            interfaces.append(USBInterface(
                number: UInt8(truncatingIfNeeded: interfaces.count), classCode: classCode, subclass: subclass,
                protocolCode: protocolCode, name: nil))
        }
        return interfaces
    }
}
