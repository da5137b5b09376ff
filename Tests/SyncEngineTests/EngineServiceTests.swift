// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Logging
import Synchronization
import SyncEngine
import Testing

/// A kind of work for the tests: reports two steps, then succeeds, fails or waits to be cancelled, as the
/// device's `test.outcome` property says.
struct ScriptedWork: SyncWork {
    let name = "scripted"
    let plugins = ["ptp"]
    let datatypes = ["photos"]

    func run(_ request: SyncRequest, progress: JobProgress) async throws -> String {
        await progress(0.5, "half of \(request.uid)")
        switch request.string("test.outcome") {
        case "fail": throw SyncFailure("The camera's card is locked; unlock it and sync again.")
        case "wait":
            try await Task.sleep(for: .seconds(60))
            return "slept"
        default: return "Imported 1 new photo."
        }
    }
}

/// A stand-in broker on a private bus: owns org.devsync.Broker1 and records RegisterEngine calls.
final class FakeBroker: Sendable {
    /// The RegisterEngine calls' arguments.
    final class Registrations: Sendable {
        let calls = Mutex<[[DBusValue]]>([])
    }

    let connection: DBusConnection
    private let registrations = Registrations()

    init(on bus: TestBus) async throws {
        connection = try await bus.connect("broker")
        let recorded = registrations
        try await connection.export([
            DBusInterface(
                "org.devsync.Broker1.Manager",
                methods: [
                    DBusMethod("RegisterEngine", inputs: [DBusArgument("engine", .objectPath), DBusArgument("plugins", "as"), DBusArgument("datatypes", "as")]) { call in
                        recorded.calls.withLock { $0.append(call.arguments) }
                        return []
                    },
                    DBusMethod("UnregisterEngine", inputs: [DBusArgument("engine", .objectPath)]) { _ in [] },
                ])
        ], at: try DBusObjectPath("/org/devsync/Broker1"))
        try await connection.requestName("org.devsync.Broker1")
    }

    var registered: [[DBusValue]] { registrations.calls.withLock { $0 } }
}

@Suite("The engine on the bus: registration, jobs, cancel, only the broker may call")
struct EngineServiceTests {
    static let path = try! DBusObjectPath("/org/devsync/Engine/scripted")

    func sync(_ caller: DBusConnection, engine: String, job: Int, outcome: String) async throws {
        _ = try await caller.call(
            destination: engine, path: Self.path, interface: "org.devsync.Engine1", member: "Sync",
            arguments: [
                .string("usb-04a9-3218-X"), .vardict(["test.outcome": .string(outcome)]), .strings(["photos"]),
                .vardict(["job": .objectPath(try DBusObjectPath("/org/devsync/Broker1/jobs/\(job)"))]),
            ])
    }

