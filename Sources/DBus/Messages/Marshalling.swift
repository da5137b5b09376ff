// SPDX-License-Identifier: Apache-2.0
internal import CDBus

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Type codes as libdbus defines them (its `DBUS_TYPE_*` macros are casts Swift does not import).
enum TypeCode {
    static let invalid: Int32 = 0
    static let byte = Int32(UInt8(ascii: "y"))
    static let boolean = Int32(UInt8(ascii: "b"))
    static let int16 = Int32(UInt8(ascii: "n"))
    static let uint16 = Int32(UInt8(ascii: "q"))
    static let int32 = Int32(UInt8(ascii: "i"))
    static let uint32 = Int32(UInt8(ascii: "u"))
    static let int64 = Int32(UInt8(ascii: "x"))
    static let uint64 = Int32(UInt8(ascii: "t"))
    static let double = Int32(UInt8(ascii: "d"))
    static let string = Int32(UInt8(ascii: "s"))
    static let objectPath = Int32(UInt8(ascii: "o"))
    static let signature = Int32(UInt8(ascii: "g"))
    static let unixFD = Int32(UInt8(ascii: "h"))
    static let array = Int32(UInt8(ascii: "a"))
    static let variant = Int32(UInt8(ascii: "v"))
    static let structure = Int32(UInt8(ascii: "r"))
    static let dictEntry = Int32(UInt8(ascii: "e"))
}

/// Copies values between Swift and libdbus messages. Every function here runs on the owning connection's queue.
enum Marshalling {
    /// Replaces NUL and Unicode noncharacters with U+FFFD.
    ///
    /// libdbus aborts on an embedded NUL; sd-bus (systemd's library, used by busctl and many peers) also rejects
    /// noncharacters (U+FDD0…U+FDEF and U+xFFFE/U+xFFFF), and would drop a whole message carrying one.
    static func sanitized(_ text: String) -> String {
        // Noncharacters are encoded with a lead byte of 0xEF (U+FDD0…, U+FFFE/F) or 0xF0…0xF4 (other planes), so a
        // string whose bytes are all nonzero and below 0xEF (ASCII, most text) needs no scalar walk.
        if text.utf8.allSatisfy({ $0 != 0 && $0 < 0xEF }) { return text }
        guard text.unicodeScalars.contains(where: isUnsendable) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { scalars.append(isUnsendable(scalar) ? "\u{FFFD}" : scalar) }
        return String(scalars)
    }

    private static func isUnsendable(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value == 0 || (value >= 0xFDD0 && value <= 0xFDEF) || value & 0xFFFE == 0xFFFE
    }

    // MARK: Writing

    /// Appends `values` to the body of `message`.
    static func append(_ values: [DBusValue], to message: OpaquePointer) throws(DBusError) {
        for value in values { try value.validate() }
        var iter = DBusMessageIter()
        dbus_message_iter_init_append(message, &iter)
        for value in values {
            guard append(value, to: &iter) else { throw .failed("out of memory while marshalling a message") }
        }
    }

    private static func appendBasic<T: BitwiseCopyable>(_ code: Int32, _ value: T, _ iter: inout DBusMessageIter) -> Bool {
        var copy = value
        return dbus_message_iter_append_basic(&iter, code, &copy) != 0
    }

    private static func appendString(_ code: Int32, _ text: String, _ iter: inout DBusMessageIter) -> Bool {
        sanitized(text).withCString { pointer in
            var p: UnsafePointer<CChar>? = pointer
            return dbus_message_iter_append_basic(&iter, code, &p) != 0
        }
    }

    private static func withContainer(
        _ iter: inout DBusMessageIter, _ code: Int32, _ contained: String?,
        _ body: (inout DBusMessageIter) -> Bool
    ) -> Bool {
        var sub = DBusMessageIter()
        let opened: Bool
        if let contained {
            opened = dbus_message_iter_open_container(&iter, code, contained, &sub) != 0
        } else {
            opened = dbus_message_iter_open_container(&iter, code, nil, &sub) != 0
        }
        guard opened else { return false }
        guard body(&sub) else {
            dbus_message_iter_abandon_container(&iter, &sub)
            return false
        }
        return dbus_message_iter_close_container(&iter, &sub) != 0
    }

