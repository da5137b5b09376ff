/// Makes text that came from a device safe to store, log and publish.
///
/// Devices send whatever bytes they like in serials, names and descriptors. Everything devsync keeps is valid
/// Unicode without NUL or other control characters and of bounded size, so that no later layer (the D-Bus wire,
/// which aborts on invalid UTF-8; a terminal; a key file on disk) has to think about it again.
public enum DeviceText {
    /// The most UTF-8 bytes a single string value keeps; longer values are cut at a character boundary.
    public static let maximumStringBytes = 512
    /// The most elements a string list keeps.
    public static let maximumListCount = 256
    /// What stands in for an invalid byte sequence or a control character.
    public static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Decodes raw bytes, repairing invalid UTF-8, replacing control characters and bounding the length.
    public static func sanitize(bytes: some Collection<UInt8>) -> String {
        sanitize(String(decoding: bytes, as: UTF8.self))
    }

    /// Replaces control characters (C0, DEL, C1) with U+FFFD and bounds the length.
    ///
    /// A Swift `String` is always valid Unicode; this removes what is valid but unsafe to show or send.
    public static func sanitize(_ text: String) -> String {
        if isClean(text) { return text }
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let safe = isControl(scalar) ? replacement : scalar
            let width = UTF8.width(safe)
            if bytes + width > maximumStringBytes { break }
            bytes += width
            scalars.append(safe)
        }
        return String(scalars)
    }

    /// Sanitizes every element and bounds the count of a string list.
    public static func sanitize(_ list: [String]) -> [String] {
        if list.count <= maximumListCount, list.allSatisfy(isClean) { return list }
        return list.prefix(maximumListCount).map { sanitize($0) }
    }

    /// Whether `text` is already safe: short enough and free of control characters.
    public static func isClean(_ text: String) -> Bool {
        let utf8 = text.utf8
        if utf8.count > maximumStringBytes { return false }
        // ASCII fast path over the contiguous bytes: printable only; any non-ASCII byte drops to the scalar check.
        let printable = utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        } ?? utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        if printable { return true }
        return !text.unicodeScalars.contains(where: isControl)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (value >= 0x7F && value < 0xA0)
    }
}
