// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DeviceRegistry

@Suite("Registry: device identity")
struct RegistryIdentityTests {
    @Test("a USB serial makes a stable uid of vendor, product and serial")
    func serialUID() {
        let identity = DeviceIdentity(transport: .usb, properties: Fixture.palm().properties)
        #expect(identity.uid == "usb-0830-0061-PALM0001")
        #expect(identity.isStable)
    }

    @Test("a Bluetooth address makes a stable uid")
    func bluetoothUID() {
        let identity = DeviceIdentity(transport: .bluetooth, properties: Fixture.phone().properties)
        #expect(identity.uid == "bt-00:11:22:33:44:55")
        #expect(identity.isStable)
    }

    @Test("sync.unique_id_key names the property that identifies the device")
    func uniqueIDKey() {
        var properties = Fixture.palm().properties
        properties["sync.unique_id_key"] = .string("udev.ID_SERIAL_SHORT")
        properties["udev.ID_SERIAL_SHORT"] = .string("TT3-42")
        #expect(DeviceIdentity(transport: .usb, properties: properties).uid == "usb-0830-0061-TT3-42")
        properties["udev.ID_SERIAL_SHORT"] = .string("   ")
        #expect(DeviceIdentity(transport: .usb, properties: properties).uid == "usb-0830-0061-PALM0001")
    }

    @Test("a serial of white space, tabs or undecodable bytes counts as absent: the uid is a descriptor hash")
    func blankSerialAbsent() {
        let hashed = DeviceIdentity(transport: .usb, properties: Fixture.palm(serial: nil).properties)
        #expect(!hashed.isStable)
        for serial in ["   \t ", "\t", "\u{FFFD}\u{FFFD}", " \u{200B} ", "\n\r", "\u{3000}"] {
            let identity = DeviceIdentity(transport: .usb, properties: Fixture.palm(serial: serial).properties)
            #expect(identity == hashed, "serial \(Array(serial.unicodeScalars))")
        }
        let kept = DeviceIdentity(transport: .usb, properties: Fixture.palm(serial: " A\t").properties)
        #expect(kept.isStable)
        #expect(kept.uid == "usb-0830-0061-%20A%EF%BF%BD")
    }

    @Test("the same device on another port, bus or device number keeps its uid")
    func portIndependent() {
        let here = DeviceIdentity(transport: .usb, properties: Fixture.palm(port: "1-2", busNumber: 1, deviceNumber: 5).properties)
        let there = DeviceIdentity(transport: .usb, properties: Fixture.palm(port: "4-1.3", busNumber: 4, deviceNumber: 99).properties)
        #expect(here == there)
        let bare = DeviceIdentity(transport: .usb, properties: Fixture.camera(port: "1-3", busNumber: 1, deviceNumber: 7).properties)
        let moved = DeviceIdentity(transport: .usb, properties: Fixture.camera(port: "2-1", busNumber: 2, deviceNumber: 3).properties)
        #expect(bare == moved)
    }

    @Test("without a serial the uid is an unstable hash of the descriptors, and changes with them")
    func descriptorHash() {
        let camera = Fixture.camera().properties
        let identity = DeviceIdentity(transport: .usb, properties: camera)
        #expect(!identity.isStable)
        let text = DeviceIdentity.descriptorText(transport: .usb, properties: camera)
        #expect(text == "usb;vid=04a9;pid=3170;rev=0100;class=00/00/00;if=ff/00/00")
        #expect(identity.uid == "usb-04a9-3170~924b0bd133f39dd1")
        var revised = camera
        revised["usb.device_revision_bcd"] = .int(0x0200)
        #expect(DeviceIdentity(transport: .usb, properties: revised).uid != identity.uid)
    }

    @Test("FNV-1a gives the published 64-bit test vectors")
    func fnvVectors() {
        #expect(DeviceIdentity.fnv1aHex("") == "cbf29ce484222325")
        #expect(DeviceIdentity.fnv1aHex("a") == "af63dc4c8601ec8c")
        #expect(DeviceIdentity.fnv1aHex("foobar") == "85944171f73967e8")
    }

    @Test("serials with unsafe characters are escaped into a file-name-safe uid")
    func unsafeSerialEscaped() {
        var properties = Fixture.palm().properties
        properties["usb.serial"] = .string("../a b/ü%")
        let uid = DeviceIdentity(transport: .usb, properties: properties).uid
        #expect(uid == "usb-0830-0061-..%2Fa%20b%2F%C3%BC%25")
        #expect(DeviceIdentity.isValid(uid))
        #expect(!uid.contains("/"))
    }

    @Test("an overlong serial is hashed, and stays stable")
    func longSerialHashed() {
        var properties = Fixture.palm().properties
        let serial = String(repeating: "S", count: 300)
        properties["usb.serial"] = .string(serial)
        let identity = DeviceIdentity(transport: .usb, properties: properties)
        #expect(identity.uid == "usb-0830-0061-~" + DeviceIdentity.fnv1aHex(serial))
        #expect(identity.isStable)
        #expect(DeviceIdentity.isValid(identity.uid))
    }

