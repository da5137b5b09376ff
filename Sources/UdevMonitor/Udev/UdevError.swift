// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// A libudev call that failed: which call, on what, and the errno it left.
public struct UdevError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What failed, in the words of the libudev call (`udev_monitor_enable_receiving`).
    public var operation: String
    /// The device path or subsystem the call was about, if any.
    public var subject: String?
    /// The errno the call left, or 0 when it gave none.
    public var errno: Int32

    /// An error for `operation` on `subject` with `errno`.
    public init(operation: String, subject: String? = nil, errno: Int32) {
        self.operation = operation
        self.subject = subject
        self.errno = errno
    }

    /// `operation(subject): strerror`, one line for a log.
    public var description: String {
        let on = subject.map { "(\($0))" } ?? ""
        guard errno != 0, let message = strerror(errno) else { return "\(operation)\(on) failed" }
        return "\(operation)\(on) failed: \(String(cString: message))"
    }
}
