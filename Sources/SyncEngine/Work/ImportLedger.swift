// SPDX-License-Identifier: Apache-2.0
import DBus

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file on a device, as the ledger knows it: where it is on the device, its size and its time.
///
/// Size and time are part of its identity: a camera that was emptied numbers its pictures from 1 again, and
/// `IMG_0001.JPG` of next year is not the one imported today.
public struct DeviceFile: Hashable, Sendable, CustomStringConvertible {
    /// The file's path on the device (`/DCIM/100CANON/IMG_0001.JPG`).
    public var path: String
    /// Its size in bytes (0 if the device does not say).
    public var size: UInt64
    /// Its modification time in seconds since the epoch (0 if the device does not say).
    public var modified: Int64

    /// Names a file.
    public init(path: String, size: UInt64, modified: Int64) {
        self.path = path
        self.size = size
        self.modified = modified
    }

    /// Its last path component.
    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }

    public var description: String { path }
}

/// What the engine imported from one device, so that nothing is imported twice: one small append-only file per
/// device in `$XDG_STATE_HOME/devsync/imported/`, a line per file, written and fsynced as each file lands.
///
/// Deleting or moving an imported picture does not bring it back at the next import; deleting the ledger file
/// does (the files already in the device's folder are then kept, and new copies get a `-2` name).
public struct ImportLedger: Sendable {
    /// The ledger file.
    public let path: String
    /// The device's folder in the import directory, once its first import chose one.
    public private(set) var folder: String?
    private var imported: Set<DeviceFile> = []

    /// How many files it lists.
    public var count: Int { imported.count }

    /// Opens (or starts) the ledger of device `uid` in `directory`, creating the directory.
    public static func open(in directory: String, uid: String) throws(FileSystemError) -> ImportLedger {
        try FileSystem.makeDirectories(directory)
        var ledger = ImportLedger(path: "\(directory)/\(DBusObjectPath.escapeElement(uid))")
        guard let text = try FileSystem.readText(ledger.path, limit: 64 << 20) else {
            try FileSystem.appendLine("# devsync-engine: the files imported from \(escape(uid)) (docs/engine.md)", to: ledger.path)
            return ledger
        }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { unescape(String($0)) }
            switch fields.first {
            case "folder" where fields.count == 2:
                ledger.folder = fields[1]
            case "file" where fields.count >= 4:
                if let size = UInt64(fields[1]), let modified = Int64(fields[2]) {
                    ledger.imported.insert(DeviceFile(path: fields[3], size: size, modified: modified))
                }
            default:
                continue  // a line cut short by a crash, or from a later version: skipped, never fatal
            }
        }
        return ledger
    }

    private init(path: String) { self.path = path }

    /// Whether `file` was imported before.
    public func contains(_ file: DeviceFile) -> Bool { imported.contains(file) }

    /// Records the device's folder name.
    public mutating func record(folder: String) throws(FileSystemError) {
        try FileSystem.appendLine("folder\t\(Self.escape(folder))", to: path)
        self.folder = folder
    }

    /// Records that `file` was imported as `savedAs` (a path below the import directory).
    public mutating func record(_ file: DeviceFile, savedAs: String) throws(FileSystemError) {
        try FileSystem.appendLine(
            "file\t\(file.size)\t\(file.modified)\t\(Self.escape(file.path))\t\(Self.escape(savedAs))", to: path)
        imported.insert(file)
    }

    /// The folder names other devices' ledgers in `directory` hold, so that two devices never share one.
    public static func claimedFolders(in directory: String, except uid: String) -> Set<String> {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        let mine = DBusObjectPath.escapeElement(uid)
        var folders: Set<String> = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard !name.hasPrefix("."), name != mine else { continue }
            guard let text = try? FileSystem.readText("\(directory)/\(name)", limit: 64 << 20) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("folder\t") {
                folders.insert(unescape(String(line.dropFirst("folder\t".count))))
            }
        }
        return folders
    }

    /// Tabs, newlines and backslashes written as `\t`, `\n`, `\\`, so a line is always one record.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\t": result += "\\t"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            default: result.append(character)
            }
        }
        return result
    }

    static func unescape(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                switch character {
                case "t": result.append("\t")
                case "n": result.append("\n")
                case "r": result.append("\r")
                default: result.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
