// SPDX-License-Identifier: Apache-2.0
/// Which signals a subscription wants, as a bus match rule (`type='signal',interface='…',…`).
///
/// The bus filters by the rule and the connection filters again locally, so two subscriptions on one connection
/// never see each other's signals. Messages carry the sender's unique name, so for a well-known `sender` the
/// connection follows the name's owner (GetNameOwner, then NameOwnerChanged) while the subscription lasts.
public struct DBusMatchRule: Sendable, Hashable {
    /// The sender's bus name (unique or well-known).
    public var sender: String?
    /// The exact object path.
    public var path: DBusObjectPath?
    /// A path and everything below it.
    public var pathNamespace: DBusObjectPath?
    /// The signal's interface.
    public var interface: String?
    /// The signal name.
    public var member: String?
    /// The first argument, which must be a string equal to this.
    public var arg0: String?

    /// Describes the signals to match; nil fields match anything.
    public init(
        sender: String? = nil, path: DBusObjectPath? = nil, pathNamespace: DBusObjectPath? = nil,
        interface: String? = nil, member: String? = nil, arg0: String? = nil
    ) {
        self.sender = sender
        self.path = path
        self.pathNamespace = pathNamespace
        self.interface = interface
        self.member = member
        self.arg0 = arg0
    }

    /// Checks the names so that the rule text is well-formed.
    func validate() throws(DBusError) {
        if let sender { try DBusNames.requireBusName(sender) }
        if let interface { try DBusNames.requireInterface(interface) }
        if let member { try DBusNames.requireMember(member) }
    }

    /// The rule as AddMatch takes it.
    public var text: String {
        var parts = ["type='signal'"]
        if let sender { parts.append("sender='\(sender)'") }
        if let path { parts.append("path='\(path.rawValue)'") }
        if let pathNamespace { parts.append("path_namespace='\(pathNamespace.rawValue)'") }
        if let interface { parts.append("interface='\(interface)'") }
        if let member { parts.append("member='\(member)'") }
        if let arg0 { parts.append("arg0='\(Self.escape(Marshalling.sanitized(arg0)))'") }
        return parts.joined(separator: ",")
    }

    /// Match-rule quoting: a `'` cannot be escaped inside quotes, so it is closed, written as `\'`, reopened.
    private static func escape(_ value: String) -> String {
        value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''")
    }

    /// Whether `sender` is a well-known name other than the bus's own, whose owner must be followed.
    var hasWellKnownSender: Bool {
        guard let sender else { return false }
        return !sender.hasPrefix(":") && sender != "org.freedesktop.DBus"
    }

    /// Whether a received signal fits the rule; `ownerOf` gives the unique owner of a well-known sender.
    func matches(_ message: DBusMessage, ownerOf: (String) -> String?) -> Bool {
        guard message.kind == .signal else { return false }
        if let sender {
            let expected = hasWellKnownSender ? ownerOf(sender) : sender
            guard let expected, message.sender == expected else { return false }
        }
        if let path, message.path != path { return false }
        if let pathNamespace, !(message.path?.isDescendant(of: pathNamespace) ?? false) { return false }
        if let interface, message.interface != interface { return false }
        if let member, message.member != member { return false }
        if let arg0, message.arguments.first?.string != arg0 { return false }
        return true
    }
}

extension DBusMatchRule {
    /// The bus's `NameOwnerChanged` signals for `name`: subscribed together with other rules in one
    /// `signals(matchingAny:)`, they arrive in bus order with the rest (`DBusNameOwnerChange(_:)` reads them).
    public static func nameOwnerChanged(of name: String) -> DBusMatchRule {
        DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged", arg0: name)
    }
}

/// A change of the owner of a bus name, from NameOwnerChanged.
public struct DBusNameOwnerChange: Sendable, Hashable {
    /// The bus name whose owner changed.
    public var name: String
    /// The unique name of the previous owner, or nil if it had none.
    public var oldOwner: String?
    /// The unique name of the new owner, or nil if the name is now unowned.
    public var newOwner: String?

    /// Describes an owner change.
    public init(name: String, oldOwner: String?, newOwner: String?) {
        self.name = name
        self.oldOwner = oldOwner
        self.newOwner = newOwner
    }

    /// The change a `NameOwnerChanged` signal of the bus reports; nil for any other message.
    public init?(_ message: DBusMessage) {
        guard message.interface == "org.freedesktop.DBus", message.member == "NameOwnerChanged",
            message.arguments.count == 3, let name = message.arguments[0].string,
            let old = message.arguments[1].string, let new = message.arguments[2].string
        else { return nil }
        self.init(name: name, oldOwner: old.isEmpty ? nil : old, newOwner: new.isEmpty ? nil : new)
    }
}

/// Who a peer on the bus is, as the bus daemon vouches for it.
public struct DBusCredentials: Sendable, Hashable {
    /// The Unix user id of the peer process.
    public var uid: UInt32
    /// The process id of the peer, when the bus knows it.
    public var pid: UInt32?

    /// Describes a peer.
    public init(uid: UInt32, pid: UInt32?) {
        self.uid = uid
        self.pid = pid
    }
}
