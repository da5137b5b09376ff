// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry

/// Why the broker refused a call: one of the contract's named errors and a sentence a user can act on.
public struct BrokerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal; each is one `org.devsync.Broker1.Error.*` name.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The D-Bus error name.
        public let errorName: String

        private init(_ suffix: String) { errorName = "org.devsync.Broker1.Error." + suffix }

        /// The caller is neither the owner nor authorized by polkit.
        public static let notAuthorized = Code("NotAuthorized")
        /// No device has that uid, or the prefix is ambiguous.
        public static let noSuchDevice = Code("NoSuchDevice")
        /// The device has no action with that id.
        public static let noSuchAction = Code("NoSuchAction")
        /// The device's (or job's) state does not allow the call.
        public static let badState = Code("BadState")
        /// No registered engine of the owner handles the device's plugin.
        public static let noEngine = Code("NoEngine")
        /// The caller holds as many of something (engine registrations, an engine's running jobs) as it may.
        public static let limitsExceeded = Code("LimitsExceeded")
        /// An argument or option is malformed.
        public static let invalidArgs = Code("InvalidArgs")
        /// Anything else.
        public static let failed = Code("Failed")
        /// Another process owns the broker's bus name (never sent on the bus; reported at start-up).
        public static let nameTaken = Code("NameTaken")

        public var description: String { errorName }
    }

    /// The kind of refusal.
    public var code: Code
    /// What went wrong, as a sentence.
    public var message: String

    /// An error of `code` saying `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The registry's refusal under the contract's name.
    public init(_ error: RegistryError) {
        let code: Code =
            switch error.code {
            case .noSuchDevice, .ambiguousDevice: .noSuchDevice
            case .badState: .badState
            case .invalidArgument: .invalidArgs
            default: .failed
            }
        self.init(code, error.message)
    }

    /// The error reply this becomes on the bus.
    public var dbusError: DBusError { DBusError(name: code.errorName, message: message) }

    public var description: String { "\(code.errorName): \(message)" }
}
