// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Testing

@Suite("Calling methods and receiving signals")
struct ClientTests {
    static let samples: [DBusValue] = [
        .byte(255), .bool(true), .int16(-3), .uint16(65535), .int32(-7), .uint32(7), .int64(.min), .uint64(.max),
        .double(2.5), .string("plain"), .objectPath(try! DBusObjectPath("/a/b")), .signature(try! DBusSignature("a{sv}")),
        .array(.string, []), .dictionary(key: .string, value: .variant, [:]), .array(.array(.int32), [.array(.int32, [])]),
        .strings(["x", "y"]), .vardict(["n": .int32(1), "nested": .vardict(["deep": .bool(false)])]),
        .dictionary(key: .uint32, value: .objectPath, [.uint32(1): .objectPath(.root)]),
        .structure([.int32(1), .string("two"), .array(.byte, [.byte(3)])]),
        .variant(.variant(.string("double-wrapped"))),
    ]

    @Test("every kind of value survives a round trip through a real bus", arguments: samples)
    func roundTrip(value: DBusValue) async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            let reply = try await client.callTestObject(fixture, "Echo", [.variant(value)])
            #expect(reply == [.variant(value)])
            // A body with an array is decoded from its bytes in Swift, on both ends; the rest by libdbus's iterator.
            let inArray = try await client.callTestObject(fixture, "EchoArray", [.array(.variant, [.variant(value), .variant(.byte(1))])])
            #expect(inArray == [.array(.variant, [.variant(value), .variant(.byte(1))])])
            await client.close()
        }
    }

    @Test("hostile strings arrive valid, NUL and noncharacters replaced by U+FFFD")
    func hostileStrings() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            let reply = try await client.callTestObject(fixture, "Echo", [.variant(.string(TestObject.hostileText))])
            #expect(reply.first?.string == TestObject.hostileTextSent)
            #expect(reply.first?.string?.unicodeScalars.contains("\0") == false)
            // sd-bus validates strings strictly; busctl must accept the reply.
            let result = try await fixture.bus.busctl(
                "--json=short", "call", fixture.serverName, TestObject.path.rawValue, TestObject.interfaceName,
                "Hostile")
            #expect(result.status == 0, "\(result.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect((json?["data"] as? [String])?.first == TestObject.hostileTextSent)
            await client.close()
        }
    }

    @Test("a Unix file descriptor passes through the bus and stays usable")
    func unixFileDescriptor() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            var ends: [Int32] = [0, 0]
            #expect(pipe(&ends) == 0)
            let readEnd = DBusUnixFD(taking: ends[0])
            let writeEnd = DBusUnixFD(taking: ends[1])
            let reply = try await client.callTestObject(fixture, "Echo", [.variant(.unixFD(writeEnd))])
            guard case .variant(.unixFD(let received)) = reply.first else {
                Issue.record("expected a file descriptor, got \(reply)")
                return
            }
            #expect(received.fileDescriptor != writeEnd.fileDescriptor)
            #expect(write(received.fileDescriptor, "hi", 2) == 2)
            var buffer = [UInt8](repeating: 0, count: 2)
            #expect(read(readEnd.fileDescriptor, &buffer, 2) == 2)
            #expect(buffer == Array("hi".utf8))
            await client.close()
        }
    }

    @Test("a call that gets no answer times out with NoReply")
    func timeout() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            await #expect {
                _ = try await client.callTestObject(fixture, "Hang", timeout: .milliseconds(200))
            } throws: { ($0 as? DBusError)?.name == DBusError.Name.noReply }
            // The connection still works afterwards.
            let reply = try await client.callTestObject(fixture, "Echo", [.variant(.int32(1))])
            #expect(reply == [.variant(.int32(1))])
            await client.close()
        }
    }

    @Test("cancelling the calling task abandons the pending call")
    func cancellation() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            let call = await fixture.hangingCall(from: client)
            call.cancel()
            await #expect(throws: CancellationError.self) { try await call.value }
            await client.close()
        }
    }

    @Test("a task cancelled before calling fails at once")
    func cancelledBeforeCall() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            let call = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.callTestObject(fixture, "Hang", timeout: .seconds(3600))
            }
            await #expect(throws: CancellationError.self) { try await call.value }
            await client.close()
        }
    }

    @Test("closing the connection fails calls in flight with Disconnected")
    func closeFailsPendingCalls() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            let call = await fixture.hangingCall(from: client)
            await client.close()
            await #expect { try await call.value } throws: { ($0 as? DBusError)?.name == DBusError.Name.disconnected }
        }
    }

    @Test("signals are delivered only to the subscription whose rule matches")
    func signalSubscription() async throws {
        try await ExportedTestObject.with { fixture in
            let listener = try await fixture.bus.connect("listener")
            let poked = try await listener.signals(
                matching: DBusMatchRule(sender: fixture.serverName, interface: TestObject.interfaceName, member: "Poked"))
            let other = try await listener.signals(
                matching: DBusMatchRule(interface: TestObject.interfaceName, member: "Other"))
            try await fixture.server.emit(DBusSignalEmission(
                path: TestObject.path, interface: TestObject.interfaceName, member: "Poked", arguments: ["me"]))
            try await fixture.server.emit(DBusSignalEmission(
                path: TestObject.path, interface: TestObject.interfaceName, member: "Other", arguments: ["other"]))
            var pokes = poked.makeAsyncIterator()
            let signal = try #require(await pokes.next())
            #expect(signal.member == "Poked")
            #expect(signal.arguments == ["me"])
            #expect(signal.sender == fixture.serverName)
            #expect(signal.path == TestObject.path)
            var others = other.makeAsyncIterator()
            #expect(await others.next()?.arguments == ["other"])
            await listener.close()
            // Closing finishes the streams.
            #expect(await pokes.next() == nil)
        }
    }

    @Test("emitted signals carry every kind of value, a fresh serial each, and reach only a unicast destination")
    func signalSerialsAndValues() async throws {
        try await ExportedTestObject.with { fixture in
            let listener = try await fixture.bus.connect("listener")
            let bystander = try await fixture.bus.connect("bystander")
            let rule = DBusMatchRule(sender: fixture.serverName, interface: TestObject.interfaceName, member: "Poked")
            let received = try await listener.signals(matching: rule)
            let overheard = try await bystander.signals(matching: rule)
            let values: [DBusValue] = [
                .byte(7), .bool(true), .int16(-2), .uint16(3), .int32(-4), .uint32(5), .int64(-6), .uint64(7),
                .double(0.5), .string("caf\u{E9}"), .objectPath(TestObject.path),
                .strings(["a", ""]), .structure([.string("s"), .int64(1)]),
                .dictionary(key: .string, value: .variant, ["k": .variant(.array(.byte, [.byte(1)]))]),
                .array(.structure([.int32, .string]), []),
            ]
            for _ in 0..<3 {
                try await fixture.server.emit(DBusSignalEmission(
                    path: TestObject.path, interface: TestObject.interfaceName, member: "Poked", arguments: values))
            }
            try await fixture.server.emit(DBusSignalEmission(
                path: TestObject.path, interface: TestObject.interfaceName, member: "Poked", arguments: ["to you"],
                destination: await listener.uniqueName))
            try await fixture.server.emit(DBusSignalEmission(
                path: TestObject.path, interface: TestObject.interfaceName, member: "Poked", arguments: ["to all"]))
            var iterator = received.makeAsyncIterator()
            var serials: [UInt32] = []
            for _ in 0..<3 {
                let signal = try #require(await iterator.next())
                #expect(signal.arguments == values)
                #expect(signal.signature == values.map(\.signature).joined())
                serials.append(signal.serial)
            }
            #expect(await iterator.next()?.arguments == ["to you"])
            #expect(await iterator.next()?.arguments == ["to all"])
            #expect(!serials.contains(0))
            #expect(serials == serials.sorted() && Set(serials).count == 3)
            var others = overheard.makeAsyncIterator()
            for _ in 0..<3 { _ = await others.next() }
            #expect(await others.next()?.arguments == ["to all"])
            await listener.close()
            await bystander.close()
        }
    }

    @Test("a subscription to a well-known sender ignores the same signal from other connections")
    func wellKnownSender() async throws {
        try await TestBus.with { bus in
            let owner = try await bus.connect("owner")
            let impostor = try await bus.connect("impostor")
            let listener = try await bus.connect("listener")
            try await owner.requestName("org.example.Owner")
            let signals = try await listener.signals(
                matching: DBusMatchRule(sender: "org.example.Owner", interface: "org.example.Signals"))
            let path = try DBusObjectPath("/s")
            try await impostor.emit(DBusSignalEmission(path: path, interface: "org.example.Signals", member: "Hello", arguments: ["impostor"]))
            // A round trip through the bus orders the impostor's signal before the owner's.
            _ = try await impostor.nameOwner(of: "org.example.Owner")
            try await owner.emit(DBusSignalEmission(path: path, interface: "org.example.Signals", member: "Hello", arguments: ["owner"]))
            var iterator = signals.makeAsyncIterator()
            #expect(await iterator.next()?.arguments == ["owner"])
            await owner.close()
            await impostor.close()
            await listener.close()
        }
    }

    @Test("a connection notices when the bus goes away")
    func busGoesAway() async throws {
        let bus = try await TestBus.start()
        let connection = try await bus.connect("orphan")
        let waiter = Task { await connection.waitUntilClosed() }
        await bus.stopAndWait()
        await waiter.value
        #expect(await connection.isConnected == false)
        await #expect { _ = try await connection.nameOwner(of: "org.example.Any") } throws: {
            ($0 as? DBusError)?.name == DBusError.Name.disconnected
        }
    }

    @Test("gdbus sees a signal the binding emits")
    func gdbusSeesSignal() async throws {
        try await ExportedTestObject.with { fixture in
            // gdbus monitor has no exit condition, so a second binding connection stands in and busctl emits too.
            let listener = try await fixture.bus.connect("listener")
            let signals = try await listener.signals(matching: DBusMatchRule(interface: "org.example.Busctl"))
            let emitted = try await fixture.bus.busctl("emit", "/x", "org.example.Busctl", "Hello", "s", "from busctl")
            #expect(emitted.status == 0, "\(emitted.stderr)")
            var iterator = signals.makeAsyncIterator()
            #expect(await iterator.next()?.arguments == ["from busctl"])
            await listener.close()
        }
    }

    @Test("values a method cannot marshal are refused before sending")
    func invalidValuesRefused() async throws {
        try await ExportedTestObject.with { fixture in
            let client = try await fixture.bus.connect("client")
            await #expect(throws: DBusError.self) {
                _ = try await client.callTestObject(fixture, "Echo", [.array(.string, [.int32(1)])])
            }
            await #expect(throws: DBusError.self) {
                _ = try await client.call(
                    destination: "not a bus name", path: TestObject.path, interface: TestObject.interfaceName,
                    member: "Echo")
            }
            await #expect(throws: DBusError.self) {
                _ = try await client.call(
                    destination: fixture.serverName, path: TestObject.path, interface: "bad", member: "Echo")
            }
            await client.close()
        }
    }
}
