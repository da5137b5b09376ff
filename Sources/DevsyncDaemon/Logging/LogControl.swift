// SPDX-License-Identifier: Apache-2.0
import Logging
import Synchronization

/// devsyncd's log settings that may change while it runs: the level and where lines go, shared by the log
/// handler (which reads them on every line) and the `org.freedesktop.LogControl1` object (which writes them when
/// root runs `systemctl service-log-level devsyncd debug`).
public final class LogControl: Sendable {
    /// Where log lines go.
    public enum Target: Int, Sendable, CaseIterable {
        /// Text on stderr, one line per event (with a `<N>` priority prefix when stderr is the journal).
        case console = 0
        /// Structured entries through `sd_journal_sendv` (back to the console when the journal cannot be reached).
        case journal = 1
        /// Nothing at all.
        case null = 2

        /// The name LogControl1 uses.
        public var name: String {
            switch self {
            case .console: "console"
            case .journal: "journal"
            case .null: "null"
            }
        }
    }

    /// The identifier every journal entry carries (`SYSLOG_IDENTIFIER=`).
    public let syslogIdentifier: String
    /// Where `auto` sends lines: the journal when stderr is connected to it, else the console.
    public let automaticTarget: Target
    private let levelValue: Atomic<Int>
    private let targetValue: Atomic<Int>

    /// Settings starting at `level` and `target`.
    public init(level: Logger.Level, target: Target, automaticTarget: Target? = nil, syslogIdentifier: String = "devsyncd") {
        self.syslogIdentifier = syslogIdentifier
        self.automaticTarget = automaticTarget ?? target
        levelValue = Atomic(Self.index(of: level))
        targetValue = Atomic(target.rawValue)
    }

    /// The least severe level that is logged.
    public var level: Logger.Level {
        get { Logger.Level.allCases[levelValue.load(ordering: .relaxed)] }
        set { levelValue.store(Self.index(of: newValue), ordering: .relaxed) }
    }

    /// Where lines go now.
    public var target: Target {
        get { Target(rawValue: targetValue.load(ordering: .relaxed)) ?? .console }
        set { targetValue.store(newValue.rawValue, ordering: .relaxed) }
    }

    private static func index(of level: Logger.Level) -> Int {
        Logger.Level.allCases.firstIndex(of: level) ?? 2
    }

    // MARK: LogControl1's names

    /// The syslog level name LogControl1 reports for `level` (swift-log's `trace` has none: it reads `debug`).
    public static func syslogName(of level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "err"
        case .critical: "crit"
        }
    }

    /// The level a syslog level name (`emerg` … `debug`, as `systemctl service-log-level` sends) means; nil for
    /// any other text. `emerg`, `alert` and `crit` are all swift-log's `critical`, its most severe level.
    public static func level(syslogName name: String) -> Logger.Level? {
        switch name {
        case "emerg", "alert", "crit": .critical
        case "err": .error
        case "warning": .warning
        case "notice": .notice
        case "info": .info
        case "debug": .debug
        default: nil
        }
    }

    /// The target a LogControl1 `LogTarget` value asks for, or why it is refused.
    public func target(named name: String) -> Result<Target, LogTargetRefusal> {
        switch name {
        case "console": .success(.console)
        case "journal": .success(.journal)
        case "null": .success(.null)
        case "auto": .success(automaticTarget)
        case "kmsg", "syslog", "journal-or-kmsg", "syslog-or-kmsg", "console-prefixed":
            .failure(LogTargetRefusal(message: "devsyncd logs to console, journal, null or auto, not \(name)"))
        default:
            .failure(LogTargetRefusal(message: "\"\(name)\" is not a log target (console, journal, null or auto)"))
        }
    }
}

/// A LogControl1 `LogTarget` value devsyncd does not offer, with a sentence for the caller.
public struct LogTargetRefusal: Error, Sendable, Hashable {
    /// What the caller may use instead.
    public var message: String
}
