// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Testing

// The demo's sync step as an assertion: examples/reference-engine (Python, GDBus), a real devsyncd and devsyncctl.
// An extension of DevsyncdTests, so that it runs serialized with the other scenarios (the testbed is process-global).

extension DevsyncdTests {
    @Test("The reference engine registers, and a devsyncctl sync of an approved Palm completes through it")
    func referenceEngineSync() async throws {
        let world = try await World()
        world.testbed.plug(.palm())
        let daemon = try await startDaemon(on: world.bus, client: world.client, state: world.state)
        defer { daemon.kill() }
        let palm = try await Broker.device(uid: palmUID, world.client)
        // The engine runs as the test's user; the broker gives an engine only devices its user owns.
        let owner = NSUserName()
        let approve = try await world.bus.busctl(
            "call", Broker.name, "\(palm)", Broker.device, "Approve", "sa{sv}", owner, "0")
        #expect(approve.status == 0, "\(approve.stderr)")
        #expect(try await availability(of: palm, world.client) == [false, false, false, false, false])

        // Registering makes the owner's actions available: that is the broker's answer to RegisterEngine.
        let changes = try await Broker.propertyChanges(world.client)
        let engine = try ReferenceEngineProcess(
            ["--plugin", "palm-sync", "--step-delay", "0"], bus: world.bus, logDirectory: world.directory)
        defer { engine.kill() }
        try await waiting(for: "the Palm's actions to become available") {
            for await change in changes where change.path == palm {
                let available = change.arguments.count > 1 ? change.arguments[1]["Actions"]?.arrayElements : nil
                if let available, available.allSatisfy({ $0.structureFields?[3].bool == true }) { return }
            }
        }

        let sync = try await Command.run(
            try builtProgram("devsyncctl").path, ["sync", palmUID, "--bus", world.bus.address])
        #expect(sync.status == 0, "\(sync.stdout)\(sync.stderr)\n\(engine.output)")
        // One Progress signal per data type, each seen through the job's Progress property.
        let percents = sync.stdout.split(separator: "\n").compactMap { line in
            line.hasSuffix("%") ? line.split(separator: " ").last.map(String.init) : nil
        }
        #expect(percents == ["25%", "50%", "75%", "100%"], "\(sync.stdout)")
        #expect(sync.stdout.hasSuffix("sync-all succeeded\n"), "\(sync.stdout)")
        let job = try DBusObjectPath("/org/devsync/Broker1/jobs/1")
        let state = try await world.client.call(
            destination: Broker.name, path: job, interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string("org.devsync.Broker1.Job"), .string("State")])
        #expect(state.first?.unwrapped.string == "succeeded")

        // The engine got the device's properties and the four data types, and says it synced nothing for real.
        let output = engine.output
        #expect(output.contains("registered with org.devsync.Broker1"), "\(output)")
        #expect(output.contains("sync \(job): Palm "), "\(output)")
        #expect(output.contains("(usb-0830-0061-PalmSN12345678), plugin palm-sync, owner \(owner)"), "\(output)")
        #expect(output.contains("through the serial port /dev/ttyUSB1"), "\(output)")
        for datatype in ["contacts", "calendar", "todo", "notes"] {
            #expect(output.contains("  \(datatype): dry run, nothing read or written"), "\(output)")
        }

        // SIGTERM: it unregisters and exits 0, and the actions are unavailable again.
        engine.send(SIGTERM)
        #expect(try await engine.exited() == 0)
        #expect(engine.output.hasSuffix("unregistered\n"), "\(engine.output)")
        #expect(try await availability(of: palm, world.client) == [false, false, false, false, false])

        daemon.send(SIGTERM)
        #expect(try await daemon.exited() == 0)
        await world.close()
    }

    /// The `available` flag of each of a device's actions.
    private func availability(of path: DBusObjectPath, _ client: DBusConnection) async throws -> [Bool] {
        try await Broker.property("Actions", of: path, client).arrayElements?.compactMap { $0.structureFields?[3].bool } ?? []
    }
}
