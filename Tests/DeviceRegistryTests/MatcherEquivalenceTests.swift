// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import DeviceRegistry

/// Random profiles and devices, built from small pools so that keys collide, values match, actions write keys
/// that later matches test, and types disagree.
struct ProfileGenerator {
    var random: SplitMix64

    static let keys = [
        "info.subsystem", "usb.vendor_id", "usb.product_id", "usb.interfaces", "udev.ID_MTP_DEVICE",
        "bluetooth.modalias", "sync.kind", "sync.datatypes", "k.size", "k.ratio", "k.flag",
    ]
    static let strings = ["usb", "bluetooth", "pda", "phone", "Palm", "palm", "ff/00/00", "08/06/50", "1", "", "Pa"]
    static let ints: [Int32] = [0, 1, -1, 0x0830, 0x0FCE]

    mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
    mutating func count(_ upTo: UInt64) -> Int { Int(random.next() % (upTo + 1)) }

    mutating func value() -> PropertyValue {
        switch random.next() % 6 {
        case 0, 1: .string(pick(Self.strings))
        case 2: .int(pick(Self.ints))
        case 3: .strlist((0..<count(3)).map { _ in pick(Self.strings) })
        case 4: .bool(chance(50))
        default: chance(50) ? .uint64(UInt64(pick([0, 1, 2096]))) : .double(pick([0, 1.5, -2]))
        }
    }

    mutating func device() -> DeviceProperties {
        var properties = DeviceProperties()
        for key in Self.keys where chance(60) { properties[key] = value() }
        return properties
    }

    mutating func operand(for op: String) -> String {
        switch op {
        case "int", "int_outof", "uint64": return op == "int_outof" ? "\(pick(Self.ints));\(pick(Self.ints))" : (op == "uint64" ? pick(["0", "1", "0x830"]) : "\(pick(Self.ints))")
        case "double": return pick(["0", "1.5", "-2"])
        case "bool", "exists", "empty", "is_ascii", "is_absolute_path": return chance(50) ? "true" : "false"
        case "string_outof", "prefix_outof", "contains_outof": return "\(pick(Self.strings));\(pick(Self.strings))"
        case let op where op.hasPrefix("compare_"): return pick(["0", "1", "0x0830", "Palm", "m", "1.5", "-1"])
        default: return pick(Self.strings)
        }
    }

    mutating func action() -> String {
        let key = chance(70) ? pick(["sync.kind", "sync.datatypes", "sync.plugin", "k.size"]) : pick(Self.keys)
        switch random.next() % 11 {
        case 0: return #"<merge key="\#(key)" type="string">\#(pick(Self.strings))</merge>"#
        case 1: return #"<merge key="\#(key)" type="strlist">\#(pick(Self.strings))</merge>"#
        case 2: return #"<merge key="\#(key)" type="int">\#(pick(Self.ints))</merge>"#
        case 3: return #"<merge key="\#(key)" type="\#(pick(["bool", "uint64", "double"]))">\#(pick(["1", "0"]) == "1" ? "true" : "false")</merge>"#
            .replacingOccurrences(of: "type=\"uint64\">true", with: "type=\"uint64\">7")
            .replacingOccurrences(of: "type=\"uint64\">false", with: "type=\"uint64\">0")
            .replacingOccurrences(of: "type=\"double\">true", with: "type=\"double\">1.5")
            .replacingOccurrences(of: "type=\"double\">false", with: "type=\"double\">0")
        case 4: return #"<merge key="\#(key)" type="copy_property">\#(pick(Self.keys))</merge>"#
        case 5: return #"<append key="\#(key)" type="\#(pick(["string", "strlist"]))">\#(pick(Self.strings))</append>"#
        case 6: return #"<prepend key="\#(key)" type="\#(pick(["string", "strlist"]))">\#(pick(Self.strings))</prepend>"#
        case 7: return #"<append key="\#(key)" type="copy_property">\#(pick(Self.keys))</append>"#
        case 8: return #"<addset key="\#(key)" type="strlist">\#(pick(Self.strings))</addset>"#
        case 9: return #"<remove key="\#(key)"/>"#
        default: return #"<remove key="\#(key)" type="strlist">\#(pick(Self.strings))</remove>"#
        }
    }

    mutating func block(depth: Int) -> String {
        var body = ""
        for _ in 0..<count(4) {
            if depth < 4, chance(45) {
                let op = pick(FDIParser.operators.filter { $0 != "is_absolute_path" || chance(50) })
                // Half the time one of a few hot keys, so that chains test one key twice (and conflict).
                let key = chance(50) ? pick(["usb.vendor_id", "info.subsystem", "sync.kind"]) : pick(Self.keys)
                body += #"<match key="\#(key)" \#(op)="\#(operand(for: op))">"#
                body += block(depth: depth + 1)
                body += "</match>\n"
            } else {
                body += action() + "\n"
            }
        }
        return body
    }

    mutating func profiles() throws -> ProfileSet {
        var files: [ProfileFile] = []
        for file in 0..<(1 + count(2)) {
            var text = "<deviceinfo version=\"0.2\">\n"
            for _ in 0..<(1 + count(3)) { text += "<device>\n" + block(depth: 0) + "</device>\n" }
            text += "</deviceinfo>\n"
            files.append(try FDIParser.parse(text, path: "random-\(file).fdi"))
        }
        return ProfileSet(files)
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

@Suite("Compiled index equals the sequential evaluator")
struct MatcherEquivalenceTests {
    @Test("random profiles and devices: same properties and same applied rules", arguments: [0xDEC0DE as UInt64, 1, 2, 3])
    func randomEquivalence(seed: UInt64) throws {
        var generator = ProfileGenerator(random: SplitMix64(seed: seed))
        var compared = 0
        var applied = 0
        for round in 0..<1_000 {
            let profiles = try generator.profiles()
            let sequential = SequentialMatcher(profiles)
            let compiled = CompiledMatcher(profiles)
            for _ in 0..<4 {
                let device = generator.device()
                let expected = sequential.match(device)
                let actual = compiled.match(device)
                compared += 1
                applied += expected.appliedRules.count
                guard expected == actual else {
                    Issue.record("""
                        seed \(seed), round \(round): compiled and sequential differ
                        device: \(device.sorted)
                        sequential: \(expected.properties.sorted) \(expected.appliedRules)
                        compiled:   \(actual.properties.sorted) \(actual.appliedRules)
                        """)
                    return
                }
            }
        }
        // The generator must exercise matching, not only the empty case.
        #expect(compared == 4_000)
        #expect(applied > compared, "seed \(seed): too few rules applied to mean anything (\(applied))")
    }
}
