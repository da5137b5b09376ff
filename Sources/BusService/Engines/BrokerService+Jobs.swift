import DBus
import DeviceRegistry

/// Invoke, the Job objects and Cancel.
extension BrokerService {
    func invoke(uid: String, _ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        let actionID = call.arguments[0].string ?? ""
        let caller = try await authorizer.caller(of: call)
        try await authorizer.authorize(
            caller, owner: try current(uid).owner, action: BrokerContract.syncAnyDeviceAction,
            operation: "sync device \(uid)", options: options(of: call))
        let record = try current(uid)
        guard record.status == .approved else {
            throw BrokerError(.badState, "Device \(uid) is \(record.status); approve it before syncing it.")
        }
        guard let action = record.actions.first(where: { $0.id == actionID }) else {
            let offered = record.actions.map(\.id).joined(separator: ", ")
            throw BrokerError(
                .noSuchAction,
                "Device \(uid) has no action \"\(actionID)\"; it offers \(offered.isEmpty ? "none" : offered).")
        }
        guard let owner = record.owner, let ownerUID = UserAccounts.uid(ofUser: owner) else {
            throw BrokerError(.noEngine, "Device \(uid) has no owner with an account here, so no engine may sync it.")
        }
        let candidates = engines.values.sorted { $0.key.description < $1.key.description }
        guard
            let engine = candidates.first(where: {
                $0.uid == ownerUID && $0.handles(plugin: record.plugin)
                    && (action.datatypes.isEmpty || !$0.datatypes(of: action.datatypes).isEmpty)
            })
        else {
            throw BrokerError(
                .noEngine,
                "No sync engine of user \(owner) handles plugin \(record.plugin); start one (it registers with RegisterEngine).")
        }

        let path = BrokerContract.jobsPath.appending(escaping: String(nextJobNumber))
        nextJobNumber += 1
        let job = SyncJob(
            path: path, deviceUID: uid, devicePath: BrokerContract.devicePath(uid: uid), action: action.id,
            owner: owner, engine: engine.key)
        jobs[path] = job
        do {
            try await connection.export([jobInterface(path: path, values: job.properties)], at: path)
        } catch {
            jobs[path] = nil
            throw BrokerError(.failed, "Cannot publish the job for device \(uid): \(error)")
        }
        logger.info(
            "Sync started",
            metadata: ["uid": "\(uid)", "action": "\(action.id)", "job": "\(path)", "engine": "\(engine.key)"])
        let device = DeviceObject.typed(record.properties, extra: ["Uid": .string(uid), "Owner": .string(owner)])
        let arguments: [DBusValue] = [
            .string(uid), device, .strings(engine.datatypes(of: action.datatypes)), .vardict(["job": .objectPath(path)]),
        ]
        // The job exists before the engine hears of it, so no Progress can arrive for an unknown job.
        Task { await self.sendSync(path, to: engine.key, arguments) }
        return [.objectPath(path)]
    }

    private func sendSync(_ job: DBusObjectPath, to engine: SyncEngine.Key, _ arguments: [DBusValue]) async {
        do {
            _ = try await connection.call(
                destination: engine.sender, path: engine.path, interface: BrokerContract.engineInterface,
                member: "Sync", arguments: arguments)
        } catch {
            let reason = (error as? DBusError)?.message ?? "\(error)"
            await finish(job, .failed, error: "The sync engine refused the job: \(reason)")
        }
    }

    func cancel(job path: DBusObjectPath, _ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        guard let job = jobs[path] else { throw BrokerError(.failed, "The job \(path) is gone.") }
        let caller = try await authorizer.caller(of: call)
        try await authorizer.authorize(
            caller, owner: job.owner, action: BrokerContract.syncAnyDeviceAction,
            operation: "cancel the sync of device \(job.deviceUID)", options: options(of: call))
        guard let current = jobs[path], current.state == .running else {
            throw BrokerError(.badState, "The job \(path) has already ended (\(jobs[path]?.state.rawValue ?? "gone")).")
        }
        do {
            _ = try await connection.call(
                destination: current.engine.sender, path: current.engine.path,
                interface: BrokerContract.engineInterface, member: "Cancel", arguments: [.objectPath(path)])
        } catch {
            logger.warning("The engine did not take the cancellation", metadata: ["job": "\(path)", "error": "\(error)"])
        }
        await finish(path, .cancelled, error: "")
        return []
    }

    /// Publishes a job's changed properties.
    func publish(_ path: DBusObjectPath) async {
        guard let job = jobs[path] else { return }
        do {
            try await connection.setProperties(job.properties, interface: BrokerContract.jobInterface, at: path)
        } catch {
            logger.error("Cannot publish a job change", metadata: ["job": "\(path)", "error": "\(error)"])
        }
    }

    /// Ends a running job, says so, and drops the oldest finished jobs beyond ``keptFinishedJobs``.
    func finish(_ path: DBusObjectPath, _ state: SyncJob.State, error: String) async {
        guard var job = jobs[path], job.state == .running else { return }
        job.state = state
        job.error = error
        if state == .succeeded { job.progress = 1 }
        jobs[path] = job
        logger.info(
            "Sync ended",
            metadata: ["job": "\(path)", "uid": "\(job.deviceUID)", "state": "\(state.rawValue)", "error": "\(error)",
                       "engine": "\(job.engine)", "message-id": "\(LogMessageID.syncFinished)"])
        await publish(path)
        do {
            try await connection.emit(DBusSignalEmission(
                path: path, interface: BrokerContract.jobInterface, member: "Finished",
                arguments: [.string(state.rawValue), .string(error)]))
        } catch {
            logger.error("Cannot signal the end of a job", metadata: ["job": "\(path)", "error": "\(error)"])
        }
        finishedJobs.append(path)
        while finishedJobs.count > Self.keptFinishedJobs {
            let oldest = finishedJobs.removeFirst()
            jobs[oldest] = nil
            try? await connection.unexport(at: oldest)
        }
    }
}
