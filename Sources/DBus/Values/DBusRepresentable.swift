// SPDX-License-Identifier: Apache-2.0
/// A Swift type with a fixed D-Bus type, convertible to and from ``DBusValue``.
///
/// `DBusValue` itself conforms as the variant type `v` and accepts any value when decoding, which is what a
/// `[String: DBusValue]` (`a{sv}`) needs.
public protocol DBusRepresentable: Sendable {
    /// The D-Bus type values of this Swift type have.
    static var dbusType: DBusType { get }
    /// Whether a value of D-Bus type `type` can be decoded as this Swift type.
    static func accepts(_ type: DBusType) -> Bool
    /// Decodes `value`, throwing `InvalidArgs` (expected vs got signature) if its type does not fit.
    init(dbusValue value: DBusValue) throws(DBusError)
    /// The value as D-Bus sees it.
    var dbusValue: DBusValue { get }
}

extension DBusRepresentable {
    /// By default only the exact type is accepted.
    public static func accepts(_ type: DBusType) -> Bool { type == dbusType }
}

func typeMismatch(_ expected: DBusType, _ got: DBusValue) -> DBusError {
    .invalidArgs("expected a value of signature '\(expected)', got '\(got.signature)'")
}

extension DBusValue: DBusRepresentable {
    /// A free-standing value travels as a variant.
    public static var dbusType: DBusType { .variant }
    /// Any type decodes into a `DBusValue`.
    public static func accepts(_ type: DBusType) -> Bool { true }
    /// Takes the value, unwrapping one variant level.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        if case .variant(let inner) = value { self = inner } else { self = value }
    }
    /// Wraps the value in a variant unless it is one already.
    public var dbusValue: DBusValue {
        if case .variant = self { return self }
        return .variant(self)
    }
}

extension String: DBusRepresentable {
    /// `s`
    public static var dbusType: DBusType { .string }
    /// Decodes a `s`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .string(let v) = value else { throw typeMismatch(.string, value) }
        self = v
    }
    /// `.string(self)`
    public var dbusValue: DBusValue { .string(self) }
}

extension Bool: DBusRepresentable {
    /// `b`
    public static var dbusType: DBusType { .boolean }
    /// Decodes a `b`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .bool(let v) = value else { throw typeMismatch(.boolean, value) }
        self = v
    }
    /// `.bool(self)`
    public var dbusValue: DBusValue { .bool(self) }
}

extension UInt8: DBusRepresentable {
    /// `y`
    public static var dbusType: DBusType { .byte }
    /// Decodes a `y`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .byte(let v) = value else { throw typeMismatch(.byte, value) }
        self = v
    }
    /// `.byte(self)`
    public var dbusValue: DBusValue { .byte(self) }
}

extension Int16: DBusRepresentable {
    /// `n`
    public static var dbusType: DBusType { .int16 }
    /// Decodes a `n`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .int16(let v) = value else { throw typeMismatch(.int16, value) }
        self = v
    }
    /// `.int16(self)`
    public var dbusValue: DBusValue { .int16(self) }
}

extension UInt16: DBusRepresentable {
    /// `q`
    public static var dbusType: DBusType { .uint16 }
    /// Decodes a `q`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .uint16(let v) = value else { throw typeMismatch(.uint16, value) }
        self = v
    }
    /// `.uint16(self)`
    public var dbusValue: DBusValue { .uint16(self) }
}

extension Int32: DBusRepresentable {
    /// `i`
    public static var dbusType: DBusType { .int32 }
    /// Decodes an `i`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .int32(let v) = value else { throw typeMismatch(.int32, value) }
        self = v
    }
    /// `.int32(self)`
    public var dbusValue: DBusValue { .int32(self) }
}

extension UInt32: DBusRepresentable {
    /// `u`
    public static var dbusType: DBusType { .uint32 }
    /// Decodes a `u`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .uint32(let v) = value else { throw typeMismatch(.uint32, value) }
        self = v
    }
    /// `.uint32(self)`
    public var dbusValue: DBusValue { .uint32(self) }
}

extension Int64: DBusRepresentable {
    /// `x`
    public static var dbusType: DBusType { .int64 }
    /// Decodes an `x`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .int64(let v) = value else { throw typeMismatch(.int64, value) }
        self = v
    }
    /// `.int64(self)`
    public var dbusValue: DBusValue { .int64(self) }
}

extension UInt64: DBusRepresentable {
    /// `t`
    public static var dbusType: DBusType { .uint64 }
    /// Decodes a `t`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .uint64(let v) = value else { throw typeMismatch(.uint64, value) }
        self = v
    }
    /// `.uint64(self)`
    public var dbusValue: DBusValue { .uint64(self) }
}

