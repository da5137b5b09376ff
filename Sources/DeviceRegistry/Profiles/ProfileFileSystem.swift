// SPDX-License-Identifier: Apache-2.0
// The only file in DeviceRegistry that touches the file system: profile loading needs to list directories and
// read small files, and Foundation is too heavy for the daemon, so this is plain Glibc, copied into Swift values
// at once.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Directory listing and bounded file reading for the profile loader.
enum ProfileFileSystem {
    /// A failed system call, with the path and the system's sentence for errno.
    struct Failure: Error {
        var path: String
        var message: String
        var errorNumber: Int32
    }

    /// What a path names, following symbolic links.
    enum Kind { case regularFile, directory, other }

    static func failure(_ path: String, _ what: String) -> Failure {
        let number = errno
        return Failure(path: path, message: "\(what): \(String(cString: strerror(number)))", errorNumber: number)
    }

    /// The kind of `path`, or nil when it does not exist.
    static func kind(of path: String) throws(Failure) -> Kind? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw failure(path, "cannot inspect")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The names in `directory`, without `.` and `..`, in no particular order.
    static func names(in directory: String) throws(Failure) -> [String] {
        guard let handle = opendir(directory) else { throw failure(directory, "cannot open the directory") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// The contents of the regular file at `path`, refusing files larger than `limit` bytes.
    static func contents(of path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path, "cannot open") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure(path, "cannot inspect") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Failure(path: path, message: "not a regular file", errorNumber: 0)
        }
        if Int(info.st_size) > limit {
            throw Failure(path: path, message: "the file is \(info.st_size) bytes; at most \(limit) are accepted", errorNumber: 0)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, "cannot read")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            // The file may have grown since fstat.
            if bytes.count > limit {
                throw Failure(path: path, message: "the file is larger than \(limit) bytes", errorNumber: 0)
            }
        }
        return bytes
    }
}
