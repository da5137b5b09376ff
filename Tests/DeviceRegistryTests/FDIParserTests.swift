// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import DeviceRegistry

@Suite("FDI parser")
struct FDIParserTests {
    /// The 1-based line and column where `needle` first occurs in `text`.
    func position(of needle: String, in text: String) -> (line: Int, column: Int) {
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let range = line.range(of: needle) {
                return (offset + 1, line.distance(from: line.startIndex, to: range.lowerBound) + 1)
            }
        }
        Issue.record("\(needle) is not in the text")
        return (0, 0)
    }

    @Test("nested matches become rules whose conditions are every enclosing match, outermost first")
    func nestedMatches() throws {
        let set = try profileSet("""
            <device>
              <match key="info.subsystem" string="usb">
                <match key="usb.vendor_id" int="0x0830">
                  <merge key="sync.kind" type="string">pda</merge>
                  <merge key="sync.plugin" type="string">palm-sync</merge>
                </match>
              </match>
            </device>
            """)
        #expect(set.rules.count == 1)
        let rule = set.rules[0]
        #expect(rule.conditions.map(\.key) == ["info.subsystem", "usb.vendor_id"])
        #expect(rule.conditions.map(\.test) == [.string("usb"), .int(0x0830)])
        #expect(rule.actions == [
            .merge(key: "sync.kind", .value(.string("pda"))), .merge(key: "sync.plugin", .value(.string("palm-sync"))),
        ])
        #expect(rule.location == SourceLocation(file: "test.fdi", line: 4, column: 5))
        #expect(rule.conditions[0].location == SourceLocation(file: "test.fdi", line: 3, column: 3))
    }

    @Test("a block whose actions surround a nested match yields one rule per run of actions")
    func splitBlock() throws {
        let set = try profileSet("""
            <device>
              <merge key="a" type="string">1</merge>
              <match key="x" exists="true"><merge key="b" type="string">2</merge></match>
              <merge key="c" type="string">3</merge>
            </device>
            """)
        #expect(set.rules.map(\.actions.count) == [1, 1, 1])
        #expect(set.rules.map(\.conditions.count) == [0, 1, 0])
        #expect(set.rules[0].location == set.rules[2].location)
    }

    @Test("every operator and merge type parses", arguments: FDIParser.operators)
    func everyOperatorParses(op: String) throws {
        let value =
            switch op {
            case "int", "uint64", "int_outof", "double": "1"
            case "bool", "exists", "empty", "is_ascii", "is_absolute_path": "true"
            default: "x"
            }
        let set = try profileSet("<device><match key=\"k\" \(op)=\"\(value)\"><remove key=\"z\"/></match></device>")
        #expect(set.rules.first?.conditions.count == 1)
    }

    @Test("ints accept decimal and 0x hex, and are HAL's 32-bit signed")
    func integers() throws {
        #expect(FDIValue.int32("0x0830") == 0x0830)
        #expect(FDIValue.int32("2096") == 2096)
        #expect(FDIValue.int32("-42") == -42)
        #expect(FDIValue.int32(" 7 ") == 7)
        #expect(FDIValue.int32("0") == 0)
        #expect(FDIValue.int32("0x80000000") == nil)
        #expect(FDIValue.int32("0830") == nil, "a leading zero was octal to HAL; refuse the ambiguity")
        #expect(FDIValue.int32("abc") == nil)
        #expect(FDIValue.int32("12abc") == nil)
        #expect(FDIValue.uint64("0xFFFFFFFFFFFFFFFF") == .max)
        #expect(FDIValue.uint64("-1") == nil)
    }

    struct BadProfile: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var at: String
        var code: ProfileError.Code
        var message: String
        var testDescription: String { name }
    }

    static let badProfiles: [BadProfile] = [
        BadProfile(name: "int that is not a number", body: #"<match key="usb.vendor_id" int="abc"><remove key="x"/></match>"#,
                   at: #"int="abc""#, code: .invalidValue, message: "expected a 32-bit integer in decimal or 0x hex for int="),
        BadProfile(name: "unknown operator", body: #"<match key="a" regex="x"><remove key="x"/></match>"#,
                   at: "regex=", code: .unknownOperator, message: "unknown match operator 'regex'; expected one of string, int"),
        BadProfile(name: "unknown merge type", body: #"<merge key="a" type="float">1</merge>"#,
                   at: #"type="float""#, code: .unknownType, message: "unknown type 'float' for <merge>; expected string, strlist"),
        BadProfile(name: "unknown element", body: "<frobnicate/>",
                   at: "<frobnicate", code: .unknownElement, message: "unknown element <frobnicate>"),
        BadProfile(name: "match without key", body: #"<match string="x"><remove key="x"/></match>"#,
                   at: "<match", code: .badAttribute, message: "expected a key attribute on <match>"),
        BadProfile(name: "two operators", body: #"<match key="a" string="x" int="1"><remove key="x"/></match>"#,
                   at: #"int="1""#, code: .badAttribute, message: "expected one operator on <match>, found both 'string' and 'int'"),
        BadProfile(name: "key path into another device", body: #"<match key="@info.parent:usb.vendor_id" int="1"/>"#,
                   at: "key=", code: .unsupported, message: "key paths into other devices"),
        BadProfile(name: "spawn", body: #"<spawn udi="/x"/>"#,
                   at: "<spawn", code: .unsupported, message: "<spawn> is a HAL action devsync does not support"),
        BadProfile(name: "sibling_contains", body: #"<match key="a" sibling_contains="x"/>"#,
                   at: "sibling_contains", code: .unsupported, message: "sibling_contains needs HAL's device tree"),
        BadProfile(name: "merge int that is not a number", body: #"<merge key="a" type="int">12abc</merge>"#,
                   at: "<merge", code: .invalidValue, message: "expected a 32-bit integer in decimal or 0x hex in <merge key=\"a\" type=\"int\">, found \"12abc\""),
        BadProfile(name: "merge bool that is not a bool", body: #"<merge key="a" type="bool">yes</merge>"#,
                   at: "<merge", code: .invalidValue, message: "expected true or false"),
        BadProfile(name: "merge double that is not a number", body: #"<merge key="a" type="double">fast</merge>"#,
                   at: "<merge", code: .invalidValue, message: "expected a floating-point number"),
        BadProfile(name: "exists that is not a bool", body: #"<match key="a" exists="maybe"/>"#,
                   at: "exists=", code: .invalidValue, message: "expected true or false for exists="),
        BadProfile(name: "int_outof with a bad alternative", body: #"<match key="a" int_outof="1;x"/>"#,
                   at: "int_outof=", code: .invalidValue, message: "';'-separated 32-bit integers"),
        BadProfile(name: "int out of range", body: #"<match key="a" int="0x1FFFFFFFF"/>"#,
                   at: "int=", code: .invalidValue, message: "expected a 32-bit integer"),
        BadProfile(name: "remove with a value", body: #"<remove key="a">x</remove>"#,
                   at: "<remove", code: .invalidValue, message: "expected an empty <remove key=\"a\"/>"),
        BadProfile(name: "merge without type", body: #"<merge key="a">x</merge>"#,
                   at: "<merge", code: .badAttribute, message: "expected a type attribute on <merge>"),
        BadProfile(name: "addset of a string", body: #"<addset key="a" type="string">x</addset>"#,
                   at: "type=", code: .unknownType, message: "expected strlist"),
        BadProfile(name: "append of an int", body: #"<append key="a" type="int">1</append>"#,
                   at: "type=", code: .unknownType, message: "expected string, strlist, copy_property"),
        BadProfile(name: "device inside match", body: #"<match key="a" exists="true"><device/></match>"#,
                   at: "<device/>", code: .unknownElement, message: "<device> cannot be inside <match>"),
        BadProfile(name: "unknown attribute on an action", body: #"<merge key="a" type="string" mode="x">1</merge>"#,
                   at: "mode=", code: .badAttribute, message: "unknown attribute 'mode' on <merge>"),
        BadProfile(name: "unclosed match", body: #"<match key="a" string="x">"#,
                   at: "</device>", code: .malformedXML, message: "expected </match>"),
    ]

    @Test("errors name file:line:column and say what was expected", arguments: badProfiles)
    func errors(bad: BadProfile) throws {
        let text = "<deviceinfo version=\"0.2\">\n  <device>\n    \(bad.body)\n  </device>\n</deviceinfo>\n"
        let error = try #require(parseError(text), "accepted: \(bad.body)")
        let expected = position(of: bad.at, in: text)
        #expect(error.location == SourceLocation(file: "bad.fdi", line: expected.line, column: expected.column), "\(error)")
        #expect(error.code == bad.code, "\(error)")
        #expect(error.message.contains(bad.message), "\(error)")
    }

    @Test("an error prints as file:line:column: sentence")
    func errorDescription() throws {
        let error = try #require(parseError("<deviceinfo version=\"0.2\">\n<device>\n<match key=\"k\" int=\"abc\"/>\n</device></deviceinfo>"))
        #expect(error.description == "bad.fdi:3:16: expected a 32-bit integer in decimal or 0x hex for int=, found \"abc\"")
    }

    @Test("the root must be <deviceinfo> with version 0.2 if any")
    func root() throws {
        #expect(parseError("<devices/>")?.message == "expected <deviceinfo> as the root element, found <devices>")
        #expect(parseError("<deviceinfo version=\"0.3\"/>")?.code == .invalidValue)
        #expect(parseError("<deviceinfo/>") == nil)
        #expect(parseError("<deviceinfo version=\"0.2\"><match key=\"a\" exists=\"true\"/></deviceinfo>")?.message
            == "<match> cannot be inside <deviceinfo>; expected <device>")
    }

    @Test("text outside an action is an error")
    func strayText() throws {
        let error = try #require(parseError("<deviceinfo><device>palm</device></deviceinfo>"))
        #expect(error.message.contains("unexpected text inside <device>"))
        #expect(error.location.line == 1)
    }

    @Test("malformed XML becomes a profile error at the reader's position")
    func malformedXML() throws {
        let error = try #require(parseError("<deviceinfo>\n  <device>\n    <!DOCTYPE x>\n"))
        #expect(error.code == .malformedXML)
        #expect(error.location == SourceLocation(file: "bad.fdi", line: 3, column: 5))
    }

    @Test("string values keep their spaces; typed values may be padded")
    func whitespace() throws {
        let set = try profileSet("""
            <device>
              <merge key="s" type="string"> spaced </merge>
              <merge key="blank" type="string"> </merge>
              <merge key="i" type="int">
                0x10
              </merge>
            </device>
            """)
        #expect(set.rules[0].actions == [
            .merge(key: "s", .value(.string(" spaced "))), .merge(key: "blank", .value(.string(" "))),
            .merge(key: "i", .value(.int(16))),
        ])
    }
}
