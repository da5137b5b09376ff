import Glibc
import Logging

/// One line per event on stderr, journald-friendly: `<N>message key=value …`, where `<N>` is the syslog
/// priority systemd reads from a service's stderr. No colour, no timestamp (the journal adds one); on a
/// terminal the prefix is the level's name instead.
struct JournalLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    /// systemd sets JOURNAL_STREAM for a service whose stderr is the journal.
    private static let toJournal = getenv("JOURNAL_STREAM") != nil

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = Self.toJournal ? "<\(Self.priority(event.level))>" : "\(event.level): "
        line += "\(event.message)".onOneLine
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            let text = "\(value)".onOneLine
            line += text.contains(" ") || text.isEmpty ? " \(key)=\"\(text)\"" : " \(key)=\(text)"
        }
        line += "\n"
        line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
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
    /// One event, one line: an embedded newline would split it in the journal.
    fileprivate var onOneLine: String {
        String(map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
