// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Logging
import SyncEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Imports new pictures and videos from a camera, or a phone's camera interface, through libgphoto2: into one
/// folder per device in the user's pictures directory, each file once (the ``ImportLedger`` remembers them), with
/// a progress message per file, cancellable between and during files.
public struct PhotoImportWork: SyncWork {
    public let name = "photos"
    /// PTP cameras, and the camera (PTP/MTP) interface of phones and players that libgphoto2 reads.
    public let plugins = ["ptp", "mtp", "ipod"]
    /// Pictures and a camera's videos both count as `photos`: the device's camera roll.
    public let datatypes = ["photos"]

    /// Where imports go; the engine's configuration.
    public var importDirectory: String
    /// Where the ledgers are kept.
    public var ledgerDirectory: String
    /// Test-only: the port every camera is read from (`disk:DIR`), instead of its USB port.
    public var cameraPort: String?
    /// Test-only: a pause after each file.
    public var pauseAfterEachFile: Duration
    private let logger: Logger

    /// The file name endings imported, besides files libgphoto2 types as images or videos; others (a phone's
    /// databases, text files) are left on the device.
    static let mediaExtensions: Set<String> = [
        "jpg", "jpeg", "png", "gif", "heic", "heif", "webp", "tif", "tiff", "bmp", "dng", "cr2", "cr3", "crw", "nef",
        "nrw", "arw", "srf", "sr2", "orf", "rw2", "raf", "pef", "x3f", "3fr", "srw",
        "mp4", "mov", "m4v", "avi", "mts", "m2ts", "3gp", "mkv", "mpg", "mpeg", "wmv",
    ]
    static let videoExtensions: Set<String> = ["mp4", "mov", "m4v", "avi", "mts", "m2ts", "3gp", "mkv", "mpg", "mpeg", "wmv"]

    /// The import work; `importDirectory` receives one folder per device.
    public init(
        importDirectory: String, ledgerDirectory: String, cameraPort: String? = nil,
        pauseAfterEachFile: Duration = .zero, logger: Logger
    ) {
        self.importDirectory = importDirectory
        self.ledgerDirectory = ledgerDirectory
        self.cameraPort = cameraPort
        self.pauseAfterEachFile = pauseAfterEachFile
        self.logger = logger
    }

    /// The libgphoto2 port of the device: the test port, else `usb:BBB,DDD` from its bus and device numbers.
    func port(of request: SyncRequest) throws(SyncFailure) -> (port: String, model: String?) {
        if let cameraPort {
            return (cameraPort, cameraPort.hasPrefix("disk:") ? "Directory Browse" : nil)
        }
        guard let bus = request.integer("usb.bus_number"), let device = request.integer("usb.linux.device_number"),
            (1...999).contains(bus), (1...999).contains(device)
        else {
            throw SyncFailure(
                "\(request.displayName) gives no USB bus and device number to reach its camera through; "
                    + "plug it in again (photos are imported from USB devices only).")
        }
        let digits = { (value: Int) in String(repeating: "0", count: 3 - String(value).count) + String(value) }
        return ("usb:\(digits(bus)),\(digits(device))", nil)
    }

    public func run(_ request: SyncRequest, progress: JobProgress) async throws -> String {
        let (port, model) = try port(of: request)
        let name = request.displayName
        if port.hasPrefix("disk:") {
            let folder = String(port.dropFirst("disk:".count))
            guard FileSystem.isDirectory(folder) else {
                throw SyncFailure("The camera folder \(folder) does not exist, so nothing could be imported from \(name).")
            }
        }
        var ledger: ImportLedger
        do {
            ledger = try ImportLedger.open(in: ledgerDirectory, uid: request.uid)
        } catch {
            throw SyncFailure("Cannot keep the list of imported files: \(error).")
        }
        await progress(0, "Looking for new photos on \(name)")
        let queue = DispatchQueue(label: "devsync-engine.photos.\(request.uid)")
        let session = try await onQueue(queue, cancel: nil) { () throws(GPhoto2Error) in
            try CameraSession(port: port, model: model)
        } failure: { error in
            SyncFailure(
                "Cannot open the camera of \(name) (\(error.reason)\(error.details.last.map { ": \($0)" } ?? "")); "
                    + "unlock it, and close any other program using it (a file manager may hold it).")
        }
        let listed = try await onQueue(queue, cancel: session) { () throws(GPhoto2Error) in
            try session.listFiles()
        } failure: { error in
            SyncFailure("Cannot list the files on \(name) (\(error.reason)\(error.details.last.map { ": \($0)" } ?? "")).")
        }
        let media = listed.filter(Self.isMedia)
        let new = media.filter { !ledger.contains($0.deviceFile) }
        guard !new.isEmpty else {
            return media.isEmpty
                ? "No photos or videos on \(name)."
                : "No new photos or videos on \(name); \(media.count) imported before."
        }

        let folder = try deviceFolder(for: request, ledger: &ledger)
        var pictures = 0
        var videos = 0
        for (index, entry) in new.enumerated() {
            try Task.checkCancellation()
            await progress(Double(index) / Double(new.count), "Importing \(entry.name) (\(index + 1) of \(new.count))")
            let savedAs = try await importFile(entry, into: folder, session: session, queue: queue, deviceName: name, done: index)
            do {
                try ledger.record(entry.deviceFile, savedAs: savedAs)
            } catch {
                throw SyncFailure("Imported \(entry.name), but cannot note it in the list of imported files: \(error).")
            }
            if Self.videoExtensions.contains(Self.fileExtension(entry.name)) { videos += 1 } else { pictures += 1 }
            logger.debug("Imported a file", metadata: ["uid": "\(request.uid)", "file": "\(entry.path)", "saved-as": "\(savedAs)"])
            if pauseAfterEachFile > .zero, index + 1 < new.count { try await Task.sleep(for: pauseAfterEachFile) }
        }
        let counted = [Self.count(pictures, "photo"), Self.count(videos, "video")].filter { !$0.isEmpty }
        return "Imported \(counted.joined(separator: " and ")) from \(name) into \(folder)."
    }

