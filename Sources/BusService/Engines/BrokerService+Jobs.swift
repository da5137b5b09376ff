// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry

/// Invoke, the Job objects and Cancel.
extension BrokerService {
    /// How many jobs one engine may run at once.
    public static let maxRunningJobsPerEngine = 16

    func invoke(uid: String, _ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        let actionID = call.arguments[0].string ?? ""
        let caller = try await authorizer.caller(of: call)
        let currentOwner = try current(uid).owner
        try await authorizer.authorize(
            caller, owner: currentOwner, action: BrokerContract.syncAnyDeviceAction, operation: "sync device \(uid)",
            standing: currentOwner == nil ? "it has no owner yet" : "you are not its owner", options: options(of: call))
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
                $0.uid == ownerUID && $0.handles(plugin: record.plugin) && $0.runs(action)
            })
        else {
            throw BrokerError(
                .noEngine,
                "No sync engine of user \(owner) handles plugin \(record.plugin); start one (it registers with RegisterEngine).")
        }

        // An engine that never finishes must not let its owner pile up jobs without end.
        let running = jobs.values.count(where: { $0.engine == engine.key && $0.state == .running })
        guard running < Self.maxRunningJobsPerEngine else {
            throw BrokerError(
                .limitsExceeded,
                "The sync engine already runs \(running) jobs, the most one engine may; wait for one to end or cancel one.")
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
            await finish(job, .failed, error: Self.undelivered(error, engine: engine))
        }
    }

    /// Why a call to an engine failed, saying who failed it: the engine, the bus daemon (whose replies carry
    /// the bus's own name as sender, which no peer can forge), or this connection (no reply, disconnected).
    static func undelivered(_ error: any Error, engine: SyncEngine.Key, what: String = "the job") -> String {
        guard let error = error as? DBusError else { return "Cannot reach the sync engine: \(error)" }
        if error.isFromBus {
            if error.name == DBusError.Name.accessDenied {
                return "The bus refused to pass \(what) to the sync engine: its security policy does not let "
                    + "devsyncd call \(BrokerContract.engineInterface) on \(engine.sender) (the bus policy file "
                    + "org.devsync.Broker1.conf must allow it): \(error.message)"
            }
            return "The bus could not pass \(what) to the sync engine (\(error.name)): \(error.message)"
        }
        guard error.sender != nil else {
            return "The sync engine did not take \(what) (\(error.name)): \(error.message)"
        }
        return "The sync engine refused \(what): \(error.message)"
    }

    func cancel(job path: DBusObjectPath, _ call: DBusMethodCall) async throws(BrokerError) -> [DBusValue] {
        guard let job = jobs[path] else { throw BrokerError(.failed, "The job \(path) is gone.") }
        let caller = try await authorizer.caller(of: call)
        try await authorizer.authorize(
            caller, owner: job.owner, action: BrokerContract.syncAnyDeviceAction,
            operation: "cancel the sync of device \(job.deviceUID)", standing: "the device is not yours",
            options: options(of: call))
        guard let current = jobs[path], current.state == .running else {
            throw BrokerError(.badState, "The job \(path) has already ended (\(jobs[path]?.state.rawValue ?? "gone")).")
        }
        // Cancelled before the engine hears of it, as the engine contract says: an engine that answers with its own
        // Finished (the reference engine does, before or after its reply) would otherwise fail the job while this
        // call awaits the reply.
        await finish(path, .cancelled, error: "")
        do {
            _ = try await connection.call(
                destination: current.engine.sender, path: current.engine.path,
                interface: BrokerContract.engineInterface, member: "Cancel", arguments: [.objectPath(path)])
        } catch {
            logger.warning(
                "The engine did not take the cancellation",
                metadata: ["job": "\(path)", "error": "\(Self.undelivered(error, engine: current.engine, what: "the cancellation"))"])
        }
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
