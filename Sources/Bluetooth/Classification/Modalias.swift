// SPDX-License-Identifier: Apache-2.0
/// A Device ID modalias as BlueZ publishes it in `Modalias`: `bluetooth:v000Fp1200d1436` or `usb:v1D6Bp0246d0542`.
///
/// The prefix says who assigned the vendor id: the Bluetooth SIG (company identifiers) or the USB-IF.
public struct BluetoothModalias: Sendable, Hashable, CustomStringConvertible {
    /// Who assigned a vendor id.
    public enum Source: String, Sendable, Hashable, CaseIterable {
        /// A Bluetooth SIG company identifier.
        case bluetooth
        /// A USB-IF vendor id.
        case usb
    }

    /// Who assigned ``vendor``.
    public var source: Source
    /// The vendor id.
    public var vendor: UInt16
    /// The product id.
    public var product: UInt16
    /// The product version (often BCD).
    public var version: UInt16

    /// A modalias with these fields.
    public init(source: Source, vendor: UInt16, product: UInt16, version: UInt16) {
        self.source = source
        self.vendor = vendor
        self.product = product
        self.version = version
    }

    /// Parses `<source>:vXXXXpXXXXdXXXX` (hex in either case), or nil for anything else.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), let source = Source(rawValue: String(text[..<colon])) else {
            return nil
        }
        let fields = Array(text[text.index(after: colon)...].utf8)
        guard fields.count == 15 else { return nil }
        func field(_ letter: Character, at offset: Int) -> UInt16? {
            guard fields[offset] == letter.asciiValue! || fields[offset] == Character(letter.uppercased()).asciiValue!
            else { return nil }
            let digits = fields[(offset + 1)..<(offset + 5)]
            guard digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else { return nil }
            return UInt16(String(decoding: digits, as: UTF8.self), radix: 16)
        }
        guard let vendor = field("v", at: 0), let product = field("p", at: 5), let version = field("d", at: 10) else {
            return nil
        }
        self.init(source: source, vendor: vendor, product: product, version: version)
    }

    /// The canonical text, upper-case hex: `bluetooth:v000Fp1200d1436`.
    public var description: String {
        func hex(_ value: UInt16) -> String {
            let text = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - text.count) + text
        }
        return "\(source.rawValue):v\(hex(vendor))p\(hex(product))d\(hex(version))"
    }

    /// The vendor's name when devsync's short table knows the id, for `info.vendor`.
    public var vendorName: String? { VendorNames.name(source: source, vendor: vendor) }
}
