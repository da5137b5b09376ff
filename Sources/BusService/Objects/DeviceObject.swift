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

    /// The declared properties, made once: each device object holds these declarations (shared, not copied)
    /// with its own values (``DBusProperty/storing(_:)``). The `false` each is made with is never published.
    static let declarations: [DBusProperty] = propertyTypes.map { property in
        DBusProperty(property.name, type: property.type, value: .bool(false)).emitting(property.emits)
    }

    /// Every property of `record`; `availableActions` are the ids of the actions an engine of the owner can run,
    /// and `suggestedOwner` is the user its ApprovalRequested named (published only while the device is pending).
    ///
    /// `Properties` and `Actions` are kept deferred: built from the record's own property set, plugin and data
    /// types whenever a client reads them, instead of held as a second copy in D-Bus form, which cost about
    /// 6 KiB per device (docs/benchmarks.md, "Memory per device").
    static func properties(
        of record: DeviceRecord, availableActions: Set<String>, suggestedOwner: String?
    ) -> [String: DBusStoredValue] {
        let properties = record.properties
        let plugin = record.plugin
        let datatypes = record.datatypes
        return [
            "Uid": DBusStoredValue(.string(record.uid)),
            "Vendor": DBusStoredValue(.string(record.vendor)),
            "Model": DBusStoredValue(.string(record.model)),
            "Kind": DBusStoredValue(.string(record.kind)),
            "Transport": DBusStoredValue(.string(record.transport.rawValue)),
            "Plugin": DBusStoredValue(.string(record.plugin)),
            "DataTypes": DBusStoredValue(.strings(record.datatypes)),
            "Owner": DBusStoredValue(.string(record.owner ?? "")),
            "SuggestedOwner": DBusStoredValue(.string(record.status == .pending ? suggestedOwner ?? "" : "")),
            "Status": DBusStoredValue(.string(record.status.rawValue)),
            "Present": DBusStoredValue(.bool(record.present)),
            "StableId": DBusStoredValue(.bool(record.stableId)),
            "FirstSeen": DBusStoredValue(.uint64(UInt64(clamping: record.firstSeen))),
            "LastSeen": DBusStoredValue(.uint64(UInt64(clamping: record.lastSeen))),
            "Profile": DBusStoredValue(.string(record.profile.map { "\($0.file):\($0.line)" } ?? "")),
            "Actions": .deferred {
                actions(SyncAction.actions(plugin: plugin, datatypes: datatypes), available: availableActions)
            },
            "Properties": .deferred { typed(properties) },
        ]
    }

    /// The `Actions` value.
    static func actions(_ actions: [SyncAction], available: Set<String>) -> DBusValue {
        .array(
            .structure([.string, .string, .array(.string), .boolean]),
            actions.map {
                .structure([.string($0.id), .string($0.label), .strings($0.datatypes), .bool(available.contains($0.id))])
            })
    }

    /// A property set as `a{sv}`: string→s, int→i, uint64→t, bool→b, double→d, strlist→as.
    static func typed(_ properties: DeviceProperties, extra: [String: DBusValue] = [:]) -> DBusValue {
        // Straight into the a{sv}'s own dictionary: it is built for every InterfacesAdded, GetManagedObjects entry
        // and change check, and a [String: DBusValue] first, rehashed into this one by `.vardict`, cost a second
        // dictionary each time.
        var entries: [DBusValue: DBusValue] = [:]
        entries.reserveCapacity(properties.count + extra.count)
        for (key, value) in properties { entries[.string(key)] = .variant(typed(value)) }
        for (key, value) in extra { entries[.string(key)] = .variant(value) }
        return .dictionary(key: .string, value: .variant, entries)
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
