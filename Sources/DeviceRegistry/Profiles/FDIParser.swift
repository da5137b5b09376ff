// SPDX-License-Identifier: Apache-2.0
/// Reads HAL's device information file format (`.fdi`) into ``ProfileRule``s.
///
/// The dialect is HAL 0.5's: `<deviceinfo version="0.2">` holds `<device>` blocks, which hold nested
/// `<match key="…" OP="…">` blocks and the actions `<merge>`, `<append>`, `<prepend>`, `<addset>` and `<remove>`.
/// Everything HAL would have silently ignored (an unknown element, operator or type, a value that does not parse)
/// is an error here, located at file:line:column. `docs/profiles.md` describes the dialect.
public enum FDIParser {
    /// The match operators, as FDI spells them.
    public static let operators: [String] = [
        "string", "int", "uint64", "bool", "double", "exists", "empty", "is_ascii", "is_absolute_path",
        "contains", "contains_ncase", "contains_not", "prefix", "prefix_ncase", "suffix", "suffix_ncase",
        "string_outof", "int_outof", "prefix_outof", "contains_outof",
    ] + MatchTest.Comparison.allCases.map(\.rawValue)

    /// The action elements.
    public static let actions: [String] = ["merge", "append", "prepend", "addset", "remove"]

    /// Parses the contents of the file at `path`.
    ///
    /// Condition ids start at `firstConditionID`; a loader that passes its set's ``ProfileSet/conditionCount``
    /// spares the set renumbering them.
    public static func parse(
        _ bytes: [UInt8], path: String, limits: XMLLimits = XMLLimits(), firstConditionID: Int = 0
    ) throws(ProfileError) -> ProfileFile {
        let root: XMLElement
        do {
            root = try XMLReader.parse(bytes, limits: limits, keepingWhitespace: false)
        } catch {
            throw ProfileError(
                .malformedXML, at: SourceLocation(file: path, line: error.position.line, column: error.position.column),
                error.message)
        }
        var builder = RuleBuilder(path: path, firstConditionID: firstConditionID)
        try builder.document(root)
        return ProfileFile(
            path: path, rules: builder.rules, firstConditionID: firstConditionID,
            conditionCount: builder.nextConditionID - firstConditionID)
    }

    /// Parses a profile held in a string (tests, `devsyncctl`).
    public static func parse(_ text: String, path: String) throws(ProfileError) -> ProfileFile {
        try parse(Array(text.utf8), path: path)
    }
}

/// Walks the element tree in document order, flattening nested blocks into rules.
private struct RuleBuilder {
    let path: String
    var rules: [ProfileRule] = []
    var nextConditionID: Int

    init(path: String, firstConditionID: Int) {
        self.path = path
        self.nextConditionID = firstConditionID
    }

    func location(_ position: XMLPosition) -> SourceLocation {
        SourceLocation(file: path, line: position.line, column: position.column)
    }

    func error(_ code: ProfileError.Code, _ position: XMLPosition, _ message: String) -> ProfileError {
        ProfileError(code, at: location(position), message)
    }

    mutating func document(_ root: XMLElement) throws(ProfileError) {
        guard root.name == "deviceinfo" else {
            throw error(.unknownElement, root.position, "expected <deviceinfo> as the root element, found <\(root.name)>")
        }
        for attribute in root.attributes {
            guard attribute.name == "version" else {
                throw error(.badAttribute, attribute.position, "expected only a version attribute on <deviceinfo>, found '\(attribute.name)'")
            }
            guard attribute.value == "0.2" else {
                throw error(.invalidValue, attribute.position, "expected version=\"0.2\" on <deviceinfo>, found \"\(attribute.value)\"")
            }
        }
        for child in root.children {
            switch child {
            case .text(let text, let position):
                try requireWhitespace(text, position, in: "deviceinfo")
            case .element(let element):
                guard element.name == "device" else {
                    throw misplaced(element, inside: "deviceinfo", expected: "<device>")
                }
                if let attribute = element.attributes.first {
                    throw error(.badAttribute, attribute.position, "expected no attributes on <device>, found '\(attribute.name)'")
                }
                try block(element, conditions: [])
            }
        }
    }

