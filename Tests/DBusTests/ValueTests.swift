// SPDX-License-Identifier: Apache-2.0
import DBus
import Testing

@Suite("Values, signatures and names")
struct ValueTests {
    @Test("signatures are validated and parsed into types")
    func signatures() throws {
        let signature = try DBusSignature("sa{sv}a(oi)")
        #expect(signature.types == [.string, .dictionary(key: .string, value: .variant), .array(.structure([.objectPath, .int32]))])
        #expect(signature.rawValue == "sa{sv}a(oi)")
        for invalid in ["a", "a{vs}", "(", "()", "z", "a{s}", "s\0"] {
            #expect(throws: DBusError.self, "\(invalid)") { try DBusSignature(invalid) }
        }
    }

    @Test("a value knows its signature, empty containers included")
    func valueSignatures() {
        #expect(DBusValue.array(.string, []).signature == "as")
        #expect(DBusValue.dictionary(key: .string, value: .variant, [:]).signature == "a{sv}")
        #expect(DBusValue.structure([.int32(1), .string("x")]).signature == "(is)")
        #expect(DBusValue.vardict(["a": .bool(true)]).signature == "a{sv}")
    }

    @Test("inconsistent containers are rejected before marshalling")
    func inconsistentContainers() {
        #expect(throws: DBusError.self) { try DBusValue.array(.string, [.int32(1)]).validate() }
        #expect(throws: DBusError.self) { try DBusValue.structure([]).validate() }
        #expect(throws: DBusError.self) { try DBusValue.dictionary(key: .variant, value: .string, [:]).validate() }
    }

    @Test("typed decoding returns Swift values")
    func typedDecoding() throws {
        let arguments: [DBusValue] = ["disk", .vardict(["force": true]), .array(.uint32, [.uint32(1), .uint32(2)])]
        let (name, options, numbers) = try arguments.decode(String.self, [String: DBusValue].self, [UInt32].self)
        #expect(name == "disk")
        #expect(options["force"] == .bool(true))
        #expect(numbers == [1, 2])
        #expect(arguments[0].string == "disk")
        #expect(arguments[1]["force"]?.bool == true)
    }

    @Test("typed decoding names expected and actual signatures on mismatch")
    func typedDecodingMismatch() {
        let arguments: [DBusValue] = [.int32(3)]
        do {
            _ = try arguments.decode(String.self, [String: DBusValue].self)
            Issue.record("decoding should fail")
        } catch {
            #expect(error.name == DBusError.Name.invalidArgs)
            #expect(error.message.contains("'sa{sv}'"))
            #expect(error.message.contains("'i'"))
        }
        #expect(throws: DBusError.self) { try [DBusValue.string("x")].decode(UInt32.self) }
    }

    @Test("object paths are validated")
    func objectPaths() throws {
        for valid in ["/", "/a", "/org/devsync/Broker1", "/a_b/C9"] {
            #expect(DBusObjectPath.isValid(valid), "\(valid)")
        }
        for invalid in ["", "a", "//", "/a/", "/a//b", "/a-b", "/ä", "/a b"] {
            #expect(!DBusObjectPath.isValid(invalid), "\(invalid)")
            #expect(throws: DBusError.self) { try DBusObjectPath(invalid) }
        }
        let path = try DBusObjectPath("/org/devsync/device")
        #expect(path.parent == (try DBusObjectPath("/org/devsync")))
        #expect(path.lastElement == "device")
        #expect(path.isDescendant(of: .root))
    }

    @Test("any text escapes into a valid path element and back", arguments: [
        "", "usb-1.2:1.0", "/dev/ttyUSB0", "Ünïcødé ✓", "_x", "a\0b", "plain123", "../..",
    ])
    func pathEscaping(text: String) throws {
        let element = DBusObjectPath.escapeElement(text)
        let path = DBusObjectPath.root.appending(escaping: text)
        #expect(DBusObjectPath.isValid(path.rawValue))
        #expect(path.lastElement == element)
        #expect(DBusObjectPath.unescapeElement(element) == text)
    }

    @Test("escaping matches systemd's bus_label_escape")
    func escapingLikeSystemd() {
        #expect(DBusObjectPath.escapeElement("usb-1.2") == "usb_2d1_2e2")
        #expect(DBusObjectPath.escapeElement("abcXYZ019") == "abcXYZ019")
        #expect(DBusObjectPath.escapeElement("") == "_")
    }

    @Test("interface, member and bus names are validated")
    func names() {
        #expect(DBusNames.isValidInterface("org.devsync.Broker1"))
        #expect(!DBusNames.isValidInterface("org"))
        #expect(!DBusNames.isValidInterface("org.devsync.\0x"))
        #expect(DBusNames.isValidMember("ListDevices"))
        #expect(!DBusNames.isValidMember("List.Devices"))
        #expect(DBusNames.isValidBusName(":1.42"))
        #expect(DBusNames.isValidBusName("org.devsync.Broker1"))
        #expect(!DBusNames.isValidBusName("org..x"))
        #expect(DBusNames.isValidErrorName("org.devsync.Broker1.Error.NotAuthorized"))
    }

    @Test("signature literals build types")
    func typeLiterals() {
        let type: DBusType = "a{oa{sa{sv}}}"
        #expect(type == .dictionary(key: .objectPath, value: .dictionary(key: .string, value: .dictionary(key: .string, value: .variant))))
    }
}
