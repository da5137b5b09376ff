// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DeviceRegistry
import DevsyncTestSupport
import Testing

private let objectManager = "org.freedesktop.DBus.ObjectManager"
private let properties = "org.freedesktop.DBus.Properties"

@Suite("The broker follows the registry", .timeLimit(.minutes(1)))
struct BrokerEventTests {
    @Test("an arriving device is exported, with DeviceAdded and InterfacesAdded")
    func arrival() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "N1"))
            let added = await broker.signals.wait {
                $0.isSignal(objectManager, "InterfacesAdded", path: BrokerContract.managerPath)
                    && $0.arguments.first?.objectPath == path
            }
            let interfaces = try #require(added.first?.arguments[1].stringDictionary)
            #expect(interfaces[BrokerContract.deviceInterface]?["Status"] == .string("pending"))
            #expect(try await broker.deviceProperty(path, "Present") == .bool(true))
        }
    }

    @Test("devices present when the broker starts are listed by GetManagedObjects without an InterfacesAdded each; a later one is announced")
    func presentAtStart() async throws {
        let present = (0..<3).map { TestDevice.observation(serial: "P\($0)") }
        try await withBroker(present: present) { broker in
            let later = await broker.arrive(TestDevice.observation(serial: "L1"))
            let added = await broker.signals.all { $0.isSignal(objectManager, "InterfacesAdded") }
            #expect(added.map { $0.arguments.first?.objectPath } == [later])
            #expect(await broker.signals.all { $0.isSignal(BrokerContract.managerInterface, "DeviceAdded") }.count == 1)
            let reply = try await broker.call(BrokerContract.managerPath, objectManager, "GetManagedObjects")
            guard case .dictionary(_, _, let objects) = try #require(reply.first) else {
                Issue.record("GetManagedObjects did not return a dictionary")
                return
            }
            #expect(Set(objects.keys) == Set((0..<3).map { DBusValue.objectPath(TestDevice.path(serial: "P\($0)")) } + [.objectPath(later)]))
            let first = objects[.objectPath(TestDevice.path(serial: "P0"))]?.stringDictionary
            #expect(first?[BrokerContract.deviceInterface]?.stringDictionary?["Status"] == .string("pending"))
            #expect(try await broker.deviceProperty(TestDevice.path(serial: "P2"), "Present") == .bool(true))
        }
    }

    @Test("a new device asks for approval with the suggested owner")
    func approvalRequested() async throws {
        try await withBroker(suggestedOwner: "nobody") { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "S1"))
            let requests = await broker.signals.wait {
                $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested")
            }
            #expect(requests.first?.arguments == [.objectPath(path), .string("nobody")])
        }
    }

    @Test("when the composition root announces approval requests, the signal waits for it and carries its owner, whichever comes first")
    func deferredApprovalRequests() async throws {
        try await withBroker(suggestedOwner: "root", announcesApprovalRequests: false) { broker in
            let isRequest: @Sendable (DBusMessage) -> Bool = { $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested") }
            // The request reaches the broker first; the owner follows.
            let first = await broker.arrive(TestDevice.observation(serial: "Q1"))
            #expect(await broker.signals.all(where: isRequest).isEmpty, "no signal before the owner is known")
            await broker.service.announceApprovalRequest(uid: TestDevice.uid(serial: "Q1"), suggestedOwner: "nobody")
            let requests = await broker.signals.wait(where: isRequest)
            #expect(requests.first?.arguments == [.objectPath(first), .string("nobody")])

            // The owner may come before the broker has handled the registry's request (the composition root
            // follows the registry on its own): either way, one signal with that owner.
            await broker.registry.handle(.arrived(TestDevice.observation(serial: "Q2")))
            await broker.service.announceApprovalRequest(uid: TestDevice.uid(serial: "Q2"), suggestedOwner: "nobody")
            let both = await broker.signals.wait(for: 2, where: isRequest)
            #expect(both.last?.arguments == [.objectPath(TestDevice.path(serial: "Q2")), .string("nobody")])

            // Decided before its owner was known: no request is announced for it.
            let third = await broker.arrive(TestDevice.observation(serial: "Q3"))
            _ = try await broker.call(third, BrokerContract.deviceInterface, "Reject", [.vardict([:])])
            await broker.service.announceApprovalRequest(uid: TestDevice.uid(serial: "Q3"), suggestedOwner: "nobody")
            #expect(await broker.signals.all { isRequest($0) && $0.arguments.first?.objectPath == third }.isEmpty)
            #expect(await broker.signals.all(where: isRequest).count == 2)
        }
    }

    @Test("SuggestedOwner: the announced owner, published before ApprovalRequested, never the provisional one, cleared by the decision")
    func suggestedOwnerProperty() async throws {
        try await withBroker(suggestedOwner: "root", announcesApprovalRequests: false) { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "P1"))
            // The registry's provisional suggestion (root) is not published while the owner is being resolved.
            #expect(try await broker.deviceProperty(path, "SuggestedOwner") == .string(""))
            await broker.service.announceApprovalRequest(uid: TestDevice.uid(serial: "P1"), suggestedOwner: "nobody")
            _ = await broker.signals.wait { $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested") }
            #expect(try await broker.deviceProperty(path, "SuggestedOwner") == .string("nobody"))
            // In bus order, the property's change came before the signal: a client reading on the signal sees it.
            let order = await broker.signals.all {
                $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested")
                    || ($0.isSignal(properties, "PropertiesChanged", path: path) && $0.arguments[1]["SuggestedOwner"] != nil)
            }
            #expect(order.map(\.member) == ["PropertiesChanged", "ApprovalRequested"])
            #expect(order.first?.arguments[1]["SuggestedOwner"] == .string("nobody"))

            _ = try await broker.call(path, BrokerContract.deviceInterface, "Approve", [.string(""), .vardict([:])])
            #expect(try await broker.deviceProperty(path, "SuggestedOwner") == .string(""))
        }
        // Announced at once with the registry's suggestion: published with it.
        try await withBroker(suggestedOwner: "root") { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "P2"))
            _ = await broker.signals.wait { $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested") }
            let suggested = try await broker.deviceProperty(path, "SuggestedOwner")
            #expect(suggested == .string("root"))
        }
    }

    @Test("devices present at start are requested too: their owner's answer is signalled and that owner may approve")
    func approvalRequestsOfDevicesPresentAtStart() async throws {
        let present = [TestDevice.observation(serial: "S1"), TestDevice.observation(serial: "S2")]
        try await withBroker(announcesApprovalRequests: false, holdingAnnouncements: true, present: present) { broker in
            let isRequest: @Sendable (DBusMessage) -> Bool = { $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested") }
            // The registry asked before the broker listened; the composition root's answers come now.
            await broker.service.announceApprovalRequest(uid: TestDevice.uid(serial: "S1"), suggestedOwner: "nobody")
            await broker.service.announceApprovalRequest(uid: TestDevice.uid(serial: "S2"), suggestedOwner: "root")
            let requests = await broker.signals.wait(for: 2, where: isRequest)
            #expect(requests.map(\.arguments) == [
                [.objectPath(TestDevice.path(serial: "S1")), .string("nobody")],
                [.objectPath(TestDevice.path(serial: "S2")), .string("root")],
            ])
            // The suggested owner may approve their device, not another's (no polkit allows it here).
            func approve(_ serial: String) async throws -> CommandResult {
                try await broker.bus.busctl(
                    as: .nobody, "call", BrokerContract.busName, TestDevice.path(serial: serial).rawValue,
                    BrokerContract.deviceInterface, "Approve", "sa{sv}", "", "1", "auth.no_user_interaction", "b", "true")
            }
            let own = try await approve("S1")
            #expect(own.status == 0, "\(own.stderr)")
            #expect(try await broker.deviceProperty(TestDevice.path(serial: "S1"), "Owner") == .string("nobody"))
            let others = try await approve("S2")
            #expect(others.status != 0)
            #expect(try await broker.deviceProperty(TestDevice.path(serial: "S2"), "Status") == .string("pending"))
        }
    }

    @Test("ApprovalRequested held at start goes out on release, once, with the owner known by then")
    func heldAnnouncements() async throws {
        try await withBroker(
            announcesApprovalRequests: false, holdingAnnouncements: true, releasingHeldAnnouncements: false,
            present: [TestDevice.observation(serial: "H1")]
        ) { broker in
            let isRequest: @Sendable (DBusMessage) -> Bool = { $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested") }
            await broker.service.announceApprovalRequest(uid: TestDevice.uid(serial: "H1"), suggestedOwner: "nobody")
            // A barrier: the next device's DeviceAdded comes after anything the answer above would have sent.
            await broker.arrive(TestDevice.observation(serial: "H2"))
            #expect(await broker.signals.all(where: isRequest).isEmpty, "held until the name is owned")
            await broker.service.releaseHeldAnnouncements()
            await broker.service.releaseHeldAnnouncements()
            let requests = await broker.signals.wait(for: 1, where: isRequest)
            #expect(requests.first?.arguments == [.objectPath(TestDevice.path(serial: "H1")), .string("nobody")])
            await broker.arrive(TestDevice.observation(serial: "H3"))
            #expect(await broker.signals.all(where: isRequest).count == 1, "released once")
        }
    }

    @Test("a departure changes just Present, Profile and Properties (LastSeen too, on a moving clock); then a pending device is removed")
    func departure() async throws {
        try await withBroker { broker in
            let observation = TestDevice.observation(serial: "D1")
            let path = await broker.arrive(observation)
            _ = try await broker.call(path, BrokerContract.deviceInterface, "Approve", [.string("root"), .vardict([:])])
            await broker.registry.handle(.departed(transport: .usb, sourceKey: observation.sourceKey))
            let changes = await broker.signals.wait {
                $0.isSignal(properties, "PropertiesChanged", path: path)
                    && $0.arguments.first?.string == BrokerContract.deviceInterface
                    && $0.arguments[1]["Present"] != nil
            }
            let changed = try #require(changes.first?.arguments[1].stringDictionary)
            #expect(Set(changed.keys) == ["Present", "Profile", "Properties"])
            #expect(changed["Present"] == .bool(false))
            #expect(try await broker.deviceProperty(path, "Status") == .string("approved"))

            let pending = TestDevice.observation(serial: "D2")
            let pendingPath = await broker.arrive(pending)
            await broker.registry.handle(.departed(transport: .usb, sourceKey: pending.sourceKey))
            _ = await broker.signals.wait {
                $0.isSignal(BrokerContract.managerInterface, "DeviceRemoved") && $0.arguments.first?.objectPath == pendingPath
            }
            let list = try await broker.call(BrokerContract.managerPath, BrokerContract.managerInterface, "ListDevices")
            #expect(list == [.array(.objectPath, [.objectPath(path)])])
        }
    }

    @Test("approving publishes Status and Owner before the call returns")
    func approvalPublishes() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "A1"))
            _ = try await broker.call(path, BrokerContract.deviceInterface, "Approve", [.string(""), .vardict([:])])
            #expect(try await broker.deviceProperty(path, "Status") == .string("approved"))
            #expect(try await broker.deviceProperty(path, "Owner") == .string("root"))
            let changes = await broker.signals.wait {
                $0.isSignal(properties, "PropertiesChanged", path: path) && $0.arguments[1]["Status"] != nil
            }
            #expect(changes.count == 1)
            #expect(Set(changes[0].arguments[1].stringDictionary?.keys ?? [:].keys) == ["Status", "Owner"])
        }
    }

    @Test("forgetting an absent device removes it; a present one comes back pending and asks again")
    func forget() async throws {
        try await withBroker(suggestedOwner: "root") { broker in
            let observation = TestDevice.observation(serial: "F1")
            let path = await broker.arrive(observation)
            _ = try await broker.call(path, BrokerContract.deviceInterface, "Approve", [.string("root"), .vardict([:])])
            _ = try await broker.call(path, BrokerContract.deviceInterface, "Forget", [.vardict([:])])
            #expect(try await broker.deviceProperty(path, "Status") == .string("pending"))
            let requests = await broker.signals.wait(for: 2) {
                $0.isSignal(BrokerContract.managerInterface, "ApprovalRequested") && $0.arguments.first?.objectPath == path
            }
            #expect(requests.count == 2)

            _ = try await broker.call(path, BrokerContract.deviceInterface, "Reject", [.vardict([:])])
            await broker.registry.handle(.departed(transport: .usb, sourceKey: observation.sourceKey))
            _ = await broker.signals.wait {
                $0.isSignal(properties, "PropertiesChanged", path: path) && $0.arguments[1]["Present"] == .bool(false)
            }
            _ = try await broker.call(path, BrokerContract.deviceInterface, "Forget", [.vardict([:])])
            let removed = await broker.signals.wait {
                $0.isSignal(objectManager, "InterfacesRemoved") && $0.arguments.first?.objectPath == path
            }
            #expect(removed.first?.arguments[1] == .strings([BrokerContract.deviceInterface]))
            #expect(!(await broker.signals.all {
                $0.isSignal(BrokerContract.managerInterface, "DeviceRemoved") && $0.arguments.first?.objectPath == path
            }).isEmpty)
            let gone = await errorName { _ = try await broker.deviceProperty(path, "Uid") }
            #expect(gone == DBusError.Name.unknownObject)
        }
    }

    @Test("decisions the registry refuses come back under the contract's names")
    func registryErrors() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "E1"))
            let forgetPending = await errorName {
                _ = try await broker.call(path, BrokerContract.deviceInterface, "Forget", [.vardict([:])])
            }
            #expect(forgetPending == "org.devsync.Broker1.Error.BadState")
            let unknownUser = await errorName {
                _ = try await broker.call(
                    path, BrokerContract.deviceInterface, "Approve", [.string("no-such-user-here"), .vardict([:])])
            }
            #expect(unknownUser == "org.devsync.Broker1.Error.InvalidArgs")
            let badOption = await errorName {
                _ = try await broker.call(
                    path, BrokerContract.deviceInterface, "Reject", [.vardict(["auth.no_user_interaction": .string("yes")])])
            }
            #expect(badOption == "org.devsync.Broker1.Error.InvalidArgs")
            _ = try await broker.call(path, BrokerContract.deviceInterface, "Reject", [.vardict([:])])
            let twice = try await broker.bus.busctl(
                "call", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Reject", "a{sv}", "0")
            #expect(twice.stderr.contains("already rejected"), "\(twice.stderr)")
        }
    }

    @Test("ReloadProfiles runs the composition root's reload and reports its errors")
    func reloadProfiles() async throws {
        try await withBroker(reload: { (rules: 42, errors: ["a.fdi:3:9: unknown element <foo>"]) }) { broker in
            let reply = try await broker.call(
                BrokerContract.managerPath, BrokerContract.managerInterface, "ReloadProfiles", [.vardict([:])])
            #expect(reply == [.uint32(42), .strings(["a.fdi:3:9: unknown element <foo>"])])
        }
    }

    @Test("DeviceAdded goes out before the device's InterfacesAdded, and the object answers calls by then")
    func deviceAddedBeforeInterfacesAdded() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "O1"))
            _ = await broker.signals.wait {
                $0.isSignal(objectManager, "InterfacesAdded", path: BrokerContract.managerPath)
                    && $0.arguments.first?.objectPath == path
            }
            let order = await broker.signals.all {
                ($0.isSignal(objectManager, "InterfacesAdded") || $0.isSignal(BrokerContract.managerInterface, "DeviceAdded"))
                    && $0.arguments.first?.objectPath == path
            }.map { $0.member ?? "" }
            #expect(order == ["DeviceAdded", "InterfacesAdded"])
            let status = try await broker.deviceProperty(path, "Status")
            #expect(status == .string("pending"))
        }
    }
}
