// SPDX-License-Identifier: Apache-2.0
/// Where a rule was written: the file and the position of its element.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The file path as the loader was given it.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// A location in `file` at `line`:`column`.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, as compilers write it.
    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// The result of applying profiles to a device's raw properties.
public struct MatchOutcome: Sendable, Hashable {
    /// The raw properties with every matching rule's merges applied, in order.
    public var properties: DeviceProperties
    /// The `<device>`/`<match>` blocks whose actions were applied, in application order.
    public var appliedRules: [SourceLocation]

    /// An outcome with these properties and applied rules.
    public init(properties: DeviceProperties, appliedRules: [SourceLocation]) {
        self.properties = properties
        self.appliedRules = appliedRules
    }
}

/// Applies a set of loaded profiles to a device. The compiled index and the plain evaluator both conform,
/// and must give identical outcomes.
public protocol DeviceMatcher: Sendable {
    /// Applies every matching rule, in order, to `properties`.
    func match(_ properties: DeviceProperties) -> MatchOutcome
}
