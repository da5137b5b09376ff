// SPDX-License-Identifier: Apache-2.0
/// The type of one D-Bus value, as one single complete type of a signature describes it.
public indirect enum DBusType: Hashable, Sendable, CustomStringConvertible {
    /// `y`
    case byte
    /// `b`
    case boolean
    /// `n`
    case int16
    /// `q`
    case uint16
    /// `i`
    case int32
    /// `u`
    case uint32
    /// `x`
    case int64
    /// `t`
    case uint64
    /// `d`
    case double
    /// `s`
    case string
    /// `o`
    case objectPath
    /// `g`
    case signature
    /// `h`
    case unixFD
    /// `aT`: an array whose elements all have the given type.
    case array(DBusType)
    /// `a{KV}`: a dictionary; the key is a basic type.
    case dictionary(key: DBusType, value: DBusType)
    /// `(…)`: a structure with at least one field.
    case structure([DBusType])
    /// `v`: a value that carries its own type.
    case variant

    /// The type's signature text, such as `a{sv}`.
    public var signature: String {
        switch self {
        case .byte: "y"
        case .boolean: "b"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .unixFD: "h"
        case .array(let element): "a" + element.signature
        case .dictionary(let key, let value): "a{" + key.signature + value.signature + "}"
        case .structure(let fields): "(" + fields.map(\.signature).joined() + ")"
        case .variant: "v"
        }
    }

    /// The signature text.
    public var description: String { signature }

    /// Whether the type is basic (allowed as a dictionary key).
    public var isBasic: Bool {
        switch self {
        case .array, .dictionary, .structure, .variant: false
        default: true
        }
    }

    /// The type code libdbus uses for the outermost part of this type.
    var code: Int32 {
        switch self {
        case .array, .dictionary: Int32(UInt8(ascii: "a"))
        case .structure: Int32(UInt8(ascii: "r"))
        default: Int32(signature.utf8.first!)
        }
    }
}

extension DBusType {
    /// Parses a signature into its single complete types; nil if the text is not a valid signature.
    static func parse(_ text: String) -> [DBusType]? {
        var bytes = Array(text.utf8)[...]
        var types: [DBusType] = []
        while !bytes.isEmpty {
            guard let type = parseOne(&bytes, depth: 0) else { return nil }
            types.append(type)
        }
        return types
    }

    private static func parseOne(_ bytes: inout ArraySlice<UInt8>, depth: Int) -> DBusType? {
        guard depth < 64, let first = bytes.popFirst() else { return nil }
        switch first {
        case UInt8(ascii: "y"): return .byte
        case UInt8(ascii: "b"): return .boolean
        case UInt8(ascii: "n"): return .int16
        case UInt8(ascii: "q"): return .uint16
        case UInt8(ascii: "i"): return .int32
        case UInt8(ascii: "u"): return .uint32
        case UInt8(ascii: "x"): return .int64
        case UInt8(ascii: "t"): return .uint64
        case UInt8(ascii: "d"): return .double
        case UInt8(ascii: "s"): return .string
        case UInt8(ascii: "o"): return .objectPath
        case UInt8(ascii: "g"): return .signature
        case UInt8(ascii: "h"): return .unixFD
        case UInt8(ascii: "v"): return .variant
        case UInt8(ascii: "a"):
            if bytes.first == UInt8(ascii: "{") {
                bytes.removeFirst()
                guard let key = parseOne(&bytes, depth: depth + 1), key.isBasic,
                    let value = parseOne(&bytes, depth: depth + 1),
                    bytes.popFirst() == UInt8(ascii: "}")
                else { return nil }
                return .dictionary(key: key, value: value)
            }
            guard let element = parseOne(&bytes, depth: depth + 1) else { return nil }
            return .array(element)
        case UInt8(ascii: "("):
            var fields: [DBusType] = []
            while bytes.first != UInt8(ascii: ")") {
                guard let field = parseOne(&bytes, depth: depth + 1) else { return nil }
                fields.append(field)
            }
            bytes.removeFirst()
            return fields.isEmpty ? nil : .structure(fields)
        default:
            return nil
        }
    }
}
