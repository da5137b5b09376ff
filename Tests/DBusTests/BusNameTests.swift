// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Logging
import Testing

@Suite("Bus names and caller credentials")
struct BusNameTests {
    @Test("a taken name is refused with a clear error")
    func nameTaken() async throws {
        try await TestBus.with { bus in
            let first = try await bus.connect("first")
            let second = try await bus.connect("second")
            try await first.requestName("org.example.Taken")
            #expect(try await second.nameOwner(of: "org.example.Taken") == (await first.uniqueName))
            do {
                try await second.requestName("org.example.Taken")
                Issue.record("the second request should fail")
            } catch let error as DBusError {
                #expect(error.name == DBusError.Name.nameTaken)
                #expect(error.message == "the name org.example.Taken is already owned by another process")
            }
            await first.close()
            await second.close()
        }
    }

    @Test("NameOwnerChanged is seen when the owner disconnects, and the name is free again")
    func ownerChanges() async throws {
        try await TestBus.with { bus in
            let watcher = try await bus.connect("watcher")
            let changes = try await watcher.nameOwnerChanges(of: "org.example.Peer")
            var iterator = changes.makeAsyncIterator()
            let peer = try await bus.connect("peer")
            let peerName = await peer.uniqueName
            try await peer.requestName("org.example.Peer")
            #expect(await iterator.next() == DBusNameOwnerChange(name: "org.example.Peer", oldOwner: nil, newOwner: peerName))
            await peer.close()
            #expect(await iterator.next() == DBusNameOwnerChange(name: "org.example.Peer", oldOwner: peerName, newOwner: nil))
            #expect(try await watcher.nameOwner(of: "org.example.Peer") == nil)
            await watcher.close()
        }
    }

    @Test("the caller's uid and pid are the calling process's")
    func callerCredentials() async throws {
        try await ExportedTestObject.with { fixture in
            let result = try await fixture.bus.busctl(
                "call", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName, "WhoAmI")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "uu \(getuid()) \(result.pid)\n")
            let client = try await fixture.bus.connect("client")
            let credentials = try await fixture.server.credentials(of: await client.uniqueName)
            #expect(credentials == DBusCredentials(uid: getuid(), pid: UInt32(getpid())))
            await client.close()
        }
    }

    @Test("credentials of a peer that left cannot be looked up")
    func credentialsOfGonePeer() async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let peer = try await bus.connect("peer")
            let peerName = await peer.uniqueName
            #expect(try await server.credentials(of: peerName).uid == getuid())
            let changes = try await server.nameOwnerChanges(of: peerName)
            await peer.close()
            var iterator = changes.makeAsyncIterator()
            #expect(await iterator.next()?.newOwner == nil)
            await #expect { _ = try await server.credentials(of: peerName) } throws: {
                ($0 as? DBusError)?.name == DBusError.Name.nameHasNoOwner
            }
            await server.close()
        }
    }

    @Test("a bad address is an error, not a crash")
    func badAddress() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        await #expect(throws: DBusError.self) {
            _ = try await DBusConnection.connect(to: "nonsense", logger: logger)
        }
        await #expect(throws: DBusError.self) {
            _ = try await DBusConnection.connect(to: "unix:path=/nonexistent/socket", logger: logger)
        }
    }
}
