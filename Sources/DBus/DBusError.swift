// SPDX-License-Identifier: Apache-2.0
/// A D-Bus error: a dotted error name a program can match on and a sentence a person can act on.
///
/// Remote errors arrive with the name the peer sent; local failures (a value that cannot be marshalled, a lost
/// connection, a timeout) use the standard `org.freedesktop.DBus.Error.*` names so callers handle both alike.
/// A method handler that throws a `DBusError` sends it back to the caller as the error reply.
public struct DBusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error name, such as `org.freedesktop.DBus.Error.UnknownMethod`.
    public var name: String
    /// The human-readable sentence that travels with the error.
    public var message: String
    /// Who sent the error reply: the peer's unique name, `org.freedesktop.DBus` when the bus daemon itself
    /// refused or failed the call (policy, limits, an unknown destination), nil for an error made locally.
    ///
    /// The bus stamps every message's sender, so a peer cannot pose as the bus. Not part of equality: two
    /// errors with the same name and sentence are the same error, wherever they came from.
    public var sender: String?

    /// Creates an error with a dotted name and a sentence.
    public init(name: String, message: String, sender: String? = nil) {
        self.name = name
        self.message = message
        self.sender = sender
    }

    /// Whether the bus daemon, rather than the peer called, sent this error.
    public var isFromBus: Bool { sender == "org.freedesktop.DBus" }

    public static func == (lhs: DBusError, rhs: DBusError) -> Bool {
        lhs.name == rhs.name && lhs.message == rhs.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(message)
    }

    /// `name: message`, as `busctl` and `gdbus` print errors.
    public var description: String { "\(name): \(message)" }
}

extension DBusError {
    /// Well-known error names from the D-Bus specification and libdbus.
    public enum Name {
        /// A generic failure.
        public static let failed = "org.freedesktop.DBus.Error.Failed"
        /// The arguments did not have the signature or the values the method expects.
        public static let invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs"
        /// The object has no such method.
        public static let unknownMethod = "org.freedesktop.DBus.Error.UnknownMethod"
        /// No object is exported at the path.
        public static let unknownObject = "org.freedesktop.DBus.Error.UnknownObject"
        /// The object does not implement the interface.
        public static let unknownInterface = "org.freedesktop.DBus.Error.UnknownInterface"
        /// The object has no such property.
        public static let unknownProperty = "org.freedesktop.DBus.Error.UnknownProperty"
        /// The property cannot be written.
        public static let propertyReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly"
        /// No reply arrived before the call's timeout.
        public static let noReply = "org.freedesktop.DBus.Error.NoReply"
        /// The connection is closed or was lost.
        public static let disconnected = "org.freedesktop.DBus.Error.Disconnected"
        /// The bus name has no owner.
        public static let nameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
        /// The bus refused the caller.
        public static let accessDenied = "org.freedesktop.DBus.Error.AccessDenied"
        /// A well-known name is owned by another connection (RequestName with DO_NOT_QUEUE was refused).
        public static let nameTaken = "org.freedesktop.DBus.Error.AddressInUse"
        /// The bus address could not be parsed or reached.
        public static let badAddress = "org.freedesktop.DBus.Error.BadAddress"
    }

    static func invalidArgs(_ message: String) -> DBusError {
        DBusError(name: Name.invalidArgs, message: message)
    }

    static func failed(_ message: String) -> DBusError {
        DBusError(name: Name.failed, message: message)
    }
}
