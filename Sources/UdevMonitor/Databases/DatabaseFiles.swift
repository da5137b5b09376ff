// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// Bounded reads of the small database files and directory listings, copied into Swift values at once.
enum DatabaseFiles {
    /// The contents of the regular file at `path`, at most `limit` bytes; an error names the path and errno.
    static func contents(of path: String, limit: Int) throws(DatabaseError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path, "cannot open") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure(path, "cannot inspect") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw DatabaseError(file: path, message: "not a regular file") }
        guard Int(info.st_size) <= limit else {
            throw DatabaseError(file: path, message: "larger than \(limit) bytes; refusing to read it")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, "cannot read")
            }
            if count == 0 { break }
            filled += count
        }
        bytes.removeLast(bytes.count - filled)
        return bytes
    }

    /// Runs `body` over the regular file at `path` mapped read-only (at most `limit` bytes), and unmaps it: a
    /// large file is read without a heap buffer its size (glibc's heap keeps what it once grew to). The file must
    /// be replaced, not rewritten in place, while mapped: depmod writes `modules.alias` to a new file and renames it.
    static func withMappedContents<Result>(of path: String, limit: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Result) throws(DatabaseError) -> Result {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path, "cannot open") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure(path, "cannot inspect") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw DatabaseError(file: path, message: "not a regular file") }
        guard Int(info.st_size) <= limit else {
            throw DatabaseError(file: path, message: "larger than \(limit) bytes; refusing to read it")
        }
        let size = Int(info.st_size)
        guard size > 0 else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw failure(path, "cannot map")
        }
        defer { munmap(address, size) }
        return body(UnsafeBufferPointer(start: address.assumingMemoryBound(to: UInt8.self), count: size))
    }

    /// The names in `directory` (no `.`, `..`), sorted bytewise; an error if it cannot be opened.
    static func names(in directory: String) throws(DatabaseError) -> [String] {
        guard let handle = opendir(directory) else { throw failure(directory, "cannot open the directory") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Whether `path` exists (any kind).
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The running kernel's release (`uname -r`), for `/lib/modules/<release>/modules.alias`.
    static var kernelRelease: String {
        var names = utsname()
        guard uname(&names) == 0 else { return "" }
        return withUnsafeBytes(of: names.release) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func failure(_ path: String, _ what: String) -> DatabaseError {
        let number = errno
        return DatabaseError(file: path, message: "\(what): \(String(cString: strerror(number)))")
    }
}
