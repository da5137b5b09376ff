// SPDX-License-Identifier: Apache-2.0
import DBus
import DeviceRegistry
import DevsyncDaemon
import DevsyncTestSupport
import Foundation
import Logging
import Testing

@Suite("Journal fields")
struct JournalFieldsTests {
    @Test("a line becomes MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, MESSAGE_ID, DEVSYNC_<KEY> per metadata entry and CODE_*")
    func fields() {
        let fields = JournalFields.fields(
            priority: 6, message: "New device arrived uid=usb-0830-0061-X",
            metadata: ["uid": "usb-0830-0061-X", "plugin": "palm-sync", "stable-id": "true",
                       "message-id": LogMessageID.deviceArrived, "profile": "10-palm.fdi:6:7\nsecond line"],
            syslogIdentifier: "devsyncd", file: "DeviceRegistry/Registry.swift", line: 331, function: "attach(_:)")
        #expect(fields == [
            "MESSAGE=New device arrived uid=usb-0830-0061-X", "PRIORITY=6", "SYSLOG_IDENTIFIER=devsyncd",
            "MESSAGE_ID=9463499f85884a36b7c3e5002067f28e",
            "DEVSYNC_PLUGIN=palm-sync", "DEVSYNC_PROFILE=10-palm.fdi:6:7\nsecond line", "DEVSYNC_STABLE_ID=true",
            "DEVSYNC_UID=usb-0830-0061-X",
            "CODE_FILE=DeviceRegistry/Registry.swift", "CODE_LINE=331", "CODE_FUNC=attach(_:)",
        ])
    }

    @Test("metadata keys map to journal field names; what cannot be one stays in the message only")
    func fieldNames() {
        #expect(JournalFields.fieldName(forMetadataKey: "uid") == "DEVSYNC_UID")
        #expect(JournalFields.fieldName(forMetadataKey: "suggested-owner") == "DEVSYNC_SUGGESTED_OWNER")
        #expect(JournalFields.fieldName(forMetadataKey: "sl-services") == "DEVSYNC_SL_SERVICES")
        #expect(JournalFields.fieldName(forMetadataKey: "Größe") == "DEVSYNC_GR__E")
        #expect(JournalFields.fieldName(forMetadataKey: "") == nil)
        #expect(JournalFields.fieldName(forMetadataKey: String(repeating: "k", count: 57)) == nil, "over 64 characters")
        #expect(JournalFields.fieldName(forMetadataKey: String(repeating: "k", count: 56))?.count == 64)
        let odd = JournalFields.fields(
            priority: 4, message: "m", metadata: ["": "x", "message-id": "not-an-id"], syslogIdentifier: "devsyncd",
            file: "f", line: 1, function: "g")
        #expect(!odd.contains { $0.hasPrefix("MESSAGE_ID=") || $0.hasPrefix("DEVSYNC_") })
    }

    @Test("each event's MESSAGE_ID is a distinct 128-bit id")
    func messageIDs() {
        let ids = [LogMessageID.deviceArrived, LogMessageID.deviceApproved, LogMessageID.deviceRejected,
                   LogMessageID.syncFinished]
        #expect(ids.allSatisfy(JournalFields.isMessageID))
        #expect(Set(ids).count == ids.count)
        #expect(!JournalFields.isMessageID("9463499F85884A36B7C3E5002067F28E"), "the journal writes them lower-case")
    }

    @Test("stderr is the journal only when JOURNAL_STREAM names its device and inode")
    func journalStream() {
        #expect(JournalFields.isJournalStream("64769:123456", device: 64769, inode: 123456))
        #expect(!JournalFields.isJournalStream("64769:123456", device: 64769, inode: 123457), "inherited, stderr redirected")
        #expect(!JournalFields.isJournalStream(nil, device: 1, inode: 2))
        #expect(!JournalFields.isJournalStream("64769", device: 64769, inode: 0))
        #expect(!JournalFields.isJournalStream("a:b", device: 0, inode: 0))
    }
}

