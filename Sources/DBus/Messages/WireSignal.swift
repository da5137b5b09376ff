internal import CDBus

extension Marshalling {
    /// A signal whose body was marshalled in Swift (``WireWriter``), loaded by libdbus in one validating pass.
    ///
    /// Appending value by value through libdbus's iterators checks and grows the message at every call; for a
    /// device's InterfacesAdded (its whole property set) that was most of the cost of a hotplug's signals. The
    /// header is written here too, and `dbus_message_demarshal` validates header and body as it would a message
    /// from the wire, so nothing it refuses can be sent. Returns nil when libdbus refuses the message or is out of
    /// memory; the caller then takes the iterator path, which names what is wrong.
    ///
    /// - Parameters:
    ///   - signature: the body's signature, empty for no arguments.
    ///   - body: the arguments as ``WireWriter`` wrote them from offset 0 (a body starts 8-aligned).
    static func signal(
        path: DBusObjectPath, interface: String, member: String, destination: String?, signature: String,
        body: [UInt8]
    ) -> OpaquePointer? {
        var message = WireWriter()
        message.bytes.reserveCapacity(body.count + 128 + path.rawValue.utf8.count)
        message.byte(UInt8(ascii: "l"))
        message.byte(UInt8(DBUS_MESSAGE_TYPE_SIGNAL))
        message.byte(1)  // NO_REPLY_EXPECTED, as dbus_message_new_signal sets it
        message.byte(1)  // protocol version
        message.integer(UInt32(body.count))
        message.integer(UInt32(1))  // a loaded message needs a serial; the copy sent gets the connection's own
        func field(_ fields: inout WireWriter, _ code: UInt8, _ type: String, _ write: (inout WireWriter) -> Void) {
            fields.pad(to: 8)
            fields.byte(code)
            fields.signature(type)
            write(&fields)
        }
        try? message.array(elementAlignment: 8) { (fields: inout WireWriter) throws(DBusError) in
            field(&fields, UInt8(DBUS_HEADER_FIELD_PATH), "o") { $0.string(path.rawValue) }
            field(&fields, UInt8(DBUS_HEADER_FIELD_INTERFACE), "s") { $0.string(interface) }
            field(&fields, UInt8(DBUS_HEADER_FIELD_MEMBER), "s") { $0.string(member) }
            if let destination {
                field(&fields, UInt8(DBUS_HEADER_FIELD_DESTINATION), "s") { $0.string(destination) }
            }
            if !signature.isEmpty {
                field(&fields, UInt8(DBUS_HEADER_FIELD_SIGNATURE), "g") { $0.signature(signature) }
            }
        }
        message.pad(to: 8)
        message.bytes.append(contentsOf: body)
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        let loaded = message.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                dbus_message_demarshal(chars.baseAddress, Int32(chars.count), &error)
            }
        }
        guard let loaded else { return nil }
        defer { dbus_message_unref(loaded) }
        // The copy has no serial (libdbus resets it), so dbus_connection_send numbers it like any other message.
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
