// SPDX-License-Identifier: Apache-2.0
internal import CDBus
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging

/// The filter that sees every incoming message; one function value, so removing it names the same pointer.
private let messageFilter: DBusHandleMessageFunction = { _, message, data in
    ConnectionCore.from(data).filter(message!)
}

/// Closes a descriptor the connection owns (the name `close` is taken by ConnectionCore.close()).
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// An outstanding method call: the libdbus pending call and the continuation waiting for its reply.
final class PendingReply: @unchecked Sendable {  // touched only on the owning connection's queue
    let id: UInt64
    let call: OpaquePointer
    let continuation: CheckedContinuation<DBusMessage, any Error>
    weak var core: ConnectionCore?

    init(id: UInt64, call: OpaquePointer, continuation: CheckedContinuation<DBusMessage, any Error>, core: ConnectionCore) {
        self.id = id
        self.call = call
        self.continuation = continuation
        self.core = core
    }
}

/// A local signal subscription: which signals, and where they go.
struct Subscription {
    let rule: DBusMatchRule
    let deliver: @Sendable (DBusMessage) -> Void
    let finish: @Sendable () -> Void
}

/// The owner of a well-known name, followed through NameOwnerChanged for as long as subscriptions need it.
struct TrackedName {
    var owner: String?
    /// Whether a NameOwnerChanged already set `owner`, which is then newer than any GetNameOwner reply.
    var changed = false
    var users = 1
}

/// The dispatch sources that drive one libdbus watch while libdbus enables it.
///
/// A read watch gets a fresh read source each time it is enabled, cancelled when it is disabled. A write watch
/// is first tried at once (local sockets rarely push back) and gets a write source only when libdbus still has
/// bytes left, so that not every outgoing message costs a source.
final class WatchSources {  // touched only on the connection's queue
    let isWrite: Bool
    var source: (any DispatchSourceProtocol)?

    init(isWrite: Bool) {
        self.isWrite = isWrite
    }

    func cancel() {
        source?.cancel()
        source = nil
    }
}

/// Where to send the reply to an incoming call.
struct ReplyAddress: Sendable {
    let serial: UInt32
    let destination: String?
    let wantsReply: Bool
}

/// What answering an incoming call takes: an answer now, or work in a task.
enum Route {
    case immediate(Result<[DBusValue], DBusError>)
    case work(@Sendable () async throws -> [DBusValue])
    /// A reply marshalled earlier, sent as a copy.
    case prepared(PreparedReply)
}

/// Owns one libdbus connection and everything attached to it.
///
/// Every method runs on `queue`: the public ``DBusConnection`` actor executes on it, and the dispatch sources
/// that drive libdbus's watches and timeouts fire on it. libdbus never sees another thread.
final class ConnectionCore: @unchecked Sendable {  // safe: confined to `queue`
    let queue: DispatchQueue
    let logger: Logger
    private(set) var raw: OpaquePointer?
    weak var owner: DBusConnection?
    var uniqueName: String?

    private var watches: [QueuePointer: WatchSources] = [:]
    private var enabledWatches: Set<QueuePointer> = []
    private var timeouts: [QueuePointer: any DispatchSourceTimer] = [:]
    private var dispatchScheduled = false
    /// Incoming calls and signals the filter saw and socket events handled since ``DBusActivity`` was last told.
    private var activitySinceReport = 0
    private var nextID: UInt64 = 1
    private var pendingReplies: [UInt64: PendingReply] = [:]
    var subscriptions: [UInt64: Subscription] = [:]
    private var handlerTasks: [UInt64: Task<Void, Never>] = [:]

    /// Exported objects by path, each with its interfaces in declaration order.
    var objects: [DBusObjectPath: [DBusInterface]] = [:]
    /// Paths that implement org.freedesktop.DBus.ObjectManager for the objects below them.
    var managers: Set<DBusObjectPath> = []
    /// The marshalled `{oa{sa{sv}}}` entry of each object whose properties are all stored, kept until it changes.
    var marshalledEntries: [DBusObjectPath: [UInt8]] = [:]
    /// The GetManagedObjects reply of each manager, kept until an object below it changes.
    var managedObjectsReplies: [DBusObjectPath: PreparedReply] = [:]

