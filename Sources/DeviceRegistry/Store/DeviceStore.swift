// SPDX-License-Identifier: Apache-2.0
import Logging

/// The registry's state directory, laid out as boltd's `/var/lib/boltd`: a `version` file and one small key
/// file per known device under `devices/`. `docs/state.md` describes it.
///
/// Every write replaces one file atomically (temporary file, fsync, rename, fsync of the directory), so a crash
/// leaves each record either old or new. Damaged files are moved to `quarantine/` at load, never deleted, and
/// never stop the other records from loading.
///
/// A device names its own file (its uid comes from its serial), so the store's own names are kept where no uid
/// can reach: temporary files start with `.`, which no uid does, and damaged files go to another directory.
/// Nothing a device sends can therefore name, overwrite or hide a file the store made.
public struct DeviceStore: Sendable {
    /// The layout version this code writes and reads.
    public static let formatVersion = 1

    /// The state directory.
    public let directory: String
    /// The directory of device files.
    public let devicesDirectory: String
    /// The directory damaged device files are moved to; made when the first one is.
    public let quarantineDirectory: String
    private let logger: Logger

    /// Opens the state directory at `directory`, creating it and its `version` file if missing.
    ///
    /// Throws ``StoreError/Code-swift.struct/unsupportedVersion`` for a directory of a newer format, which it
    /// leaves untouched, and ``StoreError/Code-swift.struct/io`` if the directory cannot be made.
    public init(directory: String, logger: Logger) throws(StoreError) {
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.devicesDirectory = self.directory + "/devices"
        self.quarantineDirectory = self.directory + "/quarantine"
        self.logger = logger
        let versionPath = self.directory + "/version"
        let versionText: String?
        do throws(SystemError) {
            try FileSystem.createDirectory(self.directory)
            // `readFile` refuses a FIFO, device or link at `version` with an error naming it, rather than
            // blocking start-up in `open`.
            if try FileSystem.kind(of: versionPath) == .missing {
                try FileSystem.writeAtomically(
                    Array("\(Self.formatVersion)\n".utf8), to: versionPath,
                    temporaryPath: self.directory + "/.version.tmp", directory: self.directory)
                versionText = nil
            } else {
                versionText = String(decoding: try FileSystem.readFile(versionPath), as: UTF8.self)
            }
        } catch {
            throw StoreError(error)
        }
        if let versionText {
            let trimmed = versionText.filter { !$0.isWhitespace }
            guard let version = Int(trimmed) else {
                throw StoreError(
                    code: .malformed, path: versionPath, message: "the version file says \"\(trimmed)\", not a number")
            }
            guard version <= Self.formatVersion else {
                throw StoreError(
                    code: .unsupportedVersion, path: versionPath,
                    message: "state format \(version) is newer than this devsync (\(Self.formatVersion)); left untouched")
            }
        }
        do { try FileSystem.createDirectory(devicesDirectory) } catch { throw StoreError(error) }
    }

    /// The path of the file holding `uid`.
    public func path(of uid: String) -> String { "\(devicesDirectory)/\(uid)" }

    /// Every stored device, sorted by uid.
    ///
    /// Cleans up temporary files a crash left behind, and moves each file that does not decode, or decodes to a
    /// record failing ``StoredDevice/problem`` (the check every decision passes), to `quarantine/` with a
    /// warning. Names that are not uids (`README`) are left alone with a warning. Throws only if the devices
    /// directory cannot be listed.
    public func loadAll() throws(StoreError) -> [StoredDevice] {
        let names: [String]
        do { names = try FileSystem.contentsOfDirectory(devicesDirectory) } catch { throw StoreError(error) }
        var devices: [StoredDevice] = []
        for name in names {
            let path = "\(devicesDirectory)/\(name)"
            if Self.isTemporary(name) {
                // An interrupted write: the rename never happened, so the real file still holds the old record.
                logger.info("Removing an interrupted write", metadata: ["path": "\(path)"])
                do { try FileSystem.removeFile(path) } catch {
                    logger.warning("Cannot remove an interrupted write", metadata: ["error": "\(error)"])
                }
                continue
            }
            guard DeviceIdentity.isValid(name) else {
                logger.warning("Ignoring a file that is not a device record", metadata: ["path": "\(path)"])
                continue
            }
            switch load(name: name, path: path) {
            case .success(let device):
                devices.append(device)
            case .failure(let reason) where Self.isLegacyQuarantine(name):
                // Set aside by a devsync that kept damaged files beside the records, under a name a uid can
                // have. A real record of such a uid decodes to its own name and loads above; this one does not.
                quarantine(name: name, reason: reason, keepingName: true)
            case .failure(let reason):
                quarantine(name: name, reason: reason, keepingName: false)
            }
        }
        return devices
    }

    /// Writes `device` to its file, replacing the previous version atomically.
    public func save(_ device: StoredDevice) throws(StoreError) {
        try write(device, syncsDirectory: true)
    }

