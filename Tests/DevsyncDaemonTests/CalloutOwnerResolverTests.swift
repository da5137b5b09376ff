// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import DevsyncDaemon
import DevsyncTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// A temp directory of callout scripts for one test.
private final class ScriptDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-callout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `body` after a `#!/bin/sh` line and returns its path; executable unless told otherwise.
    func script(_ name: String, _ body: String, executable: Bool = true) throws -> String {
        let path = url.appendingPathComponent(name).path
        // Written through a close-on-exec descriptor, so that a program a parallel test starts does not keep it.
        // A child forked meanwhile still holds it until its exec, and running the script then fails with
        // ETXTBSY for a moment: CalloutProcess tries again (see "a callout whose file is still open …").
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, executable ? 0o755 : 0o644)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        let bytes = Array("#!/bin/sh\n\(body)\n".utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw POSIXError(.EIO) }
        return path
    }

    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    func read(_ name: String) -> String? { try? String(contentsOfFile: file(name), encoding: .utf8) }
}

private let palm: DeviceProperties = [
    "usb.vendor_id": .int(0x0830), "usb.product_id": .int(0x0061), "usb.serial": .string("PALM 42"),
    "sync.plugin": .string("palm-sync"), "sync.datatypes": .strlist(["contacts", "calendar"]),
    "usb.bus_number": .int(3), "bluetooth.paired": .bool(true),
]

private func resolver(_ path: String, timeout: Duration = .seconds(10)) -> CalloutOwnerResolver {
    var logger = Logger(label: "test.callout")
    logger.logLevel = ProcessInfo.processInfo.environment["DEVSYNC_TEST_LOG"] == nil ? .critical : .trace
    return CalloutOwnerResolver(executable: path, timeout: timeout, logger: logger)
}

/// The messages logged through ``logger``, for a test to wait on one.
private final class LogMessages: Sendable {
    private let messages = Mutex<[String]>([])