    /// Reads a `<device>` or `<match>` body: runs of actions become rules, nested matches recurse.
    mutating func block(_ element: XMLElement, conditions: [MatchCondition]) throws(ProfileError) {
        let blockLocation = location(element.position)
        var run: [ProfileAction] = []
        func flush(_ run: inout [ProfileAction], into rules: inout [ProfileRule]) {
            guard !run.isEmpty else { return }
            rules.append(ProfileRule(location: blockLocation, conditions: conditions, actions: run))
            run.removeAll()
        }
        for child in element.children {
            switch child {
            case .text(let text, let position):
                try requireWhitespace(text, position, in: element.name)
            case .element(let child) where child.name == "match":
                flush(&run, into: &rules)
                var nested = conditions
                nested.append(try match(child))
                try block(child, conditions: nested)
            case .element(let child) where FDIParser.actions.contains(child.name):
                run.append(try action(child))
            case .element(let child):
                throw misplaced(child, inside: element.name, expected: "<match> or an action (<merge>, <append>, <prepend>, <addset>, <remove>)")
            }
        }
        flush(&run, into: &rules)
    }

    func misplaced(_ element: XMLElement, inside parent: String, expected: String) -> ProfileError {
        switch element.name {
        case "spawn", "clear":
            error(.unsupported, element.position, "<\(element.name)> is a HAL action devsync does not support; expected \(expected)")
        case "deviceinfo", "device", "match", "merge", "append", "prepend", "addset", "remove":
            error(.unknownElement, element.position, "<\(element.name)> cannot be inside <\(parent)>; expected \(expected)")
        default:
            error(.unknownElement, element.position, "unknown element <\(element.name)>; expected \(expected)")
        }
    }

    func requireWhitespace(_ text: String, _ position: XMLPosition, in parent: String) throws(ProfileError) {
        guard text.isASCIIWhitespace else {
            throw error(.unknownElement, position, "unexpected text inside <\(parent)>; values belong inside an action such as <merge>")
        }
    }

    func key(_ element: XMLElement) throws(ProfileError) -> String {
        guard let attribute = element.attribute("key") else {
            throw error(.badAttribute, element.position, "expected a key attribute on <\(element.name)>")
        }
        let key = attribute.value
        guard !key.isEmpty, key.trimmingASCIIWhitespace() == key else {
            throw error(.invalidValue, attribute.position, "expected a property key such as usb.vendor_id, found \"\(key)\"")
        }
        guard !key.utf8.contains(UInt8(ascii: ":")) else {
            throw error(.unsupported, attribute.position, "key paths into other devices (\"\(key)\") are not supported; expected a property of the device itself")
        }
        return key
    }

    // MARK: <match>

    mutating func match(_ element: XMLElement) throws(ProfileError) -> MatchCondition {
        let key = try key(element)
        let operators = element.attributes.filter { $0.name != "key" }
        guard let attribute = operators.first else {
            throw error(.badAttribute, element.position, "expected an operator attribute on <match key=\"\(key)\">, such as string=\"…\" or int=\"…\"")
        }
        if operators.count > 1 {
            throw error(.badAttribute, operators[1].position, "expected one operator on <match>, found both '\(attribute.name)' and '\(operators[1].name)'")
        }
        let test = try test(attribute)
        defer { nextConditionID += 1 }
        return MatchCondition(id: nextConditionID, key: key, test: test, location: location(element.position))
    }

    func test(_ attribute: XMLAttribute) throws(ProfileError) -> MatchTest {
        let value = attribute.value
        func invalid(_ expected: String) -> ProfileError {
            error(.invalidValue, attribute.position, "expected \(expected) for \(attribute.name)=, found \"\(value)\"")
        }
        func flag() throws(ProfileError) -> Bool {
            guard let flag = FDIValue.bool(value) else { throw invalid("true or false") }
            return flag
        }
        func alternatives() -> [String] {
            // g_strsplit semantics: "" has no alternatives, "a;;b" has an empty one.
            value.isEmpty ? [] : value.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        }
        switch attribute.name {
        case "string": return .string(value)
        case "int":
            guard let int = FDIValue.int32(value) else { throw invalid("a 32-bit integer in decimal or 0x hex") }
            return .int(int)
        case "uint64":
            guard let uint = FDIValue.uint64(value) else { throw invalid("an unsigned 64-bit integer in decimal or 0x hex") }
            return .uint64(uint)
        case "bool": return .bool(try flag())
        case "double":
            guard let double = FDIValue.double(value) else { throw invalid("a floating-point number") }
            return .double(double)
        case "exists": return .exists(try flag())
        case "empty": return .empty(try flag())
        case "is_ascii": return .isASCII(try flag())
        case "is_absolute_path": return .isAbsolutePath(try flag())
        case "contains": return .contains(value)
        case "contains_ncase": return .containsNoCase(value.lowercased())
        case "contains_not": return .containsNot(value)
        case "prefix": return .prefix(value)
        case "prefix_ncase": return .prefixNoCase(value.lowercased())
        case "suffix": return .suffix(value)
        case "suffix_ncase": return .suffixNoCase(value.lowercased())
        case "string_outof": return .stringOutOf(alternatives())
        case "prefix_outof": return .prefixOutOf(alternatives())
        case "contains_outof": return .containsOutOf(alternatives())
        case "int_outof":
            var ints: [Int32] = []
            for alternative in alternatives() {
                guard let int = FDIValue.int32(alternative) else {
                    throw invalid("';'-separated 32-bit integers in decimal or 0x hex")
                }
                ints.append(int)
            }
            return .intOutOf(ints)
        case "sibling_contains":
            throw error(.unsupported, attribute.position, "sibling_contains needs HAL's device tree, which devsync does not have; expected an operator on the device's own properties")
        default:
            if let comparison = MatchTest.Comparison(rawValue: attribute.name) {
                return .compare(comparison, MatchTest.CompareOperand(value))
            }
            throw error(.unknownOperator, attribute.position, "unknown match operator '\(attribute.name)'; expected one of \(FDIParser.operators.joined(separator: ", "))")
        }
    }

