// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DeviceRegistry
import DevsyncTestSupport
import Testing

@Suite("Who may change a device", .timeLimit(.minutes(1)))
struct BrokerAuthorizationTests {
    private func approve(_ broker: BrokerFixture, _ path: DBusObjectPath, as user: TestBus.User, owner: String = "")
        async throws -> CommandResult
    {
        try await broker.bus.busctl(
            as: user, "call", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Approve", "sa{sv}",
            owner, "1", "auth.no_user_interaction", "b", "true")
    }

    @Test("another user may read but not approve, with NotAuthorized and a sentence")
    func otherUserIsRefused() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "U1"))
            let read = try await broker.bus.busctl(
                as: .nobody, "get-property", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Status")
            #expect(read.stdout == "s \"pending\"\n", "\(read.stderr)")
            let result = try await approve(broker, path, as: .nobody)
            #expect(result.status != 0)
            #expect(result.stderr.contains("You may not approve device usb-0830-0060-U1"), "\(result.stderr)")
            #expect(try await broker.deviceProperty(path, "Status") == .string("pending"))
        }
    }

    @Test("the suggested owner may approve a pending device for themself; the owner may then reject it")
    func ownerMayDecide() async throws {
        try await withBroker(suggestedOwner: "nobody") { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "U2"))
            let approved = try await approve(broker, path, as: .nobody)
            #expect(approved.status == 0, "\(approved.stderr)")
            #expect(try await broker.deviceProperty(path, "Owner") == .string("nobody"))
            let rejected = try await broker.bus.gdbus(
                as: .nobody, "call", "--dest", BrokerContract.busName, "--object-path", path.rawValue, "--method",
                "\(BrokerContract.deviceInterface).Reject", "{}")
            #expect(rejected.status == 0, "\(rejected.stderr)")
            #expect(try await broker.deviceProperty(path, "Status") == .string("rejected"))
        }
    }

    @Test("root may approve any device for anyone")
    func rootMayDecide() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "U3"))
            let result = try await approve(broker, path, as: .root, owner: "nobody")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try await broker.deviceProperty(path, "Owner") == .string("nobody"))
            let forget = try await broker.bus.busctl(
                as: .nobody, "call", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Forget",
                "a{sv}", "0")
            #expect(forget.status == 0, "the owner forgets its device: \(forget.stderr)")
        }
    }

    @Test("polkit's manage-devices lets another user approve; without it dbusmock's polkitd refuses")
    func polkitDecides() async throws {
        let bus = try await TestBus.start()
        let watcher = try await bus.connect("polkit-watcher")
        let polkit = try await PolkitMock.start(on: bus, watching: watcher)
        defer { polkit.stop() }
        try await withBroker(polkit: .bus, bus: bus) { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "P1"))
            let refused = try await approve(broker, path, as: .nobody)
            #expect(refused.stderr.contains("polkit did not authorize org.devsync.manage-devices"), "\(refused.stderr)")
            try await polkit.allow([BrokerContract.syncAnyDeviceAction], through: watcher)
            let wrongAction = try await approve(broker, path, as: .nobody)
            #expect(wrongAction.status != 0)
            try await polkit.allow([BrokerContract.manageDevicesAction], through: watcher)
            let allowed = try await approve(broker, path, as: .nobody, owner: "root")
            #expect(allowed.status == 0, "\(allowed.stderr)")
            #expect(try await broker.deviceProperty(path, "Owner") == .string("root"))
        }
        await watcher.close()
    }

    @Test("polkit may prompt unless auth.no_user_interaction is true; the owner and root are never asked")
    func userInteraction() async throws {
        let polkit = RecordingPolkit()
        try await withBroker(polkit: .recording(polkit), suggestedOwner: "nobody") { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "I1"))
            _ = try await broker.call(path, BrokerContract.deviceInterface, "Approve", [.string("nobody"), .vardict([:])])
            #expect(polkit.questions.withLock { $0.isEmpty }, "root is not asked about")
            let quiet = try await broker.bus.busctl(
                as: .nobody, "call", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Invoke",
                "sa{sv}", "sync-all", "1", "auth.no_user_interaction", "b", "true")
            #expect(quiet.stderr.contains("NoEngine") || quiet.stderr.contains("No sync engine"), "the owner passes: \(quiet.stderr)")
            #expect(polkit.questions.withLock { $0.isEmpty }, "the owner is not asked about")

            let other = await broker.arrive(TestDevice.observation(serial: "I2"))
            _ = try await broker.call(other, BrokerContract.deviceInterface, "Approve", [.string("root"), .vardict([:])])
            _ = try await broker.bus.busctl(
                as: .nobody, "call", BrokerContract.busName, other.rawValue, BrokerContract.deviceInterface, "Reject",
                "a{sv}", "1", "auth.no_user_interaction", "b", "true")
            _ = try await broker.bus.busctl(
                as: .nobody, "call", BrokerContract.busName, other.rawValue, BrokerContract.deviceInterface, "Invoke",
                "sa{sv}", "sync-all", "0")
            #expect(polkit.questions.withLock { $0 } == [
                RecordingPolkit.Question(action: BrokerContract.manageDevicesAction, allowUserInteraction: false),
                RecordingPolkit.Question(action: BrokerContract.syncAnyDeviceAction, allowUserInteraction: true),
            ])
        }
    }

    @Test("ReloadProfiles needs manage-devices")
    func reloadNeedsPolkit() async throws {
        try await withBroker(polkit: .fixed([]), reload: { (rules: 1, errors: []) }) { broker in
            let result = try await broker.bus.busctl(
                as: .nobody, "call", BrokerContract.busName, BrokerContract.managerPath.rawValue,
                BrokerContract.managerInterface, "ReloadProfiles", "a{sv}", "0")
            #expect(result.status != 0)
            #expect(result.stderr.contains("reload the device profiles"), "\(result.stderr)")
        }
        try await withBroker(polkit: .fixed([BrokerContract.manageDevicesAction]), reload: { (rules: 1, errors: []) }) { broker in
            let result = try await broker.bus.busctl(
                as: .nobody, "call", BrokerContract.busName, BrokerContract.managerPath.rawValue,
                BrokerContract.managerInterface, "ReloadProfiles", "a{sv}", "0")
            #expect(result.stdout == "uas 1 0\n", "\(result.stderr)")
        }
    }

    @Test("an unauthorised Approve is refused alike whether the owner it names exists or not")
    func approveRevealsNoUserNames() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "N1"))
            let existing = try await approve(broker, path, as: .nobody, owner: "root")
            let unknown = try await approve(broker, path, as: .nobody, owner: "no-such-user-devsync")
            #expect(existing.stderr.contains("You may not approve device usb-0830-0060-N1"), "\(existing.stderr)")
            #expect(unknown.stderr == existing.stderr)
            #expect(unknown.status == existing.status)
            // Root, who may approve, is told that the name is wrong.
            let named = await errorName {
                _ = try await broker.call(
                    path, BrokerContract.deviceInterface, "Approve", [.string("no-such-user-devsync"), .vardict([:])])
            }
            #expect(named == "org.devsync.Broker1.Error.InvalidArgs")
        }
    }

    @Test("each refusal says why in the words of its method")
    func refusalSentences() async throws {
        try await withBroker(polkit: .fixed([]), suggestedOwner: "root", reload: { (rules: 1, errors: []) }) { broker in
            func refusal(_ path: DBusObjectPath, _ interface: String, _ member: String, _ signature: String,
                         _ arguments: String...) async throws -> String
            {
                let result = try await broker.bus.busctl(
                    as: .nobody, ["call", BrokerContract.busName, path.rawValue, interface, member, signature] + arguments)
                #expect(result.status != 0)
                return result.stderr
            }
            let reload = try await refusal(
                BrokerContract.managerPath, BrokerContract.managerInterface, "ReloadProfiles", "a{sv}", "0")
            #expect(reload.contains("You may not reload the device profiles: that is for root and administrators"), "\(reload)")
            #expect(!reload.contains("owner"), "\(reload)")

            let pending = await broker.arrive(TestDevice.observation(serial: "S1"))
            let approve = try await refusal(pending, BrokerContract.deviceInterface, "Approve", "sa{sv}", "", "0")
            #expect(approve.contains("you are not the user suggested as its owner"), "\(approve)")
            let forget = try await refusal(pending, BrokerContract.deviceInterface, "Forget", "a{sv}", "0")
            #expect(forget.contains("You may not forget device usb-0830-0060-S1: it has no owner yet"), "\(forget)")

            _ = try await broker.call(pending, BrokerContract.deviceInterface, "Approve", [.string("root"), .vardict([:])])
            let reject = try await refusal(pending, BrokerContract.deviceInterface, "Reject", "a{sv}", "0")
            #expect(reject.contains("You may not reject device usb-0830-0060-S1: you are not its owner"), "\(reject)")
            let invoke = try await refusal(pending, BrokerContract.deviceInterface, "Invoke", "sa{sv}", "sync-all", "0")
            #expect(invoke.contains("You may not sync device usb-0830-0060-S1: you are not its owner"), "\(invoke)")

            let engine = try await TestEngine.start(on: broker.bus)
            let job = try #require(try await broker.call(
                pending, BrokerContract.deviceInterface, "Invoke", [.string("sync-all"), .vardict([:])]
            ).first?.objectPath)
            let cancel = try await refusal(job, BrokerContract.jobInterface, "Cancel", "a{sv}", "0")
            #expect(
                cancel.contains("You may not cancel the sync of device usb-0830-0060-S1: the device is not yours"), "\(cancel)")
            await engine.connection.close()
        }
    }
}
