// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry
import FoundationEssentials

/// A device as the broker publishes it: the Device interface's properties, read once.
struct Device: Sendable {
    /// One sync action of the device's `Actions` property.
    struct Action: Sendable, Encodable {
        var id: String
        var label: String
        var dataTypes: [String]
        var available: Bool
    }

    var path: DBusObjectPath
    var properties: [String: DBusValue]

    var uid: String { string("Uid") }
    var vendor: String { string("Vendor") }
    var model: String { string("Model") }
    var kind: String { string("Kind") }
    var transport: String { string("Transport") }
    var plugin: String { string("Plugin") }
    var owner: String { string("Owner") }
    var status: String { string("Status") }
    var profile: String { string("Profile") }
    var present: Bool { properties["Present"]?.bool ?? false }
    var stableId: Bool { properties["StableId"]?.bool ?? false }
    var dataTypes: [String] { properties["DataTypes"]?.arrayElements?.compactMap(\.string) ?? [] }
    var firstSeen: UInt64 { properties["FirstSeen"]?.uint64 ?? 0 }
    var lastSeen: UInt64 { properties["LastSeen"]?.uint64 ?? 0 }

    /// Vendor and model for people: "Palm Tungsten T", and "Nokia 6021" rather than "Nokia Nokia 6021" when the
    /// model (a Bluetooth name, often) already begins with the vendor.
    var name: String {
        if !vendor.isEmpty, model.lowercased().hasPrefix(vendor.lowercased()) { return model }
        return [vendor, model].filter { !$0.isEmpty }.joined(separator: " ")
    }

    var actions: [Action] {
        (properties["Actions"]?.arrayElements ?? []).compactMap { element in
            guard let fields = element.structureFields, fields.count == 4 else { return nil }
            return Action(
                id: fields[0].string ?? "", label: fields[1].string ?? "",
                dataTypes: fields[2].arrayElements?.compactMap(\.string) ?? [], available: fields[3].bool ?? false)
        }
    }

    /// The merged device properties (`usb.*`, `sync.*` …) as text, FDI-typed ones as `profiles match` prints them.
    var displayedProperties: [(key: String, value: String)] {
        (properties["Properties"]?.stringDictionary ?? [:]).map { key, value in
            (key, PropertyValue(value)?.displayed(key: key) ?? JSONValue(value).text)
        }.sorted { $0.key < $1.key }
    }

    private func string(_ name: String) -> String { properties[name]?.string ?? "" }

    /// The device for `--json`: every property under its D-Bus name in lower camel case, and its object path.
    var json: JSONValue {
        var object: [String: JSONValue] = ["path": .string(path.rawValue)]
        for (name, value) in properties {
            switch name {
            case "Actions":
                object["actions"] = .array(actions.map { action in
                    .object([
                        "id": .string(action.id), "label": .string(action.label),
                        "dataTypes": .array(action.dataTypes.map(JSONValue.string)), "available": .bool(action.available),
                    ])
                })
            default: object[name.lowerCamelCased] = JSONValue(value)
            }
        }
        return .object(object)
    }
}

extension PropertyValue {
    /// The FDI value a Properties entry carries, as the broker typed it.
    init?(_ value: DBusValue) {
        switch value.unwrapped {
        case .string(let text): self = .string(text)
        case .int32(let number): self = .int(number)
        case .uint64(let number): self = .uint64(number)
        case .bool(let flag): self = .bool(flag)
        case .double(let number): self = .double(number)
        case .array(.string, let elements): self = .strlist(elements.compactMap(\.string))
        default: return nil
        }
    }
}

extension String {
    /// "DataTypes" → "dataTypes", "StableId" → "stableId".
    var lowerCamelCased: String {
        guard let first else { return self }
        return first.lowercased() + dropFirst()
    }
}

/// A JSON value built from D-Bus values; object keys are printed sorted.
enum JSONValue: Encodable, Sendable {
    case string(String), integer(Int64), unsigned(UInt64), double(Double), bool(Bool), null
    case array([JSONValue]), object([String: JSONValue])

    init(_ value: DBusValue) {
        switch value.unwrapped {
        case .byte(let v): self = .unsigned(UInt64(v))
        case .bool(let v): self = .bool(v)
        case .int16(let v): self = .integer(Int64(v))
        case .uint16(let v): self = .unsigned(UInt64(v))
        case .int32(let v): self = .integer(Int64(v))
        case .uint32(let v): self = .unsigned(UInt64(v))
        case .int64(let v): self = .integer(v)
        case .uint64(let v): self = .unsigned(v)
        case .double(let v): self = .double(v)
        case .string(let v): self = .string(v)
        case .objectPath(let v): self = .string(v.rawValue)
        case .signature(let v): self = .string("\(v)")
        case .unixFD: self = .null
        case .array(_, let elements): self = .array(elements.map(JSONValue.init))
        case .structure(let fields): self = .array(fields.map(JSONValue.init))
        case .dictionary(_, _, let entries):
            var object: [String: JSONValue] = [:]
            for (key, value) in entries {
                let name: String =
                    switch key.unwrapped {
                    case .string(let text): text
                    case .objectPath(let path): path.rawValue
                    default: key.description
                    }
                object[name] = JSONValue(value)
            }
            self = .object(object)
        case .variant(let inner): self = JSONValue(inner)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let v): try container.encode(v)
        case .integer(let v): try container.encode(v)
        case .unsigned(let v): try container.encode(v)
        case .double(let v): try container.encode(v)
        case .bool(let v): try container.encode(v)
        case .null: try container.encodeNil()
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }
}

extension JSONValue {
    /// The value as a line of text shows it: strings quoted when empty or spaced, fractions as percentages.
    var text: String {
        switch self {
        case .string(let v): v.isEmpty || v.contains(" ") ? "\"\(v)\"" : v
        case .integer(let v): "\(v)"
        case .unsigned(let v): "\(v)"
        case .double(let v): "\(Int((v * 100).rounded()))%"
        case .bool(let v): v ? "yes" : "no"
        case .null: "null"
        case .array(let v): v.map(\.text).joined(separator: ",")
        case .object(let v): "{" + v.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.text)" }.joined(separator: ", ") + "}"
        }
    }
}
