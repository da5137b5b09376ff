// SPDX-License-Identifier: Apache-2.0
import DBus

/// One desktop notification as the agent wants it shown (`org.freedesktop.Notifications.Notify`'s arguments but
/// the application name and the id it replaces, which the runtime owns).
public struct NotificationContent: Sendable, Equatable {
    public var summary: String
    public var body: String
    public var icon: String
    /// Action keys and labels, alternating, as `Notify` takes them; empty where the server has no actions.
    public var actions: [String]
    /// `category` of the specification's hints: `device.added`, `transfer`, `transfer.complete`, `transfer.error`.
    public var category: String
    /// Whether the notification stays after an action is invoked (the `resident` hint) and never expires.
    public var resident: Bool
    /// The progress hint (`value`, 0…100), while a sync runs.
    public var progress: Int32?

    public init(
        summary: String, body: String, icon: String, actions: [String] = [], category: String,
        resident: Bool = false, progress: Int32? = nil
    ) {
        self.summary = summary
        self.body = body
        self.icon = icon
        self.actions = actions
        self.category = category
        self.resident = resident
        self.progress = progress
    }
}

/// What the agent does next; the runtime (``DesktopAgent``) carries each out.
public enum AgentCommand: Sendable, Equatable {
    /// Show, or update in place, the notification of the device at `device`.
    case show(device: DBusObjectPath, NotificationContent)
    /// Withdraw it (`CloseNotification`).
    case withdraw(device: DBusObjectPath)
    /// `Approve("", {auth.no_user_interaction: true})` on the device, as this user.
    case approve(device: DBusObjectPath)
    /// `Reject({auth.no_user_interaction: true})`.
    case reject(device: DBusObjectPath)
    /// `Invoke(action, …)`; the runtime reports the job with ``AgentModel/jobStarted(_:device:action:now:)``.
    case invoke(device: DBusObjectPath, action: String)
}

/// The agent's decisions, without I/O: which notification each device of this user should have, and what a click
/// on one means. The runtime feeds it the broker's and the notification server's events and carries out the
/// commands it returns; the tests drive it directly.
///
/// One notification per device, replaced in place: the approval prompt, then the "Sync now" offer, its progress
/// and the sync's outcome.
public struct AgentModel: Sendable {
    /// What a device's notification shows now.
    enum Shown: Equatable {
        case prompt
        case offer
        /// A sync runs; the last progress shown, and when (for the throttle).
        case progress(job: DBusObjectPath, percent: Int32?, at: Duration?)
        /// A decision or a sync's outcome: it stays until the user closes it or the device's state needs another.
        case outcome
    }

    /// A sync the agent started.
    struct Job: Equatable {
        var device: DBusObjectPath
        var action: String
    }

    /// This user's name: the owner (or suggested owner) whose devices the agent shows.
    public let user: String
    /// The least time between two progress updates of one notification.
    public let progressInterval: Duration

    public private(set) var brokerRunning = false
    public private(set) var serverRunning = false
    /// Whether the notification server shows action buttons (its `actions` capability).
    public private(set) var serverHasActions = false
    private(set) var devices: [DBusObjectPath: BrokerDevice] = [:]
    private(set) var shown: [DBusObjectPath: Shown] = [:]
    /// Devices whose prompt the user answered or closed during this presence: not asked again until they are
    /// plugged in again.
    private(set) var promptsSettled: Set<DBusObjectPath> = []
    /// Devices whose offer the user took or closed during this presence.
    private(set) var offersSettled: Set<DBusObjectPath> = []
    private(set) var jobs: [DBusObjectPath: Job] = [:]
    /// What each shown prompt or offer says, so that a change of the device (a Bluetooth phone's name, services
    /// and plugin resolved after it was announced) updates it in place.
    private(set) var contents: [DBusObjectPath: NotificationContent] = [:]

    public init(user: String, progressInterval: Duration = .seconds(1)) {
        self.user = user
        self.progressInterval = progressInterval
    }

    // MARK: The broker

