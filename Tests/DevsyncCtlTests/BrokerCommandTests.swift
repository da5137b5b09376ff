// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus
import DevsyncBuild
import DevsyncTestSupport
import Foundation
import Testing

/// The JSON `devsyncctl` printed.
private func json(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}

@Suite("devsyncctl against a running broker", .serialized, .timeLimit(.minutes(2)))
struct BrokerCommandTests {
    @Test("list prints one aligned row per device; --json every property")
    func list() async throws {
        try await withBroker { broker in
            await broker.arrive(TestDevice.observation(serial: "L1"))
            await broker.arrive(TestDevice.observation(serial: "L2", vendor: "Sony", model: "Clie PEG-TJ37", plugin: "palm-sync"))

            let table = try await broker.ctl("list")
            #expect(table.status == 0, "\(table.stderr)")
            let rows = table.stdout.split(separator: "\n").map(String.init)
            #expect(rows == [
                "usb-0830-0060-L1  Palm Tungsten T     pda  palm-sync  pending  yes  -",
                "usb-0830-0060-L2  Sony Clie PEG-TJ37  pda  palm-sync  pending  yes  -",
            ])

            // list is the default verb, and --bus may come before it.
            let implicit = try await broker.ctl()
            #expect(implicit.stdout == table.stdout)