    var all: [String] { messages.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "test.callout") { _ in Handler(messages: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let messages: LogMessages
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { messages.messages.withLock { $0.append("\(event.message)") } }
    }
}

/// Whether process `pid` has gone (or is only a zombie awaiting its new parent), waiting up to 10 s for it.
private func hasEnded(_ pid: pid_t) async -> Bool {
    for _ in 0..<200 {
        let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        guard let stat else { return true }
        // The state is the field after the parenthesised command name.
        if let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z" { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return false
}

@Suite("Owner callout")
struct CalloutOwnerResolverTests {
    @Test("a callout that prints an existing user names the owner")
    func printsUser() async throws {
        let scripts = try ScriptDirectory()
        #expect(await resolver(try scripts.script("root", "echo root")).owner(for: palm, uid: "u1") == "root")
        let second = try scripts.script("nobody", "printf 'nobody\\nsomething else\\n'")
        #expect(await resolver(second).owner(for: palm, uid: "u1") == "nobody", "only the first line counts")
    }

    @Test("the callout sees the device as DEVSYNC_* variables in a clean environment")
    func environment() async throws {
        let scripts = try ScriptDirectory()
        let path = try scripts.script("dump-env", "env > '\(scripts.file("env.txt"))'\necho root")
        #expect(await resolver(path).owner(for: palm, uid: "usb-0830-0061-PALM_42") == "root")
        let lines = Set(try #require(scripts.read("env.txt")).split(separator: "\n").map(String.init))
        #expect(lines.contains("DEVSYNC_UID=usb-0830-0061-PALM_42"))
        #expect(lines.contains("DEVSYNC_USB_VENDOR_ID=0x0830"))
        #expect(lines.contains("DEVSYNC_USB_PRODUCT_ID=0x0061"))
        #expect(lines.contains("DEVSYNC_USB_SERIAL=PALM 42"))
        #expect(lines.contains("DEVSYNC_SYNC_PLUGIN=palm-sync"))
        #expect(lines.contains("DEVSYNC_SYNC_DATATYPES=contacts,calendar"))
        #expect(lines.contains("DEVSYNC_USB_BUS_NUMBER=3"))
        #expect(lines.contains("DEVSYNC_BLUETOOTH_PAIRED=true"))
        #expect(lines.contains("PATH=/usr/bin:/bin"))
        #expect(!lines.contains { $0.hasPrefix("HOME=") }, "nothing of the daemon's environment leaks through")
    }

    @Test("property keys become upper-case names; control characters become spaces")
    func variableNames() {
        let entries = CalloutEnvironment.entries(
            for: ["udev.ID_MTP-DEVICE": .string("1"), "usb.device_revision_bcd": .int(0x100)], uid: "x\ny\u{1B}")
        #expect(entries == [
            "PATH=/usr/bin:/bin", "DEVSYNC_UDEV_ID_MTP_DEVICE=1", "DEVSYNC_UID=x y ", "DEVSYNC_USB_DEVICE_REVISION_BCD=0x0100",
        ])
    }

    @Test("a callout that outlives its timeout is killed with everything it started, and gives no owner")
    func timeout() async throws {
        let scripts = try ScriptDirectory()
        let path = try scripts.script(
            "slow", "echo $$ > '\(scripts.file("pid"))'\nsleep 600 &\necho $! > '\(scripts.file("child"))'\nwait\necho root")
        // Long enough for the script to start its child under load (at 300 ms it sometimes had not yet).
        #expect(await resolver(path, timeout: .seconds(5)).owner(for: palm, uid: "u1") == nil)
        let pid = try #require(scripts.read("pid").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        let child = try #require(scripts.read("child").flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(await hasEnded(pid), "the callout was killed and reaped")
        #expect(await hasEnded(child), "its background child was killed with it")
    }

    @Test("a failing callout gives no owner, even if it printed a user")
    func failing() async throws {
        let scripts = try ScriptDirectory()
        #expect(await resolver(try scripts.script("fail", "echo root\nexit 3")).owner(for: palm, uid: "u1") == nil)
        #expect(await resolver(try scripts.script("signal", "echo root\nkill -9 $$")).owner(for: palm, uid: "u1") == nil)
    }

    @Test("a callout that cannot run gives no owner")
    func cannotRun() async throws {
        let scripts = try ScriptDirectory()
        let plain = try scripts.script("plain", "echo root", executable: false)
        #expect(await resolver(plain).owner(for: palm, uid: "u1") == nil)
        #expect(await resolver(scripts.file("missing")).owner(for: palm, uid: "u1") == nil)
        #expect(await resolver("relative/owner").owner(for: palm, uid: "u1") == nil)
    }

    @Test("output that is not an existing user name is refused", arguments: [
        "root; rm -rf /", "devsync-no-such-user", "", "-root", "ro ot", "r\u{1B}[0moot",
        String(repeating: "a", count: 33),
    ])
    func invalidOutput(output: String) async throws {
        let scripts = try ScriptDirectory()
        let outputFile = scripts.file("output")
        try output.write(toFile: outputFile, atomically: true, encoding: .utf8)
        let path = try scripts.script("print", "cat '\(outputFile)'")
        #expect(await resolver(path).owner(for: palm, uid: "u1") == nil)
    }

    @Test("a flood of output is cut off, not buffered without end")
    func flood() async throws {
        let scripts = try ScriptDirectory()
        let path = try scripts.script("flood", "echo root\nexec cat /dev/zero")
        // The reader stops at 4 KiB; the writer then dies of SIGPIPE, so the run fails rather than hangs.
        #expect(await resolver(path).owner(for: palm, uid: "u1") == nil)
    }

    @Test("a callout whose file is still open for writing (ETXTBSY) is run once it is closed, not given up on")
    func busyExecutable() async throws {
        let scripts = try ScriptDirectory()
        let path = try scripts.script("busy", "echo root")
        // Held open for writing, as a child forked while the file was being written holds it until its exec.
        let writer = open(path, O_WRONLY | O_CLOEXEC)
        try #require(writer >= 0)
        let log = LogMessages()
        let resolving = Task {
            await CalloutOwnerResolver(executable: path, timeout: .seconds(10), logger: log.logger)
                .owner(for: palm, uid: "u1")
        }
        // Until the first try has been refused (or, without retries, the run is over), then close the writer. On a
        // thread of its own: a task on the cooperative pool could wait out every retry behind busy tests.
        final class Flag: Sendable { let raised = Mutex(false) }
        let finished = Flag()
        let watcher = Task {
            _ = await resolving.value
            finished.raised.withLock { $0 = true }
        }
        async let closed: Void = onOwnThread {
            let giveUp = Date().addingTimeInterval(60)
            while !log.all.contains(where: { $0.contains("busy") }), !finished.raised.withLock({ $0 }), Date() < giveUp {
                usleep(1000)
            }
            close(writer)
        }
        try await closed
        #expect(await resolving.value == "root")
        #expect(log.all.contains { $0.contains("trying again") }, "\(log.all)")
        await watcher.value
    }
}
