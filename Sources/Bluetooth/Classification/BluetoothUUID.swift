// SPDX-License-Identifier: Apache-2.0
/// A Bluetooth UUID in its one canonical text form: lowercase, 128-bit, dashed.
///
/// Devices and BlueZ spell service UUIDs as 16-bit (`0x1104`, `1104`), 32-bit (`0x00001104`) or 128-bit
/// values; the short forms are aliases inside the Bluetooth base UUID `0000xxxx-0000-1000-8000-00805f9b34fb`.
/// Normalising them once lets profiles and the sync classifier compare strings.
public struct BluetoothUUID: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// The high 64 bits.
    public let high: UInt64
    /// The low 64 bits.
    public let low: UInt64

    /// The low 64 bits of the Bluetooth base UUID, `-8000-00805f9b34fb`.
    static let baseLow: UInt64 = 0x8000_0080_5F9B_34FB
    /// The fixed part of the high 64 bits of the base UUID, `-0000-1000`.
    static let baseHighTail: UInt64 = 0x0000_1000

    /// The UUID with these 128 bits.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The 128-bit UUID for a 16- or 32-bit alias.
    public init(alias: UInt32) {
        self.init(high: UInt64(alias) << 32 | Self.baseHighTail, low: Self.baseLow)
    }

    /// The UUID with these 16 bytes in network order, as SDP sends a 128-bit UUID.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let all = Array(bytes)
        high = all[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = all[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Parses `0x1104`, `1104`, `0x00001104`, `00001104`, or a 128-bit UUID with or without dashes, in any case;
    /// nil for anything else.
    public init?(_ description: String) {
        var text = Substring(description)
        if text.hasPrefix("0x") || text.hasPrefix("0X") { text = text.dropFirst(2) }
        let hexDigits = text.utf8.filter { $0 != UInt8(ascii: "-") }
        guard hexDigits.allSatisfy({ Self.hexValue($0) != nil }) else { return nil }
        switch text.utf8.count {
        case 4, 8:
            guard hexDigits.count == text.utf8.count, let alias = UInt32(text, radix: 16) else { return nil }
            self.init(alias: alias)
        case 32 where hexDigits.count == 32, 36 where Self.isDashed(text):
            let nibbles = hexDigits.map { UInt64(Self.hexValue($0)!) }
            self.init(high: nibbles[0..<16].reduce(0) { $0 << 4 | $1 }, low: nibbles[16..<32].reduce(0) { $0 << 4 | $1 })
        default:
            return nil
        }
    }

    /// The 16- or 32-bit alias, when this UUID lies inside the Bluetooth base UUID.
    public var alias: UInt32? {
        guard low == Self.baseLow, high & 0xFFFF_FFFF == Self.baseHighTail else { return nil }
        return UInt32(high >> 32)
    }

    /// `0000110x-0000-1000-8000-00805f9b34fb`: lowercase, dashed, 36 characters.
    public var description: String {
        let hex = Self.hex(high, digits: 16) + Self.hex(low, digits: 16)
        let utf8 = Array(hex.utf8)
        let groups = [utf8[0..<8], utf8[8..<12], utf8[12..<16], utf8[16..<20], utf8[20..<32]]
        return groups.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "-")
    }

    /// Normalises any accepted spelling to the lowercase 128-bit form, or nil when `text` is no UUID.
    public static func normalize(_ text: String) -> String? { BluetoothUUID(text)?.description }

    public static func < (lhs: BluetoothUUID, rhs: BluetoothUUID) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    private static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: digits - text.count) + text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func isDashed(_ text: Substring) -> Bool {
        let dashes = text.utf8.enumerated().filter { $0.element == UInt8(ascii: "-") }.map(\.offset)
        return dashes == [8, 13, 18, 23]
    }
}

extension BluetoothUUID {
    /// IrMC Sync (0x1104).
    public static let irmcSync = BluetoothUUID(alias: 0x1104)
    /// OBEX Object Push (0x1105).
    public static let obexObjectPush = BluetoothUUID(alias: 0x1105)
    /// OBEX File Transfer (0x1106).
    public static let obexFileTransfer = BluetoothUUID(alias: 0x1106)
    /// Phonebook Access, server side (PBAP PSE, 0x112F).
    public static let phonebookAccessServer = BluetoothUUID(alias: 0x112F)
    /// Message Access Server (MAP MAS, 0x1132).
    public static let messageAccessServer = BluetoothUUID(alias: 0x1132)
    /// SyncML client, `00000002-0000-1000-8000-0002ee000002`: a vendor UUID outside the base UUID.
    public static let syncMLClient = BluetoothUUID(high: 0x0000_0002_0000_1000, low: 0x8000_0002_EE00_0002)
    /// SyncML server, `00000001-0000-1000-8000-0002ee000002`.
    public static let syncMLServer = BluetoothUUID(high: 0x0000_0001_0000_1000, low: 0x8000_0002_EE00_0002)
    /// The L2CAP protocol (0x0100).
    public static let l2cap = BluetoothUUID(alias: 0x0100)
    /// The RFCOMM protocol (0x0003).
    public static let rfcomm = BluetoothUUID(alias: 0x0003)
    /// The OBEX protocol (0x0008).
    public static let obex = BluetoothUUID(alias: 0x0008)
    /// The public browse group (0x1002): the root every browsable record hangs from.
    public static let publicBrowseGroup = BluetoothUUID(alias: 0x1002)
}
