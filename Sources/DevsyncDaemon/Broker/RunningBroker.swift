// SPDX-License-Identifier: Apache-2.0
import Bluetooth
import BusService
import DBus
import DevsyncBuild
import DeviceRegistry
import Dispatch
import Logging
import Synchronization
import UdevMonitor

/// devsyncd once it runs: the registry fed by the device sources, published on the bus as `org.devsync.Broker1`.
///
/// ``start(configuration:additionalSources:logger:)`` wires the parts in the order `Type=dbus` readiness needs
/// (`docs/install.md`): the bus name is taken last, once the udev monitor listens, its cold-plug enumeration is
/// in the registry and the broker exports every device, so the device that started the service is listed
/// before any client can ask. devsyncd's `main` only parses flags, starts this and turns signals into
/// ``reloadProfiles()`` and ``stop()``.
public final class RunningBroker: Sendable {
    /// The registry the sources feed and the bus publishes.
    public let registry: Registry
    /// The connection the broker serves on.
    public let connection: DBusConnection
    /// The configuration it was started with.
    public let configuration: DaemonConfiguration

    private let broker: BrokerService
    private let usb: USBDeviceSource
    private let usbFeeder: Task<Void, Never>
    private let otherFeeders: [Task<Void, Never>]
    private let background: [Task<Void, Never>]
    private let ownerConnection: DBusConnection?
    private let profiles: ProfileSource
    private let logger: Logger

    private init(
        configuration: DaemonConfiguration, profiles: ProfileSource, registry: Registry, connection: DBusConnection,
        broker: BrokerService,
        usb: USBDeviceSource, usbFeeder: Task<Void, Never>, otherFeeders: [Task<Void, Never>],
        background: [Task<Void, Never>],
        ownerConnection: DBusConnection?, logger: Logger
    ) {
        self.configuration = configuration
        self.profiles = profiles
        self.registry = registry
        self.connection = connection
        self.broker = broker
        self.usb = usb
        self.usbFeeder = usbFeeder
        self.otherFeeders = otherFeeders
        self.background = background
        self.ownerConnection = ownerConnection
        self.logger = logger
    }

