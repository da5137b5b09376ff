// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry
import Logging

/// Watches BlueZ on the system bus and reports paired devices as sources report plugged-in ones.
///
/// A device is present once it is paired and its adapter is powered; see `docs/bluetooth.md` for the rules, for
/// how bluetoothd restarts are followed, and for the `bluetooth.channel.*` keys filled in by SDP.
///
/// ```swift
/// let watcher = BlueZWatcher(connection: systemBus, logger: logger)
/// for await event in watcher.events() { registry.apply(event) }
/// ```
public struct BlueZWatcher: Sendable {
    /// The system bus connection the watcher listens on; it may be shared with other users.
    public var connection: DBusConnection
    /// Where the watcher reports arrivals, departures and BlueZ coming and going.
    public var logger: Logger
    /// Finds sync channels of arriving devices; nil turns SDP lookups off.
    public var serviceLookup: (any SyncServiceLookup)?
    /// The bound on GetManagedObjects, so that a hung bluetoothd cannot stall the watcher for long.
    public var callTimeout: Duration
    /// How long a device that pairs while watched may take to describe itself before it is announced anyway
    /// (docs/bluetooth.md, "Settling"): it is announced when BlueZ sets `ServicesResolved`, or after this.
    public var settleWindow: Duration

    /// A watcher on `connection` that looks up sync channels with `serviceLookup` (SDP by default).
    public init(
        connection: DBusConnection, logger: Logger,
        serviceLookup: (any SyncServiceLookup)? = SDPSyncServiceLookup(), callTimeout: Duration = .seconds(10),
        settleWindow: Duration = .seconds(3)
    ) {
        self.connection = connection
        self.logger = logger
        self.serviceLookup = serviceLookup
        self.callTimeout = callTimeout
        self.settleWindow = settleWindow
    }