    static func count(_ number: Int, _ noun: String) -> String {
        number == 0 ? "" : "\(number) new \(noun)\(number == 1 ? "" : "s")"
    }

    static func fileExtension(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }

    /// Files a camera keeps beside its pictures that libgphoto2 may call images (a `.THM` is a small JPEG).
    static let companionExtensions: Set<String> = ["thm", "ctg", "lrv", "db", "dat"]

    static func isMedia(_ entry: CameraFileEntry) -> Bool {
        let fileExtension = fileExtension(entry.name)
        guard !companionExtensions.contains(fileExtension) else { return false }
        return entry.mimeType.hasPrefix("image/") || entry.mimeType.hasPrefix("video/")
            || mediaExtensions.contains(fileExtension)
    }

    /// The device's folder in the import directory: the one its ledger names, else a new one named after the
    /// device that no other device's ledger claims ("Canon PowerShot", "Canon PowerShot (2)").
    private func deviceFolder(for request: SyncRequest, ledger: inout ImportLedger) throws(SyncFailure) -> String {
        let name: String
        if let known = ledger.folder {
            name = known
        } else {
            let base = FileSystem.safeFileName(request.displayName)
            let claimed = ImportLedger.claimedFolders(in: ledgerDirectory, except: request.uid)
            var candidate = base
            var number = 2
            while claimed.contains(candidate) {
                candidate = "\(base) (\(number))"
                number += 1
            }
            name = candidate
            do {
                try ledger.record(folder: name)
            } catch {
                throw SyncFailure("Cannot keep the list of imported files: \(error).")
            }
        }
        let path = "\(importDirectory)/\(name)"
        do {
            try FileSystem.makeDirectories(path, mode: 0o755)
        } catch {
            throw SyncFailure("\(error); set another ImportDirectory in engine.conf.")
        }
        return path
    }

    /// Copies one file into `folder` under a name no file there has yet (`IMG_0001.JPG`, then `IMG_0001-2.JPG`):
    /// first into a hidden temporary file, then linked to its name, so that an interrupted copy never looks like a
    /// picture and nothing is overwritten.
    private func importFile(
        _ entry: CameraFileEntry, into folder: String, session: CameraSession, queue: DispatchQueue, deviceName: String,
        done: Int
    ) async throws -> String {
        let fileName = FileSystem.safeFileName(entry.name)
        let temporary = "\(folder)/.\(fileName).part-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw SyncFailure("Cannot write into \(folder): \(String(cString: strerror(errno))).")
        }
        defer {
            close(fd)
            unlink(temporary)
        }
        let kept = done == 0 ? "" : " The \(done) file\(done == 1 ? "" : "s") imported before it \(done == 1 ? "is" : "are") kept."
        try await onQueue(queue, cancel: session) { () throws(GPhoto2Error) in
            try session.download(entry, to: fd)
        } failure: { error in
            SyncFailure("Cannot copy \(entry.name) from \(deviceName) (\(error.reason)\(error.details.last.map { ": \($0)" } ?? "")).\(kept)")
        }
        guard fsync(fd) == 0 else {
            throw SyncFailure("Cannot write \(entry.name) into \(folder): \(String(cString: strerror(errno))).\(kept)")
        }
        let (stem, suffix) = Self.split(fileName)
        for attempt in 1...1000 {
            let name = attempt == 1 ? fileName : "\(stem)-\(attempt)\(suffix)"
            if link(temporary, "\(folder)/\(name)") == 0 { return "\(folder)/\(name)" }
            guard errno == EEXIST else {
                throw SyncFailure("Cannot save \(entry.name) into \(folder): \(String(cString: strerror(errno))).\(kept)")
            }
        }
        throw SyncFailure("Cannot save \(entry.name) into \(folder): a thousand files of that name are there.\(kept)")
    }

    /// `IMG_0001.JPG` → (`IMG_0001`, `.JPG`).
    static func split(_ name: String) -> (String, String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }

    /// Runs a blocking libgphoto2 call on the job's queue, off Swift's cooperative pool; a cancellation of the
    /// task cancels the camera's context, which stops the call at libgphoto2's next check and makes it throw
    /// `CancellationError`.
    private func onQueue<T: Sendable>(
        _ queue: DispatchQueue, cancel session: CameraSession?, _ body: @escaping @Sendable () throws(GPhoto2Error) -> T,
        failure: @escaping @Sendable (GPhoto2Error) -> SyncFailure
    ) async throws -> T {
        try Task.checkCancellation()
        let result: Result<T, GPhoto2Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    do throws(GPhoto2Error) {
                        continuation.resume(returning: .success(try body()))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
        } onCancel: {
            session?.cancel()
        }
        switch result {
        case .success(let value):
            try Task.checkCancellation()
            return value
        case .failure(let error):
            if error.isCancellation || Task.isCancelled { throw CancellationError() }
            throw failure(error)
        }
    }
}