    /// Credentials of peers, by unique name, dropped when the peer leaves the bus.
    var credentialCache: [String: DBusCredentials] = [:]
    /// Peers whose credentials are cached or being asked for; their entries go when they leave the bus.
    var watchedPeers: Set<String> = []
    /// Whether ``peerDepartures`` is added on the bus: while any peer is watched.
    var followsPeerDepartures = false
    /// Current owners of the well-known names subscriptions use as sender (messages carry unique names).
    var senderOwners: [String: TrackedName] = [:]
    /// Tasks waiting for the connection to close.
    var closeWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    /// Calls and waits announced by an actor method but not yet started on the queue; cancelling removes the id,
    /// so a start that comes after its cancellation knows to give up.
    var announced: Set<UInt64> = []

    init(queue: DispatchQueue, logger: Logger) {
        self.queue = queue
        self.logger = logger
    }

    func newID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    private var unmanagedSelf: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    fileprivate static func from(_ data: UnsafeMutableRawPointer?) -> ConnectionCore {
        Unmanaged<ConnectionCore>.fromOpaque(data!).takeUnretainedValue()
    }

    // MARK: Opening and closing

    func open(address: String) throws(DBusError) {
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        guard !address.utf8.contains(0), let connection = dbus_connection_open_private(address, &error) else {
            let name = error.name.map { String(cString: $0) } ?? DBusError.Name.badAddress
            let message = error.message.map { String(cString: $0) } ?? "cannot connect to '\(address)'"
            throw DBusError(name: name, message: message)
        }
        raw = connection
        dbus_connection_set_exit_on_disconnect(connection, 0)
        let data = unmanagedSelf
        // The callbacks hold `self` unretained; close() removes them before the core can go away.
        dbus_connection_set_watch_functions(
            connection,
            { watch, data in ConnectionCore.from(data).addWatch(watch!); return 1 },
            { watch, data in ConnectionCore.from(data).removeWatch(watch!) },
            { watch, data in ConnectionCore.from(data).toggleWatch(watch!) },
            data, nil)
        dbus_connection_set_timeout_functions(
            connection,
            { timeout, data in ConnectionCore.from(data).addTimeout(timeout!); return 1 },
            { timeout, data in ConnectionCore.from(data).removeTimeout(timeout!) },
            { timeout, data in ConnectionCore.from(data).toggleTimeout(timeout!) },
            data, nil)
        dbus_connection_set_dispatch_status_function(
            connection,
            { _, status, data in
                if status == DBUS_DISPATCH_DATA_REMAINS { ConnectionCore.from(data).scheduleDispatch() }
            },
            data, nil)
        dbus_connection_set_wakeup_main_function(connection, { data in ConnectionCore.from(data).scheduleDispatch() }, data, nil)
        dbus_connection_add_filter(connection, messageFilter, data, nil)
        scheduleDispatch()
    }

    /// Traps in debug builds if a caller is off the connection's queue, where libdbus must never be touched.
    func assertOnQueue() {
        #if DEBUG
        dispatchPrecondition(condition: .onQueue(queue))
        #endif
    }

    /// Registers a task waiting for close(); resumes it at once if the connection is closed or the wait cancelled.
    func addCloseWaiter(_ id: UInt64, _ continuation: CheckedContinuation<Void, Never>) {
        assertOnQueue()
        guard announced.remove(id) != nil, raw != nil else { return continuation.resume() }
        closeWaiters[id] = continuation
    }

    func cancelCloseWaiter(_ id: UInt64) {
        assertOnQueue()
        if announced.remove(id) != nil { return }
        closeWaiters.removeValue(forKey: id)?.resume()
    }

