// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncBuild
import DevsyncTestSupport
import Foundation
import Testing

// These scenarios run the built devsyncd as a separate process on a private dbus-daemon, over a umockdev
// testbed this process creates. umockdev's testbed API needs its preload in this process too, so the suite runs
// only under it, as `make check` does:
//
//     LD_PRELOAD=libumockdev-preload.so.0 swift test --filter EndToEndTests
//
// devsyncd gets the preload and the testbed's UMOCKDEV_DIR; every other helper (dbus-daemon, busctl, dbusmock)
// runs without them. The testbed (UMOCKDEV_DIR) is process-global, so the scenarios run one at a time.

@Suite(
    "devsyncd end to end (private bus, umockdev)", .serialized,
    .enabled(if: Testbed.preloadActive, "needs LD_PRELOAD=libumockdev-preload.so.0 (see the top of this file)")
)
struct DevsyncdTests {
    /// One scenario's world: a testbed, a bus, a client connection on it and a state directory.
    final class World: @unchecked Sendable {  // used from one test task at a time
        let testbed = Testbed()
        let bus: TestBus
        let client: DBusConnection
        let directory: URL
        var state: URL { directory.appendingPathComponent("state") }

        init() async throws {
            bus = try TestBus()
            client = try await bus.connect()
            directory = try temporaryDirectory("world")
        }

        func close() async {
            await client.close()
            bus.stop()
            testbed.close()
            try? FileManager.default.removeItem(at: directory)
        }

        /// devsyncd on this world's bus with its state directory (`startDaemon`).
        func startDevsyncd(
            profiles: [URL] = [], shippedProfiles: Bool = true, extraArguments: [String] = [], busArgument: String? = nil
        ) async throws -> DaemonProcess {
            try await startDaemon(
                on: bus, client: client, state: state, profiles: profiles, shippedProfiles: shippedProfiles,
                extraArguments: extraArguments, busArgument: busArgument)
        }
    }

    /// Runs `body` in a new world and closes the world afterwards, also when `body` throws.
    private func inWorld(_ body: (World) async throws -> Void) async throws {
        let world = try await World()
        do {
            try await body(world)
        } catch {
            await world.close()
            throw error
        }
        await world.close()
    }

