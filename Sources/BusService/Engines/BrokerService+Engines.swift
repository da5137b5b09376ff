// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry

/// Sync engines: registration, their signals and their disappearance.
extension BrokerService {
    /// The actions of the device that an engine of its owner can run (the `available` flag of each): one that
    /// handles the device's plugin and at least one of the action's data types, as ``invoke(uid:_:)`` picks it.
    func availableActions(_ record: DeviceRecord) -> Set<String> {
        guard !engines.isEmpty, let owner = record.owner, let ownerUID = UserAccounts.uid(ofUser: owner) else {
            return []
        }
        let capable = engines.values.filter { $0.uid == ownerUID && $0.handles(plugin: record.plugin) }
        return Set(record.actions.filter { action in capable.contains { $0.runs(action) } }.map(\.id))
    }

    /// Republishes every device whose actions' availability may have changed.
    func refreshActions() async {
        for record in devices.values.sorted(by: { $0.uid < $1.uid }) where record.owner != nil {
            do {
                try await republish(record)
            } catch {
                logger.error("Cannot publish a device change", metadata: ["uid": "\(record.uid)", "error": "\(error)"])
            }
        }
    }

    /// How many engines one connection may register.
    public static let maxEnginesPerConnection = 8
    /// How many engines one uid may register, over all its connections.
    public static let maxEnginesPerUser = 16
    /// How many plugin names, and how many data type names, one registration may list.
    public static let maxEngineNames = 64
    /// How long one plugin or data type name may be, in bytes.
    public static let maxEngineNameBytes = 255

    func registerEngine(_ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        guard let path = call.arguments[0].objectPath,
            let plugins = call.arguments[1].arrayElements?.compactMap(\.string),
            let datatypes = call.arguments[2].arrayElements?.compactMap(\.string)
        else { throw BrokerError(.invalidArgs, "RegisterEngine takes an object path and two lists of strings.") }
        for (names, what) in [(plugins, "plugins"), (datatypes, "data types")] {
            guard names.count <= Self.maxEngineNames, names.allSatisfy({ $0.utf8.count <= Self.maxEngineNameBytes })
            else {
                throw BrokerError(
                    .invalidArgs,
                    "An engine may name at most \(Self.maxEngineNames) \(what) of at most \(Self.maxEngineNameBytes) bytes each.")
            }
        }
        let caller = try await authorizer.caller(of: call)
        let key = SyncEngine.Key(sender: caller.sender, path: path)
        // The subscription stays while a registration waits for it, or for the bus.
        registrationsUnderWay += 1
        defer {
            registrationsUnderWay -= 1
            stopFollowingEnginesIfIdle()
        }
        if engines[key] == nil {
            try checkEngineLimits(for: caller)
            try await followEngines()
        }
        if engines[key] != nil {
            engines[key]?.plugins = plugins
            engines[key]?.datatypes = datatypes
        } else {
            // Again after the wait: registrations of one caller may have run meanwhile.
            try checkEngineLimits(for: caller)
            engines[key] = SyncEngine(key: key, uid: caller.uid, plugins: plugins, datatypes: datatypes)
            // Asked only now that the engine is listed: a departure the feed reported before that found nothing
            // to drop, but the bus answers this after any departure it announced, so the engine never stays
            // listed (and counted against its uid) after its connection closed.
            guard (try? await connection.nameOwner(of: key.sender)) ?? nil != nil else {
                if engines[key] != nil { await drop([key], reason: "the sync engine went away") }
                throw BrokerError(.failed, "The engine's connection \(key.sender) closed while it registered.")
            }
        }
        logger.info(
            "Sync engine registered",
            metadata: ["engine": "\(key)", "uid": "\(caller.uid)", "plugins": "\(plugins.joined(separator: ","))"])
        await refreshActions()
        return []
    }

    /// Refuses a new engine of `caller` beyond ``maxEnginesPerConnection`` or ``maxEnginesPerUser``.
    private func checkEngineLimits(for caller: CallerAuthorizer.Caller) throws(BrokerError) {
        let ofConnection = engines.keys.count(where: { $0.sender == caller.sender })
        guard ofConnection < Self.maxEnginesPerConnection else {
            throw BrokerError(
                .limitsExceeded,
                "This connection already registered \(ofConnection) engines, the most one connection may; unregister one first.")
        }
        let ofUser = engines.values.count(where: { $0.uid == caller.uid })
        guard ofUser < Self.maxEnginesPerUser else {
            throw BrokerError(
                .limitsExceeded,
                "Uid \(caller.uid) already registered \(ofUser) engines, the most one user may; unregister one first.")
        }
    }

