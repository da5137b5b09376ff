// SPDX-License-Identifier: Apache-2.0
/// What a `<match>` tests, with its value already parsed (HAL's operators).
public enum MatchTest: Sendable, Hashable {
    /// The property is a string equal to this one.
    case string(String)
    /// The property is an `int` equal to this one.
    case int(Int32)
    /// The property is a `uint64` equal to this one.
    case uint64(UInt64)
    /// The property is a `bool` equal to this one.
    case bool(Bool)
    /// The property is a `double` equal to this one.
    case double(Double)
    /// The property exists (true) or does not (false).
    case exists(Bool)
    /// The property is a string that is empty (true) or not (false).
    case empty(Bool)
    /// The property is a string of ASCII only (true) or not (false).
    case isASCII(Bool)
    /// The property is a string starting with `/` (true) or not (false).
    case isAbsolutePath(Bool)
    /// A string property contains the substring, or a strlist property has the element.
    case contains(String)
    /// As ``contains(_:)`` ignoring case; the value is stored lowercased.
    case containsNoCase(String)
    /// The negation of ``contains(_:)``, true when the property is absent.
    case containsNot(String)
    /// A string property starts with the value.
    case prefix(String)
    /// As ``prefix(_:)`` ignoring case; the value is stored lowercased.
    case prefixNoCase(String)
    /// A string property ends with the value.
    case suffix(String)
    /// As ``suffix(_:)`` ignoring case; the value is stored lowercased.
    case suffixNoCase(String)
    /// A string property equals one of the `;`-separated values.
    case stringOutOf([String])
    /// An `int` property equals one of the `;`-separated values.
    case intOutOf([Int32])
    /// A string property starts with one of the `;`-separated values.
    case prefixOutOf([String])
    /// A string property contains one of the `;`-separated values.
    case containsOutOf([String])
    /// The property compares to the operand as the comparison says (strings bytewise, numbers by value).
    case compare(Comparison, CompareOperand)

    /// HAL's `compare_*` operators.
    public enum Comparison: String, Sendable, Hashable, CaseIterable {
        /// The property sorts before the operand.
        case lessThan = "compare_lt"
        /// The property sorts before or equal to the operand.
        case lessOrEqual = "compare_le"
        /// The property sorts after the operand.
        case greaterThan = "compare_gt"
        /// The property sorts after or equal to the operand.
        case greaterOrEqual = "compare_ge"
        /// The property differs from the operand.
        case notEqual = "compare_ne"
    }

    /// The right-hand side of a comparison, read once as each type it may be compared as.
    public struct CompareOperand: Sendable, Hashable {
        /// The text as written.
        public var text: String
        /// The text as an integer, if it is one.
        public var integer: Int64?
        /// The text as a double, if it is one.
        public var double: Double?

        /// The operand written as `text`.
        public init(_ text: String) {
            self.text = text
            self.integer = FDIValue.integer(text)
            self.double = FDIValue.double(text)
        }
    }
}

/// One `<match key="…" OP="…">`: the unit HAL evaluates once, when its element is entered.
public struct MatchCondition: Sendable, Hashable {
    /// Identifies the `<match>` element within its ``ProfileSet`` (rules under the same element share it).
    public var id: Int
    /// The property key tested.
    public var key: String
    /// The test.
    public var test: MatchTest
    /// Where the `<match>` element is.
    public var location: SourceLocation

    /// A condition with this identity, key and test.
    public init(id: Int, key: String, test: MatchTest, location: SourceLocation) {
        self.id = id
        self.key = key
        self.test = test
        self.location = location
    }
}

/// The value a `<merge>` sets.
public enum MergeValue: Sendable, Hashable {
    /// A literal value of the merge's type; a `strlist` merge holds a one-element list.
    case value(PropertyValue)
    /// `type="copy_property"`: the value of another property of the same device.
    case copy(from: String)
}

/// What `<append>` and `<prepend>` add.
public enum AppendValue: Sendable, Hashable {
    /// `type="string"`: text concatenated to a string property.
    case string(String)
    /// `type="strlist"`: one element added to a strlist property.
    case element(String)
    /// `type="copy_property"`: another property's value, as text, concatenated.
    case copy(from: String)
}

/// One action of a rule, applied in document order.
public enum ProfileAction: Sendable, Hashable {
    /// `<merge>`: sets the key.
    case merge(key: String, MergeValue)
    /// `<append>`: adds at the end of a string or strlist.
    case append(key: String, AppendValue)
    /// `<prepend>`: adds at the start of a string or strlist.
    case prepend(key: String, AppendValue)
    /// `<addset>`: adds an element to a strlist unless it is already there.
    case addSet(key: String, String)
    /// `<remove key/>`: deletes the key.
    case remove(key: String)
    /// `<remove key type="strlist">x</remove>`: deletes every element equal to x from a strlist.
    case removeElement(key: String, String)

    /// The key the action writes.
    public var key: String {
        switch self {
        case .merge(let key, _), .append(let key, _), .prepend(let key, _), .addSet(let key, _),
            .remove(let key), .removeElement(let key, _):
            key
        }
    }
}

/// A run of actions and the chain of `<match>` elements around it: HAL's unit of "this block applies".
///
/// A `<device>` or `<match>` block whose actions are interrupted by a nested `<match>` yields one rule per run,
/// all with the block's location.
public struct ProfileRule: Sendable, Hashable {
    /// Where the innermost enclosing `<device>` or `<match>` element is.
    public var location: SourceLocation
    /// The enclosing `<match>` elements, outermost first; all must hold.
    public var conditions: [MatchCondition]
    /// The actions, in document order.
    public var actions: [ProfileAction]

    /// A rule at `location`.
    public init(location: SourceLocation, conditions: [MatchCondition], actions: [ProfileAction]) {
        self.location = location
        self.conditions = conditions
        self.actions = actions
    }
}

/// The rules of one parsed `.fdi` file.
public struct ProfileFile: Sendable, Hashable {
    /// The path as the parser was given it.
    public var path: String
    /// The rules in document order.
    public var rules: [ProfileRule]
    /// The id of the file's first `<match>` element.
    public var firstConditionID: Int
    /// How many `<match>` elements the file has; condition ids are `firstConditionID..<firstConditionID + conditionCount`.
    public var conditionCount: Int

    /// A parsed file.
    public init(path: String, rules: [ProfileRule], firstConditionID: Int = 0, conditionCount: Int) {
        self.path = path
        self.rules = rules
        self.firstConditionID = firstConditionID
        self.conditionCount = conditionCount
    }
}

/// Every loaded rule in application order: the files in load order, each file's rules in document order.
public struct ProfileSet: Sendable, Hashable {
    /// The rules, in the order they apply.
    public private(set) var rules: [ProfileRule] = []
    /// The files the rules came from, in load order.
    public private(set) var files: [String] = []
    /// How many `<match>` elements there are in all; condition ids are `0..<conditionCount`.
    public private(set) var conditionCount = 0

    /// An empty set.
    public init() {}

    /// A set of `files`, applied in the order given.
    public init(_ files: [ProfileFile]) {
        for file in files { append(file) }
    }

    /// Adds a file's rules after the existing ones, renumbering its conditions to stay unique in the set.
    public mutating func append(_ file: ProfileFile) {
        let offset = conditionCount - file.firstConditionID
        if offset == 0 {
            rules.append(contentsOf: file.rules)
        } else {
            for var rule in file.rules {
                for index in rule.conditions.indices { rule.conditions[index].id += offset }
                rules.append(rule)
            }
        }
        files.append(file.path)
        conditionCount += file.conditionCount
    }
}
