// SPDX-License-Identifier: Apache-2.0
/// One SDP data element (Bluetooth Core, Vol 3 Part B, 3): the typed values service records are made of.
public indirect enum SDPDataElement: Sendable, Hashable {
    /// The nil type.
    case null
    /// An unsigned integer of 1, 2, 4 or 8 bytes.
    case unsigned(UInt64)
    /// A signed integer of 1, 2, 4 or 8 bytes.
    case signed(Int64)
    /// A 16-byte integer, signed or not, as its big-endian bytes.
    case wideInteger([UInt8])
    /// A UUID of any size, widened to 128 bits.
    case uuid(BluetoothUUID)
    /// A text string; invalid UTF-8 is repaired, nothing else is changed (sanitize before publishing).
    case text(String)
    /// A URL string.
    case url(String)
    /// A boolean.
    case bool(Bool)
    /// A data element sequence.
    case sequence([SDPDataElement])
    /// A data element alternative: one of the elements is meant.
    case alternative([SDPDataElement])

    /// The integer value, if this is an integer that fits.
    public var integer: Int? {
        switch self {
        case .unsigned(let value): Int(exactly: value)
        case .signed(let value): Int(value)
        default: nil
        }
    }

    /// The UUID, if this is one.
    public var uuidValue: BluetoothUUID? {
        if case .uuid(let value) = self { return value }
        return nil
    }

    /// The text, if this is a text string.
    public var textValue: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// The elements of a sequence or alternative, else nil.
    public var elements: [SDPDataElement]? {
        switch self {
        case .sequence(let elements), .alternative(let elements): elements
        default: nil
        }
    }
}