    /// The broker appeared (or the agent started with it there): `devices` is everything it lists now.
    public mutating func brokerAppeared(devices list: [BrokerDevice]) -> [AgentCommand] {
        brokerRunning = true
        devices = Dictionary(list.map { ($0.path, $0) }, uniquingKeysWith: { _, last in last })
        promptsSettled = promptsSettled.filter { devices[$0]?.present == true }
        offersSettled = offersSettled.filter { devices[$0]?.present == true }
        return reconcile()
    }

    /// The broker left the bus: every prompt and offer is withdrawn (nothing could act on them), running syncs
    /// are told to have ended with it.
    public mutating func brokerVanished() -> [AgentCommand] {
        brokerRunning = false
        var commands: [AgentCommand] = []
        for (path, state) in shown.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            switch state {
            case .prompt, .offer:
                shown[path] = nil
                commands.append(.withdraw(device: path))
            case .progress:
                let device = devices[path]
                shown[path] = .outcome
                commands.append(.show(device: path, NotificationContent(
                    summary: "\(device?.name ?? "The device") was not synced",
                    body: "The devsync broker stopped during the sync.", icon: device?.iconName ?? "dialog-error",
                    category: "transfer.error")))
            case .outcome:
                continue
            }
        }
        devices = [:]
        jobs = [:]
        return commands
    }

    /// A device was exported (InterfacesAdded) or its properties changed (PropertiesChanged).
    public mutating func deviceChanged(_ path: DBusObjectPath, _ properties: [String: DBusValue]) -> [AgentCommand] {
        guard brokerRunning else { return [] }
        var device = devices[path] ?? BrokerDevice(path: path)
        let wasPresent = device.present
        device.apply(properties)
        devices[path] = device
        if wasPresent && !device.present { forgetAnswers(path) }
        return reconcile()
    }

    /// The broker forgot a device (DeviceRemoved, InterfacesRemoved).
    public mutating func deviceRemoved(_ path: DBusObjectPath) -> [AgentCommand] {
        devices[path] = nil
        forgetAnswers(path)
        return reconcile()
    }

    private mutating func forgetAnswers(_ path: DBusObjectPath) {
        promptsSettled.remove(path)
        offersSettled.remove(path)
    }

    // MARK: The notification server

    /// A notification server is there (at start, or it appeared); `capabilities` is its `GetCapabilities`.
    /// Whatever it showed before is gone with its predecessor: every notification due is shown afresh.
    public mutating func serverAppeared(capabilities: [String]) -> [AgentCommand] {
        serverRunning = true
        serverHasActions = capabilities.contains("actions")
        shown = shown.filter { if case .progress = $0.value { true } else { false } }
        return reconcile()
    }

    /// The notification server left the session bus: nothing is shown until another comes.
    public mutating func serverVanished() {
        serverRunning = false
        shown = [:]
    }

    /// The server closed the device's notification (the user dismissed it, it expired, or an action closed it).
    public mutating func notificationClosed(_ path: DBusObjectPath) -> [AgentCommand] {
        switch shown[path] {
        case .prompt?:
            promptsSettled.insert(path)
            shown[path] = nil
        case .offer?:
            offersSettled.insert(path)
            shown[path] = nil
        case .progress(let job, _, _)?:
            // Servers close a notification whose action was invoked; the next update shows it again.
            shown[path] = .progress(job: job, percent: nil, at: nil)
        case .outcome?, nil:
            shown[path] = nil
        }
        return []
    }

    /// The user clicked `key` on the device's notification.
    public mutating func actionInvoked(_ path: DBusObjectPath, key: String) -> [AgentCommand] {
        guard let device = devices[path] else { return [] }
        switch shown[path] {
        // The prompt stays until the broker publishes the decision, which withdraws it; one answer per prompt.
        case .prompt? where promptsSettled.contains(path):
            return []
        case .prompt? where key == "approve" && isPromptDue(device):
            promptsSettled.insert(path)
            return [.approve(device: path)]
        case .prompt? where key == "reject" && isPromptDue(device):
            promptsSettled.insert(path)
            return [.reject(device: path)]
        case .offer?:
            let available = device.availableActions
            let action =
                key == "default"
                ? (available.first { $0.id == "sync-all" } ?? available.first)
                : available.first { $0.id == key }
            guard let action else { return [] }
            offersSettled.insert(path)
            shown[path] = .outcome
            return [.invoke(device: path, action: action.id)]
        default:
            return []
        }
    }

    // MARK: Outcomes of the agent's own calls

    /// An Approve or Reject the agent sent was refused: the broker's sentence is shown.
    public mutating func decisionFailed(_ path: DBusObjectPath, approving: Bool, error: String) -> [AgentCommand] {
        let device = devices[path]
        shown[path] = .outcome
        return [.show(device: path, NotificationContent(
            summary: "\(device?.name ?? "The device") was not \(approving ? "approved" : "rejected")", body: error,
            icon: device?.iconName ?? "dialog-error", category: "device.error"))]
    }

    /// The broker started the job for the agent's Invoke.
    public mutating func jobStarted(
        _ job: DBusObjectPath, device path: DBusObjectPath, action: String, now: Duration
    ) -> [AgentCommand] {
        jobs[job] = Job(device: path, action: action)
        shown[path] = .progress(job: job, percent: nil, at: nil)
        return jobProgress(job, fraction: 0, now: now)
    }

    /// The Invoke was refused.
    public mutating func invokeFailed(_ path: DBusObjectPath, error: String) -> [AgentCommand] {
        let device = devices[path]
        shown[path] = .outcome
        return [.show(device: path, NotificationContent(
            summary: "\(device?.name ?? "The device") was not synced", body: error,
            icon: device?.iconName ?? "dialog-error", category: "transfer.error"))]
    }

    /// A job's `Progress` changed. Shown at most once per ``progressInterval`` and only when the percentage moved.
    public mutating func jobProgress(_ job: DBusObjectPath, fraction: Double, now: Duration) -> [AgentCommand] {
        guard let started = jobs[job], case .progress(let shownJob, let percent, let at)? = shown[started.device],
            shownJob == job, serverRunning
        else { return [] }
        let current = Int32((min(max(fraction, 0), 1) * 100).rounded(.down))
        if let percent, percent == current { return [] }
        if let at, now - at < progressInterval { return [] }
        shown[started.device] = .progress(job: job, percent: current, at: now)
        let device = devices[started.device]
        let label = device?.actions.first { $0.id == started.action }?.label ?? started.action
        return [.show(device: started.device, NotificationContent(
            summary: "Syncing \(device?.name ?? "the device")", body: "\(label): \(current)%",
            icon: device?.iconName ?? "emblem-synchronizing", category: "transfer", resident: true,
            progress: current))]
    }

    /// A job ended (its `Finished` signal): "Synced …", or the engine's sentence.
    public mutating func jobFinished(_ job: DBusObjectPath, state: String, error: String) -> [AgentCommand] {
        guard let started = jobs.removeValue(forKey: job) else { return [] }
        let device = devices[started.device]
        let name = device?.name ?? "the device"
        let label = device?.actions.first { $0.id == started.action }?.label ?? started.action
        shown[started.device] = .outcome
        let content: NotificationContent =
            switch state {
            case "succeeded":
                NotificationContent(
                    summary: "Synced \(name)", body: "\(label): done.", icon: device?.iconName ?? "emblem-default",
                    category: "transfer.complete")
            case "cancelled":
                NotificationContent(
                    summary: "The sync of \(name) was cancelled", body: "\(label): cancelled.",
                    icon: device?.iconName ?? "dialog-warning", category: "transfer.error")
            default:
                NotificationContent(
                    summary: "\(name) was not synced", body: error.isEmpty ? "\(label) failed." : error,
                    icon: device?.iconName ?? "dialog-error", category: "transfer.error")
            }
        guard serverRunning else { return [] }
        return [.show(device: started.device, content)]
    }

    // MARK: Deciding what is shown

    /// A pending, present device suggested to this user.
    private func isPromptDue(_ device: BrokerDevice) -> Bool {
        device.status == "pending" && device.present && device.suggestedOwner == user
    }

    /// An approved, present device of this user that an engine of theirs can sync.
    private func isOfferDue(_ device: BrokerDevice) -> Bool {
        device.status == "approved" && device.present && device.owner == user && !device.availableActions.isEmpty
    }

    /// Brings what is shown in line with the devices: prompts and offers that became due are shown, those that no
    /// longer apply are withdrawn; progress and outcomes are left alone.
    private mutating func reconcile() -> [AgentCommand] {
        guard serverRunning, brokerRunning else { return [] }
        var commands: [AgentCommand] = []
        for path in Set(devices.keys).union(shown.keys).sorted(by: { $0.rawValue < $1.rawValue }) {
            let device = devices[path]
            let state = shown[path]
            let promptDue = device.map(isPromptDue) ?? false
            let offerDue = device.map(isOfferDue) ?? false
            switch state {
            case .prompt? where !promptDue, .offer? where !offerDue:
                shown[path] = nil
                commands.append(.withdraw(device: path))
            case .outcome? where device == nil:
                shown[path] = nil
            default:
                break
            }
            guard let device else { continue }
            if promptDue, !promptsSettled.contains(path), shown[path] == nil || shown[path] == .outcome {
                shown[path] = .prompt
                commands.append(show(path, prompt(for: device)))
            } else if offerDue, !offersSettled.contains(path), shown[path] == nil || shown[path] == .outcome {
                shown[path] = .offer
                commands.append(show(path, offer(for: device)))
            } else if shown[path] == .prompt, promptDue, contents[path] != prompt(for: device) {
                commands.append(show(path, prompt(for: device)))
            } else if shown[path] == .offer, offerDue, contents[path] != offer(for: device) {
                commands.append(show(path, offer(for: device)))
            }
        }
        return commands
    }

    /// Shows a prompt or an offer, remembering what it says.
    private mutating func show(_ path: DBusObjectPath, _ content: NotificationContent) -> AgentCommand {
        contents[path] = content
        return .show(device: path, content)
    }

    private func describe(_ device: BrokerDevice) -> String {
        let kind =
            switch device.kind {
            case "": "device"
            case "pda": "PDA"
            default: device.kind.replacingHyphens
            }
        let types = device.dataTypes.isEmpty ? "" : " (\(device.dataTypes.joined(separator: ", ")))"
        return "A \(kind) that devsync can sync\(types)"
    }

    func prompt(for device: BrokerDevice) -> NotificationContent {
        var body = "\(describe(device)) is waiting for your approval."
        if !serverHasActions {
            body += " Approve it with “devsyncctl approve \(device.uid)”, or reject it with “devsyncctl reject \(device.uid)”."
        }
        return NotificationContent(
            summary: "\(device.name) connected", body: body, icon: device.iconName,
            actions: serverHasActions ? ["approve", "Approve", "reject", "Reject"] : [], category: "device.added",
            resident: true)
    }

    func offer(for device: BrokerDevice) -> NotificationContent {
        let available = device.availableActions
        var body = "\(device.name) is ready to sync."
        var actions: [String] = []
        if serverHasActions {
            actions = ["default", "Sync now"]
            // A choice where there is one: each data type's own action besides "everything".
            for action in available where action.id != "sync-all" && available.count > 1 {
                actions += [action.id, action.label]
            }
        } else {
            body += " Sync it with “devsyncctl sync \(device.uid)”."
        }
        return NotificationContent(
            summary: "\(device.name) is ready to sync", body: body, icon: device.iconName, actions: actions,
            category: "device", resident: true)
    }
}

extension String {
    /// "media-player" → "media player".
    fileprivate var replacingHyphens: String { String(map { $0 == "-" ? " " : $0 }) }
}
