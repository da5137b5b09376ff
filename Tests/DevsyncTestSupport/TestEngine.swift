// SPDX-License-Identifier: Apache-2.0
import BusService
import DBus

/// A sync engine on its own connection: exports org.devsync.Engine1, records the Sync and Cancel calls it gets,
/// and emits Progress and Finished when the test says so.
public final class TestEngine: Sendable {
    /// Where the engine object is exported.
    public static let path = try! DBusObjectPath("/org/example/Engine")

    /// One Sync call as the engine received it.
    public struct SyncRequest: Sendable {
        /// The device's uid.
        public var uid: String
        /// The device dictionary the broker passed.
        public var device: [String: DBusValue]
        /// The datatypes to sync.
        public var datatypes: [String]
        /// The job object from the options' `job` entry.
        public var job: DBusObjectPath
    }

    /// The engine's own connection.
    public let connection: DBusConnection
    /// Every Sync call, in order.
    public let syncs: AsyncStream<SyncRequest>
    /// Every Cancel call's job, in order.
    public let cancels: AsyncStream<DBusObjectPath>

    private init(connection: DBusConnection, syncs: AsyncStream<SyncRequest>, cancels: AsyncStream<DBusObjectPath>) {
        self.connection = connection
        self.syncs = syncs
        self.cancels = cancels
    }

    /// Connects to `bus`, exports the engine object and registers it for `plugins`. With `finishOnCancel`, a Cancel
    /// call emits the job's Finished (failed, "cancelled") before it replies, as an engine may.
    public static func start(
        on bus: TestBus, plugins: [String] = ["palm-sync"], datatypes: [String] = [], finishOnCancel: Bool = false
    ) async throws -> TestEngine {
        let connection = try await bus.connect("engine")
        let (syncs, syncContinuation) = AsyncStream<SyncRequest>.makeStream()
        let (cancels, cancelContinuation) = AsyncStream<DBusObjectPath>.makeStream()
        let interface = DBusInterface(
            BrokerContract.engineInterface,
            methods: [
                DBusMethod(
                    "Sync",
                    inputs: [
                        DBusArgument("uid", .string), DBusArgument("device", "a{sv}"), DBusArgument("datatypes", "as"),
                        DBusArgument("options", "a{sv}"),
                    ]
                ) { call in
                    let arguments = call.arguments
                    syncContinuation.yield(SyncRequest(
                        uid: arguments[0].string ?? "", device: arguments[1].stringDictionary ?? [:],
                        datatypes: arguments[2].arrayElements?.compactMap(\.string) ?? [],
                        job: arguments[3]["job"]?.objectPath ?? .root))
                    return []
                },
                DBusMethod("Cancel", inputs: [DBusArgument("job", .objectPath)]) { call in
                    guard let job = call.arguments[0].objectPath else { return [] }
                    if finishOnCancel {
                        try await connection.emit(DBusSignalEmission(
                            path: path, interface: BrokerContract.engineInterface, member: "Finished",
                            arguments: [.objectPath(job), .bool(false), .string("cancelled")]))
                    }
                    cancelContinuation.yield(job)
                    return []
                },
            ],
            signals: [
                DBusSignalDeclaration("Progress", arguments: [DBusArgument("job", .objectPath), DBusArgument("fraction", .double), DBusArgument("message", .string)]),
                DBusSignalDeclaration("Finished", arguments: [DBusArgument("job", .objectPath), DBusArgument("success", .boolean), DBusArgument("error", .string)]),
            ])
        try await connection.export([interface], at: path)
        _ = try await connection.call(
            destination: BrokerContract.busName, path: BrokerContract.managerPath,
            interface: BrokerContract.managerInterface, member: "RegisterEngine",
            arguments: [.objectPath(path), .strings(plugins), .strings(datatypes)])
        return TestEngine(connection: connection, syncs: syncs, cancels: cancels)
    }

    /// The next Sync call.
    public func nextSync() async -> SyncRequest? {
        var iterator = syncs.makeAsyncIterator()
        return await iterator.next()
    }

    /// Emits Progress for `job`.
    public func progress(_ job: DBusObjectPath, _ fraction: Double, _ message: String) async throws {
        try await connection.emit(DBusSignalEmission(
            path: Self.path, interface: BrokerContract.engineInterface, member: "Progress",
            arguments: [.objectPath(job), .double(fraction), .string(message)]))
    }

    /// Emits Finished for `job`.
    public func finished(_ job: DBusObjectPath, success: Bool, error: String = "") async throws {
        try await connection.emit(DBusSignalEmission(
            path: Self.path, interface: BrokerContract.engineInterface, member: "Finished",
            arguments: [.objectPath(job), .bool(success), .string(error)]))
    }
}
