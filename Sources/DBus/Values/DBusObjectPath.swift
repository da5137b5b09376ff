// SPDX-License-Identifier: Apache-2.0
/// A validated D-Bus object path, such as `/org/devsync/Broker1/device/usb_2d1_2e3`.
///
/// A path starts with `/`, its elements are non-empty runs of `[A-Za-z0-9_]`, and only the root `/` ends with
/// a slash. Build elements from arbitrary text with ``escapeElement(_:)``.
public struct DBusObjectPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The path text.
    public let rawValue: String

    /// Validates `text` as an object path.
    public init(_ text: String) throws(DBusError) {
        guard Self.isValid(text) else {
            throw .invalidArgs("'\(text)' is not a valid D-Bus object path")
        }
        rawValue = text
    }

    init(unchecked text: String) {
        rawValue = text
    }

    /// The root path `/`.
    public static let root = DBusObjectPath(unchecked: "/")

    /// The path text.
    public var description: String { rawValue }

    /// Orders paths by their text, so a parent sorts before its children.
    public static func < (lhs: DBusObjectPath, rhs: DBusObjectPath) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether `text` is a valid object path.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return false }
        if bytes.count == 1 { return true }
        var previousWasSlash = true
        for byte in bytes.dropFirst() {
            if byte == UInt8(ascii: "/") {
                if previousWasSlash { return false }
                previousWasSlash = true
            } else if isElementByte(byte) {
                previousWasSlash = false
            } else {
                return false
            }
        }
        return !previousWasSlash
    }

    /// The path's elements; empty for the root.
    public var elements: [String] {
        rawValue.split(separator: "/").map(String.init)
    }

    /// The last element, or nil for the root.
    public var lastElement: String? { elements.last }

    /// The parent path, or nil for the root.
    public var parent: DBusObjectPath? {
        guard rawValue != "/" else { return nil }
        let kept = elements.dropLast()
        return DBusObjectPath(unchecked: "/" + kept.joined(separator: "/"))
    }

    /// This path with one more element, escaped with ``escapeElement(_:)`` so any text is safe.
    public func appending(escaping element: String) -> DBusObjectPath {
        let escaped = Self.escapeElement(element)
        return DBusObjectPath(unchecked: rawValue == "/" ? "/" + escaped : rawValue + "/" + escaped)
    }

    /// Whether `self` is `other` or lies below it.
    public func isDescendant(of other: DBusObjectPath, orSelf: Bool = true) -> Bool {
        if self == other { return orSelf }
        if other.rawValue == "/" { return true }
        return rawValue.hasPrefix(other.rawValue + "/")
    }

    /// Escapes arbitrary text into one valid path element, as systemd's `bus_label_escape` does.
    ///
    /// `[A-Za-z0-9]` is kept; every other byte of the UTF-8 text becomes `_` and two lowercase hex digits; the
    /// empty string becomes `_`. ``unescapeElement(_:)`` reverses it.
    public static func escapeElement(_ text: String) -> String {
        if text.isEmpty { return "_" }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            if isAlphanumeric(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "_"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Reverses ``escapeElement(_:)``; `_xx` sequences that are not hex stay as they are.
    public static func unescapeElement(_ element: String) -> String {
        if element == "_" { return "" }
        let bytes = Array(element.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "_"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func isElementByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: "_")
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x61...0x66: byte - 0x61 + 10
        case 0x41...0x46: byte - 0x41 + 10
        default: nil
        }
    }
}
