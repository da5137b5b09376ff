// SPDX-License-Identifier: Apache-2.0
/// The text form of a ``StoredDevice``: a GLib-style key file with one `[device]` group.
///
/// Every key is written every time, even when empty, and the file ends with a newline. Reading requires all of
/// them, so a file cut short at any byte is recognised as damaged instead of loading with defaults.
package enum DeviceKeyFile {
    /// The group that holds the record.
    static let group = "device"

    /// The keys in the order they are written.
    static let keys = [
        "uid", "status", "owner", "vendor", "model", "kind", "transport", "plugin", "datatypes",
        "stable-id", "first-seen", "last-seen",
    ]

    /// The file content for `device`.
    package static func encode(_ device: StoredDevice) -> String {
        var text = "# devsync device record; see docs/state.md\n[\(group)]\n"
        func line(_ key: String, _ value: String) { text += "\(key)=\(escape(value))\n" }
        line("uid", device.uid)
        line("status", device.status.rawValue)
        line("owner", device.owner ?? "")
        line("vendor", device.vendor)
        line("model", device.model)
        line("kind", device.kind)
        line("transport", device.transport.rawValue)
        line("plugin", device.plugin)
        text += "datatypes=\(device.datatypes.map { escape($0, inList: true) + ";" }.joined())\n"
        line("stable-id", device.stableId ? "true" : "false")
        line("first-seen", String(device.firstSeen))
        line("last-seen", String(device.lastSeen))
        return text
    }

    /// The record in `bytes`, or a sentence saying why they are not one.
    package static func decode(_ bytes: [UInt8]) -> Result<StoredDevice, DecodingFailure> {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(DecodingFailure("not valid UTF-8"))
        }
        guard text.utf8.last == UInt8(ascii: "\n") else {
            return .failure(DecodingFailure("does not end with a newline (cut short?)"))
        }
        var values: [String: String] = [:]
        var currentGroup: String?
        var lineNumber = 0
        // Scalars, not Characters: a value may begin with a combining mark, which would fuse with the `=`.
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            lineNumber += 1
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.first == "#" { continue }
            if line.first == "[" {
                guard line.last == "]" else { return .failure(DecodingFailure("bad group header", line: lineNumber)) }
                currentGroup = String(String.UnicodeScalarView(line.dropFirst().dropLast()))
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                return .failure(DecodingFailure("expected key=value", line: lineNumber))
            }
            // Keys of other groups belong to a later format version; they are kept out of this record.
            guard let currentGroup else { return .failure(DecodingFailure("key before [\(group)]", line: lineNumber)) }
            guard currentGroup == group else { continue }
            let keyScalars = line[..<equals].reversed().drop { $0 == " " || $0 == "\t" }.reversed()
            let key = String(String.UnicodeScalarView(keyScalars))
            guard values[key] == nil else { return .failure(DecodingFailure("duplicate key \(key)", line: lineNumber)) }
            values[key] = String(String.UnicodeScalarView(line[line.index(after: equals)...]))
        }
        for key in keys where values[key] == nil {
            return .failure(DecodingFailure("missing key \(key)"))
        }
        do throws(DecodingFailure) {
            func string(_ key: String) throws(DecodingFailure) -> String {
                guard let value = unescape(values[key]!, inList: false) else { throw DecodingFailure("bad escape in \(key)") }
                return value
            }
            func int(_ key: String) throws(DecodingFailure) -> Int64 {
                guard let value = Int64(values[key]!) else { throw DecodingFailure("\(key) is not an integer") }
                return value
            }
            guard let status = DeviceStatus(rawValue: try string("status")) else {
                throw DecodingFailure("unknown status \(values["status"]!)")
            }
            guard let transport = Transport(rawValue: try string("transport")) else {
                throw DecodingFailure("unknown transport \(values["transport"]!)")
            }
            let stableId: Bool
            switch values["stable-id"]! {
            case "true": stableId = true
            case "false": stableId = false
            default: throw DecodingFailure("stable-id is not true or false")
            }
            guard let datatypes = list(values["datatypes"]!) else { throw DecodingFailure("bad escape in datatypes") }
            let owner = try string("owner")
            return .success(
                StoredDevice(
                    uid: try string("uid"), status: status, owner: owner.isEmpty ? nil : owner,
                    vendor: try string("vendor"), model: try string("model"), kind: try string("kind"),
                    transport: transport, plugin: try string("plugin"), datatypes: datatypes,
                    firstSeen: try int("first-seen"), lastSeen: try int("last-seen"), stableId: stableId))
        } catch {
            return .failure(error)
        }
    }

    /// Why a file is not a device record.
    package struct DecodingFailure: Error, Sendable, Hashable, CustomStringConvertible {
        var reason: String
        var line: Int?

        init(_ reason: String, line: Int? = nil) {
            self.reason = reason
            self.line = line
        }

        package var description: String { line.map { "line \($0): \(reason)" } ?? reason }
    }

    // MARK: Escaping, as GLib's key files do it

    /// `value` with backslash, newline, tab, carriage return, a leading space and (in lists) `;` escaped.
    static func escape(_ value: String, inList: Bool = false) -> String {
        // Scalars, not Characters: "\r\n" is one Character and must still become two escapes.
        var result = ""
        for (offset, scalar) in value.unicodeScalars.enumerated() {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case " " where offset == 0: result += "\\s"
            case ";" where inList: result += "\\;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The text `escape` was given, or nil for an unknown or dangling escape.
    static func unescape(_ value: String, inList: Bool) -> String? {
        var result = String.UnicodeScalarView()
        var escaping = false
        for character in value.unicodeScalars {
            if escaping {
                switch character {
                case "\\": result.append("\\")
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                case "s": result.append(" ")
                case ";" where inList: result.append(";")
                default: return nil
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return escaping ? nil : String(result)
    }

    /// The elements of a `;`-terminated list value.
    static func list(_ value: String) -> [String]? {
        var elements: [String] = []
        var current = String.UnicodeScalarView()
        var escaping = false
        for character in value.unicodeScalars {
            if escaping {
                current.append("\\")
                current.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == ";" {
                guard let element = unescape(String(current), inList: true) else { return nil }
                elements.append(element)
                current = String.UnicodeScalarView()
            } else {
                current.append(character)
            }
        }
        if escaping { return nil }
        if !current.isEmpty {
            guard let element = unescape(String(current), inList: true) else { return nil }
            elements.append(element)
        }
        return elements
    }
}
