// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DeviceRegistry

@Suite("Store: the state directory")
struct StoreTests {
    static func sample(uid: String = "usb-0830-0061-PALM0001") -> StoredDevice {
        StoredDevice(
            uid: uid, status: .approved, owner: "alice", vendor: "Palm", model: "Tungsten T3", kind: "pda",
            transport: .usb, plugin: "palm-sync", datatypes: ["contacts", "calendar"], firstSeen: 1_700_000_000,
            lastSeen: 1_700_003_600, stableId: true)
    }

    @Test("a new state directory gets a version file and a devices directory")
    func layout() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path + "/state", logger: LogCapture().logger)
        #expect(try String(contentsOfFile: directory.path + "/state/version", encoding: .utf8) == "1\n")
        #expect(try store.loadAll().isEmpty)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: store.devicesDirectory, isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
    }

    @Test("a state directory of a newer format is refused and left untouched")
    func newerVersionRefused() throws {
        let directory = TemporaryDirectory()
        try "2\n".write(toFile: directory.path + "/version", atomically: false, encoding: .utf8)
        #expect {
            try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        } throws: { error in
            (error as? StoreError)?.code == .unsupportedVersion
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/devices"))
    }

    @Test("several records saved at once are each read back equal; an invalid uid is reported, the others stored")
    func batchSave() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        let devices = ["usb-0830-0061-A", "usb-0830-0061-B", "../escape", "usb-0830-0061-C"].map { Self.sample(uid: $0) }
        let failures = store.save(contentsOf: devices)
        #expect(failures.map(\.uid) == ["../escape"])
        #expect(failures.first?.error.code == .invalidUID)
        #expect(try store.loadAll() == devices.filter { $0.uid != "../escape" })
        let names = try FileManager.default.contentsOfDirectory(atPath: store.devicesDirectory)
        #expect(!names.contains { DeviceStore.isTemporary($0) }, "no temporary file is left: \(names)")
    }

    @Test("a record is written as a readable key file, and read back equal")
    func roundTrip() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        let device = Self.sample()
        try store.save(device)
        let text = try String(contentsOfFile: store.path(of: device.uid), encoding: .utf8)
        #expect(
            text == """
                # devsync device record; see docs/state.md
                [device]
                uid=usb-0830-0061-PALM0001
                status=approved
                owner=alice
                vendor=Palm
                model=Tungsten T3
                kind=pda
                transport=usb
                plugin=palm-sync
                datatypes=contacts;calendar;
                stable-id=true
                first-seen=1700000000
                last-seen=1700003600

                """)
        #expect(try store.loadAll() == [device])
    }

    @Test("newlines, backslashes, leading spaces, semicolons and combining marks survive the round trip")
    func escaping() throws {
        var device = Self.sample()
        device.vendor = " Palm\\\nInc.\r\n\tx"
        device.model = "\u{301}Zire=72"
        device.owner = nil
        device.datatypes = ["a;b", "c\\d", " e", ""]
        device.kind = ""
        let encoded = DeviceKeyFile.encode(device)
        #expect(encoded.contains("vendor=\\sPalm\\\\\\nInc.\\r\\n\\tx\n"))
        #expect(encoded.contains("datatypes=a\\;b;c\\\\d;\\se;;\n"))
        #expect(try DeviceKeyFile.decode(Array(encoded.utf8)).get() == device)
    }

    @Test("a record replaced many times leaves no temporary file")
    func replaceLeavesNoTemporary() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        var device = Self.sample()
        for second in 0..<5 {
            device.lastSeen = Int64(second)
            try store.save(device)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.devicesDirectory) == [device.uid])
        #expect(try store.loadAll() == [device])
    }

    @Test("removing a record deletes its file; removing a missing one is fine")
    func remove() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        try store.save(Self.sample())
        try store.remove(uid: Self.sample().uid)
        try store.remove(uid: Self.sample().uid)
        #expect(try store.loadAll().isEmpty)
    }

    @Test("a uid that is not a safe file name is refused")
    func unsafeUIDRefused() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        #expect {
            try store.save(Self.sample(uid: "../../etc/passwd"))
        } throws: { error in
            (error as? StoreError)?.code == .invalidUID
        }
    }

    @Test("temporary files left by a crash are removed at load, and the record keeps its old version")
    func interruptedWriteCleaned() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        let device = Self.sample()
        try store.save(device)
        let temporary = "\(store.devicesDirectory)/.\(device.uid).tmp"
        try "[device]\nuid=usb-0830-0061-PAL".write(toFile: temporary, atomically: false, encoding: .utf8)

        #expect(try store.loadAll() == [device])
        #expect(!FileManager.default.fileExists(atPath: temporary))
    }

    @Test("a damaged record is moved aside with a warning, and the others still load")
    func corruptQuarantined() throws {
        let directory = TemporaryDirectory()
        let log = LogCapture()
        let store = try DeviceStore(directory: directory.path, logger: log.logger)
        let good = Self.sample()
        try store.save(good)
        let badPath = store.path(of: "usb-0830-0061-BROKEN")
        try Data([0x5B, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: badPath))

        #expect(try store.loadAll() == [good])
        #expect(!FileManager.default.fileExists(atPath: badPath))
        let setAside = store.quarantineDirectory + "/usb-0830-0061-BROKEN"
        #expect(FileManager.default.fileExists(atPath: setAside + ".corrupt-1"))
        let warning = try #require(log.lines.first { $0.message == "Moved a damaged device record aside" })
        #expect(warning.level == .warning)
        #expect(warning.metadata["reason"] == "not valid UTF-8")

        // A second damaged copy does not overwrite the first one set aside.
        try "garbage\n".write(toFile: badPath, atomically: false, encoding: .utf8)
        #expect(try store.loadAll() == [good])
        #expect(FileManager.default.fileExists(atPath: setAside + ".corrupt-1"))
        #expect(FileManager.default.fileExists(atPath: setAside + ".corrupt-2"))
    }

    @Test("a record whose uid differs from its file name is damaged")
    func uidMismatch() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        let text = DeviceKeyFile.encode(Self.sample(uid: "usb-0830-0061-OTHER"))
        try text.write(toFile: store.path(of: "usb-0830-0061-PALM0001"), atomically: false, encoding: .utf8)
        #expect(try store.loadAll().isEmpty)
        #expect(FileManager.default.fileExists(atPath: store.quarantineDirectory + "/usb-0830-0061-PALM0001.corrupt-1"))
    }

    @Test("a record cut short at any byte is recognised as damaged, never loaded with gaps")
    func truncationDetected() throws {
        let directory = TemporaryDirectory()
        let store = try DeviceStore(directory: directory.path, logger: LogCapture().logger)
        let intact = Self.sample(uid: "bt-00:11:22:33:44:55")
        try store.save(intact)
        let victim = Self.sample()
        let full = Array(DeviceKeyFile.encode(victim).utf8)
        let path = store.path(of: victim.uid)
        for length in 0..<full.count {
            try Data(full[0..<length]).write(to: URL(fileURLWithPath: path))
            #expect(try store.loadAll() == [intact], "cut at \(length) of \(full.count) bytes")
            let setAside = store.quarantineDirectory + "/" + victim.uid + ".corrupt-1"
            #expect(FileManager.default.fileExists(atPath: setAside))
            try FileManager.default.removeItem(atPath: setAside)
        }
        try Data(full).write(to: URL(fileURLWithPath: path))
        #expect(try store.loadAll() == [intact, victim].sorted { $0.uid < $1.uid })
    }

    @Test("files that are not device records are left alone")
    func foreignFilesIgnored() throws {
        let directory = TemporaryDirectory()
        let log = LogCapture()
        let store = try DeviceStore(directory: directory.path, logger: log.logger)
        try "notes\n".write(toFile: store.devicesDirectory + "/README copy", atomically: false, encoding: .utf8)
        #expect(try store.loadAll().isEmpty)
        #expect(FileManager.default.fileExists(atPath: store.devicesDirectory + "/README copy"))
    }
}
