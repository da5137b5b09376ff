// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DeviceRegistry
import DevsyncTestSupport
import Foundation
import FoundationXML
import Testing

private let properties = "org.freedesktop.DBus.Properties"
private let emitsChangedSignal = "org.freedesktop.DBus.Property.EmitsChangedSignal"
private let contract = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("data/org.devsync.Broker1.xml")

/// Each property's EmitsChangedSignal annotation in an introspection document, by interface and property name.
private func annotations(_ document: XMLDocument, _ interface: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for node in try document.nodes(forXPath: "//interface[@name='\(interface)']/property") {
        guard let element = node as? FoundationXML.XMLElement, let name = element.attribute(forName: "name")?.stringValue else {
            continue
        }
        let value = try element.nodes(forXPath: "annotation[@name='\(emitsChangedSignal)']/@value").first?.stringValue
        result[name] = value ?? "(none)"
    }
    return result
}

@Suite("The interface XML is what the broker does", .timeLimit(.minutes(1)))
struct BrokerContractTests {
    private func introspect(_ broker: BrokerFixture, _ path: DBusObjectPath) async throws -> XMLDocument {
        let xml = try await broker.call(path, "org.freedesktop.DBus.Introspectable", "Introspect").first?.string ?? ""
        return try XMLDocument(xmlString: xml)
    }

    private func getAll(_ broker: BrokerFixture, _ path: DBusObjectPath, _ interface: String) async throws
        -> [String: DBusValue]
    {
        try await broker.call(path, properties, "GetAll", [.string(interface)]).first?.stringDictionary ?? [:]
    }

    /// Checks, for the properties of `interface` at `path` that differ between `before` and `after`, that each is
    /// annotated "true" and that its last PropertiesChanged carried its final value; returns their names.
    private func signalledChanges(
        _ broker: BrokerFixture, _ path: DBusObjectPath, _ interface: String, before: [String: DBusValue],
        after: [String: DBusValue], annotated: [String: String]
    ) async -> Set<String> {
        let changes = await broker.signals.all {
            $0.isSignal(properties, "PropertiesChanged", path: path) && $0.arguments.first == .string(interface)
        }
        var changed: Set<String> = []
        for (name, value) in after where before[name] != value {
            changed.insert(name)
            #expect(annotated[name] == "true", "\(interface).\(name) changed, so it may not be \(annotated[name] ?? "-")")
            let last = changes.last { $0.arguments[1][name] != nil }
            #expect(last?.arguments[1][name]?.unwrapped == value, "\(interface).\(name) changed without its signal")
        }
        for change in changes {
            #expect(change.arguments[2].arrayElements?.isEmpty ?? false, "no property is annotated invalidates")
        }
        return changed
    }

    @Test("every property's EmitsChangedSignal in data/org.devsync.Broker1.xml is the live one, and a property annotated true signals its changes")
    func emitsChangedSignal() async throws {
        let xml = try XMLDocument(contentsOf: contract)
        try await withBroker { broker in
            let device = await broker.arrive(TestDevice.observation(serial: "E1"))
            let engine = try await TestEngine.start(on: broker.bus)
            let deviceBefore = try await getAll(broker, device, BrokerContract.deviceInterface)
            _ = try await broker.call(device, BrokerContract.deviceInterface, "Approve", [.string("root"), .vardict([:])])
            let changed = TestDevice.observation(
                serial: "E1", vendor: "Palm, Inc.", model: "Zire", datatypes: ["contacts"],
                extra: ["sync.kind": .string("phone"), "info.product": .string("Zire 72")])
            await broker.registry.handle(.changed(changed))
            await broker.registry.handle(.departed(transport: .usb, sourceKey: changed.sourceKey))
            _ = await broker.signals.wait {
                $0.isSignal(properties, "PropertiesChanged", path: device) && $0.arguments[1]["Present"] == .bool(false)
            }

            let job = try #require(try await broker.call(
                device, BrokerContract.deviceInterface, "Invoke", [.string("sync-contacts"), .vardict([:])]
            ).first?.objectPath)
            _ = await engine.nextSync()
            let jobBefore = try await getAll(broker, job, BrokerContract.jobInterface)
            try await engine.progress(job, 0.25, "a quarter")
            try await engine.finished(job, success: false, error: "the cradle was unplugged")
            _ = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: job) }

            for (path, interface) in [
                (BrokerContract.managerPath, BrokerContract.managerInterface),
                (device, BrokerContract.deviceInterface), (job, BrokerContract.jobInterface),
            ] {
                let declared = try annotations(xml, interface)
                let live = try annotations(try await introspect(broker, path), interface)
                #expect(!declared.isEmpty)
                #expect(live == declared, "\(interface)")
                #expect(!declared.values.contains("(none)"), "every property of \(interface) is annotated")
            }

            let deviceChanges = await signalledChanges(
                broker, device, BrokerContract.deviceInterface, before: deviceBefore,
                after: try await getAll(broker, device, BrokerContract.deviceInterface),
                annotated: try annotations(xml, BrokerContract.deviceInterface))
            #expect(deviceChanges.isSuperset(of: [
                "Vendor", "Model", "Kind", "DataTypes", "Owner", "Status", "Present", "Actions", "Properties",
            ]))
            let jobChanges = await signalledChanges(
                broker, job, BrokerContract.jobInterface, before: jobBefore,
                after: try await getAll(broker, job, BrokerContract.jobInterface),
                annotated: try annotations(xml, BrokerContract.jobInterface))
            #expect(jobChanges == ["State", "Progress", "Message", "Error"])
            await engine.connection.close()
        }
    }
}
