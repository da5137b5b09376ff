// SPDX-License-Identifier: Apache-2.0
import CBluetooth
import DeviceRegistry

/// A Bluetooth device address (BD_ADDR), validated and formatted by libbluetooth.
///
/// The text form is always normalised to upper case, `00:1A:7D:DA:71:13`, whatever case it was given in, so
/// that `bluetooth.address` compares equal however BlueZ or a profile spelled it.
public struct BluetoothAddress: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    /// The 48-bit address, most significant byte first as it is written.
    public let value: UInt64

    /// Parses `XX:XX:XX:XX:XX:XX` in either case, or throws naming the text.
    public init(parsing text: String) throws(BluetoothAddressError) {
        value = CheckedAddressCalls.value(of: try CheckedAddressCalls.parse(text))
    }

    /// Parses `XX:XX:XX:XX:XX:XX` in either case, or nil.
    public init?(_ description: String) {
        guard let address = try? BluetoothAddress(parsing: description) else { return nil }
        self = address
    }

    /// The address with these six bytes, in the order they are written.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The six bytes in the order they are written.
    public var bytes: [UInt8] {
        (0..<6).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// The normalised text form, upper-case `XX:XX:XX:XX:XX:XX`, as `ba2str` writes it.
    public var description: String { CheckedAddressCalls.format(CheckedAddressCalls.address(of: value)) }

    /// Whether `text` is a well-formed address (`bachk`).
    public static func isValid(_ text: String) -> Bool { (try? CheckedAddressCalls.parse(text)) != nil }

    /// `00:00:00:00:00:00`, libbluetooth's `BDADDR_ANY`: "any local adapter" as a source.
    public static let any = BluetoothAddress(uncheckedValue: 0)

    public static func < (lhs: BluetoothAddress, rhs: BluetoothAddress) -> Bool { lhs.value < rhs.value }

    init(uncheckedValue: UInt64) { value = uncheckedValue & 0xFFFF_FFFF_FFFF }

    var cValue: bdaddr_t { CheckedAddressCalls.address(of: value) }
}

/// Text that is not a Bluetooth address.
public struct BluetoothAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text that was given, as given.
    public var text: String

    /// An error for `text`.
    public init(text: String) { self.text = text }

    public var description: String {
        "'\(DeviceText.sanitize(String(text.prefix(40))))' is not a Bluetooth address (expected XX:XX:XX:XX:XX:XX)"
    }
}
