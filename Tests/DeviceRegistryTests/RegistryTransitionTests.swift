// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DeviceRegistry

@Suite("Registry: arrivals, decisions and departures")
struct RegistryTransitionTests {
    let palmUID = "usb-0830-0061-PALM0001"

    @Test("a new sync device arrives pending, described by its profile, and asks for approval")
    func newDeviceIsPending() async throws {
        let harness = try RegistryHarness()
        let events = harness.registry.events()
        await harness.registry.handle(.arrived(Fixture.palm()))

        let record = try #require(await harness.registry.device(uid: palmUID))
        #expect(record.status == .pending)
        #expect(record.present)
        #expect(record.stableId)
        #expect(record.owner == nil)
        #expect(record.vendor == "Palm")
        #expect(record.model == "Tungsten T3")
        #expect(record.kind == "pda")
        #expect(record.transport == .usb)
        #expect(record.plugin == "palm-sync")
        #expect(record.datatypes == ["contacts", "calendar", "todo", "notes"])
        #expect(record.profile == DeviceRegistry.SourceLocation(file: "10-palm.fdi", line: 12, column: 5))
        #expect(record.firstSeen == harness.clock.now)
        #expect(record.lastSeen == harness.clock.now)
        #expect(record.sourceKeys == ["/devices/pci0000:00/0000:00:14.0/usb1/1-2"])
        #expect(record.properties.string("usb.serial") == "PALM0001")
        #expect(
            summary(await drain(events, of: harness.registry)) == [
                "arrived \(palmUID) pending", "approvalRequested \(palmUID) alice",
            ])
    }

    @Test("vendor and model fall back to info.vendor and info.product without sync.vendor and sync.model")
    func vendorFallsBack() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.camera()))
        let record = try #require(await harness.registry.devices().first)
        #expect(record.vendor == "Palm, Inc.")
        #expect(record.model == "Palm Handheld")
        #expect(record.plugin == "gphoto")
    }

    @Test("a pending device is not stored and leaves the registry when it departs")
    func pendingDeviceLeaves() async throws {
        let harness = try RegistryHarness()
        let events = harness.registry.events()
        let palm = Fixture.palm()
        await harness.registry.handle(.arrived(palm))
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.devicesDirectory).isEmpty)
        await harness.registry.handle(.departed(transport: .usb, sourceKey: palm.sourceKey))

        #expect(await harness.registry.devices().isEmpty)
        #expect(
            summary(await drain(events, of: harness.registry)) == [
                "arrived \(palmUID) pending", "approvalRequested \(palmUID) alice", "departed \(palmUID)",
                "removed \(palmUID)",
            ])
    }

    @Test("an ignored device and a device without a plugin stay out, and the log says why")
    func nonSyncDevicesStayOut() async throws {
        let harness = try RegistryHarness()
        let events = harness.registry.events()
        await harness.registry.handle(.arrived(Fixture.usb(vendor: 0x05e3, product: 0x0608, serial: "HUB")))
        await harness.registry.handle(.arrived(Fixture.usb(vendor: 0x046d, product: 0xc52b, serial: "MOUSE", port: "1-4")))

        #expect(await harness.registry.devices().isEmpty)
        #expect(await drain(events, of: harness.registry).isEmpty)
        let reasons = harness.log.lines.filter { $0.level == .debug && $0.message == "Not a sync device" }
            .compactMap { $0.metadata["reason"] }
        #expect(reasons.sorted() == ["no profile sets sync.plugin", "sync.ignore is true"])
    }

    @Test("approving stores the decision with its owner")
    func approveStores() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        let events = harness.registry.events()
        let record = try await harness.registry.approve(uid: palmUID, owner: "alice")

        #expect(record.status == .approved)
        #expect(record.owner == "alice")
        #expect(await harness.registry.device(uid: palmUID) == record)
        let text = try String(contentsOfFile: "\(harness.devicesDirectory)/\(palmUID)", encoding: .utf8)
        #expect(text.contains("status=approved\n"))
        #expect(text.contains("owner=alice\n"))
        #expect(summary(await drain(events, of: harness.registry)) == ["changed \(palmUID) approved"])
    }

    @Test("an approved device comes back approved, with its owner, after a restart and a new port")
    func approvalSurvivesRestart() async throws {
        let first = try RegistryHarness()
        await first.registry.handle(.arrived(Fixture.palm()))
        try await first.registry.approve(uid: palmUID, owner: "alice")

        first.clock.advance(by: 3600)
        let second = try first.restarted()
        let absent = try #require(await second.registry.device(uid: palmUID))
        #expect(!absent.present)
        #expect(absent.status == .approved)
        #expect(absent.owner == "alice")
        #expect(absent.plugin == "palm-sync")

        let events = second.registry.events()
        await second.registry.handle(.arrived(Fixture.palm(port: "3-1", busNumber: 3, deviceNumber: 12)))
        let back = try #require(await second.registry.device(uid: palmUID))
        #expect(back.present)
        #expect(back.status == .approved)
        #expect(back.owner == "alice")
        #expect(back.lastSeen == first.clock.now)
        #expect(back.firstSeen == first.clock.now - 3600)
        #expect(summary(await drain(events, of: second.registry)) == ["arrived \(palmUID) approved"])
    }

    @Test("known devices coming back in a cold-plug batch are stored with their new lastSeen by the time it returns")
    func batchStoresKnownDevices() async throws {
        let first = try RegistryHarness()
        await first.registry.handle(contentsOf: [.arrived(Fixture.palm()), .arrived(Fixture.camera())])
        try await first.registry.approve(uid: palmUID, owner: "alice")
        first.clock.advance(by: 3600)

        let second = try first.restarted()
        await second.registry.handle(contentsOf: [.arrived(Fixture.camera()), .arrived(Fixture.palm())])
        let stored = try DeviceStore(directory: first.directory.path, logger: LogCapture().logger).loadAll()
        #expect(stored.map(\.uid) == [palmUID], "only the decided device is stored")
        #expect(stored.first?.lastSeen == first.clock.now)
        #expect(stored.first?.owner == "alice")
    }

    @Test("a rejected device stays rejected when it comes back, even after a restart")
    func rejectedStaysRejected() async throws {
        let first = try RegistryHarness()
        let palm = Fixture.palm()
        await first.registry.handle(.arrived(palm))
        try await first.registry.reject(uid: palmUID)
        await first.registry.handle(.departed(transport: .usb, sourceKey: palm.sourceKey))

        let second = try first.restarted()
        let events = second.registry.events()
        await second.registry.handle(.arrived(palm))
        #expect(await second.registry.device(uid: palmUID)?.status == .rejected)
        #expect(summary(await drain(events, of: second.registry)) == ["arrived \(palmUID) rejected"])
    }

    @Test("a damaged device file does not stop the registry: the others load, the damaged one is set aside")
    func damagedFileAtStart() async throws {
        let first = try RegistryHarness()
        await first.registry.handle(.arrived(Fixture.palm()))
        await first.registry.handle(.arrived(Fixture.phone()))
        try await first.registry.approve(uid: palmUID, owner: "alice")
        try await first.registry.reject(uid: "bt-00:11:22:33:44:55")
        try "[device]\nuid=bt-00:11".write(
            toFile: "\(first.devicesDirectory)/bt-00:11:22:33:44:55", atomically: false, encoding: .utf8)

        let second = try first.restarted()
        #expect(await second.registry.devices().map(\.uid) == [palmUID])
        #expect(FileManager.default.fileExists(atPath: "\(first.directory.path)/quarantine/bt-00:11:22:33:44:55.corrupt-1"))
    }

    @Test("a stored device departs but stays listed, with the time it left")
    func storedDeviceDeparts() async throws {
        let harness = try RegistryHarness()
        let palm = Fixture.palm()
        await harness.registry.handle(.arrived(palm))
        try await harness.registry.approve(uid: palmUID, owner: "alice")
        harness.clock.advance(by: 90)
        let events = harness.registry.events()
        await harness.registry.handle(.departed(transport: .usb, sourceKey: palm.sourceKey))

        let record = try #require(await harness.registry.device(uid: palmUID))
        #expect(!record.present)
        #expect(record.lastSeen == harness.clock.now)
        #expect(record.sourceKeys.isEmpty)
        #expect(record.properties.isEmpty)
        #expect(record.profile == nil)
        #expect(summary(await drain(events, of: harness.registry)) == ["departed \(palmUID)"])
        let reloaded = try DeviceStore(directory: harness.directory.path, logger: harness.log.logger).loadAll()
        #expect(reloaded.first?.lastSeen == harness.clock.now)
    }

    @Test("forgetting an absent device removes it and its file; it comes back pending")
    func forgetAbsent() async throws {
        let harness = try RegistryHarness()
        let palm = Fixture.palm()
        await harness.registry.handle(.arrived(palm))
        try await harness.registry.approve(uid: palmUID, owner: "alice")
        await harness.registry.handle(.departed(transport: .usb, sourceKey: palm.sourceKey))
        let events = harness.registry.events()

        #expect(try await harness.registry.forget(uid: palmUID) == nil)
        #expect(await harness.registry.device(uid: palmUID) == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(harness.devicesDirectory)/\(palmUID)"))
        await harness.registry.handle(.arrived(palm))
        #expect(await harness.registry.device(uid: palmUID)?.status == .pending)
        #expect(
            summary(await drain(events, of: harness.registry)) == [
                "removed \(palmUID)", "arrived \(palmUID) pending", "approvalRequested \(palmUID) alice",
            ])
    }

    @Test("forgetting a present device makes it pending again and asks anew")
    func forgetPresent() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        try await harness.registry.approve(uid: palmUID, owner: "alice")
        let events = harness.registry.events()

        let record = try #require(try await harness.registry.forget(uid: palmUID))
        #expect(record.status == .pending)
        #expect(record.owner == nil)
        #expect(record.present)
        #expect(!FileManager.default.fileExists(atPath: "\(harness.devicesDirectory)/\(palmUID)"))
        #expect(
            summary(await drain(events, of: harness.registry)) == [
                "changed \(palmUID) pending", "approvalRequested \(palmUID) alice",
            ])
        #expect(try await harness.restarted().registry.devices().isEmpty)
    }

    @Test("an approved device can be rejected, and a rejected one approved")
    func revokeAndReconsider() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        try await harness.registry.approve(uid: palmUID, owner: "alice")
        let rejected = try await harness.registry.reject(uid: palmUID)
        #expect(rejected.status == .rejected)
        #expect(rejected.owner == nil)
        let approved = try await harness.registry.approve(uid: palmUID, owner: "bob")
        #expect(approved.status == .approved)
        #expect(approved.owner == "bob")
        #expect(try await harness.restarted().registry.device(uid: palmUID)?.status == .approved)
    }

    @Test("invalid transitions are refused with typed errors and change nothing")
    func invalidTransitions() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))

        let missing = await error { try await harness.registry.approve(uid: "usb-dead-beef", owner: "bob") }
        #expect(missing?.code == .noSuchDevice)
        #expect(await error { try await harness.registry.forget(uid: palmUID) }?.code == .badState)
        #expect(await error { try await harness.registry.approve(uid: palmUID, owner: "") }?.code == .invalidArgument)
        #expect(await error { try await harness.registry.approve(uid: palmUID, owner: "a\nb") }?.code == .invalidArgument)
        #expect(await harness.registry.device(uid: palmUID)?.status == .pending)

        try await harness.registry.approve(uid: palmUID, owner: "alice")
        #expect(await error { try await harness.registry.approve(uid: palmUID, owner: "bob") }?.code == .badState)
        #expect(await harness.registry.device(uid: palmUID)?.owner == "alice")
        try await harness.registry.reject(uid: palmUID)
        #expect(await error { try await harness.registry.reject(uid: palmUID) }?.code == .badState)
    }

    @Test("a decision that cannot be stored is refused and changes nothing")
    func storeFailureChangesNothing() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        try FileManager.default.removeItem(atPath: harness.devicesDirectory)
        let events = harness.registry.events()

        let failure = await error { try await harness.registry.approve(uid: palmUID, owner: "alice") }
        #expect(failure?.code == .storeFailure)
        #expect(await harness.registry.device(uid: palmUID)?.status == .pending)
        #expect(await drain(events, of: harness.registry).isEmpty)
    }

    @Test("a changed observation updates the record once; an identical one announces nothing")
    func changedObservation() async throws {
        let harness = try RegistryHarness()
        let palm = Fixture.palm()
        await harness.registry.handle(.arrived(palm))
        let events = harness.registry.events()
        await harness.registry.handle(.changed(palm))
        var withTTY = palm
        withTTY.properties["serial.device"] = .string("/dev/ttyUSB1")
        await harness.registry.handle(.changed(withTTY))

        #expect(await harness.registry.device(uid: palmUID)?.properties.string("serial.device") == "/dev/ttyUSB1")
        #expect(summary(await drain(events, of: harness.registry)) == ["changed \(palmUID) pending"])
    }

    @Test("uids can be looked up whole or by an unambiguous prefix")
    func lookupByPrefix() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        await harness.registry.handle(.arrived(Fixture.palm(serial: "PALM0002", port: "1-5")))
        await harness.registry.handle(.arrived(Fixture.phone()))

        #expect(try await harness.registry.device(matching: "bt-").uid == "bt-00:11:22:33:44:55")
        #expect(try await harness.registry.device(matching: palmUID).uid == palmUID)
        #expect(await harness.registry.devices(uidPrefix: "usb-0830").count == 2)
        let ambiguous = await error { try await harness.registry.device(matching: "usb-0830") }
        #expect(ambiguous?.code == .ambiguousDevice)
        #expect(await error { try await harness.registry.device(matching: "usb-ffff") }?.code == .noSuchDevice)
    }

    /// The registry error an operation throws, or nil.
    private func error<T>(_ body: () async throws -> T) async -> RegistryError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? RegistryError
        }
    }
}