    /// Starts the broker and returns once it owns `org.devsync.Broker1` (the daemon is then ready).
    ///
    /// - Parameters:
    ///   - additionalSources: more device sources merged into the registry with udev's (the seam for the
    ///     Bluetooth watcher); each stream is read until it ends or ``stop()`` cancels it. Unlike udev's
    ///     cold-plug, what they report first is not awaited before the bus name is taken.
    /// - Throws: ``StartError`` naming the step that failed; `nameTaken` when another process owns the name.
    ///   - logControl: the log settings to offer as `org.freedesktop.LogControl1` on the broker's connection;
    ///     nil for none.
    ///   - queue: the serial queue udev, the registry and both bus connections run on; nil for a queue of its
    ///     own. devsyncd passes one that targets the main queue, which its main thread drains, so that no
    ///     libdispatch worker thread starts for a burst and exits after it (an idle wakeup; docs/benchmarks.md).
    ///   - onUevents: called on `queue` with how many uevents each read of udev's monitor brought (devsyncd
    ///     counts them as work for giving a storm's memory back); nil for nobody.
    public static func start(
        configuration: DaemonConfiguration, additionalSources: [AsyncStream<SourceEvent>] = [],
        logControl: LogControl? = nil, queue: DispatchQueue? = nil, onUevents: (@Sendable (Int) -> Void)? = nil,
        logger: Logger
    ) async throws(StartError) -> RunningBroker {
        let profiles = ProfileSource(directories: configuration.profileDirectories, logger: logger)
        let matcher = profiles.load().matcher

        // One serial queue carries a hotplug from udev's socket to the bus: the udev source reads there, the
        // feeders and the registry run there (the connection as their task executor), and so do the broker and
        // the connection. A uevent becomes DeviceAdded on the thread that read it, with no thread woken between.
        let queue = queue ?? DispatchQueue(label: "org.devsync.daemon")
        let connection: DBusConnection
        do {
            connection = try await Self.connect(to: configuration.bus, queue: queue, logger: logger)
        } catch {
            throw StartError(.bus, "cannot connect to the \(configuration.bus) bus: \(error)")
        }

        // logind lives on the system bus; a broker on another bus borrows it when it can, for owner suggestions.
        let tracker = LogindOwnerTracker(logger: logger)
        var ownerConnection: DBusConnection?
        if configuration.bus == .system {
            ownerConnection = connection
        } else {
            do {
                let borrowed = try await DBusConnection.system(queue: queue, logger: logger)
                ownerConnection = borrowed
            } catch {
                logger.notice(
                    "No system bus for logind; devices get no active-user owner suggestion",
                    metadata: ["error": "\(error)"])
            }
        }
        let owners = OwnerResolution(configuration: configuration, fallback: tracker, logger: logger)

        let registry: Registry
        do {
            registry = try Registry(
                stateDirectory: configuration.stateDirectory, matcher: matcher, ownerSuggester: owners, logger: logger)
        } catch {
            await Self.close(connection, ownerConnection)
            throw StartError(.state, "cannot open the state directory \(configuration.stateDirectory): \(error)")
        }

        var background: [Task<Void, Never>] = []
        if let ownerConnection {
            background.append(Task {
                do { try await tracker.run(on: ownerConnection) } catch where !(error is CancellationError) {
                    logger.notice("Cannot follow logind; devices get no active-user owner suggestion",
                                  metadata: ["error": "\(error)"])
                } catch {}
            })
        }
        // Made here (started below) so that a reload can re-read its databases.
        let usb = USBDeviceSource(configuration: .init(databases: configuration.databases), queue: queue, logger: logger)
        if let onUevents { usb.didReceiveUevents = { if $0 > 0 { onUevents($0) } } }
        // ApprovalRequested waits for the owner (the callout may take up to its timeout): the broker leaves the
        // signal to resolveOwners, which announces each request once its owner is known. The broker hands over
        // each request once the device is published, so resolving never delays a hotplug's DeviceAdded.
        let (requests, requested) = AsyncStream.makeStream(of: String.self)
        let polkit = PolkitClient(connection: connection, logger: logger)
        let broker = BrokerService(
            connection: connection, registry: registry,
            authorizer: CallerAuthorizer(polkit: polkit, logger: logger),
            policy: configuration.approvalPolicy == .auto ? .auto : .ask, daemonVersion: BuildConfiguration.version,
            reloadProfiles: { [registry, usb] in await Self.reload(profiles, databases: usb, into: registry) },
            announcesApprovalRequests: false, onApprovalRequest: { requested.yield($0) }, logger: logger)
        background.append(Task { [registry] in
            await Self.resolveOwners(
                requests: requests, registry: registry, broker: broker, owners: owners,
                policy: configuration.approvalPolicy, logger: logger)
        })
        // A decided or departed device's resolved owner is dropped; on the daemon's queue, where the registry
        // yields, so that following it wakes no other thread.
        let decisions = registry.events()
        background.append(Task(executorPreference: connection.taskExecutor) {
            for await event in decisions {
                switch event {
                case .changed(let record) where record.status != .pending: owners.forget(uid: record.uid)
                case .removed(let uid): owners.forget(uid: uid)
                default: break
                }
            }
        })

        do {
            try usb.start()
        } catch {
            background.forEach { $0.cancel() }
            await Self.close(connection, ownerConnection)
            throw StartError(.udev, "cannot monitor udev: \(error)")
        }
        // The devices present now ask for owners at once; with ApprovalPolicy=auto the active user must be known.
        if ownerConnection != nil { await tracker.waitForFirstAnswer() }
        // Cold-plug first, in this task, so that every device present at start-up is in the registry before the
        // broker exports and takes its name; hotplug then continues in the feeder. The enumeration's events are
        // all in the stream once start() has returned: the registry takes them in one call, not one actor hop
        // each.
        var coldPlugged = Set(usb.presentDevices)
        var iterator = usb.events.makeAsyncIterator()
        var coldPlug: [SourceEvent] = []
        coldPlug.reserveCapacity(coldPlugged.count)
        while !coldPlugged.isEmpty, let event = await iterator.next() {
            coldPlug.append(event)
            coldPlugged.remove(Self.sourceKey(of: event))
        }
        await registry.handle(contentsOf: coldPlug)
        let usbFeeder = Task(executorPreference: connection.taskExecutor) { [registry, iterator] in
            var iterator = iterator
            while let event = await iterator.next() { await registry.handle(event) }
        }
        // Paired Bluetooth devices are handled as if plugged in: BlueZ lives on the system bus, like logind. With
        // no BlueZ the watcher logs that once and waits for bluetoothd to appear.
        var sources = additionalSources
        if let ownerConnection {
            sources.append(BlueZWatcher(connection: ownerConnection, logger: logger).events())
        }
        let otherFeeders = sources.map { source in
            Task(executorPreference: connection.taskExecutor) { [registry] in
                for await event in source { await registry.handle(event) }
            }
        }

        let running = RunningBroker(
            configuration: configuration, profiles: profiles, registry: registry, connection: connection,
            broker: broker, usb: usb, usbFeeder: usbFeeder, otherFeeders: otherFeeders, background: background, ownerConnection: ownerConnection, logger: logger)
        do {
            // ApprovalRequested for the devices present now waits until the name is owned: no client before that.
            try await broker.start(holdingAnnouncements: true)
        } catch {
            await running.stop()
            throw StartError(.bus, "cannot export the broker's objects: \(error)")
        }
        if let logControl {
            do {
                try await LogControlObject.export(on: connection, control: logControl, logger: logger)
            } catch {
                await running.stop()
                throw StartError(.bus, "cannot export \(LogControlObject.interface): \(error)")
            }
        }
        do throws(BrokerError) {
            try await BrokerService.requestBusName(on: connection)
        } catch {
            let message = await Self.nameTakenMessage(error, on: connection)
            await running.stop()
            throw StartError(error.code == .nameTaken ? .nameTaken : .bus, message)
        }
        await broker.releaseHeldAnnouncements()
        let deviceCount = await registry.devices().count
        logger.info(
            "devsyncd ready",
            metadata: [
                "bus": "\(configuration.bus)", "name": "\(BrokerContract.busName)",
                "devices": "\(deviceCount)", "policy": "\(configuration.approvalPolicy)",
                "version": "\(BuildConfiguration.version)",
            ])
        return running
    }

