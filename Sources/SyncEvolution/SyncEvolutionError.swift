// SPDX-License-Identifier: Apache-2.0
/// Why a SyncEvolution sync did not happen or did not finish, with a sentence a user can act on.
public struct SyncEvolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; callers branch on it, users read ``message``.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The code's name, for logs.
        public var description: String { name }

        /// `syncevolution` is not on PATH.
        public static let notInstalled = Code("notInstalled")
        /// The device's description cannot become a configuration (a malformed address, channel or context).
        public static let invalidDevice = Code("invalidDevice")
        /// devsync asked for a data type SyncEvolution does not sync.
        public static let unsupportedDataType = Code("unsupportedDataType")
        /// Creating or updating the SyncEvolution configuration failed.
        public static let configuration = Code("configuration")
        /// The phone could not be reached (no SDP answer, no Bluetooth adapter, out of range).
        public static let unreachable = Code("unreachable")
        /// SyncEvolution died of a signal (the Debian 12 build's crash on a real phone is one).
        public static let crashed = Code("crashed")
        /// The sync was cancelled and SyncEvolution aborted it.
        public static let cancelled = Code("cancelled")
        /// SyncEvolution outlived the time bound and was stopped.
        public static let timedOut = Code("timedOut")
        /// SyncEvolution ran and reported a failure; the message carries its sentence.
        public static let syncFailed = Code("syncFailed")
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for the user, naming what to do where there is something to do.
    public var message: String
    /// SyncEvolution's session log (`syncevolution-log.html`), when the run got that far.
    public var logFile: String?

    /// An error of `code` saying `message`.
    public init(_ code: Code, _ message: String, logFile: String? = nil) {
        self.code = code
        self.message = message
        self.logFile = logFile
    }

    /// The sentence for the user.
    public var description: String { message }
}
