// SPDX-License-Identifier: Apache-2.0
import Testing

@testable import DeviceRegistry

@Suite("Registry: events and reload")
struct RegistryEventTests {
    let palmUID = "usb-0830-0061-PALM0001"

    @Test("every subscriber sees every event, in the same order")
    func multipleSubscribers() async throws {
        let harness = try RegistryHarness()
        let bus = harness.registry.events()
        let monitor = harness.registry.events()
        let palm = Fixture.palm()
        await harness.registry.handle(.arrived(palm))
        try await harness.registry.approve(uid: palmUID, owner: "alice")
        await harness.registry.handle(.departed(transport: .usb, sourceKey: palm.sourceKey))

        harness.registry.finishEvents()
        var seenByBus: [RegistryEvent] = []
        for await event in bus { seenByBus.append(event) }
        var seenByMonitor: [RegistryEvent] = []
        for await event in monitor { seenByMonitor.append(event) }
        #expect(seenByBus == seenByMonitor)
        #expect(
            summary(seenByBus) == [
                "arrived \(palmUID) pending", "approvalRequested \(palmUID) alice", "changed \(palmUID) approved",
                "departed \(palmUID)",
            ])
    }

    @Test("a batch of source events (the cold-plug) has the effect and the events of handling them one by one")
    func batchEqualsOneByOne() async throws {
        let palm = Fixture.palm()
        let batch: [SourceEvent] = [
            .arrived(palm), .arrived(Fixture.camera()), .arrived(Fixture.phone()),
            .departed(transport: .usb, sourceKey: palm.sourceKey), .arrived(Fixture.palm(serial: "PALM0002", port: "1-4")),
        ]
        let oneByOne = try RegistryHarness()
        let oneByOneEvents = oneByOne.registry.events()
        for event in batch { await oneByOne.registry.handle(event) }
        let batched = try RegistryHarness()
        let batchedEvents = batched.registry.events()
        await batched.registry.handle(contentsOf: batch)

        #expect(await batched.registry.devices() == oneByOne.registry.devices())
        let uids = await batched.registry.devices().map(\.uid)
        #expect(uids.contains("usb-0830-0061-PALM0002") && !uids.contains(palmUID))
        let expected = await drain(oneByOneEvents, of: oneByOne.registry)
        #expect(await drain(batchedEvents, of: batched.registry) == expected)
        #expect(summary(expected).contains("removed \(palmUID)"))
    }

    @Test("a subscriber that stops listening is dropped")
    func subscriberDropped() async throws {
        let harness = try RegistryHarness()
        var stream: AsyncStream<RegistryEvent>? = harness.registry.events()
        #expect(stream != nil)
        stream = nil
        await harness.registry.handle(.arrived(Fixture.palm()))
        #expect(harness.registry.subscriberCount == 0)
    }

    @Test("a snapshot and its event stream neither miss nor repeat a change")
    func snapshotThenEvents() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        let (devices, events) = await harness.registry.devicesAndEvents()
        await harness.registry.handle(.arrived(Fixture.phone()))
        #expect(devices.map(\.uid) == [palmUID])
        #expect(
            summary(await drain(events, of: harness.registry)) == [
                "arrived bt-00:11:22:33:44:55 pending", "approvalRequested bt-00:11:22:33:44:55 alice",
            ])
    }

    @Test("without an owner suggestion the approval request carries none")
    func noSuggestedOwner() async throws {
        let harness = try RegistryHarness(owner: nil)
        let events = harness.registry.events()
        await harness.registry.handle(.arrived(Fixture.palm()))
        #expect(await drain(events, of: harness.registry).last == .approvalRequested(uid: palmUID, suggestedOwner: nil))
    }

    @Test("reloading profiles re-matches present devices: one leaves, one joins, one changes")
    func reloadRematches() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        await harness.registry.handle(.arrived(Fixture.camera()))
        let scanner = Fixture.usb(vendor: 0x04b8, product: 0x0110, serial: "SCAN1", port: "1-6")
        await harness.registry.handle(.arrived(scanner))
        let cameraUID = try #require(await harness.registry.devices(uidPrefix: "usb-04a9").first?.uid)
        #expect(await harness.registry.devices().count == 2)
        let events = harness.registry.events()

        var palmRule = Fixture.palmRule
        palmRule.merges["sync.model"] = .string("Zire 72")
        let scannerRule = FakeMatcher.Rule.usb(
            vendor: 0x04b8, product: 0x0110, file: "40-scanners.fdi", ["sync.plugin": .string("files")])
        await harness.registry.reload(matcher: FakeMatcher([palmRule, scannerRule]))

        let devices = await harness.registry.devices()
        #expect(devices.map(\.uid) == ["usb-04b8-0110-SCAN1", palmUID])
        #expect(devices.last?.model == "Zire 72")
        #expect(devices.first?.profile?.file == "40-scanners.fdi")
        #expect(
            Set(summary(await drain(events, of: harness.registry))) == [
                "changed \(palmUID) pending", "departed \(cameraUID)", "removed \(cameraUID)",
                "arrived usb-04b8-0110-SCAN1 pending", "approvalRequested usb-04b8-0110-SCAN1 alice",
            ])
    }

    @Test("a change that makes an ignored device a sync device brings it in")
    func changeBringsIn() async throws {
        let matcher = FakeMatcher([
            FakeMatcher.Rule(
                location: DeviceRegistry.SourceLocation(file: "50-tty.fdi", line: 1, column: 1),
                matches: { $0.contains("serial.device") }, merges: ["sync.plugin": .string("palm-sync")])
        ])
        let harness = try RegistryHarness(matcher: matcher)
        var device = Fixture.usb(vendor: 0x1234, product: 0x0001, serial: "X1")
        await harness.registry.handle(.arrived(device))
        #expect(await harness.registry.devices().isEmpty)
        device.properties["serial.device"] = .string("/dev/ttyUSB0")
        await harness.registry.handle(.changed(device))
        #expect(await harness.registry.devices().map(\.uid) == ["usb-1234-0001-X1"])
    }
}