    private static func append(_ value: DBusValue, to iter: inout DBusMessageIter) -> Bool {
        switch value {
        case .byte(let v): return appendBasic(TypeCode.byte, v, &iter)
        case .bool(let v): return appendBasic(TypeCode.boolean, dbus_bool_t(v ? 1 : 0), &iter)
        case .int16(let v): return appendBasic(TypeCode.int16, v, &iter)
        case .uint16(let v): return appendBasic(TypeCode.uint16, v, &iter)
        case .int32(let v): return appendBasic(TypeCode.int32, v, &iter)
        case .uint32(let v): return appendBasic(TypeCode.uint32, v, &iter)
        case .int64(let v): return appendBasic(TypeCode.int64, v, &iter)
        case .uint64(let v): return appendBasic(TypeCode.uint64, v, &iter)
        case .double(let v): return appendBasic(TypeCode.double, v, &iter)
        case .string(let v): return appendString(TypeCode.string, v, &iter)
        case .objectPath(let v): return appendString(TypeCode.objectPath, v.rawValue, &iter)
        case .signature(let v): return appendString(TypeCode.signature, v.rawValue, &iter)
        case .unixFD(let v): return appendBasic(TypeCode.unixFD, v.fileDescriptor, &iter)
        case .array(let element, let items):
            return withContainer(&iter, TypeCode.array, element.signature) { sub in
                items.allSatisfy { append($0, to: &sub) }
            }
        case .dictionary(let key, let valueType, let entries):
            return withContainer(&iter, TypeCode.array, "{\(key.signature)\(valueType.signature)}") { sub in
                entries.allSatisfy { entry in
                    withContainer(&sub, TypeCode.dictEntry, nil) { pair in
                        append(entry.key, to: &pair) && append(entry.value, to: &pair)
                    }
                }
            }
        case .structure(let fields):
            return withContainer(&iter, TypeCode.structure, nil) { sub in
                fields.allSatisfy { append($0, to: &sub) }
            }
        case .variant(let inner):
            return withContainer(&iter, TypeCode.variant, inner.signature) { sub in
                append(inner, to: &sub)
            }
        }
    }

    // MARK: Reading

    /// Reads the whole body of `message`.
    static func arguments(of message: OpaquePointer) -> [DBusValue] {
        if let values = decodedBody(of: message) { return values }
        var iter = DBusMessageIter()
        guard dbus_message_iter_init(message, &iter) != 0 else { return [] }
        var values: [DBusValue] = []
        repeat {
            guard let value = readValue(&iter) else { break }
            values.append(value)
        } while dbus_message_iter_next(&iter) != 0
        return values
    }

