// SPDX-License-Identifier: Apache-2.0
/// Where a device stands with the user: the registry's three states.
public enum DeviceStatus: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Seen, not yet decided on; never stored.
    case pending
    /// Approved for syncing for an owner.
    case approved
    /// Refused; stays refused until forgotten.
    case rejected

    /// The status as the D-Bus API and the store spell it.
    public var description: String { rawValue }
}

/// Everything the registry knows about one sync device, present or stored.
///
/// The fields live in one shared, copy-on-write box: the registry, the broker and every event hold the same record
/// by reference, instead of a copy of its 200-odd bytes each (docs/benchmarks.md, issue 17).
public struct DeviceRecord: Sendable {
    /// The fields, as the record held them inline before.
    fileprivate struct Fields: Sendable, Hashable {
        var uid: String
        var vendor: String
        var model: String
        var kind: String
        var transport: Transport
        var plugin: String
        var datatypes: [String]
        var owner: String?
        var status: DeviceStatus
        var present: Bool
        var stableId: Bool
        var firstSeen: Int64
        var lastSeen: Int64
        var profile: SourceLocation?
        var properties: DeviceProperties
        var sourceKeys: [String]
    }

    /// The box the fields are kept in.
    ///
    /// `@unchecked Sendable`: its fields are written only through ``DeviceRecord/update(_:)``, which first copies a
    /// box that is not uniquely referenced, so a box reachable from more than one record (or thread) is never
    /// written.
    fileprivate final class Storage: @unchecked Sendable {
        var fields: Fields

        init(_ fields: Fields) { self.fields = fields }
    }

    private var storage: Storage

    /// Changes the fields, copying them first if another record shares them.
    private mutating func update(_ change: (inout Fields) -> Void) {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.fields) }
        change(&storage.fields)
    }

    /// The stable unique id (see ``DeviceIdentity``); file name and, escaped, D-Bus path element.
    public var uid: String {
        get { storage.fields.uid }
        set { update { $0.uid = newValue } }
    }
    /// `sync.vendor`, else `info.vendor`, else empty.
    public var vendor: String {
        get { storage.fields.vendor }
        set { update { $0.vendor = newValue } }
    }
    /// `sync.model`, else `info.product`, else empty.
    public var model: String {
        get { storage.fields.model }
        set { update { $0.model = newValue } }
    }
    /// `sync.kind` (`pda`, `phone` …), else empty.
    public var kind: String {
        get { storage.fields.kind }
        set { update { $0.kind = newValue } }
    }
    /// The transport the device came through.
    public var transport: Transport {
        get { storage.fields.transport }
        set { update { $0.transport = newValue } }
    }
    /// `sync.plugin`: the plugin that syncs it.
    public var plugin: String {
        get { storage.fields.plugin }
        set { update { $0.plugin = newValue } }
    }
    /// `sync.datatypes`: what it can sync.
    public var datatypes: [String] {
        get { storage.fields.datatypes }
        set { update { $0.datatypes = newValue } }
    }
    /// The user it syncs for, once approved (valid by `OwnerName`); nil while pending or rejected.
    public var owner: String? {
        get { storage.fields.owner }
        set { update { $0.owner = newValue } }
    }
    /// Pending, approved or rejected.
    public var status: DeviceStatus {
        get { storage.fields.status }
        set { update { $0.status = newValue } }
    }
    /// Whether it is attached now.
    public var present: Bool {
        get { storage.fields.present }
        set { update { $0.present = newValue } }
    }
    /// Whether the uid came from a serial or address (true) or from a descriptor hash (false), in which case
    /// an identical device may take its place.
    public var stableId: Bool {
        get { storage.fields.stableId }
        set { update { $0.stableId = newValue } }
    }
    /// When it was first seen, in seconds since the epoch.
    public var firstSeen: Int64 {
        get { storage.fields.firstSeen }
        set { update { $0.firstSeen = newValue } }
    }
    /// When it last arrived or departed, in seconds since the epoch.
    public var lastSeen: Int64 {
        get { storage.fields.lastSeen }
        set { update { $0.lastSeen = newValue } }
    }
    /// The last profile rule applied to it; nil while absent.
    public var profile: SourceLocation? {
        get { storage.fields.profile }
        set { update { $0.profile = newValue } }
    }
    /// The merged properties of its latest observation; empty while absent.
    public var properties: DeviceProperties {
        get { storage.fields.properties }
        set { update { $0.properties = newValue } }
    }
    /// The source keys (sysfs devpaths, BlueZ paths) it is seen through now, sorted; empty while absent.
    public var sourceKeys: [String] {
        get { storage.fields.sourceKeys }
        set { update { $0.sourceKeys = newValue } }
    }

    /// A record with every field given.
    public init(
        uid: String, vendor: String, model: String, kind: String, transport: Transport, plugin: String,
        datatypes: [String], owner: String?, status: DeviceStatus, present: Bool, stableId: Bool,
        firstSeen: Int64, lastSeen: Int64, profile: SourceLocation?, properties: DeviceProperties,
        sourceKeys: [String]
    ) {
        storage = Storage(
            Fields(
                uid: uid, vendor: vendor, model: model, kind: kind, transport: transport, plugin: plugin,
                datatypes: datatypes, owner: owner, status: status, present: present, stableId: stableId,
                firstSeen: firstSeen, lastSeen: lastSeen, profile: profile, properties: properties,
                sourceKeys: sourceKeys))
    }

    /// The sync actions its plugin and data types offer.
    public var actions: [SyncAction] { SyncAction.actions(plugin: plugin, datatypes: datatypes) }

    /// Whether the record lives in the store (approved or rejected) and so outlives its departure.
    public var isStored: Bool { status != .pending }
}

extension DeviceRecord: Hashable {
    /// Equal when every field is, whether or not the two share their box.
    public static func == (lhs: DeviceRecord, rhs: DeviceRecord) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.fields == rhs.storage.fields
    }

    /// Hashes every field.
    public func hash(into hasher: inout Hasher) { hasher.combine(storage.fields) }
}

extension DeviceRecord {
    /// The record of a stored device that is not attached.
    init(stored: StoredDevice) {
        self.init(
            uid: stored.uid, vendor: stored.vendor, model: stored.model, kind: stored.kind,
            transport: stored.transport, plugin: stored.plugin, datatypes: stored.datatypes, owner: stored.owner,
            status: stored.status, present: false, stableId: stored.stableId, firstSeen: stored.firstSeen,
            lastSeen: stored.lastSeen, profile: nil, properties: DeviceProperties(), sourceKeys: [])
    }

    /// What the store keeps of this record.
    var stored: StoredDevice {
        StoredDevice(
            uid: uid, status: status, owner: owner, vendor: vendor, model: model, kind: kind, transport: transport,
            plugin: plugin, datatypes: datatypes, firstSeen: firstSeen, lastSeen: lastSeen, stableId: stableId)
    }
}
