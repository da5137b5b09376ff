// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import DeviceRegistry

@Suite("Match operators and actions (HAL semantics)")
struct MatchSemanticsTests {
    struct OperatorCase: Sendable, CustomTestStringConvertible {
        var op: String
        var value: String
        var property: PropertyValue?
        var holds: Bool
        init(_ op: String, _ value: String, _ property: PropertyValue?, _ holds: Bool) {
            self.op = op
            self.value = value
            self.property = property
            self.holds = holds
        }
        var testDescription: String { "\(op)=\"\(value)\" on \(property.map { "\($0.type) \($0)" } ?? "absent") → \(holds)" }
    }

    static let operatorCases: [OperatorCase] = [
        .init("string", "abc", .string("abc"), true),
        .init("string", "abc", .string("abd"), false),
        .init("string", "1", .int(1), false),
        .init("string", "abc", nil, false),
        .init("int", "0x10", .int(16), true),
        .init("int", "16", .int(16), true),
        .init("int", "-5", .int(-5), true),
        .init("int", "16", .uint64(16), false),
        .init("int", "16", .string("16"), false),
        .init("uint64", "18446744073709551615", .uint64(.max), true),
        .init("uint64", "1", .int(1), false),
        .init("bool", "true", .bool(true), true),
        .init("bool", "false", .bool(true), false),
        .init("bool", "true", .string("true"), false),
        .init("double", "1.5", .double(1.5), true),
        .init("double", "1.5", .double(1.25), false),
        .init("exists", "true", .int(1), true),
        .init("exists", "true", nil, false),
        .init("exists", "false", nil, true),
        .init("exists", "false", .string(""), false),
        .init("empty", "true", .string(""), true),
        .init("empty", "true", .string("x"), false),
        .init("empty", "false", .string("x"), true),
        .init("empty", "true", nil, false),
        .init("empty", "true", .strlist([]), false),
        .init("is_ascii", "true", .string("Palm"), true),
        .init("is_ascii", "true", .string("Palmé"), false),
        .init("is_ascii", "false", .string("é"), true),
        .init("is_ascii", "true", .int(1), false),
        .init("is_absolute_path", "true", .string("/dev/ttyUSB0"), true),
        .init("is_absolute_path", "true", .string("ttyUSB0"), false),
        .init("is_absolute_path", "false", .string("ttyUSB0"), true),
        .init("contains", "Tung", .string("Palm Tungsten"), true),
        .init("contains", "tung", .string("Palm Tungsten"), false),
        .init("contains", "ff/00/00", .strlist(["08/06/50", "ff/00/00"]), true),
        .init("contains", "ff/00", .strlist(["ff/00/00"]), false),
        .init("contains", "1", .int(1), false),
        .init("contains", "x", nil, false),
        .init("contains_ncase", "TUNG", .string("Palm Tungsten"), true),
        .init("contains_ncase", "FF/00/00", .strlist(["ff/00/00"]), true),
        .init("contains_ncase", "x", .int(1), false),
        .init("contains_not", "Tung", .string("Palm Tungsten"), false),
        .init("contains_not", "Zire", .string("Palm Tungsten"), true),
        .init("contains_not", "x", nil, true),
        .init("contains_not", "x", .int(1), false),
        .init("contains_not", "a", .strlist(["b"]), true),
        .init("contains_not", "b", .strlist(["b"]), false),
        .init("prefix", "Palm", .string("Palm Tungsten"), true),
        .init("prefix", "Tung", .string("Palm Tungsten"), false),
        .init("prefix", "a", .strlist(["a"]), false),
        .init("prefix_ncase", "PALM", .string("palm m500"), true),
        .init("prefix_ncase", "PALM", .string("a palm"), false),
        .init("suffix", "sten", .string("Palm Tungsten"), true),
        .init("suffix", "Palm", .string("Palm Tungsten"), false),
        .init("suffix_ncase", "STEN", .string("Tungsten"), true),
        .init("suffix_ncase", "TUNG", .string("Tungsten"), false),
        .init("string_outof", "pda;phone", .string("phone"), true),
        .init("string_outof", "pda;phone", .string("ph"), false),
        .init("string_outof", "", .string(""), false),
        .init("string_outof", "a;;b", .string(""), true),
        .init("int_outof", "0x0830;0x0fce", .int(0x0fce), true),
        .init("int_outof", "0x0830;0x0fce", .int(1), false),
        .init("int_outof", "1", .uint64(1), false),
        .init("prefix_outof", "usb:;bluetooth:", .string("bluetooth:v0001"), true),
        .init("prefix_outof", "usb:", .string("pci:v8086"), false),
        .init("contains_outof", "Zire;Tungsten", .string("Palm Tungsten T3"), true),
        .init("contains_outof", "Zire;Treo", .string("Palm Tungsten"), false),
        .init("contains_outof", "a", .strlist(["a"]), false),
        .init("compare_lt", "0x0900", .int(0x0830), true),
        .init("compare_lt", "0x0830", .int(0x0830), false),
        .init("compare_le", "0x0830", .int(0x0830), true),
        .init("compare_gt", "b", .string("c"), true),
        .init("compare_gt", "b", .string("a"), false),
        .init("compare_gt", "10", .string("9"), true),
        .init("compare_ge", "2.5", .double(2.5), true),
        .init("compare_lt", "1.5", .double(1.0), true),
        .init("compare_ne", "5", .uint64(6), true),
        .init("compare_ne", "5", .uint64(5), false),
        .init("compare_lt", "-1", .uint64(0), false),
        .init("compare_gt", "-1", .uint64(0), true),
        .init("compare_lt", "x", .int(1), false),
        .init("compare_ne", "x", .int(1), false),
        .init("compare_lt", "true", .bool(true), false),
        .init("compare_ne", "a", .strlist(["b"]), false),
        .init("compare_lt", "1", nil, false),
    ]