    /// Decodes the body in Swift from the marshalled message, one pass over the bytes instead of a libdbus call per
    /// value; nil (then libdbus's iterator reads it) for big-endian messages, bodies carrying descriptors, and
    /// bodies without an array, which are small and cheaper to read with the iterator than to copy out.
    static func decodedBody(of message: OpaquePointer) -> [DBusValue]? {
        guard let signature = dbus_message_get_signature(message), strchr(signature, Int32(UInt8(ascii: "a"))) != nil,
            strchr(signature, Int32(UInt8(ascii: "h"))) == nil, let types = DBusType.parse(String(cString: signature))
        else { return nil }
        var marshalled: UnsafeMutablePointer<CChar>? = nil
        var length: Int32 = 0
        guard dbus_message_marshal(message, &marshalled, &length) != 0, let marshalled else { return nil }
        defer { dbus_free(marshalled) }
        let whole = UnsafeRawBufferPointer(start: marshalled, count: Int(length))
        guard whole.count >= 16, whole[0] == UInt8(ascii: "l") else { return nil }
        let fieldsLength = Int(UInt32(littleEndian: whole.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
        let bodyStart = (16 + fieldsLength + 7) & ~7
        let bodyLength = Int(UInt32(littleEndian: whole.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard bodyStart + bodyLength == whole.count else { return nil }
        var reader = WireReader(UnsafeRawBufferPointer(rebasing: whole[bodyStart...]))
        var values: [DBusValue] = []
        values.reserveCapacity(types.count)
        for type in types {
            guard let value = reader.value(type) else { return nil }
            values.append(value)
        }
        return reader.isAtEnd ? values : nil
    }

    private static func readBasic<T: BitwiseCopyable>(_ iter: inout DBusMessageIter, _ initial: T) -> T {
        var value = initial
        dbus_message_iter_get_basic(&iter, &value)
        return value
    }

    private static func readString(_ iter: inout DBusMessageIter) -> String {
        var pointer: UnsafePointer<CChar>? = nil
        dbus_message_iter_get_basic(&iter, &pointer)
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    private static func currentSignature(_ iter: inout DBusMessageIter) -> String {
        guard let raw = dbus_message_iter_get_signature(&iter) else { return "" }
        defer { dbus_free(raw) }
        return String(cString: raw)
    }

    static func readValue(_ iter: inout DBusMessageIter) -> DBusValue? {
        let code = dbus_message_iter_get_arg_type(&iter)
        switch code {
        case TypeCode.byte: return .byte(readBasic(&iter, UInt8(0)))
        case TypeCode.boolean: return .bool(readBasic(&iter, dbus_bool_t(0)) != 0)
        case TypeCode.int16: return .int16(readBasic(&iter, Int16(0)))
        case TypeCode.uint16: return .uint16(readBasic(&iter, UInt16(0)))
        case TypeCode.int32: return .int32(readBasic(&iter, Int32(0)))
        case TypeCode.uint32: return .uint32(readBasic(&iter, UInt32(0)))
        case TypeCode.int64: return .int64(readBasic(&iter, Int64(0)))
        case TypeCode.uint64: return .uint64(readBasic(&iter, UInt64(0)))
        case TypeCode.double: return .double(readBasic(&iter, Double(0)))
        case TypeCode.string: return .string(readString(&iter))
        case TypeCode.objectPath: return .objectPath(DBusObjectPath(unchecked: readString(&iter)))
        case TypeCode.signature:
            let text = readString(&iter)
            return .signature(DBusSignature(trusted: text, types: DBusType.parse(text) ?? []))
        case TypeCode.unixFD: return .unixFD(DBusUnixFD(taking: readBasic(&iter, Int32(-1))))
        case TypeCode.array:
            guard let type = DBusType.parse(currentSignature(&iter))?.first else { return nil }
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            switch type {
            case .dictionary(let keyType, let valueType):
                var entries: [DBusValue: DBusValue] = [:]
                while dbus_message_iter_get_arg_type(&sub) == TypeCode.dictEntry {
                    var pair = DBusMessageIter()
                    dbus_message_iter_recurse(&sub, &pair)
                    if let key = readValue(&pair), dbus_message_iter_next(&pair) != 0, let value = readValue(&pair) {
                        entries[key] = value
                    }
                    dbus_message_iter_next(&sub)
                }
                return .dictionary(key: keyType, value: valueType, entries)
            case .array(let element):
                var items: [DBusValue] = []
                while dbus_message_iter_get_arg_type(&sub) != TypeCode.invalid {
                    guard let item = readValue(&sub) else { break }
                    items.append(item)
                    dbus_message_iter_next(&sub)
                }
                return .array(element, items)
            default:
                return nil
            }
        case TypeCode.structure:
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            var fields: [DBusValue] = []
            while dbus_message_iter_get_arg_type(&sub) != TypeCode.invalid {
                guard let field = readValue(&sub) else { break }
                fields.append(field)
                dbus_message_iter_next(&sub)
            }
            return .structure(fields)
        case TypeCode.variant:
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            return readValue(&sub).map(DBusValue.variant)
        default:
            return nil
        }
    }

    // MARK: Whole messages

    private static func optionalString(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// Copies a libdbus message into a ``DBusMessage``.
    static func copy(_ message: OpaquePointer) -> DBusMessage {
        let kind: DBusMessage.Kind
        switch dbus_message_get_type(message) {
        case DBUS_MESSAGE_TYPE_METHOD_RETURN: kind = .methodReturn
        case DBUS_MESSAGE_TYPE_ERROR: kind = .error
        case DBUS_MESSAGE_TYPE_SIGNAL: kind = .signal
        default: kind = .methodCall
        }
        return DBusMessage(
            kind: kind,
            serial: dbus_message_get_serial(message),
            replySerial: dbus_message_get_reply_serial(message),
            sender: optionalString(dbus_message_get_sender(message)),
            destination: optionalString(dbus_message_get_destination(message)),
            path: optionalString(dbus_message_get_path(message)).map(DBusObjectPath.init(unchecked:)),
            interface: optionalString(dbus_message_get_interface(message)),
            member: optionalString(dbus_message_get_member(message)),
            errorName: optionalString(dbus_message_get_error_name(message)),
            arguments: arguments(of: message)
        )
    }

    /// The error an error reply carries, with its first string argument as the sentence and its sender.
    static func error(from reply: DBusMessage) -> DBusError {
        DBusError(
            name: reply.errorName ?? DBusError.Name.failed, message: reply.arguments.first?.string ?? "",
            sender: reply.sender)
    }
}
