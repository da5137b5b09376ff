import DBus

/// Collects every signal a subscription delivers, so a test can wait for the ones it expects, in any order.
actor SignalRecorder {
    private var received: [DBusMessage] = []
    private var waiters: [(count: Int, predicate: @Sendable (DBusMessage) -> Bool, continuation: CheckedContinuation<[DBusMessage], Never>)] = []
    private var task: Task<Void, Never>?

    /// Starts recording `stream`.
    func record(_ stream: AsyncStream<DBusMessage>) {
        task = Task { [weak self] in
            for await message in stream { await self?.add(message) }
        }
    }

    private func add(_ message: DBusMessage) {
        received.append(message)
        var still: [(count: Int, predicate: @Sendable (DBusMessage) -> Bool, continuation: CheckedContinuation<[DBusMessage], Never>)] = []
        for waiter in waiters {
            let matches = received.filter(waiter.predicate)
            if matches.count >= waiter.count {
                waiter.continuation.resume(returning: matches)
            } else {
                still.append(waiter)
            }
        }
        waiters = still
    }

    /// Waits until at least `count` recorded signals match, and returns every match so far.
    func wait(for count: Int = 1, where predicate: @escaping @Sendable (DBusMessage) -> Bool) async -> [DBusMessage] {
        let matches = received.filter(predicate)
        if matches.count >= count { return matches }
        return await withCheckedContinuation { waiters.append((count, predicate, $0)) }
    }

    /// The signals recorded so far that match.
    func all(where predicate: (DBusMessage) -> Bool) -> [DBusMessage] { received.filter(predicate) }

    func stop() { task?.cancel() }
}

extension DBusMessage {
    /// Whether this is the signal `interface.member`, from `path` if given.
    func isSignal(_ interface: String, _ member: String, path: DBusObjectPath? = nil) -> Bool {
        kind == .signal && self.interface == interface && self.member == member && (path == nil || self.path == path)
    }
}
