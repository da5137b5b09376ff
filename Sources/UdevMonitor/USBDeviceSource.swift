// SPDX-License-Identifier: Apache-2.0
import Dispatch
import DeviceRegistry
import Logging

/// USB devices as udev sees them: one `SourceEvent` per physical arrival, change and departure.
///
/// `start()` opens a libudev monitor, enumerates the devices already present (cold-plug) and then follows
/// hotplug, with no gap and no duplicate between the two (`docs/udev.md`). libudev is not thread-safe: every
/// libudev object is created, used and released on `queue`, and the monitor's socket is driven by a
/// `DispatchSource` on that queue. Nothing polls, sleeps or wakes while no device moves.
public final class USBDeviceSource: @unchecked Sendable {
    // @unchecked Sendable: every mutable member below is touched only on `queue`.

    /// How the source watches udev.
    public struct Configuration: Sendable, Hashable {
        /// The socket receive buffer asked for, in bytes; an overrun costs a resynchronisation from sysfs.
        public var receiveBufferSize: Int32

        /// How long a device whose usb_device uevent came before all its interface directories existed is held
        /// back before it is announced anyway. Only such a device arms a timer; a normal plug-in waits for nothing.
        public var interfaceGracePeriod: Duration

        /// The databases asked for `hwdb.*`, `mpi.*` and `kernel.drivers` (docs/profiles.md, "Property
        /// sources"), or nil to read none: the observations then carry only what sysfs and udev said.
        public var databases: DatabaseLocations?

        /// The default configuration: a 16 MiB buffer, one second of interface grace, no databases.
        ///
        /// There is no tag filter: every USB device and tty is seen, whatever udev's rules tagged, so that a
        /// profile added at run time applies to devices the installed rules do not know (docs/udev.md).
        public init(
            receiveBufferSize: Int32 = 16 * 1024 * 1024, interfaceGracePeriod: Duration = .seconds(1),
            databases: DatabaseLocations? = nil
        ) {
            self.receiveBufferSize = receiveBufferSize
            self.interfaceGracePeriod = interfaceGracePeriod
            self.databases = databases
        }
    }

    /// The logical device events, from cold-plug on. Ends when the source stops.
    public let events: AsyncStream<SourceEvent>

    private let configuration: Configuration
    private let logger: Logger
    private let queue: DispatchQueue
    private let continuation: AsyncStream<SourceEvent>.Continuation
    private var context: UdevContext?
    private var monitor: UdevMonitorSocket?
    private var readSource: (any DispatchSourceRead)?
    private var graceTimers: [String: any DispatchSourceTimer] = [:]
    private var folder: USBEventFolder
    /// The databases, read on `queue` at start and by ``reloadDatabases()``; nil when none are configured.
    private var databases: DeviceDatabases?
    private var stopped = false
    /// Test hook, set before `start()`: runs on the queue between enabling the monitor and enumerating, so a
    /// test can plug devices into that window.
    var willEnumerate: (() -> Void)?
    /// Set before `start()`: runs on the queue after each drain of the monitor with the number of uevents read
    /// (0 too). devsyncd counts them as work, so that the memory a device storm took is given back once it is
    /// over (Sources/CTaskPool, "Giving memory back"); a test paces umockdev's sender with it.
    public var didReceiveUevents: ((Int) -> Void)?
    /// Test hook: runs on the queue once `stop()` has closed the monitor socket.
    var didStop: (() -> Void)?

    /// A source that has not started; `events` yields nothing until `start()`.
    ///
    /// - Parameter queue: the serial queue the source reads udev on, or nil for one of its own. A daemon passes
    ///   the queue its consumer runs on, so an event reaches the consumer without waking another thread; the
    ///   consumer must then never block that queue, and must not call `start()`, `stop()` or
    ///   `presentDevices` from it.
    public init(configuration: Configuration = Configuration(), queue: DispatchQueue? = nil, logger: Logger) {
        self.queue = queue ?? DispatchQueue(label: "org.devsync.udev")
        self.configuration = configuration
        self.logger = logger
        self.folder = USBEventFolder(reader: USBDeviceReader(), logger: logger)
        self.databases = configuration.databases.map { DeviceDatabases(locations: $0, logger: logger) }
        (events, continuation) = AsyncStream.makeStream(of: SourceEvent.self, bufferingPolicy: .unbounded)
        continuation.onTermination = { [weak self] _ in self?.stop() }
    }

    deinit {
        // The last reference is gone, so nothing else can touch the queue-confined state any more.
        readSource?.cancel()
        graceTimers.values.forEach { $0.cancel() }
        continuation.finish()
    }

