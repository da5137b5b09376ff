// SPDX-License-Identifier: Apache-2.0
import DBus
import DevsyncTestSupport
import Foundation
import Logging
import Synchronization

/// The environment every helper process gets: this process's, without umockdev's preload, so that only
/// devsyncd sees the testbed (a dbus-daemon or busctl under the preload would read the fake /sys for nothing).
func plainEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["LD_PRELOAD"] = nil
    environment["UMOCKDEV_DIR"] = nil
    return environment
}

/// The repository root, where `fdi-profiles/` lives.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh directory under /tmp, removed by the caller.
func temporaryDirectory(_ label: String) throws -> URL {
    let url = URL(fileURLWithPath: "/tmp/devsync-e2e-\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "gave up waiting for \(what)" }
}

/// The first message `stream` delivers (nil if it ends first), waited for with `waiting`'s bound.
@discardableResult
func first(_ what: String, of stream: AsyncStream<DBusMessage>) async throws -> DBusMessage? {
    try await waiting(for: what) { () async -> DBusMessage? in
        for await message in stream { return message }
        return nil
    }
}

/// Runs `body`, giving up after a generous bound so that a broken daemon fails the test instead of hanging it.
/// The bound is a safety net, not a measurement: nothing asserts how long anything took.
func waiting<T: Sendable>(for what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(60))
            return nil
        }
        defer { group.cancelAll() }
        guard let result = try await group.next(), let value = result else { throw TimedOut(what: what) }
        return value
    }
}

/// A dbusmock template (`logind`, `polkitd`) on a test bus, killed with SIGKILL when the test says so.
final class BusMock: @unchecked Sendable {  // immutable after init
    private let process: Process

    private init(process: Process) { self.process = process }

    /// Starts `template` on `bus` and waits until it owns `name`.
    static func start(_ template: String, owning name: String, on bus: TestBus, watching client: DBusConnection) async throws -> BusMock {
        let changes = try await client.nameOwnerChanges(of: name)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-m", "dbusmock", "--template", template]
        var environment = plainEnvironment()
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ChildProcess.run(process)
        let mock = BusMock(process: process)
        if try await client.nameOwner(of: name) == nil {
            try await waiting(for: "\(template) mock to own \(name)") {
                for await change in changes where change.newOwner != nil { return }
            }
        }
        return mock
    }

    /// Kills the mock at once, as a crashing service would go.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }

    deinit { kill() }
}

/// A built program of the package (`devsyncd`, `devsyncctl`), next to the test bundle in the build directory.
func builtProgram(_ name: String) throws -> URL {
    let candidates = [
        Bundle.main.bundleURL.deletingLastPathComponent(),
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        Bundle.main.bundleURL,
    ]
    for directory in candidates {
        let url = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "\(name) next to \(candidates)"])
}

/// The built `devsyncd`.
func devsyncdBinary() throws -> URL { try builtProgram("devsyncd") }

/// A child process of a test whose output goes to a file: its exit can be awaited, it can be signalled, and it is
/// killed when the test lets go of it. devsyncd and the reference engine are the two kinds.
class LoggedProcess: @unchecked Sendable {  // immutable after init
    let process: Process
    let logFile: URL
    /// What it is, for the message when waiting for its exit gives up.
    private let what: String
    private let exitStatus = ExitStatus()

