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
public struct DeviceRecord: Sendable, Hashable {
    /// The stable unique id (see ``DeviceIdentity``); file name and, escaped, D-Bus path element.
    public var uid: String
    /// `sync.vendor`, else `info.vendor`, else empty.
    public var vendor: String
    /// `sync.model`, else `info.product`, else empty.
    public var model: String
    /// `sync.kind` (`pda`, `phone` …), else empty.
    public var kind: String
    /// The transport the device came through.
    public var transport: Transport
    /// `sync.plugin`: the plugin that syncs it.
    public var plugin: String
    /// `sync.datatypes`: what it can sync.
    public var datatypes: [String]
    /// The user it syncs for, once approved (valid by `OwnerName`); nil while pending or rejected.
    public var owner: String?
    /// Pending, approved or rejected.
    public var status: DeviceStatus
    /// Whether it is attached now.
    public var present: Bool
    /// Whether the uid came from a serial or address (true) or from a descriptor hash (false), in which case
    /// an identical device may take its place.
    public var stableId: Bool
    /// When it was first seen, in seconds since the epoch.
    public var firstSeen: Int64
    /// When it last arrived or departed, in seconds since the epoch.
    public var lastSeen: Int64
    /// The last profile rule applied to it; nil while absent.
    public var profile: SourceLocation?
    /// The merged properties of its latest observation; empty while absent.
    public var properties: DeviceProperties
    /// The source keys (sysfs devpaths, BlueZ paths) it is seen through now, sorted; empty while absent.
    public var sourceKeys: [String]

    /// A record with every field given.
    public init(
        uid: String, vendor: String, model: String, kind: String, transport: Transport, plugin: String,
        datatypes: [String], owner: String?, status: DeviceStatus, present: Bool, stableId: Bool,
        firstSeen: Int64, lastSeen: Int64, profile: SourceLocation?, properties: DeviceProperties,
        sourceKeys: [String]
    ) {
        self.uid = uid
        self.vendor = vendor
        self.model = model
        self.kind = kind
        self.transport = transport
        self.plugin = plugin
        self.datatypes = datatypes
        self.owner = owner
        self.status = status
        self.present = present
        self.stableId = stableId
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.profile = profile
        self.properties = properties
        self.sourceKeys = sourceKeys
    }

    /// The sync actions its plugin and data types offer.
    public var actions: [SyncAction] { SyncAction.actions(plugin: plugin, datatypes: datatypes) }

    /// Whether the record lives in the store (approved or rejected) and so outlives its departure.
    public var isStored: Bool { status != .pending }
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
