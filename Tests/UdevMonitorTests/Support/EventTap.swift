// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// Collects a source's events so a test can wait for the n-th one.
///
/// Waiting has a generous guard so that a missing event fails the test instead of hanging it; nothing asserts
/// on time. "Nothing else happened" is proved with a marker device: its arrival comes after everything before.
actor EventTap {
    private(set) var events: [SourceEvent] = []
    private var waiters: [Int: (count: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
    private var nextWaiter = 0

    init(_ stream: AsyncStream<SourceEvent>) {
        Task { await self.consume(stream) }
    }

    private func consume(_ stream: AsyncStream<SourceEvent>) async {
        for await event in stream {
            events.append(event)
            for (id, waiter) in waiters where waiter.count <= events.count { release(id) }
        }
    }

    /// The first `count` events, once that many have come (or what came, if the guard ran out).
    func first(_ count: Int, guardSeconds: Int = 30) async -> [SourceEvent] {
        if events.count < count {
            let id = nextWaiter
            nextWaiter += 1
            let timeout = Task {
                // A cancelled sleep means the events came: release nothing then.
                guard (try? await Task.sleep(for: .seconds(guardSeconds))) != nil else { return }
                self.release(id)
            }
            await withCheckedContinuation { waiters[id] = (count, $0) }
            timeout.cancel()
        }
        return Array(events.prefix(count))
    }

    /// Every event up to and including the first that satisfies `isLast` (or what came, if the guard ran out).
    func through(_ isLast: @escaping @Sendable (SourceEvent) -> Bool, guardSeconds: Int = 30) async -> [SourceEvent] {
        var count = 1
        while true {
            let events = await first(count, guardSeconds: guardSeconds)
            if events.count < count { return events }
            if isLast(events[count - 1]) { return events }
            count += 1
        }
    }

    private func release(_ id: Int) {
        waiters.removeValue(forKey: id)?.continuation.resume()
    }
}

extension SourceEvent {
    /// The source key the event is about.
    var sourceKey: String {
        switch self {
        case .arrived(let observation), .changed(let observation): observation.sourceKey
        case .departed(_, let sourceKey): sourceKey
        }
    }

    /// The observation, for an arrival or change.
    var observation: DeviceObservation? {
        switch self {
        case .arrived(let observation), .changed(let observation): observation
        case .departed: nil
        }
    }

    var isArrival: Bool { if case .arrived = self { true } else { false } }
    var isChange: Bool { if case .changed = self { true } else { false } }
    var isDeparture: Bool { if case .departed = self { true } else { false } }
}
