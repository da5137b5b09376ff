// SPDX-License-Identifier: Apache-2.0
internal import CDBus
import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// libdbus's global locks must exist before a second thread can touch it; a global is initialised exactly once.
private let threadsInitialised: Bool = dbus_threads_init_default() != 0

/// A private connection to a D-Bus bus, confined to its own serial queue.
///
/// The actor runs on that queue, as do the dispatch sources that drive libdbus, so every libdbus call for the
/// connection happens there and nothing blocks it. Method handlers of exported objects run in their own tasks.
/// Call ``close()`` when done: exported handlers that capture the connection keep it alive otherwise.
public actor DBusConnection {
    private nonisolated let executor: QueueExecutor
    let core: ConnectionCore
    private let logger: Logger
    private var registeredName: String?

    /// Runs the actor on the connection's queue.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// The connection's queue as a task executor: a task created with this preference
    /// (`Task(executorPreference:)`) runs on the connection's queue, and so do the default actors it calls;
    /// its calls into the connection then need no thread hop.
    public nonisolated var taskExecutor: any TaskExecutor { executor }

    private init(queue: DispatchQueue?, logger: Logger) {
        _ = threadsInitialised
        let queue = queue ?? DispatchQueue(label: "dbus.connection")
        executor = QueueExecutor(queue: queue)
        core = ConnectionCore(queue: queue, logger: logger)
        self.logger = logger
    }

    deinit {
        let core = core
        core.queue.async { core.close() }
    }

    /// Connects to the bus at `address` (such as `unix:path=/run/dbus/system_bus_socket`) and registers with it.
    ///
    /// - Parameter queue: the serial queue the connection runs on, shared with other work on that queue (a
    ///   daemon's event sources), or nil for a queue of its own. Nothing on the queue may block it waiting for
    ///   the connection.
    public static func connect(to address: String, queue: DispatchQueue? = nil, logger: Logger) async throws -> DBusConnection {
        let connection = DBusConnection(queue: queue, logger: logger)
        try await connection.open(address: address)
        return connection
    }

    /// Connects to the system bus: `DBUS_SYSTEM_BUS_ADDRESS` if set, else the standard socket.
    public static func system(queue: DispatchQueue? = nil, logger: Logger) async throws -> DBusConnection {
        let address = environment("DBUS_SYSTEM_BUS_ADDRESS") ?? "unix:path=/run/dbus/system_bus_socket"
        return try await connect(to: address, queue: queue, logger: logger)
    }

    /// Connects to the session bus named by `DBUS_SESSION_BUS_ADDRESS`.
    public static func session(queue: DispatchQueue? = nil, logger: Logger) async throws -> DBusConnection {
        guard let address = environment("DBUS_SESSION_BUS_ADDRESS") else {
            throw DBusError(name: DBusError.Name.badAddress, message: "DBUS_SESSION_BUS_ADDRESS is not set")
        }
        return try await connect(to: address, queue: queue, logger: logger)
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    private func open(address: String) async throws {
        core.owner = self
        try core.open(address: address)
        do {
            let reply = try await callBus("Hello")
            guard let name = reply.first?.string, let raw = core.raw else {
                throw DBusError.failed("the bus did not assign a unique name")
            }
            dbus_bus_set_unique_name(raw, name)
            core.uniqueName = name
            logger.debug("connected to D-Bus", metadata: ["unique-name": "\(name)"])
        } catch {
            core.close()
            throw error
        }
    }

    /// The unique name the bus gave this connection, such as `:1.42`.
    public var uniqueName: String { core.uniqueName ?? "" }

    /// Whether the connection is still open.
    public var isConnected: Bool { core.raw != nil }

    /// Closes the connection: pending calls fail with `Disconnected`, signal streams finish, handlers are cancelled.
    public func close() {
        core.close()
    }

    /// Returns once the connection is closed, by ``close()`` or because the bus went away.
    ///
    /// A daemon awaits this to notice that the bus it serves has disappeared. Cancelling the waiting task
    /// returns early.
    public func waitUntilClosed() async {
        guard core.raw != nil else { return }
        let core = core
        let id = core.newID()
        core.announced.insert(id)
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                core.queue.async { core.addCloseWaiter(id, continuation) }
            }
        } onCancel: {
            core.queue.async { core.cancelCloseWaiter(id) }
        }
    }

    // MARK: Calling methods

    /// Calls a method and returns the reply's values.
    ///
    /// Throws the remote error as a ``DBusError``, `org.freedesktop.DBus.Error.NoReply` when `timeout` passes,
    /// and `CancellationError` when the task is cancelled (the pending call is then dropped).
    public func call(
        destination: String?, path: DBusObjectPath, interface: String?, member: String,
        arguments: [DBusValue] = [], timeout: Duration = .seconds(25)
    ) async throws -> [DBusValue] {
        try await callMessage(
            destination: destination, path: path, interface: interface, member: member, arguments: arguments,
            timeout: timeout
        ).arguments
    }

    /// Calls a method and returns the whole reply message.
    public func callMessage(
        destination: String?, path: DBusObjectPath, interface: String?, member: String,
        arguments: [DBusValue] = [], timeout: Duration = .seconds(25)
    ) async throws -> DBusMessage {
        let core = core
        let id = core.newID()
        core.announced.insert(id)
        // The closures below are not isolated to this actor, so they reach libdbus only through the queue.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                core.queue.async {
                    core.startCall(
                        id: id, destination: destination, path: path, interface: interface, member: member,
                        arguments: arguments, timeout: timeout, continuation: continuation)
                }
            }
        } onCancel: {
            core.queue.async { core.cancelCall(id) }
        }
    }

    static let busPath = try! DBusObjectPath("/org/freedesktop/DBus")
    static let busName = "org.freedesktop.DBus"

    private func callBus(_ member: String, _ arguments: [DBusValue] = []) async throws -> [DBusValue] {
        try await call(
            destination: Self.busName, path: Self.busPath, interface: Self.busName, member: member,
            arguments: arguments)
    }

    // MARK: Signals

    /// Emits a signal.
    public func emit(_ signal: DBusSignalEmission) throws(DBusError) {
        try core.emit(signal)
    }

    /// Emits org.freedesktop.DBus.Properties.PropertiesChanged for an exported object.
    public func emitPropertiesChanged(
        path: DBusObjectPath, interface: String, changed: [String: DBusValue], invalidated: [String] = []
    ) throws(DBusError) {
        try core.emit(
            ConnectionCore.propertiesChanged(path: path, interface: interface, changed: changed, invalidated: invalidated))
    }

    /// Subscribes to the signals `rule` matches (AddMatch); the subscription ends when the stream is dropped.
    public func signals(matching rule: DBusMatchRule) async throws -> AsyncStream<DBusMessage> {
        let (stream, continuation) = AsyncStream<DBusMessage>.makeStream()
        let id = try await subscribe(rule, deliver: { continuation.yield($0) }, finish: { continuation.finish() })
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    /// Subscribes to the signals any of `rules` matches, delivered in one stream in the order they arrived.
    ///
    /// Separate streams lose the order between them; a watcher that must see `NameOwnerChanged` and the owner's
    /// own signals in sequence needs them in one. A signal that several rules match is delivered once.
    public func signals(matchingAny rules: [DBusMatchRule]) async throws -> AsyncStream<DBusMessage> {
        let (stream, continuation) = AsyncStream<DBusMessage>.makeStream()
        var ids: [UInt64] = []
        let core = core
        do {
            for (index, rule) in rules.enumerated() {
                let earlier = rules[..<index]
                // Only the first rule that matches delivers, so overlapping rules do not duplicate a signal.
                ids.append(
                    try await subscribe(
                        rule,
                        // Runs on the connection's queue, where `core` may be read.
                        deliver: { message in
                            let owner: (String) -> String? = { core.senderOwners[$0]?.owner }
                            if !earlier.contains(where: { $0.matches(message, ownerOf: owner) }) {
                                continuation.yield(message)
                            }
                        },
                        finish: { continuation.finish() }))
            }
        } catch {
            for id in ids { unsubscribe(id) }
            throw error
        }
        continuation.onTermination = { [weak self, ids] _ in
            Task { for id in ids { await self?.unsubscribe(id) } }
        }
        return stream
    }

    private func subscribe(
        _ rule: DBusMatchRule, deliver: @escaping @Sendable (DBusMessage) -> Void,
        finish: @escaping @Sendable () -> Void
    ) async throws -> UInt64 {
        try rule.validate()
        if rule.hasWellKnownSender, let sender = rule.sender { try await followOwner(of: sender) }
        let id = core.newID()
        // Registered before AddMatch so that no signal is lost once the bus starts routing them.
        core.subscriptions[id] = Subscription(rule: rule, deliver: deliver, finish: finish)
        do {
            _ = try await callBus("AddMatch", [.string(rule.text)])
        } catch {
            core.subscriptions[id] = nil
            if rule.hasWellKnownSender, let sender = rule.sender { stopFollowingOwner(of: sender) }
            throw error
        }
        return id
    }

    private func unsubscribe(_ id: UInt64) {
        guard let subscription = core.subscriptions.removeValue(forKey: id) else { return }
        removeMatch(subscription.rule)
        if subscription.rule.hasWellKnownSender, let sender = subscription.rule.sender {
            stopFollowingOwner(of: sender)
        }
    }

    private func removeMatch(_ rule: DBusMatchRule) {
        core.sendWithoutReply(
            destination: Self.busName, path: Self.busPath, interface: Self.busName, member: "RemoveMatch",
            arguments: [.string(rule.text)])
    }

    /// Starts (or shares) following the owner of a well-known name that a subscription names as sender.
    private func followOwner(of name: String) async throws {
        if core.senderOwners[name] != nil {
            core.senderOwners[name]?.users += 1
            return
        }
        core.senderOwners[name] = TrackedName()
        do {
            _ = try await callBus("AddMatch", [.string(DBusMatchRule.nameOwnerChanged(of: name).text)])
            let owner = try await nameOwner(of: name)
            // A NameOwnerChanged that arrived while we asked is newer than the reply.
            if core.senderOwners[name]?.changed == false { core.senderOwners[name]?.owner = owner }
        } catch {
            stopFollowingOwner(of: name)
            throw error
        }
    }

    private func stopFollowingOwner(of name: String) {
        guard var tracked = core.senderOwners[name] else { return }
        tracked.users -= 1
        if tracked.users > 0 {
            core.senderOwners[name] = tracked
            return
        }
        core.senderOwners[name] = nil
        removeMatch(DBusMatchRule.nameOwnerChanged(of: name))
    }

    // MARK: Bus names

    /// Takes a well-known name, refusing to queue: throws `nameTaken` if another connection owns it.
    public func requestName(_ name: String) async throws {
        try DBusNames.requireBusName(name)
        guard !name.hasPrefix(":") else { throw DBusError.invalidArgs("'\(name)' is a unique name and cannot be requested") }
        let doNotQueue: UInt32 = 4
        let reply = try await callBus("RequestName", [.string(name), .uint32(doNotQueue)])
        switch reply.first?.uint32 {
        case 1, 4:  // primary owner, or already the owner
            logger.info("acquired D-Bus name", metadata: ["name": "\(name)"])
        case 3:
            throw DBusError(name: DBusError.Name.nameTaken, message: "the name \(name) is already owned by another process")
        default:
            throw DBusError.failed("the bus did not grant the name \(name)")
        }
    }

    /// Gives a well-known name back to the bus.
    public func releaseName(_ name: String) async throws {
        try DBusNames.requireBusName(name)
        _ = try await callBus("ReleaseName", [.string(name)])
    }

    /// The unique name of the owner of `name`, or nil if nobody owns it.
    public func nameOwner(of name: String) async throws -> String? {
        try DBusNames.requireBusName(name)
        do {
            return try await callBus("GetNameOwner", [.string(name)]).first?.string
        } catch let error as DBusError where error.name == DBusError.Name.nameHasNoOwner {
            return nil
        }
    }

    /// The owner changes of `name` (NameOwnerChanged), for as long as the stream is kept.
    public func nameOwnerChanges(of name: String) async throws -> AsyncStream<DBusNameOwnerChange> {
        try DBusNames.requireBusName(name)
        let (stream, continuation) = AsyncStream<DBusNameOwnerChange>.makeStream()
        let id = try await subscribe(
            DBusMatchRule.nameOwnerChanged(of: name),
            deliver: { message in if let change = DBusNameOwnerChange(message) { continuation.yield(change) } },
            finish: { continuation.finish() })
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    // MARK: Credentials

    /// The uid and pid of the connection `sender`, as the bus vouches for them (GetConnectionCredentials).
    ///
    /// Results for unique names are cached until the bus reports the peer gone. One match rule for every
    /// NameOwnerChanged tells of all cached peers' departures, while any is cached: a rule per peer would let
    /// callers grow the connection's rules to the bus's per-connection limit (512 on the system bus), after
    /// which every AddMatch of the process fails.
    public func credentials(of sender: String) async throws -> DBusCredentials {
        if let cached = core.credentialCache[sender] { return cached }
        try DBusNames.requireBusName(sender)
        let cacheable = sender.hasPrefix(":")
        if cacheable, !core.watchedPeers.contains(sender) {
            core.watchedPeers.insert(sender)
            // The AddMatch is sent before any later GetConnectionCredentials, and the bus handles a connection's
            // messages in order: a peer that finds the rule being added is covered by it too.
            if !core.followsPeerDepartures {
                core.followsPeerDepartures = true
                do {
                    _ = try await callBus("AddMatch", [.string(ConnectionCore.peerDepartures.text)])
                } catch {
                    core.followsPeerDepartures = false
                    core.stopWatchingPeer(sender)
                    throw error
                }
            }
        }
        let reply: [DBusValue]
        do {
            reply = try await callBus("GetConnectionCredentials", [.string(sender)])
        } catch {
            if cacheable { core.stopWatchingPeer(sender) }
            throw error
        }
        guard let fields = reply.first?.stringDictionary, let uid = fields["UnixUserID"]?.uint32 else {
            throw DBusError.failed("the bus did not report a Unix user for \(sender)")
        }
        let credentials = DBusCredentials(uid: uid, pid: fields["ProcessID"]?.uint32)
        // A peer that left while we asked is no longer watched; caching it would keep it forever.
        if cacheable, core.watchedPeers.contains(sender) { core.credentialCache[sender] = credentials }
        return credentials
    }

    // MARK: Exported objects

    /// Exports an object with `interfaces` at `path`, replacing what was there.
    ///
    /// The standard Peer, Introspectable and Properties interfaces come with it. Below an object manager, the
    /// manager emits InterfacesAdded (and InterfacesRemoved for interfaces a replacement dropped).
    ///
    /// - Parameter announcement: a signal to send as soon as the object answers calls, before the
    ///   ObjectManager's signals: what clients wait for (a manager's `DeviceAdded`) leaves first, and the
    ///   InterfacesAdded with every property, which takes longer to build and to route, follows it.
    public func export(
        _ interfaces: [DBusInterface], at path: DBusObjectPath, announcement: DBusSignalEmission? = nil
    ) async throws {
        for interface in interfaces { try interface.validate() }
        let previous = core.objects[path] ?? []
        core.objects[path] = interfaces
        core.objectChanged(at: path)
        if let announcement { try core.emit(announcement) }
        guard let manager = core.manager(of: path) else { return }
        let added = interfaces.filter { new in !previous.contains { $0.name == new.name } }
        let removed = previous.filter { old in !interfaces.contains { $0.name == old.name } }.map(\.name)
        if !removed.isEmpty { try emitInterfacesRemoved(manager: manager, path: path, names: removed) }
        if !added.isEmpty {
            // Stored properties only (the usual case): the body is the object's GetManagedObjects entry, which is
            // kept for that reply, or the same entry for the added interfaces alone.
            let entry = added.count == interfaces.count
                ? try core.marshalledEntry(at: path) : try ConnectionCore.entry(path, added)
            if let entry {
                try core.emit(
                    path: manager, interface: Introspection.objectManager, member: "InterfacesAdded",
                    signature: "oa{sa{sv}}", body: entry)
                return
            }
            let payload = await ConnectionCore.interfacesAndProperties(added)
            try core.emit(DBusSignalEmission(
                path: manager, interface: Introspection.objectManager, member: "InterfacesAdded",
                arguments: [.objectPath(path), payload]))
        }
    }

    /// Removes the object at `path`; below an object manager, the manager emits InterfacesRemoved.
    public func unexport(at path: DBusObjectPath) throws(DBusError) {
        guard let interfaces = core.objects.removeValue(forKey: path) else { return }
        core.objectChanged(at: path)
        if let manager = core.manager(of: path) {
            try emitInterfacesRemoved(manager: manager, path: path, names: interfaces.map(\.name))
        }
    }

    private func emitInterfacesRemoved(manager: DBusObjectPath, path: DBusObjectPath, names: [String]) throws(DBusError) {
        try core.emit(DBusSignalEmission(
            path: manager, interface: Introspection.objectManager, member: "InterfacesRemoved",
            arguments: [.objectPath(path), .strings(names)]))
    }

    /// Changes stored properties (declared with ``DBusProperty/init(_:type:value:)``) of `interface` at `path` and
    /// emits PropertiesChanged for those whose value differs, as each one's ``DBusProperty/emitsChangedSignal``
    /// says (with its value, invalidated, or not at all); returns every changed one.
    ///
    /// Every name must be a stored property of the interface and every value of its type, and no property
    /// declared `const` may change; otherwise nothing changes and the error says which.
    @discardableResult
    public func setProperties(
        _ values: [String: DBusValue], interface: String, at path: DBusObjectPath
    ) throws(DBusError) -> [String: DBusValue] {
        try setStoredProperties(values.mapValues(DBusStoredValue.init), interface: interface, at: path)
    }

    /// ``setProperties(_:interface:at:)`` with values kept as each ``DBusStoredValue`` says: a deferred one is
    /// built to be checked and compared, and kept as the closure.
    @discardableResult
    public func setStoredProperties(
        _ values: [String: DBusStoredValue], interface: String, at path: DBusObjectPath
    ) throws(DBusError) -> [String: DBusValue] {
        guard var interfaces = core.objects[path] else { throw ConnectionCore.unknownObject(path) }
        guard let index = interfaces.firstIndex(where: { $0.name == interface }) else {
            throw ConnectionCore.unknownInterface(interface, at: path)
        }
        var changed: [String: DBusValue] = [:]
        var signalled: [String: DBusValue] = [:]
        var invalidated: [String] = []
        for (name, stored) in values {
            let value = stored.value
            guard let slot = interfaces[index].properties.firstIndex(where: { $0.name == name }) else {
                throw ConnectionCore.unknownProperty(name, of: interface)
            }
            let property = interfaces[index].properties[slot]
            guard let old = property.value else {
                throw DBusError.invalidArgs("Property '\(name)' of '\(interface)' is read through a getter, not stored")
            }
            try DBusInterface.check(value, for: property)
            if old != value {
                // Introspection promised clients this never changes; breaking that silently would mislead caches.
                if property.emitsChangedSignal == .const {
                    throw DBusError.invalidArgs("Property '\(name)' of '\(interface)' is declared constant")
                }
                interfaces[index].properties[slot].stored = stored
                changed[name] = value
                switch property.emitsChangedSignal {
                case nil, .true?: signalled[name] = value
                case .invalidates?: invalidated.append(name)
                case .false?, .const?: break
                }
            }
        }
        guard !changed.isEmpty else { return [:] }
        core.objects[path] = interfaces
        core.objectChanged(at: path)
        if !signalled.isEmpty || !invalidated.isEmpty {
            try core.emit(ConnectionCore.propertiesChanged(
                path: path, interface: interface, changed: signalled, invalidated: invalidated.sorted()))
        }
        return changed
    }

    /// Makes `path` an org.freedesktop.DBus.ObjectManager for every object exported below it.
    public func exportObjectManager(at path: DBusObjectPath) {
        core.managers.insert(path)
        core.managedObjectsReplies[path] = nil
    }

    /// The paths of the objects currently exported, sorted.
    public var exportedPaths: [DBusObjectPath] { core.objects.keys.sorted() }
}
