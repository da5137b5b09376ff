// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import FoundationEssentials
import Glibc

/// Output helpers shared by the verbs: human tables on a terminal, JSON for scripts.
enum Output {
    /// Whether standard output is a terminal.
    static var isTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

    /// Prints `value` as pretty, key-sorted JSON.
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    /// Prints `value` as one line of key-sorted JSON, for streams of events.
    static func jsonLine(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    /// Seconds since the epoch as `2026-11-22 04:05:06 UTC`; 0 is "never".
    ///
    /// By hand rather than with Foundation's DateFormatter, which would link ICU into the static binary (tens of
    /// megabytes) for one fixed, locale-free format.
    static func date(_ seconds: UInt64) -> String {
        guard seconds > 0 else { return "never" }
        var time = time_t(clamping: seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "\(seconds)" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    /// Writes a line to standard error.
    static func error(_ line: String) {
        write(line + "\n", to: STDERR_FILENO)
    }

    /// Writes `text` to a file descriptor unbuffered (after flushing what `print` buffered).
    static func write(_ text: String, to descriptor: Int32) {
        fflush(nil)
        var text = text
        text.withUTF8 { bytes in
            var rest = UnsafeRawBufferPointer(bytes)
            while !rest.isEmpty {
                let written = Glibc.write(descriptor, rest.baseAddress, rest.count)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }
    }

    /// Prints rows with columns padded to line up; the last column is not padded.
    static func table(_ rows: [[String]], header: [String]? = nil) {
        let all = (header.map { [$0] } ?? []) + rows
        guard let columns = all.map(\.count).max(), columns > 0 else { return }
        var widths = [Int](repeating: 0, count: columns)
        for row in all {
            for (column, cell) in row.enumerated() where column < columns - 1 { widths[column] = max(widths[column], cell.count) }
        }
        for row in all {
            let cells = row.enumerated().map { column, cell in
                column < columns - 1 ? cell + String(repeating: " ", count: max(widths[column] - cell.count, 0)) : cell
            }
            var line = cells.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            print(line)
        }
    }
}

/// A property value as JSON: its FDI type and its value.
struct JSONProperty: Encodable {
    var type: String
    var value: JSONValue

    init(_ value: PropertyValue) {
        type = value.type.rawValue
        self.value =
            switch value {
            case .string(let text): .string(text)
            case .int(let number): .integer(Int64(number))
            case .uint64(let number): .unsigned(number)
            case .bool(let flag): .bool(flag)
            case .double(let number): .double(number)
            case .strlist(let list): .list(list)
            }
    }

    enum JSONValue: Encodable {
        case string(String), integer(Int64), unsigned(UInt64), bool(Bool), double(Double), list([String])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .unsigned(let value): try container.encode(value)
            case .bool(let value): try container.encode(value)
            case .double(let value): try container.encode(value)
            case .list(let value): try container.encode(value)
            }
        }
    }
}

/// A profile error as JSON.
struct JSONProfileError: Encodable {
    var file: String
    var line: Int
    var column: Int
    var code: String
    var message: String

    init(_ error: ProfileError) {
        file = error.location.file
        line = error.location.line
        column = error.location.column
        code = error.code.description
        message = error.message
    }
}

extension PropertyValue {
    /// The value as `devsyncctl` shows it: ids in hex, strings quoted when they would be ambiguous.
    func displayed(key: String) -> String {
        switch self {
        case .int(let value) where key.hasSuffix("_id") || key.hasSuffix(".class"):
            "0x" + String(UInt32(bitPattern: value), radix: 16, uppercase: false).leftPadded(to: 4)
        case .strlist(let list): "[" + list.joined(separator: ", ") + "]"
        default: description
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
