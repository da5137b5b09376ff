// SPDX-License-Identifier: Apache-2.0
/// One D-Bus value of any type, copied out of (or ready to be copied into) a message.
///
/// Containers carry their element types so that empty arrays and dictionaries keep a signature. Strings are
/// Swift strings and thus valid UTF-8; because D-Bus strings cannot hold NUL, the marshaller replaces every
/// U+0000 with U+FFFD (REPLACEMENT CHARACTER) instead of letting libdbus abort. Unicode noncharacters, which
/// sd-bus peers reject, are replaced the same way.
///
/// Only `variant` is indirect: the other cases hold their payload inline (containers already keep their
/// elements in array or dictionary storage), so a decoded value costs no heap box of its own.
public enum DBusValue: Hashable, Sendable {
    /// `y`
    case byte(UInt8)
    /// `b`
    case bool(Bool)
    /// `n`
    case int16(Int16)
    /// `q`
    case uint16(UInt16)
    /// `i`
    case int32(Int32)
    /// `u`
    case uint32(UInt32)
    /// `x`
    case int64(Int64)
    /// `t`
    case uint64(UInt64)
    /// `d`
    case double(Double)
    /// `s`; NUL and noncharacters are sent as U+FFFD.
    case string(String)
    /// `o`
    case objectPath(DBusObjectPath)
    /// `g`
    case signature(DBusSignature)
    /// `h`
    case unixFD(DBusUnixFD)
    /// `aT`: the element type and the elements, each of which must have that type.
    case array(DBusType, [DBusValue])
    /// `a{KV}`: key and value types and the entries.
    case dictionary(key: DBusType, value: DBusType, [DBusValue: DBusValue])
    /// `(…)`: the fields, at least one.
    case structure([DBusValue])
    /// `v`: a value wrapped with its own type.
    indirect case variant(DBusValue)

    /// The value's type.
    public var type: DBusType {
        switch self {
        case .byte: .byte
        case .bool: .boolean
        case .int16: .int16
        case .uint16: .uint16
        case .int32: .int32
        case .uint32: .uint32
        case .int64: .int64
        case .uint64: .uint64
        case .double: .double
        case .string: .string
        case .objectPath: .objectPath
        case .signature: .signature
        case .unixFD: .unixFD
        case .array(let element, _): .array(element)
        case .dictionary(let key, let value, _): .dictionary(key: key, value: value)
        case .structure(let fields): .structure(fields.map(\.type))
        case .variant: .variant
        }
    }

    /// Whether the value is of `expected`: `type == expected` without building a `DBusType` (whose containers are
    /// boxed), which matters when validating every element of a large message.
    func has(type expected: DBusType) -> Bool {
        switch (self, expected) {
        case (.byte, .byte), (.bool, .boolean), (.int16, .int16), (.uint16, .uint16), (.int32, .int32),
            (.uint32, .uint32), (.int64, .int64), (.uint64, .uint64), (.double, .double), (.string, .string),
            (.objectPath, .objectPath), (.signature, .signature), (.unixFD, .unixFD), (.variant, .variant):
            true
        case (.array(let element, _), .array(let expectedElement)): element == expectedElement
        case (.dictionary(let key, let value, _), .dictionary(let expectedKey, let expectedValue)):
            key == expectedKey && value == expectedValue
        case (.structure(let fields), .structure(let types)):
            fields.count == types.count && zip(fields, types).allSatisfy { $0.has(type: $1) }
        default: false
        }
    }

    /// The value's signature text, such as `a{sv}`.
    public var signature: String { type.signature }

    /// An `a{sv}` dictionary, the usual shape of options and property sets; each value is wrapped in a variant.
    public static func vardict(_ entries: [String: DBusValue]) -> DBusValue {
        var dictionary: [DBusValue: DBusValue] = [:]
        for (key, value) in entries { dictionary[.string(key)] = .variant(value) }
        return .dictionary(key: .string, value: .variant, dictionary)
    }

    /// An `as` array of strings.
    public static func strings(_ strings: [String]) -> DBusValue {
        .array(.string, strings.map(DBusValue.string))
    }

    /// Checks that every element and entry of a container has the container's declared types.
    ///
    /// The marshaller calls this before writing, so an inconsistent value is an `InvalidArgs` error rather than
    /// a libdbus abort.
    public func validate() throws(DBusError) {
        switch self {
        case .array(let element, let items):
            for item in items {
                guard item.has(type: element) else {
                    throw .invalidArgs("an array of '\(element)' holds a value of type '\(item.signature)'")
                }
                try item.validate()
            }
        case .dictionary(let key, let value, let entries):
            guard key.isBasic else { throw .invalidArgs("a dictionary key must be a basic type, not '\(key)'") }
            for (k, v) in entries {
                guard k.has(type: key), v.has(type: value) else {
                    throw .invalidArgs(
                        "a dictionary 'a{\(key)\(value)}' holds an entry of types '\(k.signature)' and '\(v.signature)'")
                }
                try v.validate()
            }
        case .structure(let fields):
            guard !fields.isEmpty else { throw .invalidArgs("a structure needs at least one field") }
            for field in fields { try field.validate() }
        case .variant(let inner):
            try inner.validate()
        default:
            break
        }
    }
}