    func close() {
        assertOnQueue()
        guard let connection = raw else { return }
        logger.debug("closing D-Bus connection", metadata: ["unique-name": "\(uniqueName ?? "-")"])
        for task in handlerTasks.values { task.cancel() }
        handlerTasks = [:]
        for pending in pendingReplies.values {
            dbus_pending_call_cancel(pending.call)
            dbus_pending_call_unref(pending.call)
            pending.continuation.resume(throwing: DBusError(name: DBusError.Name.disconnected, message: "the connection was closed"))
        }
        pendingReplies = [:]
        let finished = subscriptions.values
        subscriptions = [:]
        for subscription in finished { subscription.finish() }
        let waiters = closeWaiters.values
        closeWaiters = [:]
        for waiter in waiters { waiter.resume() }
        marshalledEntries = [:]
        managedObjectsReplies = [:]
        dbus_connection_close(connection)
        dbus_connection_remove_filter(connection, messageFilter, unmanagedSelf)
        dbus_connection_set_watch_functions(connection, nil, nil, nil, nil, nil)
        dbus_connection_set_timeout_functions(connection, nil, nil, nil, nil, nil)
        dbus_connection_set_dispatch_status_function(connection, nil, nil, nil)
        dbus_connection_set_wakeup_main_function(connection, nil, nil, nil)
        for sources in watches.values { sources.cancel() }
        for timer in timeouts.values { timer.cancel() }
        watches = [:]
        enabledWatches = []
        timeouts = [:]
        dbus_connection_unref(connection)
        raw = nil
    }

    func requireOpen() throws(DBusError) -> OpaquePointer {
        guard let raw else { throw DBusError(name: DBusError.Name.disconnected, message: "the connection is closed") }
        return raw
    }

    // MARK: Event loop

    private func addWatch(_ watch: OpaquePointer) {
        let key = QueuePointer(raw: watch)
        let isWrite = dbus_watch_get_flags(watch) & DBUS_WATCH_WRITABLE.rawValue != 0
        watches[key] = WatchSources(isWrite: isWrite)
        if dbus_watch_get_enabled(watch) != 0 { enableWatch(key) }
    }

    private func removeWatch(_ watch: OpaquePointer) {
        watches.removeValue(forKey: QueuePointer(raw: watch))?.cancel()
        enabledWatches.remove(QueuePointer(raw: watch))
    }

    private func toggleWatch(_ watch: OpaquePointer) {
        let key = QueuePointer(raw: watch)
        watches[key]?.cancel()
        enabledWatches.remove(key)
        if dbus_watch_get_enabled(watch) != 0 { enableWatch(key) }
    }

    private func enableWatch(_ key: QueuePointer) {
        guard let sources = watches[key] else { return }
        enabledWatches.insert(key)
        if sources.isWrite {
            // libdbus has something to send: try at once, on the queue but outside this callback.
            queue.async { [self] in handleWatch(key, DBUS_WATCH_WRITABLE.rawValue) }
        } else {
            armSource(key, sources)
        }
    }

    private func armSource(_ key: QueuePointer, _ sources: WatchSources) {
        guard sources.source == nil, let ownFD = Self.duplicate(dbus_watch_get_unix_fd(key.raw)) else { return }
        let flag = sources.isWrite ? DBUS_WATCH_WRITABLE.rawValue : DBUS_WATCH_READABLE.rawValue
        let source: any DispatchSourceProtocol =
            sources.isWrite
            ? DispatchSource.makeWriteSource(fileDescriptor: ownFD, queue: queue)
            : DispatchSource.makeReadSource(fileDescriptor: ownFD, queue: queue)
        source.setEventHandler { [unowned self] in self.handleWatch(key, flag) }
        source.setCancelHandler { closeDescriptor(ownFD) }
        source.resume()
        sources.source = source
    }

    /// Sources watch a duplicate of libdbus's socket, closed only when the source has finished cancelling.
    ///
    /// libdbus closes its own fd when the connection drops; a source still registered on that number would then
    /// watch whatever socket reuses it next (another connection), losing events and crashing libdispatch.
    private static func duplicate(_ fd: Int32) -> Int32? {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        return copy >= 0 ? copy : nil
    }

