// SPDX-License-Identifier: Apache-2.0
import Logging
import UdevMonitor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension DaemonConfiguration {
    /// The keys the `[Daemon]` section accepts, exactly as spelt in the file.
    public static let fileKeys = [
        "ProfileDirectories", "StateDirectory", "Bus", "ApprovalPolicy", "OwnerCallout", "OwnerCalloutTimeout",
        "LogLevel", "HardwareDatabase", "MediaPlayerInfoDirectory", "ModulesAlias", "LibMTP",
    ]

    /// The defaults overridden by the file at `path`; a missing file means the defaults.
    ///
    /// Any other problem (unreadable file, unknown section or key, bad value) throws, naming file and line: a
    /// daemon that silently ignored a typo in its policy would run with a policy nobody chose.
    public static func load(from path: String = defaultPath) throws(ConfigurationError) -> DaemonConfiguration {
        guard let text = try readFile(path) else { return DaemonConfiguration() }
        return try parse(text, file: path)
    }

    /// The defaults overridden by the configuration text `text`, which came from `file` (for messages).
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        var section: String?
        var seen: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = trimmed(rawLine)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw ConfigurationError(
                        file: file, line: lineNumber, column: 1, message: "expected a section header such as [Daemon]")
                }
                let name = String(line.dropFirst().dropLast())
                guard name == "Daemon" else {
                    throw ConfigurationError(
                        file: file, line: lineNumber, column: 1,
                        message: "unknown section [\(name)]; the only section is [Daemon]")
                }
                section = name
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(
                    file: file, line: lineNumber, column: 1, message: "expected Key=value, a [Daemon] header or a comment")
            }
            let key = trimmed(line[..<equals])
            let value = trimmed(line[line.index(after: equals)...])
            guard fileKeys.contains(key) else {
                throw ConfigurationError(
                    file: file, line: lineNumber, column: 1,
                    message: "unknown key '\(key)'; expected one of \(fileKeys.joined(separator: ", "))")
            }
            guard section != nil else {
                throw ConfigurationError(
                    file: file, line: lineNumber, column: 1, message: "key '\(key)' must follow the [Daemon] header")
            }
            if let first = seen[key] {
                throw ConfigurationError(
                    file: file, line: lineNumber, column: 1, message: "'\(key)' is already set on line \(first)")
            }
            seen[key] = lineNumber
            // The column of the value in the original line, for messages about it.
            let column = valueColumn(in: rawLine)
            do throws(ValueError) {
                try configuration.set(key, to: value)
            } catch {
                throw ConfigurationError(
                    file: file, line: lineNumber, column: column, message: "\(key): \(error.expectation)")
            }
        }
        return configuration
    }

    /// Why one value was refused: what the key expects, and what it got.
    struct ValueError: Error {
        var expectation: String
    }

    private mutating func set(_ key: String, to value: String) throws(ValueError) {
        switch key {
        case "ProfileDirectories":
            let directories = value.split(separator: ":", omittingEmptySubsequences: false).map { Self.trimmed($0) }
            guard !directories.isEmpty, directories.allSatisfy({ $0.hasPrefix("/") }) else {
                throw ValueError(expectation: "expected absolute directories separated by ':', got '\(value)'")
            }
            profileDirectories = directories
        case "StateDirectory":
            guard value.hasPrefix("/") else {
                throw ValueError(expectation: "expected an absolute directory, got '\(value)'")
            }
            stateDirectory = value
        case "Bus":
            guard let bus = Bus(parsing: value) else {
                throw ValueError(expectation: "expected system, session or a D-Bus address such as unix:path=/run/x, got '\(value)'")
            }
            self.bus = bus
        case "ApprovalPolicy":
            guard let policy = ApprovalPolicy(rawValue: value) else {
                throw ValueError(expectation: "expected ask or auto, got '\(value)'")
            }
            approvalPolicy = policy
        case "OwnerCallout":
            if value.isEmpty {
                ownerCallout = nil
            } else {
                guard value.hasPrefix("/") else {
                    throw ValueError(
                        expectation: "expected an absolute path (the callout runs without a shell or search path), got '\(value)'")
                }
                ownerCallout = value
            }
        case "OwnerCalloutTimeout":
            guard let timeout = Self.timeout(value) else {
                throw ValueError(expectation: "expected seconds between 0.001 and 300, such as 5 or 2.5, got '\(value)'")
            }
            ownerCalloutTimeout = timeout
        case "LogLevel":
            guard let level = Self.logLevel(value) else {
                throw ValueError(expectation: "expected \(Self.logLevelNames), got '\(value)'")
            }
            logLevel = level
        case "HardwareDatabase", "ModulesAlias":
            // Empty: the system's (libudev's hwdb.bin; the running kernel's modules.alias).
            guard value.isEmpty || value.hasPrefix("/") else {
                throw ValueError(expectation: "expected an absolute file, or nothing for the system's, got '\(value)'")
            }
            if key == "HardwareDatabase" {
                databases.hardwareDatabase = value.isEmpty ? nil : value
            } else {
                databases.modulesAlias = value.isEmpty ? nil : value
            }
        case "MediaPlayerInfoDirectory":
            guard value.hasPrefix("/") else {
                throw ValueError(expectation: "expected an absolute directory, got '\(value)'")
            }
            databases.mediaPlayerInfo = value
        case "LibMTP":
            // Empty: libmtp's soname. Else none, an absolute file, or a name the dynamic loader looks up in its own
            // directories (no `/`, as libmtp.so.9), never one relative to the working directory.
            guard value.isEmpty || value == "none" || value.hasPrefix("/")
                || (!value.contains("/") && value.hasPrefix("lib") && value.contains(".so"))
            else {
                throw ValueError(expectation: "expected an absolute file, a library name such as libmtp.so.9, none, or nothing for libmtp.so.9, got '\(value)'")
            }
            databases.libmtp = value.isEmpty ? DatabaseLocations.defaultLibMTP : DatabaseLocations.libmtp(setting: value)
        default:
            preconditionFailure("fileKeys and set(_:to:) disagree on \(key)")
        }
    }

    static let logLevelNames = "trace, debug, info, notice, warning, error or critical"

    static func logLevel(_ text: String) -> Logger.Level? {
        Logger.Level(rawValue: text)
    }

    /// Seconds as a positive duration, bounded: a callout that may run for an hour blocks approvals for an hour.
    static func timeout(_ text: String) -> Duration? {
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0.001, seconds <= 300 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed().drop(while: {
            $0 == " " || $0 == "\t" || $0 == "\r"
        }).reversed())
    }

    private static func valueColumn(in line: Substring) -> Int {
        guard let equals = line.firstIndex(of: "=") else { return 1 }
        let afterEquals = line[line.index(after: equals)...]
        let leading = afterEquals.prefix(while: { $0 == " " || $0 == "\t" }).count
        return line.distance(from: line.startIndex, to: equals) + 2 + leading
    }

    /// The file's text, or nil if it does not exist.
    private static func readFile(_ path: String) throws(ConfigurationError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw ConfigurationError(file: path, message: "cannot open: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigurationError(file: path, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            bytes.append(contentsOf: buffer[..<count])
            // A configuration file is a few hundred bytes; a huge one is a mistake, not something to parse.
            if bytes.count > 1 << 20 {
                throw ConfigurationError(file: path, message: "is larger than 1 MiB; is it the right file?")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(file: path, message: "is not valid UTF-8 text")
        }
        return text
    }
}
