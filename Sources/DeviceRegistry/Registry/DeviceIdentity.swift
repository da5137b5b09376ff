// SPDX-License-Identifier: Apache-2.0
/// A device's unique id, computed from its merged properties, and whether it will be the same next time.
///
/// The id never contains a port, bus or device number, so the same device plugged into another port keeps it.
/// Formats (`docs/state.md` is the reference):
///
/// - USB with an id value: `usb-VVVV-PPPP-<value>`, VVVV/PPPP the lower-case hex vendor and product ids.
/// - Bluetooth with an id value: `bt-<value>`, normally the address: `bt-00:11:22:33:44:55`.
/// - No id value: `usb-VVVV-PPPP~<hash>` or `bt~<hash>`, `<hash>` the 16 lower-case hex digits of the 64-bit
///   FNV-1a hash of the device's descriptors (see ``descriptorText(transport:properties:)``); unstable.
///
/// The id value is the property named by `sync.unique_id_key`, else `usb.serial`, else `bluetooth.address`
/// (the first that is a non-blank string: one with more than white space and U+FFFD left once
/// `DeviceText.sanitize` has cleaned it). In it, bytes outside `A-Z a-z 0-9 . _ : -` are written `%XX`
/// (upper-case hex of each UTF-8 byte); a value whose escaped form is longer than ``maximumValueLength`` is
/// written `~` and its FNV-1a hash instead. An id is thus at most 160 bytes (plus `-N` for identical devices)
/// of `[A-Za-z0-9._:%~-]`, never starts with `.`, and is safe as a file name; the D-Bus layer escapes it
/// further for object paths. The store's own names use what no id contains (a leading `.`, another directory).
public struct DeviceIdentity: Sendable, Hashable {
    /// The id.
    public var uid: String
    /// Whether the id came from a serial, address or profile-named key rather than a descriptor hash.
    public var isStable: Bool

    /// The longest escaped id value kept in the id; longer values are hashed.
    public static let maximumValueLength = 128

    /// The identity of a device seen through `transport` with these merged properties.
    public init(transport: Transport, properties: DeviceProperties) {
        let prefix =
            switch transport {
            case .usb: "usb-\(Self.hex16(properties.int(PropertyKey.usbVendorID)))-"
                + Self.hex16(properties.int(PropertyKey.usbProductID))
            case .bluetooth: "bt"
            }
        if let value = Self.idValue(properties) {
            let escaped = Self.escape(value)
            let body = escaped.utf8.count <= Self.maximumValueLength ? escaped : "~" + Self.fnv1aHex(value)
            uid = "\(prefix)-\(body)"
            isStable = true
        } else {
            uid = "\(prefix)~\(Self.fnv1aHex(Self.descriptorText(transport: transport, properties: properties)))"
            isStable = false
        }
    }

    /// The longest uid: an escaped value of ``maximumValueLength`` bytes, its prefix, and room for the `-N`
    /// of identical devices.
    public static let maximumLength = 200

    /// Whether `uid` has the shape of an id this type makes: `usb-VVVV-PPPP-…`, `usb-VVVV-PPPP~…`, `bt-…` or
    /// `bt~…`, at most ``maximumLength`` bytes of `[A-Za-z0-9._:%~-]`. Such a name is safe as a file name, and a
    /// name of any other shape (`README`, `.x.tmp`) is not a device's.
    public static func isValid(_ uid: String) -> Bool {
        let bytes = Array(uid.utf8)
        guard bytes.count <= maximumLength else { return false }
        guard bytes.allSatisfy({ isPlain($0) || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "~") }) else {
            return false
        }
        func isSeparator(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "-") || byte == UInt8(ascii: "~") }
        if uid.hasPrefix("bt") {
            return bytes.count > 3 && isSeparator(bytes[2])
        }
        guard uid.hasPrefix("usb-"), bytes.count > 14 else { return false }
        func isHex(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
        }
        return bytes[4..<8].allSatisfy(isHex) && bytes[8] == UInt8(ascii: "-") && bytes[9..<13].allSatisfy(isHex)
            && isSeparator(bytes[13])
    }

    /// `uid` as one D-Bus object path element: ASCII letters and digits stay, every other byte (`_` included)
    /// becomes `_` and two lower-case hex digits, so the mapping is reversible and `/org/devsync/Broker1/devices/`
    /// plus it is always a valid path. `usb-0830-0061-PALM0001` → `usb_2d0830_2d0061_2dPALM0001`.
    public static func objectPathElement(_ uid: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in uid.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "_"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return bytes.isEmpty ? "_" : String(decoding: bytes, as: UTF8.self)
    }

    /// The text hashed for a device without an id value: its descriptors, never its position.
    ///
    /// USB: `usb;vid=VVVV;pid=PPPP;rev=RRRR;class=cc/ss/pp;if=cc/ss/pp,…` (missing numbers as `-`).
    /// Bluetooth: `bt;modalias=…;class=XXXXXX;name=…`.
    public static func descriptorText(transport: Transport, properties: DeviceProperties) -> String {
        func number(_ key: String, digits: Int) -> String {
            properties.int(key).map { hex(UInt32(bitPattern: $0), digits: digits) } ?? "-"
        }
        switch transport {
        case .usb:
            let interfaces = properties.strlist(PropertyKey.usbInterfaces)?.joined(separator: ",") ?? ""
            return "usb;vid=\(number(PropertyKey.usbVendorID, digits: 4));pid=\(number(PropertyKey.usbProductID, digits: 4))"
                + ";rev=\(number(PropertyKey.usbDeviceRevision, digits: 4))"
                + ";class=\(number(PropertyKey.usbDeviceClass, digits: 2))/\(number(PropertyKey.usbDeviceSubclass, digits: 2))"
                + "/\(number(PropertyKey.usbDeviceProtocol, digits: 2));if=\(interfaces)"
        case .bluetooth:
            let modalias = properties.string(PropertyKey.bluetoothModalias) ?? ""
            let name = properties.string(PropertyKey.bluetoothName) ?? ""
            return "bt;modalias=\(modalias);class=\(number(PropertyKey.bluetoothClass, digits: 6));name=\(name)"
        }
    }

    /// The 64-bit FNV-1a hash of the UTF-8 bytes of `text`, as 16 lower-case hex digits.
    ///
    /// FNV-1a is specified byte by byte (offset basis 0xcbf29ce484222325, prime 0x100000001b3), so the value is
    /// the same on every platform and in every release, unlike `Hasher`.
    public static func fnv1aHex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hex(hash, digits: 16)
    }

    private static func idValue(_ properties: DeviceProperties) -> String? {
        var keys = [PropertyKey.usbSerial, PropertyKey.bluetoothAddress]
        if let named = properties.string(PropertyKey.syncUniqueIDKey) { keys.insert(named, at: 0) }
        for key in keys {
            guard let value = properties[key] else { continue }
            let text: String? =
                switch value {
                case .string(let string): string
                case .int, .uint64: value.description
                default: nil
                }
            // Blank after cleaning (spaces, tabs, undecodable bytes) says nothing about the unit: absent.
            if let text, !DeviceText.isBlank(DeviceText.sanitize(text)) { return text }
        }
        return nil
    }

    private static func escape(_ value: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in value.utf8 {
            if isPlain(byte) {
                bytes.append(byte)
            } else {
                bytes += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }

    private static func hex16(_ value: Int32?) -> String {
        hex(UInt32(bitPattern: value ?? 0) & 0xFFFF, digits: 4)
    }

    private static func hex<Value: BinaryInteger>(_ value: Value, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
