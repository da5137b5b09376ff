// SPDX-License-Identifier: Apache-2.0
import DBus
import Foundation
import Logging
import PhotoImport
import Synchronization
import SyncEngine
import Testing

/// A camera folder read through libgphoto2's Directory Browse driver, and where its pictures are imported.
struct CameraFolder {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("engine-photos-\(UUID().uuidString)")
    var camera: URL { root.appendingPathComponent("camera") }
    var pictures: URL { root.appendingPathComponent("Pictures") }
    var ledgers: URL { root.appendingPathComponent("state/imported") }

    init() throws {
        try FileManager.default.createDirectory(at: camera.appendingPathComponent("DCIM/100CANON"), withIntermediateDirectories: true)
    }

    func shoot(_ name: String, folder: String = "DCIM/100CANON", bytes: Data? = nil) throws {
        let directory = camera.appendingPathComponent(folder)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try (bytes ?? Data([0xff, 0xd8, 0xff, 0xe0]) + Data("picture \(name)".utf8)).write(to: directory.appendingPathComponent(name))
    }

    func imported(_ device: String = "Canon PowerShot") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: pictures.appendingPathComponent(device).path)) ?? []).sorted()
    }

    func work(port: String? = nil, pause: Duration = .zero) -> PhotoImportWork {
        PhotoImportWork(
            importDirectory: pictures.path, ledgerDirectory: ledgers.path, cameraPort: port ?? "disk:\(camera.path)",
            pauseAfterEachFile: pause, logger: Logger(label: "test"))
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// Progress reports, kept in order.
final class ProgressLog: Sendable {
    private let entries = Mutex<[(Double, String)]>([])
    var progress: JobProgress { JobProgress { fraction, message in self.entries.withLock { $0.append((fraction, message)) } } }
    var messages: [String] { entries.withLock { $0.map(\.1) } }
    var fractions: [Double] { entries.withLock { $0.map(\.0) } }
}

func cameraRequest(uid: String = "usb-04a9-3218~0123456789abcdef", model: String = "PowerShot") -> SyncRequest {
    SyncRequest(
        job: try! DBusObjectPath("/org/devsync/Broker1/jobs/7"), uid: uid, datatypes: ["photos"],
        device: ["sync.vendor": .string("Canon"), "sync.model": .string(model), "usb.bus_number": .int32(3),
                 "usb.linux.device_number": .int32(12)])
}

@Suite("Photo import through libgphoto2 (Directory Browse)")
struct PhotoImportTests {
    @Test("New pictures and videos are copied once into the device's folder; thumbnails are left; folders are walked")
    func importsOnce() async throws {
        let folder = try CameraFolder()
        defer { folder.remove() }
        try folder.shoot("IMG_0001.JPG")
        try folder.shoot("MVI_0002.MOV", bytes: Data("not really a film".utf8))
        try folder.shoot("IMG_0003.JPG", folder: "DCIM/101CANON")
        try folder.shoot("MVI_0002.THM")
        let log = ProgressLog()
        let summary = try await folder.work().run(cameraRequest(), progress: log.progress)
        #expect(summary == "Imported 2 new photos and 1 new video from Canon PowerShot into \(folder.pictures.path)/Canon PowerShot.")
        #expect(folder.imported() == ["IMG_0001.JPG", "IMG_0003.JPG", "MVI_0002.MOV"])
        #expect(try Data(contentsOf: folder.pictures.appendingPathComponent("Canon PowerShot/MVI_0002.MOV")) == Data("not really a film".utf8))
        #expect(log.messages.first == "Looking for new photos on Canon PowerShot")
        #expect(log.messages.filter { $0.hasPrefix("Importing ") }.count == 3)
        #expect(log.messages.contains("Importing IMG_0003.JPG (3 of 3)"), "\(log.messages)")
        #expect(log.fractions == log.fractions.sorted(), "progress only grows")

        let again = ProgressLog()
        let second = try await folder.work().run(cameraRequest(), progress: again.progress)
        #expect(second == "No new photos or videos on Canon PowerShot; 3 imported before.")
        #expect(folder.imported() == ["IMG_0001.JPG", "IMG_0003.JPG", "MVI_0002.MOV"])
    }

    @Test("A name taken in the device's folder gets -2, never overwritten; a second device of the same name gets a folder of its own")
    func neverOverwrites() async throws {
        let folder = try CameraFolder()
        defer { folder.remove() }
        try folder.shoot("IMG_0001.JPG")
        try FileManager.default.createDirectory(at: folder.pictures.appendingPathComponent("Canon PowerShot"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: folder.pictures.appendingPathComponent("Canon PowerShot/IMG_0001.JPG"))
        _ = try await folder.work().run(cameraRequest(), progress: ProgressLog().progress)
        #expect(folder.imported() == ["IMG_0001-2.JPG", "IMG_0001.JPG"])
        #expect(try Data(contentsOf: folder.pictures.appendingPathComponent("Canon PowerShot/IMG_0001.JPG")) == Data("mine".utf8))

        let summary = try await folder.work().run(cameraRequest(uid: "usb-04a9-3218-OTHER"), progress: ProgressLog().progress)
        #expect(summary.hasSuffix("into \(folder.pictures.path)/Canon PowerShot (2)."), "\(summary)")
        #expect(folder.imported("Canon PowerShot (2)") == ["IMG_0001.JPG"])
    }

    @Test("Cancelling stops between files and keeps what was imported; the next run imports the rest")
    func cancel() async throws {
        let folder = try CameraFolder()
        defer { folder.remove() }
        for number in 1...5 { try folder.shoot("IMG_000\(number).JPG") }
        let log = ProgressLog()
        let work = folder.work(pause: .milliseconds(300))
        let task = Task { try await work.run(cameraRequest(), progress: log.progress) }
        while !log.messages.contains("Importing IMG_0002.JPG (2 of 5)") { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        let kept = folder.imported()
        #expect(kept == ["IMG_0001.JPG"] || kept == ["IMG_0001.JPG", "IMG_0002.JPG"], "\(kept)")
        // No temporary file is left behind.
        let hidden = try FileManager.default.contentsOfDirectory(atPath: folder.pictures.appendingPathComponent("Canon PowerShot").path)
        #expect(hidden.allSatisfy { !$0.hasPrefix(".") }, "\(hidden)")
        let rest = try await folder.work().run(cameraRequest(), progress: ProgressLog().progress)
        #expect(rest.hasPrefix("Imported \(5 - kept.count) new photos"), "\(rest)")
        #expect(folder.imported().count == 5)
    }

    @Test("A missing camera folder, an empty camera and a device without a USB address each get a sentence")
    func failures() async throws {
        let folder = try CameraFolder()
        defer { folder.remove() }
        await #expect(throws: SyncFailure("The camera folder \(folder.root.path)/gone does not exist, so nothing could be imported from Canon PowerShot.")) {
            try await folder.work(port: "disk:\(folder.root.path)/gone").run(cameraRequest(), progress: ProgressLog().progress)
        }
        let empty = try await folder.work().run(cameraRequest(), progress: ProgressLog().progress)
        #expect(empty == "No photos or videos on Canon PowerShot.")

        let unaddressed = PhotoImportWork(importDirectory: folder.pictures.path, ledgerDirectory: folder.ledgers.path, logger: Logger(label: "test"))
        var request = cameraRequest()
        request.device["usb.bus_number"] = nil
        await #expect(throws: SyncFailure(
            "Canon PowerShot gives no USB bus and device number to reach its camera through; plug it in again (photos are imported from USB devices only).")) {
            try await unaddressed.run(request, progress: ProgressLog().progress)
        }
    }

    @Test("A USB camera that is not there: libgphoto2's own failure, in a sentence")
    func absentUSBCamera() async throws {
        let folder = try CameraFolder()
        defer { folder.remove() }
        let work = PhotoImportWork(importDirectory: folder.pictures.path, ledgerDirectory: folder.ledgers.path, logger: Logger(label: "test"))
        do {
            _ = try await work.run(cameraRequest(), progress: ProgressLog().progress)
            Issue.record("an import from usb:003,012, where no camera is, succeeded")
        } catch let failure as SyncFailure {
            #expect(failure.sentence.hasPrefix("Cannot open the camera of Canon PowerShot ("), "\(failure.sentence)")
            #expect(failure.sentence.hasSuffix("unlock it, and close any other program using it (a file manager may hold it)."))
        }
    }
}
