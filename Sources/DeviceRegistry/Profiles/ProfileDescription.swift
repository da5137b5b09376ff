// SPDX-License-Identifier: Apache-2.0
// How rules read in logs and `devsyncctl profiles list`: close to the FDI that was written.

extension MatchTest: CustomStringConvertible {
    /// The operator as FDI spells it, e.g. `int_outof`.
    public var operatorName: String {
        switch self {
        case .string: "string"
        case .int: "int"
        case .uint64: "uint64"
        case .bool: "bool"
        case .double: "double"
        case .exists: "exists"
        case .empty: "empty"
        case .isASCII: "is_ascii"
        case .isAbsolutePath: "is_absolute_path"
        case .contains: "contains"
        case .containsNoCase: "contains_ncase"
        case .containsNot: "contains_not"
        case .prefix: "prefix"
        case .prefixNoCase: "prefix_ncase"
        case .suffix: "suffix"
        case .suffixNoCase: "suffix_ncase"
        case .stringOutOf: "string_outof"
        case .intOutOf: "int_outof"
        case .prefixOutOf: "prefix_outof"
        case .containsOutOf: "contains_outof"
        case .compare(let comparison, _): comparison.rawValue
        }
    }

    /// The operand as FDI would write it (ints in hex).
    public var operand: String {
        func hex(_ value: Int32) -> String { value < 0 ? String(value) : "0x" + String(value, radix: 16) }
        return switch self {
        case .string(let text), .contains(let text), .containsNoCase(let text), .containsNot(let text),
            .prefix(let text), .prefixNoCase(let text), .suffix(let text), .suffixNoCase(let text):
            text
        case .int(let value): hex(value)
        case .uint64(let value): String(value)
        case .double(let value): String(value)
        case .bool(let flag), .exists(let flag), .empty(let flag), .isASCII(let flag), .isAbsolutePath(let flag):
            flag ? "true" : "false"
        case .stringOutOf(let values), .prefixOutOf(let values), .containsOutOf(let values):
            values.joined(separator: ";")
        case .intOutOf(let values): values.map(hex).joined(separator: ";")
        case .compare(_, let operand): operand.text
        }
    }

    /// `operator="operand"`.
    public var description: String { "\(operatorName)=\"\(operand)\"" }
}

extension MatchCondition: CustomStringConvertible {
    /// `key operator="operand"`.
    public var description: String { "\(key) \(test)" }
}

extension ProfileAction: CustomStringConvertible {
    /// `verb key (type) value`, e.g. `merge sync.kind (string) pda`.
    public var description: String {
        switch self {
        case .merge(let key, .value(let value)): "merge \(key) (\(value.type)) \(value)"
        case .merge(let key, .copy(let source)): "merge \(key) (copy_property) \(source)"
        case .append(let key, let value): "append \(key) \(Self.describe(value))"
        case .prepend(let key, let value): "prepend \(key) \(Self.describe(value))"
        case .addSet(let key, let element): "addset \(key) (strlist) \(element)"
        case .remove(let key): "remove \(key)"
        case .removeElement(let key, let element): "remove \(key) (strlist) \(element)"
        }
    }

    private static func describe(_ value: AppendValue) -> String {
        switch value {
        case .string(let text): "(string) \(text)"
        case .element(let element): "(strlist) \(element)"
        case .copy(let source): "(copy_property) \(source)"
        }
    }
}