    /// Starts watching and returns the events; each call watches afresh. Dropping the stream stops the watch.
    ///
    /// The stream ends when the connection closes, after a departure for every device still present.
    public func events() -> AsyncStream<SourceEvent> {
        let (stream, continuation) = AsyncStream<SourceEvent>.makeStream()
        let tracker = BlueZObjectTracker(
            connection: connection, logger: logger, serviceLookup: serviceLookup, callTimeout: callTimeout,
            settleWindow: settleWindow, events: continuation)
        let task = Task { await tracker.run() }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// The state of one watch: BlueZ's adapters and devices as last seen, and which devices have been announced.
///
/// All state changes happen on the actor, in the order the bus delivered the signals (one stream carries them
/// all), so an arrival can never overtake the departure before it.
actor BlueZObjectTracker {
    private struct Device {
        var device: BlueZDevice
        /// The observation last published; nil while the device is not present.
        var published: DeviceObservation?
        /// The RFCOMM channel of each sync service SDP found during this presence.
        var channels: [SyncService.Kind: UInt8] = [:]
        /// The sync UUIDs the last lookup was started for; another starts only when they change.
        var lookedUpFor: Set<BluetoothUUID>?
        var lookupFailed = false
        var lookup: Task<Void, Never>?
        var lookupGeneration = 0
        /// BlueZ's `ServicesResolved`: it has read the device's services (and with them its UUIDs, class and
        /// modalias) over the connection.
        var servicesResolved = false
        /// Paired while watched and not yet described: held back until `ServicesResolved` or the settle window.
        var settling = false
        /// The settle window's timer, while `settling`.
        var settleTimer: Task<Void, Never>?
    }

    private let connection: DBusConnection
    private let logger: Logger
    private let serviceLookup: (any SyncServiceLookup)?
    private let callTimeout: Duration
    private let settleWindow: Duration
    private let events: AsyncStream<SourceEvent>.Continuation

    /// The unique name of the current bluetoothd, nil while BlueZ is not on the bus.
    private var owner: String?
    /// The serial of the GetManagedObjects reply: the owner's signals up to it are already in the snapshot.
    private var snapshotSerial: UInt32 = 0
    /// Adapter object path → Powered.
    private var adapters: [String: Bool] = [:]
    private var devices: [String: Device] = [:]
    private var nextGeneration = 0

    init(
        connection: DBusConnection, logger: Logger, serviceLookup: (any SyncServiceLookup)?, callTimeout: Duration,
        settleWindow: Duration = .seconds(3), events: AsyncStream<SourceEvent>.Continuation
    ) {
        self.connection = connection
        self.logger = logger
        self.serviceLookup = serviceLookup
        self.callTimeout = callTimeout
        self.settleWindow = settleWindow
        self.events = events
    }

    private static let rootPath = DBusObjectPath.root
    private static let bluezPath = try! DBusObjectPath("/org/bluez")

    /// The signals the watch needs, in one rule set so that they arrive in bus order.
    static let rules: [DBusMatchRule] = [
        DBusMatchRule(sender: BlueZ.busName, interface: BlueZ.objectManager, member: "InterfacesAdded"),
        DBusMatchRule(sender: BlueZ.busName, interface: BlueZ.objectManager, member: "InterfacesRemoved"),
        DBusMatchRule(
            sender: BlueZ.busName, pathNamespace: bluezPath, interface: BlueZ.properties,
            member: "PropertiesChanged", arg0: BlueZ.deviceInterface),
        DBusMatchRule(
            sender: BlueZ.busName, pathNamespace: bluezPath, interface: BlueZ.properties,
            member: "PropertiesChanged", arg0: BlueZ.adapterInterface),
        DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged",
            arg0: BlueZ.busName),
    ]

    func run() async {
        // Subscribe before reading, so that whatever changes while the snapshot is taken is still seen.
        let signals: AsyncStream<DBusMessage>
        do {
            signals = try await connection.signals(matchingAny: Self.rules)
        } catch {
            logger.error("cannot watch BlueZ: subscribing to its signals failed", metadata: ["error": "\(error)"])
            events.finish()
            return
        }
        do {
            owner = try await connection.nameOwner(of: BlueZ.busName)
        } catch {
            logger.error("cannot ask the bus whether BlueZ runs", metadata: ["error": "\(error)"])
        }
        if let owner {
            await loadSnapshot(from: owner)
        } else {
            logger.info("BlueZ is not running; Bluetooth devices will be seen once bluetoothd starts")
        }
        for await message in signals {
            await handle(message)
        }
        departAll()
        events.finish()
    }

    // MARK: Signals

    private func handle(_ message: DBusMessage) async {
        if message.sender == "org.freedesktop.DBus" {
            if message.member == "NameOwnerChanged" { await ownerChanged(message.arguments) }
            return
        }
        // Signals from an old bluetoothd, or ones the snapshot already contains, are not news.
        guard let owner, message.sender == owner, message.serial > snapshotSerial, let path = message.path else {
            return
        }
        switch (message.interface, message.member) {
        case (BlueZ.objectManager, "InterfacesAdded"):
            guard let object = message.arguments.first?.objectPath,
                let interfaces = message.arguments.dropFirst().first?.stringDictionary
            else { return }
            interfacesAdded(at: object.rawValue, interfaces)
        case (BlueZ.objectManager, "InterfacesRemoved"):
            guard let object = message.arguments.first?.objectPath,
                let names = message.arguments.dropFirst().first?.arrayElements
            else { return }
            interfacesRemoved(at: object.rawValue, names.compactMap(\.string))
        case (BlueZ.properties, "PropertiesChanged"):
            guard let interface = message.arguments.first?.string,
                let changed = message.arguments.dropFirst().first?.stringDictionary
            else { return }
            let invalidated = message.arguments.dropFirst(2).first?.arrayElements?.compactMap(\.string) ?? []
            propertiesChanged(at: path.rawValue, interface: interface, changed, invalidated: invalidated)
        default:
            break
        }
    }

    private func ownerChanged(_ arguments: [DBusValue]) async {
        guard arguments.count == 3, arguments[0].string == BlueZ.busName,
            let oldOwner = arguments[1].string, let newOwner = arguments[2].string
        else { return }
        if !oldOwner.isEmpty, oldOwner == owner {
            logger.info("bluetoothd left the bus; its devices depart", metadata: ["owner": "\(oldOwner)"])
            departAll()
            adapters = [:]
            devices = [:]
            owner = nil
            snapshotSerial = 0
        }
        if !newOwner.isEmpty, newOwner != owner {
            logger.info("bluetoothd is on the bus", metadata: ["owner": "\(newOwner)"])
            owner = newOwner
            snapshotSerial = 0
            await loadSnapshot(from: newOwner)
        }
    }

    private func interfacesAdded(at path: String, _ interfaces: [String: DBusValue]) {
        if let properties = interfaces[BlueZ.adapterInterface]?.stringDictionary {
            adapters[path] = properties["Powered"]?.bool ?? false
            refreshDevices(ofAdapter: path)
        }
        if let properties = interfaces[BlueZ.deviceInterface]?.stringDictionary {
            if var known = devices[path] {
                for change in BlueZDevice.changes(properties, invalidated: []) { known.device.apply(change) }
                known.servicesResolved = properties["ServicesResolved"]?.bool ?? known.servicesResolved
                devices[path] = known
            } else if let device = BlueZDevice(objectPath: path, properties: properties) {
                devices[path] = Device(device: device, servicesResolved: properties["ServicesResolved"]?.bool ?? false)
            }
            refresh(path)
        }
    }

    private func interfacesRemoved(at path: String, _ interfaces: [String]) {
        if interfaces.contains(BlueZ.deviceInterface) { remove(path) }
        if interfaces.contains(BlueZ.adapterInterface) {
            adapters[path] = nil
            // bluetoothd removes an adapter's devices with it, but not necessarily first; forget them now.
            for (devicePath, tracked) in devices where adapterPath(of: tracked) == path { remove(devicePath) }
        }
    }

    private func propertiesChanged(
        at path: String, interface: String, _ changed: [String: DBusValue], invalidated: [String]
    ) {
        switch interface {
        case BlueZ.adapterInterface:
            guard adapters[path] != nil, let powered = changed["Powered"]?.bool else { return }
            adapters[path] = powered
            refreshDevices(ofAdapter: path)
        case BlueZ.deviceInterface:
            guard var tracked = devices[path] else { return }
            let wasConnected = tracked.device.connected
            let wasPaired = tracked.device.paired
            for change in BlueZDevice.changes(changed, invalidated: invalidated) { tracked.device.apply(change) }
            if let resolved = changed["ServicesResolved"]?.bool { tracked.servicesResolved = resolved }
            // Pairing now: BlueZ describes the device over the next moments; wait for it (see refresh).
            if !wasPaired, tracked.device.paired, tracked.published == nil, !tracked.servicesResolved {
                tracked.settling = true
            }
            if tracked.settling, tracked.servicesResolved {
                tracked.settling = false
                tracked.settleTimer?.cancel()
                tracked.settleTimer = nil
            }
            // A lookup that failed (device out of range) is worth one more try once the device connects.
            if tracked.lookupFailed, !wasConnected, tracked.device.connected { tracked.lookedUpFor = nil }
            devices[path] = tracked
            refresh(path)
        default:
            break
        }
    }

    // MARK: Snapshot

    private func loadSnapshot(from owner: String) async {
        let reply: DBusMessage
        do {
            reply = try await connection.callMessage(
                destination: owner, path: Self.rootPath, interface: BlueZ.objectManager, member: "GetManagedObjects",
                timeout: callTimeout)
        } catch {
            logger.info("cannot read BlueZ's objects; following its signals only", metadata: ["error": "\(error)"])
            return
        }
        // The owner may have left while the call was out; its departure was handled after this call returns.
        guard self.owner == owner else { return }
        snapshotSerial = reply.serial
        guard case .dictionary(_, _, let objects)? = reply.arguments.first?.unwrapped else { return }

        var snapshotAdapters: [String: Bool] = [:]
        var snapshotDevices: [String: BlueZDevice] = [:]
        var snapshotResolved: [String: Bool] = [:]
        for (key, value) in objects {
            guard let path = key.objectPath?.rawValue, let interfaces = value.stringDictionary else { continue }
            if let properties = interfaces[BlueZ.adapterInterface]?.stringDictionary {
                snapshotAdapters[path] = properties["Powered"]?.bool ?? false
            }
            if let properties = interfaces[BlueZ.deviceInterface]?.stringDictionary,
                let device = BlueZDevice(objectPath: path, properties: properties)
            {
                snapshotDevices[path] = device
                snapshotResolved[path] = properties["ServicesResolved"]?.bool ?? false
            }
        }
        // The snapshot is the truth: what it lacks is gone, what it has replaces what was known.
        adapters = snapshotAdapters
        for path in devices.keys where snapshotDevices[path] == nil { remove(path) }
        for (path, device) in snapshotDevices {
            devices[path, default: Device(device: device)].device = device
            devices[path]?.servicesResolved = snapshotResolved[path] ?? false
        }
        for path in devices.keys.sorted() { refresh(path) }
        logger.debug(
            "read BlueZ's objects",
            metadata: ["adapters": "\(snapshotAdapters.count)", "devices": "\(snapshotDevices.count)"])
    }

    // MARK: Presence

    private func adapterPath(of tracked: Device) -> String? {
        tracked.device.adapter
    }

    private func refreshDevices(ofAdapter adapter: String) {
        for (path, tracked) in devices where adapterPath(of: tracked) == adapter { refresh(path) }
    }

    /// Publishes what changed for the device at `path`: arrival, change or departure.
    private func refresh(_ path: String) {
        guard var tracked = devices[path] else { return }
        let adapterPowered = adapterPath(of: tracked).flatMap { adapters[$0] } ?? false
        let present = tracked.device.paired && adapterPowered
        switch (tracked.published, present) {
        case (nil, true) where tracked.settling:
            // Announced once BlueZ has described it: ServicesResolved, or the window's end.
            guard tracked.settleTimer == nil else { return }
            let window = settleWindow
            tracked.settleTimer = Task { [weak self] in
                try? await Task.sleep(for: window)
                guard !Task.isCancelled else { return }
                await self?.settleWindowEnded(path)
            }
            devices[path] = tracked
            logger.debug("Bluetooth device paired; waiting for BlueZ to resolve its services", metadata: ["path": "\(path)"])
            return
        case (nil, false):
            if tracked.settling {
                tracked.settleTimer?.cancel()
                tracked.settleTimer = nil
                tracked.settling = false
                devices[path] = tracked
            }
            return
        case (.some, false):
            tracked.lookup?.cancel()
            tracked = Device(device: tracked.device)
            devices[path] = tracked
            logger.info("Bluetooth device departed", metadata: ["path": "\(path)"])
            events.yield(.departed(transport: .bluetooth, sourceKey: path))
            return
        case (nil, true):
            let observation = Self.observation(of: tracked, at: path)
            tracked.published = observation
            devices[path] = tracked
            logger.info(
                "Bluetooth device arrived",
                metadata: [
                    "path": "\(path)", "address": "\(tracked.device.address)",
                    "name": "\(observation.properties.string(PropertyKey.bluetoothName) ?? "-")",
                ])
            events.yield(.arrived(observation))
        case (.some(let previous), true):
            let observation = Self.observation(of: tracked, at: path)
            if observation != previous {
                tracked.published = observation
                devices[path] = tracked
                events.yield(.changed(observation))
            }
        }
        startLookupIfNeeded(path)
    }

    /// The settle window of a device paired while watched has passed without `ServicesResolved`: it is announced
    /// with what BlueZ has said so far (later changes follow as `.changed`).
    private func settleWindowEnded(_ path: String) {
        guard var tracked = devices[path], tracked.settling else { return }
        tracked.settling = false
        tracked.settleTimer = nil
        devices[path] = tracked
        logger.info("Bluetooth device did not resolve its services in time; announced as described so far", metadata: ["path": "\(path)"])
        refresh(path)
    }

    private static func observation(of tracked: Device, at path: String) -> DeviceObservation {
        var observation = tracked.device.observation(objectPath: path)
        for (kind, channel) in tracked.channels {
            observation.properties[kind.channelKey] = .int(Int32(channel))
        }
        return observation
    }

    private func departAll() {
        for path in devices.keys.sorted() {
            guard var tracked = devices[path], tracked.published != nil else { continue }
            tracked.lookup?.cancel()
            tracked = Device(device: tracked.device)
            devices[path] = tracked
            logger.info("Bluetooth device departed", metadata: ["path": "\(path)"])
            events.yield(.departed(transport: .bluetooth, sourceKey: path))
        }
    }

    private func remove(_ path: String) {
        guard let tracked = devices.removeValue(forKey: path) else { return }
        tracked.lookup?.cancel()
        tracked.settleTimer?.cancel()
        if tracked.published != nil {
            logger.info("Bluetooth device departed", metadata: ["path": "\(path)"])
            events.yield(.departed(transport: .bluetooth, sourceKey: path))
        }
    }

    // MARK: Sync channels

    private func startLookupIfNeeded(_ path: String) {
        guard let serviceLookup, var tracked = devices[path], tracked.published != nil, tracked.lookup == nil,
            let address = BluetoothAddress(tracked.device.address)
        else { return }
        let syncUUIDs = Set(tracked.device.uuids.compactMap { BluetoothUUID($0) }.filter(\.announcesSyncService))
        guard !syncUUIDs.isEmpty, syncUUIDs != tracked.lookedUpFor else { return }
        nextGeneration += 1
        let generation = nextGeneration
        let logger = logger
        tracked.lookedUpFor = syncUUIDs
        tracked.lookupFailed = false
        tracked.lookupGeneration = generation
        // The lookup runs off the actor: the watch goes on while the device is paged.
        tracked.lookup = Task.detached { [weak self] in
            let result: Result<[SyncService], any Error>
            do {
                result = .success(try await serviceLookup.syncServices(at: address, logger: logger))
            } catch {
                result = .failure(error)
            }
            await self?.lookupFinished(path, generation: generation, result)
        }
        devices[path] = tracked
    }

    private func lookupFinished(_ path: String, generation: Int, _ result: Result<[SyncService], any Error>) {
        guard var tracked = devices[path], tracked.lookupGeneration == generation, tracked.published != nil else {
            return
        }
        tracked.lookup = nil
        switch result {
        case .success(let services):
            var channels: [SyncService.Kind: UInt8] = [:]
            // A device may list a service twice; the first record, as the device orders them, wins.
            for service in services where channels[service.kind] == nil { channels[service.kind] = service.rfcommChannel }
            tracked.channels = channels
            logger.info(
                "found sync services",
                metadata: [
                    "path": "\(path)",
                    "channels": "\(channels.map { "\($0.key.rawValue):\($0.value)" }.sorted().joined(separator: ","))",
                ])
        case .failure(let error):
            tracked.lookupFailed = true
            logger.info("SDP lookup failed; no sync channels published", metadata: ["path": "\(path)", "error": "\(error)"])
        }
        devices[path] = tracked
        refresh(path)
    }
}
