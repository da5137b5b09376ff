import DeviceRegistry

#if canImport(Glibc)
import Glibc
#endif

/// A device directory under /sys, read as raw bytes.
///
/// Attributes are read with plain `open`/`read` rather than `udev_device_get_sysattr_value`, because a device
/// may put any bytes (NUL included) in its strings, and because libudev caches: the bytes are what the kernel
/// has now. A missing attribute is nil, never an error; the caller decides what absence means.
struct SysfsDirectory: Sendable, Hashable {
    /// The absolute path, `/sys/devices/…`.
    var path: String

    /// The most bytes read from one attribute. Sysfs text attributes are one page at most; the binary
    /// `descriptors` attribute of a device with many interfaces can be longer.
    static let maximumAttributeBytes = 64 * 1024

    /// Whether the directory still exists: the device has not been unplugged under us.
    var exists: Bool { access(path, F_OK) == 0 }

    /// The attribute's raw bytes, or nil if it is missing or unreadable.
    func bytes(_ name: String, limit: Int = maximumAttributeBytes) -> [UInt8]? {
        let fd = open(path + "/" + name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = buffer.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + filled, limit - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            filled += count
        }
        buffer.removeSubrange(filled...)
        return buffer
    }

    /// The attribute as device text: bytes up to the trailing newline, sanitized. Nil if missing or empty.
    func text(_ name: String) -> String? {
        guard var bytes = bytes(name, limit: 4096) else { return nil }
        while let last = bytes.last, last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.isEmpty { return nil }
        return DeviceText.sanitize(bytes: bytes)
    }

    /// The attribute as a hexadecimal number (`idVendor`, `bInterfaceClass`), or nil if missing or malformed.
    func hex(_ name: String) -> UInt32? { number(name, radix: 16) }

    /// The attribute as a decimal number (`busnum`, `bNumInterfaces`), or nil if missing or malformed.
    func decimal(_ name: String) -> UInt32? { number(name, radix: 10) }

    private func number(_ name: String, radix: Int) -> UInt32? {
        guard let bytes = bytes(name, limit: 64) else { return nil }
        let digits = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        return UInt32(digits, radix: radix)
    }

    /// The names of the entries in the directory (not `.` and `..`), sorted; empty if it cannot be read.
    func entries() -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Whether this is a tty-class device: its `subsystem` link points at `…/class/tty`.
    var isTTY: Bool {
        var target = [CChar](repeating: 0, count: 256)
        let length = readlink(path + "/subsystem", &target, target.count - 1)
        guard length > 0 else { return false }
        return String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).hasSuffix("/tty")
    }

    /// The subdirectory `name`.
    func child(_ name: String) -> SysfsDirectory { SysfsDirectory(path: path + "/" + name) }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines (sysfs pads some numbers: `" 2"`).
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
