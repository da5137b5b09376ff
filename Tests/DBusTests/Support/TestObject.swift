// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Synchronization

/// The object most tests export: a few methods that echo, greet, fail, hang and report the caller.
final class TestObject: Sendable {
    static let interfaceName = "org.example.Test"
    static let path = try! DBusObjectPath("/org/example/Test")

    /// NUL, noncharacters, markup and quoting: what a device name might hold.
    static let hostileText =
        "nul\0inside \u{FFFF}\u{FFFE}" + String(Character(Unicode.Scalar(0xFDD0)!)) + " '\"<&> \u{1F600} \u{202E}rtl \n\t"
    /// What a peer receives for ``hostileText``.
    static let hostileTextSent = "nul\u{FFFD}inside \u{FFFD}\u{FFFD}\u{FFFD} '\"<&> \u{1F600} \u{202E}rtl \n\t"

    let name = Mutex("initial")
    /// Yields once for each call of Hang that started, so a test knows the call reached the handler.
    let hangStarted: AsyncStream<Void>
    private let hangContinuation: AsyncStream<Void>.Continuation

    init() {
        (hangStarted, hangContinuation) = AsyncStream<Void>.makeStream()
    }

    var interface: DBusInterface {
        DBusInterface(
            Self.interfaceName,
            methods: [
                DBusMethod("Echo", inputs: [DBusArgument("value", .variant)], outputs: [DBusArgument("value", .variant)]) {
                    call in call.arguments
                },
                DBusMethod(
                    "EchoArray", inputs: [DBusArgument("values", "av")], outputs: [DBusArgument("values", "av")]
                ) { call in call.arguments },
                DBusMethod(
                    "Greet", inputs: [DBusArgument("name", .string), DBusArgument("options", "a{sv}")],
                    outputs: [DBusArgument("greeting", .string)]
                ) { call in
                    let (name, options) = try call.arguments.decode(String.self, [String: DBusValue].self)
                    let punctuation = options["punctuation"]?.string ?? "!"
                    return [.string("Hello, \(name)\(punctuation)")]
                },
                DBusMethod("Bytes", inputs: [DBusArgument("count", .uint32)], outputs: [DBusArgument("bytes", "ay")]) {
                    call in
                    let count = try call.arguments.decode(UInt32.self)
                    return [.array(.byte, (0..<Int(count)).map { .byte(UInt8(truncatingIfNeeded: $0 &* 7)) })]
                },
                DBusMethod("Hostile", outputs: [DBusArgument("text", .string)]) { _ in
                    [.string(Self.hostileText)]
                },
                DBusMethod("Fail") { _ in
                    throw DBusError(name: "org.example.Error.Broken", message: "it broke on purpose")
                },
                DBusMethod("Hang") { [hangContinuation] _ in
                    hangContinuation.yield()
                    try await Task.sleep(for: .seconds(3600))
                    return []
                },
                DBusMethod(
                    "WhoAmI", outputs: [DBusArgument("uid", .uint32), DBusArgument("pid", .uint32)]
                ) { call in
                    let credentials = try await call.callerCredentials()
                    return [.uint32(credentials.uid), .uint32(credentials.pid ?? 0)]
                },
            ],
            properties: [
                DBusProperty("Name", type: .string, get: { [self] in .string(name.withLock { $0 }) }, set: { [self] value in
                    name.withLock { $0 = value.string ?? "" }
                }),
                DBusProperty("Version", type: .uint32, get: { .uint32(7) }),
            ],
            signals: [DBusSignalDeclaration("Poked", arguments: [DBusArgument("who", .string)])]
        )
    }
}

/// A bus with a connection that exports a ``TestObject``.
struct ExportedTestObject {
    let bus: TestBus
    let server: DBusConnection
    let object: TestObject
    let serverName: String

    /// Runs `body` against a fresh bus and exported object, then closes the connection and stops the bus.
    static func with(_ body: (ExportedTestObject) async throws -> Void) async throws {
        try await TestBus.with { bus in
            let server = try await bus.connect("server")
            let object = TestObject()
            do {
                try await server.export([object.interface], at: TestObject.path)
                let fixture = ExportedTestObject(bus: bus, server: server, object: object, serverName: await server.uniqueName)
                try await body(fixture)
                await server.close()
            } catch {
                await server.close()
                throw error
            }
        }
    }
}

extension ExportedTestObject {
    /// A call of Hang from `client`, returned once the object has received it.
    func hangingCall(from client: DBusConnection) async -> Task<[DBusValue], any Error> {
        let call = Task { try await client.callTestObject(self, "Hang", timeout: .seconds(3600)) }
        var started = object.hangStarted.makeAsyncIterator()
        _ = await started.next()
        return call
    }
}

extension DBusConnection {
    /// Calls `member` of the test object that `fixture` exports.
    func callTestObject(
        _ fixture: ExportedTestObject, _ member: String, _ arguments: [DBusValue] = [], timeout: Duration = .seconds(25)
    ) async throws -> [DBusValue] {
        try await call(
            destination: fixture.serverName, path: TestObject.path, interface: TestObject.interfaceName,
            member: member, arguments: arguments, timeout: timeout)
    }
}
