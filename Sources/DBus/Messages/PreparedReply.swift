// SPDX-License-Identifier: Apache-2.0
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
        // The reply serial is overwritten per reply; a copy gets the connection's own serial.
        guard let loaded = Marshalling.load(
            type: DBUS_MESSAGE_TYPE_METHOD_RETURN, fields: [.replySerial(1), .signature(signature)], body: body)
        else { return nil }
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
