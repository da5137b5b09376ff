import DBus
import DeviceRegistry

/// How a ``DeviceRecord`` looks on the bus: the `org.devsync.Broker1.Device` properties.
enum DeviceObject {
    /// The `Actions` type: (id, label, datatypes, available).
    static let actionsType: DBusType = "a(ssasb)"

    /// The declared properties, in contract order, with their types.
    static let propertyTypes: [(name: String, type: DBusType)] = [
        ("Uid", .string), ("Vendor", .string), ("Model", .string), ("Kind", .string), ("Transport", .string),
        ("Plugin", .string), ("DataTypes", "as"), ("Owner", .string), ("Status", .string), ("Present", .boolean),
        ("StableId", .boolean), ("FirstSeen", .uint64), ("LastSeen", .uint64), ("Profile", .string),
        ("Actions", actionsType), ("Properties", "a{sv}"),
    ]

    /// Every property of `record`; `actionsAvailable` says whether an engine of the owner handles its plugin.
    static func properties(of record: DeviceRecord, actionsAvailable: Bool) -> [String: DBusValue] {
        [
            "Uid": .string(record.uid),
            "Vendor": .string(record.vendor),
            "Model": .string(record.model),
            "Kind": .string(record.kind),
            "Transport": .string(record.transport.rawValue),
            "Plugin": .string(record.plugin),
            "DataTypes": .strings(record.datatypes),
            "Owner": .string(record.owner ?? ""),
            "Status": .string(record.status.rawValue),
            "Present": .bool(record.present),
            "StableId": .bool(record.stableId),
            "FirstSeen": .uint64(UInt64(clamping: record.firstSeen)),
            "LastSeen": .uint64(UInt64(clamping: record.lastSeen)),
            "Profile": .string(record.profile.map { "\($0.file):\($0.line)" } ?? ""),
            "Actions": actions(record.actions, available: actionsAvailable),
            "Properties": typed(record.properties),
        ]
    }

    /// The `Actions` value.
    static func actions(_ actions: [SyncAction], available: Bool) -> DBusValue {
        .array(
            .structure([.string, .string, .array(.string), .boolean]),
            actions.map { .structure([.string($0.id), .string($0.label), .strings($0.datatypes), .bool(available)]) })
    }

    /// A property set as `a{sv}`: string→s, int→i, uint64→t, bool→b, double→d, strlist→as.
    static func typed(_ properties: DeviceProperties, extra: [String: DBusValue] = [:]) -> DBusValue {
        var entries: [String: DBusValue] = [:]
        entries.reserveCapacity(properties.count + extra.count)
        for (key, value) in properties { entries[key] = typed(value) }
        entries.merge(extra) { _, new in new }
        return .vardict(entries)
    }

    /// One property value on the wire.
    static func typed(_ value: PropertyValue) -> DBusValue {
        switch value {
        case .string(let text): .string(text)
        case .int(let number): .int32(number)
        case .uint64(let number): .uint64(number)
        case .bool(let flag): .bool(flag)
        case .double(let number): .double(number)
        case .strlist(let list): .strings(list)
        }
    }
}
