import Testing
@testable import DeviceRegistry

@Suite("Device properties")
struct DevicePropertiesTests {
    @Test("strings with control characters are published with U+FFFD in their place")
    func controlCharactersReplaced() {
        var properties = DeviceProperties()
        properties["usb.serial"] = .string("AB\u{1}C\u{7F}D\u{9B}")
        #expect(properties.string("usb.serial") == "AB\u{FFFD}C\u{FFFD}D\u{FFFD}")
    }

    @Test("invalid UTF-8 from a device is repaired")
    func invalidUTF8Repaired() {
        let text = DeviceText.sanitize(bytes: [0x50, 0xC3, 0x28, 0x61, 0xFF])
        #expect(text == "P\u{FFFD}(a\u{FFFD}")
    }

    @Test("huge values are cut at a character boundary")
    func hugeValuesBounded() {
        let huge = String(repeating: "é", count: 40_000)
        let cut = DeviceText.sanitize(huge)
        #expect(cut.utf8.count <= DeviceText.maximumStringBytes)
        #expect(cut.utf8.count >= DeviceText.maximumStringBytes - 1)
        #expect(cut.allSatisfy { $0 == "é" })
    }

    @Test("long lists are bounded and each element is sanitized")
    func listsBounded() {
        var properties = DeviceProperties()
        properties["usb.interface_names"] = .strlist(Array(repeating: "a\u{0}b", count: 1000))
        let list = properties.strlist("usb.interface_names") ?? []
        #expect(list.count == DeviceText.maximumListCount)
        #expect(list.allSatisfy { $0 == "a\u{FFFD}b" })
    }

    @Test("clean text passes unchanged")
    func cleanTextUnchanged() {
        #expect(DeviceText.sanitize("Palm Handheld – Tungsten™") == "Palm Handheld – Tungsten™")
    }
}
