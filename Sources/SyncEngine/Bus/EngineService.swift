// SPDX-License-Identifier: Apache-2.0
import DBus
import Logging

/// The broker's names the engine uses, as docs/dbus-api.md gives them.
public enum BrokerNames {
    /// The broker's bus name.
    public static let busName = "org.devsync.Broker1"
    /// The manager object.
    public static let managerPath = try! DBusObjectPath("/org/devsync/Broker1")
    /// The manager interface.
    public static let managerInterface = "org.devsync.Broker1.Manager"
    /// The device interface.
    public static let deviceInterface = "org.devsync.Broker1.Device"
    /// The interface every engine implements.
    public static let engineInterface = "org.devsync.Engine1"
}

/// Why the engine stopped other than by ``EngineService/stop()``.
public struct EngineFailure: Error, Sendable, CustomStringConvertible {
    /// The sentence for the log and the exit.
    public var sentence: String
    public var description: String { sentence }
}

/// The engine on the bus: one `org.devsync.Engine1` object per kind of work, registered with the broker whenever
/// it appears, the broker's `Sync` and `Cancel` turned into jobs, and the jobs' `Progress` and `Finished`.
///
/// Only the broker's unique name may call `Sync` and `Cancel`: the broker checked that the caller may sync the
/// device, anyone else could otherwise make the engine work for them. A device's actions listed in
/// ``automaticActions`` are invoked through the broker, as the user would, when an approved device of the
/// engine's user arrives.
public actor EngineService {
    /// Where the work objects live: `/org/devsync/Engine/<work name>`.
    public static let basePath = try! DBusObjectPath("/org/devsync/Engine")

    private struct RunningJob {
        var work: String
        var uid: String
        var task: Task<Void, Never>
    }

    private let connection: DBusConnection
    private let works: [any SyncWork]
    private let automaticActions: [String]
    private let userName: String
    private let logger: Logger
    private var brokerOwner: String?
    private var jobs: [DBusObjectPath: RunningJob] = [:]
    private var failure: EngineFailure?
    private var stopping = false
    private var followers: [Task<Void, Never>] = []

    /// An engine serving `works` on `connection`; `automaticActions` are started when an approved device of
    /// `userName` arrives.
    public init(
        connection: DBusConnection, works: [any SyncWork], automaticActions: [String] = [],
        userName: String = FileSystem.currentUser().name, logger: Logger
    ) {
        self.connection = connection
        self.works = works
        self.automaticActions = automaticActions
        self.userName = userName
        self.logger = logger
    }

    /// The object path of a kind of work.
    public static func path(of work: any SyncWork) -> DBusObjectPath {
        basePath.appending(escaping: work.name)
    }

    /// Exports the work objects, registers with the broker (now, or when it appears) and serves until
    /// ``stop()`` or until the connection closes; throws when the broker refuses the registration.
    public func run() async throws {
        for work in works {
            try await connection.export([engineInterface(for: work)], at: Self.path(of: work))
        }
        // Subscribed before asking who owns the name, so an appearance in between is not missed.
        let owners = try await connection.nameOwnerChanges(of: BrokerNames.busName)
        followers.append(Task { [weak self] in
            for await change in owners {
                await self?.brokerChanged(to: change.newOwner)
            }
        })
        if !automaticActions.isEmpty {
            let arrivals = try await connection.signals(matchingAny: [
                DBusMatchRule(
                    sender: BrokerNames.busName, interface: "org.freedesktop.DBus.Properties",
                    member: "PropertiesChanged", arg0: BrokerNames.deviceInterface),
                DBusMatchRule(sender: BrokerNames.busName, interface: BrokerNames.managerInterface, member: "DeviceAdded"),
            ])
            followers.append(Task { [weak self] in
                for await message in arrivals {
                    await self?.deviceSignal(message)
                }
            })
        }
        let owner = try await connection.nameOwner(of: BrokerNames.busName)
        if owner == nil { logger.notice("Waiting for the broker on the bus", metadata: ["name": "\(BrokerNames.busName)"]) }
        if brokerOwner == nil, let owner { await brokerChanged(to: owner) }
        await connection.waitUntilClosed()
        for follower in followers { follower.cancel() }
        for job in jobs.values { job.task.cancel() }
        if let failure { throw failure }
        if !stopping { throw EngineFailure(sentence: "the bus connection closed") }
    }

    /// Unregisters from the broker (politely: leaving the bus unregisters too) and closes the connection, which
    /// ends ``run()``. Running jobs are cancelled; the broker fails them as the engine leaves.
    public func stop() async {
        stopping = true
        for job in jobs.values { job.task.cancel() }
        if brokerOwner != nil {
            for work in works {
                _ = try? await connection.call(
                    destination: BrokerNames.busName, path: BrokerNames.managerPath,
                    interface: BrokerNames.managerInterface, member: "UnregisterEngine",
                    arguments: [.objectPath(Self.path(of: work))], timeout: .seconds(2))
            }
            logger.info("Unregistered from the broker")
        }
        await connection.close()
    }

    /// How many jobs are running.
    public var runningJobs: Int { jobs.count }

    // MARK: The broker

    private func brokerChanged(to owner: String?) async {
        guard owner != brokerOwner else { return }
        if brokerOwner != nil {
            // The broker failed our jobs as it went; a new one knows nothing of them.
            for job in jobs.values { job.task.cancel() }
            jobs.removeAll()
            logger.notice("The broker left the bus; waiting for it to come back")
        }
        brokerOwner = owner
        guard let owner else { return }
        for work in works {
            do {
                _ = try await connection.call(
                    destination: owner, path: BrokerNames.managerPath, interface: BrokerNames.managerInterface,
                    member: "RegisterEngine",
                    arguments: [.objectPath(Self.path(of: work)), .strings(work.plugins), .strings(work.datatypes)])
                logger.info(
                    "Registered with the broker",
                    metadata: ["work": "\(work.name)", "plugins": "\(work.plugins.joined(separator: ","))",
                               "datatypes": "\(work.datatypes.joined(separator: ","))"])
            } catch let error as DBusError {
                // Gone again meanwhile: its return registers anew.
                if brokerOwner != owner { return }
                failure = EngineFailure(sentence: "the broker refused to register the \(work.name) engine: \(error.message)")
                logger.error("The broker refused the registration", metadata: ["work": "\(work.name)", "error": "\(error.message)"])
                await connection.close()
                return
            } catch {
                return
            }
        }
    }

    // MARK: Engine1

    private func engineInterface(for work: any SyncWork) -> DBusInterface {
        DBusInterface(
            BrokerNames.engineInterface,
            methods: [
                DBusMethod(
                    "Sync",
                    inputs: [
                        DBusArgument("uid", .string), DBusArgument("device", "a{sv}"),
                        DBusArgument("datatypes", "as"), DBusArgument("options", "a{sv}"),
                    ]
                ) { [weak self] call in
                    guard let self else { return [] }
                    try await self.sync(call, work: work)
                    return []
                },
                DBusMethod("Cancel", inputs: [DBusArgument("job", .objectPath)]) { [weak self] call in
                    guard let self else { return [] }
                    try await self.cancel(call, work: work)
                    return []
                },
            ],
            signals: [
                DBusSignalDeclaration(
                    "Progress",
                    arguments: [DBusArgument("job", .objectPath), DBusArgument("fraction", .double), DBusArgument("message", .string)]),
                DBusSignalDeclaration(
                    "Finished",
                    arguments: [DBusArgument("job", .objectPath), DBusArgument("success", .boolean), DBusArgument("error", .string)]),
            ])
    }

    private func requireBroker(_ call: DBusMethodCall) throws(DBusError) {
        guard let brokerOwner, call.sender == brokerOwner else {
            throw DBusError(
                name: DBusError.Name.accessDenied,
                message: "Only \(BrokerNames.busName) calls \(BrokerNames.engineInterface).\(call.member).")
        }
    }

    private func sync(_ call: DBusMethodCall, work: any SyncWork) throws(DBusError) {
        try requireBroker(call)
        let uid = call.arguments[0].string ?? ""
        let device = call.arguments[1].stringDictionary ?? [:]
        let datatypes = call.arguments[2].arrayElements?.compactMap(\.string) ?? []
        guard let job = call.arguments[3]["job"]?.unwrapped.objectPath, !datatypes.isEmpty else {
            throw DBusError(name: DBusError.Name.invalidArgs, message: "Sync needs options[\"job\"] and at least one data type.")
        }
        guard jobs[job] == nil else { throw DBusError(name: DBusError.Name.invalidArgs, message: "The job \(job) is already running.") }
        if let other = jobs.first(where: { $0.value.work == work.name && $0.value.uid == uid }) {
            throw DBusError(
                name: "org.devsync.Engine1.Error.Busy",
                message: "A \(work.name) job for device \(uid) is already running (\(other.key)); wait for it to end or cancel it.")
        }
        let request = SyncRequest(job: job, uid: uid, datatypes: datatypes, device: device)
        logger.info(
            "Job started",
            metadata: ["job": "\(job)", "uid": "\(uid)", "work": "\(work.name)", "datatypes": "\(datatypes.joined(separator: ","))"])
        // The reply goes out when this returns; the job reports through signals from its own task.
        let task = Task { await self.execute(request, work: work) }
        jobs[job] = RunningJob(work: work.name, uid: uid, task: task)
    }

    private func cancel(_ call: DBusMethodCall, work: any SyncWork) throws(DBusError) {
        try requireBroker(call)
        guard let job = call.arguments[0].objectPath else { return }
        guard let running = jobs[job], running.work == work.name else { return }
        logger.info("Job cancelled", metadata: ["job": "\(job)", "uid": "\(running.uid)"])
        running.task.cancel()
    }

    private func execute(_ request: SyncRequest, work: any SyncWork) async {
        let path = Self.path(of: work)
        let progress = JobProgress { [weak self] fraction, message in
            await self?.emit(path, "Progress", [.objectPath(request.job), .double(fraction), .string(message)])
        }
        let success: Bool
        let sentence: String
        do {
            let summary = try await work.run(request, progress: progress)
            // The summary is the job's last progress message; Finished carries only failures' sentences.
            await progress(1, summary)
            (success, sentence) = (true, "")
            logger.info("Job succeeded", metadata: ["job": "\(request.job)", "uid": "\(request.uid)", "summary": "\(summary)"])
        } catch is CancellationError {
            (success, sentence) = (false, "cancelled")
            logger.info("Job stopped after its cancellation", metadata: ["job": "\(request.job)", "uid": "\(request.uid)"])
        } catch let failure as SyncFailure {
            (success, sentence) = (false, failure.sentence)
            logger.warning("Job failed", metadata: ["job": "\(request.job)", "uid": "\(request.uid)", "error": "\(failure.sentence)"])
        } catch {
            (success, sentence) = (false, "The \(work.name) failed: \(error)")
            logger.warning("Job failed", metadata: ["job": "\(request.job)", "uid": "\(request.uid)", "error": "\(error)"])
        }
        jobs[request.job] = nil
        await emit(path, "Finished", [.objectPath(request.job), .bool(success), .string(sentence)])
    }

    private func emit(_ path: DBusObjectPath, _ member: String, _ arguments: [DBusValue]) async {
        do {
            try await connection.emit(DBusSignalEmission(
                path: path, interface: BrokerNames.engineInterface, member: member, arguments: arguments))
        } catch {
            logger.error("Cannot send a signal", metadata: ["signal": "\(member)", "error": "\(error)"])
        }
    }

    // MARK: Automatic actions

    /// A device that became present or approved: if it is the user's, approved and present, its automatic
    /// actions are invoked.
    private func deviceSignal(_ message: DBusMessage) async {
        guard !stopping, message.sender == brokerOwner, let brokerOwner else { return }
        let device: DBusObjectPath
        if message.member == "DeviceAdded" {
            guard let path = message.arguments.first?.objectPath else { return }
            device = path
        } else {
            let changed = message.arguments.count > 1 ? message.arguments[1] : .vardict([:])
            let arrived = changed["Present"]?.unwrapped.bool == true || changed["Status"]?.unwrapped.string == "approved"
            guard arrived, let path = message.path else { return }
            device = path
        }
        let properties: [String: DBusValue]
        do {
            let reply = try await connection.call(
                destination: brokerOwner, path: device, interface: "org.freedesktop.DBus.Properties", member: "GetAll",
                arguments: [.string(BrokerNames.deviceInterface)])
            properties = reply.first?.stringDictionary ?? [:]
        } catch {
            return
        }
        guard properties["Owner"]?.unwrapped.string == userName, properties["Status"]?.unwrapped.string == "approved",
            properties["Present"]?.unwrapped.bool == true, let uid = properties["Uid"]?.unwrapped.string
        else { return }
        guard !jobs.values.contains(where: { $0.uid == uid }) else { return }
        let offered = properties["Actions"]?.unwrapped.arrayElements?.compactMap { action -> String? in
            guard let fields = action.structureFields, fields.count == 4, fields[3].bool == true else { return nil }
            return fields[0].string
        } ?? []
        for action in automaticActions where offered.contains(action) {
            do {
                let reply = try await connection.call(
                    destination: brokerOwner, path: device, interface: BrokerNames.deviceInterface, member: "Invoke",
                    arguments: [.string(action), .vardict(["auth.no_user_interaction": .bool(true)])])
                logger.info(
                    "Started an automatic sync",
                    metadata: ["uid": "\(uid)", "action": "\(action)", "job": "\(reply.first?.objectPath?.rawValue ?? "")"])
            } catch let error as DBusError {
                logger.warning("Cannot start an automatic sync", metadata: ["uid": "\(uid)", "action": "\(action)", "error": "\(error.message)"])
            } catch {
                return
            }
        }
    }
}
