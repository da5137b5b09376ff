// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// The set of sync devices and the decisions about them: the domain state machine between the sources (udev,
/// BlueZ) and the bus.
///
/// It turns ``SourceEvent``s into ``DeviceRecord``s by applying the profiles (through a ``DeviceMatcher``) and
/// computing each device's ``DeviceIdentity``; it keeps approvals in a ``DeviceStore``; it reports every change
/// as a ``RegistryEvent``.
///
/// Rules, in the field's words:
/// - A device whose merged properties have `sync.ignore=true`, or no `sync.plugin`, is not a sync device. It is
///   kept out of the registry (logged at debug), but remembered, so that a later change or a profile reload
///   that makes it one brings it in.
/// - One physical device is one record, whatever number of source keys it is seen through: a second
///   observation with the same stable uid joins the record (a `changed` event, not a second `arrived`).
/// - Devices without a serial or address get a descriptor-hash uid, which identical devices share. Since
///   nothing tells them apart, a second one present at the same time gets `<uid>-2` (then `-3` …), and is as
///   unstable as the first: which of two identical devices gets which id depends on arrival order.
/// - An unknown device is `pending` and not stored; it leaves the registry when it departs. Approving or
///   rejecting stores it; a stored device is listed while absent and comes back with its status and owner.
/// - Transitions: pending → approved | rejected, approved → rejected, rejected → approved; anything else is
///   ``RegistryError/Code-swift.struct/badState``. `forget` deletes the stored record: an absent device leaves
///   the registry, a present one becomes pending again and asks for approval anew.
///
/// An actor: sources call ``handle(_:)``, the bus service queries and decides, and each runs in order.
public actor Registry {
    private struct AttachmentKey: Hashable {
        var transport: Transport
        var sourceKey: String
    }

    /// One source key's current observation and what became of it.
    private struct Attachment {
        var observation: DeviceObservation
        var outcome: MatchOutcome
        /// Nil when the observation is not a sync device.
        var identity: DeviceIdentity?
        /// The record it belongs to; differs from `identity.uid` for the second of two identical devices.
        var uid: String?
        /// When it was last applied, in registry order; the latest gives the record its properties.
        var sequence: Int
    }

    private let store: DeviceStore
    private var matcher: any DeviceMatcher
    private let ownerSuggester: (any OwnerSuggesting)?
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let broadcast = RegistryEventBroadcast()

    private var records: [String: DeviceRecord] = [:]
    private var attachments: [AttachmentKey: Attachment] = [:]
    private var sequence = 0
    /// Records to store at the end of a ``handle(contentsOf:)`` batch, by uid; nil outside one.
    private var batchedWrites: [String: StoredDevice]?

    /// The wall clock in whole seconds since the epoch.
    public static let systemClock: @Sendable () -> Int64 = { Int64(time(nil)) }

    /// A registry over `store`, listing every stored device as absent until a source reports it.
    ///
    /// - Parameters:
    ///   - matcher: applies the profiles to each observation.
    ///   - ownerSuggester: proposes an owner in approval requests; nil for no suggestion.
    ///   - clock: seconds since the epoch, for `firstSeen`/`lastSeen`; tests pass a fixed one.
    public init(
        store: DeviceStore, matcher: any DeviceMatcher, ownerSuggester: (any OwnerSuggesting)? = nil,
        clock: @escaping @Sendable () -> Int64 = Registry.systemClock, logger: Logger
    ) throws(StoreError) {
        self.store = store
        self.matcher = matcher
        self.ownerSuggester = ownerSuggester
        self.clock = clock
        self.logger = logger
        var loaded: [String: DeviceRecord] = [:]
        // The store loads only records that pass `StoredDevice.problem`, the check decisions pass: no pending
        // status, an approved device's owner valid as `approve` requires.
        for stored in try store.loadAll() {
            loaded[stored.uid] = DeviceRecord(stored: stored)
        }
        records = loaded
        logger.debug("Loaded stored devices", metadata: ["count": "\(loaded.count)", "state": "\(store.directory)"])
    }

    /// A registry over the state directory at `stateDirectory` (created if missing).
    public init(
        stateDirectory: String, matcher: any DeviceMatcher, ownerSuggester: (any OwnerSuggesting)? = nil,
        clock: @escaping @Sendable () -> Int64 = Registry.systemClock, logger: Logger
    ) throws(StoreError) {
        try self.init(
            store: try DeviceStore(directory: stateDirectory, logger: logger), matcher: matcher,
            ownerSuggester: ownerSuggester, clock: clock, logger: logger)
    }

    // MARK: Observing

    /// A new stream of every event from now on; any number of subscribers may listen. Ends at
    /// ``finishEvents()`` or when the subscriber stops iterating.
    public nonisolated func events() -> AsyncStream<RegistryEvent> { broadcast.subscribe() }

    /// The current devices and a stream of every later event, with nothing lost or repeated in between.
    public func devicesAndEvents() -> (devices: [DeviceRecord], events: AsyncStream<RegistryEvent>) {
        (devices(), broadcast.subscribe())
    }

    /// Ends every event stream (at shutdown).
    public nonisolated func finishEvents() { broadcast.finish() }

    /// The number of live event subscribers.
    public nonisolated var subscriberCount: Int { broadcast.count }

    // MARK: Queries

    /// Every listed device (present, or stored and absent), sorted by uid.
    public func devices() -> [DeviceRecord] { records.values.sorted { $0.uid < $1.uid } }

    /// The device with exactly this uid.
    public func device(uid: String) -> DeviceRecord? { records[uid] }

    /// The devices whose uid starts with `prefix`, sorted by uid.
    public func devices(uidPrefix prefix: String) -> [DeviceRecord] {
        records.values.filter { $0.uid.hasPrefix(prefix) }.sorted { $0.uid < $1.uid }
    }

    /// The device `text` names: the one with exactly that uid, else the only one whose uid starts with it (as
    /// `boltctl` accepts abbreviated uids).
    public func device(matching text: String) throws(RegistryError) -> DeviceRecord {
        if let record = records[text] { return record }
        let candidates = devices(uidPrefix: text)
        switch candidates.count {
        case 1: return candidates[0]
        case 0: throw RegistryError(code: .noSuchDevice, uid: text, message: "No device has a uid starting with \"\(text)\".")
        default:
            throw RegistryError(
                code: .ambiguousDevice, uid: text,
                message: "\(candidates.count) devices have a uid starting with \"\(text)\"; give more of it.")
        }
    }

    // MARK: Sources

    /// Applies one source event: an arrival, a change or a departure.
    public func handle(_ event: SourceEvent) {
        switch event {
        case .arrived(let observation), .changed(let observation):
            apply(observation, outcome: matcher.match(observation.properties))
        case .departed(let transport, let sourceKey):
            let key = AttachmentKey(transport: transport, sourceKey: sourceKey)
            guard attachments[key] != nil else {
                logger.debug("Departure of an unknown source", metadata: ["source": "\(sourceKey)"])
                return
            }
            detach(key)
        }
    }

    /// Applies source events in order, as ``handle(_:)`` one by one would, in one visit to the actor (the
    /// cold-plug of hundreds of devices at start).
    ///
    /// The known devices among them are stored once the batch is applied, each file still replaced atomically
    /// but with one fsync of the state directory for all of them, not one per device; the files are written
    /// when this returns.
    public func handle(contentsOf events: [SourceEvent]) {
        batchedWrites = [:]
        for event in events { handle(event) }
        let writes = batchedWrites ?? [:]
        batchedWrites = nil
        guard !writes.isEmpty else { return }
        for failure in store.save(contentsOf: writes.values.sorted { $0.uid < $1.uid }) {
            logger.error("Cannot store device", metadata: ["uid": "\(failure.uid)", "error": "\(failure.error)"])
        }
    }

    /// Re-applies the profiles, now through `matcher`, to every present device (at SIGHUP). A device can
    /// become or stop being a sync device, or change uid, and the events say so.
    public func reload(matcher: any DeviceMatcher) {
        self.matcher = matcher
        var rematched = 0
        for attachment in attachments.values.sorted(by: { $0.sequence < $1.sequence }) {
            let outcome = matcher.match(attachment.observation.properties)
            guard outcome != attachment.outcome else { continue }
            rematched += 1
            apply(attachment.observation, outcome: outcome)
        }
        logger.info("Profiles reloaded", metadata: ["present": "\(attachments.count)", "changed": "\(rematched)"])
    }

    // MARK: Decisions

    /// Approves the device `uid` for `owner` (a user name, valid by ``OwnerName``) and stores the decision.
    ///
    /// Allowed from pending and rejected. Returns the updated record.
    @discardableResult
    public func approve(uid: String, owner: String) throws(RegistryError) -> DeviceRecord {
        var record = try existing(uid)
        guard record.status != .approved else {
            throw RegistryError(
                code: .badState, uid: uid,
                message: "Device \(uid) is already approved; forget it first to approve it for another owner.")
        }
        if let problem = OwnerName.problem(owner) {
            // The message shows the name sanitized: it may hold the very characters it is refused for.
            throw RegistryError(
                code: .invalidArgument, uid: uid,
                message: "\"\(DeviceText.sanitize(owner))\" is not a usable owner name: it \(problem).")
        }
        record.status = .approved
        record.owner = owner
        try decide(record)
        logger.info(
            "Device approved",
            metadata: ["uid": "\(uid)", "owner": "\(owner)", "plugin": "\(record.plugin)",
                       "message-id": "\(LogMessageID.deviceApproved)"])
        return record
    }

    /// Rejects the device `uid` and stores the decision; it stays rejected when it comes back.
    ///
    /// Allowed from pending and approved (which revokes the approval). Returns the updated record.
    @discardableResult
    public func reject(uid: String) throws(RegistryError) -> DeviceRecord {
        var record = try existing(uid)
        guard record.status != .rejected else {
            throw RegistryError(code: .badState, uid: uid, message: "Device \(uid) is already rejected.")
        }
        record.status = .rejected
        record.owner = nil
        try decide(record)
        logger.info(
            "Device rejected",
            metadata: ["uid": "\(uid)", "plugin": "\(record.plugin)", "message-id": "\(LogMessageID.deviceRejected)"])
        return record
    }

    /// Deletes the stored record of `uid`. An absent device leaves the registry (returns nil); a present one
    /// becomes pending and asks for approval again (returns its record). A pending device has nothing stored:
    /// ``RegistryError/Code-swift.struct/badState``.
    @discardableResult
    public func forget(uid: String) throws(RegistryError) -> DeviceRecord? {
        var record = try existing(uid)
        guard record.isStored else {
            throw RegistryError(code: .badState, uid: uid, message: "Device \(uid) is pending; nothing is stored for it.")
        }
        do {
            try store.remove(uid: uid)
        } catch {
            throw RegistryError(
                code: .storeFailure, uid: uid, message: "Cannot forget device \(uid): \(error.description)")
        }
        logger.info("Device forgotten", metadata: ["uid": "\(uid)", "present": "\(record.present)"])
        guard record.present else {
            records.removeValue(forKey: uid)
            broadcast.yield(.removed(uid: uid))
            return nil
        }
        record.status = .pending
        record.owner = nil
        records[uid] = record
        broadcast.yield(.changed(record))
        requestApproval(record)
        return record
    }

    // MARK: Private: applying observations

    private func apply(_ observation: DeviceObservation, outcome: MatchOutcome) {
        let key = AttachmentKey(transport: observation.transport, sourceKey: observation.sourceKey)
        sequence += 1
        let previous = attachments[key]
        if let reason = Self.exclusionReason(outcome.properties) {
            if previous?.uid != nil { detach(key) }
            if previous == nil || previous?.uid != nil {
                logger.debug(
                    "Not a sync device",
                    metadata: ["source": "\(observation.sourceKey)", "reason": "\(reason)",
                               "profile": "\(outcome.appliedRules.last.map(\.description) ?? "-")"])
            }
            attachments[key] = Attachment(
                observation: observation, outcome: outcome, identity: nil, uid: nil, sequence: sequence)
            return
        }
        let identity = DeviceIdentity(transport: observation.transport, properties: outcome.properties)
        if let previous, previous.identity == identity, let uid = previous.uid, var record = records[uid] {
            attachments[key] = Attachment(
                observation: observation, outcome: outcome, identity: identity, uid: uid, sequence: sequence)
            fill(&record, from: observation.transport, outcome)
            commit(record)
            return
        }
        if previous?.uid != nil { detach(key) }
        let uid = vacantUID(for: identity)
        attachments[key] = Attachment(
            observation: observation, outcome: outcome, identity: identity, uid: uid, sequence: sequence)
        attach(key, uid: uid, identity: identity, outcome: outcome)
    }

    private func attach(_ key: AttachmentKey, uid: String, identity: DeviceIdentity, outcome: MatchOutcome) {
        let now = clock()
        if var record = records[uid] {
            if record.present {
                record.sourceKeys = (record.sourceKeys + [key.sourceKey]).sorted()
                fill(&record, from: key.transport, outcome)
                logger.info(
                    "Device also seen through another source",
                    metadata: ["uid": "\(uid)", "source": "\(key.sourceKey)"])
                commit(record)
                return
            }
            record.present = true
            record.lastSeen = now
            record.sourceKeys = [key.sourceKey]
            fill(&record, from: key.transport, outcome)
            records[uid] = record
            persist(record)
            logger.info(
                "Known device arrived",
                metadata: ["uid": "\(uid)", "status": "\(record.status)", "owner": "\(record.owner ?? "-")",
                           "plugin": "\(record.plugin)", "profile": "\(record.profile?.description ?? "-")",
                           "message-id": "\(LogMessageID.deviceArrived)"])
            broadcast.yield(.arrived(record))
            return
        }
        var record = DeviceRecord(
            uid: uid, vendor: "", model: "", kind: "", transport: key.transport, plugin: "", datatypes: [],
            owner: nil, status: .pending, present: true, stableId: identity.isStable, firstSeen: now,
            lastSeen: now, profile: nil, properties: DeviceProperties(), sourceKeys: [key.sourceKey])
        fill(&record, from: key.transport, outcome)
        records[uid] = record
        logger.info(
            "New device arrived",
            metadata: ["uid": "\(uid)", "vendor": "\(record.vendor)", "model": "\(record.model)",
                       "plugin": "\(record.plugin)", "stable-id": "\(identity.isStable)",
                       "profile": "\(record.profile?.description ?? "-")",
                       "message-id": "\(LogMessageID.deviceArrived)"])
        broadcast.yield(.arrived(record))
        requestApproval(record)
    }

    /// Removes one source key; the record departs with its last one.
    private func detach(_ key: AttachmentKey) {
        guard let attachment = attachments.removeValue(forKey: key) else { return }
        attachments.releaseUnusedCapacity()
        guard let uid = attachment.uid, var record = records[uid] else { return }
        record.sourceKeys.removeAll { $0 == key.sourceKey }
        if let latest = attachments.values.filter({ $0.uid == uid }).max(by: { $0.sequence < $1.sequence }) {
            fill(&record, from: latest.observation.transport, latest.outcome)
            commit(record)
            return
        }
        record.present = false
        record.lastSeen = clock()
        record.sourceKeys = []
        record.properties = DeviceProperties()
        record.profile = nil
        if record.isStored {
            records[uid] = record
            persist(record)
            logger.info("Device departed", metadata: ["uid": "\(uid)", "status": "\(record.status)"])
            broadcast.yield(.departed(record))
        } else {
            records.removeValue(forKey: uid)
            records.releaseUnusedCapacity()
            logger.info("Pending device departed", metadata: ["uid": "\(uid)"])
            broadcast.yield(.departed(record))
            broadcast.yield(.removed(uid: uid))
        }
    }

    /// The uid for a device with `identity`: the identity's own, or for the second of two identical
    /// unstable devices present at once the first free `<uid>-N`.
    private func vacantUID(for identity: DeviceIdentity) -> String {
        guard !identity.isStable else { return identity.uid }
        var candidate = identity.uid
        var number = 1
        while let record = records[candidate], record.present {
            number += 1
            candidate = "\(identity.uid)-\(number)"
        }
        return candidate
    }

    /// Copies what the profiles say into the record's fields.
    private func fill(_ record: inout DeviceRecord, from transport: Transport, _ outcome: MatchOutcome) {
        let properties = outcome.properties
        record.transport = transport
        record.vendor = properties.string(PropertyKey.syncVendor) ?? properties.string(PropertyKey.infoVendor) ?? ""
        record.model = properties.string(PropertyKey.syncModel) ?? properties.string(PropertyKey.infoProduct) ?? ""
        record.kind = properties.string(PropertyKey.syncKind) ?? ""
        record.plugin = properties.string(PropertyKey.syncPlugin) ?? ""
        record.datatypes = properties.strlist(PropertyKey.syncDatatypes) ?? []
        record.profile = outcome.appliedRules.last
        record.properties = properties
    }

    /// Replaces a present record, storing and announcing it if anything changed.
    private func commit(_ record: DeviceRecord) {
        let old = records[record.uid]
        guard old != record else { return }
        records[record.uid] = record
        if record.isStored, old?.stored != record.stored { persist(record) }
        broadcast.yield(.changed(record))
    }

    /// Stores a record after a source event; a failure is logged, since the device is still there to use.
    private func persist(_ record: DeviceRecord) {
        guard record.isStored else { return }
        if batchedWrites != nil {
            batchedWrites?[record.uid] = record.stored
            return
        }
        do {
            try store.save(record.stored)
        } catch {
            logger.error("Cannot store device", metadata: ["uid": "\(record.uid)", "error": "\(error)"])
        }
    }

    // MARK: Private: decisions

    private func existing(_ uid: String) throws(RegistryError) -> DeviceRecord {
        guard let record = records[uid] else {
            throw RegistryError(code: .noSuchDevice, uid: uid, message: "No device has uid \"\(uid)\".")
        }
        return record
    }

    /// Stores a decided record first, so that a failed write changes nothing, then publishes it.
    private func decide(_ record: DeviceRecord) throws(RegistryError) {
        // The check the store applies when loading: a decision it would set aside at the next start is refused now.
        if let problem = record.stored.problem {
            throw RegistryError(
                code: .invalidArgument, uid: record.uid, message: "Cannot store device \(record.uid): \(problem).")
        }
        do {
            try store.save(record.stored)
        } catch {
            throw RegistryError(
                code: .storeFailure, uid: record.uid,
                message: "Cannot store the decision for device \(record.uid): \(error.description)")
        }
        records[record.uid] = record
        broadcast.yield(.changed(record))
    }

    private func requestApproval(_ record: DeviceRecord) {
        let suggestion = ownerSuggester?.suggestedOwner(for: record)
        broadcast.yield(.approvalRequested(uid: record.uid, suggestedOwner: suggestion))
    }

    /// Why merged properties are not a sync device, or nil if they are one.
    static func exclusionReason(_ properties: DeviceProperties) -> String? {
        if properties.bool(PropertyKey.syncIgnore) == true { return "sync.ignore is true" }
        guard let plugin = properties.string(PropertyKey.syncPlugin), !plugin.isEmpty else {
            return "no profile sets sync.plugin"
        }
        return nil
    }
}
