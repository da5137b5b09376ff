// SPDX-License-Identifier: Apache-2.0
/// A D-Bus message copied out of libdbus into Swift values: header fields and decoded arguments.
public struct DBusMessage: Sendable, CustomStringConvertible {
    /// What kind of message this is.
    public enum Kind: Sendable, Hashable {
        /// A method call.
        case methodCall
        /// A successful reply to a method call.
        case methodReturn
        /// An error reply to a method call.
        case error
        /// A signal.
        case signal
    }

    /// The message kind.
    public var kind: Kind
    /// The serial the sender gave the message.
    public var serial: UInt32
    /// For replies, the serial of the call being answered; 0 otherwise.
    public var replySerial: UInt32
    /// The unique bus name of the sender (`:1.42`), or nil on a peer-to-peer connection.
    public var sender: String?
    /// The destination bus name, if any.
    public var destination: String?
    /// The object path of a call or signal.
    public var path: DBusObjectPath?
    /// The interface of a call or signal.
    public var interface: String?
    /// The method or signal name.
    public var member: String?
    /// The error name of an error reply.
    public var errorName: String?
    /// The body's values, in order.
    public var arguments: [DBusValue]

    /// The body's signature, such as `sa{sv}`.
    public var signature: String { arguments.signature }

    /// A one-line summary for logs.
    public var description: String {
        var parts = ["\(kind)"]
        if let sender { parts.append("sender=\(sender)") }
        if let destination { parts.append("destination=\(destination)") }
        if let path { parts.append("path=\(path)") }
        if let interface { parts.append("interface=\(interface)") }
        if let member { parts.append("member=\(member)") }
        if let errorName { parts.append("error=\(errorName)") }
        parts.append("signature='\(signature)'")
        return parts.joined(separator: " ")
    }
}

/// A signal to emit: where it comes from, what it is called and what it carries.
public struct DBusSignalEmission: Sendable {
    /// The object the signal is emitted from.
    public var path: DBusObjectPath
    /// The interface that declares the signal.
    public var interface: String
    /// The signal name.
    public var member: String
    /// The signal's arguments.
    public var arguments: [DBusValue]
    /// A unicast destination, or nil to broadcast.
    public var destination: String?

    /// Describes a signal to emit.
    public init(
        path: DBusObjectPath, interface: String, member: String, arguments: [DBusValue] = [],
        destination: String? = nil
    ) {
        self.path = path
        self.interface = interface
        self.member = member
        self.arguments = arguments
        self.destination = destination
    }
}
