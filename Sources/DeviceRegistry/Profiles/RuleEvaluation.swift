// SPDX-License-Identifier: Apache-2.0
// HAL's semantics for one condition and one action. Both matchers use exactly these functions, so they can
// differ only in which rules they look at, never in what a rule means. `docs/profiles.md` ("Matching
// semantics") explains each choice.

extension MatchCondition {
    /// Whether the condition holds for `properties` now.
    public func holds(in properties: DeviceProperties) -> Bool {
        test.holds(for: properties[key])
    }
}

extension MatchTest {
    /// Whether the test holds for a property whose current value is `value` (nil when absent).
    public func holds(for value: PropertyValue?) -> Bool {
        switch self {
        case .string(let expected):
            guard case .string(let actual)? = value else { return false }
            return UTF8Text.equal(actual, expected)
        case .int(let expected):
            return value?.intValue == expected
        case .uint64(let expected):
            return value?.uint64Value == expected
        case .bool(let expected):
            return value?.boolValue == expected
        case .double(let expected):
            return value?.doubleValue == expected
        case .exists(let wanted):
            return (value != nil) == wanted
        case .empty(let wanted):
            guard case .string(let actual)? = value else { return false }
            return actual.isEmpty == wanted
        case .isASCII(let wanted):
            guard case .string(let actual)? = value else { return false }
            return actual.utf8.allSatisfy { $0 < 0x80 } == wanted
        case .isAbsolutePath(let wanted):
            guard case .string(let actual)? = value else { return false }
            return (actual.utf8.first == UInt8(ascii: "/")) == wanted
        case .contains(let needle):
            return Self.contains(value, needle) ?? false
        case .containsNot(let needle):
            // HAL: an absent property does not contain anything; a property of another type fails outright.
            guard let value else { return true }
            return Self.contains(value, needle).map { !$0 } ?? false
        case .containsNoCase(let needle):
            switch value {
            case .string(let actual)?: return UTF8Text.contains(actual.lowercased(), needle)
            case .strlist(let list)?: return list.contains { UTF8Text.equal($0.lowercased(), needle) }
            default: return false
            }
        case .prefix(let prefix):
            guard case .string(let actual)? = value else { return false }
            return UTF8Text.hasPrefix(actual, prefix)
        case .prefixNoCase(let prefix):
            guard case .string(let actual)? = value else { return false }
            return UTF8Text.hasPrefix(actual.lowercased(), prefix)
        case .suffix(let suffix):
            guard case .string(let actual)? = value else { return false }
            return UTF8Text.hasSuffix(actual, suffix)
        case .suffixNoCase(let suffix):
            guard case .string(let actual)? = value else { return false }
            return UTF8Text.hasSuffix(actual.lowercased(), suffix)
        case .stringOutOf(let alternatives):
            guard case .string(let actual)? = value else { return false }
            return alternatives.contains { UTF8Text.equal(actual, $0) }
        case .prefixOutOf(let alternatives):
            guard case .string(let actual)? = value else { return false }
            return alternatives.contains { UTF8Text.hasPrefix(actual, $0) }
        case .containsOutOf(let alternatives):
            guard case .string(let actual)? = value else { return false }
            return alternatives.contains { UTF8Text.contains(actual, $0) }
        case .intOutOf(let alternatives):
            guard case .int(let actual)? = value else { return false }
            return alternatives.contains(actual)
        case .compare(let comparison, let operand):
            guard let value, let order = Self.order(of: value, against: operand) else { return false }
            switch comparison {
            case .lessThan: return order < 0
            case .lessOrEqual: return order <= 0
            case .greaterThan: return order > 0
            case .greaterOrEqual: return order >= 0
            case .notEqual: return order != 0
            }
        }
    }

    /// `contains` on a string (substring) or strlist (element); nil for other types.
    private static func contains(_ value: PropertyValue?, _ needle: String) -> Bool? {
        switch value {
        case .string(let actual)?: UTF8Text.contains(actual, needle)
        case .strlist(let list)?: list.contains { UTF8Text.equal($0, needle) }
        default: nil
        }
    }

