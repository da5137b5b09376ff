// SPDX-License-Identifier: Apache-2.0
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

    @Test("bidirectional, zero-width and other format characters are replaced in every published string")
    func formatCharactersReplaced() {
        // Category Cf: bidi embeddings/overrides, isolates, marks, Arabic letter mark, zero-width space/joiners,
        // word joiner, BOM, soft hyphen, interlinear annotation, a tag; and the line/paragraph separators.
        let unsafe: [Unicode.Scalar] = [
            "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}",
            "\u{2069}", "\u{200E}", "\u{200F}", "\u{061C}", "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}",
            "\u{FEFF}", "\u{00AD}", "\u{FFF9}", "\u{E0041}", "\u{2028}", "\u{2029}",
        ]
        for scalar in unsafe {
            let text = "Palm" + String(Character(scalar)) + "3T"
            #expect(!DeviceText.isClean(text), "U+\(String(scalar.value, radix: 16))")
            #expect(DeviceText.sanitize(text) == "Palm\u{FFFD}3T", "U+\(String(scalar.value, radix: 16))")
            var properties = DeviceProperties()
            properties["info.product"] = .string(text)
            properties["bluetooth.name"] = .string(text)
            properties["usb.interface_names"] = .strlist([text])
            #expect(properties.string("info.product") == "Palm\u{FFFD}3T")
            #expect(properties.string("bluetooth.name") == "Palm\u{FFFD}3T")
            #expect(properties.strlist("usb.interface_names") == ["Palm\u{FFFD}3T"])
        }
        let bytes = Array("gpj.\u{202E}exe".utf8)
        #expect(DeviceText.sanitize(bytes: bytes) == "gpj.\u{FFFD}exe")
    }

    @Test("letters, marks, emoji and symbols of any script are kept")
    func visibleTextKept() {
        for text in ["Nokia 6230i", "Tungsten™ – É", "Gerät ü\u{301}", "عربي", "עברית", "日本語", "📱 phone", "x\u{FE0F}"] {
            #expect(DeviceText.isClean(text), "\(text)")
            #expect(DeviceText.sanitize(text) == text)
        }
    }

    @Test("clean text passes unchanged")
    func cleanTextUnchanged() {
        #expect(DeviceText.sanitize("Palm Handheld – Tungsten™") == "Palm Handheld – Tungsten™")
    }

    @Test("a property set iterates in key order, whatever order it was filled in; setting, removing and merging keep it so")
    func sortedStorage() {
        var properties = DeviceProperties()
        for key in ["usb.vendor_id", "info.subsystem", "sync.kind", "udev.ID_MTP_DEVICE", "usb.serial"] {
            properties[key] = .string(key)
        }
        #expect(properties.map { $0.key } == ["info.subsystem", "sync.kind", "udev.ID_MTP_DEVICE", "usb.serial", "usb.vendor_id"])
        properties["sync.kind"] = nil
        properties["usb.serial"] = .string("S1")
        #expect(properties.sortedKeys == ["info.subsystem", "udev.ID_MTP_DEVICE", "usb.serial", "usb.vendor_id"])
        #expect(properties.string("usb.serial") == "S1")
        #expect(properties["sync.kind"] == nil)
        var merged = properties
        merged.merge(["aaa": .int(1), "usb.serial": .string("S2"), "zzz": .bool(true)])
        #expect(merged.sortedKeys == ["aaa", "info.subsystem", "udev.ID_MTP_DEVICE", "usb.serial", "usb.vendor_id", "zzz"])
        #expect(merged.string("usb.serial") == "S2")
        #expect(properties.string("usb.serial") == "S1")
        #expect(merged.dictionary.count == 6)
        #expect(DeviceProperties(merged.dictionary) == merged)
    }

    @Test("a set layered over another reads, iterates, counts and compares as the merged set, and leaves the base as it was")
    func layeredSet() {
        let base: DeviceProperties = [
            "info.vendor": .string("SanDisk"), "udev.ID_MTP_DEVICE": .string("1"), "usb.serial": .string("S1"),
            "usb.vendor_id": .int(0x0781),
        ]
        var layered = DeviceProperties(overlaying: base)
        #expect(layered == base)
        #expect(layered.hashValue == base.hashValue)
        layered["sync.plugin"] = .string("mtp")            // added
        layered["info.vendor"] = .string("Sandisk\u{1}")  // replaced, and sanitized as any write
        layered["usb.serial"] = nil                        // removed
        layered["absent"] = nil                            // removing what is not there changes nothing
        layered["usb.vendor_id"] = .int(0x0781)            // the same value: no change kept
        #expect(layered.sortedKeys == ["info.vendor", "sync.plugin", "udev.ID_MTP_DEVICE", "usb.vendor_id"])
        #expect(layered.count == 4)
        #expect(layered.string("info.vendor") == "Sandisk\u{FFFD}")
        #expect(layered["usb.serial"] == nil && !layered.contains("usb.serial"))
        #expect(layered.string("sync.plugin") == "mtp")
        #expect(base.count == 4 && base.string("usb.serial") == "S1" && base["sync.plugin"] == nil)

        var flat = base
        flat["sync.plugin"] = .string("mtp")
        flat["info.vendor"] = .string("Sandisk\u{1}")
        flat["usb.serial"] = nil
        #expect(layered == flat && flat == layered)
        #expect(layered.hashValue == flat.hashValue)
        #expect(Set([layered, flat]).count == 1)
        #expect(layered.dictionary == flat.dictionary)

        layered["usb.serial"] = .string("S1")               // put back: the layer forgets the removal
        layered["info.vendor"] = .string("SanDisk")
        layered["sync.plugin"] = nil
        #expect(layered == base)

        var merged = DeviceProperties(overlaying: base)
        merged.merge(["usb.serial": .string("S2"), "zzz": .bool(true)])
        #expect(merged.sortedKeys == ["info.vendor", "udev.ID_MTP_DEVICE", "usb.serial", "usb.vendor_id", "zzz"])
        #expect(merged.string("usb.serial") == "S2")
        var layeredTwice = DeviceProperties(overlaying: merged)
        layeredTwice["zzz"] = nil
        #expect(layeredTwice.sortedKeys == ["info.vendor", "udev.ID_MTP_DEVICE", "usb.serial", "usb.vendor_id"])
        #expect(merged.bool("zzz") == true)
    }
}
