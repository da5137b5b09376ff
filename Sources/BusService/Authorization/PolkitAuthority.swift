// SPDX-License-Identifier: Apache-2.0
import DBus
import Logging

/// Answers whether a bus peer may perform a polkit action.
///
/// A protocol so that the broker can be tested against a fixed answer as well as a real (or dbusmock) polkitd.
public protocol PolkitAuthority: Sendable {
    /// Whether the peer with unique bus name `sender` may perform `action`; polkit may prompt for a password
    /// when `allowUserInteraction` is true. Throws when polkit cannot be asked.
    func isAuthorized(sender: String, action: String, allowUserInteraction: Bool) async throws -> Bool
}

/// polkit's authority, asked over D-Bus (`org.freedesktop.PolicyKit1.Authority.CheckAuthorization`).
public struct PolkitClient: PolkitAuthority {
    /// polkitd's bus name.
    public static let busName = "org.freedesktop.PolicyKit1"
    /// The authority object.
    public static let authorityPath = try! DBusObjectPath("/org/freedesktop/PolicyKit1/Authority")
    /// The authority interface.
    public static let authorityInterface = "org.freedesktop.PolicyKit1.Authority"

    private let connection: DBusConnection
    private let logger: Logger

    /// A client that asks the polkitd on `connection`'s bus.
    public init(connection: DBusConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public func isAuthorized(sender: String, action: String, allowUserInteraction: Bool) async throws -> Bool {
        let subject = DBusValue.structure([
            .string("system-bus-name"),
            .vardict(["name": .string(sender)]),
        ])
        let allowUserInteractionFlag: UInt32 = 1
        let reply = try await connection.call(
            destination: Self.busName, path: Self.authorityPath, interface: Self.authorityInterface,
            member: "CheckAuthorization",
            arguments: [
                subject, .string(action), .dictionary(key: .string, value: .string, [:]),
                .uint32(allowUserInteraction ? allowUserInteractionFlag : 0), .string(""),
            ],
            // A password prompt waits for a person.
            timeout: allowUserInteraction ? .seconds(120) : .seconds(25))
        guard let fields = reply.first?.structureFields, let authorized = fields.first?.bool else {
            throw DBusError(
                name: DBusError.Name.failed, message: "polkit answered CheckAuthorization with '\(reply.signature)'")
        }
        logger.debug(
            "polkit answered", metadata: ["sender": "\(sender)", "action": "\(action)", "authorized": "\(authorized)"])
        return authorized
    }
}