    func unregisterEngine(_ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        guard let path = call.arguments[0].objectPath else {
            throw BrokerError(.invalidArgs, "UnregisterEngine takes the engine's object path.")
        }
        let key = SyncEngine.Key(sender: call.sender, path: path)
        guard engines[key] != nil else {
            throw BrokerError(.invalidArgs, "No engine is registered at \(path) by this connection.")
        }
        logger.info("Sync engine unregistered", metadata: ["engine": "\(key)"])
        await drop([key], reason: "the sync engine was unregistered")
        return []
    }

    /// The broker's one subscription for every engine: the Engine1 signals (Progress, Finished) and the bus's
    /// NameOwnerChanged, both filtered here against the registered engines.
    ///
    /// Two match rules whatever the number of engines or callers. Rules per engine (or per engine connection)
    /// would let callers grow the broker's rules to the bus's per-connection limit, after which no engine
    /// could register and the broker's own subscriptions (logind, BlueZ) could fail. One stream keeps an
    /// engine's last signals before its departure, in bus order.
    static let engineRules = [
        DBusMatchRule(interface: BrokerContract.engineInterface),
        DBusMatchRule(sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged"),
    ]

    /// Subscribes to ``engineRules`` at the first registration (an idle broker without engines gets no
    /// NameOwnerChanged), once; concurrent registrations wait for the same subscription.
    private func followEngines() async throws(BrokerError) {
        let subscription: Task<Void, any Error>
        if let existing = engineFeed {
            subscription = existing
        } else {
            subscription = Task { [connection] in
                let messages = try await connection.signals(matchingAny: Self.engineRules)
                self.engineFeedTask = Task { [weak self] in
                    for await message in messages {
                        guard let self else { return }
                        await self.engineFeedMessage(message)
                    }
                }
            }
            engineFeed = subscription
        }
        do {
            try await subscription.value
        } catch {
            // A later registration tries again.
            if engineFeed == subscription { engineFeed = nil }
            throw BrokerError(.failed, "Cannot follow sync engines on the bus: \(error)")
        }
    }

    /// Ends the engine subscription when no engine is left and none is registering, so that a broker without
    /// engines is not woken by every NameOwnerChanged on the bus.
    private func stopFollowingEnginesIfIdle() {
        guard engines.isEmpty, registrationsUnderWay == 0 else { return }
        engineFeedTask?.cancel()
        engineFeedTask = nil
        engineFeed = nil
    }

    private func engineFeedMessage(_ message: DBusMessage) async {
        if let change = DBusNameOwnerChange(message) {
            if change.newOwner == nil, change.name.hasPrefix(":") { await engineVanished(change.name) }
            return
        }
        guard let sender = message.sender, let path = message.path else { return }
        let key = SyncEngine.Key(sender: sender, path: path)
        guard engines[key] != nil else { return }
        await engineSignal(message, from: key)
    }

    private func engineVanished(_ sender: String) async {
        let keys = engines.keys.filter { $0.sender == sender }
        guard !keys.isEmpty else { return }
        logger.info("Sync engine went away", metadata: ["connection": "\(sender)"])
        await drop(keys, reason: "the sync engine went away")
    }

    /// Forgets engines, fails their running jobs with `reason` and updates the actions they served.
    private func drop(_ keys: [SyncEngine.Key], reason: String) async {
        for key in keys {
            engines.removeValue(forKey: key)
        }
        stopFollowingEnginesIfIdle()
        let dropped = Set(keys)
        for job in jobs.values where job.state == .running && dropped.contains(job.engine) {
            await finish(job.path, .failed, error: reason)
        }
        await refreshActions()
    }

    private func engineSignal(_ message: DBusMessage, from key: SyncEngine.Key) async {
        guard let jobPath = message.arguments.first?.objectPath, let job = jobs[jobPath], job.engine == key,
            job.state == .running
        else { return }
        switch (message.member, message.signature) {
        case ("Progress", "ods"):
            let fraction = min(max(message.arguments[1].double ?? 0, 0), 1)
            guard fraction.isFinite else { return }
            jobs[jobPath]?.progress = fraction
            jobs[jobPath]?.message = DeviceText.sanitize(message.arguments[2].string ?? "")
            await publish(jobPath)
        case ("Finished", "obs"):
            let success = message.arguments[1].bool ?? false
            let text = DeviceText.sanitize(message.arguments[2].string ?? "")
            await finish(
                jobPath, success ? .succeeded : .failed,
                error: success ? "" : (text.isEmpty ? "the sync engine reported a failure" : text))
        default:
            logger.debug("Ignoring an engine signal", metadata: ["engine": "\(key)", "signal": "\(message)"])
        }
    }
}
