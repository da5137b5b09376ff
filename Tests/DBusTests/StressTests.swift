// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Event loop under load")
struct StressTests {
    @Test("hundreds of calls in a row and in parallel all get their replies")
    func manyCalls() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            for index in 0..<300 {
                let reply = try await client.callTestObject(fixture, "Echo", [.variant(.int32(Int32(index)))], timeout: .seconds(5))
                #expect(reply == [.variant(.int32(Int32(index)))])
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        let reply = try await client.call(
                            destination: fixture.serverName, path: TestObject.path,
                            interface: TestObject.interfaceName, member: "Echo",
                            arguments: [.variant(.string(String(repeating: "x", count: index * 10)))],
                            timeout: .seconds(5))
                        #expect(reply.first?.string?.count == index * 10)
                    }
                }
                try await group.waitForAll()
            }
            await client.close()
        }
    }
}

@Suite("Large messages")
struct LargeMessageTests {
    /// 4 MiB: far more than libdbus moves per watch event and more than a socket buffer holds.
    static let size = 4 << 20

    @Test("a 4 MiB byte array and a large a{sv} cross the bus intact, both ways")
    func largeValuesRoundTrip() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            let bytes = (0..<Self.size).map { DBusValue.byte(UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12)) }
            let blob = DBusValue.array(.byte, bytes)
            let dictionary = DBusValue.vardict(
                Dictionary(uniqueKeysWithValues: (0..<20_000).map { index in
                    ("key\(index)", DBusValue.string(String(repeating: Character(Unicode.Scalar(65 + index % 26)!), count: 200)))
                }))
            for value in [blob, dictionary] {
                let reply = try await client.callTestObject(fixture, "Echo", [.variant(value)], timeout: .seconds(60))
                #expect(reply == [.variant(value)])
            }
            await client.close()
        }
    }

    @Test("busctl (sd-bus) reads a 4 MiB reply the binding sends")
    func busctlReadsLargeReply() async throws {
        try await ExportedTestObject.with { fixture in
            let result = try await fixture.bus.busctl(
                "--timeout=60", "call", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "Bytes",
                "u", String(Self.size))
            #expect(result.status == 0, "\(result.stderr)")
            let fields = result.stdout.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields.first == "ay")
            #expect(fields.count == Self.size + 2)
            #expect(fields.dropFirst().first == "\(Self.size)")
            let expected = (0..<Self.size).lazy.map { String(UInt8(truncatingIfNeeded: $0 &* 7)) }
            #expect(fields.dropFirst(2).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.elementsEqual(expected))
        }
    }
}

@Suite("Connecting under load")
struct ConnectStressTests {
    @Test("many connections authenticate and register in parallel")
    func manyConnections() async throws {
        try await TestBus.with { bus in
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let connection = try await bus.connect("c\(index)")
                        let name = await connection.uniqueName
                        await connection.close()
                        return name
                    }
                }
                var names: Set<String> = []
                for try await name in group { names.insert(name) }
                #expect(names.count == 60)
            }
        }
    }
}

@Suite("Activity reports", .serialized)  // both tests set the process's one observer
struct ActivityTests {
    @Test("DBusActivity hears of every call a connection dispatched, those answered on its queue too")
    func activityCountsDispatchedCalls() async throws {
        // Global, and connections of tests running beside this one report too: only a lower bound holds.
        final class Counter: Sendable { let value = Atomic<Int>(0) }
        let counter = Counter()
        DBusActivity.observer = { count in counter.value.add(count, ordering: .relaxed) }
        defer { DBusActivity.observer = nil }
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            let before = counter.value.load(ordering: .relaxed)
            for index in 0..<50 {
                _ = try await client.callTestObject(fixture, "Echo", [.variant(.int32(Int32(index)))])
                // Introspect is answered on the server's queue alone, and counts as well.
                _ = try await client.call(
                    destination: fixture.serverName, path: TestObject.path,
                    interface: "org.freedesktop.DBus.Introspectable", member: "Introspect")
            }
            #expect(counter.value.load(ordering: .relaxed) - before >= 100)
            await client.close()
        }
    }

    @Test("reading the observer gives the closure that was set, not a wrapper that grows with every read")
    func readingLeavesTheObserverAsItWas() {
        // Until the observer was boxed, every read wrapped the stored closure in two more thunk objects (a leak
        // of 96 bytes a report, scattered over devsyncd's heap) and made the next call two frames deeper. The
        // depth is recorded only for this test's sentinel count: connections of other tests report too.
        final class Depth: Sendable { let frames = Atomic<Int>(0) }
        let depth = Depth()
        let sentinel = -13
        DBusActivity.observer = { count in
            if count == sentinel { depth.frames.store(Self.stackDepth(), ordering: .relaxed) }
        }
        defer { DBusActivity.observer = nil }
        DBusActivity.observer?(sentinel)
        let before = depth.frames.load(ordering: .relaxed)
        for _ in 0..<1_000 { _ = DBusActivity.observer }
        DBusActivity.observer?(sentinel)
        #expect(before > 0)
        #expect(depth.frames.load(ordering: .relaxed) == before)
    }

    /// The frames on the calling thread's stack.
    static func stackDepth() -> Int {
        Thread.callStackReturnAddresses.count
    }
}
