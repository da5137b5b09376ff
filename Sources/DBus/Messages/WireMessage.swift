// SPDX-License-Identifier: Apache-2.0
internal import CDBus

extension Marshalling {
    /// A header field of a message written with ``WireWriter``.
    enum HeaderField {
        case path(DBusObjectPath)
        case interface(String)
        case member(String)
        case replySerial(UInt32)
        case destination(String)
        case signature(String)
    }

    /// A message of `type` with `fields` and a body marshalled in Swift (``WireWriter``, from offset 0), loaded
    /// by libdbus in one validating pass; nil when libdbus refuses it or is out of memory.
    ///
    /// `dbus_message_demarshal` checks header and body as it would a message from the wire, so nothing it
    /// refuses can be sent. The flags say NO_REPLY_EXPECTED, as every signal and reply the connection sends; the
    /// serial is 1, since a loaded message needs one: a `dbus_message_copy` has none, and the connection numbers
    /// it when sending.
    static func load(type: Int32, fields: [HeaderField], body: [UInt8]) -> OpaquePointer? {
        var message = WireWriter()
        message.bytes.reserveCapacity(body.count + 160)
        message.byte(UInt8(ascii: "l"))
        message.byte(UInt8(type))
        message.byte(1)  // NO_REPLY_EXPECTED
        message.byte(1)  // protocol version
        message.integer(UInt32(body.count))
        message.integer(UInt32(1))
        try? message.array(elementAlignment: 8) { (writer: inout WireWriter) throws(DBusError) in
            for field in fields {
                writer.pad(to: 8)
                switch field {
                case .path(let path): writer.field(DBUS_HEADER_FIELD_PATH, "o") { $0.string(path.rawValue) }
                case .interface(let name): writer.field(DBUS_HEADER_FIELD_INTERFACE, "s") { $0.string(name) }
                case .member(let name): writer.field(DBUS_HEADER_FIELD_MEMBER, "s") { $0.string(name) }
                case .replySerial(let serial): writer.field(DBUS_HEADER_FIELD_REPLY_SERIAL, "u") { $0.integer(serial) }
                case .destination(let name): writer.field(DBUS_HEADER_FIELD_DESTINATION, "s") { $0.string(name) }
                case .signature(let text): writer.field(DBUS_HEADER_FIELD_SIGNATURE, "g") { $0.signature(text) }
                }
            }
        }
        message.pad(to: 8)
        message.bytes.append(contentsOf: body)
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        return message.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                dbus_message_demarshal(chars.baseAddress, Int32(chars.count), &error)
            }
        }
    }

    /// A signal whose body was marshalled in Swift, ready to send (it carries no serial yet); nil when libdbus
    /// refuses it, and the caller then takes the iterator path, which names what is wrong.
    ///
    /// Appending value by value through libdbus's iterators checks and grows the message at every call; for a
    /// device's InterfacesAdded (its whole property set) that was most of the cost of a hotplug's signals.
    ///
    /// - Parameters:
    ///   - signature: the body's signature, empty for no arguments.
    ///   - body: the arguments as ``WireWriter`` wrote them from offset 0 (a body starts 8-aligned).
    static func signal(
        path: DBusObjectPath, interface: String, member: String, destination: String?, signature: String,
        body: [UInt8]
    ) -> OpaquePointer? {
        var fields: [HeaderField] = [.path(path), .interface(interface), .member(member)]
        if let destination { fields.append(.destination(destination)) }
        if !signature.isEmpty { fields.append(.signature(signature)) }
        guard let loaded = load(type: DBUS_MESSAGE_TYPE_SIGNAL, fields: fields, body: body) else { return nil }
        defer { dbus_message_unref(loaded) }
        return dbus_message_copy(loaded)
    }

    /// `values` marshalled as a message body, with its signature; nil when a value cannot be pre-marshalled (a
    /// file descriptor) or is inconsistent (the iterator path then reports it).
    static func body(_ values: [DBusValue]) -> (signature: String, bytes: [UInt8])? {
        var writer = WireWriter()
        var signature = ""
        do {
            for value in values {
                signature += value.signature
                try writer.value(value)
            }
        } catch {
            return nil
        }
        return (signature, writer.bytes)
    }
}

extension WireWriter {
    /// A header field's code, its value's signature, and the value `write` writes.
    fileprivate mutating func field(_ code: Int32, _ type: String, _ write: (inout WireWriter) -> Void) {
        byte(UInt8(code))
        signature(type)
        write(&self)
    }
}
