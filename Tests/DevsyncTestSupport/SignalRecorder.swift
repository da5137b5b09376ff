// SPDX-License-Identifier: Apache-2.0
import DBus

/// Collects every signal a subscription delivers, so a test can wait for the ones it expects, in any order.
public actor SignalRecorder {
    /// A waiting test: what it waits for, and the matches so far.
    private final class Waiter {
        let count: Int
        let predicate: @Sendable (DBusMessage) -> Bool
        let continuation: CheckedContinuation<[DBusMessage], Never>
        var matches: [DBusMessage]

        init(count: Int, predicate: @escaping @Sendable (DBusMessage) -> Bool, matches: [DBusMessage],
             continuation: CheckedContinuation<[DBusMessage], Never>) {
            self.count = count
            self.predicate = predicate
            self.matches = matches
            self.continuation = continuation
        }
    }

    private var received: [DBusMessage] = []
    private var waiters: [Waiter] = []
    private var task: Task<Void, Never>?

    /// A recorder that has recorded nothing yet.
    public init() {}

    /// Starts recording `stream`.
    public func record(_ stream: AsyncStream<DBusMessage>) {
        task = Task { [weak self] in
            for await message in stream { await self?.add(message) }
        }
    }

    private func add(_ message: DBusMessage) {
        received.append(message)
        // Each waiter checks only the new message, so waiting for a thousand signals stays linear.
        waiters.removeAll { waiter in
            guard waiter.predicate(message) else { return false }
            waiter.matches.append(message)
            guard waiter.matches.count >= waiter.count else { return false }
            waiter.continuation.resume(returning: waiter.matches)
            return true
        }
    }

    /// Waits until at least `count` recorded signals match, and returns every match so far.
    public func wait(for count: Int = 1, where predicate: @escaping @Sendable (DBusMessage) -> Bool) async -> [DBusMessage] {
        let matches = received.filter(predicate)
        if matches.count >= count { return matches }
        return await withCheckedContinuation {
            waiters.append(Waiter(count: count, predicate: predicate, matches: matches, continuation: $0))
        }
    }

    /// The signals recorded so far that match.
    public func all(where predicate: (DBusMessage) -> Bool) -> [DBusMessage] { received.filter(predicate) }

    /// Stops recording.
    public func stop() { task?.cancel() }
}

extension DBusMessage {
    /// Whether this is the signal `interface.member`, from `path` if given.
    public func isSignal(_ interface: String, _ member: String, path: DBusObjectPath? = nil) -> Bool {
        kind == .signal && self.interface == interface && self.member == member && (path == nil || self.path == path)
    }
}