    @Test("each operator holds exactly when HAL's would", arguments: operatorCases)
    func operators(example: OperatorCase) throws {
        var properties = DeviceProperties()
        properties["k"] = example.property
        let outcome = try apply(
            #"<device><match key="k" \#(example.op)="\#(example.value)"><merge key="hit" type="bool">true</merge></match></device>"#,
            to: properties)
        #expect(outcome.properties.bool("hit") == (example.holds ? true : nil))
        #expect(outcome.appliedRules.count == (example.holds ? 1 : 0))
    }

    func run(_ actions: String, on properties: DeviceProperties = [:]) throws -> DeviceProperties {
        try apply("<device>\(actions)</device>", to: properties).properties
    }

    @Test("merge sets every type")
    func mergeTypes() throws {
        let result = try run("""
            <merge key="s" type="string">Palm</merge>
            <merge key="l" type="strlist">contacts</merge>
            <merge key="i" type="int">0x0830</merge>
            <merge key="u" type="uint64">18446744073709551615</merge>
            <merge key="b" type="bool">true</merge>
            <merge key="d" type="double">2.5</merge>
            """)
        #expect(result == ["s": .string("Palm"), "l": .strlist(["contacts"]), "i": .int(0x0830),
                           "u": .uint64(.max), "b": .bool(true), "d": .double(2.5)])
    }

    @Test("merge replaces a value of the same type and leaves a value of another type alone")
    func mergeKeepsType() throws {
        let result = try run("""
            <merge key="s" type="string">new</merge>
            <merge key="i" type="string">not an int</merge>
            <merge key="l" type="strlist">only</merge>
            <merge key="t" type="strlist">x</merge>
            """, on: ["s": .string("old"), "i": .int(1), "l": .strlist(["a", "b"]), "t": .string("text")])
        #expect(result == ["s": .string("new"), "i": .int(1), "l": .strlist(["only"]), "t": .string("text")])
    }

    @Test("copy_property copies another property with its type; a missing source changes nothing")
    func copyProperty() throws {
        let result = try run("""
            <merge key="sync.vendor" type="copy_property">info.vendor</merge>
            <merge key="copy.id" type="copy_property">usb.vendor_id</merge>
            <merge key="copy.none" type="copy_property">no.such.key</merge>
            """, on: ["info.vendor": .string("Palm, Inc."), "usb.vendor_id": .int(0x0830)])
        #expect(result.string("sync.vendor") == "Palm, Inc.")
        #expect(result.int("copy.id") == 0x0830)
        #expect(!result.contains("copy.none"))
    }

    @Test("append and prepend concatenate strings and add strlist elements")
    func appendPrepend() throws {
        let result = try run("""
            <append key="s" type="string"> T3</append>
            <prepend key="s" type="string">Palm </prepend>
            <append key="l" type="strlist">c</append>
            <prepend key="l" type="strlist">a</prepend>
            <append key="new.s" type="string">x</append>
            <append key="new.l" type="strlist">y</append>
            <append key="i" type="string">z</append>
            <append key="s2" type="strlist">z</append>
            <append key="s3" type="copy_property">i</append>
            """, on: ["s": .string("Tungsten"), "l": .strlist(["b"]), "i": .int(7), "s2": .string("text"), "s3": .string("n=")])
        #expect(result.string("s") == "Palm Tungsten T3")
        #expect(result.strlist("l") == ["a", "b", "c"])
        #expect(result.string("new.s") == "x")
        #expect(result.strlist("new.l") == ["y"])
        #expect(result.int("i") == 7, "appending to an int changes nothing")
        #expect(result.string("s2") == "text", "a strlist element is not appended to a string")
        #expect(result.string("s3") == "n=7")
    }

    @Test("addset adds an element only if absent")
    func addSet() throws {
        let result = try run("""
            <addset key="l" type="strlist">contacts</addset>
            <addset key="l" type="strlist">todo</addset>
            <addset key="l" type="strlist">todo</addset>
            <addset key="n" type="strlist">first</addset>
            <addset key="s" type="strlist">x</addset>
            """, on: ["l": .strlist(["contacts"]), "s": .string("text")])
        #expect(result.strlist("l") == ["contacts", "todo"])
        #expect(result.strlist("n") == ["first"])
        #expect(result.string("s") == "text")
    }

    @Test("remove deletes the key; remove type=strlist deletes an element")
    func remove() throws {
        let result = try run("""
            <remove key="gone"/>
            <remove key="absent"/>
            <remove key="l" type="strlist">b</remove>
            """, on: ["gone": .int(1), "kept": .int(2), "l": .strlist(["a", "b", "c", "b"])])
        #expect(result == ["kept": .int(2), "l": .strlist(["a", "c"])])
    }

    @Test("a later rule sees what an earlier rule merged")
    func laterRulesSeeMerges() throws {
        let outcome = try apply("""
            <device>
              <match key="usb.vendor_id" int="0x0830"><merge key="sync.kind" type="string">pda</merge></match>
            </device>
            <device>
              <match key="sync.kind" string="pda"><merge key="sync.plugin" type="string">palm-sync</merge></match>
            </device>
            """, to: ["usb.vendor_id": .int(0x0830)])
        #expect(outcome.properties.string("sync.plugin") == "palm-sync")
        #expect(outcome.appliedRules.map(\.line) == [3, 6])
    }

    @Test("a match is evaluated once, when HAL enters it, not again for later actions of its block")
    func matchEvaluatedAtEntry() throws {
        let outcome = try apply("""
            <device>
              <match key="a" string="1">
                <merge key="a" type="string">2</merge>
                <match key="b" string="x"><merge key="c" type="string">inner</merge></match>
                <merge key="d" type="string">after</merge>
              </match>
              <match key="a" string="2"><merge key="e" type="string">seen</merge></match>
            </device>
            """, to: ["a": .string("1"), "b": .string("x")])
        #expect(outcome.properties == ["a": .string("2"), "b": .string("x"), "c": .string("inner"),
                                       "d": .string("after"), "e": .string("seen")])
        #expect(outcome.appliedRules.map(\.line) == [3, 5, 3, 8])
    }

    @Test("a nested match sees the merges its block made before it")
    func nestedMatchSeesEarlierMerge() throws {
        let outcome = try apply("""
            <device>
              <match key="a" string="1">
                <merge key="b" type="string">x</merge>
                <match key="b" string="x"><merge key="c" type="bool">true</merge></match>
              </match>
            </device>
            """, to: ["a": .string("1")])
        #expect(outcome.properties.bool("c") == true)
    }

    @Test("a merge to a key that a later rule dispatches on is honoured by the compiled index")
    func writtenKeysAreNotDispatched() throws {
        let devices = """
            <device>
              <match key="usb.product_id" int="0x0060"><merge key="usb.vendor_id" type="int">0x0830</merge></match>
            </device>
            <device>
              <match key="usb.vendor_id" int="0x0830"><merge key="sync.kind" type="string">pda</merge></match>
            </device>
            """
        let outcome = try apply(devices, to: ["usb.vendor_id": .int(0x1234), "usb.product_id": .int(0x0060)])
        #expect(outcome.properties.string("sync.kind") == "pda")
        #expect(CompiledMatcher(try profileSet(devices)).writtenKeys == ["usb.vendor_id", "sync.kind"])
    }

    @Test("two different equalities on one key never hold together, whichever one dispatch used")
    func conflictingEqualities() throws {
        let outcome = try apply("""
            <device><match key="usb.vendor_id" int="1"><match key="usb.vendor_id" int="2">
              <merge key="impossible" type="bool">true</merge>
            </match></match></device>
            """, to: ["usb.vendor_id": .int(1)])
        #expect(outcome.appliedRules.isEmpty)
    }

    @Test("the compiled index only evaluates rules that can apply")
    func indexSkipsRules() throws {
        var devices = ""
        for product in 0..<50 {
            devices += """
                <device><match key="info.subsystem" string="usb"><match key="usb.product_id" int="\(product)">
                <merge key="sync.model" type="string">model \(product)</merge></match></match></device>

                """
        }
        devices += #"<device><match key="usb.interfaces" contains="ff/42/01"><merge key="sync.plugin" type="string">adb</merge></match></device>"#
        let matcher = CompiledMatcher(try profileSet(devices))
        let device: DeviceProperties = [
            "info.subsystem": .string("usb"), "usb.product_id": .int(7), "usb.interfaces": .strlist(["08/06/50", "ff/42/01"]),
        ]
        #expect(matcher.candidates(for: device) == [7, 50])
        #expect(matcher.unindexedRuleCount == 0)
        #expect(matcher.match(device).properties.string("sync.model") == "model 7")
        #expect(matcher.match(device).properties.string("sync.plugin") == "adb")
    }
}
