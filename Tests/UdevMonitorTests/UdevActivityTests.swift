// SPDX-License-Identifier: Apache-2.0
import Foundation
import Synchronization
import Testing
import UdevMonitor

@Suite("Uevent activity reports")
struct UdevActivityTests {
    @Test("reading the observer gives the closure that was set, not a wrapper that grows with every read")
    func readingLeavesTheObserverAsItWas() {
        // Stored unboxed, every read wrapped the closure in two more thunk objects: 96 bytes leaked per report
        // and the next call two frames deeper (a stack overflow after a long enough uptime). The depth is
        // recorded for this test's sentinel count only: sources of other tests may report meanwhile.
        final class Depth: Sendable { let frames = Atomic<Int>(0) }
        let depth = Depth()
        let sentinel = -13
        UdevActivity.observer = { count in
            if count == sentinel { depth.frames.store(Thread.callStackReturnAddresses.count, ordering: .relaxed) }
        }
        defer { UdevActivity.observer = nil }
        UdevActivity.observer?(sentinel)
        let before = depth.frames.load(ordering: .relaxed)
        for _ in 0..<1_000 { _ = UdevActivity.observer }
        UdevActivity.observer?(sentinel)
        #expect(before > 0)
        #expect(depth.frames.load(ordering: .relaxed) == before)
    }
}
