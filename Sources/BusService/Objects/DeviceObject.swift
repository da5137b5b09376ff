// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry

/// How a ``DeviceRecord`` looks on the bus: the `org.devsync.Broker1.Device` properties.
enum DeviceObject {
    /// The `Actions` type: (id, label, datatypes, available).
    static let actionsType: DBusType = "a(ssasb)"

    /// The declared properties, in contract order, with their types and how their changes are signalled.
    ///
    /// The uid names the object, and the transport is the uid's first element (`usb-`, `bt-`): both are
    /// constant. Everything else may change (a re-plug, a decision, a profile reload) and is signalled.
    static let propertyTypes: [(name: String, type: DBusType, emits: DBusProperty.EmitsChangedSignal)] = [
        ("Uid", .string, .const), ("Vendor", .string, .true), ("Model", .string, .true), ("Kind", .string, .true),
        ("Transport", .string, .const), ("Plugin", .string, .true), ("DataTypes", "as", .true),
        ("Owner", .string, .true), ("SuggestedOwner", .string, .true), ("Status", .string, .true),
        ("Present", .boolean, .true),
        ("StableId", .boolean, .true), ("FirstSeen", .uint64, .true), ("LastSeen", .uint64, .true),
        ("Profile", .string, .true), ("Actions", actionsType, .true), ("Properties", "a{sv}", .true),
    ]

    /// Every property of `record`; `actionsAvailable` says whether an engine of the owner handles its plugin, and
    /// `suggestedOwner` is the user its ApprovalRequested named (published only while the device is pending).
    static func properties(of record: DeviceRecord, actionsAvailable: Bool, suggestedOwner: String?) -> [String: DBusValue] {
        [
            "Uid": .string(record.uid),
            "Vendor": .string(record.vendor),
            "Model": .string(record.model),
            "Kind": .string(record.kind),
            "Transport": .string(record.transport.rawValue),
            "Plugin": .string(record.plugin),
            "DataTypes": .strings(record.datatypes),
            "Owner": .string(record.owner ?? ""),
            "SuggestedOwner": .string(record.status == .pending ? suggestedOwner ?? "" : ""),
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