    /// How often one wake-up may call `dbus_watch_handle` while the socket stays ready.
    ///
    /// libdbus's socket transport moves only a few KiB per call (`max_bytes_read_per_iteration` is 2,048), so a
    /// megabyte reply handled one call per wake-up costs hundreds of trips through libdispatch. Looping while
    /// `poll` says the socket is still ready moves it in a few; the bound (about 2 MiB read) keeps one flooding
    /// peer from holding the queue, where the actor's jobs also run.
    private static let handlesPerWakeup = 512

    private func handleWatch(_ key: QueuePointer, _ flag: UInt32) {
        // The watch may have been removed or disabled by an earlier block in this turn.
        guard raw != nil, let sources = watches[key], enabledWatches.contains(key) else { return }
        let event = sources.isWrite ? Int16(POLLOUT) : Int16(POLLIN)
        var handled = 0
        repeat {
            dbus_watch_handle(key.raw, flag)
            handled += 1
            // Handling may disable or remove the watch (everything sent, queue full, peer gone): stop then.
        } while handled < Self.handlesPerWakeup && raw != nil && watches[key] === sources && enabledWatches.contains(key)
            && Self.isReady(dbus_watch_get_unix_fd(key.raw), event)
        // Sending a flood's replies goes on after the last call was dispatched; it counts as activity too.
        activitySinceReport += handled
        // Still enabled after a write: the socket pushed back, so a write source takes over until it drains.
        if sources.isWrite, raw != nil, enabledWatches.contains(key), watches[key] === sources { armSource(key, sources) }
        dispatchAll()
    }

    /// Whether `fd` would accept `event` (POLLIN or POLLOUT) without blocking; never waits.
    private static func isReady(_ fd: Int32, _ event: Int16) -> Bool {
        guard fd >= 0 else { return false }
        var entry = pollfd(fd: fd, events: event, revents: 0)
        return poll(&entry, 1, 0) == 1 && entry.revents & event != 0
    }

    private func addTimeout(_ timeout: OpaquePointer) {
        let key = QueuePointer(raw: timeout)
        if dbus_timeout_get_enabled(timeout) != 0 { armTimeout(key) }
    }

    private func removeTimeout(_ timeout: OpaquePointer) {
        timeouts.removeValue(forKey: QueuePointer(raw: timeout))?.cancel()
    }

    private func toggleTimeout(_ timeout: OpaquePointer) {
        let key = QueuePointer(raw: timeout)
        timeouts.removeValue(forKey: key)?.cancel()
        if dbus_timeout_get_enabled(timeout) != 0 { armTimeout(key) }
    }

