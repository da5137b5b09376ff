// SPDX-License-Identifier: Apache-2.0
import DBus
import Logging

/// The names the agent uses on both buses.
enum Names {
    static let broker = "org.devsync.Broker1"
    static let managerPath = try! DBusObjectPath("/org/devsync/Broker1")
    static let jobsPath = try! DBusObjectPath("/org/devsync/Broker1/jobs")
    static let devicesPath = try! DBusObjectPath("/org/devsync/Broker1/devices")
    static let managerInterface = "org.devsync.Broker1.Manager"
    static let deviceInterface = "org.devsync.Broker1.Device"
    static let jobInterface = "org.devsync.Broker1.Job"
    static let properties = "org.freedesktop.DBus.Properties"
    static let objectManager = "org.freedesktop.DBus.ObjectManager"
    static let notifications = "org.freedesktop.Notifications"
    static let notificationsPath = try! DBusObjectPath("/org/freedesktop/Notifications")
}

/// devsync-agent's running half: follows the broker on the system bus and the notification server on the session
/// bus, feeds their events to an ``AgentModel`` and carries out its commands.
///
/// Everything happens in one loop over one stream of events, in the order they came: a click is acted on after the
/// signals before it, and a call's reply (Approve, Invoke) before the signals after it. Nothing polls: while both
/// buses are up the agent wakes only for their messages. A bus that cannot be reached is tried again after 1, 2,
/// 4 … 30 s (that is the only timer, and only while a bus is down).
public actor DesktopAgent {
    /// Where the buses are; nil takes the environment's (`DBUS_SYSTEM_BUS_ADDRESS`, `DBUS_SESSION_BUS_ADDRESS`, else
    /// the standard system socket and `$XDG_RUNTIME_DIR/bus`).
    public struct Buses: Sendable {
        public var system: String
        public var session: String
        public init(system: String, session: String) {
            self.system = system
            self.session = session
        }
    }

    enum Event: Sendable {
        case connected(system: Bool, DBusConnection, AsyncStream<DBusMessage>)
        case message(system: Bool, DBusMessage)
        case closed(system: Bool, DBusConnection)
        case stop
    }

    private var model: AgentModel
    private let buses: Buses
    private let logger: Logger
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private let events: AsyncStream<Event>
    private let feed: AsyncStream<Event>.Continuation

    private var system: DBusConnection?
    private var session: DBusConnection?
    /// The broker's unique name, and the serial of the GetManagedObjects reply read from it: its signals up to that
    /// serial are in the snapshot.
    private var brokerOwner: String?
    private var snapshotSerial: UInt32 = 0
    private var serverOwner: String?
    /// The server's id of each device's notification, and back.
    private var ids: [DBusObjectPath: UInt32] = [:]
    private var devicesByID: [UInt32: DBusObjectPath] = [:]
    /// What was last said at notice level about each bus peer, so that a wait is explained once.
    private var said: Set<String> = []
    private var tasks: [Task<Void, Never>] = []

    public init(user: String, buses: Buses, logger: Logger, progressInterval: Duration = .seconds(1)) {
        model = AgentModel(user: user, progressInterval: progressInterval)
        self.buses = buses
        self.logger = logger
        started = clock.now
        (events, feed) = AsyncStream<Event>.makeStream()
    }

    /// Runs until ``stop()``; then withdraws the prompts and offers it shows.
    public func run() async {
        logger.info("devsync-agent started", metadata: ["user": "\(model.user)"])
        connect(system: true)
        connect(system: false)
        for await event in events {
            switch event {
            case .connected(let isSystem, let connection, let messages):
                await connected(system: isSystem, connection, messages)
            case .message(let isSystem, let message):
                if isSystem { await brokerMessage(message) } else { await serverMessage(message) }
            case .closed(let isSystem, let connection):
                await closed(system: isSystem, connection)
            case .stop:
                await withdrawAll()
                for task in tasks { task.cancel() }
                await system?.close()
                await session?.close()
                return
            }
        }
    }

    /// Ends ``run()``.
    public nonisolated func stop() { feed.yield(.stop) }

    // MARK: Connections

    /// Connects to a bus in the background, trying again while it cannot be reached; reports `.connected`.
    private func connect(system isSystem: Bool) {
        let address = isSystem ? buses.system : buses.session
        let logger = logger
        let feed = feed
        let name = isSystem ? "system" : "session"
        tasks.append(Task {
            var delay = Duration.seconds(1)
            var told = false
            while !Task.isCancelled {
                do {
                    let connection = try await DBusConnection.connect(to: address, logger: logger)
                    let rules: [DBusMatchRule] =
                        isSystem
                        ? [DBusMatchRule(sender: Names.broker), .nameOwnerChanged(of: Names.broker)]
                        : [DBusMatchRule(sender: Names.notifications, interface: Names.notifications),
                           .nameOwnerChanged(of: Names.notifications)]
                    let messages = try await connection.signals(matchingAny: rules)
                    if told { logger.notice("The \(name) bus is back", metadata: ["address": "\(address)"]) }
                    feed.yield(.connected(system: isSystem, connection, messages))
                    return
                } catch {
                    if !told {
                        logger.notice(
                            "Cannot reach the \(name) bus; trying again until it comes back",
                            metadata: ["address": "\(address)", "error": "\(error)"])
                        told = true
                    }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                }
            }
        })
    }

    private func connected(system isSystem: Bool, _ connection: DBusConnection, _ messages: AsyncStream<DBusMessage>) async {
        let feed = feed
        tasks.append(Task {
            for await message in messages { feed.yield(.message(system: isSystem, message)) }
            feed.yield(.closed(system: isSystem, connection))
        })
        if isSystem {
            system = connection
            let owner = try? await connection.nameOwner(of: Names.broker)
            if let owner {
                await brokerAppeared(owner)
            } else {
                say("broker", "devsyncd is not running; waiting for it to start (no org.devsync.Broker1 on the system bus)")
            }
        } else {
            session = connection
            await findServer(on: connection)
        }
    }

    private func closed(system isSystem: Bool, _ connection: DBusConnection) async {
        if isSystem {
            guard system === connection else { return }
            system = nil
            brokerOwner = nil
            await execute(model.brokerVanished())
            logger.notice("The system bus closed; connecting again")
        } else {
            guard session === connection else { return }
            session = nil
            serverOwner = nil
            model.serverVanished()
            ids = [:]
            devicesByID = [:]
            logger.notice("The session bus closed; connecting again")
        }
        connect(system: isSystem)
    }

    /// Says `text` at notice level, once until ``unsay(_:)`` for the same subject.
    private func say(_ subject: String, _ text: String) {
        guard said.insert(subject).inserted else { return }
        logger.notice("\(text)")
    }

    private func unsay(_ subject: String) { said.remove(subject) }

    // MARK: The broker

    private func brokerAppeared(_ owner: String) async {
        guard let system else { return }
        let reply: DBusMessage
        do {
            reply = try await system.callMessage(
                destination: owner, path: Names.managerPath, interface: Names.objectManager, member: "GetManagedObjects")
        } catch {
            logger.warning("Cannot read devsyncd's devices", metadata: ["error": "\(error)"])
            return
        }
        brokerOwner = owner
        snapshotSerial = reply.serial
        unsay("broker")
        var devices: [BrokerDevice] = []
        if case .dictionary(_, _, let objects)? = reply.arguments.first?.unwrapped {
            for (key, value) in objects {
                guard let path = key.objectPath, let properties = value[Names.deviceInterface]?.stringDictionary else {
                    continue
                }
                devices.append(BrokerDevice(path: path, properties: properties))
            }
        }
        logger.info("devsyncd is on the system bus", metadata: ["owner": "\(owner)", "devices": "\(devices.count)"])
        await execute(model.brokerAppeared(devices: devices))
    }

    private func brokerMessage(_ message: DBusMessage) async {
        if let change = DBusNameOwnerChange(message), change.name == Names.broker {
            if change.oldOwner != nil, change.oldOwner == brokerOwner {
                brokerOwner = nil
                await execute(model.brokerVanished())
                say("broker", "devsyncd left the system bus; waiting for it to come back")
            }
            if let owner = change.newOwner, owner != brokerOwner { await brokerAppeared(owner) }
            return
        }
        guard let owner = brokerOwner, message.sender == owner, message.serial > snapshotSerial,
            let path = message.path
        else { return }
        let arguments = message.arguments
        switch (message.interface, message.member) {
        case (Names.objectManager?, "InterfacesAdded"?):
            guard let object = arguments.first?.objectPath,
                let properties = arguments.dropFirst().first?[Names.deviceInterface]?.stringDictionary
            else { return }
            await execute(model.deviceChanged(object, properties))
        case (Names.objectManager?, "InterfacesRemoved"?):
            guard let object = arguments.first?.objectPath,
                arguments.dropFirst().first?.arrayElements?.contains(.string(Names.deviceInterface)) == true
            else { return }
            await execute(model.deviceRemoved(object))
        case (Names.managerInterface?, "ApprovalRequested"?):
            // The broker publishes SuggestedOwner before this signal; taken from here too, for a broker that
            // does not (the signal is what it always carried).
            guard let device = arguments.first?.objectPath, let suggested = arguments.dropFirst().first?.string else {
                return
            }
            await execute(model.deviceChanged(device, ["SuggestedOwner": .string(suggested)]))
        case (Names.properties?, "PropertiesChanged"?):
            guard let changed = arguments.dropFirst().first?.stringDictionary else { return }
            switch arguments.first?.string {
            case Names.deviceInterface?:
                await execute(model.deviceChanged(path, changed))
            case Names.jobInterface?:
                if let fraction = changed["Progress"]?.double {
                    await execute(model.jobProgress(path, fraction: fraction, now: started.duration(to: clock.now)))
                }
            default:
                return
            }
        case (Names.jobInterface?, "Finished"?):
            await execute(model.jobFinished(
                path, state: arguments.first?.string ?? "failed", error: arguments.dropFirst().first?.string ?? ""))
        default:
            return
        }
    }

    // MARK: The notification server

    /// Asks for the server's capabilities if one runs or the bus can start one; otherwise waits for one.
    private func findServer(on session: DBusConnection) async {
        var running = (try? await session.nameOwner(of: Names.notifications)) != nil
        if !running {
            let activatable = try? await session.call(
                destination: "org.freedesktop.DBus", path: try! DBusObjectPath("/org/freedesktop/DBus"),
                interface: "org.freedesktop.DBus", member: "ListActivatableNames")
            running = activatable?.first?.arrayElements?.contains(.string(Names.notifications)) == true
        }
        if running {
            await serverAppeared(on: session)
        } else {
            say("server", "No notification server runs on the session bus; waiting for one (devices can still be approved with devsyncctl)")
        }
    }

    private func serverAppeared(on session: DBusConnection) async {
        let capabilities: [String]
        do {
            capabilities =
                try await session.call(
                    destination: Names.notifications, path: Names.notificationsPath, interface: Names.notifications,
                    member: "GetCapabilities"
                ).first?.arrayElements?.compactMap(\.string) ?? []
            serverOwner = try await session.nameOwner(of: Names.notifications)
        } catch {
            say("server", "The notification server does not answer; waiting for one (\(error))")
            return
        }
        unsay("server")
        ids = [:]
        devicesByID = [:]
        logger.info(
            "A notification server is on the session bus",
            metadata: ["owner": "\(serverOwner ?? "?")", "capabilities": "\(capabilities.joined(separator: " "))"])
        if !capabilities.contains("actions") {
            logger.notice("The notification server shows no buttons; notifications name the devsyncctl commands instead")
        }
        await execute(model.serverAppeared(capabilities: capabilities))
    }

    private func serverMessage(_ message: DBusMessage) async {
        if let change = DBusNameOwnerChange(message), change.name == Names.notifications {
            if change.oldOwner != nil, change.oldOwner == serverOwner {
                serverOwner = nil
                model.serverVanished()
                ids = [:]
                devicesByID = [:]
                say("server", "The notification server left the session bus; waiting for another")
            }
            // Our own GetCapabilities may have started it: then it is known already.
            if let owner = change.newOwner, owner != serverOwner, let session { await serverAppeared(on: session) }
            return
        }
        guard message.sender == serverOwner, message.interface == Names.notifications,
            let id = message.arguments.first?.uint32, let device = devicesByID[id]
        else { return }
        switch message.member {
        case "ActionInvoked":
            guard let key = message.arguments.dropFirst().first?.string else { return }
            logger.info("Notification action", metadata: ["device": "\(device)", "action": "\(key)"])
            await execute(model.actionInvoked(device, key: key))
        case "NotificationClosed":
            ids[device] = nil
            devicesByID[id] = nil
            await execute(model.notificationClosed(device))
        default:
            return
        }
    }

    // MARK: Commands

    private func execute(_ commands: [AgentCommand]) async {
        for command in commands {
            switch command {
            case .show(let device, let content): await show(device, content)
            case .withdraw(let device): await withdraw(device)
            case .approve(let device):
                await decide(device, member: "Approve", [.string(""), Self.noInteraction], approving: true)
            case .reject(let device):
                await decide(device, member: "Reject", [Self.noInteraction], approving: false)
            case .invoke(let device, let action):
                await invoke(device, action: action)
            }
        }
    }

    /// No polkit prompt: the agent decides as the owner, whom the broker lets through without one.
    private static let noInteraction = DBusValue.vardict(["auth.no_user_interaction": .bool(true)])

    private func show(_ device: DBusObjectPath, _ content: NotificationContent) async {
        guard let session, serverOwner != nil else { return }
        var hints: [String: DBusValue] = [
            "category": .string(content.category), "desktop-entry": .string("devsync-agent"),
            "urgency": .byte(1),
        ]
        if content.resident { hints["resident"] = .bool(true) }
        if let progress = content.progress { hints["value"] = .int32(progress) }
        let replaces = ids[device] ?? 0
        do {
            let reply = try await session.call(
                destination: Names.notifications, path: Names.notificationsPath, interface: Names.notifications,
                member: "Notify",
                arguments: [
                    .string("devsync"), .uint32(replaces), .string(content.icon), .string(content.summary),
                    .string(content.body), .strings(content.actions), .vardict(hints),
                    .int32(content.resident ? 0 : -1),
                ])
            guard let id = reply.first?.uint32 else { return }
            if replaces != 0, replaces != id { devicesByID[replaces] = nil }
            ids[device] = id
            devicesByID[id] = device
            logger.debug("Notified", metadata: ["device": "\(device)", "id": "\(id)", "summary": "\(content.summary)"])
        } catch {
            logger.warning("The notification server refused a notification", metadata: ["error": "\(error)"])
        }
    }

    private func withdraw(_ device: DBusObjectPath) async {
        guard let id = ids.removeValue(forKey: device) else { return }
        devicesByID[id] = nil
        guard let session, serverOwner != nil else { return }
        do {
            _ = try await session.call(
                destination: Names.notifications, path: Names.notificationsPath, interface: Names.notifications,
                member: "CloseNotification", arguments: [.uint32(id)])
        } catch {
            logger.debug("CloseNotification failed", metadata: ["error": "\(error)"])
        }
    }

    /// Withdraws every notification still shown, when the agent stops: no button may outlive the agent that
    /// would act on it.
    private func withdrawAll() async {
        for device in Array(ids.keys) { await withdraw(device) }
    }

    private func decide(_ device: DBusObjectPath, member: String, _ arguments: [DBusValue], approving: Bool) async {
        guard let system, let owner = brokerOwner else { return }
        do {
            _ = try await system.call(
                destination: owner, path: device, interface: Names.deviceInterface, member: member, arguments: arguments)
            logger.info("\(member == "Approve" ? "Approved" : "Rejected") a device", metadata: ["device": "\(device)"])
        } catch {
            logger.warning("The broker refused", metadata: ["device": "\(device)", "call": "\(member)", "error": "\(error)"])
            await execute(model.decisionFailed(device, approving: approving, error: Self.sentence(error)))
        }
    }

    private func invoke(_ device: DBusObjectPath, action: String) async {
        guard let system, let owner = brokerOwner else { return }
        do {
            let reply = try await system.call(
                destination: owner, path: device, interface: Names.deviceInterface, member: "Invoke",
                arguments: [.string(action), Self.noInteraction])
            guard let job = reply.first?.objectPath else { return }
            logger.info("Sync started", metadata: ["device": "\(device)", "action": "\(action)", "job": "\(job)"])
            await execute(model.jobStarted(job, device: device, action: action, now: started.duration(to: clock.now)))
        } catch {
            logger.warning("The broker refused the sync", metadata: ["device": "\(device)", "error": "\(error)"])
            await execute(model.invokeFailed(device, error: Self.sentence(error)))
        }
    }

    /// The broker's sentence of an error reply.
    private static func sentence(_ error: any Error) -> String {
        (error as? DBusError)?.message ?? "\(error)"
    }
}
