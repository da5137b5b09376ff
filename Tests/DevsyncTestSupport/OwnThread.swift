// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Runs `body` on a thread of its own and returns its result, for test code that has to block (waiting for a
/// child process, a blocking read).
///
/// Swift Testing runs every test, synchronous ones included, on Swift's cooperative pool, which has one thread
/// per core: two on the CI machine. A test that blocks a pool thread takes it away from every other test for as
/// long as it waits; two such tests at once stop the whole run, and under load that lasts long enough for timers
/// in tests that were merely never scheduled to fire (an SDP lookup's 30 s bound before its fake server's task
/// ever ran). Keep `#expect` out of `body`: a plain thread is outside the test, so assert on what it returns.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
