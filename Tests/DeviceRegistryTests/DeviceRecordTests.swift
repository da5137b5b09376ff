// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import DeviceRegistry

@Suite("Device records")
struct DeviceRecordTests {
    private static func record(uid: String = "usb-0781-74d0-S1") -> DeviceRecord {
        DeviceRecord(
            uid: uid, vendor: "SanDisk", model: "Sansa Clip+", kind: "media-player", transport: .usb, plugin: "mtp",
            datatypes: ["music"], owner: nil, status: .pending, present: true, stableId: true, firstSeen: 1,
            lastSeen: 2, profile: nil, properties: ["usb.serial": .string("S1")], sourceKeys: ["/devices/1-1"])
    }

    @Test("a copy of a record is a value: changing it changes neither the original nor other copies")
    func copiesAreValues() {
        let original = Self.record()
        var copy = original
        let other = original
        #expect(copy == original)
        copy.status = .approved
        copy.owner = "alice"
        copy.sourceKeys.append("/devices/1-2")
        copy.properties["usb.serial"] = .string("S2")
        #expect(original.status == .pending && original.owner == nil)
        #expect(original.sourceKeys == ["/devices/1-1"] && other.sourceKeys == ["/devices/1-1"])
        #expect(original.properties.string("usb.serial") == "S1")
        #expect(copy.status == .approved && copy.owner == "alice" && copy.sourceKeys.count == 2)
        #expect(copy != original && other == original)
    }

    @Test("records compare and hash by their fields, whether built apart or copied")
    func equalityByFields() {
        var built = Self.record()
        let copied = Self.record()
        #expect(built == copied && built.hashValue == copied.hashValue)
        built.lastSeen = 3
        #expect(built != copied)
        built.lastSeen = 2
        #expect(built == copied && Set([built, copied]).count == 1)
        #expect(Self.record(uid: "other") != copied)
    }
}
