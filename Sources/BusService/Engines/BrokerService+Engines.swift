import DBus
import DeviceRegistry

/// Sync engines: registration, their signals and their disappearance.
extension BrokerService {
    /// Whether an engine of the device's owner handles its plugin (the `available` flag of its actions).
    func actionsAvailable(_ record: DeviceRecord) -> Bool {
        guard !engines.isEmpty, let owner = record.owner, let ownerUID = UserAccounts.uid(ofUser: owner) else {
            return false
        }
        return engines.values.contains { $0.uid == ownerUID && $0.handles(plugin: record.plugin) }
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

    func registerEngine(_ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        guard let path = call.arguments[0].objectPath,
            let plugins = call.arguments[1].arrayElements?.compactMap(\.string),
            let datatypes = call.arguments[2].arrayElements?.compactMap(\.string)
        else { throw BrokerError(.invalidArgs, "RegisterEngine takes an object path and two lists of strings.") }
        let caller = try await authorizer.caller(of: call)
        let key = SyncEngine.Key(sender: caller.sender, path: path)
        if engines[key] == nil {
            let watch = try await watch(key)
            // The engine may have left while the watch was set up; then nothing would ever report it.
            guard (try? await connection.nameOwner(of: key.sender)) ?? nil != nil else {
                watch.cancel()
                throw BrokerError(.failed, "The engine's connection \(key.sender) closed while it registered.")
            }
            if let raced = engines[key] {
                raced.watch?.cancel()
            }
            engines[key] = SyncEngine(key: key, uid: caller.uid, plugins: plugins, datatypes: datatypes, watch: watch)
        } else {
            engines[key]?.plugins = plugins
            engines[key]?.datatypes = datatypes
        }
        logger.info(
            "Sync engine registered",
            metadata: ["engine": "\(key)", "uid": "\(caller.uid)", "plugins": "\(plugins.joined(separator: ","))"])
        await refreshActions()
        return []
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

    /// Follows the engine's Progress and Finished signals and its connection, until cancelled.
    private func watch(_ key: SyncEngine.Key) async throws(BrokerError) -> Task<Void, Never> {
        let signals: AsyncStream<DBusMessage>
        let ownerChanges: AsyncStream<DBusNameOwnerChange>
        do {
            signals = try await connection.signals(
                matching: DBusMatchRule(sender: key.sender, path: key.path, interface: BrokerContract.engineInterface))
            ownerChanges = try await connection.nameOwnerChanges(of: key.sender)
        } catch {
            throw BrokerError(.failed, "Cannot follow the engine \(key): \(error)")
        }
        return Task { [weak self] in
            guard self != nil else { return }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [weak self] in
                    for await message in signals { await self?.engineSignal(message, from: key) }
                }
                group.addTask { [weak self] in
                    for await change in ownerChanges where change.newOwner == nil {
                        await self?.engineVanished(key.sender)
                        return
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
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
            engines.removeValue(forKey: key)?.watch?.cancel()
        }
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
