// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DeviceRegistry
import DevsyncTestSupport
import Testing

private let properties = "org.freedesktop.DBus.Properties"

@Suite("Sync engines and jobs", .timeLimit(.minutes(1)))
struct BrokerEngineTests {
    /// A present device approved for root, the user the test engine runs as.
    private func approvedDevice(_ broker: BrokerFixture, serial: String, owner: String = "root") async throws -> DBusObjectPath {
        let path = await broker.arrive(TestDevice.observation(serial: serial))
        _ = try await broker.call(path, BrokerContract.deviceInterface, "Approve", [.string(owner), .vardict([:])])
        return path
    }

    private func invoke(_ broker: BrokerFixture, _ path: DBusObjectPath, _ action: String) async throws -> DBusObjectPath {
        let reply = try await broker.call(path, BrokerContract.deviceInterface, "Invoke", [.string(action), .vardict([:])])
        return try #require(reply.first?.objectPath)
    }

    private func availability(_ broker: BrokerFixture, _ path: DBusObjectPath) async throws -> [Bool] {
        try await broker.deviceProperty(path, "Actions").arrayElements?.compactMap { $0.structureFields?[3].bool } ?? []
    }

    @Test("a registered engine makes the owner's actions available, receives Sync, reports progress and finishes")
    func engineRunsJob() async throws {
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "J1")
            #expect(try await availability(broker, path) == [false, false, false])
            let engine = try await TestEngine.start(on: broker.bus)
            #expect(try await availability(broker, path) == [true, true, true])
            _ = await broker.signals.wait {
                $0.isSignal(properties, "PropertiesChanged", path: path) && $0.arguments[1]["Actions"] != nil
            }

            let result = try await broker.bus.busctl(
                "call", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Invoke", "sa{sv}",
                "sync-contacts", "0")
            #expect(result.stdout == "o \"/org/devsync/Broker1/jobs/1\"\n", "\(result.stderr)")
            let job = try DBusObjectPath("/org/devsync/Broker1/jobs/1")
            let sync = try #require(await engine.nextSync())
            #expect(sync.uid == "usb-0830-0060-J1")
            #expect(sync.job == job)
            #expect(sync.datatypes == ["contacts"])
            #expect(sync.device["Uid"] == .string("usb-0830-0060-J1"))
            #expect(sync.device["Owner"] == .string("root"))
            #expect(sync.device["usb.serial"] == .string("J1"))
            #expect(try await broker.property(job, BrokerContract.jobInterface, "State") == .string("running"))
            #expect(try await broker.property(job, BrokerContract.jobInterface, "Device") == .objectPath(path))
            #expect(try await broker.property(job, BrokerContract.jobInterface, "Action") == .string("sync-contacts"))