// MARK: - Reading values without ceremony

extension DBusValue {
    /// The value inside a variant (recursively), or the value itself.
    public var unwrapped: DBusValue {
        if case .variant(let inner) = self { return inner.unwrapped }
        return self
    }

    /// The string, if this is a string (or a variant holding one).
    public var string: String? {
        if case .string(let value) = unwrapped { return value }
        return nil
    }

    /// The bool, if this is a bool (or a variant holding one).
    public var bool: Bool? {
        if case .bool(let value) = unwrapped { return value }
        return nil
    }

    /// The byte, if this is a byte (or a variant holding one).
    public var byte: UInt8? {
        if case .byte(let value) = unwrapped { return value }
        return nil
    }

    /// The int16, if this is an int16 (or a variant holding one).
    public var int16: Int16? {
        if case .int16(let value) = unwrapped { return value }
        return nil
    }

    /// The uint16, if this is a uint16 (or a variant holding one).
    public var uint16: UInt16? {
        if case .uint16(let value) = unwrapped { return value }
        return nil
    }

    /// The int32, if this is an int32 (or a variant holding one).
    public var int32: Int32? {
        if case .int32(let value) = unwrapped { return value }
        return nil
    }

    /// The uint32, if this is a uint32 (or a variant holding one).
    public var uint32: UInt32? {
        if case .uint32(let value) = unwrapped { return value }
        return nil
    }

    /// The int64, if this is an int64 (or a variant holding one).
    public var int64: Int64? {
        if case .int64(let value) = unwrapped { return value }
        return nil
    }

    /// The uint64, if this is a uint64 (or a variant holding one).
    public var uint64: UInt64? {
        if case .uint64(let value) = unwrapped { return value }
        return nil
    }

    /// The double, if this is a double (or a variant holding one).
    public var double: Double? {
        if case .double(let value) = unwrapped { return value }
        return nil
    }

    /// The object path, if this is one (or a variant holding one).
    public var objectPath: DBusObjectPath? {
        if case .objectPath(let value) = unwrapped { return value }
        return nil
    }

    /// The elements, if this is an array (or a variant holding one).
    public var arrayElements: [DBusValue]? {
        if case .array(_, let items) = unwrapped { return items }
        return nil
    }

    /// The fields, if this is a structure (or a variant holding one).
    public var structureFields: [DBusValue]? {
        if case .structure(let fields) = unwrapped { return fields }
        return nil
    }

    /// The entries of a dictionary with string keys (such as `a{sv}`), values unwrapped from variants.
    public var stringDictionary: [String: DBusValue]? {
        guard case .dictionary(.string, _, let entries) = unwrapped else { return nil }
        var result: [String: DBusValue] = [:]
        for (key, value) in entries { if let key = key.string { result[key] = value.unwrapped } }
        return result
    }

    /// The value at `key` of a string-keyed dictionary (unwrapped from its variant).
    public subscript(key: String) -> DBusValue? {
        stringDictionary?[key]
    }
}

extension DBusValue: ExpressibleByStringLiteral {
    /// A string literal is a `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension DBusValue: ExpressibleByBooleanLiteral {
    /// A boolean literal is a `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension DBusValue: CustomStringConvertible {
    /// A compact, GVariant-like rendering for logs and test failures.
    public var description: String {
        switch self {
        case .byte(let v): "byte \(v)"
        case .bool(let v): "\(v)"
        case .int16(let v): "int16 \(v)"
        case .uint16(let v): "uint16 \(v)"
        case .int32(let v): "\(v)"
        case .uint32(let v): "uint32 \(v)"
        case .int64(let v): "int64 \(v)"
        case .uint64(let v): "uint64 \(v)"
        case .double(let v): "\(v)"
        case .string(let v): "\"\(v)\""
        case .objectPath(let v): "objectpath \(v)"
        case .signature(let v): "signature \(v)"
        case .unixFD(let v): "\(v)"
        case .array(let t, let items): items.isEmpty ? "@a\(t) []" : "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .dictionary(let k, let v, let entries):
            entries.isEmpty
                ? "@a{\(k)\(v)} {}"
                : "{" + entries.map { "\($0.key): \($0.value)" }.sorted().joined(separator: ", ") + "}"
        case .structure(let fields): "(" + fields.map(\.description).joined(separator: ", ") + ")"
        case .variant(let inner): "<\(inner)>"
        }
    }
}
