// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One device's SyncEvolution configuration (`<name>@devsync`), ready to sync.
///
/// The first sync of each datastore with the phone is a slow sync (every item compared), as a new pair needs;
/// later ones are two-way (changes only). Which datastores have completed a sync is kept in the configuration's
/// own directory (`.devsync-synced`), so it goes when the configuration goes. A slow sync that was interrupted
/// leaves the datastore slow for next time; if SyncEvolution refuses a two-way sync because the pair's change
/// tracking is gone (an interrupted two-way sync, a reset phone: "unexpected slow sync"), the run is repeated
/// once as a slow sync, which compares items instead of deleting any.
public struct SyncEvolutionConfig: Sendable {
    let command: SyncEvolutionCommand
    /// The device this configuration is for.
    public let device: SyncEvolutionDevice
    /// The peer part of the name, a slug (``ConfigName``).
    public let peer: String

    /// The name SyncEvolution knows it by: `nokia-e61i-00-11-22-33-44-55@devsync`.
    public var name: String { "\(peer)@\(ConfigName.context)" }

    /// Its directory below SyncEvolution's configuration directory.
    public var directory: String { "\(command.configDirectory)/\(ConfigName.context)/peers/\(peer)" }

    var markerPath: String { directory + "/.devsync-synced" }

    /// The datastores that have completed a sync with this phone.
    var syncedDatastores: Set<String> {
        Set((SyncEvolutionCommand.read(markerPath) ?? "").split(whereSeparator: \.isNewline).map(String.init))
    }

    func forgetSyncedDatastores() {
        unlink(markerPath)
    }