    /// -1, 0 or 1 as `value` sorts before, equal to or after the operand; nil when they cannot be compared.
    private static func order(of value: PropertyValue, against operand: CompareOperand) -> Int? {
        func sign<T: Comparable>(_ lhs: T, _ rhs: T) -> Int { lhs < rhs ? -1 : (lhs == rhs ? 0 : 1) }
        switch value {
        case .string(let actual):
            return UTF8Text.compare(actual, operand.text)
        case .int(let actual):
            guard let integer = operand.integer else { return nil }
            return sign(Int64(actual), integer)
        case .uint64(let actual):
            guard let integer = operand.integer else { return nil }
            if integer < 0 { return 1 }
            return sign(actual, UInt64(integer))
        case .double(let actual):
            guard let double = operand.double, !actual.isNaN, !double.isNaN else { return nil }
            return sign(actual, double)
        case .bool, .strlist:
            return nil
        }
    }
}

extension ProfileAction {
    /// Applies the action to `properties` as HAL would; an action that does not fit the existing type of its key
    /// (a string merge onto an int, an append to a bool) leaves the property unchanged.
    public func apply(to properties: inout DeviceProperties) {
        switch self {
        case .merge(let key, .value(let value)):
            Self.set(key, value, in: &properties)
        case .merge(let key, .copy(let source)):
            if let value = properties[source] { Self.set(key, value, in: &properties) }
        case .append(let key, let value):
            Self.concatenate(key, value, atEnd: true, in: &properties)
        case .prepend(let key, let value):
            Self.concatenate(key, value, atEnd: false, in: &properties)
        case .addSet(let key, let element):
            switch properties[key] {
            case nil: properties[key] = .strlist([element])
            case .strlist(var list)?:
                guard !list.contains(where: { UTF8Text.equal($0, element) }) else { return }
                list.append(element)
                properties[key] = .strlist(list)
            default: return
            }
        case .remove(let key):
            properties[key] = nil
        case .removeElement(let key, let element):
            guard case .strlist(let list)? = properties[key] else { return }
            properties[key] = .strlist(list.filter { !UTF8Text.equal($0, element) })
        }
    }

    /// HAL's `hal_device_property_set_*`: a key keeps its type once it has one.
    private static func set(_ key: String, _ value: PropertyValue, in properties: inout DeviceProperties) {
        if let existing = properties[key], existing.type != value.type { return }
        properties[key] = value
    }

    private static func concatenate(
        _ key: String, _ value: AppendValue, atEnd: Bool, in properties: inout DeviceProperties
    ) {
        let existing = properties[key]
        switch value {
        case .element(let element):
            switch existing {
            case nil: properties[key] = .strlist([element])
            case .strlist(let list)?: properties[key] = .strlist(atEnd ? list + [element] : [element] + list)
            default: return
            }
        case .string, .copy:
            let text: String
            switch value {
            case .string(let literal): text = literal
            case .copy(let source):
                guard let copied = properties[source] else { return }
                text = copied.description
            case .element: return
            }
            switch existing {
            case nil: properties[key] = .string(text)
            case .string(let current)?: properties[key] = .string(atEnd ? current + text : text + current)
            default: return
            }
        }
    }
}

/// Byte-wise string operations, as HAL's `strcmp`/`strstr` did them: no Unicode normalisation, so "é" written
/// precomposed and decomposed are different strings, exactly as they are different bytes on the wire.
enum UTF8Text {
    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && lhs.utf8.elementsEqual(rhs.utf8)
    }

    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        text.utf8.count >= prefix.utf8.count && text.utf8.starts(with: prefix.utf8)
    }

    static func hasSuffix(_ text: String, _ suffix: String) -> Bool {
        let count = text.utf8.count, suffixCount = suffix.utf8.count
        return count >= suffixCount && text.utf8.dropFirst(count - suffixCount).elementsEqual(suffix.utf8)
    }

    static func contains(_ haystack: String, _ needle: String) -> Bool {
        let hay = Array(haystack.utf8), pin = Array(needle.utf8)
        if pin.isEmpty { return true }
        if pin.count > hay.count { return false }
        outer: for start in 0...(hay.count - pin.count) {
            for offset in 0..<pin.count where hay[start + offset] != pin[offset] { continue outer }
            return true
        }
        return false
    }

    /// `strcmp`'s sign.
    static func compare(_ lhs: String, _ rhs: String) -> Int {
        var left = lhs.utf8.makeIterator(), right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let l?, let r?) where l != r: return l < r ? -1 : 1
            default: continue
            }
        }
    }
}
