// SPDX-License-Identifier: Apache-2.0
/// What the store keeps about one known device: enough to recognise it, honour its approval and list it while
/// it is absent. `docs/state.md` describes the file.
public struct StoredDevice: Sendable, Hashable {
    /// The device's unique id, also its file name.
    public var uid: String
    /// Whether the device is approved or rejected.
    public var status: DeviceStatus
    /// The user the device syncs for, if approved for one.
    public var owner: String?
    /// The vendor name as last matched.
    public var vendor: String
    /// The model name as last matched.
    public var model: String
    /// The device kind (`pda`, `phone` …), empty if no profile said.
    public var kind: String
    /// The transport the device came through.
    public var transport: Transport
    /// The sync plugin as last matched.
    public var plugin: String
    /// The data types as last matched.
    public var datatypes: [String]
    /// When the device was first seen, in seconds since the epoch.
    public var firstSeen: Int64
    /// When the device was last present, in seconds since the epoch.
    public var lastSeen: Int64
    /// Whether the uid came from a serial or address rather than a descriptor hash.
    public var stableId: Bool

    /// A stored device with every field given.
    public init(
        uid: String, status: DeviceStatus, owner: String?, vendor: String, model: String, kind: String,
        transport: Transport, plugin: String, datatypes: [String], firstSeen: Int64, lastSeen: Int64,
        stableId: Bool
    ) {
        self.uid = uid
        self.status = status
        self.owner = owner
        self.vendor = vendor
        self.model = model
        self.kind = kind
        self.transport = transport
        self.plugin = plugin
        self.datatypes = datatypes
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.stableId = stableId
    }
}

extension StoredDevice {
    /// Why this record must not be stored or loaded, as a sentence, or nil if it is sound.
    ///
    /// The same check guards both ends: ``Registry/approve(uid:owner:)`` refuses what fails it, and
    /// ``DeviceStore/loadAll()`` moves a file failing it aside instead of loading it. An approved device has a
    /// valid owner (``OwnerName``); a rejected one has none (rejecting clears it, and a stale owner would keep
    /// the right to approve it again); every text field is what ``DeviceText/sanitize(_:)`` produces (bounded, no
    /// control or format characters), since it is published while the device is absent.
    public var problem: String? {
        guard DeviceIdentity.isValid(uid) else { return "\"\(uid)\" is not a valid device uid" }
        switch status {
        case .approved:
            guard let owner else { return "an approved device needs an owner" }
            if let problem = OwnerName.problem(owner) { return "the owner \(problem)" }
        case .rejected:
            if owner != nil { return "a rejected device has no owner" }
        case .pending:
            return "a pending device is never stored"
        }
        for (key, value) in [("vendor", vendor), ("model", model), ("kind", kind), ("plugin", plugin)]
        where !DeviceText.isClean(value) {
            return "\(key) is longer than \(DeviceText.maximumStringBytes) bytes or contains control or format characters"
        }
        guard datatypes.count <= DeviceText.maximumListCount, datatypes.allSatisfy(DeviceText.isClean) else {
            return "datatypes has more than \(DeviceText.maximumListCount) elements, or an unclean one"
        }
        return nil
    }
}