    @Test("Registers for its plugins and data types; a job reports progress, its summary last, and Finished")
    func lifecycle() async throws {
        try await TestBus.with { bus in
            let broker = try await FakeBroker(on: bus)
            let engineConnection = try await bus.connect("engine")
            let engine = EngineService(connection: engineConnection, works: [ScriptedWork()], logger: Logger(label: "test"))
            let running = Task { try await engine.run() }
            while broker.registered.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(broker.registered.first == [.objectPath(Self.path), .strings(["ptp"]), .strings(["photos"])])

            let recorder = SignalRecorder()
            await recorder.record(try await broker.connection.signals(matching: DBusMatchRule(interface: "org.devsync.Engine1")))
            let name = await engineConnection.uniqueName
            for (job, outcome) in [(1, "succeed"), (2, "fail"), (3, "wait")] {
                try await sync(broker.connection, engine: name, job: job, outcome: outcome)
            }
            // The same device's work again while job 3 runs: refused, with the running job named.
            do {
                try await sync(broker.connection, engine: name, job: 4, outcome: "succeed")
                Issue.record("a second job of the same device and work was taken")
            } catch let error as DBusError {
                #expect(error.name == "org.devsync.Engine1.Error.Busy")
                #expect(error.message == "A scripted job for device usb-04a9-3218-X is already running (/org/devsync/Broker1/jobs/3); wait for it to end or cancel it.")
            }
            let finished = await recorder.wait(for: 2) { $0.member == "Finished" }
            let byJob = Dictionary(finished.map { ($0.arguments[0].objectPath!.lastElement!, $0.arguments) }, uniquingKeysWith: { a, _ in a })
            #expect(byJob["1"]?[1] == .bool(true))
            #expect(byJob["1"]?[2] == .string(""))
            #expect(byJob["2"]?[1] == .bool(false))
            #expect(byJob["2"]?[2] == .string("The camera's card is locked; unlock it and sync again."))
            let progress = await recorder.wait(for: 4) { $0.member == "Progress" }
            let ofJob1 = progress.filter { $0.arguments[0].objectPath?.lastElement == "1" }.map { $0.arguments[2].string ?? "" }
            #expect(ofJob1 == ["half of usb-04a9-3218-X", "Imported 1 new photo."])

            // Cancel: the job stops and says so.
            _ = try await broker.connection.call(
                destination: name, path: Self.path, interface: "org.devsync.Engine1", member: "Cancel",
                arguments: [.objectPath(try DBusObjectPath("/org/devsync/Broker1/jobs/3"))])
            let cancelled = await recorder.wait(for: 3) { $0.member == "Finished" }
            #expect(cancelled.last?.arguments == [.objectPath(try DBusObjectPath("/org/devsync/Broker1/jobs/3")), .bool(false), .string("cancelled")])
            #expect(await engine.runningJobs == 0)

            await engine.stop()
            try await running.value
            await broker.connection.close()
        }
    }

    @Test("Sync and Cancel from anyone but the broker are refused with AccessDenied")
    func onlyTheBroker() async throws {
        try await TestBus.with { bus in
            let broker = try await FakeBroker(on: bus)
            let engineConnection = try await bus.connect("engine")
            let engine = EngineService(connection: engineConnection, works: [ScriptedWork()], logger: Logger(label: "test"))
            let running = Task { try await engine.run() }
            while broker.registered.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            let stranger = try await bus.connect("stranger")
            let name = await engineConnection.uniqueName
            do {
                try await sync(stranger, engine: name, job: 1, outcome: "succeed")
                Issue.record("a stranger's Sync was taken")
            } catch let error as DBusError {
                #expect(error.name == DBusError.Name.accessDenied)
                #expect(error.message == "Only org.devsync.Broker1 calls org.devsync.Engine1.Sync.")
            }
            #expect(await engine.runningJobs == 0)
            await stranger.close()
            await engine.stop()
            try await running.value
            await broker.connection.close()
        }
    }

    @Test("The broker's refusal of the registration ends run() with its sentence")
    func refused() async throws {
        try await TestBus.with { bus in
            let broker = try await bus.connect("broker")
            try await broker.export([
                DBusInterface("org.devsync.Broker1.Manager", methods: [
                    DBusMethod("RegisterEngine", inputs: [DBusArgument("engine", .objectPath), DBusArgument("plugins", "as"), DBusArgument("datatypes", "as")]) { _ in
                        throw DBusError(name: "org.devsync.Broker1.Error.LimitsExceeded", message: "Uid 1000 already registered 16 engines.")
                    }
                ])
            ], at: try DBusObjectPath("/org/devsync/Broker1"))
            try await broker.requestName("org.devsync.Broker1")
            let engine = EngineService(connection: try await bus.connect("engine"), works: [ScriptedWork()], logger: Logger(label: "test"))
            do {
                try await engine.run()
                Issue.record("run() returned after a refusal")
            } catch let failure as EngineFailure {
                #expect(failure.sentence == "the broker refused to register the scripted engine: Uid 1000 already registered 16 engines.")
            }
            await broker.close()
        }
    }
}