    /// Replaces the file of `device` atomically; the directory is fsynced only with `syncsDirectory`.
    private func write(_ device: StoredDevice, syncsDirectory: Bool) throws(StoreError) {
        try checkUID(device.uid)
        // Never write what `loadAll` would set aside.
        if let problem = device.problem {
            throw StoreError(code: .malformed, path: path(of: device.uid), message: problem)
        }
        do {
            try FileSystem.writeAtomically(
                Array(DeviceKeyFile.encode(device).utf8), to: path(of: device.uid),
                temporaryPath: temporaryPath(of: device.uid), directory: devicesDirectory, syncsDirectory: syncsDirectory)
        } catch {
            throw StoreError(error)
        }
    }

    /// Writes several devices, each file replaced atomically as ``save(_:)`` does, with one fsync of the
    /// directory for all the renames instead of one each (the cold-plug of many known devices at start).
    ///
    /// Returns the devices that could not be stored, with why; the others are stored.
    public func save(contentsOf devices: [StoredDevice]) -> [(uid: String, error: StoreError)] {
        var failures: [(uid: String, error: StoreError)] = []
        var written: [String] = []
        for device in devices {
            do throws(StoreError) {
                try write(device, syncsDirectory: false)
                written.append(device.uid)
            } catch {
                failures.append((device.uid, error))
            }
        }
        guard !written.isEmpty else { return failures }
        do {
            try FileSystem.syncDirectory(devicesDirectory)
        } catch {
            // The files are written, but their renames may not survive a power cut.
            failures += written.map { ($0, StoreError(error)) }
        }
        return failures
    }

    /// Removes the file of `uid`; a missing file is not an error.
    public func remove(uid: String) throws(StoreError) {
        try checkUID(uid)
        do {
            try FileSystem.removeFile(path(of: uid))
            try FileSystem.syncDirectory(devicesDirectory)
        } catch {
            throw StoreError(error)
        }
    }

    // MARK: Private

    private func load(name: String, path: String) -> Result<StoredDevice, DeviceKeyFile.DecodingFailure> {
        let bytes: [UInt8]
        do {
            // Refuses, without blocking or following, anything but a regular file, and says what is there.
            bytes = try FileSystem.readFile(path)
        } catch {
            return .failure(DeviceKeyFile.DecodingFailure("unreadable: \(error)"))
        }
        switch DeviceKeyFile.decode(bytes) {
        case .success(let device) where device.uid != name:
            return .failure(DeviceKeyFile.DecodingFailure("holds uid \(device.uid), not its file name"))
        case .success(let device):
            if let problem = device.problem { return .failure(DeviceKeyFile.DecodingFailure(problem)) }
            return .success(device)
        case let result:
            return result
        }
    }

    /// Moves `devices/<name>` to `quarantine/<name>.corrupt-<n>` (the lowest free `n`), or, for a file an
    /// earlier devsync already set aside (`keepingName`), to `quarantine/<name>` if that is free. Never replaces
    /// a file: nothing is deleted.
    private func quarantine(name: String, reason: DeviceKeyFile.DecodingFailure, keepingName: Bool) {
        let path = "\(devicesDirectory)/\(name)"
        let candidates =
            (keepingName ? [name] : []) + (1..<1000).lazy.map { "\(name).corrupt-\($0)" }
        do throws(SystemError) {
            try FileSystem.createDirectory(quarantineDirectory)
            for candidate in candidates {
                let target = "\(quarantineDirectory)/\(candidate)"
                guard try FileSystem.kind(of: target) == .missing else { continue }
                try FileSystem.rename(path, to: target)
                try FileSystem.syncDirectory(devicesDirectory)
                try FileSystem.syncDirectory(quarantineDirectory)
                if keepingName {
                    logger.notice(
                        "Moved a device record an earlier devsync had set aside to the quarantine directory",
                        metadata: ["path": "\(path)", "moved-to": "\(target)", "reason": "\(reason)"])
                } else {
                    logger.warning(
                        "Moved a damaged device record aside",
                        metadata: ["path": "\(path)", "moved-to": "\(target)", "reason": "\(reason)"])
                }
                return
            }
        } catch {
            logger.error(
                "Cannot move a damaged device record aside; skipping it",
                metadata: ["path": "\(path)", "reason": "\(reason)", "error": "\(error)"])
            return
        }
        logger.error("Too many damaged copies; skipping a damaged record", metadata: ["path": "\(path)"])
    }

    private func temporaryPath(of uid: String) -> String { "\(devicesDirectory)/.\(uid).tmp" }

    private func checkUID(_ uid: String) throws(StoreError) {
        guard DeviceIdentity.isValid(uid) else {
            throw StoreError(code: .invalidUID, path: devicesDirectory, message: "\"\(uid)\" is not a valid device uid")
        }
    }

    /// Whether `name` is a write in progress (`.<uid>.tmp`). No uid starts with `.`, so no device's file is one.
    static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".tmp") && DeviceIdentity.isValid(String(name.dropFirst().dropLast(4)))
    }

    /// Whether `name` has the form an earlier devsync gave the damaged files it left in `devices/`
    /// (`<uid>.corrupt-<n>`). It is also a legal uid (a serial may end in `.corrupt-7`), so the name alone
    /// decides nothing: only a file of this form that is not a sound record of that very uid is taken for one.
    static func isLegacyQuarantine(_ name: String) -> Bool {
        let number = name.utf8.reversed().prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return !number.isEmpty && String(decoding: name.utf8.dropLast(number.count), as: UTF8.self).hasSuffix(".corrupt-")
    }
}
