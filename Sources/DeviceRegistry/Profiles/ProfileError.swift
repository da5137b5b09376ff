// SPDX-License-Identifier: Apache-2.0
/// Why a profile file, or part of one, was rejected: where, and a sentence saying what was expected.
public struct ProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem, for code that reacts differently to, say, an unreadable file and a typo.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The file is not well-formed XML, or breaks a reader limit.
        public static let malformedXML = Code("malformed-xml")
        /// An element FDI does not know, or one in the wrong place.
        public static let unknownElement = Code("unknown-element")
        /// An attribute that does not belong on its element, or a required one that is missing.
        public static let badAttribute = Code("bad-attribute")
        /// A `<match>` operator devsync does not know.
        public static let unknownOperator = Code("unknown-operator")
        /// A `type` that the action does not accept.
        public static let unknownType = Code("unknown-type")
        /// A value that does not parse as its type (`int="abc"`).
        public static let invalidValue = Code("invalid-value")
        /// A HAL feature devsync deliberately leaves out (key paths into other devices, `<spawn>` …).
        public static let unsupported = Code("unsupported")
        /// The file or directory could not be read.
        public static let unreadable = Code("unreadable")

        /// The code's short name.
        public var description: String { name }
    }

    /// What kind of problem this is.
    public var code: Code
    /// Where it is; line and column are 0 when the problem concerns the whole file.
    public var location: SourceLocation
    /// A sentence saying what was expected.
    public var message: String

    /// An error of `code` at `location`.
    public init(_ code: Code, at location: SourceLocation, _ message: String) {
        self.code = code
        self.location = location
        self.message = message
    }

    /// `file:line:column: message`, as compilers write it (just `file: message` for whole-file problems).
    public var description: String {
        location.line == 0 ? "\(location.file): \(message)" : "\(location): \(message)"
    }
}