    /// Re-reads the profiles and re-matches every present device (SIGHUP, and the bus's ReloadProfiles).
    ///
    /// A file that no longer parses keeps its last good rules, and a reload that would yield no rules keeps the
    /// previous set; `errors` says so for each.
    @discardableResult
    public func reloadProfiles() async -> (rules: Int, errors: [String]) {
        await Self.reload(profiles, databases: usb, into: registry)
    }

    /// Returns once the bus connection closes (the bus went away, or ``stop()`` closed it).
    public func waitUntilDisconnected() async {
        await connection.waitUntilClosed()
    }

    /// Stops gracefully: the sources stop, the events already read reach the registry, the broker unexports
    /// and the connections close. State needs no flushing: every decision was written when it was made.
    public func stop() async {
        // udev's stream ends once the monitor is closed, after what was already read; other sources are
        // cancelled, since they end only when their owner stops them.
        usb.stop()
        await usbFeeder.value
        otherFeeders.forEach { $0.cancel() }
        for feeder in otherFeeders { await feeder.value }
        await broker.stop()
        registry.finishEvents()
        for task in background { task.cancel() }
        for task in background { await task.value }
        await Self.close(connection, ownerConnection)
        logger.info("devsyncd stopped")
    }

    // MARK: Steps

    private static func connect(
        to bus: DaemonConfiguration.Bus, queue: DispatchQueue, logger: Logger
    ) async throws -> DBusConnection {
        switch bus {
        case .system: try await DBusConnection.system(queue: queue, logger: logger)
        case .session: try await DBusConnection.session(queue: queue, logger: logger)
        case .address(let address): try await DBusConnection.connect(to: address, queue: queue, logger: logger)
        }
    }

    private static func close(_ connection: DBusConnection, _ ownerConnection: DBusConnection?) async {
        if let ownerConnection, ownerConnection !== connection { await ownerConnection.close() }
        await connection.close()
    }

    private static func sourceKey(of event: SourceEvent) -> String {
        switch event {
        case .arrived(let observation), .changed(let observation): observation.sourceKey
        case .departed(_, let sourceKey): sourceKey
        }
    }

    private static func reload(
        _ profiles: ProfileSource, databases usb: USBDeviceSource, into registry: Registry
    ) async -> (rules: Int, errors: [String]) {
        // The databases first: the devices they now describe differently reach the registry as changes, then
        // the new profiles re-match every present device. Bad database lines are logged with their file:line.
        await usb.reloadDatabases()
        let load = profiles.load()
        await registry.reload(matcher: load.matcher)
        return (load.rules, load.errors)
    }