    /// Starts `executable`; its stderr (and its stdout if `capturesStandardOutput`) goes to a new file in
    /// `logDirectory` named after `label`.
    init(_ executable: URL, _ arguments: [String], environment: [String: String], label: String, what: String,
         capturesStandardOutput: Bool, logDirectory: URL) throws {
        logFile = logDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(6)).log")
        self.what = what
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = capturesStandardOutput ? log : FileHandle.nullDevice
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [exitStatus] process in exitStatus.set(process.terminationStatus) }
        try ChildProcess.run(process)
        try log.close()
    }

    /// What it has written to its log file so far.
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Waits for it to exit and returns its status.
    func exited() async throws -> Int32 {
        let status = exitStatus
        return try await waiting(for: "\(what) to exit") {
            guard let value = await status.value() else { throw CancellationError() }
            return value
        }
    }

    /// Sends `signal` to it.
    func send(_ signal: Int32) { Foundation.kill(process.processIdentifier, signal) }

    /// Waits until its log holds `text` at least `count` times (a line it writes once some work is done, such as
    /// a reload's summary), looking again every 50 ms under `waiting`'s bound.
    func waitForLog(_ text: String, count: Int = 1) async throws {
        let logFile = logFile
        _ = try await waiting(for: "\(count) × \"\(text)\" in the log of \(what)") { () async throws -> Bool in
            while true {
                let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                if log.components(separatedBy: text).count - 1 >= count { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Asks it to stop (SIGTERM) and returns its exit status.
    func stop() async throws -> Int32 {
        send(SIGTERM)
        return try await exited()
    }

    /// Makes sure nothing outlives the test.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }

    deinit { kill() }
}

/// One devsyncd process under umockdev's preload, seeing the test's testbed; its stderr goes to a file.
final class DaemonProcess: LoggedProcess, @unchecked Sendable {  // immutable after init
    /// Starts devsyncd with `arguments`; the testbed must exist (it sets UMOCKDEV_DIR in this process).
    init(_ arguments: [String], bus: TestBus, logDirectory: URL) throws {
        var environment = plainEnvironment()
        environment["LD_PRELOAD"] = "libumockdev-preload.so.0"
        environment["UMOCKDEV_DIR"] = String(cString: getenv("UMOCKDEV_DIR"))
        // logind and polkit are looked for on the "system" bus: the test bus, never the host's.
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        try super.init(try devsyncdBinary(), arguments, environment: environment, label: "devsyncd", what: "devsyncd",
                       capturesStandardOutput: false, logDirectory: logDirectory)
    }
}

/// examples/reference-engine run by Debian's python3 (which has python3-gi) on the test bus; its output goes to a file.
final class ReferenceEngineProcess: LoggedProcess, @unchecked Sendable {  // immutable after init
    static let script = repositoryRoot.appendingPathComponent("examples/reference-engine/reference-engine.py")

    /// Starts the engine with `arguments` (after `--bus`), as the test's user.
    init(_ arguments: [String], bus: TestBus, logDirectory: URL) throws {
        try super.init(URL(fileURLWithPath: "/usr/bin/python3"), [Self.script.path, "--bus", bus.address] + arguments,
                       environment: plainEnvironment(), label: "engine", what: "the reference engine",
                       capturesStandardOutput: true, logDirectory: logDirectory)
    }

    /// What the engine has printed so far.
    var output: String { log }
}

/// A process's exit status, awaited by any number of tasks; a cancelled waiter gets nil at once (unlike
/// `Task.value`, which would keep a cancelled task group waiting for a process that never exits).
final class ExitStatus: Sendable {
    private struct State {
        var status: Int32?
        var next = 0
        var waiters: [Int: CheckedContinuation<Int32?, Never>] = [:]
    }

    private let state = Mutex(State())

    func set(_ status: Int32) {
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume(returning: status) }
    }

    func value() async -> Int32? {
        let id = state.withLock { state in
            state.next += 1
            return state.next
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: Int32?? = state.withLock { state in
                    if let status = state.status { return .some(status) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}

/// Starts devsyncd on `bus` with the shipped profiles (unless `shippedProfiles` is false), then `profiles` (and
/// `extraArguments`) and returns once it owns org.devsync.Broker1 — its readiness, as systemd's Type=dbus sees it.
func startDaemon(
    on bus: TestBus, client: DBusConnection, state: URL, profiles: [URL] = [], shippedProfiles: Bool = true,
    extraArguments: [String] = [], busArgument: String? = nil
) async throws -> DaemonProcess {
    let changes = try await client.nameOwnerChanges(of: Broker.name)
    let profileArguments = ((shippedProfiles ? [repositoryRoot.appendingPathComponent("fdi-profiles")] : []) + profiles)
        .flatMap { ["--profiles", $0.path] }
    let daemon = try DaemonProcess(
        ["--bus", busArgument ?? bus.address, "--state-dir", state.path, "--log-level", "debug"] + profileArguments
            + extraArguments,
        bus: bus, logDirectory: state.deletingLastPathComponent())
    let ready = try await waiting(for: "devsyncd to own \(Broker.name)") { () async throws -> Bool in
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await change in changes where change.newOwner?.isEmpty == false { return true }
                return false
            }
            group.addTask {
                _ = try await daemon.exited()
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }
    if !ready {
        daemon.kill()
        throw DBusError(name: "org.devsync.Test.Error", message: "devsyncd did not become ready:\n\(daemon.log)")
    }
    return daemon
}

/// The broker's names, and typed reads of its objects through a client connection.
enum Broker {
    static let name = "org.devsync.Broker1"
    static let managerPath = try! DBusObjectPath("/org/devsync/Broker1")
    static let manager = "org.devsync.Broker1.Manager"
    static let device = "org.devsync.Broker1.Device"

    /// ListDevices' paths.
    static func devices(_ client: DBusConnection) async throws -> [DBusObjectPath] {
        let reply = try await client.call(destination: name, path: managerPath, interface: manager, member: "ListDevices")
        return reply.first?.arrayElements?.compactMap(\.objectPath) ?? []
    }

    /// DeviceByUid.
    static func device(uid: String, _ client: DBusConnection) async throws -> DBusObjectPath {
        let reply = try await client.call(
            destination: name, path: managerPath, interface: manager, member: "DeviceByUid", arguments: [.string(uid)])
        guard let path = reply.first?.objectPath else { throw TimedOut(what: "a device path in DeviceByUid's reply") }
        return path
    }

    /// One property of a device object.
    static func property(_ property: String, of path: DBusObjectPath, _ client: DBusConnection) async throws -> DBusValue {
        let reply = try await client.call(
            destination: name, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string(device), .string(property)])
        return reply.first?.unwrapped ?? .string("")
    }

    /// A stream of the Manager's `member` signals, subscribed before the test acts.
    static func signals(_ member: String, _ client: DBusConnection) async throws -> AsyncStream<DBusMessage> {
        try await client.signals(matching: DBusMatchRule(interface: manager, member: member))
    }

    /// A stream of PropertiesChanged on device objects.
    static func propertyChanges(_ client: DBusConnection) async throws -> AsyncStream<DBusMessage> {
        try await client.signals(matching: DBusMatchRule(
            interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", arg0: device))
    }
}

/// The Palm's uid prefix (`usb-VVVV-PPPP-<serial>`); DeviceByUid accepts a unique prefix.
let palmUID = "usb-0830-0061"
/// The MTP player's uid prefix.
let playerUID = "usb-0781-74d0"
/// The administrator-profiled gadget's uid prefix.
let gadgetUID = "usb-1d6b-7777"

/// The wakeups of a process's threads: each thread's voluntary and involuntary context switches, by thread id,
/// from `/proc/PID/task/*/status`.
struct ThreadActivity: Equatable, CustomStringConvertible {
    var switches: [String: Int]

    init(of pid: Int32) {
        var switches: [String: Int] = [:]
        let tasks = "/proc/\(pid)/task"
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            guard let status = try? String(contentsOfFile: "\(tasks)/\(tid)/status", encoding: .utf8) else { continue }
            var total = 0
            for line in status.split(separator: "\n") where line.contains("ctxt_switches:") {
                total += Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
            }
            switches[tid] = total
        }
        self.switches = switches
    }

    var description: String {
        switches.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }
}
