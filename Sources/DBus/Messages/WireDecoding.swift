// SPDX-License-Identifier: Apache-2.0
internal import CDBus

/// Messages from their wire form, for the fuzz targets (Fuzz/, docs/fuzzing.md): the path a message from the bus
/// takes (libdbus's validating loader, then ``DBusMessage`` through the Swift reader or libdbus's iterator), and
/// the Swift writer's path back. Package access: nothing outside devsync's own package needs it.
package enum DBusWireForm {
    /// What one marshalled message decodes to, by both readers.
    package struct Decoded: Sendable {
        /// The message as a connection hands it over.
        package var message: DBusMessage
        /// The body as libdbus's iterator reads it, value by value.
        package var iteratorArguments: [DBusValue]
        /// The body as ``WireReader`` reads it, where it reads bodies at all (a little-endian body with an array
        /// and no descriptors); nil otherwise.
        package var swiftArguments: [DBusValue]?
    }

    /// `bytes` as libdbus's loader takes a message off a socket; nil when it refuses them.
    package static func decode(marshalled bytes: [UInt8]) -> Decoded? {
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        let loaded = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                dbus_message_demarshal(chars.baseAddress, Int32(clamping: chars.count), &error)
            }
        }
        guard let loaded else { return nil }
        defer { dbus_message_unref(loaded) }
        var iteratorArguments: [DBusValue] = []
        var iter = DBusMessageIter()
        if dbus_message_iter_init(loaded, &iter) != 0 {
            repeat {
                guard let value = Marshalling.readValue(&iter) else { break }
                iteratorArguments.append(value)
            } while dbus_message_iter_next(&iter) != 0
        }
        return Decoded(
            message: Marshalling.copy(loaded), iteratorArguments: iteratorArguments,
            swiftArguments: Marshalling.decodedBody(of: loaded))
    }

    /// `values` written by ``WireWriter`` as the body of a signal, loaded by libdbus and read back as a
    /// connection would read a received one; nil when the writer cannot write them or libdbus refuses what it
    /// wrote.
    package static func reloaded(_ values: [DBusValue]) -> [DBusValue]? {
        guard let body = Marshalling.body(values),
            let message = Marshalling.load(
                type: DBUS_MESSAGE_TYPE_SIGNAL,
                fields: [
                    .path(DBusObjectPath(unchecked: "/org/devsync/Fuzz")), .interface("org.devsync.Fuzz"),
                    .member("Reloaded"),
                ] + (body.signature.isEmpty ? [] : [.signature(body.signature)]),
                body: body.bytes)
        else { return nil }
        defer { dbus_message_unref(message) }
        return Marshalling.arguments(of: message)
    }
}
