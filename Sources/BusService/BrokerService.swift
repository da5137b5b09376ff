// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry
import Logging

/// The broker's D-Bus API, `org.devsync.Broker1`: the Manager, one object per device and per job, kept in step
/// with the registry, and the sync engines that run the jobs.
///
/// It exports objects on a connection the composition root owns; taking the bus name is a separate step
/// (``requestBusName(on:)``), so that every object exists before a client can find the broker.
public actor BrokerService {
    /// Re-reads the profiles and re-matches present devices; returns the rules loaded and one
    /// `file:line:column: message` per skipped file. Provided by the composition root.
    public typealias ProfileReloader = @Sendable () async -> (rules: Int, errors: [String])

    let connection: DBusConnection
    let registry: Registry
    let authorizer: CallerAuthorizer
    let policy: ApprovalPolicy
    let daemonVersion: String
    let reloadProfiles: ProfileReloader?
    /// Whether the registry's approval requests are signalled as they come; see ``init(connection:registry:authorizer:policy:daemonVersion:reloadProfiles:announcesApprovalRequests:onApprovalRequest:logger:)``.
    let announcesApprovalRequests: Bool
    /// Told of each approval request left to the composition root.
    let onApprovalRequest: (@Sendable (_ uid: String) -> Void)?
    let logger: Logger

    /// The devices as last exported, by uid.
    var devices: [String: DeviceRecord] = [:]
    /// The owner the resolver suggested for each pending device; it may approve the device.
    var suggestedOwners: [String: String] = [:]
    /// The owner each pending device's ApprovalRequested named, published as its `SuggestedOwner` property (set
    /// just before the signal, so a client that reads the device on the signal finds it; an agent started later
    /// finds it there too). Unlike ``suggestedOwners`` it never holds the registry's provisional suggestion while
    /// the composition root still resolves the owner.
    var announcedOwners: [String: String] = [:]
    /// Approval requests not yet signalled, by uid (only when the composition root announces them).
    var deferredRequests: [String: DeferredRequest] = [:]
    /// ApprovalRequested signals held back until ``releaseHeldAnnouncements()`` (uids, in order), or nil when
    /// signals go out at once: before the bus name is owned, no client would receive them.
    var heldAnnouncements: [String]?
    var engines: [SyncEngine.Key: SyncEngine] = [:]
    /// The subscription that follows every engine (``engineRules``), made at the first registration and ended
    /// when the last engine goes.
    var engineFeed: Task<Void, any Error>?
    /// Reads that subscription until ``stop()`` or the last engine goes.
    var engineFeedTask: Task<Void, Never>?
    /// RegisterEngine calls that have not returned; the subscription is kept for them.
    var registrationsUnderWay = 0
    var jobs: [DBusObjectPath: SyncJob] = [:]
    /// Finished jobs stay visible for a while; the oldest are dropped beyond ``keptFinishedJobs``.
    var finishedJobs: [DBusObjectPath] = []
    var nextJobNumber = 1
    /// The Device interface's methods, made at the first export and shared by every device object.
    private var sharedDeviceMethods: [DBusMethod]?
    private var eventTask: Task<Void, Never>?

    /// How many finished jobs stay exported, so a client that looks late still finds the outcome.
    public static let keptFinishedJobs = 32

    /// A service that will publish `registry` on `connection`.
    ///
    /// - Parameters:
    ///   - authorizer: decides who may approve, reject, forget, sync and reload.
    ///   - policy: published as the Manager's `Policy`.
    ///   - daemonVersion: published as the Manager's `DaemonVersion` (the program's release, e.g. `0.2.0`).
    ///   - reloadProfiles: runs ReloadProfiles; nil makes the method fail with a sentence.
    ///   - announcesApprovalRequests: true signals `ApprovalRequested` as soon as the registry requests approval,
    ///     with the registry's synchronous owner suggestion. False leaves the signal to the composition root,
    ///     which calls ``announceApprovalRequest(uid:suggestedOwner:)`` once it has resolved the owner (devsyncd's
    ///     owner callout may take seconds); until then the registry's suggestion is the provisional owner.
    ///   - onApprovalRequest: with `announcesApprovalRequests` false, called with the uid of each device whose
    ///     approval request is left to the composition root: every pending device present at ``start(holdingAnnouncements:)``,
    ///     then each request as the registry makes it, once the device's object and its DeviceAdded are out.
    ///     The composition root resolves the owner there, off the path of the hotplug's signals.
    public init(
        connection: DBusConnection, registry: Registry, authorizer: CallerAuthorizer, policy: ApprovalPolicy = .ask,
        daemonVersion: String, reloadProfiles: ProfileReloader? = nil, announcesApprovalRequests: Bool = true,
        onApprovalRequest: (@Sendable (_ uid: String) -> Void)? = nil, logger: Logger
    ) {
        self.onApprovalRequest = onApprovalRequest
        self.connection = connection
        self.registry = registry
        self.authorizer = authorizer
        self.policy = policy
        self.daemonVersion = daemonVersion
        self.reloadProfiles = reloadProfiles
        self.announcesApprovalRequests = announcesApprovalRequests
        self.logger = logger
    }

    /// Signals `ApprovalRequested` for a device whose owner the composition root has resolved, and makes
    /// `suggestedOwner` the pending device's owner for authorization. Does nothing if the device is gone or no
    /// longer pending (decided or unplugged while its owner was being resolved).
    ///
    /// The composition root follows the registry on its own subscription, so its answer may come before this
    /// service has handled the registry's request; it is then kept until the request arrives.
    public func announceApprovalRequest(uid: String, suggestedOwner: String?) async {
        guard case .requested = deferredRequests[uid] else {
            // Decided or gone meanwhile: nothing to keep.
            if await registry.device(uid: uid)?.status == .pending, deferredRequests[uid] == nil {
                deferredRequests[uid] = .resolved(owner: suggestedOwner)
            } else if case .requested = deferredRequests[uid] {
                // The registry's request was handled while this actor waited for the registry.
                deferredRequests[uid] = nil
                await signalApprovalRequest(uid: uid, suggestedOwner: suggestedOwner)
            }
            return
        }
        deferredRequests[uid] = nil
        await signalApprovalRequest(uid: uid, suggestedOwner: suggestedOwner)
    }

    /// An approval request whose signal waits (``announcesApprovalRequests`` false): for the owner, or for the
    /// registry's request when the owner came first.
    enum DeferredRequest {
        case requested
        case resolved(owner: String?)
    }

    /// Sends ApprovalRequested for every request held since ``start(holdingAnnouncements:)`` whose device is still
    /// pending, with its suggested owner as it is now; later requests are signalled at once.
    public func releaseHeldAnnouncements() async {
        guard let held = heldAnnouncements else { return }
        heldAnnouncements = nil
        for uid in held where devices[uid]?.status == .pending {
            await signalApprovalRequest(uid: uid, suggestedOwner: suggestedOwners[uid])
        }
    }

    /// Leaves the approval request of `uid` to the composition root (``announcesApprovalRequests`` false): tells
    /// it through ``onApprovalRequest``, then signals at once if its owner's answer came first, or else waits for
    /// ``announceApprovalRequest(uid:suggestedOwner:)``.
    private func deferApprovalRequest(uid: String) async {
        onApprovalRequest?(uid)
        if case .resolved(let owner) = deferredRequests[uid] {
            deferredRequests[uid] = nil
            await signalApprovalRequest(uid: uid, suggestedOwner: owner)
        } else {
            deferredRequests[uid] = .requested
        }
    }

    private func signalApprovalRequest(uid: String, suggestedOwner: String?) async {
        guard let record = devices[uid], record.status == .pending else { return }
        suggestedOwners[uid] = suggestedOwner
        await publishSuggestedOwner(suggestedOwner, of: record)
        if heldAnnouncements != nil {
            if heldAnnouncements?.contains(uid) == false { heldAnnouncements?.append(uid) }
            return
        }
        do {
            try await emitManagerSignal(
                "ApprovalRequested", [.objectPath(BrokerContract.devicePath(uid: uid)), .string(suggestedOwner ?? "")])
        } catch {
            logger.error("Cannot announce an approval request", metadata: ["uid": "\(uid)", "error": "\(error)"])
        }
    }

    /// Exports the Manager and every current device, then follows the registry's events until ``stop()``.
    ///
    /// The registry's approval requests for the devices already there were made before this service listened.
    /// When the composition root announces them (``announceApprovalRequest(uid:suggestedOwner:)``), each pending
    /// device counts as requested here, so its owner's answer is signalled and makes that user its suggested
    /// owner. With `holdingAnnouncements`, ApprovalRequested signals wait for ``releaseHeldAnnouncements()``,
    /// which the composition root calls once it owns the bus name.
    public func start(holdingAnnouncements: Bool = false) async throws {
        if holdingAnnouncements { heldAnnouncements = [] }
        let (records, events) = await registry.devicesAndEvents()
        var objects: [(path: DBusObjectPath, interfaces: [DBusInterface])] = [
            (BrokerContract.managerPath, [managerInterface()])
        ]
        objects.reserveCapacity(records.count + 1)
        for record in records {
            let path = BrokerContract.devicePath(uid: record.uid)
            objects.append((path, [publish(record)]))
        }
        try await Self.exportAtStart(objects, on: connection)
        logger.info("Broker API exported", metadata: ["devices": "\(records.count)"])
        if !announcesApprovalRequests {
            for record in records where record.status == .pending { await deferApprovalRequest(uid: record.uid) }
        }
        // On the connection's queue: each event's export and signals are sent from the thread that received the
        // event, when the registry runs there too (devsyncd), rather than after a hop through the task pool.
        eventTask = Task(executorPreference: connection.taskExecutor) { [weak self] in
            for await event in events {
                guard let self else { return }
                await self.apply(event)
            }
        }
    }

    /// Stops following the registry and unexports every object.
    public func stop() async {
        eventTask?.cancel()
        eventTask = nil
        engineFeedTask?.cancel()
        engineFeedTask = nil
        engineFeed = nil
        engines.removeAll()
        for path in Array(jobs.keys) + devices.keys.map(BrokerContract.devicePath(uid:)) {
            try? await connection.unexport(at: path)
        }
        jobs.removeAll()
        devices.removeAll()
        try? await connection.unexport(at: BrokerContract.managerPath)
    }

    /// Takes the well-known name `org.devsync.Broker1` on `connection`; throws `nameTaken` with who holds it.
    public static func requestBusName(on connection: DBusConnection) async throws(BrokerError) {
        do {
            try await connection.requestName(BrokerContract.busName)
        } catch let error as DBusError where error.name == DBusError.Name.nameTaken {
            var holder = "another process"
            if let owner = try? await connection.nameOwner(of: BrokerContract.busName),
                let credentials = try? await connection.credentials(of: owner)
            {
                holder = "process \(credentials.pid.map(String.init) ?? "?") (uid \(credentials.uid), \(owner))"
            }
            throw BrokerError(
                .nameTaken,
                "The bus name \(BrokerContract.busName) is already owned by \(holder); is another devsyncd running?")
        } catch {
            throw BrokerError(.failed, "Cannot take the bus name \(BrokerContract.busName): \(error)")
        }
    }

    // MARK: Following the registry

    private func apply(_ event: RegistryEvent) async {
        do {
            switch event {
            case .departed(let record) where record.status == .pending && devices[record.uid] != nil:
                // `removed` follows at once (RegistryEvent's contract): publishing Present=false first would only
                // send a PropertiesChanged for an object about to go.
                return
            case .arrived(let record), .changed(let record), .departed(let record):
                if record.status != .pending {
                    suggestedOwners[record.uid] = nil
                    announcedOwners[record.uid] = nil
                    deferredRequests[record.uid] = nil
                }
                if devices[record.uid] == nil {
                    try await export(record, announce: true)
                } else {
                    try await update(record)
                }
            case .removed(let uid):
                try await remove(uid: uid)
            case .approvalRequested(let uid, let suggestedOwner):
                suggestedOwners[uid] = suggestedOwner
                guard announcesApprovalRequests else { return await deferApprovalRequest(uid: uid) }
                if let record = devices[uid] { await publishSuggestedOwner(suggestedOwner, of: record) }
                try await emitManagerSignal(
                    "ApprovalRequested",
                    [.objectPath(BrokerContract.devicePath(uid: uid)), .string(suggestedOwner ?? "")])
            }
        } catch {
            logger.error("Cannot publish a device change", metadata: ["uid": "\(event.uid)", "error": "\(error)"])
        }
    }

    /// Publishes a decision's record at once, so the caller reads its own change when the call returns; the
    /// registry's event for it then finds nothing left to signal.
    func publishDecision(_ record: DeviceRecord) async {
        do {
            if record.status != .pending {
                suggestedOwners[record.uid] = nil
                announcedOwners[record.uid] = nil
                deferredRequests[record.uid] = nil
            }
            try await update(record)
        } catch {
            logger.error("Cannot publish a decision", metadata: ["uid": "\(record.uid)", "error": "\(error)"])
        }
    }

    /// Unpublishes a forgotten absent device at once.
    func publishRemoval(uid: String) async {
        do {
            try await remove(uid: uid)
        } catch {
            logger.error("Cannot unpublish a device", metadata: ["uid": "\(uid)", "error": "\(error)"])
        }
    }

    private func export(_ record: DeviceRecord, announce: Bool) async throws {
        let path = BrokerContract.devicePath(uid: record.uid)
        try await Self.export(publish(record), at: path, announce: announce, on: connection)
    }

    /// Exports a device object and signals DeviceAdded, then its InterfacesAdded, in one visit to the
    /// connection's queue: a hotplug's latency is mostly such hops between threads. DeviceAdded goes first: it is
    /// the signal clients wait for, and the object answers calls by then; InterfacesAdded, with every property
    /// to marshal and route, follows it (docs/dbus-api.md).
    private static func export(
        _ interface: DBusInterface, at path: DBusObjectPath, announce: Bool, on connection: isolated DBusConnection
    ) async throws {
        try await connection.export(
            [interface], at: path, announcement: announce ? managerSignal("DeviceAdded", [.objectPath(path)]) : nil)
    }

    /// Makes `record` a published device: listed, and returns its interface holding the current properties.
    private func publish(_ record: DeviceRecord) -> DBusInterface {
        devices[record.uid] = record
        let methods = sharedDeviceMethods ?? deviceMethods()
        sharedDeviceMethods = methods
        return deviceInterface(
            values: DeviceObject.properties(
                of: record, availableActions: availableActions(record), suggestedOwner: announcedOwners[record.uid]),
            methods: methods)
    }

    /// Exports the objects of the start (the Manager first, then every device present) in one visit to the
    /// connection's queue, and only then makes the Manager an ObjectManager.
    ///
    /// One visit rather than one hop there and back per device, which with hundreds of devices cost more than
    /// the exports themselves; and the ObjectManager last, so that no device present at start gets an
    /// InterfacesAdded of its own (its properties read and sent before the bus name is even owned): a client
    /// finds them through GetManagedObjects once the name appears. Devices exported later are announced.
    private static func exportAtStart(
        _ objects: [(path: DBusObjectPath, interfaces: [DBusInterface])], on connection: isolated DBusConnection
    ) async throws {
        for object in objects { try await connection.export(object.interfaces, at: object.path) }
        connection.exportObjectManager(at: BrokerContract.managerPath)
    }

    private func update(_ record: DeviceRecord) async throws {
        devices[record.uid] = record
        try await republish(record)
    }

    /// Publishes the record's current properties; the connection signals those that changed.
    func republish(_ record: DeviceRecord) async throws {
        try await connection.setStoredProperties(
            DeviceObject.properties(
                of: record, availableActions: availableActions(record), suggestedOwner: announcedOwners[record.uid]),
            interface: BrokerContract.deviceInterface, at: BrokerContract.devicePath(uid: record.uid))
    }

    /// Publishes the owner an ApprovalRequested is about to name as the device's `SuggestedOwner`.
    private func publishSuggestedOwner(_ owner: String?, of record: DeviceRecord) async {
        // The same owner as published (no owner known, the usual case, or the same one twice at start-up): the
        // object shows it already, and republishing would rebuild and compare every property, Properties'
        // whole a{sv} included, to send nothing (a fifth of a hotplug's instructions; docs/benchmarks.md).
        guard announcedOwners[record.uid] != owner else { return }
        announcedOwners[record.uid] = owner
        do {
            try await republish(record)
        } catch {
            logger.error("Cannot publish a suggested owner", metadata: ["uid": "\(record.uid)", "error": "\(error)"])
        }
    }

    private func remove(uid: String) async throws {
        guard devices.removeValue(forKey: uid) != nil else { return }
        suggestedOwners[uid] = nil
        announcedOwners[uid] = nil
        deferredRequests[uid] = nil
        devices.releaseUnusedCapacity()
        suggestedOwners.releaseUnusedCapacity()
        announcedOwners.releaseUnusedCapacity()
        deferredRequests.releaseUnusedCapacity()
        let path = BrokerContract.devicePath(uid: uid)
        try await Self.unexport(at: path, on: connection)
    }

    /// Signals DeviceRemoved and unexports the device object (InterfacesRemoved), in one visit to the
    /// connection's queue.
    private static func unexport(at path: DBusObjectPath, on connection: isolated DBusConnection) throws(DBusError) {
        try connection.emit(managerSignal("DeviceRemoved", [.objectPath(path)]))
        try connection.unexport(at: path)
    }

    // MARK: Signals

    func emitManagerSignal(_ member: String, _ arguments: [DBusValue]) async throws {
        try await connection.emit(Self.managerSignal(member, arguments))
    }

    /// A signal of the Manager.
    static func managerSignal(_ member: String, _ arguments: [DBusValue]) -> DBusSignalEmission {
        DBusSignalEmission(
            path: BrokerContract.managerPath, interface: BrokerContract.managerInterface, member: member,
            arguments: arguments)
    }
}
