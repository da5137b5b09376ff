/// How FDI spells typed values. Strict where HAL's `strtol` was lax: garbage is an error, not 0.
enum FDIValue {
    /// A decimal or `0x` hexadecimal integer with an optional sign, or nil.
    ///
    /// A decimal number with a leading zero is refused: HAL's `strtol(…, 0)` read it as octal, which is never
    /// what a profile author writing `0830` meant.
    static func integer(_ text: String) -> Int64? {
        var digits = Substring(text.trimmingASCIIWhitespace())
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count > 1, digits.first == "0" {
            return nil
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        guard let magnitude = UInt64(digits, radix: radix) else { return nil }
        if negative {
            return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// An `int` (HAL's 32-bit signed), or nil.
    static func int32(_ text: String) -> Int32? {
        integer(text).flatMap { Int32(exactly: $0) }
    }

    /// A `uint64`, decimal or `0x` hex, or nil.
    static func uint64(_ text: String) -> UInt64? {
        var digits = Substring(text.trimmingASCIIWhitespace())
        if digits.first == "+" { digits = digits.dropFirst() }
        var radix = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count > 1, digits.first == "0" {
            return nil
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return UInt64(digits, radix: radix)
    }

    /// A `double`, or nil.
    static func double(_ text: String) -> Double? {
        let trimmed = text.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { return nil }
        return Double(trimmed)
    }

    /// `true` or `false`, exactly, or nil.
    static func bool(_ text: String) -> Bool? {
        switch text.trimmingASCIIWhitespace() {
        case "true": true
        case "false": false
        default: nil
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}

extension PropertyValue {
    /// Reads `text` as FDI writes a value of `type`: ints in decimal or `0x` hex, bools as `true`/`false`,
    /// a strlist as comma-separated elements. Nil when the text is not a value of that type.
    public init?(fdi text: String, as type: PropertyType) {
        switch type {
        case .string: self = .string(text)
        case .strlist: self = .strlist(text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
        case .int:
            guard let value = FDIValue.int32(text) else { return nil }
            self = .int(value)
        case .uint64:
            guard let value = FDIValue.uint64(text) else { return nil }
            self = .uint64(value)
        case .bool:
            guard let value = FDIValue.bool(text) else { return nil }
            self = .bool(value)
        case .double:
            guard let value = FDIValue.double(text) else { return nil }
            self = .double(value)
        }
    }
}
