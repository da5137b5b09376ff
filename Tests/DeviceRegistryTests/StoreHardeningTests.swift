// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Foundation
import Testing

@testable import DeviceRegistry

/// What a hostile device or a tampered state directory could do to the store, and why it cannot (issue 13).
@Suite("Store: names no device can reach, and files that cannot block or lie")
struct StoreHardeningTests {
    static let palmPrefix = "usb-0830-0061-"

    static func quarantined(_ harness: RegistryHarness) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: harness.directory.path + "/quarantine").sorted()) ?? []
    }

    @Test("a rejected device whose serial ends in .corrupt-7 is still rejected after a restart")
    func corruptLikeSerialKeepsItsDecision() async throws {
        let first = try RegistryHarness()
        let evil = Fixture.palm(serial: "EVIL.corrupt-7")
        let uid = Self.palmPrefix + "EVIL.corrupt-7"
        await first.registry.handle(.arrived(evil))
        try await first.registry.reject(uid: uid)

        let second = try first.restarted()
        #expect(await second.registry.device(uid: uid)?.status == .rejected, "the stored rejection is loaded")
        await second.registry.handle(.arrived(evil))
        #expect(await second.registry.device(uid: uid)?.status == .rejected)
        #expect(Self.quarantined(second).isEmpty)
    }

    @Test("a device whose serial names a quarantined copy cannot overwrite it")
    func quarantineOutOfReach() async throws {
        let first = try RegistryHarness()
        let victimUID = Self.palmPrefix + "VICTIM"
        await first.registry.handle(.arrived(Fixture.palm(serial: "VICTIM")))
        try await first.registry.approve(uid: victimUID, owner: "alice")
        let victimPath = "\(first.devicesDirectory)/\(victimUID)"
        let damaged = Array(try Data(contentsOf: URL(fileURLWithPath: victimPath)).prefix(40))
        try Data(damaged).write(to: URL(fileURLWithPath: victimPath))

        let second = try first.restarted()
        #expect(await second.registry.device(uid: victimUID) == nil)
        #expect(Self.quarantined(second) == ["\(victimUID).corrupt-1"])
        let attacker = Fixture.palm(serial: "VICTIM.corrupt-1", port: "1-4")
        await second.registry.handle(.arrived(attacker))
        try await second.registry.approve(uid: victimUID + ".corrupt-1", owner: "alice")

        let copy = "\(second.directory.path)/quarantine/\(victimUID).corrupt-1"
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: copy))) == damaged, "the set-aside copy is intact")
        #expect(try FileManager.default.contentsOfDirectory(atPath: second.devicesDirectory) == [victimUID + ".corrupt-1"])
    }

    @Test("files an earlier devsync set aside in devices/ move to quarantine/ under their name; a record of such a uid loads")
    func legacyQuarantineMigrated() throws {
        let directory = TemporaryDirectory()
        let log = LogCapture()
        let store = try DeviceStore(directory: directory.path, logger: log.logger)
        let legacy = store.devicesDirectory + "/usb-0830-0061-OLD.corrupt-1"
        try "[device]\nuid=usb-0830-0061-OLD\n".write(toFile: legacy, atomically: false, encoding: .utf8)
        let real = StoreTests.sample(uid: "usb-0830-0061-NEW.corrupt-2")
        try store.save(real)

        #expect(try store.loadAll() == [real])
        #expect(!FileManager.default.fileExists(atPath: legacy))
        #expect(
            try String(contentsOfFile: store.quarantineDirectory + "/usb-0830-0061-OLD.corrupt-1", encoding: .utf8)
                == "[device]\nuid=usb-0830-0061-OLD\n")
        #expect(log.lines.contains { $0.level == .notice && $0.metadata["moved-to"]?.hasSuffix("OLD.corrupt-1") == true })
    }

    @Test("records the registry would refuse to decide are moved aside, not loaded")
    func loaderAppliesApproveValidation() throws {
        let directory = TemporaryDirectory()
        let log = LogCapture()
        let store = try DeviceStore(directory: directory.path, logger: log.logger)
        let good = StoreTests.sample()
        try store.save(good)
        var cases: [(uid: String, device: StoredDevice)] = []
        func add(_ name: String, _ change: (inout StoredDevice) -> Void) {
            var device = StoreTests.sample(uid: Self.palmPrefix + name)
            change(&device)
            cases.append((device.uid, device))
        }
        add("NEWLINE") { $0.owner = "alice\nroot" }
        add("HUGE") { $0.owner = String(repeating: "a", count: 60_000) }
        add("EMPTY") { $0.owner = nil }
        add("SPACE") { $0.owner = "alice " }
        add("BIDI") { $0.owner = "ali\u{202E}ce" }
        add("REJECTED") { $0.status = .rejected }  // keeps owner alice
        add("PENDING") { $0.status = .pending; $0.owner = nil }
        add("VENDOR") { $0.vendor = "Palm\n\u{1B}[2J" }
        add("MODEL") { $0.model = String(repeating: "m", count: 600) }
        add("TYPES") { $0.datatypes = Array(repeating: "x", count: 300) }
        for (uid, device) in cases {
            #expect(device.problem != nil, "\(uid)")
            // Written as an older or tampered devsync might have: the key file of the record, as is.
            try DeviceKeyFile.encode(device).write(toFile: store.path(of: uid), atomically: false, encoding: .utf8)
        }

        #expect(try store.loadAll() == [good])
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.devicesDirectory) == [good.uid])
        let moved = try FileManager.default.contentsOfDirectory(atPath: store.quarantineDirectory).sorted()
        #expect(moved == cases.map { "\($0.uid).corrupt-1" }.sorted())
        let warning = try #require(log.lines.first { $0.metadata["path"]?.hasSuffix("HUGE") == true })
        #expect(warning.level == .warning)
        #expect(warning.metadata["reason"]?.contains("longer than") == true)
    }

    @Test("the store refuses to write what it would not load")
    func storeRefusesInvalidRecords() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        var device = StoreTests.sample()
        device.owner = "a\nb"
        #expect {
            try store.save(device)
        } throws: { error in
            (error as? StoreError)?.code == .malformed
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.devicesDirectory).isEmpty)
    }

    @Test("approve refuses the owners the loader refuses")
    func approveRefusesInvalidOwners() async throws {
        let harness = try RegistryHarness()
        await harness.registry.handle(.arrived(Fixture.palm()))
        let uid = Self.palmPrefix + "PALM0001"
        for owner in ["", "a\nb", String(repeating: "a", count: 60_000), "alice ", "ali\u{202E}ce", "a:b", "-rf", ".."] {
            await #expect(throws: RegistryError.self, "\(owner.prefix(20))") {
                try await harness.registry.approve(uid: uid, owner: owner)
            }
            #expect(OwnerName.problem(owner) != nil)
        }
        #expect(await harness.registry.device(uid: uid)?.status == .pending)
        for owner in ["alice", "DOMAIN\\bob", "carol@example.org", "x.y_z-1"] {
            #expect(OwnerName.problem(owner) == nil, "\(owner)")
        }
        try await harness.registry.approve(uid: uid, owner: String(repeating: "a", count: OwnerName.maximumBytes))
    }

    @Test("a FIFO at state/version is refused at once with an error naming it, never waited on")
    func fifoVersionRefused() throws {
        let directory = TemporaryDirectory()
        let version = directory.path + "/version"
        #expect(mkfifo(version, 0o644) == 0)
        // Before the fix the store's open() waited for a writer forever. This writer lets such an open go on (and
        // read nothing), so that a regression fails instead of hanging; it is released below if nobody opened.
        let writerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let fd = open(version, O_WRONLY | O_CLOEXEC)
            if fd >= 0 { close(fd) }
            writerDone.signal()
        }
        var caught: StoreError?
        do {
            _ = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        } catch {
            caught = error
        }
        let release = open(version, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        writerDone.wait()
        if release >= 0 { close(release) }
        let error = try #require(caught)
        #expect(error.path == version)
        #expect(error.description.contains("is a FIFO, not a regular file"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/devices"))
    }

    @Test("a symbolic link at state/version is refused, not followed")
    func symlinkVersionRefused() throws {
        let directory = TemporaryDirectory()
        try "1\n".write(toFile: directory.path + "/elsewhere", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: directory.path + "/version", withDestinationPath: directory.path + "/elsewhere")
        #expect {
            try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        } throws: { error in
            "\(error)".contains("version: is a symbolic link")
        }
    }

    @Test("a FIFO, a symbolic link or a directory named as a device is moved aside, never opened as a record")
    func specialDeviceFilesQuarantined() throws {
        let directory = TemporaryDirectory()
        let log = LogCapture()
        let store = try DeviceStore(directory: directory.path, logger: log.logger)
        let good = StoreTests.sample()
        try store.save(good)
        #expect(mkfifo(store.path(of: Self.palmPrefix + "FIFO"), 0o644) == 0)
        try FileManager.default.createSymbolicLink(
            atPath: store.path(of: Self.palmPrefix + "LINK"), withDestinationPath: store.path(of: good.uid))
        try FileManager.default.createDirectory(atPath: store.path(of: Self.palmPrefix + "DIR"), withIntermediateDirectories: false)

        #expect(try store.loadAll() == [good])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: store.quarantineDirectory).sorted()
                == ["DIR", "FIFO", "LINK"].map { Self.palmPrefix + $0 + ".corrupt-1" })
        let reasons = log.lines.compactMap { $0.metadata["reason"] }.sorted()
        #expect(reasons.contains { $0.contains("is a FIFO, not a regular file") }, "\(reasons)")
        #expect(reasons.contains { $0.contains("is a symbolic link") }, "\(reasons)")
    }

    @Test("a leftover at a temporary name, even a FIFO, does not block a write")
    func fifoAtTemporaryName() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        let device = StoreTests.sample()
        let fifo = "\(store.devicesDirectory)/.\(device.uid).tmp"
        #expect(mkfifo(fifo, 0o644) == 0)
        // A reader, so that a regression that opens the FIFO for writing fails (fsync of a FIFO) rather than hangs.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        defer { if reader >= 0 { close(reader) } }
        try store.save(device)
        #expect(try store.loadAll() == [device])
    }

    @Test("a plain file such as README in devices/ is left alone with a warning; so is a dot file not ours")
    func readmeLeftAlone() throws {
        let directory = TemporaryDirectory()
        let log = LogCapture()
        let store = try DeviceStore(directory: directory.path, logger: log.logger)
        for name in ["README", ".notes.tmp", "usb-notes"] {
            try "notes\n".write(toFile: store.devicesDirectory + "/" + name, atomically: false, encoding: .utf8)
        }
        #expect(try store.loadAll().isEmpty)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: store.devicesDirectory).sorted()
                == [".notes.tmp", "README", "usb-notes"])
        #expect(!FileManager.default.fileExists(atPath: store.quarantineDirectory))
        let warnings = log.lines.filter { $0.message == "Ignoring a file that is not a device record" }
        #expect(warnings.count == 3)
        #expect(warnings.allSatisfy { $0.level == .warning })
    }

    @Test("only names of the shapes devsync makes are uids")
    func uidShapes() {
        for uid in ["usb-0830-0061-PALM0001", "usb-04a9-3170~924b0bd133f39dd1", "usb-04a9-3170~924b0bd133f39dd1-2",
                    "bt-00:11:22:33:44:55", "bt~0123456789abcdef", "usb-0830-0061-EVIL.corrupt-7"] {
            #expect(DeviceIdentity.isValid(uid), "\(uid)")
        }
        for name in ["README", "usb-notes", "usb-0830-0061", "usb-0830-0061-", "usb-08300061-X", "usb-0830-006G-X",
                     "usb-0830-0061+X", "bt", "bt-", "btX", ".usb-0830-0061-X.tmp", "usb-0830-0061-A/B"] {
            #expect(!DeviceIdentity.isValid(name), "\(name)")
        }
    }
}