    /// Starts monitoring: the present devices arrive first, then hotplug follows. Throws if libudev cannot
    /// open its monitor. Must not be called from a task that runs on the source's queue; calling it again, or
    /// after `stop()`, does nothing.
    public func start() throws(UdevError) {
        let result: Result<Void, UdevError> = queue.sync {
            do throws(UdevError) {
                try startOnQueue()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Stops monitoring and ends `events`. Safe to call more than once and from any thread.
    public func stop() {
        queue.async { [self] in
            guard !stopped else { return }
            stopped = true
            if let readSource {
                readSource.cancel()  // its cancel handler closes the monitor
            } else {
                monitor?.close()
                didStop?()
            }
            readSource = nil
            graceTimers.values.forEach { $0.cancel() }
            graceTimers = [:]
            monitor = nil
            context = nil
            continuation.finish()
        }
    }

    /// Re-reads the databases (at SIGHUP and ReloadProfiles) and announces a change of every present device
    /// whose database properties differ now. Returns the problems found (file:line), missing databases
    /// included. Safe from any task, the source's queue included: the work is queued behind what is there.
    @discardableResult
    public func reloadDatabases() async -> [DatabaseError] {
        await withCheckedContinuation { continuation in
            queue.async { [self] in continuation.resume(returning: reloadDatabasesOnQueue()) }
        }
    }

    private func reloadDatabasesOnQueue() -> [DatabaseError] {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let databases, !stopped else { return [] }
        let records = folder.devices.keys.sorted().compactMap { folder.devices[$0] }
        let before = records.map { enriched($0.observation) }
        let problems = databases.load()
        for (record, old) in zip(records, before) where enriched(record.observation) != old {
            emit([.changed(record.observation)])
        }
        databases.endBatch()
        return problems
    }

    /// The devpaths announced and not yet departed, sorted (a snapshot, for diagnostics).
    public var presentDevices: [String] {
        queue.sync { folder.devices.keys.sorted() }
    }

    private func startOnQueue() throws(UdevError) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard context == nil, !stopped else { return }
        let context = try UdevContext()
        let monitor = try UdevMonitorSocket(
            context: context, subsystems: ["usb", "tty"],
            receiveBufferSize: configuration.receiveBufferSize)
        // Receiving is enabled BEFORE enumerating: any device that moves while we enumerate is queued on the
        // socket, and the folder's idempotent state machine reconciles it below.
        try monitor.enableReceiving()
        self.context = context
        self.monitor = monitor
        databases?.load()
        willEnumerate?()
        try resynchronize()
        databases?.endBatch()
        logger.info("udev monitor started", metadata: ["devices": "\(folder.devices.count)"])
        receive()

        let readSource = DispatchSource.makeReadSource(fileDescriptor: monitor.fileDescriptor, queue: queue)
        readSource.setEventHandler { [weak self] in self?.receive() }
        // The socket is closed only once the dispatch source has stopped using its fd.
        readSource.setCancelHandler { [monitor, context, weak self] in
            withExtendedLifetime(context) { monitor.close() }
            self?.didStop?()
        }
        self.readSource = readSource
        readSource.resume()
    }

    /// Enumerates what is present and emits the difference to what was announced.
    private func resynchronize() throws(UdevError) {
        guard let context else { return }
        // Interfaces and ttys are read with their device, from sysfs; only usb_devices are listed.
        emit(folder.resynchronize(present: context.presentUSBDevices()))
    }

    /// Drains the monitor and folds what it read.
    private func receive() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let monitor, !stopped else { return }
        var received: [UdevDevice] = []
        let drained = monitor.drain(into: &received)
        didReceiveUevents?(received.count)
        for device in received { emit(folder.fold(device)) }
        if drained == .overrun {
            logger.warning("udev monitor overran, events were lost; resynchronising from sysfs")
            do throws(UdevError) { try resynchronize() } catch {
                logger.error("udev resynchronisation failed", metadata: ["error": "\(error)"])
            }
        }
        databases?.endBatch()
        armGraceTimers()
    }

    /// Gives each newly pending device one timer; drops the timers of devices no longer pending.
    private func armGraceTimers() {
        for (devpath, timer) in graceTimers where folder.pending[devpath] == nil {
            timer.cancel()
            graceTimers[devpath] = nil
        }
        for devpath in folder.pending.keys where graceTimers[devpath] == nil {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let (seconds, attoseconds) = configuration.interfaceGracePeriod.components
            let nanoseconds = Int(clamping: seconds) &* 1_000_000_000 &+ Int(attoseconds / 1_000_000_000)
            timer.schedule(deadline: .now() + .nanoseconds(nanoseconds))
            timer.setEventHandler { [weak self] in
                guard let self, !self.stopped else { return }
                self.graceTimers.removeValue(forKey: devpath)?.cancel()
                self.emit(self.folder.settle(devpath))
                self.databases?.endBatch()
            }
            graceTimers[devpath] = timer
            timer.resume()
        }
    }

    /// The observation with what the databases say added.
    private func enriched(_ observation: DeviceObservation) -> DeviceObservation {
        guard let databases else { return observation }
        var observation = observation
        databases.enrich(&observation.properties)
        return observation
    }

    private func emit(_ events: [SourceEvent]) {
        for var event in events {
            switch event {
            case .arrived(let observation): event = .arrived(enriched(observation))
            case .changed(let observation): event = .changed(enriched(observation))
            case .departed: break
            }
            switch event {
            case .arrived(let observation):
                logger.info("usb device arrived", metadata: ["devpath": "\(observation.sourceKey)", "id": "\(Self.id(observation))"])
            case .changed(let observation):
                logger.debug("usb device changed", metadata: ["devpath": "\(observation.sourceKey)"])
            case .departed(_, let sourceKey):
                logger.info("usb device departed", metadata: ["devpath": "\(sourceKey)"])
            }
            continuation.yield(event)
        }
    }

    private static func id(_ observation: DeviceObservation) -> String {
        let vendor = observation.properties.int(PropertyKey.usbVendorID).map { hex4(UInt16(truncatingIfNeeded: $0)) } ?? "????"
        let product = observation.properties.int(PropertyKey.usbProductID).map { hex4(UInt16(truncatingIfNeeded: $0)) } ?? "????"
        return "\(vendor):\(product)"
    }
}

/// Four lowercase hex digits.
func hex4(_ value: UInt16) -> String { hex2(UInt8(value >> 8)) + hex2(UInt8(value & 0xFF)) }
