// SPDX-License-Identifier: Apache-2.0
/// Why a registry operation was refused, with the device it concerns and a sentence a user can act on.
public struct RegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of refusal this is; opaque so that new kinds can be added. The D-Bus layer maps each to a
    /// named error.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case noSuchDevice, ambiguousDevice, badState, invalidArgument, storeFailure
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// No device has this uid (or uid prefix).
        public static let noSuchDevice = Code(.noSuchDevice)
        /// More than one device has this uid prefix.
        public static let ambiguousDevice = Code(.ambiguousDevice)
        /// The device's status does not allow the operation (approving an approved device …).
        public static let badState = Code(.badState)
        /// An argument is unusable (an empty owner …).
        public static let invalidArgument = Code(.invalidArgument)
        /// The decision could not be written to the state directory; nothing changed.
        public static let storeFailure = Code(.storeFailure)

        /// The code's name, for logs.
        public var description: String { base.rawValue }
    }

    /// The kind of refusal.
    public var code: Code
    /// The uid (or prefix) the operation was asked for.
    public var uid: String
    /// What went wrong, as a sentence.
    public var message: String

    /// An error of `code` about `uid`.
    public init(code: Code, uid: String, message: String) {
        self.code = code
        self.uid = uid
        self.message = message
    }

    /// The sentence for the user.
    public var description: String { message }
}
