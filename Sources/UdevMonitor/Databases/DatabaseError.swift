// SPDX-License-Identifier: Apache-2.0
/// A problem with one of the databases devsync reads itself (the hardware database, a media-player-info file,
/// `modules.alias`): where, and what was expected. Bad lines are skipped with one of these; the rest is kept.
public struct DatabaseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file the problem is in.
    public var file: String
    /// The 1-based line, when the problem is one line.
    public var line: Int?
    /// What was wrong and what was expected, one sentence.
    public var message: String

    /// An error in `file`, at `line` if given.
    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, as compilers write it.
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}
