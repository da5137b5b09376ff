// SPDX-License-Identifier: Apache-2.0
import Synchronization

/// A change in the registry, as observers (the bus service, `devsyncctl monitor`) see it, in order.
public enum RegistryEvent: Sendable, Hashable {
    /// A device became present: a new pending device, or a stored one coming back (with its status and owner).
    case arrived(DeviceRecord)
    /// A listed device changed: status, owner, matched properties, or a second source key.
    case changed(DeviceRecord)
    /// A device is no longer present. The record has `present == false`. A pending device is followed by
    /// ``removed(uid:)``, since only stored devices are listed while absent.
    case departed(DeviceRecord)
    /// A device left the registry: a pending device departed, or an absent device was forgotten.
    case removed(uid: String)
    /// A device needs a decision; `suggestedOwner` is the ``OwnerSuggesting`` hook's answer, if any.
    case approvalRequested(uid: String, suggestedOwner: String?)

    /// The uid the event concerns.
    public var uid: String {
        switch self {
        case .arrived(let record), .changed(let record), .departed(let record): record.uid
        case .removed(let uid), .approvalRequested(let uid, _): uid
        }
    }
}

/// Hands every event to every current subscriber, each through its own unbounded `AsyncStream`.
///
/// Unbounded because an observer must never miss a device; the registry's event rate is that of plugging
/// devices in.
final class RegistryEventBroadcast: Sendable {
    private struct Subscribers {
        var next = 0
        var continuations: [Int: AsyncStream<RegistryEvent>.Continuation] = [:]
    }

    private let subscribers = Mutex(Subscribers())

    /// A new stream of every event yielded from now on.
    func subscribe() -> AsyncStream<RegistryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RegistryEvent.self, bufferingPolicy: .unbounded)
        let id = subscribers.withLock { state in
            state.next += 1
            state.continuations[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    /// Gives `event` to every subscriber.
    func yield(_ event: RegistryEvent) {
        for continuation in subscribers.withLock({ Array($0.continuations.values) }) {
            continuation.yield(event)
        }
    }

    /// Ends every subscriber's stream.
    func finish() {
        for continuation in subscribers.withLock({ Array($0.continuations.values) }) {
            continuation.finish()
        }
    }

    /// The number of live subscribers.
    var count: Int { subscribers.withLock { $0.continuations.count } }
}
