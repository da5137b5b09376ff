// SPDX-License-Identifier: Apache-2.0
import CSystemd
import DevsyncDaemon
import Glibc
import Logging

/// devsyncd's log handler: structured journal entries when stderr is the journal, else one line per event on
/// stderr; level and target follow a shared ``LogControl`` that `org.freedesktop.LogControl1` may change.
///
/// Journal entries go through `sd_journal_sendv` with the fields of ``JournalFields`` (`MESSAGE`, `PRIORITY`,
/// `SYSLOG_IDENTIFIER=devsyncd`, `MESSAGE_ID` for the events docs/logging.md lists, `DEVSYNC_<KEY>` per
/// metadata entry, `CODE_*`). Console lines are `<N>message key=value …` when stderr is the journal (the
/// priority prefix systemd reads) and `level: message key=value …` elsewhere; no colour, no timestamp.
struct JournalLogHandler: LogHandler {
    let control: LogControl
    var metadata: Logger.Metadata = [:]

    /// The level lives in `control`, so that a change over D-Bus reaches every copy of every logger at once.
    var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    init(control: LogControl) {
        self.control = control
    }

    /// Whether stderr is the journal stream systemd connected (JOURNAL_STREAM names stderr's device and inode).
    static let stderrIsJournal: Bool = {
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        let value = getenv("JOURNAL_STREAM").map { String(cString: $0) }
        return JournalFields.isJournalStream(value, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }()

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let target = control.target
        if target == .null { return }
        // The event's metadata wins over the logger's; copied once, without a merged Logger.Metadata in between.
        var merged: [String: String] = [:]
        merged.reserveCapacity(metadata.count + (event.metadata?.count ?? 0))
        for (key, value) in metadata { merged[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { merged[key] = "\(value)" }
        let text = Self.text(message: "\(event.message)", metadata: merged)
        if target == .journal {
            let fields = JournalFields.fields(
                priority: Self.priority(event.level), message: text, metadata: merged,
                syslogIdentifier: control.syslogIdentifier, file: event.file, line: event.line,
                function: event.function)
            if Self.send(fields) { return }
            // No journald to take it (not running, or its socket is gone): the line goes to stderr instead.
        }
        var line = Self.stderrIsJournal ? "<\(Self.priority(event.level))>" : "\(event.level): "
        line += text
        line += "\n"
        line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }

    /// `message key=value …`, on one line: an embedded newline would split it in the journal and on a terminal.
    static func text(message: String, metadata: [String: String]) -> String {
        var line = message.onOneLine
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != JournalFields.messageIDKey {
            let text = value.onOneLine
            line += text.isEmpty || text.utf8.contains(UInt8(ascii: " ")) ? " \(key)=\"\(text)\"" : " \(key)=\(text)"
        }
        return line
    }

    /// One journal entry; false when journald did not take it.
    static func send(_ fields: [String]) -> Bool {
        // One buffer for all the fields, and an iovec per field pointing into it: the pointers are valid only
        // inside the closure, which is where sd_journal_sendv runs.
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { bytes in
            var vectors = ranges.map { range in
                iovec(iov_base: bytes.baseAddress.map { $0 + range.lowerBound }, iov_len: range.count)
            }
            return sd_journal_sendv(&vectors, Int32(vectors.count)) == 0
        }
    }

    /// The syslog priority of a swift-log level (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}

extension String {
    /// One event, one line: an embedded newline (or carriage return) would split it.
    ///
    /// Over the UTF-8 bytes, not the Characters: a line is logged for every uevent, and breaking a message and
    /// its metadata into grapheme clusters cost more than the rest of the line (docs/benchmarks.md). Neither byte
    /// occurs inside a multi-byte sequence, so replacing them keeps the text valid.
    fileprivate var onOneLine: String {
        guard utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return self }
        return String(decoding: utf8.map { $0 == 0x0A || $0 == 0x0D ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}