@Suite("LogControl1")
struct LogControlTests {
    @Test("syslog level names map to swift-log levels and back")
    func levelNames() {
        #expect(LogControl.level(syslogName: "debug") == .debug)
        #expect(LogControl.level(syslogName: "err") == .error)
        #expect(LogControl.level(syslogName: "emerg") == .critical)
        #expect(LogControl.level(syslogName: "verbose") == nil)
        #expect(LogControl.syslogName(of: .trace) == "debug")
        #expect(LogControl.syslogName(of: .critical) == "crit")
        for name in ["crit", "err", "warning", "notice", "info", "debug"] {
            #expect(LogControl.syslogName(of: LogControl.level(syslogName: name)!) == name)
        }
    }

    /// A connection on `bus` offering LogControl1 for `control`, for the duration of `body`.
    private func serving(
        _ control: LogControl, on bus: TestBus, _ body: (DBusConnection) async throws -> Void
    ) async throws {
        let connection = try await bus.connect("logcontrol")
        var logger = Logger(label: "test.logcontrol")
        logger.logLevel = .critical
        try await LogControlObject.export(on: connection, control: control, logger: logger)
        do {
            try await body(connection)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    @Test("busctl reads and, as root, sets LogLevel and LogTarget; the running settings follow")
    func rootSets() async throws {
        try await TestBus.with { bus in
            let control = LogControl(level: .info, target: .console, automaticTarget: .journal)
            try await serving(control, on: bus) { connection in
                let name = await connection.uniqueName
                let path = "/org/freedesktop/LogControl1", interface = "org.freedesktop.LogControl1"
                let read = try await bus.busctl("get-property", name, path, interface, "LogLevel", "LogTarget", "SyslogIdentifier")
                #expect(read.status == 0, "\(read.stderr)")
                #expect(read.stdout == "s \"info\"\ns \"console\"\ns \"devsyncd\"\n")

                let level = try await bus.busctl("set-property", name, path, interface, "LogLevel", "s", "debug")
                #expect(level.status == 0, "\(level.stderr)")
                #expect(control.level == .debug)
                let target = try await bus.busctl("set-property", name, path, interface, "LogTarget", "s", "auto")
                #expect(target.status == 0, "\(target.stderr)")
                #expect(control.target == .journal)

                let kmsg = try await bus.busctl("set-property", name, path, interface, "LogTarget", "s", "kmsg")
                #expect(kmsg.status != 0)
                #expect(kmsg.stderr.contains("not kmsg"), "\(kmsg.stderr)")
                let loud = try await bus.busctl("set-property", name, path, interface, "LogLevel", "s", "verbose")
                #expect(loud.status != 0)
                #expect(control.level == .debug && control.target == .journal, "refused values change nothing")
                let identifier = try await bus.busctl("set-property", name, path, interface, "SyslogIdentifier", "s", "x")
                #expect(identifier.status != 0, "SyslogIdentifier is read-only")
            }
        }
    }

    @Test("anyone may read, but only root may write")
    func othersRefused() async throws {
        try await TestBus.with { bus in
            let control = LogControl(level: .info, target: .journal)
            try await serving(control, on: bus) { connection in
                let name = await connection.uniqueName
                let path = "/org/freedesktop/LogControl1", interface = "org.freedesktop.LogControl1"
                let read = try await bus.busctl(as: .nobody, "get-property", name, path, interface, "LogLevel")
                #expect(read.status == 0, "\(read.stderr)")
                #expect(read.stdout == "s \"info\"\n")
                let level = try await bus.busctl(as: .nobody, "set-property", name, path, interface, "LogLevel", "s", "debug")
                #expect(level.status != 0)
                // busctl shows AccessDenied as "Access denied"; root's writes on the same bus succeed (above), so the
                // refusal is the daemon's, not the bus's.
                #expect(level.stderr.contains("Access denied"), "\(level.stderr)")
                let target = try await bus.busctl(as: .nobody, "set-property", name, path, interface, "LogTarget", "s", "null")
                #expect(target.status != 0)
                #expect(control.level == .info && control.target == .journal)
            }
        }
    }
}
