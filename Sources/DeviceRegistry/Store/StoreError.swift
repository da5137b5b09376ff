// SPDX-License-Identifier: Apache-2.0
/// A failure of the on-disk device store, with the path it concerns and a sentence an operator can act on.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is; opaque so that new kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case io, unsupportedVersion, malformed, invalidUID
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// A system call failed (see ``StoreError/errno``).
        public static let io = Code(.io)
        /// The state directory was written by a newer devsync; it is left untouched.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A file's content is not what the store writes.
        public static let malformed = Code(.malformed)
        /// A uid that is not a safe file name was given to the store.
        public static let invalidUID = Code(.invalidUID)

        /// The code's name, for logs.
        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// The file or directory concerned.
    public var path: String
    /// What went wrong, as a sentence.
    public var message: String
    /// The errno value, for ``Code/io`` failures.
    public var errno: Int32?

    /// A store error of `code` about `path`.
    public init(code: Code, path: String, message: String, errno: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.errno = errno
    }

    init(_ error: SystemError) {
        self.init(code: .io, path: error.path, message: error.description, errno: error.errno)
    }

    /// The path and the sentence, for logs.
    public var description: String { "\(path): \(message)" }
}