    func rememberSynced(_ datastores: [String]) {
        let all = syncedDatastores.union(datastores).sorted()
        let temporary = markerPath + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data((all.joined(separator: "\n") + "\n").utf8)) else { return }
        rename(temporary, markerPath)
    }

    /// The datastores that carry `types` in this configuration: the template's own for each, except where it
    /// syncs calendar and to-dos together (Nokia's `calendar+todo`).
    func plan(_ types: [SyncDataType]) throws(SyncEvolutionError) -> [(datastore: String, types: [SyncDataType])] {
        var plan: [(datastore: String, types: [SyncDataType])] = []
        for type in Set(types).sorted() {
            var datastore = type.datastore
            if type == .calendar || type == .todo {
                let uri = SyncEvolutionCommand.property("uri", in: SyncEvolutionCommand.read("\(directory)/sources/\(datastore)/config.ini") ?? "")
                if uri?.hasPrefix("use-calendar+todo") == true { datastore = "calendar+todo" }
            }
            let ini = SyncEvolutionCommand.read("\(directory)/sources/\(datastore)/config.ini")
            let mode = ini.flatMap { SyncEvolutionCommand.property("sync", in: $0) } ?? "disabled"
            guard ini != nil, mode != "disabled", mode != "none" else {
                throw SyncEvolutionError(
                    .configuration,
                    "SyncEvolution has no usable \(type.rawValue) datastore for \(device.displayName) (“\(datastore)” is disabled in \(directory)); "
                        + "its local database was not available when the configuration was made (Evolution's need evolution-data-server running).")
            }
            if let index = plan.firstIndex(where: { $0.datastore == datastore }) {
                plan[index].types.append(type)
            } else {
                plan.append((datastore, [type]))
            }
        }
        return plan
    }

    /// Syncs `dataTypes` with the phone and returns what changed on each side; `progress` hears the share done
    /// (0…1) and SyncEvolution's latest step ("contacts: received 12/40"). Cancelling the task aborts the sync
    /// (SIGTERM, SyncEvolution's abort), which ends in ``SyncEvolutionError/Code/cancelled``.
    public func run(
        dataTypes: [SyncDataType], progress: @escaping @Sendable (Double, String) -> Void
    ) async throws(SyncEvolutionError) -> SyncSummary {
        guard !dataTypes.isEmpty else {
            throw SyncEvolutionError(.unsupportedDataType, "Nothing to sync: no data type was asked for.")
        }
        let program = try command.executable()
        let plan = try plan(dataTypes)
        let synced = syncedDatastores
        var slow = Set(plan.map(\.datastore).filter { !synced.contains($0) })
        var retried = false
        while true {
            let attempt = await runOnce(program: program, plan: plan, slow: slow, progress: progress)
            switch attempt {
            case .success(let summary):
                rememberSynced(plan.map(\.datastore))
                return summary
            case .failure(let error, let refusedSlow):
                if refusedSlow, !retried, slow.count < plan.count, !Task.isCancelled {
                    command.logger.notice(
                        "SyncEvolution refused a two-way sync (the pair's change tracking is gone); running a slow sync",
                        metadata: ["config": "\(name)"])
                    slow = Set(plan.map(\.datastore))
                    retried = true
                    continue
                }
                throw error
            }
        }
    }

    private enum Attempt {
        case success(SyncSummary)
        case failure(SyncEvolutionError, refusedSlowSync: Bool)
    }

    private func runOnce(
        program: String, plan: [(datastore: String, types: [SyncDataType])], slow: Set<String>,
        progress: @escaping @Sendable (Double, String) -> Void
    ) async -> Attempt {
        let labels = Dictionary(uniqueKeysWithValues: plan.map { ($0.datastore, $0.types.map(\.rawValue).joined(separator: "+")) })
        let parser = Mutex(OutputParser(datastores: labels))
        let modes = plan.map { "\($0.datastore)/sync=\(slow.contains($0.datastore) ? "slow" : "two-way")" }
        let arguments = [program, "--daemon=no", "--run"] + modes + [name] + plan.map(\.datastore)
        let sessionsBefore = sessions()
        command.logger.info(
            "Starting a SyncEvolution sync", metadata: ["config": "\(name)", "modes": "\(modes.joined(separator: " "))"])
        let outcome = await ChildRun.run(arguments, environment: command.childEnvironment, timeout: command.timeout) { _, line in
            if let step = parser.withLock({ $0.take(line) }) { progress(step.0, step.1) }
        }
        let output = parser.withLock { $0 }
        let session = sessions().subtracting(sessionsBefore).sorted().last.map { "\(command.sessionDirectory)/\($0)" }
        let logFile = output.logFile ?? session.map { $0 + "/syncevolution-log.html" }
        let error: SyncEvolutionError
        switch outcome {
        case .exited(0):
            guard let session, let text = SyncEvolutionCommand.read(session + "/status.ini") else {
                return .failure(SyncEvolutionError(
                    .syncFailed, "SyncEvolution finished the sync with \(device.displayName) but left no report in \(command.sessionDirectory)."),
                    refusedSlowSync: false)
            }
            let status = SessionStatus(text: text)
            let datastores = plan.map { entry in
                SyncSummary.Datastore(
                    name: entry.datastore, dataTypes: entry.types, mode: status.mode(entry.datastore) ?? "unknown",
                    local: status.changes(entry.datastore, side: "local"), phone: status.changes(entry.datastore, side: "remote"))
            }
            command.logger.info("SyncEvolution sync finished", metadata: ["config": "\(name)", "session": "\(session)"])
            progress(1, "done")
            return .success(SyncSummary(datastores: datastores, sessionDirectory: session))
        case .stopped(cancelled: true):
            error = SyncEvolutionError(.cancelled, "The sync with \(device.displayName) was cancelled; SyncEvolution aborted it.", logFile: logFile)
        case .stopped(cancelled: false):
            error = SyncEvolutionError(
                .timedOut, "The sync with \(device.displayName) took longer than \(command.timeout) and was aborted.", logFile: logFile)
        case .signalled(let signal):
            error = crashError(signal, logFile: logFile)
        case .exited(let status) where status > 128 && [SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE].contains(status - 128):
            // A wrapper script reports its child's crash as 128 + the signal (139 for SIGSEGV).
            error = crashError(status - 128, logFile: logFile)
        case .notStarted(let reason):
            error = SyncEvolutionError(.syncFailed, "SyncEvolution could not be started: \(reason).")
        case .exited(let status):
            let said = output.sentence ?? "it exited with status \(status) without saying why"
            if case .bluetooth(let address, _) = device.peer, output.transportFailed {
                error = SyncEvolutionError(
                    .unreachable,
                    "\(device.displayName) (\(address)) could not be reached over Bluetooth: SyncEvolution says “\(said)”. "
                        + "Check that the phone is on, in range and paired, and that Bluetooth is on.", logFile: logFile)
            } else {
                error = SyncEvolutionError(.syncFailed, "SyncEvolution could not sync \(device.displayName): \(said)", logFile: logFile)
            }
        }
        command.logger.notice(
            "SyncEvolution sync failed", metadata: ["config": "\(name)", "code": "\(error.code)", "reason": "\(error.message)"])
        return .failure(error, refusedSlowSync: output.refusedUnexpectedSlowSync)
    }

    private func crashError(_ signal: Int32, logFile: String?) -> SyncEvolutionError {
        var message = "SyncEvolution crashed with \(SyncEvolutionCommand.signalName(signal)) while syncing \(device.displayName)."
        if case .bluetooth = device.peer {
            message += " Debian 12's SyncEvolution 2.0 crashes this way as soon as it talks to a phone over Bluetooth "
                + "(libsyncevolution calls smlLibMemcpy, which its libsmltk exports as a variable); "
                + "a SyncEvolution built from source, or a newer distribution's, is needed for this phone."
        }
        return SyncEvolutionError(.crashed, message, logFile: logFile)
    }

    /// The names of this configuration's session directories (`<name>-<date>…`). SyncEvolution writes a `-` in
    /// the name as `_+` there; a peer name holds no other character it escapes (``ConfigName``).
    private func sessions() -> Set<String> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: command.sessionDirectory)) ?? []
        let prefixes = [name.replacing("-", with: "_+") + "-", name + "-"]
        return Set(entries.filter { entry in prefixes.contains { entry.hasPrefix($0) } })
    }
}
