// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Testing

// devsync-engine imports a camera's photos for real: devsyncd publishes a PTP camera (umockdev), its owner's
// devsync-engine registers, and `devsyncctl sync` runs the import through libgphoto2. The "camera" is a folder
// read through libgphoto2's Directory Browse driver (the engine's test-only CameraPort setting). An extension of
// DevsyncdTests, so that it runs serialized with the other scenarios (the testbed is process-global).

/// The PTP camera fixture's uid prefix.
let cameraUID = "usb-04a9-3218"

/// devsync-engine's files for one test: a camera folder, the user's directories and the configuration.
struct EngineHome {
    let root: URL
    var camera: URL { root.appendingPathComponent("camera") }
    var pictures: URL { root.appendingPathComponent("Pictures") }
    var configHome: URL { root.appendingPathComponent("config") }
    var stateHome: URL { root.appendingPathComponent("state") }
    /// Where the camera's pictures land: one folder per device, named after it.
    var deviceFolder: URL { pictures.appendingPathComponent("Canon, Inc. EOS 600D - Rebel T3i (ptp)") }

    init(in directory: URL, settings: String) throws {
        root = directory.appendingPathComponent("engine-home")
        let config = configHome.appendingPathComponent("devsync")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: camera.appendingPathComponent("DCIM/100CANON"), withIntermediateDirectories: true)
        try settings.replacingOccurrences(of: "@camera@", with: camera.path)
            .replacingOccurrences(of: "@pictures@", with: pictures.path)
            .write(to: config.appendingPathComponent("engine.conf"), atomically: true, encoding: .utf8)
    }

    /// Puts a picture on the camera: a JPEG's first bytes, then `name`, so that each file's bytes differ.
    func shoot(_ name: String) throws {
        let bytes = Data([0xff, 0xd8, 0xff, 0xe0]) + Data("devsync test picture \(name)\n".utf8)
        try bytes.write(to: camera.appendingPathComponent("DCIM/100CANON/\(name)"))
    }

    /// The names of the imported files.
    func imported() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: deviceFolder.path)) ?? []).sorted()
    }

    /// The environment devsync-engine runs in: its own HOME and XDG directories.
    var environment: [String: String] {
        var environment = plainEnvironment()
        environment["HOME"] = root.path
        environment["XDG_CONFIG_HOME"] = configHome.path
        environment["XDG_STATE_HOME"] = stateHome.path
        return environment
    }
}

/// The built devsync-engine on a test bus; its log goes to a file.
final class EngineProcess: LoggedProcess, @unchecked Sendable {  // immutable after init
    init(home: EngineHome, bus: TestBus, logDirectory: URL) throws {
        try super.init(
            try builtProgram("devsync-engine"), ["--bus", bus.address, "--log-level", "debug"], environment: home.environment,
            label: "devsync-engine", what: "devsync-engine", capturesStandardOutput: true, logDirectory: logDirectory)
    }
}

extension DevsyncdTests {
    /// A world with devsyncd, the camera plugged in and approved for the test's user, and devsync-engine
    /// registered: `body` gets the world, the engine's files, the plugged camera and the engine.
    private func withCamera(
        settings: String, _ body: (World, EngineHome, PluggedDevice, EngineProcess) async throws -> Void
    ) async throws {
        let world = try await World()
        let plugged = world.testbed.plug(.ptpCamera())
        let daemon = try await startDaemon(on: world.bus, client: world.client, state: world.state)
        defer { daemon.kill() }
        let camera = try await Broker.device(uid: cameraUID, world.client)
        let approve = try await world.bus.busctl(
            "call", Broker.name, "\(camera)", Broker.device, "Approve", "sa{sv}", NSUserName(), "0")
        #expect(approve.status == 0, "\(approve.stderr)")
        let home = try EngineHome(in: world.directory, settings: settings)
        let changes = try await Broker.propertyChanges(world.client)
        let engine = try EngineProcess(home: home, bus: world.bus, logDirectory: world.directory)
        defer { engine.kill() }
        try await waiting(for: "the camera's sync-photos to become available") {
            for await change in changes where change.path == camera {
                let actions = change.arguments.count > 1 ? change.arguments[1]["Actions"]?.arrayElements : nil
                if actions?.contains(where: { $0.structureFields?[0].string == "sync-photos" && $0.structureFields?[3].bool == true }) == true {
                    return
                }
            }
        }
        try await body(world, home, plugged, engine)
        #expect(try await engine.stop() == 0, "\(engine.log)")
        #expect(try await daemon.stop() == 0)
        await world.close()
    }