    // MARK: Actions

    func action(_ element: XMLElement) throws(ProfileError) -> ProfileAction {
        let key = try key(element)
        for attribute in element.attributes where attribute.name != "key" && attribute.name != "type" {
            throw error(.badAttribute, attribute.position, "unknown attribute '\(attribute.name)' on <\(element.name)>; expected key and type")
        }
        for case .element(let nested) in element.children {
            throw error(.unknownElement, nested.position, "<\(element.name)> holds a value, not elements; found <\(nested.name)>")
        }
        let text = element.text
        let typeAttribute = element.attribute("type")
        let type = typeAttribute?.value
        let typePosition = typeAttribute?.position ?? element.position
        func invalid(_ expected: String) -> ProfileError {
            error(.invalidValue, element.position, "expected \(expected) in <\(element.name) key=\"\(key)\" type=\"\(type ?? "")\">, found \"\(text)\"")
        }
        func requireType(_ accepted: [String]) throws(ProfileError) -> String {
            guard let type else {
                throw error(.badAttribute, element.position, "expected a type attribute on <\(element.name)>: \(accepted.joined(separator: ", "))")
            }
            guard accepted.contains(type) else {
                throw error(.unknownType, typePosition, "unknown type '\(type)' for <\(element.name)>; expected \(accepted.joined(separator: ", "))")
            }
            return type
        }
        switch element.name {
        case "merge":
            switch try requireType(["string", "strlist", "int", "uint64", "bool", "double", "copy_property"]) {
            case "string": return .merge(key: key, .value(.string(text)))
            case "strlist": return .merge(key: key, .value(.strlist([text])))
            case "int":
                guard let int = FDIValue.int32(text) else { throw invalid("a 32-bit integer in decimal or 0x hex") }
                return .merge(key: key, .value(.int(int)))
            case "uint64":
                guard let uint = FDIValue.uint64(text) else { throw invalid("an unsigned 64-bit integer in decimal or 0x hex") }
                return .merge(key: key, .value(.uint64(uint)))
            case "bool":
                guard let flag = FDIValue.bool(text) else { throw invalid("true or false") }
                return .merge(key: key, .value(.bool(flag)))
            case "double":
                guard let double = FDIValue.double(text) else { throw invalid("a floating-point number") }
                return .merge(key: key, .value(.double(double)))
            default:
                return .merge(key: key, .copy(from: try sourceKey(text, element)))
            }
        case "append", "prepend":
            let value: AppendValue =
                switch try requireType(["string", "strlist", "copy_property"]) {
                case "string": .string(text)
                case "strlist": .element(text)
                default: .copy(from: try sourceKey(text, element))
                }
            return element.name == "append" ? .append(key: key, value) : .prepend(key: key, value)
        case "addset":
            _ = try requireType(["strlist"])
            return .addSet(key: key, text)
        default:  // remove
            if type == nil {
                guard text.isEmpty else {
                    throw error(.invalidValue, element.position, "expected an empty <remove key=\"\(key)\"/>; to remove one element of a strlist write type=\"strlist\"")
                }
                return .remove(key: key)
            }
            _ = try requireType(["strlist"])
            return .removeElement(key: key, text)
        }
    }

    func sourceKey(_ text: String, _ element: XMLElement) throws(ProfileError) -> String {
        let key = text.trimmingASCIIWhitespace()
        guard !key.isEmpty, !key.utf8.contains(UInt8(ascii: ":")) else {
            throw error(.invalidValue, element.position, "expected the key of a property of the same device to copy, found \"\(text)\"")
        }
        return key
    }
}
