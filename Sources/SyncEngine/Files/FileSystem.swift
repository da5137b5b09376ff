// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file operation that failed: what was tried, on which path, and the system's reason.
public struct FileSystemError: Error, Sendable, CustomStringConvertible {
    /// What was being done, such as "create the folder".
    public var operation: String
    /// The path it was done on.
    public var path: String
    /// errno.
    public var code: Int32

    /// The system's words for `code`.
    public var reason: String { String(cString: strerror(code)) }

    public var description: String { "Cannot \(operation) \(path): \(reason)" }

    init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }
}

/// The few file operations the engine needs, on Glibc (no Foundation in the engine's libraries).
public enum FileSystem {
    /// Whether `path` exists (any kind of file).
    public static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    /// Whether `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The whole content of a regular file as UTF-8 text (invalid bytes repaired), or nil if it does not exist.
    ///
    /// Refuses anything but a regular file (a FIFO would block) and files over `limit` bytes.
    public static func readText(_ path: String, limit: Int = 1 << 20) throws(FileSystemError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileSystemError("read", path)
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw FileSystemError("read", path) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw FileSystemError("read", path, code: EINVAL) }
        guard status.st_size <= limit else { throw FileSystemError("read", path, code: EFBIG) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("read", path)
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            if bytes.count > limit { throw FileSystemError("read", path, code: EFBIG) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Creates `path` and its missing parents (mode 0700 for new ones unless `mode` says otherwise).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(FileSystemError) {
        guard !isDirectory(path) else { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/\(component)"
            if mkdir(prefix, mode) != 0, errno != EEXIST { throw FileSystemError("create the folder", prefix) }
        }
        guard isDirectory(path) else { throw FileSystemError("create the folder", path, code: ENOTDIR) }
    }

    /// Writes `text` to `path` atomically: a temporary file beside it, fsynced, renamed over it.
    public static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o600) throws(FileSystemError) {
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw FileSystemError("write", temporary) }
        do throws(FileSystemError) {
            try writeAll(Array(text.utf8), to: fd, path: temporary)
            guard fsync(fd) == 0 else { throw FileSystemError("write", temporary) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = FileSystemError("replace", path)
            unlink(temporary)
            throw error
        }
    }

    /// Appends one line to `path` (created with `mode` if missing) and fsyncs it, so that it survives a crash.
    public static func appendLine(_ line: String, to path: String, mode: mode_t = 0o600) throws(FileSystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw FileSystemError("write", path) }
        defer { close(fd) }
        try writeAll(Array((line + "\n").utf8), to: fd, path: path)
        guard fsync(fd) == 0 else { throw FileSystemError("write", path) }
    }

    static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(FileSystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", path)
            }
            offset += written
        }
    }

    /// The environment variable `name`, or nil when unset or empty.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The user name and home directory of the user the process runs as.
    public static func currentUser() -> (name: String, home: String) {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result) == 0, let result {
            return (String(cString: result.pointee.pw_name), String(cString: result.pointee.pw_dir))
        }
        return ("\(getuid())", environment("HOME") ?? "/")
    }

    /// A file name made from device text: a path separator becomes `-` ("EOS 600D / Rebel T3i" → "EOS 600D -
    /// Rebel T3i"), control characters `_`, leading dots are dropped; at most 100 bytes; never empty, `.` or `..`.
    public static func safeFileName(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "/" {
                scalars.append("-")
            } else if scalar.value < 0x20 || scalar.value == 0x7f {
                scalars.append("_")
            } else {
                scalars.append(scalar)
            }
        }
        var name = String(scalars).trimmingSpaces()
        while name.hasPrefix(".") { name.removeFirst() }
        while name.utf8.count > 100 { name.removeLast() }
        return name.isEmpty ? "device" : name
    }
}

extension String {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice.removeLast() }
        return String(slice)
    }
}
