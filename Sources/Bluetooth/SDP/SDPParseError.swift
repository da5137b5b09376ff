// SPDX-License-Identifier: Apache-2.0
/// Bytes that are not a well-formed SDP service record.
public struct SDPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem, for code that reacts to it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The bytes end inside an element or before a sequence's declared end.
        public static let truncated = Code("truncated")
        /// A header names no valid type and size, an element overruns its sequence, or an attribute id is not
        /// a 16-bit unsigned integer.
        public static let malformed = Code("malformed")
        /// Sequences nest deeper than any real record does.
        public static let tooDeep = Code("too deep")
        /// Well-formed, but in a form libbluetooth cannot read (32-bit string lengths).
        public static let unsupported = Code("unsupported")

        public var description: String { name }
    }

    /// What kind of problem.
    public var code: Code
    /// The byte offset of the offending element header, from the start of the given bytes.
    public var offset: Int
    /// A sentence naming the problem.
    public var reason: String

    /// An error of kind `code` at `offset`.
    public init(_ code: Code, at offset: Int, _ reason: String) {
        self.code = code
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "SDP record \(code) at byte \(offset): \(reason)" }
}
