// SPDX-License-Identifier: Apache-2.0
import DBus
import Logging

/// Decides whether the caller of a mutating method may act on a device: its owner, root, or whoever polkit allows.
public struct CallerAuthorizer: Sendable {
    private let polkit: any PolkitAuthority
    private let logger: Logger

    /// An authorizer that asks `polkit` about callers who are neither root nor the owner.
    public init(polkit: any PolkitAuthority, logger: Logger) {
        self.polkit = polkit
        self.logger = logger
    }

    /// Who is calling, as the bus daemon vouches for it.
    public struct Caller: Sendable, Hashable {
        /// The caller's unique bus name.
        public var sender: String
        /// The caller's Unix uid.
        public var uid: UInt32
    }

    /// The caller of `call`; fails when the bus does not know it (it left while we asked).
    public func caller(of call: DBusMethodCall) async throws(BrokerError) -> Caller {
        do {
            return Caller(sender: call.sender, uid: try await call.callerCredentials().uid)
        } catch {
            throw BrokerError(.failed, "Cannot tell who is calling (\(call.sender)): \(error)")
        }
    }

    /// Whether `options` forbid a password prompt; a non-boolean value is `InvalidArgs`.
    public static func allowsUserInteraction(_ options: [String: DBusValue]) throws(BrokerError) -> Bool {
        guard let value = options[BrokerContract.noUserInteractionOption] else { return true }
        guard let noInteraction = value.bool else {
            throw BrokerError(
                .invalidArgs,
                "The option \(BrokerContract.noUserInteractionOption) must be a boolean, not '\(value.signature)'.")
        }
        return !noInteraction
    }

    /// Returns when `caller` may do `operation` on a thing owned by the user `owner` (nil: nobody), else throws
    /// `NotAuthorized` with `operation` and `standing` (why the caller does not pass as the owner, such as "you
    /// are not its owner") in its sentence. Root and the owner pass; anyone else needs the polkit `action`.
    public func authorize(
        _ caller: Caller, owner: String?, action: String, operation: String, standing: String,
        options: [String: DBusValue]
    ) async throws(BrokerError) {
        let interactive = try Self.allowsUserInteraction(options)
        if caller.uid == 0 { return }
        if let owner, let ownerUID = UserAccounts.uid(ofUser: owner), ownerUID == caller.uid { return }
        let authorized: Bool
        do {
            authorized = try await polkit.isAuthorized(
                sender: caller.sender, action: action, allowUserInteraction: interactive)
        } catch {
            logger.warning(
                "Cannot ask polkit", metadata: ["action": "\(action)", "sender": "\(caller.sender)", "error": "\(error)"])
            throw BrokerError(
                .notAuthorized,
                "You may not \(operation): \(standing), and polkit could not be asked for \(action) (\(error)).")
        }
        guard authorized else {
            logger.info(
                "Call refused",
                metadata: ["operation": "\(operation)", "uid": "\(caller.uid)", "action": "\(action)"])
            throw BrokerError(.notAuthorized, "You may not \(operation): \(standing), and polkit did not authorize \(action).")
        }
    }
}
