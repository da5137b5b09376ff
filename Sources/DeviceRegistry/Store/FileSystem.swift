// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The store's only contact with the operating system, in three layers (as apple/swift-system does it):
// raw calls that mirror libc one to one, checked calls that retry EINTR and turn -1 into a `SystemError`, and the
// small Swift API the store uses. Foundation is not allowed in this module, and swift-system has no fsync or
// rename, so this is plain libc.

// MARK: - Raw calls

private func system_open(_ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    open(path, flags, mode)
}

private func system_read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

private func system_write(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

private func system_fsync(_ fd: CInt) -> CInt { fsync(fd) }

private func system_close(_ fd: CInt) -> CInt { close(fd) }

private func system_rename(_ old: UnsafePointer<CChar>, _ new: UnsafePointer<CChar>) -> CInt { rename(old, new) }

private func system_unlink(_ path: UnsafePointer<CChar>) -> CInt { unlink(path) }

private func system_mkdir(_ path: UnsafePointer<CChar>, _ mode: mode_t) -> CInt { mkdir(path, mode) }

private func system_lstat(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<stat>) -> CInt {
    lstat(path, buffer)
}

private func system_fstat(_ fd: CInt, _ buffer: UnsafeMutablePointer<stat>) -> CInt { fstat(fd, buffer) }

private func system_errno() -> CInt { errno }

// MARK: - Checked calls

/// A failed system call: what was attempted, on which path, and the errno it gave.
struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The libc function that failed (`open`, `rename` …).
    var operation: String
    /// The path it was called on.
    var path: String
    /// The errno value.
    var errno: CInt
    /// What was wrong, when the errno alone would not say it (`is a FIFO, not a regular file`).
    var detail: String? = nil

    var description: String {
        if let detail { return "\(operation) \(path): \(detail)" }
        return "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Runs `call` until it does not fail with EINTR; -1 becomes a `SystemError`.
private func checked<Result: BinaryInteger>(
    _ operation: String, _ path: String, _ call: () -> Result
) throws(SystemError) -> Result {
    while true {
        let result = call()
        if result != -1 { return result }
        let error = system_errno()
        if error == EINTR { continue }
        throw SystemError(operation: operation, path: path, errno: error)
    }
}

// MARK: - Swift API

/// The file operations the store needs, each a whole operation on a path; no descriptor leaves this file.
enum FileSystem {
    /// The kind of object at a path, as `lstat` sees it (symlinks are not followed).
    enum EntryKind: Sendable, Equatable {
        case missing, regular, directory, other
    }

    /// What is at `path`.
    static func kind(of path: String) throws(SystemError) -> EntryKind {
        var info = stat()
        let result = system_lstat(path, &info)
        if result == -1 {
            let error = system_errno()
            if error == ENOENT { return .missing }
            throw SystemError(operation: "lstat", path: path, errno: error)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The kind of file a mode describes, for messages.
    private static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFLNK: "a symbolic link"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// Fails unless `path` is a regular file itself (not a link to one), without opening it.
    private static func requireRegular(_ path: String, operation: String) throws(SystemError) {
        var info = stat()
        _ = try checked("lstat", path) { system_lstat(path, &info) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SystemError(
                operation: operation, path: path, errno: EINVAL,
                detail: "is \(kindName(info.st_mode)), not a regular file; the state directory holds regular files only")
        }
    }

    /// Opens `path` so that nothing but a regular file is ever used: `O_NOFOLLOW` (a symbolic link fails, it is
    /// never followed elsewhere), `O_NONBLOCK` (opening a FIFO or a device returns at once instead of waiting
    /// for a writer or a carrier), then `fstat` of what was opened.
    private static func openRegular(_ path: String, flags: CInt, mode: mode_t = 0) throws(SystemError) -> CInt {
        let fd: CInt
        do {
            fd = try checked("open", path) { system_open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode) }
        } catch where error.errno == ELOOP {
            throw SystemError(
                operation: "open", path: path, errno: ELOOP,
                detail: "is a symbolic link; the state directory holds regular files only, and links are not followed")
        }
        var info = stat()
        do {
            _ = try checked("fstat", path) { system_fstat(fd, &info) }
        } catch {
            _ = system_close(fd)
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            _ = system_close(fd)
            throw SystemError(
                operation: "open", path: path, errno: EINVAL,
                detail: "is \(kindName(info.st_mode)), not a regular file; the state directory holds regular files only")
        }
        return fd
    }

    /// Creates the directory at `path` unless it exists.
    static func createDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if system_mkdir(path, mode) == 0 { return }
        let error = system_errno()
        if error == EEXIST, try kind(of: path) == .directory { return }
        throw SystemError(operation: "mkdir", path: path, errno: error)
    }

    /// The whole content of the regular file at `path`, read up to `limit` bytes; longer files are an error
    /// (`EFBIG`), because nothing the store writes is large and a huge file is not ours.
    ///
    /// Anything but a regular file (a FIFO, a device, a socket, a symbolic link, a directory) is an error naming
    /// the path and what is there, and never blocks: a FIFO's open would wait for a writer forever, a device's
    /// might have effects, a link might lead out of the state directory. Devices are not even opened.
    static func readFile(_ path: String, limit: Int = 64 * 1024) throws(SystemError) -> [UInt8] {
        try requireRegular(path, operation: "open")
        // Checked again on the descriptor: the entry could be replaced between the lstat and the open.
        let fd = try openRegular(path, flags: O_RDONLY)
        defer { _ = system_close(fd) }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let count = try checked("read", path) { system_read(fd, chunk.baseAddress, chunk.count) }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw SystemError(operation: "read", path: path, errno: EFBIG) }
        }
    }

    /// Replaces the file at `path` with `bytes` so that a crash leaves either the old or the new content:
    /// write `temporaryPath` (same directory), fsync it, rename it over `path`, fsync the directory (unless
    /// `syncsDirectory` is false: the caller then fsyncs `directory` itself once the rename must be durable,
    /// once for many files).
    static func writeAtomically(
        _ bytes: [UInt8], to path: String, temporaryPath: String, directory: String, syncsDirectory: Bool = true
    ) throws(SystemError) {
        // The temporary name is the store's own: whatever is there (a crash's leftover, a FIFO) goes, and a new
        // file is made (`O_EXCL`), never an existing one opened, which could block or lead elsewhere.
        try removeFile(temporaryPath)
        let fd = try openRegular(temporaryPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        do {
            try writeAll(bytes, to: fd, path: temporaryPath)
            _ = try checked("fsync", temporaryPath) { system_fsync(fd) }
        } catch {
            _ = system_close(fd)
            _ = system_unlink(temporaryPath)
            throw error
        }
        // A failed close after a successful fsync loses nothing; the data is on disk.
        _ = system_close(fd)
        do {
            try rename(temporaryPath, to: path)
        } catch {
            _ = system_unlink(temporaryPath)
            throw error
        }
        if syncsDirectory { try syncDirectory(directory) }
    }

    /// Renames `path` to `newPath` (atomic within one file system).
    static func rename(_ path: String, to newPath: String) throws(SystemError) {
        _ = try checked("rename", path) { system_rename(path, newPath) }
    }

    /// Removes the file at `path`; a missing file is not an error.
    static func removeFile(_ path: String) throws(SystemError) {
        if system_unlink(path) == 0 { return }
        let error = system_errno()
        if error == ENOENT { return }
        throw SystemError(operation: "unlink", path: path, errno: error)
    }

    /// Flushes a directory's entries, so that a rename or unlink in it survives a power cut.
    static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try checked("open", path) { system_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
        defer { _ = system_close(fd) }
        _ = try checked("fsync", path) { system_fsync(fd) }
    }

    /// The names in the directory at `path`, without `.` and `..`, sorted.
    static func contentsOfDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else {
            throw SystemError(operation: "opendir", path: path, errno: system_errno())
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    private static func writeAll(_ bytes: [UInt8], to fd: CInt, path: String) throws(SystemError) {
        let failure = bytes.withUnsafeBytes { buffer -> SystemError? in
            var offset = 0
            while offset < buffer.count {
                do throws(SystemError) {
                    offset += try checked("write", path) {
                        system_write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    }
                } catch {
                    return error
                }
            }
            return nil
        }
        if let failure { throw failure }
    }
}
