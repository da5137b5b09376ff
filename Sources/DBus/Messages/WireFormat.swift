/// Writes values in the D-Bus wire format (little-endian), as libdbus marshals them, without a libdbus call per value.
///
/// Alignment is relative to the start of `bytes`, so bytes written from a start that is a multiple of 8 can be
/// placed at any multiple of 8 of a message body (each entry of an `a{…}` or `a(…)` starts on one). Strings are
/// sanitized like ``Marshalling/append(_:to:)`` does; the finished message is still validated by libdbus when it
/// is loaded (``Marshalling/message(fromBody:signature:)``), so a mistake here cannot reach the bus.
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