    private func sync(_ world: World, _ action: String = "sync-photos") async throws -> CommandResult {
        try await Command.run(try builtProgram("devsyncctl").path, ["sync", cameraUID, action, "--bus", world.bus.address])
    }

    @Test("devsync-engine imports a camera's photos through devsyncctl sync, each once, with a line per file")
    func photoImport() async throws {
        let settings = "[Photos]\nImportDirectory=@pictures@\n[Testing]\nCameraPort=disk:@camera@\n"
        try await withCamera(settings: settings) { world, home, _, engine in
            try home.shoot("IMG_0001.JPG")
            try home.shoot("IMG_0002.JPG")
            let first = try await sync(world)
            #expect(first.status == 0, "\(first.stdout)\(first.stderr)\n\(engine.log)")
            #expect(first.stdout.contains("\(cameraUID)"), "\(first.stdout)")
            #expect(first.stdout.contains(": Importing IMG_0001.JPG (1 of 2)\n"), "\(first.stdout)")
            #expect(first.stdout.contains(": Importing IMG_0002.JPG (2 of 2)\n"), "\(first.stdout)")
            #expect(first.stdout.contains(": Imported 2 new photos from Canon, Inc. EOS 600D / Rebel T3i (ptp) into \(home.deviceFolder.path).\n"), "\(first.stdout)")
            #expect(first.stdout.hasSuffix("sync-photos succeeded\n"), "\(first.stdout)")
            #expect(home.imported() == ["IMG_0001.JPG", "IMG_0002.JPG"])
            for name in ["IMG_0001.JPG", "IMG_0002.JPG"] {
                let original = try Data(contentsOf: home.camera.appendingPathComponent("DCIM/100CANON/\(name)"))
                #expect(try Data(contentsOf: home.deviceFolder.appendingPathComponent(name)) == original, "\(name)")
            }
            // The job keeps the summary for a client that reads it later.
            let job = try DBusObjectPath("/org/devsync/Broker1/jobs/1")
            let message = try await world.client.call(
                destination: Broker.name, path: job, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string("org.devsync.Broker1.Job"), .string("Message")])
            #expect(message.first?.unwrapped.string?.hasPrefix("Imported 2 new photos") == true, "\(message)")

            // Again: nothing new, nothing copied twice.
            let second = try await sync(world)
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            #expect(second.stdout.contains(": No new photos or videos on Canon, Inc. EOS 600D / Rebel T3i (ptp); 2 imported before.\n"), "\(second.stdout)")
            #expect(home.imported() == ["IMG_0001.JPG", "IMG_0002.JPG"])

            // A new picture, and one the user deleted after the import: only the new one is copied.
            try home.shoot("IMG_0003.JPG")
            try FileManager.default.removeItem(at: home.deviceFolder.appendingPathComponent("IMG_0001.JPG"))
            let third = try await sync(world, "sync-all")
            #expect(third.status == 0, "\(third.stdout)\(third.stderr)")
            #expect(third.stdout.contains(": Importing IMG_0003.JPG (1 of 1)\n"), "\(third.stdout)")
            #expect(third.stdout.contains(": Imported 1 new photo from Canon, Inc. EOS 600D / Rebel T3i (ptp)"), "\(third.stdout)")
            #expect(home.imported() == ["IMG_0002.JPG", "IMG_0003.JPG"])
        }
    }

    @Test("Interrupting devsyncctl sync cancels an import half-way; the next sync imports the rest")
    func photoImportCancelled() async throws {
        let settings = "[Photos]\nImportDirectory=@pictures@\n[Testing]\nCameraPort=disk:@camera@\nPauseAfterEachFile=1\n"
        try await withCamera(settings: settings) { world, home, _, engine in
            for number in 1...4 { try home.shoot("IMG_000\(number).JPG") }
            let sync = try LoggedProcess(
                try builtProgram("devsyncctl"), ["sync", cameraUID, "sync-photos", "--bus", world.bus.address],
                environment: plainEnvironment(), label: "sync", what: "devsyncctl sync", capturesStandardOutput: true,
                logDirectory: world.directory)
            try await sync.waitForLog("Importing IMG_0002.JPG (2 of 4)")
            sync.send(SIGINT)
            #expect(try await sync.exited() == 6, "\(sync.log)")
            #expect(sync.log.contains("was cancelled"), "\(sync.log)")
            try await engine.waitForLog("Job stopped after its cancellation")
            let kept = home.imported()
            // The file being copied when the cancel came is finished or dropped, never left half-written.
            #expect(kept == ["IMG_0001.JPG"] || kept == ["IMG_0001.JPG", "IMG_0002.JPG"], "\(kept)")
            #expect(!kept.contains("IMG_0004.JPG"))

            let rest = try await Command.run(
                try builtProgram("devsyncctl").path, ["sync", cameraUID, "sync-photos", "--bus", world.bus.address])
            #expect(rest.status == 0, "\(rest.stdout)\(rest.stderr)")
            #expect(rest.stdout.contains("Imported \(4 - kept.count) new photos"), "\(rest.stdout)")
            #expect(home.imported() == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "IMG_0004.JPG"])
        }
    }

    @Test("A camera folder that does not exist fails the sync with a sentence")
    func photoImportMissingFolder() async throws {
        let settings = "[Photos]\nImportDirectory=@pictures@\n[Testing]\nCameraPort=disk:@camera@/gone\n"
        try await withCamera(settings: settings) { world, home, _, _ in
            let sync = try await sync(world)
            #expect(sync.status == 5, "\(sync.stdout)\(sync.stderr)")
            #expect(sync.stderr.contains(
                "sync-photos failed: The camera folder \(home.camera.path)/gone does not exist, so nothing could be imported from Canon, Inc. EOS 600D / Rebel T3i (ptp)."),
                "\(sync.stderr)")
            #expect(home.imported().isEmpty)
        }
    }

    @Test("An approved camera's sync-photos runs by itself when the engine's Automatic Actions name it")
    func photoImportAutomatic() async throws {
        let settings = "[Photos]\nImportDirectory=@pictures@\n[Automatic]\nActions=sync-photos\n[Testing]\nCameraPort=disk:@camera@\n"
        try await withCamera(settings: settings) { world, home, plugged, engine in
            try home.shoot("IMG_0001.JPG")
            // Unplugged and plugged in again: the arrival of an approved camera starts the import.
            let finished = try await world.client.signals(matching: DBusMatchRule(interface: "org.devsync.Broker1.Job", member: "Finished"))
            world.testbed.unplug(plugged)
            // Into another port: umockdev cannot re-create a removed device's bus link.
            world.testbed.plug(.ptpCamera(port: "1-7"))
            let message = try await first("the automatic job to finish", of: finished)
            #expect(message?.arguments.first?.string == "succeeded", "\(message.map { "\($0)" } ?? "")\n\(engine.log)")
            #expect(engine.log.contains("Started an automatic sync"), "\(engine.log)")
            #expect(home.imported() == ["IMG_0001.JPG"])
        }
    }
}
