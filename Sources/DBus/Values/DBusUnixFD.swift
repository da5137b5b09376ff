// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Unix file descriptor passed over D-Bus (type `h`), owned by this object and closed when it goes away.
///
/// Received descriptors are fresh duplicates that belong to the receiver; sending duplicates the descriptor
/// again, so the object stays valid after the message is sent.
public final class DBusUnixFD: Hashable, Sendable, CustomStringConvertible {
    /// The descriptor number, valid while this object lives.
    public let fileDescriptor: Int32

    /// Takes ownership of `fileDescriptor`; it is closed when this object is deinitialised.
    public init(taking fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Duplicates `fileDescriptor` (close-on-exec) and owns the duplicate.
    public init(duplicating fileDescriptor: Int32) throws(DBusError) {
        let copy = fcntl(fileDescriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else {
            throw .failed("could not duplicate file descriptor \(fileDescriptor): errno \(errno)")
        }
        self.fileDescriptor = copy
    }

    deinit {
        close(fileDescriptor)
    }

    /// Two descriptors are equal when they are the same number.
    public static func == (lhs: DBusUnixFD, rhs: DBusUnixFD) -> Bool { lhs.fileDescriptor == rhs.fileDescriptor }

    /// Hashes the descriptor number.
    public func hash(into hasher: inout Hasher) { hasher.combine(fileDescriptor) }

    /// `fd N`.
    public var description: String { "fd \(fileDescriptor)" }
}