extension Double: DBusRepresentable {
    /// `d`
    public static var dbusType: DBusType { .double }
    /// Decodes a `d`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .double(let v) = value else { throw typeMismatch(.double, value) }
        self = v
    }
    /// `.double(self)`
    public var dbusValue: DBusValue { .double(self) }
}

extension DBusObjectPath: DBusRepresentable {
    /// `o`
    public static var dbusType: DBusType { .objectPath }
    /// Decodes an `o`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .objectPath(let v) = value else { throw typeMismatch(.objectPath, value) }
        self = v
    }
    /// `.objectPath(self)`
    public var dbusValue: DBusValue { .objectPath(self) }
}

extension DBusSignature: DBusRepresentable {
    /// `g`
    public static var dbusType: DBusType { .signature }
    /// Decodes a `g`.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .signature(let v) = value else { throw typeMismatch(.signature, value) }
        self = v
    }
    /// `.signature(self)`
    public var dbusValue: DBusValue { .signature(self) }
}

extension DBusUnixFD: DBusRepresentable {
    /// `h`
    public static var dbusType: DBusType { .unixFD }
    /// Decodes an `h`.
    public convenience init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .unixFD(let v) = value else { throw typeMismatch(.unixFD, value) }
        try self.init(duplicating: v.fileDescriptor)
    }
    /// `.unixFD(self)`
    public var dbusValue: DBusValue { .unixFD(self) }
}

extension Array: DBusRepresentable where Element: DBusRepresentable {
    /// `aT`
    public static var dbusType: DBusType { .array(Element.dbusType) }
    /// Accepts arrays whose element type the element decodes.
    public static func accepts(_ type: DBusType) -> Bool {
        if case .array(let element) = type { return Element.accepts(element) }
        return false
    }
    /// Decodes an array element by element.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .array(let element, let items) = value, Element.accepts(element) else {
            throw typeMismatch(Self.dbusType, value)
        }
        var result: [Element] = []
        result.reserveCapacity(items.count)
        for item in items { result.append(try Element(dbusValue: item)) }
        self = result
    }
    /// `.array(Element.dbusType, …)`
    public var dbusValue: DBusValue { .array(Element.dbusType, map(\.dbusValue)) }
}

extension Dictionary: DBusRepresentable where Key: DBusRepresentable, Value: DBusRepresentable {
    /// `a{KV}`
    public static var dbusType: DBusType { .dictionary(key: Key.dbusType, value: Value.dbusType) }
    /// Accepts dictionaries whose key and value types decode.
    public static func accepts(_ type: DBusType) -> Bool {
        if case .dictionary(let key, let value) = type { return Key.accepts(key) && Value.accepts(value) }
        return false
    }
    /// Decodes a dictionary entry by entry.
    public init(dbusValue value: DBusValue) throws(DBusError) {
        guard case .dictionary(let keyType, let valueType, let entries) = value,
            Key.accepts(keyType), Value.accepts(valueType)
        else {
            throw typeMismatch(Self.dbusType, value)
        }
        var result: [Key: Value] = [:]
        for (k, v) in entries { result[try Key(dbusValue: k)] = try Value(dbusValue: v) }
        self = result
    }
    /// `.dictionary(Key.dbusType, Value.dbusType, …)`
    public var dbusValue: DBusValue {
        var entries: [DBusValue: DBusValue] = [:]
        for (k, v) in self { entries[k.dbusValue] = v.dbusValue }
        return .dictionary(key: Key.dbusType, value: Value.dbusType, entries)
    }
}

extension Array where Element == DBusValue {
    /// The signature of the values in order, such as `sa{sv}`.
    public var signature: String { map(\.signature).joined() }

    /// Decodes the values as the given Swift types, all at once.
    ///
    /// `let (name, options) = try call.arguments.decode(String.self, [String: DBusValue].self)`. Throws
    /// `InvalidArgs` naming the expected and the actual signature when the count or a type does not fit.
    public func decode<each T: DBusRepresentable>(_ types: repeat (each T).Type) throws(DBusError) -> (repeat each T) {
        var expected = ""
        var typeCount = 0
        for type in repeat each types {
            expected += type.dbusType.signature
            typeCount += 1
        }
        var fits = typeCount == count
        if fits {
            var index = 0
            for type in repeat each types {
                if !type.accepts(self[index].type) { fits = false }
                index += 1
            }
        }
        guard fits else {
            throw .invalidArgs("expected arguments of signature '\(expected)', got '\(signature)'")
        }
        var index = 0
        func next<V: DBusRepresentable>(_ type: V.Type) throws(DBusError) -> V {
            defer { index += 1 }
            return try V(dbusValue: self[index])
        }
        return (repeat try next(each types))
    }
}