    @Test("A Palm present at start is published, pending, once the name appears")
    func coldPlugBeforeReadiness() async throws {
        try await inWorld { world in
            world.testbed.plug(.palm())
            let daemon = try await world.startDevsyncd()
            defer { daemon.kill() }

            // No waiting after readiness: the device must already be there when the name appears (Type=dbus).
            let listed = try await Broker.devices(world.client)
            #expect(listed.count == 1)
            let palm = try await Broker.device(uid: palmUID, world.client)
            #expect(listed.first == palm)
            #expect(try await Broker.property("Status", of: palm, world.client).string == "pending")
            #expect(try await Broker.property("Plugin", of: palm, world.client).string == "palm-sync")
            #expect(try await Broker.property("Present", of: palm, world.client).bool == true)

            // busctl, as a client would use it, sees the same.
            let list = try await world.bus.busctl("call", Broker.name, "/org/devsync/Broker1", Broker.manager, "ListDevices")
            #expect(list.status == 0)
            #expect(list.stdout.hasPrefix("ao 1 "))

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("devsyncd --version, its start-up line and the Manager's DaemonVersion all name the one version")
    func version() async throws {
        let printed = try await Command.run(.root, try devsyncdBinary().path, ["--version"])
        #expect(printed.status == 0)
        #expect(printed.stdout == "devsyncd \(BuildConfiguration.version)\n")
        try await inWorld { world in
            let daemon = try await world.startDevsyncd()
            defer { daemon.kill() }
            let property = try await world.client.call(
                destination: Broker.name, path: Broker.managerPath, interface: "org.freedesktop.DBus.Properties",
                member: "Get", arguments: [.string(Broker.manager), .string("DaemonVersion")])
            #expect(property.first?.unwrapped.string == BuildConfiguration.version)
            // The ready line is written just after the name is taken, so a client can see the name first.
            try await daemon.waitForLog("devsyncd ready")
            #expect(daemon.log.split(separator: "\n").contains { $0.contains("devsyncd ready") && $0.contains("version=\(BuildConfiguration.version)") })
            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("A hotplugged MTP player is announced with DeviceAdded")
    func hotplugAnnounced() async throws {
        try await inWorld { world in
            let daemon = try await world.startDevsyncd()
            defer { daemon.kill() }
            #expect(try await Broker.devices(world.client).isEmpty)

            let added = try await Broker.signals("DeviceAdded", world.client)
            world.testbed.plug(.mtpPlayer())
            let path = try await first("DeviceAdded", of: added)?.arguments.first?.objectPath
            let player = try await Broker.device(uid: playerUID, world.client)
            #expect(path == player)
            #expect(try await Broker.property("Plugin", of: player, world.client).string == "mtp")
            #expect(try await Broker.property("Kind", of: player, world.client).string == "media-player")

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("An approval (by root) survives a restart: status and owner are kept")
    func approvalPersists() async throws {
        try await inWorld { world in
            world.testbed.plug(.palm())
            var daemon = try await world.startDevsyncd()
            defer { daemon.kill() }
            let palm = try await Broker.device(uid: palmUID, world.client)

            let approve = try await world.bus.busctl(
                "call", Broker.name, "\(palm)", Broker.device, "Approve", "sa{sv}", "root", "0")
            #expect(approve.status == 0, "\(approve.stderr)")
            #expect(try await Broker.property("Status", of: palm, world.client).string == "approved")

            #expect(try await daemon.stop() == 0)
            daemon = try await world.startDevsyncd()
            let again = try await Broker.device(uid: palmUID, world.client)
            #expect(again == palm)
            #expect(try await Broker.property("Status", of: again, world.client).string == "approved")
            #expect(try await Broker.property("Owner", of: again, world.client).string == "root")
            #expect(try await Broker.property("Present", of: again, world.client).bool == true)

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("A rejected device stays rejected when it is plugged in again")
    func rejectionSticks() async throws {
        try await inWorld { world in
            let daemon = try await world.startDevsyncd()
            defer { daemon.kill() }
            let changes = try await Broker.propertyChanges(world.client)
            let added = try await Broker.signals("DeviceAdded", world.client)

            let plugged = world.testbed.plug(.mtpPlayer())
            try await first("DeviceAdded", of: added)
            let player = try await Broker.device(uid: playerUID, world.client)
            let reject = try await world.bus.gdbus(
                "call", "--dest", Broker.name, "--object-path", "\(player)", "--method", "\(Broker.device).Reject", "{}")
            #expect(reject.status == 0, "\(reject.stderr)")
            #expect(try await Broker.property("Status", of: player, world.client).string == "rejected")

            // Unplugged: a stored device stays listed, absent.
            world.testbed.unplug(plugged)
            try await waitForPresent(false, on: player, changes, world.client)
            // Plugged again (into another port: umockdev cannot re-create a removed device's bus link): present,
            // the same uid, and still rejected.
            world.testbed.plug(.mtpPlayer(port: "1-6"))
            try await waitForPresent(true, on: player, changes, world.client)
            #expect(try await Broker.device(uid: playerUID, world.client) == player)
            #expect(try await Broker.property("Status", of: player, world.client).string == "rejected")

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("SIGHUP reloads the profiles: an administrator's new rule makes a present gadget a sync device")
    func reloadOnSIGHUP() async throws {
        try await inWorld { world in
            let admin = world.directory.appendingPathComponent("admin-profiles")
            try FileManager.default.createDirectory(at: admin, withIntermediateDirectories: true)
            world.testbed.plug(.gadget())
            let daemon = try await world.startDevsyncd(profiles: [admin])
            defer { daemon.kill() }
            #expect(try await Broker.devices(world.client).isEmpty)

            try """
                <?xml version="1.0" encoding="UTF-8"?>
                <deviceinfo version="0.2">
                  <device>
                    <match key="usb.vendor_id" int="0x1d6b">
                      <match key="usb.product_id" int="0x7777">
                        <merge key="sync.kind" type="string">pda</merge>
                        <merge key="sync.plugin" type="string">file-sync</merge>
                        <merge key="sync.datatypes" type="strlist">files</merge>
                      </match>
                    </match>
                  </device>
                </deviceinfo>
                """.write(to: admin.appendingPathComponent("50-gadget.fdi"), atomically: true, encoding: .utf8)
            let added = try await Broker.signals("DeviceAdded", world.client)
            daemon.send(SIGHUP)
            try await first("DeviceAdded after SIGHUP", of: added)
            let gadget = try await Broker.device(uid: gadgetUID, world.client)
            #expect(try await Broker.property("Plugin", of: gadget, world.client).string == "file-sync")
            #expect(try await Broker.property("Profile", of: gadget, world.client).string?.contains("50-gadget.fdi") == true)

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("A profile broken at SIGHUP keeps its last good rules: the approved Palm stays present, with its actions")
    func brokenProfileOnReload() async throws {
        try await inWorld { world in
            // A copy of the shipped profiles, the only directory the daemon reads, so that the test can break it.
            let profiles = world.directory.appendingPathComponent("profiles")
            try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("fdi-profiles"), to: profiles)
            world.testbed.plug(.palm())
            let daemon = try await world.startDevsyncd(profiles: [profiles], shippedProfiles: false)
            defer { daemon.kill() }
            let palm = try await Broker.device(uid: palmUID, world.client)
            let approve = try await world.bus.busctl(
                "call", Broker.name, "\(palm)", Broker.device, "Approve", "sa{sv}", "root", "0")
            #expect(approve.status == 0, "\(approve.stderr)")
            let actions = try await Broker.property("Actions", of: palm, world.client)

            // Truncated, as an interrupted package upgrade or editor leaves it.
            let palmProfile = profiles.appendingPathComponent("10-palm.fdi")
            try Data().write(to: palmProfile)
            daemon.send(SIGHUP)
            try await daemon.waitForLog("SIGHUP: profiles reloaded", count: 1)
            #expect(try await Broker.property("Present", of: palm, world.client).bool == true)
            #expect(try await Broker.property("Status", of: palm, world.client).string == "approved")
            #expect(try await Broker.property("Plugin", of: palm, world.client).string == "palm-sync")
            #expect(try await Broker.property("Actions", of: palm, world.client) == actions)
            let log = daemon.log
            #expect(log.contains("keeping its last good rules: \(palmProfile.path):"), "\(log)")

            // The whole directory deleted: the reload would yield no rules, so the previous set stays.
            try FileManager.default.removeItem(at: profiles)
            daemon.send(SIGHUP)
            try await daemon.waitForLog("SIGHUP: profiles reloaded", count: 2)
            #expect(try await Broker.property("Present", of: palm, world.client).bool == true)
            #expect(try await Broker.property("Plugin", of: palm, world.client).string == "palm-sync")
            #expect(daemon.log.contains("The profiles yield no rules; keeping the previous"), "\(daemon.log)")
            #expect(daemon.log.contains("\(profiles.path) (missing)"), "\(daemon.log)")

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("devsyncd started without profile rules warns, naming the directories it read")
    func noProfilesWarns() async throws {
        try await inWorld { world in
            let empty = world.directory.appendingPathComponent("empty-profiles")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            let missing = world.directory.appendingPathComponent("no-such-profiles")
            let daemon = try await world.startDevsyncd(profiles: [empty, missing], shippedProfiles: false)
            defer { daemon.kill() }
            let warning = daemon.log.split(separator: "\n").first { $0.contains("No profile rules") }
            #expect(warning?.hasPrefix("warning: ") == true, "\(daemon.log)")
            #expect(warning?.contains("\(empty.path) (0 files), \(missing.path) (missing)") == true, "\(daemon.log)")
            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("The log level changes at run time through org.freedesktop.LogControl1, as systemctl service-log-level does")
    func logLevelAtRunTime() async throws {
        try await inWorld { world in
            let daemon = try await world.startDevsyncd(extraArguments: ["--log-level", "info"])
            defer { daemon.kill() }
            let path = "/org/freedesktop/LogControl1", interface = "org.freedesktop.LogControl1"
            let before = try await world.bus.busctl("get-property", Broker.name, path, interface, "LogLevel", "SyslogIdentifier")
            #expect(before.stdout == "s \"info\"\ns \"devsyncd\"\n", "\(before.stderr)")
            daemon.send(SIGHUP)
            try await daemon.waitForLog("SIGHUP: profiles reloaded", count: 1)
            #expect(!daemon.log.contains("debug: loaded profile "), "no debug lines at info")

            let set = try await world.bus.busctl("set-property", Broker.name, path, interface, "LogLevel", "s", "debug")
            #expect(set.status == 0, "\(set.stderr)")
            daemon.send(SIGHUP)
            try await daemon.waitForLog("SIGHUP: profiles reloaded", count: 2)
            #expect(daemon.log.contains("debug: loaded profile "), "\(daemon.log)")
            #expect(daemon.log.contains("Log level changed over D-Bus level=debug"))
            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("SIGINT stops it gracefully, as SIGTERM does: the broker is stopped, then the process exits 0")
    func interruptStopsGracefully() async throws {
        try await inWorld { world in
            world.testbed.plug(.palm())
            let daemon = try await world.startDevsyncd()
            defer { daemon.kill() }

            daemon.send(SIGINT)
            #expect(try await daemon.exited() == 0)
            #expect(daemon.log.contains("Stopping"))
            #expect(daemon.log.contains("devsyncd stopped"), "the graceful path ran:\n\(daemon.log)")
        }
    }

    @Test("An idle devsyncd makes no wakeups: no thread of it runs for seconds on end once it has settled")
    func idleMeansNoWakeups() async throws {
        try await inWorld { world in
            world.testbed.plug(.palm())
            let daemon = try await world.startDevsyncd()
            defer { daemon.kill() }
            let pid = daemon.process.processIdentifier

            // Settling takes a few seconds: the start-up's last work, then libdispatch ends its idle worker threads
            // 5 s after their last job (one wakeup each, once). A timer that fires every second or more often (such
            // as libdispatch's workqueue monitor, which devsyncd's own global executor avoids) never lets a 3 s
            // window pass without a context switch, so the daemon would never be seen quiet.
            let quiet = try await waiting(for: "3 s without a wakeup of any devsyncd thread") { () async throws -> Bool in
                var before = ThreadActivity(of: pid)
                while true {
                    try await Task.sleep(for: .seconds(3))
                    let after = ThreadActivity(of: pid)
                    if after == before, !after.switches.isEmpty { return true }
                    before = after
                }
            }
            #expect(quiet)
            #expect(daemon.process.isRunning)

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("A second devsyncd on the same bus exits non-zero, naming the first one's pid")
    func secondDaemonRefused() async throws {
        try await inWorld { world in
            let first = try await world.startDevsyncd()
            defer { first.kill() }

            let second = try DaemonProcess(
                ["--bus", world.bus.address, "--state-dir", world.directory.appendingPathComponent("state2").path,
                 "--profiles", repositoryRoot.appendingPathComponent("fdi-profiles").path],
                bus: world.bus, logDirectory: world.directory)
            defer { second.kill() }
            let status = try await second.exited()
            #expect(status != 0)
            #expect(second.log.contains("another devsyncd already owns org.devsync.Broker1 (pid \(first.process.processIdentifier))"))
            // The first one still serves.
            #expect(try await world.client.nameOwner(of: Broker.name) != nil)
            #expect(try await Broker.devices(world.client).isEmpty)

            first.send(SIGTERM)
            #expect(try await first.exited() == 0)
        }
    }

    @Test("devsyncd keeps serving when logind and polkit vanish from the bus")
    func survivesPeersGoingAway() async throws {
        try await inWorld { world in
            let logind = try await BusMock.start("logind", owning: "org.freedesktop.login1", on: world.bus, watching: world.client)
            let polkit = try await BusMock.start(
                "polkitd", owning: "org.freedesktop.PolicyKit1", on: world.bus, watching: world.client)
            // --bus system with DBUS_SYSTEM_BUS_ADDRESS at the test bus: the broker and the logind tracker share it.
            let daemon = try await world.startDevsyncd(busArgument: "system")
            defer { daemon.kill() }

            logind.kill()
            polkit.kill()
            let added = try await Broker.signals("DeviceAdded", world.client)
            world.testbed.plug(.mtpPlayer())
            try await first("DeviceAdded after the peers left", of: added)
            let player = try await Broker.device(uid: playerUID, world.client)
            #expect(try await Broker.property("Status", of: player, world.client).string == "pending")
            // Root is authorized without polkit, so a decision still goes through.
            let approve = try await world.bus.busctl(
                "call", Broker.name, "\(player)", Broker.device, "Approve", "sa{sv}", "root", "0")
            #expect(approve.status == 0, "\(approve.stderr)")
            #expect(daemon.process.isRunning)

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("When the bus itself goes away devsyncd stops with status 1 instead of serving nobody")
    func busGone() async throws {
        try await inWorld { world in
            let daemon = try await world.startDevsyncd()
            defer { daemon.kill() }
            world.bus.stop()
            #expect(try await daemon.exited() == 1)
            #expect(daemon.log.contains("The bus connection closed"))
        }
    }

    @Test("With ApprovalPolicy=auto a device present at start is approved for logind's active user")
    func autoApprovalForActiveUser() async throws {
        try await inWorld { world in
            let logind = try await BusMock.start("logind", owning: "org.freedesktop.login1", on: world.bus, watching: world.client)
            defer { logind.kill() }
            let session = try await world.bus.busctl(
                "call", "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.DBus.Mock", "AddSession",
                "ssusb", "c1", "seat0", "0", "root", "true")
            #expect(session.status == 0, "\(session.stderr)")
            let config = world.directory.appendingPathComponent("devsyncd.conf")
            try "[Daemon]\nApprovalPolicy=auto\n".write(to: config, atomically: true, encoding: .utf8)
            let changes = try await Broker.propertyChanges(world.client)
            world.testbed.plug(.palm())

            let daemon = try await world.startDevsyncd(
                extraArguments: ["--config", config.path],
                busArgument: "system")
            defer { daemon.kill() }
            let palm = try await Broker.device(uid: palmUID, world.client)
            if try await Broker.property("Status", of: palm, world.client).string != "approved" {
                try await waiting(for: "the automatic approval") {
                    for await change in changes where change.path == palm {
                        if change.arguments.count > 1, change.arguments[1]["Status"]?.string == "approved" { return }
                    }
                }
            }
            #expect(try await Broker.property("Owner", of: palm, world.client).string == "root")
            let policy = try await world.client.call(
                destination: Broker.name, path: Broker.managerPath, interface: "org.freedesktop.DBus.Properties",
                member: "Get", arguments: [.string(Broker.manager), .string("Policy")])
            #expect(policy.first?.unwrapped.string == "auto")

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("A device present at start gets ApprovalRequested with logind's active user once devsyncd owns its name")
    func approvalRequestedForDevicesPresentAtStart() async throws {
        try await inWorld { world in
            let logind = try await startLogind(activeUser: "root", world)
            defer { logind.kill() }
            world.testbed.plug(.palm())
            // As an applet subscribes: by the broker's name, which matches only while devsyncd owns it.
            let requests = try await world.client.signals(
                matching: DBusMatchRule(sender: Broker.name, interface: Broker.manager, member: "ApprovalRequested"))
            let daemon = try await world.startDevsyncd(busArgument: "system")
            defer { daemon.kill() }
            let request = try await first("ApprovalRequested", of: requests)
            let palm = try await Broker.device(uid: palmUID, world.client)
            #expect(request?.arguments.first?.objectPath == palm)
            #expect(request?.arguments.dropFirst().first?.string == "root")
            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("The owner callout gets the device's properties, and ApprovalRequested waits for and carries its answer")
    func calloutNamesTheOwner() async throws {
        try await inWorld { world in
            let logind = try await startLogind(activeUser: "root", world)
            defer { logind.kill() }
            // The callout answers after a while, and differently from logind: an announcement made before it
            // answered would carry logind's "root".
            let environment = world.directory.appendingPathComponent("callout-environment")
            let callout = try writeCallout("""
                env > \(environment.path)
                sleep 0.5
                echo nobody
                """, world)
            let daemon = try await world.startDevsyncd(
                extraArguments: ["--config", try writeConfiguration("OwnerCallout=\(callout.path)\n", world).path],
                busArgument: "system")
            defer { daemon.kill() }

            let request = try await firstApprovalRequest(afterPlugging: .palm(), world)
            let palm = try await Broker.device(uid: palmUID, world.client)
            #expect(request?.arguments.first?.objectPath == palm)
            #expect(request?.arguments.dropFirst().first?.string == "nobody")

            let variables = try String(contentsOf: environment, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(variables.contains("DEVSYNC_USB_SERIAL=PalmSN12345678"))
            #expect(variables.contains("DEVSYNC_USB_VENDOR_ID=0x0830"))
            #expect(variables.contains { $0.hasPrefix("DEVSYNC_UID=\(palmUID)") })
            #expect(!variables.contains { $0.hasPrefix("LD_PRELOAD=") || $0.hasPrefix("DBUS_SYSTEM_BUS_ADDRESS=") },
                    "the callout's environment is built from scratch")

            #expect(try await daemon.stop() == 0)
        }
    }

    @Test("A callout that outlives OwnerCalloutTimeout is killed and logged, and logind's active user is suggested")
    func calloutTimeoutHonoured() async throws {
        try await inWorld { world in
            let logind = try await startLogind(activeUser: "root", world)
            defer { logind.kill() }
            let pidFile = world.directory.appendingPathComponent("callout-pid")
            let callout = try writeCallout("""
                echo $$ > \(pidFile.path)
                sleep 30
                echo nobody
                """, world)
            let configuration = try writeConfiguration("OwnerCallout=\(callout.path)\nOwnerCalloutTimeout=0.5\n", world)
            let daemon = try await world.startDevsyncd(
                extraArguments: ["--config", configuration.path],
                busArgument: "system")
            defer { daemon.kill() }

            let request = try await firstApprovalRequest(afterPlugging: .palm(), world)
            #expect(request?.arguments.dropFirst().first?.string == "root")
            #expect(daemon.log.contains("Owner callout gave no answer: killed after running longer than"))
            // Killed, not left sleeping: the daemon reaps the callout before it gives up on it.
            let pid = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(kill(pid, 0) == -1 && errno == ESRCH, "the callout (pid \(pid)) still runs")
            #expect(daemon.process.isRunning)

            #expect(try await daemon.stop() == 0)
        }
    }

    /// dbusmock's logind with one active session on seat0 for `activeUser` (uid 0: the mock takes the name given).
    private func startLogind(activeUser: String, _ world: World) async throws -> BusMock {
        let logind = try await BusMock.start("logind", owning: "org.freedesktop.login1", on: world.bus, watching: world.client)
        let session = try await world.bus.busctl(
            "call", "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.DBus.Mock", "AddSession",
            "ssusb", "c1", "seat0", "0", activeUser, "true")
        #expect(session.status == 0, "\(session.stderr)")
        return logind
    }

    /// Plugs `fixture` in and returns the first ApprovalRequested signal that follows.
    private func firstApprovalRequest(afterPlugging fixture: USBFixture, _ world: World) async throws -> DBusMessage? {
        let requests = try await Broker.signals("ApprovalRequested", world.client)
        world.testbed.plug(fixture)
        return try await first("ApprovalRequested", of: requests)
    }

    /// An executable `/bin/sh` script in the world's directory.
    private func writeCallout(_ body: String, _ world: World) throws -> URL {
        let url = world.directory.appendingPathComponent("owner-callout")
        try "#!/bin/sh\n\(body)\n".write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    /// A devsyncd.conf whose [Daemon] section holds `lines`.
    private func writeConfiguration(_ lines: String, _ world: World) throws -> URL {
        let url = world.directory.appendingPathComponent("devsyncd.conf")
        try "[Daemon]\n\(lines)".write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("A phone paired over Bluetooth is published like a plugged-in one, and its SyncML service picks the plugin")
    func pairedPhonePublished() async throws {
        try await inWorld { world in
            let bluez = try await BusMock.start("bluez5", owning: "org.bluez", on: world.bus, watching: world.client)
            defer { bluez.kill() }
            func mock(_ arguments: String...) async throws {
                let result = try await world.bus.busctl(
                    ["call", "org.bluez", "/", "org.bluez.Mock"] + arguments)
                #expect(result.status == 0, "\(arguments): \(result.stderr)")
            }
            try await mock("AddAdapter", "ss", "hci0", "devsync-test")
            try await mock("AddDevice", "sss", "hci0", "00:16:20:AB:CD:EF", "Nokia 6021")
            let daemon = try await world.startDevsyncd(busArgument: "system")
            defer { daemon.kill() }
            #expect(try await Broker.devices(world.client).isEmpty, "an unpaired device is not a sync device")

            let added = try await Broker.signals("DeviceAdded", world.client)
            let changes = try await Broker.propertyChanges(world.client)
            let devicePath = "/org/bluez/hci0/dev_00_16_20_AB_CD_EF"
            // dbusmock 0.28's PairDevice keeps an empty Class; set it as bluetoothd knows it from the inquiry.
            let update = try await world.bus.busctl(
                "call", "org.bluez", devicePath, "org.freedesktop.DBus.Mock", "UpdateProperties", "sa{sv}",
                "org.bluez.Device1", "1", "Class", "u", "5898764")
            #expect(update.status == 0, "\(update.stderr)")
            try await mock("PairDevice", "ssi", "hci0", "00:16:20:AB:CD:EF", "5898764")
            try await first("DeviceAdded for the paired phone", of: added)

            let phone = try await Broker.device(uid: "bt-00:16:20:AB:CD:EF", world.client)
            #expect(try await Broker.property("Transport", of: phone, world.client).string == "bluetooth")
            #expect(try await Broker.property("Kind", of: phone, world.client).string == "phone")
            #expect(try await Broker.property("Status", of: phone, world.client).string == "pending")

            // The phone turns out to offer a SyncML client: the plugin follows its services.
            let uuids = ["00001105-0000-1000-8000-00805f9b34fb", "0000112f-0000-1000-8000-00805f9b34fb",
                         "00000002-0000-1000-8000-0002ee000002"]
            let syncml = try await world.bus.busctl(
                ["call", "org.bluez", devicePath, "org.freedesktop.DBus.Mock", "UpdateProperties", "sa{sv}",
                 "org.bluez.Device1", "1", "UUIDs", "as", "\(uuids.count)"] + uuids)
            #expect(syncml.status == 0, "\(syncml.stderr)")
            if try await Broker.property("Plugin", of: phone, world.client).string != "syncml-obex-client" {
                try await waiting(for: "the SyncML plugin") {
                    for await change in changes where change.path == phone {
                        if change.arguments.count > 1, change.arguments[1]["Plugin"]?.string == "syncml-obex-client" { return }
                    }
                }
            }
            #expect(try await Broker.property("Plugin", of: phone, world.client).string == "syncml-obex-client")

            // Unpairing is unplugging: a pending device is dropped.
            let removed = try await Broker.signals("DeviceRemoved", world.client)
            let unpair = try await world.bus.busctl(
                "call", "org.bluez", "/org/bluez/hci0", "org.bluez.Adapter1", "RemoveDevice", "o", devicePath)
            #expect(unpair.status == 0, "\(unpair.stderr)")
            try await first("DeviceRemoved after unpairing", of: removed)

            #expect(try await daemon.stop() == 0)
        }
    }

    /// Waits until the device's `Present` is `present`, following PropertiesChanged.
    private func waitForPresent(
        _ present: Bool, on path: DBusObjectPath, _ changes: AsyncStream<DBusMessage>, _ client: DBusConnection
    ) async throws {
        if try await Broker.property("Present", of: path, client).bool == present { return }
        try await waiting(for: "Present=\(present)") {
            for await change in changes where change.path == path {
                if change.arguments.count > 1, change.arguments[1]["Present"]?.bool == present { return }
            }
        }
    }
}
