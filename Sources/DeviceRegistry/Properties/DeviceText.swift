// SPDX-License-Identifier: Apache-2.0
/// Makes text that came from a device safe to store, log and publish.
///
/// Devices send whatever bytes they like in serials, names and descriptors. Everything devsync keeps is valid
/// Unicode without NUL, other control characters or invisible format characters, and of bounded size, so that
/// no later layer (the D-Bus wire, which aborts on invalid UTF-8; a terminal; a key file on disk) has to think
/// about it again.
public enum DeviceText {
    /// The most UTF-8 bytes a single string value keeps; longer values are cut at a character boundary.
    public static let maximumStringBytes = 512
    /// The most elements a string list keeps.
    public static let maximumListCount = 256
    /// What stands in for an invalid byte sequence, a control character or a format character.
    public static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Decodes raw bytes, repairing invalid UTF-8, replacing control and format characters and bounding the
    /// length.
    public static func sanitize(bytes: some Collection<UInt8>) -> String {
        sanitize(String(decoding: bytes, as: UTF8.self))
    }

    /// Replaces control characters (C0, DEL, C1), the line and paragraph separators U+2028/U+2029, and format
    /// characters (Unicode category Cf: bidirectional embeddings, overrides and isolates, zero-width characters,
    /// the byte order mark …) with U+FFFD, and bounds the length.
    ///
    /// A Swift `String` is always valid Unicode; this removes what is valid but unsafe to show or send. A format
    /// character is replaced rather than dropped so that the published text still shows that something was
    /// there: `"Palm\u{202E}3T"` becomes `"Palm\u{FFFD}3T"`, not a name that reads like another device's.
    public static func sanitize(_ text: String) -> String {
        if isClean(text) { return text }
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let safe = isUnsafe(scalar) ? replacement : scalar
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

    /// Whether `text` is already safe: short enough and free of control and format characters.
    public static func isClean(_ text: String) -> Bool {
        let utf8 = text.utf8
        if utf8.count > maximumStringBytes { return false }
        // ASCII fast path over the contiguous bytes: printable only; any non-ASCII byte drops to the scalar check.
        let printable = utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        } ?? utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        if printable { return true }
        return !text.unicodeScalars.contains(where: isUnsafe)
    }

    /// Whether sanitized `text` carries nothing: empty, or only white space and replacement characters (what
    /// is left of a serial of blanks, tabs or undecodable bytes). Such a value identifies nothing.
    public static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0 == replacement || $0.properties.isWhitespace }
    }

    /// Control characters move the cursor or end lines; format characters (Cf) are invisible and reorder or
    /// join the text around them (U+202E turns `Palm3T` into what reads as another name), so neither may
    /// reach a terminal or a D-Bus client.
    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (value >= 0x7F && value < 0xA0) { return true }
        if value < 0xAD { return false }
        // U+2028 and U+2029 end a line in some viewers as a newline does.
        if value == 0x2028 || value == 0x2029 { return true }
        return scalar.properties.generalCategory == .format
    }
}
