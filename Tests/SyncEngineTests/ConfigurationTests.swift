// SPDX-License-Identifier: Apache-2.0
import Foundation
import SyncEngine
import Testing

@Suite("devsync-engine's configuration and the user's directories")
struct ConfigurationTests {
    let directories = UserDirectories(home: "/home/alice", configHome: "/home/alice/.config", stateHome: "/home/alice/.local/state")

    @Test("Without a file, nothing runs by itself and photos go to the pictures directory")
    func defaults() throws {
        let configuration = try EngineConfiguration.load("/nonexistent/engine.conf", directories: directories)
        #expect(configuration == EngineConfiguration())
        #expect(configuration.automaticActions.isEmpty)
        #expect(configuration.importDirectory == nil)
    }

    @Test("Every key is read; ~ is the home directory; actions are separated by ; , or spaces")
    func keys() throws {
        let text = """
            # comment
            [Photos]
            ImportDirectory = ~/Pictures/Imports

            [Automatic]
            Actions=sync-photos; sync-all
            [Testing]
            CameraPort=disk:/tmp/camera
            PauseAfterEachFile=0.25
            SyncMLPeer=local://@phone
            SyncMLStore=~/sync
            """
        let configuration = try EngineConfiguration.parse(text, file: "engine.conf", directories: directories)
        #expect(configuration.importDirectory == "/home/alice/Pictures/Imports")
        #expect(configuration.automaticActions == ["sync-photos", "sync-all"])
        #expect(configuration.testCameraPort == "disk:/tmp/camera")
        #expect(configuration.testPauseAfterEachFile == .milliseconds(250))
        #expect(configuration.testSyncMLContext == "phone")
        #expect(configuration.testSyncMLStore == "/home/alice/sync")
    }

    @Test(
        "A mistake is named with file, line and what is allowed",
        arguments: [
            ("[Photo]\n", 1, "unknown section [Photo]; the sections are [Automatic], [Photos], [Testing]"),
            ("[Photos]\nImportDir=/x\n", 2, "unknown key ImportDir in [Photos]; it takes ImportDirectory"),
            ("ImportDirectory=/x\n", 1, "ImportDirectory must be inside a section, such as [Photos]"),
            ("[Photos]\nImportDirectory=Pictures\n", 2, "ImportDirectory must be an absolute path or start with ~/, not \"Pictures\""),
            ("[Automatic]\nActions=photos\n", 2, "\"photos\" is not an action; actions are named like sync-photos or sync-all"),
            ("[Testing]\nPauseAfterEachFile=soon\n", 2, "PauseAfterEachFile is a number of seconds from 0 to 60, not \"soon\""),
            ("[Testing]\nSyncMLPeer=obex-bt://00:11:22:33:44:55\n", 2,
             "SyncMLPeer is a SyncEvolution context such as local://@phone (letters, digits, - and _), not \"obex-bt://00:11:22:33:44:55\""),
            ("[Testing]\nSyncMLPeer=local://@ph one\n", 2,
             "SyncMLPeer is a SyncEvolution context such as local://@phone (letters, digits, - and _), not \"local://@ph one\""),
            ("[Testing]\nSyncMLStore=sync\n", 2, "SyncMLStore must be an absolute path or start with ~/, not \"sync\""),
            ("[Photos]\nImportDirectory=/a\nImportDirectory=/b\n", 3, "ImportDirectory is set twice in [Photos]"),
            ("[Photos\n", 1, "a section header ends with ']'"),
            ("[Photos]\njust words\n", 2, "expected KEY=VALUE, a [Section] or a # comment"),
        ])
    func mistakes(text: String, line: Int, message: String) {
        #expect(throws: ConfigurationError(file: "engine.conf", line: line, message: message)) {
            try EngineConfiguration.parse(text, file: "engine.conf", directories: directories)
        }
    }

    @Test("The pictures directory comes from user-dirs.dirs, else ~/Pictures")
    func picturesDirectory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("engine-dirs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let directories = UserDirectories(home: "/home/bob", configHome: root.path, stateHome: "/home/bob/.local/state")
        #expect(directories.picturesDirectory() == "/home/bob/Pictures")
        try "XDG_DESKTOP_DIR=\"$HOME/Desktop\"\nXDG_PICTURES_DIR=\"$HOME/Bilder\"\n"
            .write(to: root.appendingPathComponent("user-dirs.dirs"), atomically: true, encoding: .utf8)
        #expect(directories.picturesDirectory() == "/home/bob/Bilder")
        // The home directory itself means "disabled" for xdg-user-dirs.
        try "XDG_PICTURES_DIR=\"$HOME/\"\n".write(to: root.appendingPathComponent("user-dirs.dirs"), atomically: true, encoding: .utf8)
        #expect(directories.picturesDirectory() == "/home/bob/Pictures")
        #expect(directories.configurationFile == "\(root.path)/devsync/engine.conf")
    }
}

@Suite("The import ledger")
struct ImportLedgerTests {
    @Test("What was recorded is known after reopening, names with tabs and newlines included; a torn last line is skipped")
    func reopen() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("engine-ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let first = DeviceFile(path: "/DCIM/100CANON/IMG_0001.JPG", size: 1234, modified: 1_700_000_000)
        let odd = DeviceFile(path: "/DCIM/odd\tname\nhere.jpg", size: 5, modified: 0)
        var ledger = try ImportLedger.open(in: root.path, uid: "usb-04a9-3218~00ff")
        #expect(ledger.folder == nil)
        #expect(!ledger.contains(first))
        try ledger.record(folder: "Canon\tCamera")
        try ledger.record(first, savedAs: "/p/IMG_0001.JPG")
        try ledger.record(odd, savedAs: "/p/odd")
        // A crash in the middle of an append leaves a partial line.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: ledger.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("file\t99".utf8))
        try handle.close()

        let again = try ImportLedger.open(in: root.path, uid: "usb-04a9-3218~00ff")
        #expect(again.folder == "Canon\tCamera")
        #expect(again.count == 2)
        #expect(again.contains(first))
        #expect(again.contains(odd))
        // The same name with another size or time is another picture (a camera that was emptied numbers anew).
        #expect(!again.contains(DeviceFile(path: first.path, size: 1234, modified: 1_800_000_000)))
        #expect(!again.contains(DeviceFile(path: first.path, size: 999, modified: 1_700_000_000)))
        #expect(ImportLedger.claimedFolders(in: root.path, except: "usb-other") == ["Canon\tCamera"])
        #expect(ImportLedger.claimedFolders(in: root.path, except: "usb-04a9-3218~00ff").isEmpty)
    }
}

@Suite("File names from device text")
struct SafeFileNameTests {
    @Test(
        "A device's name becomes one path component, never hidden, never empty",
        arguments: [
            ("Canon EOS 600D / Rebel T3i", "Canon EOS 600D - Rebel T3i"),
            ("../../etc", "-..-etc"),
            ("..", "device"),
            ("  ", "device"),
            ("Cam\u{1}era\n", "Cam_era_"),
        ])
    func names(text: String, expected: String) {
        #expect(FileSystem.safeFileName(text) == expected)
    }
}
