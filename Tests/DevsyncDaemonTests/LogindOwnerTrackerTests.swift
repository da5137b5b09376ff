// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry
import DevsyncDaemon
import DevsyncTestSupport
import Foundation
import Logging
import Testing

private func tracker() -> LogindOwnerTracker {
    var logger = Logger(label: "test.logind")
    logger.logLevel = ProcessInfo.processInfo.environment["DEVSYNC_TEST_LOG"] == nil ? .critical : .trace
    return LogindOwnerTracker(logger: logger)
}

/// Waits (up to 20 s, generous for a loaded machine) until the tracker reports `expected`.
private func eventually(_ tracker: LogindOwnerTracker, is expected: LogindOwnerTracker.Status) async -> Bool {
    for _ in 0..<1000 {
        if tracker.status == expected { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}

private let device = DeviceRecord(
    uid: "usb-0830-0061-X", vendor: "Palm", model: "Treo", kind: "pda", transport: .usb, plugin: "palm-sync",
    datatypes: [], owner: nil, status: .pending, present: true, stableId: true, firstSeen: 0, lastSeen: 0,
    profile: nil, properties: [:], sourceKeys: [])

/// Runs the tracker on its own connection to `bus` for the duration of `body`.
private func following<T>(
    _ bus: TestBus, _ body: (LogindOwnerTracker) async throws -> T
) async throws -> T {
    let connection = try await bus.connect("tracker")
    let tracker = tracker()
    let task = Task { try await tracker.run(on: connection) }
    defer {
        task.cancel()
        Task { await connection.close() }
    }
    return try await body(tracker)
}

@Suite("Owner from logind")
struct LogindOwnerTrackerTests {
    @Test("the active session's user is the suggested owner")
    func activeUser() async throws {
        try await TestBus.with { bus in
            let logind = try await LogindMock(on: bus)
            try await logind.addActiveSession("c1", uid: 0, user: "root")
            try await following(bus) { tracker in
                #expect(await eventually(tracker, is: .active(user: "root")))
                #expect(tracker.suggestedOwner(for: device) == "root")
            }
            await logind.stop()
        }
    }

    @Test("waitForFirstAnswer returns once logind has been asked, with the answer in place")
    func firstAnswer() async throws {
        try await TestBus.with { bus in
            let logind = try await LogindMock(on: bus)
            try await logind.addActiveSession("c1", uid: 0, user: "root")
            try await following(bus) { tracker in
                await tracker.waitForFirstAnswer()
                #expect(tracker.status == .active(user: "root"))
                // Later calls return at once.
                await tracker.waitForFirstAnswer()
            }
            await logind.stop()
        }
    }

    @Test("waitForFirstAnswer returns when logind is absent, and when the tracker stops before asking")
    func firstAnswerWithoutLogind() async throws {
        try await TestBus.with { bus in
            try await following(bus) { tracker in
                await tracker.waitForFirstAnswer()
                #expect(tracker.status == .absent)
            }
            let connection = try await bus.connect("closed")
            await connection.close()
            let stopped = tracker()
            _ = try? await stopped.run(on: connection)
            await stopped.waitForFirstAnswer()
            #expect(stopped.status == .unknown)
        }
    }

    @Test("switching the active session changes the suggestion")
    func switchingSessions() async throws {
        try await TestBus.with { bus in
            let logind = try await LogindMock(on: bus)
            try await logind.addActiveSession("c1", uid: 0, user: "root")
            try await following(bus) { tracker in
                #expect(await eventually(tracker, is: .active(user: "root")))
                try await logind.addActiveSession("c2", uid: 65534, user: "nobody")
                #expect(await eventually(tracker, is: .active(user: "nobody")))
                #expect(tracker.suggestedOwner(for: device) == "nobody")
            }
            await logind.stop()
        }
    }

    @Test("without logind there is no suggestion; when logind appears later, its active user is suggested")
    func logindLater() async throws {
        try await TestBus.with { bus in
            try await following(bus) { tracker in
                #expect(await eventually(tracker, is: .absent))
                #expect(tracker.suggestedOwner(for: device) == nil)
                let logind = try await LogindMock(on: bus)
                try await logind.addActiveSession("c1", uid: 65534, user: "nobody")
                #expect(await eventually(tracker, is: .active(user: "nobody")))
                #expect(tracker.suggestedOwner(for: device) == "nobody")
                await logind.stop()
            }
        }
    }

    @Test("when logind goes away the suggestion goes with it")
    func logindGone() async throws {
        try await TestBus.with { bus in
            let logind = try await LogindMock(on: bus)
            try await logind.addActiveSession("c1", uid: 0, user: "root")
            try await following(bus) { tracker in
                #expect(await eventually(tracker, is: .active(user: "root")))
                await logind.stop()
                #expect(await eventually(tracker, is: .absent))
                #expect(tracker.suggestedOwner(for: device) == nil)
            }
        }
    }

    @Test("logind without an active session on seat0 gives no suggestion, until a session starts")
    func noSession() async throws {
        try await TestBus.with { bus in
            let logind = try await LogindMock(on: bus)
            try await following(bus) { tracker in
                #expect(await eventually(tracker, is: .noActiveSession), "the template has no seat0 until a session is added")
                #expect(tracker.suggestedOwner(for: device) == nil)
                try await logind.addActiveSession("c1", uid: 0, user: "root")
                #expect(await eventually(tracker, is: .active(user: "root")))
            }
            await logind.stop()
        }
    }
}
