// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

#if canImport(Glibc)
import Glibc
#endif

/// An open device directory under /sys, read as raw bytes.
///
/// Attributes are read with plain `read` rather than `udev_device_get_sysattr_value`, because a device may put
/// any bytes (NUL included) in its strings, and because libudev caches: the bytes are what the kernel has now.
/// A missing attribute is nil, never an error; the caller decides what absence means.
///
/// The directory is opened once and every attribute, child directory and link below it is reached relative to
/// that descriptor (`openat`, `readlinkat`): the kernel walks one path component per read instead of the seven or
/// eight of `/sys/devices/pci…/usb1/1-2/1-2:1.0/…`, and every read sees the same directory — once the device is
/// removed, lookups in its dead directory fail instead of finding a new device at the same path.
struct SysfsDirectory: ~Copyable {
    /// The absolute path, `/sys/devices/…`, for messages and the vanish check.
    let path: String
    /// The directory stream; its descriptor anchors every relative lookup. Owned: closed in `deinit`.
    private let stream: OpaquePointer

    /// The most bytes read from one attribute. Sysfs text attributes are one page at most; the binary
    /// `descriptors` attribute of a device with many interfaces can be longer.
    static let maximumAttributeBytes = 64 * 1024

    /// Opens the directory at `path`; nil if it does not exist (the device left) or cannot be read.
    init?(path: String) {
        guard let stream = opendir(path) else { return nil }
        self.path = path
        self.stream = stream
    }

    /// Opens the subdirectory `name` (a relative path, `1-2:1.0` or `ttyUSB1/tty`); nil if it is not there.
    func child(_ name: String) -> SysfsDirectory? {
        let descriptor = openat(dirfd(stream), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        guard let stream = fdopendir(descriptor) else {
            close(descriptor)
            return nil
        }
        return SysfsDirectory(path: path + "/" + name, stream: stream)
    }

    private init(path: String, stream: OpaquePointer) {
        self.path = path
        self.stream = stream
    }

    deinit { closedir(stream) }

    /// Whether the directory is still alive: the device has not been unplugged since it was opened. A removed
    /// directory (kernfs, or umockdev's tmpfs) refuses every lookup inside it, and every device has `uevent`.
    var exists: Bool { faccessat(dirfd(stream), "uevent", F_OK, 0) == 0 }

    /// The attribute's raw bytes, or nil if it is missing or unreadable.
    ///
    /// A text attribute hands over its whole value (one page at most, made by the attribute's `show`) in the
    /// first `read`; kernfs serves a binary attribute (`descriptors`) at most one page per `read`. So a read
    /// shorter than asked and shorter than a page is the end, and no second read is spent to be told 0.
    func bytes(_ name: String, limit: Int = maximumAttributeBytes) -> [UInt8]? {
        let fd = openat(dirfd(stream), name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var failed = false
        let buffer = [UInt8](unsafeUninitializedCapacity: limit) { raw, initialized in
            var filled = 0
            while filled < limit {
                let count = read(fd, raw.baseAddress! + filled, limit - filled)
                if count < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    break
                }
                let wanted = limit - filled
                filled += count
                if count == 0 || (count < wanted && count < 4096) { break }
            }
            initialized = filled
        }
        return failed ? nil : buffer
    }

    /// The attribute as device text: bytes up to the trailing newline, sanitized. Nil if missing or empty.
    func text(_ name: String) -> String? {
        bytes(name, limit: Self.textLimit).flatMap(Self.text(from:))
    }

    /// The attribute as a hexadecimal number (`idVendor`, `bInterfaceClass`), or nil if missing or malformed.
    func hex(_ name: String) -> UInt32? { bytes(name, limit: Self.numberLimit).flatMap { Self.number(from: $0, radix: 16) } }

    /// The attribute as a decimal number (`busnum`, `bNumInterfaces`), or nil if missing or malformed.
    func decimal(_ name: String) -> UInt32? { bytes(name, limit: Self.numberLimit).flatMap { Self.number(from: $0, radix: 10) } }

    /// The most bytes read of a text attribute: a sysfs attribute shows at most a page.
    static let textLimit = 4096
    /// The most bytes read of a numeric attribute.
    static let numberLimit = 64

    /// A text attribute's bytes as device text: up to the trailing newline, sanitized; nil if empty.
    static func text(from bytes: [UInt8]) -> String? {
        var bytes = bytes
        while let last = bytes.last, last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.isEmpty { return nil }
        return DeviceText.sanitize(bytes: bytes)
    }

    /// A numeric attribute's bytes as a number in `radix`, surrounding whitespace ignored; nil if malformed.
    static func number(from bytes: [UInt8], radix: Int) -> UInt32? {
        let digits = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
        return UInt32(digits, radix: radix)
    }

    /// The names of the entries in the directory (not `.` and `..`), sorted; empty if it cannot be read.
    func entries() -> [String] {
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The sorted entries of the subdirectory `name`; empty if it is not there.
    func entries(of name: String) -> [String] {
        guard let child = child(name) else { return [] }
        return child.entries()
    }

    /// The target of the symbolic link `name`, as stored (often relative: `../../../devices/…`); nil if `name` is
    /// not a link.
    func linkTarget(_ name: String) -> String? {
        var target = [CChar](repeating: 0, count: 4096)
        let length = readlinkat(dirfd(stream), name, &target, target.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the entry `name` (a relative path) is a tty-class device: its `subsystem` link points at
    /// `…/class/tty`.
    func isTTY(_ name: String) -> Bool {
        linkTarget(name + "/subsystem")?.hasSuffix("/tty") ?? false
    }
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
