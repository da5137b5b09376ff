// SPDX-License-Identifier: Apache-2.0
internal import CDBus

/// A validated D-Bus type signature: zero or more single complete types, at most 255 bytes.
public struct DBusSignature: Hashable, Sendable, CustomStringConvertible {
    /// The signature text, such as `sa{sv}`.
    public let rawValue: String
    /// The single complete types the signature lists, in order.
    public let types: [DBusType]

    /// Validates `text` (with libdbus's own `dbus_signature_validate`) and parses it.
    public init(_ text: String) throws(DBusError) {
        guard text.utf8.count <= 255, !text.utf8.contains(0), let types = DBusType.parse(text),
            Self.libdbusAccepts(text)
        else {
            throw .invalidArgs("'\(text)' is not a valid D-Bus signature")
        }
        self.rawValue = text
        self.types = types
    }

    /// The signature of a list of types, such as the arguments of a method.
    public init(_ types: [DBusType]) {
        self.types = types
        self.rawValue = types.map(\.signature).joined()
    }

    /// The signature of one type.
    public init(_ type: DBusType) {
        self.init([type])
    }

    /// The empty signature, for methods without arguments.
    public static let empty = DBusSignature([DBusType]())

    /// The signature text.
    public var description: String { rawValue }

    init(trusted text: String, types: [DBusType]) {
        self.rawValue = text
        self.types = types
    }

    private static func libdbusAccepts(_ text: String) -> Bool {
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        return dbus_signature_validate(text, &error) != 0
    }
}
