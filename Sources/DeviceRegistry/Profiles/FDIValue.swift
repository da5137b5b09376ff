// SPDX-License-Identifier: Apache-2.0
/// How FDI spells typed values. Strict where HAL's `strtol` was lax: garbage is an error, not 0.
enum FDIValue {
    /// A decimal or `0x` hexadecimal integer with an optional sign, or nil.
    ///
    /// A decimal number with a leading zero is refused: HAL's `strtol(…, 0)` read it as octal, which is never
    /// what a profile author writing `0830` meant.
    static func integer(_ text: String) -> Int64? {
        var bytes = Substring(text).utf8.trimmingASCIIWhitespace()
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard let magnitude = unsigned(bytes) else { return nil }
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
        var bytes = Substring(text).utf8.trimmingASCIIWhitespace()
        if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        return unsigned(bytes)
    }

    /// Digits without a sign: `0x` hex or decimal without a leading zero; nil on overflow or anything else.
    private static func unsigned(_ digits: Substring.UTF8View) -> UInt64? {
        var digits = digits
        var radix: UInt64 = 10
        if digits.count > 2, digits.first == UInt8(ascii: "0"),
            digits.dropFirst().first == UInt8(ascii: "x") || digits.dropFirst().first == UInt8(ascii: "X")
        {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count > 1, digits.first == UInt8(ascii: "0") {
            return nil
        }
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: radix)
            let (sum, carry) = scaled.addingReportingOverflow(digit)
            if overflow || carry { return nil }
            value = sum
        }
        return value
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

extension Substring.UTF8View {
    /// The bytes without leading and trailing spaces, tabs and line breaks.
    func trimmingASCIIWhitespace() -> Substring.UTF8View {
        var result = self
        while let first = result.first, first.isASCIIWhitespace { result = result.dropFirst() }
        while let last = result.last, last.isASCIIWhitespace { result = result.dropLast() }
        return result
    }
}

extension UInt8 {
    var isASCIIWhitespace: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks.
    func trimmingASCIIWhitespace() -> String {
        let utf8 = self.utf8
        guard let firstByte = utf8.first, let lastByte = utf8.last,
            firstByte.isASCIIWhitespace || lastByte.isASCIIWhitespace
        else { return self }
        return String(Substring(self).utf8.trimmingASCIIWhitespace())!
    }

    /// Whether the string is empty or only spaces, tabs and line breaks.
    var isASCIIWhitespace: Bool { utf8.allSatisfy(\.isASCIIWhitespace) }
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