    @Test("only file-name-safe uids are valid")
    func validity() {
        #expect(DeviceIdentity.isValid("usb-0830-0061-PALM0001"))
        #expect(DeviceIdentity.isValid("bt-00:11:22:33:44:55"))
        #expect(!DeviceIdentity.isValid(""))
        #expect(!DeviceIdentity.isValid(".hidden"))
        #expect(!DeviceIdentity.isValid("a/b"))
        #expect(!DeviceIdentity.isValid("a b"))
        #expect(!DeviceIdentity.isValid(String(repeating: "a", count: 201)))
    }

    @Test("a uid maps to a valid, distinct D-Bus object path element")
    func objectPathElement() {
        #expect(DeviceIdentity.objectPathElement("usb-0830-0061-PALM0001") == "usb_2d0830_2d0061_2dPALM0001")
        #expect(DeviceIdentity.objectPathElement("bt-00:11:22:33:44:55") == "bt_2d00_3a11_3a22_3a33_3a44_3a55")
        #expect(DeviceIdentity.objectPathElement("a_b") != DeviceIdentity.objectPathElement("a-b"))
        let element = DeviceIdentity.objectPathElement("usb-04a9-3170~0123456789abcdef-2")
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_".utf8)
        #expect(element.utf8.allSatisfy(allowed.contains))
    }

    @Test("a device unplugged and replugged on another port is the same record")
    func replugSameRecord() async throws {
        let harness = try RegistryHarness()
        let first = Fixture.camera(port: "1-3", busNumber: 1, deviceNumber: 7)
        await harness.registry.handle(.arrived(first))
        let uid = try #require(await harness.registry.devices().first?.uid)
        try await harness.registry.approve(uid: uid, owner: "alice")
        await harness.registry.handle(.departed(transport: .usb, sourceKey: first.sourceKey))
        await harness.registry.handle(.arrived(Fixture.camera(port: "2-1", busNumber: 2, deviceNumber: 3)))

        let devices = await harness.registry.devices()
        #expect(devices.map(\.uid) == [uid])
        #expect(devices.first?.status == .approved)
        #expect(devices.first?.stableId == false)
    }

    @Test("two identical devices without serials present at once get <uid> and <uid>-2")
    func identicalDevicesSuffixed() async throws {
        let harness = try RegistryHarness()
        let one = Fixture.camera(port: "1-3", deviceNumber: 7)
        let two = Fixture.camera(port: "1-4", deviceNumber: 8)
        await harness.registry.handle(.arrived(one))
        await harness.registry.handle(.arrived(two))
        let base = DeviceIdentity(transport: .usb, properties: one.properties).uid

        let devices = await harness.registry.devices()
        #expect(devices.map(\.uid) == [base, "\(base)-2"])
        #expect(devices.allSatisfy { !$0.stableId && $0.present })
        #expect(devices.map(\.sourceKeys) == [[one.sourceKey], [two.sourceKey]])

        // The first leaves: the next identical arrival takes the free base uid.
        await harness.registry.handle(.departed(transport: .usb, sourceKey: one.sourceKey))
        await harness.registry.handle(.arrived(Fixture.camera(port: "1-5", deviceNumber: 9)))
        #expect(await harness.registry.devices().map(\.uid) == [base, "\(base)-2"])
    }
}

@Suite("Registry: one device through two paths")
struct RegistryFoldingTests {
    let palmUID = "usb-0830-0061-PALM0001"

    @Test("a second source key with the same uid joins the record without a second arrival")
    func twoPathsOneRecord() async throws {
        let harness = try RegistryHarness()
        let events = harness.registry.events()
        let direct = Fixture.palm(port: "1-2")
        let viaHub = Fixture.palm(port: "1-1.4", deviceNumber: 9)
        await harness.registry.handle(.arrived(direct))
        await harness.registry.handle(.arrived(viaHub))

        let record = try #require(await harness.registry.devices().only)
        #expect(record.uid == palmUID)
        #expect(record.sourceKeys == [direct.sourceKey, viaHub.sourceKey].sorted())

        await harness.registry.handle(.departed(transport: .usb, sourceKey: direct.sourceKey))
        let remaining = try #require(await harness.registry.device(uid: palmUID))
        #expect(remaining.present)
        #expect(remaining.sourceKeys == [viaHub.sourceKey])
        #expect(remaining.properties.int("usb.linux.device_number") == 9)

        await harness.registry.handle(.departed(transport: .usb, sourceKey: viaHub.sourceKey))
        #expect(
            summary(await drain(events, of: harness.registry)) == [
                "arrived \(palmUID) pending", "approvalRequested \(palmUID) alice", "changed \(palmUID) pending",
                "changed \(palmUID) pending", "departed \(palmUID)", "removed \(palmUID)",
            ])
    }

    @Test("a change that gives a present device another uid moves it to a new record")
    func changeOfIdentity() async throws {
        let harness = try RegistryHarness()
        var palm = Fixture.palm()
        await harness.registry.handle(.arrived(palm))
        let events = harness.registry.events()
        palm.properties["usb.serial"] = .string("PALM0009")
        await harness.registry.handle(.changed(palm))

        #expect(await harness.registry.devices().map(\.uid) == ["usb-0830-0061-PALM0009"])
        #expect(
            summary(await drain(events, of: harness.registry)) == [
                "departed \(palmUID)", "removed \(palmUID)", "arrived usb-0830-0061-PALM0009 pending",
                "approvalRequested usb-0830-0061-PALM0009 alice",
            ])
    }
}

extension Array {
    /// The single element, or nil if there are none or several.
    var only: Element? { count == 1 ? first : nil }
}