    private func armTimeout(_ key: QueuePointer) {
        let interval = DispatchTimeInterval.milliseconds(Int(dbus_timeout_get_interval(key.raw)))
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [unowned self] in
            guard self.raw != nil, self.timeouts[key] != nil else { return }
            dbus_timeout_handle(key.raw)
            self.dispatchAll()
        }
        timer.resume()
        timeouts[key] = timer
    }

    /// libdbus forbids dispatching from inside its callbacks, so dispatch runs as a separate block.
    private func scheduleDispatch() {
        guard !dispatchScheduled else { return }
        dispatchScheduled = true
        queue.async { [self] in
            dispatchScheduled = false
            dispatchAll()
        }
    }

    private func dispatchAll() {
        while let raw, dbus_connection_dispatch(raw) == DBUS_DISPATCH_DATA_REMAINS {}
        if activitySinceReport > 0 {
            let count = activitySinceReport
            activitySinceReport = 0
            DBusActivity.observer?(count)
        }
    }

    // MARK: Outgoing messages

    func makeMethodCall(
        destination: String?, path: DBusObjectPath, interface: String?, member: String, arguments: [DBusValue]
    ) throws(DBusError) -> OpaquePointer {
        if let destination { try DBusNames.requireBusName(destination) }
        if let interface { try DBusNames.requireInterface(interface) }
        try DBusNames.requireMember(member)
        guard let message = dbus_message_new_method_call(destination, path.rawValue, interface, member) else {
            throw .failed("out of memory")
        }
        do {
            try Marshalling.append(arguments, to: message)
        } catch {
            dbus_message_unref(message)
            throw error
        }
        return message
    }

    private func checkFileDescriptors(_ values: [DBusValue], _ connection: OpaquePointer) throws(DBusError) {
        func hasFD(_ value: DBusValue) -> Bool {
            switch value {
            case .unixFD: true
            case .array(_, let items): items.contains(where: hasFD)
            case .dictionary(_, _, let entries): entries.values.contains(where: hasFD)
            case .structure(let fields): fields.contains(where: hasFD)
            case .variant(let inner): hasFD(inner)
            default: false
            }
        }
        // Ask libdbus first: bus connections on Unix sockets pass descriptors, and then no walk of the tree is needed.
        if dbus_connection_can_send_type(connection, TypeCode.unixFD) == 0, values.contains(where: hasFD) {
            throw .failed("this connection cannot pass Unix file descriptors")
        }
    }

    /// Sends a call and arranges for `continuation` to get the reply (or the error reply, timeout, cancellation).
    func startCall(
        id: UInt64, destination: String?, path: DBusObjectPath, interface: String?, member: String,
        arguments: [DBusValue], timeout: Duration, continuation: CheckedContinuation<DBusMessage, any Error>
    ) {
        assertOnQueue()
        guard announced.remove(id) != nil else { return continuation.resume(throwing: CancellationError()) }
        do {
            let connection = try requireOpen()
            try checkFileDescriptors(arguments, connection)
            let message = try makeMethodCall(
                destination: destination, path: path, interface: interface, member: member, arguments: arguments)
            defer { dbus_message_unref(message) }
            var pendingCall: OpaquePointer? = nil
            guard dbus_connection_send_with_reply(connection, message, &pendingCall, Self.milliseconds(timeout)) != 0,
                let pendingCall
            else {
                throw DBusError(name: DBusError.Name.disconnected, message: "the connection is closed")
            }
            let pending = PendingReply(id: id, call: pendingCall, continuation: continuation, core: self)
            pendingReplies[id] = pending
            dbus_pending_call_set_notify(
                pendingCall,
                { _, data in
                    let pending = Unmanaged<PendingReply>.fromOpaque(data!).takeUnretainedValue()
                    pending.core?.completeCall(pending.id)
                },
                Unmanaged.passRetained(pending).toOpaque(),
                { data in Unmanaged<PendingReply>.fromOpaque(data!).release() })
            if dbus_pending_call_get_completed(pendingCall) != 0 { completeCall(id) }
        } catch {
            continuation.resume(throwing: error)
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return Int32.max }
        return Int32(clamping: max(1, total.partialValue + attoseconds / 1_000_000_000_000_000))
    }

    private func completeCall(_ id: UInt64) {
        guard let pending = pendingReplies.removeValue(forKey: id) else { return }
        let reply = dbus_pending_call_steal_reply(pending.call)
        dbus_pending_call_unref(pending.call)
        guard let reply else {
            pending.continuation.resume(throwing: DBusError(name: DBusError.Name.noReply, message: "no reply"))
            return
        }
        let message = Marshalling.copy(reply)
        dbus_message_unref(reply)
        if message.kind == .error {
            pending.continuation.resume(throwing: Marshalling.error(from: message))
        } else {
            pending.continuation.resume(returning: message)
        }
    }

    /// Abandons a call: libdbus forgets it and the waiting task gets a `CancellationError`.
    func cancelCall(_ id: UInt64) {
        assertOnQueue()
        if announced.remove(id) != nil { return }  // startCall will see it gone and throw CancellationError
        guard let pending = pendingReplies.removeValue(forKey: id) else { return }
        dbus_pending_call_cancel(pending.call)
        dbus_pending_call_unref(pending.call)
        pending.continuation.resume(throwing: CancellationError())
    }

    /// Sends a call whose reply nobody waits for (RemoveMatch on the way out).
    func sendWithoutReply(destination: String?, path: DBusObjectPath, interface: String, member: String, arguments: [DBusValue]) {
        guard let connection = raw,
            let message = try? makeMethodCall(
                destination: destination, path: path, interface: interface, member: member, arguments: arguments)
        else { return }
        dbus_message_set_no_reply(message, 1)
        dbus_connection_send(connection, message, nil)
        dbus_message_unref(message)
    }

    func emit(_ signal: DBusSignalEmission) throws(DBusError) {
        assertOnQueue()
        let connection = try requireOpen()
        try DBusNames.requireInterface(signal.interface)
        try DBusNames.requireMember(signal.member)
        if let destination = signal.destination { try DBusNames.requireBusName(destination) }
        try checkFileDescriptors(signal.arguments, connection)
        if let body = Marshalling.body(signal.arguments),
            try sendMarshalled(
                on: connection, path: signal.path, interface: signal.interface, member: signal.member,
                destination: signal.destination, signature: body.signature, body: body.bytes)
        {
            return
        }
        guard let message = dbus_message_new_signal(signal.path.rawValue, signal.interface, signal.member) else {
            throw .failed("out of memory")
        }
        defer { dbus_message_unref(message) }
        if let destination = signal.destination { dbus_message_set_destination(message, destination) }
        try Marshalling.append(signal.arguments, to: message)
        guard dbus_connection_send(connection, message, nil) != 0 else { throw .failed("out of memory") }
    }

    /// Emits a broadcast signal whose body is already marshalled (``WireWriter``, from offset 0); the interface
    /// and member are the caller's constants.
    func emit(path: DBusObjectPath, interface: String, member: String, signature: String, body: [UInt8]) throws(DBusError) {
        assertOnQueue()
        let connection = try requireOpen()
        guard try sendMarshalled(
            on: connection, path: path, interface: interface, member: member, destination: nil, signature: signature,
            body: body)
        else { throw .failed("libdbus refused the \(member) signal") }
    }

    /// Sends a signal whose body was marshalled in Swift (``Marshalling/signal(path:interface:member:destination:signature:body:)``);
    /// false, with nothing sent, when libdbus refuses the message.
    private func sendMarshalled(
        on connection: OpaquePointer, path: DBusObjectPath, interface: String, member: String, destination: String?,
        signature: String, body: [UInt8]
    ) throws(DBusError) -> Bool {
        guard let message = Marshalling.signal(
            path: path, interface: interface, member: member, destination: destination, signature: signature, body: body)
        else { return false }
        defer { dbus_message_unref(message) }
        guard dbus_connection_send(connection, message, nil) != 0 else { throw .failed("out of memory") }
        return true
    }

    func sendReply(_ address: ReplyAddress, _ result: Result<[DBusValue], DBusError>) {
        assertOnQueue()
        guard address.wantsReply, let connection = raw else { return }
        var result = result
        if case .success(let values) = result {
            guard let message = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_RETURN) else { return }
            defer { dbus_message_unref(message) }
            prepareReply(message, address)
            do {
                try checkFileDescriptors(values, connection)
                try Marshalling.append(values, to: message)
                dbus_connection_send(connection, message, nil)
                return
            } catch {
                logger.warning("cannot send a method reply", metadata: ["error": "\(error)"])
                result = .failure(error)
            }
        }
        guard case .failure(var error) = result else { return }
        if !DBusNames.isValidErrorName(error.name) {
            logger.warning("a handler threw an invalid error name", metadata: ["error-name": "\(error.name)"])
            error = DBusError(name: DBusError.Name.failed, message: error.message)
        }
        guard let message = dbus_message_new(DBUS_MESSAGE_TYPE_ERROR) else { return }
        defer { dbus_message_unref(message) }
        prepareReply(message, address)
        dbus_message_set_error_name(message, error.name)
        try? Marshalling.append([.string(error.message)], to: message)
        dbus_connection_send(connection, message, nil)
    }

    func sendPrepared(_ address: ReplyAddress, _ reply: PreparedReply) {
        assertOnQueue()
        guard address.wantsReply, let connection = raw else { return }
        guard let message = reply.reply(serial: address.serial, destination: address.destination) else {
            return sendReply(address, .failure(.failed("out of memory while copying a reply")))
        }
        dbus_connection_send(connection, message, nil)
        dbus_message_unref(message)
    }

    private func prepareReply(_ message: OpaquePointer, _ address: ReplyAddress) {
        dbus_message_set_reply_serial(message, address.serial)
        dbus_message_set_no_reply(message, 1)
        if let destination = address.destination { dbus_message_set_destination(message, destination) }
    }

    // MARK: Incoming messages

    fileprivate func filter(_ raw: OpaquePointer) -> DBusHandlerResult {
        let type = dbus_message_get_type(raw)
        guard type == DBUS_MESSAGE_TYPE_SIGNAL || type == DBUS_MESSAGE_TYPE_METHOD_CALL else {
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        }
        activitySinceReport += 1
        let message = Marshalling.copy(raw)
        if type == DBUS_MESSAGE_TYPE_METHOD_CALL {
            handleMethodCall(message, wantsReply: dbus_message_get_no_reply(raw) == 0)
            return DBUS_HANDLER_RESULT_HANDLED
        }
        handleSignal(message)
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
    }

    /// Every NameOwnerChanged: one rule tells of every watched peer's departure, whatever their number.
    static let peerDepartures = DBusMatchRule(
        sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged")

    /// Forgets a peer's credentials; the last one watched takes ``peerDepartures`` off the bus.
    func stopWatchingPeer(_ name: String) {
        guard watchedPeers.remove(name) != nil else { return }
        credentialCache[name] = nil
        guard watchedPeers.isEmpty, followsPeerDepartures else { return }
        followsPeerDepartures = false
        sendWithoutReply(
            destination: "org.freedesktop.DBus", path: try! DBusObjectPath("/org/freedesktop/DBus"),
            interface: "org.freedesktop.DBus", member: "RemoveMatch", arguments: [.string(Self.peerDepartures.text)])
    }

    private func handleSignal(_ message: DBusMessage) {
        if message.interface == "org.freedesktop.DBus.Local", message.member == "Disconnected" {
            logger.info("D-Bus connection lost", metadata: ["unique-name": "\(uniqueName ?? "-")"])
            queue.async { [self] in close() }
            return
        }
        let ownerChange =
            message.sender == "org.freedesktop.DBus" && message.member == "NameOwnerChanged"
            ? DBusNameOwnerChange(message) : nil
        if let change = ownerChange, senderOwners[change.name] != nil {
            senderOwners[change.name]?.owner = change.newOwner
            senderOwners[change.name]?.changed = true
        }
        if let change = ownerChange, change.newOwner == nil, watchedPeers.contains(change.name) {
            stopWatchingPeer(change.name)
        }
        for subscription in subscriptions.values
        where subscription.rule.matches(message, ownerOf: { senderOwners[$0]?.owner }) {
            subscription.deliver(message)
        }
    }

    private func handleMethodCall(_ message: DBusMessage, wantsReply: Bool) {
        let address = ReplyAddress(serial: message.serial, destination: message.sender, wantsReply: wantsReply)
        guard let owner else {
            sendReply(address, .failure(DBusError(name: DBusError.Name.unknownObject, message: "the connection is closing")))
            return
        }
        switch route(message, connection: owner) {
        case .immediate(let result):
            sendReply(address, result)
        case .prepared(let reply):
            sendPrepared(address, reply)
        case .work(let work):
            let id = newID()
            let logger = logger
            handlerTasks[id] = Task { [self] in
                let result: Result<[DBusValue], DBusError>
                do {
                    result = .success(try await work())
                } catch let error as DBusError {
                    result = .failure(error)
                } catch is CancellationError {
                    result = .failure(.failed("the call was cancelled"))
                } catch {
                    logger.warning(
                        "a D-Bus method handler failed",
                        metadata: ["member": "\(message.member ?? "")", "error": "\(error)"])
                    result = .failure(.failed(String(describing: error)))
                }
                queue.async { [self] in
                    guard handlerTasks.removeValue(forKey: id) != nil else { return }
                    sendReply(address, result)
                }
            }
        }
    }
}