            try await engine.progress(job, 0.5, "half way")
            _ = await broker.signals.wait {
                $0.isSignal(properties, "PropertiesChanged", path: job) && $0.arguments[1]["Progress"] == .double(0.5)
            }
            try await engine.finished(job, success: true)
            let finished = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: job) }
            #expect(finished.first?.arguments == [.string("succeeded"), .string("")])
            #expect(try await broker.property(job, BrokerContract.jobInterface, "Progress") == .double(1))
            await engine.connection.close()
        }
    }

    @Test("an engine that disconnects mid-job fails the job and its actions become unavailable")
    func engineGoesAway() async throws {
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "J2")
            let engine = try await TestEngine.start(on: broker.bus)
            let job = try await invoke(broker, path, "sync-all")
            let sync = try #require(await engine.nextSync())
            #expect(sync.datatypes == ["contacts", "calendar"])
            await engine.connection.close()
            let finished = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: job) }
            #expect(finished.first?.arguments == [.string("failed"), .string("the sync engine went away")])
            #expect(try await broker.property(job, BrokerContract.jobInterface, "Error") == .string("the sync engine went away"))
            _ = await broker.signals.wait {
                $0.isSignal(properties, "PropertiesChanged", path: path) && $0.arguments[1]["Actions"] != nil
                    && $0.arguments[1]["Actions"]?.arrayElements?.first?.structureFields?[3] == .bool(false)
            }
            #expect(try await availability(broker, path) == [false, false, false])
        }
    }

    @Test("an engine reporting failure fails the job with its sentence; Cancel reaches the engine")
    func failureAndCancel() async throws {
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "J3")
            let engine = try await TestEngine.start(on: broker.bus)
            let first = try await invoke(broker, path, "sync-calendar")
            _ = await engine.nextSync()
            try await engine.finished(first, success: false, error: "the handheld hung up")
            let failed = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: first) }
            #expect(failed.first?.arguments == [.string("failed"), .string("the handheld hung up")])

            let second = try await invoke(broker, path, "sync-contacts")
            _ = await engine.nextSync()
            _ = try await broker.call(second, BrokerContract.jobInterface, "Cancel", [.vardict([:])])
            var cancels = engine.cancels.makeAsyncIterator()
            #expect(await cancels.next() == second)
            #expect(try await broker.property(second, BrokerContract.jobInterface, "State") == .string("cancelled"))
            let again = await errorName {
                _ = try await broker.call(second, BrokerContract.jobInterface, "Cancel", [.vardict([:])])
            }
            #expect(again == "org.devsync.Broker1.Error.BadState")
            await engine.connection.close()
        }
    }

    @Test("a cancelled job stays cancelled when the engine answers Cancel with a Finished of its own")
    func cancelBeforeEnginesFinished() async throws {
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "J4")
            let engine = try await TestEngine.start(on: broker.bus, finishOnCancel: true)
            let job = try await invoke(broker, path, "sync-contacts")
            _ = await engine.nextSync()
            _ = try await broker.call(job, BrokerContract.jobInterface, "Cancel", [.vardict([:])])
            let finished = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: job) }
            #expect(finished.first?.arguments == [.string("cancelled"), .string("")])
            #expect(try await broker.property(job, BrokerContract.jobInterface, "State") == .string("cancelled"))
            await engine.connection.close()
        }
    }

    @Test("Invoke refuses a pending device, an unknown action, a missing engine and another user's engine")
    func invokeErrors() async throws {
        try await withBroker { broker in
            let pending = await broker.arrive(TestDevice.observation(serial: "K1"))
            let notApproved = await errorName { _ = try await invoke(broker, pending, "sync-all") }
            #expect(notApproved == "org.devsync.Broker1.Error.BadState")

            let path = try await approvedDevice(broker, serial: "K2")
            let noEngine = await errorName { _ = try await invoke(broker, path, "sync-all") }
            #expect(noEngine == "org.devsync.Broker1.Error.NoEngine")
            let engine = try await TestEngine.start(on: broker.bus)
            let noAction = await errorName { _ = try await invoke(broker, path, "sync-photos") }
            #expect(noAction == "org.devsync.Broker1.Error.NoSuchAction")

            // The engine runs as root: a device owned by nobody is not its to sync.
            let others = try await approvedDevice(broker, serial: "K3", owner: "nobody")
            let foreign = await errorName { _ = try await invoke(broker, others, "sync-all") }
            #expect(foreign == "org.devsync.Broker1.Error.NoEngine")
            #expect(try await availability(broker, others) == [false, false, false])

            let stranger = try await broker.bus.busctl(
                as: .nobody, "call", BrokerContract.busName, path.rawValue, BrokerContract.deviceInterface, "Invoke",
                "sa{sv}", "sync-all", "1", "auth.no_user_interaction", "b", "true")
            #expect(stranger.stderr.contains("org.devsync.sync-any-device"), "\(stranger.stderr)")
            await engine.connection.close()
        }
    }

    @Test("an action is available only when an engine of the owner syncs one of its data types, as Invoke picks engines")
    func availabilityPerAction() async throws {
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "A1")
            let ids = try await broker.deviceProperty(path, "Actions").arrayElements?.compactMap { $0.structureFields?[0].string }
            #expect(ids == ["sync-contacts", "sync-calendar", "sync-all"])
            let engine = try await TestEngine.start(on: broker.bus, plugins: ["palm-sync"], datatypes: ["contacts"])
            #expect(try await availability(broker, path) == [true, false, true])
            do {
                _ = try await invoke(broker, path, "sync-calendar")
                Issue.record("sync-calendar was invoked through an engine that syncs only contacts")
            } catch let error as DBusError {
                #expect(error.name == "org.devsync.Broker1.Error.NoEngine", "\(error)")
            }
            let job = try await invoke(broker, path, "sync-all")
            #expect(await engine.nextSync()?.datatypes == ["contacts"])
            try await engine.finished(job, success: true)
            await engine.connection.close()
        }
    }

    @Test("an engine for other plugins does not serve the device; UnregisterEngine withdraws it")
    func pluginsAndUnregister() async throws {
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "L1")
            let other = try await TestEngine.start(on: broker.bus, plugins: ["mtp"])
            #expect(try await availability(broker, path) == [false, false, false])
            let engine = try await TestEngine.start(on: broker.bus, plugins: [])
            #expect(try await availability(broker, path) == [true, true, true])
            _ = try await engine.connection.call(
                destination: BrokerContract.busName, path: BrokerContract.managerPath,
                interface: BrokerContract.managerInterface, member: "UnregisterEngine",
                arguments: [.objectPath(TestEngine.path)])
            #expect(try await availability(broker, path) == [false, false, false])
            await engine.connection.close()
            await other.connection.close()
        }
    }

    @Test("a job the bus refuses to deliver says the bus refused, naming the policy; an engine's own refusal blames the engine")
    func busRefusalIsNotTheEngines() async throws {
        let bus = try await TestBus.start(extraConfiguration: """
            <policy context="mandatory">
              <deny send_interface="org.devsync.Engine1" send_member="Sync"/>
            </policy>
            """)
        try await withBroker(bus: bus) { broker in
            let path = try await approvedDevice(broker, serial: "B1")
            let engine = try await TestEngine.start(on: broker.bus)
            let job = try await invoke(broker, path, "sync-all")
            let finished = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: job) }
            let error = finished.first?.arguments.last?.string ?? ""
            #expect(error.hasPrefix("The bus refused to pass the job to the sync engine"), "\(error)")
            #expect(error.contains("org.devsync.Broker1.conf"), "\(error)")
            #expect(!error.contains("The sync engine refused"), "\(error)")
            await engine.connection.close()
        }
        // An engine answering with the bus's error name and words is still the engine.
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "B2")
            let connection = try await broker.bus.connect("spoofing-engine")
            try await connection.export(
                [DBusInterface(
                    BrokerContract.engineInterface,
                    methods: [
                        DBusMethod("Sync", inputs: [DBusArgument("uid", .string), DBusArgument("device", "a{sv}"),
                                                    DBusArgument("datatypes", "as"), DBusArgument("options", "a{sv}")]) { _ in
                            throw DBusError(name: DBusError.Name.accessDenied, message: "Rejected send message")
                        }
                    ])],
                at: TestEngine.path)
            _ = try await connection.call(
                destination: BrokerContract.busName, path: BrokerContract.managerPath,
                interface: BrokerContract.managerInterface, member: "RegisterEngine",
                arguments: [.objectPath(TestEngine.path), .strings([]), .strings([])])
            let job = try await invoke(broker, path, "sync-all")
            let finished = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: job) }
            #expect(finished.first?.arguments.last == .string("The sync engine refused the job: Rejected send message"))
            await connection.close()
        }
    }

    @Test("an engine runs at most 16 jobs at once; the 17th Invoke is LimitsExceeded until one ends")
    func runningJobsAreBounded() async throws {
        try await withBroker { broker in
            let path = try await approvedDevice(broker, serial: "R1")
            let engine = try await TestEngine.start(on: broker.bus)
            var started: [DBusObjectPath] = []
            for _ in 0..<BrokerService.maxRunningJobsPerEngine { started.append(try await invoke(broker, path, "sync-all")) }
            let refused = await errorName { _ = try await invoke(broker, path, "sync-all") }
            #expect(refused == "org.devsync.Broker1.Error.LimitsExceeded")
            let first = started[0]
            try await engine.finished(first, success: true)
            _ = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: first) }
            #expect(await errorName { _ = try await invoke(broker, path, "sync-all") } == nil)
            await engine.connection.close()
        }
    }
}
