// SPDX-License-Identifier: Apache-2.0
/// Writes values in the D-Bus wire format (little-endian), as libdbus marshals them, without a libdbus call per value.
///
/// Alignment is relative to the start of `bytes`, so bytes written from a start that is a multiple of 8 can be
/// placed at any multiple of 8 of a message body (each entry of an `a{…}` or `a(…)` starts on one). Strings are
/// sanitized like ``Marshalling/append(_:to:)`` does; the finished message is still validated by libdbus when it
/// is loaded (``Marshalling/load(type:fields:body:)``), so a mistake here cannot reach the bus.
struct WireWriter {
    /// The longest array the specification allows (64 MiB).
    static let maximumArrayLength = 64 << 20

    var bytes: [UInt8] = []

    mutating func pad(to alignment: Int) {
        let remainder = bytes.count % alignment
        if remainder != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - remainder)) }
    }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        pad(to: MemoryLayout<T>.size)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ text: String) {
        var text = Marshalling.sanitized(text)
        text.withUTF8 { utf8 in
            integer(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
        bytes.append(0)
    }

    mutating func signature(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            bytes.append(UInt8(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
        bytes.append(0)
    }

    /// Writes an array: its length, the padding to its elements' alignment, then what `body` writes.
    mutating func array(elementAlignment: Int, _ body: (inout WireWriter) throws(DBusError) -> Void) throws(DBusError) {
        integer(UInt32(0))
        let lengthAt = bytes.count - 4
        pad(to: elementAlignment)
        let start = bytes.count
        try body(&self)
        let length = bytes.count - start
        guard length <= Self.maximumArrayLength else { throw .failed("an array is longer than D-Bus allows (64 MiB)") }
        withUnsafeBytes(of: UInt32(length).littleEndian) { raw in
            for (offset, byte) in raw.enumerated() { bytes[lengthAt + offset] = byte }
        }
    }

    /// Writes `value`, checking as it goes that containers hold what they declare.
    mutating func value(_ value: DBusValue) throws(DBusError) {
        switch value {
        case .byte(let v): byte(v)
        case .bool(let v): integer(UInt32(v ? 1 : 0))
        case .int16(let v): integer(v)
        case .uint16(let v): integer(v)
        case .int32(let v): integer(v)
        case .uint32(let v): integer(v)
        case .int64(let v): integer(v)
        case .uint64(let v): integer(v)
        case .double(let v): integer(v.bitPattern)
        case .string(let v): string(v)
        case .objectPath(let v): string(v.rawValue)
        case .signature(let v): signature(v.rawValue)
        case .unixFD:
            // A descriptor travels out of band, indexed from the body; only libdbus's own marshaller does that.
            throw .failed("file descriptors cannot be pre-marshalled")
        case .array(let element, let items):
            try array(elementAlignment: element.alignment) { (writer: inout WireWriter) throws(DBusError) in
                for item in items {
                    guard item.has(type: element) else {
                        throw .invalidArgs("an array of '\(element)' holds a value of type '\(item.signature)'")
                    }
                    try writer.value(item)
                }
            }
        case .dictionary(let key, let valueType, let entries):
            guard key.isBasic else { throw .invalidArgs("a dictionary key must be a basic type, not '\(key)'") }
            try array(elementAlignment: 8) { (writer: inout WireWriter) throws(DBusError) in
                for (k, v) in entries {
                    guard k.has(type: key), v.has(type: valueType) else {
                        throw .invalidArgs(
                            "a dictionary 'a{\(key)\(valueType)}' holds an entry of types '\(k.signature)' and '\(v.signature)'")
                    }
                    writer.pad(to: 8)
                    try writer.value(k)
                    try writer.value(v)
                }
            }
        case .structure(let fields):
            guard !fields.isEmpty else { throw .invalidArgs("a structure needs at least one field") }
            pad(to: 8)
            for field in fields { try self.value(field) }
        case .variant(let inner):
            signature(inner.signature)
            try self.value(inner)
        }
    }

    /// Writes an `a{sv}` from name–value pairs, in their order.
    mutating func vardict<S: Sequence>(_ entries: S) throws(DBusError) where S.Element == (String, DBusValue) {
        try array(elementAlignment: 8) { (writer: inout WireWriter) throws(DBusError) in
            for (name, value) in entries {
                writer.pad(to: 8)
                writer.string(name)
                try writer.value(.variant(value))
            }
        }
    }
}

extension DBusType {
    /// The alignment of this type's values on the wire.
    var alignment: Int {
        switch self {
        case .byte, .signature, .variant: 1
        case .int16, .uint16: 2
        case .boolean, .int32, .uint32, .unixFD, .string, .objectPath, .array, .dictionary: 4
        case .int64, .uint64, .double, .structure: 8
        }
    }
}

/// Reads values from a little-endian message body that libdbus has already validated, without a libdbus call
/// per value. Any inconsistency (which validation rules out) makes it give up with nil rather than trap.
struct WireReader: ~Copyable {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    /// Variant signatures already parsed: a body repeats a few (`as`, `a{sv}`…) once per object.
    private var parsedSignatures: [String: DBusType] = [:]

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func align(_ alignment: Int) -> Bool {
        offset = (offset + alignment - 1) & ~(alignment - 1)
        return offset <= bytes.count
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard align(size), offset + size <= bytes.count else { return nil }
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    mutating func text(length: Int) -> String? {
        guard length >= 0, offset + length < bytes.count else { return nil }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
        offset += length + 1
        return text
    }

    mutating func string() -> String? {
        guard let length = integer(UInt32.self) else { return nil }
        return text(length: Int(length))
    }

    mutating func signatureText() -> String? {
        guard offset < bytes.count else { return nil }
        let length = Int(bytes[offset])
        offset += 1
        return text(length: length)
    }

    /// The one complete type a variant's signature names; the common one-letter ones without parsing.
    mutating func variantType() -> DBusType? {
        guard offset + 2 < bytes.count else { return nil }
        if bytes[offset] == 1 {
            let type: DBusType? =
                switch bytes[offset + 1] {
                case UInt8(ascii: "s"): .string
                case UInt8(ascii: "b"): .boolean
                case UInt8(ascii: "u"): .uint32
                case UInt8(ascii: "i"): .int32
                case UInt8(ascii: "t"): .uint64
                case UInt8(ascii: "x"): .int64
                case UInt8(ascii: "d"): .double
                case UInt8(ascii: "o"): .objectPath
                case UInt8(ascii: "y"): .byte
                default: nil
                }
            if let type {
                offset += 3
                return type
            }
        }
        guard let text = signatureText() else { return nil }
        if let type = parsedSignatures[text] { return type }
        guard let types = DBusType.parse(text), types.count == 1 else { return nil }
        parsedSignatures[text] = types[0]
        return types[0]
    }

    mutating func value(_ type: DBusType) -> DBusValue? {
        switch type {
        case .byte:
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return .byte(bytes[offset])
        case .boolean: return integer(UInt32.self).map { .bool($0 != 0) }
        case .int16: return integer(Int16.self).map(DBusValue.int16)
        case .uint16: return integer(UInt16.self).map(DBusValue.uint16)
        case .int32: return integer(Int32.self).map(DBusValue.int32)
        case .uint32: return integer(UInt32.self).map(DBusValue.uint32)
        case .int64: return integer(Int64.self).map(DBusValue.int64)
        case .uint64: return integer(UInt64.self).map(DBusValue.uint64)
        case .double: return integer(UInt64.self).map { .double(Double(bitPattern: $0)) }
        case .string: return string().map(DBusValue.string)
        case .objectPath: return string().map { .objectPath(DBusObjectPath(unchecked: $0)) }
        case .signature:
            guard let text = signatureText() else { return nil }
            return .signature(DBusSignature(trusted: text, types: DBusType.parse(text) ?? []))
        case .unixFD:
            return nil  // an index into the message's descriptors: left to libdbus
        case .array(let element):
            guard let end = arrayEnd(element.alignment) else { return nil }
            var items: [DBusValue] = []
            while offset < end {
                guard let item = value(element) else { return nil }
                items.append(item)
            }
            return .array(element, items)
        case .dictionary(let key, let valueType):
            guard let end = arrayEnd(8) else { return nil }
            // Collected first, so the dictionary is sized once instead of rehashing as it grows; a repeated key
            // keeps its last value, as the iterator's reading does.
            var pairs: [(DBusValue, DBusValue)] = []
            while offset < end {
                guard align(8), let k = value(key), let v = value(valueType) else { return nil }
                pairs.append((k, v))
            }
            return .dictionary(key: key, value: valueType, Dictionary(pairs, uniquingKeysWith: { _, last in last }))
        case .structure(let types):
            guard align(8) else { return nil }
            var fields: [DBusValue] = []
            fields.reserveCapacity(types.count)
            for fieldType in types {
                guard let field = value(fieldType) else { return nil }
                fields.append(field)
            }
            return .structure(fields)
        case .variant:
            guard let inner = variantType(), let value = value(inner) else { return nil }
            return .variant(value)
        }
    }

    /// Reads an array's length and skips to its first element; returns the offset where the array ends.
    private mutating func arrayEnd(_ elementAlignment: Int) -> Int? {
        guard let length = integer(UInt32.self), align(elementAlignment) else { return nil }
        let end = offset + Int(length)
        return end <= bytes.count ? end : nil
    }
}