    /// Runs the owner policy for each approval request, then announces the request with the owner it found or,
    /// with `ApprovalPolicy=auto` and an owner, approves the device for that owner instead.
    ///
    /// Each request is resolved in a task of its own: a callout may take up to its timeout, and other devices
    /// must not wait for it. A discarding group, so that finished requests do not accumulate.
    private static func resolveOwners(
        requests: AsyncStream<String>, registry: Registry, broker: BrokerService, owners: OwnerResolution,
        policy: DaemonConfiguration.ApprovalPolicy, logger: Logger
    ) async {
        await withDiscardingTaskGroup { group in
            for await uid in requests {
                group.addTask {
                    guard let record = await registry.device(uid: uid), record.status == .pending else { return }
                    let owner = await owners.resolveOwner(for: record)
                    if policy == .auto, let owner {
                        do {
                            try await registry.approve(uid: uid, owner: owner)
                            logger.info("Device approved automatically", metadata: ["uid": "\(uid)", "owner": "\(owner)"])
                            owners.forget(uid: uid)
                            return
                        } catch {
                            // Decided or gone meanwhile; nothing to approve.
                            logger.debug("Automatic approval skipped", metadata: ["uid": "\(uid)", "error": "\(error)"])
                        }
                    } else if policy == .auto {
                        logger.notice("No owner to approve for; the device stays pending", metadata: ["uid": "\(uid)"])
                    }
                    await broker.announceApprovalRequest(uid: uid, suggestedOwner: owner)
                    logger.info("Device awaits approval", metadata: ["uid": "\(uid)", "suggested-owner": "\(owner ?? "-")"])
                }
            }
            group.cancelAll()
        }
    }

    private static func nameTakenMessage(_ error: BrokerError, on connection: DBusConnection) async -> String {
        guard error.code == .nameTaken else { return "\(error)" }
        var pid = "?"
        if let owner = try? await connection.nameOwner(of: BrokerContract.busName),
            let credentials = try? await connection.credentials(of: owner), let known = credentials.pid
        {
            pid = String(known)
        }
        return "another devsyncd already owns \(BrokerContract.busName) (pid \(pid))"
    }
}

/// Why the broker could not start, with the step that failed and a sentence for the operator.
public struct StartError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The start-up step that failed.
    public enum Step: Sendable, Hashable {
        /// Connecting to the bus or exporting on it.
        case bus
        /// Opening the state directory.
        case state
        /// Opening the udev monitor.
        case udev
        /// Another process owns `org.devsync.Broker1`.
        case nameTaken
    }

    /// The step that failed.
    public var step: Step
    /// What went wrong, for the log and the exit message.
    public var message: String

    /// An error at `step`.
    public init(_ step: Step, _ message: String) {
        self.step = step
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// The configured profile directories, compiled into a matcher, and the last load, which a reload falls back to.
///
/// A broken file is skipped at start (and logged with its file:line:column by the loader); at a reload it keeps
/// the rules it had, and a reload that would yield no rules keeps the previous set whole, so that a typo or a
/// half-written file never makes a present device stop being a sync device (``ProfileLoader``).
final class ProfileSource: Sendable {
    let directories: [String]
    private let logger: Logger
    /// The last load. Held while loading, so that two reloads (SIGHUP and ReloadProfiles) do not interleave.
    private let last = Mutex<ProfileLoad?>(nil)

    init(directories: [String], logger: Logger) {
        self.directories = directories
        self.logger = logger
    }

    /// Loads the profiles, falling back to the last load for what fails; the errors name each file that failed,
    /// and say when its last good rules were kept.
    func load() -> (matcher: CompiledMatcher, rules: Int, errors: [String]) {
        let load = last.withLock { last in
            let load = ProfileLoader(logger: logger).load(directories: directories, previous: last)
            last = load
            return load
        }
        var errors = load.errors.map { error in
            load.kept.contains(error.location.file) ? "\(error) (its last good rules are kept)" : error.description
        }
        if load.keptPrevious {
            errors.append("the profiles yield no rules; the previous \(load.profiles.rules.count) rules are kept")
        }
        return (CompiledMatcher(load.profiles), load.profiles.rules.count, errors)
    }
}
