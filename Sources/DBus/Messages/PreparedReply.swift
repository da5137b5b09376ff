internal import CDBus

/// A method return whose body was marshalled once, sent as a copy to every caller until what it shows changes.
///
/// libdbus validates the body once, when the template is loaded; each reply is then a `dbus_message_copy` with
/// the caller's reply serial and destination set, instead of a tree of values walked, checked and appended again.
final class PreparedReply: @unchecked Sendable {  // used only on the owning connection's queue
    let template: OpaquePointer
    /// The body's size in bytes, for logs and benchmarks.
    let bodySize: Int

    /// Loads a method return carrying `body` (marshalled with ``WireWriter`` from offset 0) of `signature`; nil if
    /// libdbus does not accept it.
    init?(body: [UInt8], signature: String) {
        var header = WireWriter()
        header.byte(UInt8(ascii: "l"))
        header.byte(UInt8(DBUS_MESSAGE_TYPE_METHOD_RETURN))
        header.byte(1)  // NO_REPLY_EXPECTED, as every reply the connection sends
        header.byte(1)  // protocol version
        header.integer(UInt32(body.count))
        header.integer(UInt32(1))  // serial: a loaded message needs one; a copy gets the connection's own
        try? header.array(elementAlignment: 8) { (fields: inout WireWriter) throws(DBusError) in
            fields.pad(to: 8)
            fields.byte(5)  // REPLY_SERIAL, overwritten per reply
            fields.signature("u")
            fields.integer(UInt32(1))
            fields.pad(to: 8)
            fields.byte(8)  // SIGNATURE
            fields.signature("g")
            fields.signature(signature)
        }
        header.pad(to: 8)
        header.bytes.append(contentsOf: body)
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        let loaded = header.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                dbus_message_demarshal(chars.baseAddress, Int32(chars.count), &error)
            }
        }
        guard let loaded else { return nil }
        template = loaded
        bodySize = body.count
    }

    deinit {
        dbus_message_unref(template)
    }

    /// A copy of the template addressed as the reply to the call at `serial` from `destination`; nil when out of memory.
    func reply(serial: UInt32, destination: String?) -> OpaquePointer? {
        guard let message = dbus_message_copy(template) else { return nil }
        guard dbus_message_set_reply_serial(message, serial) != 0,
            destination.map({ dbus_message_set_destination(message, $0) != 0 }) ?? true
        else {
            dbus_message_unref(message)
            return nil
        }
        return message
    }
}