            let result = try await broker.ctl("list", "--json")
            #expect(result.status == 0)
            let devices = try #require(try json(result.stdout) as? [[String: Any]])
            #expect(devices.count == 2)
            let first = try #require(devices.first)
            #expect(first["uid"] as? String == "usb-0830-0060-L1")
            #expect(first["vendor"] as? String == "Palm")
            #expect(first["status"] as? String == "pending")
            #expect(first["present"] as? Bool == true)
            #expect(first["dataTypes"] as? [String] == ["contacts", "calendar"])
            #expect(first["firstSeen"] as? Int == 1_700_000_000)
            #expect(first["profile"] as? String != nil)
            #expect((first["actions"] as? [[String: Any]])?.map { $0["id"] as? String }.contains("sync-all") == true)
            #expect((first["properties"] as? [String: Any])?["usb.serial"] as? String == "L1")
        }
    }

    @Test("on a terminal, list has a header and sync draws a bar")
    func terminal() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "T1"))
            let table = try await broker.ctlOnTerminal("list")
            #expect(table.status == 0)
            let rows = table.stdout.split(separator: "\r\n").map(String.init)
            #expect(rows == [
                "UID               DEVICE           KIND  PLUGIN     STATUS   PRESENT  OWNER",
                "usb-0830-0060-T1  Palm Tungsten T  pda   palm-sync  pending  yes      -",
            ])

            try await broker.approve(path)
            let engine = try await TestEngine.start(on: broker.bus)
            defer { Task { await engine.connection.close() } }
            async let result = broker.ctlOnTerminal("sync", "usb-0830-0060-T1")
            let request = try #require(await engine.nextSync())
            try await engine.progress(request.job, 0.5, "half")
            try await engine.finished(request.job, success: true)
            let sync = try await result
            #expect(sync.status == 0)
            #expect(sync.stdout.contains("\rsync-all [###############...............] 50%"))
            #expect(sync.stdout.contains("\rsync-all [##############################] 100%"))
        }
    }

    @Test("the system bus is DBUS_SYSTEM_BUS_ADDRESS when --bus is not given")
    func systemBusFromEnvironment() async throws {
        try await withBroker { broker in
            await broker.arrive(TestDevice.observation(serial: "E1"))
            let result = try await Command.run(
                .root, try binary().path, ["list"], environment: ["DBUS_SYSTEM_BUS_ADDRESS": broker.bus.address])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("usb-0830-0060-E1  Palm Tungsten T"))
        }
    }

    @Test("info finds a device by a unique uid prefix and shows properties, actions and device properties")
    func infoByPrefix() async throws {
        try await withBroker { broker in
            await broker.arrive(TestDevice.observation(serial: "INFO42"))
            await broker.arrive(TestDevice.observation(serial: "OTHER"))

            let result = try await broker.ctl("info", "usb-0830-0060-IN")
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "usb-0830-0060-INFO42")
            #expect(lines.contains("  vendor:      Palm"))
            #expect(lines.contains("  data types:  contacts, calendar"))
            #expect(lines.contains("  status:      pending"))
            #expect(lines.contains("  first seen:  2023-11-14 22:13:20 UTC"))
            #expect(lines.contains { $0.hasPrefix("  sync-contacts") && $0.contains("Sync contacts") })
            #expect(lines.contains("  usb.vendor_id = 0x0830"))
            #expect(lines.contains("  usb.serial = INFO42"))

            let asJSON = try await broker.ctl("info", "--json", "usb-0830-0060-IN")
            let device = try #require(try json(asJSON.stdout) as? [String: Any])
            #expect(device["uid"] as? String == "usb-0830-0060-INFO42")
            #expect(device["path"] as? String == BrokerContract.devicePath(uid: "usb-0830-0060-INFO42").rawValue)
        }
    }

    @Test("an unknown or ambiguous device exits 3 with the broker's sentence")
    func noSuchDevice() async throws {
        try await withBroker { broker in
            await broker.arrive(TestDevice.observation(serial: "A1"))
            await broker.arrive(TestDevice.observation(serial: "A2"))

            let ambiguous = try await broker.ctl("info", "usb-0830")
            #expect(ambiguous.status == 3)
            #expect(ambiguous.stderr == "devsyncctl: 2 devices have a uid starting with \"usb-0830\"; give more of it.\n")
            #expect(ambiguous.stdout.isEmpty)

            let unknown = try await broker.ctl("approve", "bt-00")
            #expect(unknown.status == 3)
            #expect(unknown.stderr == "devsyncctl: No device has a uid starting with \"bt-00\".\n")
        }
    }

    @Test("approve, reject and forget change the device's status")
    func decisions() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "D1"))

            let approve = try await broker.ctl("approve", "usb-0830-0060-D1", "--owner", "root")
            #expect(approve.status == 0, "\(approve.stderr)")
            #expect(approve.stdout == "usb-0830-0060-D1: approved (owner root)\n")
            #expect(try await broker.deviceProperty(path, "Status") == .string("approved"))
            #expect(try await broker.deviceProperty(path, "Owner") == .string("root"))

            let reject = try await broker.ctl("reject", "--no-interaction", "usb-0830-0060-D1")
            #expect(reject.status == 0, "\(reject.stderr)")
            #expect(try await broker.deviceProperty(path, "Status") == .string("rejected"))

            let forget = try await broker.ctl("forget", "usb-0830-0060-D1", "--json")
            #expect(forget.status == 0, "\(forget.stderr)")
            #expect((try json(forget.stdout) as? [String: Any])?["status"] as? String == "pending")
            #expect(try await broker.deviceProperty(path, "Status") == .string("pending"))
        }
    }

    @Test("approve as an unauthorized user exits 4 with the broker's sentence")
    func notAuthorized() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "N1"))
            let result = try await broker.ctl(as: .nobody, "approve", "--no-interaction", "usb-0830-0060-N1")
            #expect(result.status == 4, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("devsyncctl: You may not "), "\(result.stderr)")
            #expect(result.stderr.contains("polkit did not authorize org.devsync.manage-devices"))
            #expect(!result.stderr.contains("org.devsync.Broker1.Error"))
            #expect(try await broker.deviceProperty(path, "Status") == .string("pending"))
        }
    }

    @Test("a refusal other than these exits 1 with the broker's sentence")
    func refused() async throws {
        try await withBroker { broker in
            await broker.arrive(TestDevice.observation(serial: "R1"))
            // Syncing a pending device is BadState.
            let result = try await broker.ctl("sync", "usb-0830-0060-R1")
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr == "devsyncctl: Device usb-0830-0060-R1 is pending; approve it before syncing it.\n")
        }
    }

    @Test("actions lists id, label, data types and availability")
    func actions() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "AC1"))
            try await broker.approve(path)

            let before = try await broker.ctl("actions", "usb-0830-0060-AC1")
            #expect(before.status == 0, "\(before.stderr)")
            #expect(before.stdout.split(separator: "\n") == [
                "sync-contacts  Sync contacts  contacts           no",
                "sync-calendar  Sync calendar  calendar           no",
                "sync-all       Sync all       contacts,calendar  no",
            ])

            let engine = try await TestEngine.start(on: broker.bus)
            defer { Task { await engine.connection.close() } }
            _ = await broker.signals.wait { message in
                message.isSignal("org.freedesktop.DBus.Properties", "PropertiesChanged", path: path)
                    && message.arguments.dropFirst().first?["Actions"] != nil
            }
            let after = try await broker.ctl("actions", "--json", "usb-0830-0060-AC1")
            let actions = try #require(try json(after.stdout) as? [[String: Any]])
            #expect(actions.map { $0["id"] as? String } == ["sync-contacts", "sync-calendar", "sync-all"])
            #expect(actions.allSatisfy { $0["available"] as? Bool == true })
            #expect(actions.last?["dataTypes"] as? [String] == ["contacts", "calendar"])
        }
    }

    @Test("sync follows the job's progress and the engine's messages, and exits 0 when it succeeds")
    func syncSucceeds() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "S1"))
            try await broker.approve(path)
            let engine = try await TestEngine.start(on: broker.bus)
            defer { Task { await engine.connection.close() } }

            async let result = broker.ctl("sync", "usb-0830-0060-S1", "sync-contacts")
            let request = try #require(await engine.nextSync())
            #expect(request.datatypes == ["contacts"])
            try await engine.progress(request.job, 0.25, "contacts 1/4")
            try await engine.progress(request.job, 0.5, "contacts 2/4")
            try await engine.finished(request.job, success: true)

            let finished = try await result
            #expect(finished.status == 0, "\(finished.stderr)")
            let lines = finished.stdout.split(separator: "\n").map(String.init)
            #expect(lines == [
                "usb-0830-0060-S1: sync-contacts 25%", "usb-0830-0060-S1: contacts 1/4",
                "usb-0830-0060-S1: sync-contacts 50%", "usb-0830-0060-S1: contacts 2/4",
                "usb-0830-0060-S1: sync-contacts 100%", "usb-0830-0060-S1: sync-contacts succeeded",
            ])
        }
    }

    @Test("sync exits non-zero with the engine's sentence when the sync fails")
    func syncFails() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "S2"))
            try await broker.approve(path)
            let engine = try await TestEngine.start(on: broker.bus)
            defer { Task { await engine.connection.close() } }

            async let result = broker.ctl("sync", "usb-0830-0060-S2")
            let request = try #require(await engine.nextSync())
            try await engine.finished(request.job, success: false, error: "the device stopped answering")

            let finished = try await result
            #expect(finished.status == 5)
            #expect(finished.stderr == "devsyncctl: usb-0830-0060-S2: sync-all failed: the device stopped answering\n")
        }
    }

    @Test("interrupting sync cancels the job and exits 6, also when devsyncctl was started with SIGINT blocked",
          arguments: [false, true])
    func syncInterrupted(startedWithInterruptsBlocked: Bool) async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "C1"))
            try await broker.approve(path)
            let engine = try await TestEngine.start(on: broker.bus)
            defer { Task { await engine.connection.close() } }

            let sync = try RunningCommand(
                ["--bus", broker.bus.address, "sync", "usb-0830-0060-C1"], blockingInterrupts: startedWithInterruptsBlocked)
            defer { sync.kill() }
            // devsyncctl handles SIGINT before it invokes the action, so by now an interrupt is caught.
            let request = try #require(await engine.nextSync())
            sync.interrupt()
            var cancels = engine.cancels.makeAsyncIterator()
            #expect(await cancels.next() == request.job)
            #expect(await sync.status() == 6)
            var errors: [String] = []
            for await line in sync.errorLines { errors.append(line) }
            #expect(errors.last == "devsyncctl: usb-0830-0060-C1: sync-all was cancelled")
        }
    }

    @Test("sync --json prints one object per progress change and the outcome")
    func syncJSON() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "J1"))
            try await broker.approve(path)
            let engine = try await TestEngine.start(on: broker.bus)
            defer { Task { await engine.connection.close() } }

            async let result = broker.ctl("sync", "--json", "usb-0830-0060-J1", "sync-calendar")
            let request = try #require(await engine.nextSync())
            try await engine.progress(request.job, 0.75, "calendar")
            try await engine.finished(request.job, success: true)
            let finished = try await result
            #expect(finished.status == 0, "\(finished.stderr)")
            let objects = try finished.stdout.split(separator: "\n").map { try #require(try json(String($0)) as? [String: Any]) }
            #expect(objects.compactMap { $0["progress"] as? Double } == [0.75, 1.0])
            #expect(objects.last?["state"] as? String == "succeeded")
            #expect(objects.last?["job"] as? String == request.job.rawValue)
            #expect(objects.last?["action"] as? String == "sync-calendar")
        }
    }

    @Test("monitor prints a timestamped line when a device arrives")
    func monitor() async throws {
        try await withBroker { broker in
            for json in [false, true] {
                let monitor = try RunningCommand(["--bus", broker.bus.address, "monitor"] + (json ? ["--json"] : []))
                defer { monitor.kill() }
                // Its first line on standard error says it is subscribed.
                let ready = await RunningCommand.next(monitor.errorLines)
                #expect(ready?.contains("monitoring") == true)

                let serial = json ? "M2" : "M1"
                await broker.arrive(TestDevice.observation(serial: serial))
                let line = try #require(await RunningCommand.next(monitor.lines))
                if json {
                    let event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    #expect(event["event"] as? String == "device-added")
                    #expect(event["device"] as? String == TestDevice.uid(serial: serial))
                    #expect((event["time"] as? String)?.hasSuffix("Z") == true)
                } else {
                    let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                    #expect(fields.count == 3, "\(line)")
                    #expect(ISO8601DateFormatter.withFractions.date(from: fields[0]) != nil, "\(line)")
                    #expect(Array(fields.dropFirst()) == ["device-added", TestDevice.uid(serial: serial)])
                }
                if !json {
                    // A decision shows as the device's changed status and owner.
                    try await broker.approve(BrokerContract.devicePath(uid: TestDevice.uid(serial: serial)))
                    var changed: String?
                    while let next = await RunningCommand.next(monitor.lines) {
                        if next.contains("device-changed") {
                            changed = next
                            break
                        }
                    }
                    let line = try #require(changed)
                    #expect(line.hasSuffix("device-changed  usb-0830-0060-M1  status=approved owner=root"), "\(line)")
                }
            }
        }
    }

    @Test("monitor follows a job to its end, and the broker stopping")
    func monitorJobs() async throws {
        try await withBroker { broker in
            let path = await broker.arrive(TestDevice.observation(serial: "MJ"))
            try await broker.approve(path)
            let engine = try await TestEngine.start(on: broker.bus)
            defer { Task { await engine.connection.close() } }
            let monitor = try RunningCommand(["--bus", broker.bus.address, "monitor"])
            defer { monitor.kill() }
            _ = await RunningCommand.next(monitor.errorLines)

            _ = try await broker.client.call(
                destination: BrokerContract.busName, path: path, interface: BrokerContract.deviceInterface,
                member: "Invoke", arguments: [.string("sync-all"), .vardict([:])])
            let request = try #require(await engine.nextSync())
            try await engine.progress(request.job, 0.5, "half")
            try await engine.finished(request.job, success: true)
            _ = await broker.signals.wait { $0.isSignal(BrokerContract.jobInterface, "Finished", path: request.job) }
            await broker.server.close()

            var events: [String] = []
            while let line = await RunningCommand.next(monitor.lines) {
                // Drop the timestamp.
                events.append(line.split(separator: " ", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")
                if events.contains(where: { $0.hasPrefix("broker-stopped") }) && events.contains(where: { $0.hasPrefix("job-finished") }) {
                    break
                }
            }
            let job = request.job.rawValue
            #expect(events.first == "job-started  \(job)  device=usb-0830-0060-MJ action=sync-all", "\(events)")
            #expect(events.contains("job-changed  \(job)  progress=50%"), "\(events)")
            #expect(events.contains("job-finished  \(job)  state=succeeded error=\"\""), "\(events)")
            #expect(events.contains("broker-stopped  org.devsync.Broker1"))
        }
    }

    @Test("with no broker on the bus, or no bus, the exit status is 69; monitor waits for the broker until the bus goes")
    func brokerNotRunning() async throws {
        let bus = try await TestBus.start()
        defer { bus.stop() }
        for arguments in [["list"], ["info", "usb-1"], ["approve", "usb-1"], ["sync", "usb-1"]] {
            let result = try await Command.run(.root, try binary().path, ["--bus", bus.address] + arguments)
            #expect(result.status == 69, "\(arguments): \(result.stderr)")
            #expect(result.stderr == "devsyncctl: the devsync broker (org.devsync.Broker1) is not running\n")
        }
        let monitor = try RunningCommand(["--bus", bus.address, "monitor"])
        defer { monitor.kill() }
        #expect(await RunningCommand.next(monitor.errorLines)?.contains("monitoring") == true)
        bus.stop()
        #expect(await monitor.status() == 69)

        let noBus = try await Command.run(.root, try binary().path, ["--bus", "unix:path=/nonexistent/bus", "list"])
        #expect(noBus.status == 69)
        #expect(noBus.stderr.hasPrefix("devsyncctl: cannot reach the bus at unix:path=/nonexistent/bus"))
    }

    @Test("usage errors exit 2; --help documents the exit statuses")
    func usage() async throws {
        let missing = try await Command.run(.root, try binary().path, ["info"])
        #expect(missing.status == 2)
        let help = try await Command.run(.root, try binary().path, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("69  the broker is not running"))
        #expect(help.stdout.contains("4   not authorized"))
    }

    @Test("an unknown verb is a usage error naming it, also after --bus and --json; list is not run instead")
    func unknownVerb() async throws {
        for arguments in [["lsit"], ["--bus", "unix:path=/nonexistent/bus", "bogus"], ["--json", "approv", "usb-1"]] {
            let result = try await Command.run(.root, try binary().path, arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stdout.isEmpty, "\(arguments)")
            let verb = arguments.first { !$0.hasPrefix("-") && !$0.hasPrefix("unix:") } ?? ""
            #expect(result.stderr.hasPrefix("devsyncctl: unknown verb '\(verb)'; the verbs are list, info,"), "\(result.stderr)")
        }
        // A known verb and the default verb still parse: they fail only for want of a bus.
        #expect(try await Command.run(.root, try binary().path, ["--bus", "unix:path=/nonexistent/bus"]).status == 69)
        #expect(try await Command.run(.root, try binary().path, ["help", "sync"]).status == 0)
    }

    @Test("--version prints the one version number, as devsyncd does")
    func version() async throws {
        let result = try await Command.run(.root, try binary().path, ["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "\(BuildConfiguration.version)\n")
        #expect(BuildConfiguration.version.split(separator: ".").count == 3)
    }

    @Test("shell completion scripts name the verbs")
    func completions() async throws {
        for shell in ["bash", "zsh", "fish"] {
            let result = try await Command.run(.root, try binary().path, ["--generate-completion-script", shell])
            #expect(result.status == 0)
            for verb in ["list", "info", "approve", "reject", "forget", "actions", "sync", "monitor", "profiles"] {
                #expect(result.stdout.contains(verb), "\(shell) completion lacks \(verb)")
            }
        }
    }
}

extension ISO8601DateFormatter {
    /// Parses the monitor's timestamps.
    static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
