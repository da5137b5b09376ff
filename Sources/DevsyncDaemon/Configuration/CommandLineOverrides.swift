// SPDX-License-Identifier: Apache-2.0
import DevsyncBuild
import UdevMonitor

/// The settings the command line may override; nil leaves the file's (or the default) value.
///
/// devsyncd's main fills this from its flags with ``CommandLineOverrides/parse(_:)``;
/// ``DaemonConfiguration/resolve(_:)`` applies it.
public struct CommandLineOverrides: Sendable, Hashable {
    /// `--profiles DIR` (repeatable): replaces the whole profile directory list.
    public var profiles: [String]?
    /// `--state-dir DIR`.
    public var stateDirectory: String?
    /// `--bus system|session|ADDRESS`.
    public var bus: String?
    /// `--config FILE`: the configuration file to read instead of ``DaemonConfiguration/defaultPath``.
    public var configPath: String?
    /// `--log-level LEVEL`.
    public var logLevel: String?
    /// `--hwdb FILE`: the hardware database to read instead of the system's.
    public var hardwareDatabase: String?
    /// `--media-player-info DIR`.
    public var mediaPlayerInfo: String?
    /// `--modules-alias FILE`.
    public var modulesAlias: String?
    /// `--libmtp LIBRARY|none`.
    public var libmtp: String?

    /// Overrides; nil fields change nothing.
    public init(
        profiles: [String]? = nil, stateDirectory: String? = nil, bus: String? = nil, configPath: String? = nil,
        logLevel: String? = nil, hardwareDatabase: String? = nil, mediaPlayerInfo: String? = nil, modulesAlias: String? = nil,
        libmtp: String? = nil
    ) {
        self.libmtp = libmtp
        self.hardwareDatabase = hardwareDatabase
        self.mediaPlayerInfo = mediaPlayerInfo
        self.modulesAlias = modulesAlias
        self.profiles = profiles
        self.stateDirectory = stateDirectory
        self.bus = bus
        self.configPath = configPath
        self.logLevel = logLevel
    }
}

// devsyncd parses its five flags here rather than with swift-argument-parser: ArgumentParser imports
// FoundationEssentials (for its JSON help dump), and linking that library costs the resident daemon about 2 MB of
// its 12 MB budget (docs/benchmarks.md, "devsyncd: memory"). devsyncctl keeps ArgumentParser for its completions.
extension CommandLineOverrides {
    /// What devsyncd's command line asks for.
    public enum Invocation: Sendable, Hashable {
        /// Run the daemon with these overrides.
        case run(CommandLineOverrides)
        /// Print ``usage`` and exit 0.
        case help
        /// Print ``versionLine`` and exit 0.
        case version
    }

    /// devsyncd's `--version` line: `devsyncd 0.2.0`.
    public static let versionLine = "devsyncd \(BuildConfiguration.version)\n"

    /// devsyncd's `--help` text.
    public static let usage = """
        USAGE: devsyncd [--config FILE] [--profiles DIR ...] [--state-dir DIR] [--bus system|session|ADDRESS]
                        [--log-level LEVEL] [--hwdb FILE] [--media-player-info DIR] [--modules-alias FILE]
                        [--libmtp LIBRARY|none] [--version]

        The devsync broker: publishes sync devices on D-Bus as org.devsync.Broker1.
        Settings come from \(DaemonConfiguration.defaultPath), then these flags (devsyncd(8)).
        SIGHUP reloads the profiles and the device databases; SIGTERM or SIGINT stops the daemon.

        OPTIONS:
          --config FILE           Read FILE instead of \(DaemonConfiguration.defaultPath).
          --profiles DIR          A profile directory; repeatable, replaces ProfileDirectories.
          --state-dir DIR         Where per-device state is kept.
          --bus system|session|ADDRESS
                                  The bus to serve: system (the default), session or a D-Bus address.
          --log-level LEVEL       trace, debug, info, notice, warning, error or critical.
          --hwdb FILE             The hwdb.bin to read (HardwareDatabase); default: the one libudev reads.
          --media-player-info DIR The .mpi files (MediaPlayerInfoDirectory).
          --modules-alias FILE    The kernel's module aliases (ModulesAlias); default: the running kernel's.
          --libmtp LIBRARY|none   The libmtp whose device table names MTP devices (LibMTP); default: libmtp.so.9.
          --version               Print the version and exit.
          -h, --help              Show this help and exit.

        """

    /// Parses devsyncd's arguments (without the program name): `--flag VALUE` or `--flag=VALUE`, in any order.
    ///
    /// Values are taken as given (``DaemonConfiguration/applying(_:)`` checks them); a flag given twice keeps
    /// the last value, except `--profiles`, which adds a directory each time.
    /// - Throws: ``ConfigurationError`` naming the flag or argument that is wrong.
    public static func parse(_ arguments: [String]) throws(ConfigurationError) -> Invocation {
        var overrides = CommandLineOverrides()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            if argument == "--help" || argument == "-h" { return .help }
            if argument == "--version" { return .version }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigurationError(
                    file: argument, message: "unexpected argument; devsyncd takes only flags (see devsyncd --help)")
            }
            let flag: String
            let value: String
            if let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                flag = argument
                guard Self.valueFlags.contains(flag) else { throw Self.unknown(flag) }
                guard let next = remaining.popFirst() else {
                    throw ConfigurationError(file: flag, message: "expected a value after the flag")
                }
                value = next
            }
            switch flag {
            case "--config": overrides.configPath = value
            case "--profiles": overrides.profiles = (overrides.profiles ?? []) + [value]
            case "--state-dir": overrides.stateDirectory = value
            case "--bus": overrides.bus = value
            case "--log-level": overrides.logLevel = value
            case "--hwdb": overrides.hardwareDatabase = value
            case "--media-player-info": overrides.mediaPlayerInfo = value
            case "--modules-alias": overrides.modulesAlias = value
            case "--libmtp": overrides.libmtp = value
            default: throw Self.unknown(flag)
            }
        }
        return .run(overrides)
    }

    private static let valueFlags: Set<String> = [
        "--config", "--profiles", "--state-dir", "--bus", "--log-level", "--hwdb", "--media-player-info", "--modules-alias",
        "--libmtp",
    ]

    private static func unknown(_ flag: String) -> ConfigurationError {
        ConfigurationError(file: flag, message: "unknown flag; devsyncd takes \(valueFlags.sorted().joined(separator: ", ")), --help and --version")
    }
}

extension DaemonConfiguration {
    /// The configuration the daemon runs with: the file (`overrides.configPath` or the default path), then the flags.
    public static func resolve(_ overrides: CommandLineOverrides) throws(ConfigurationError) -> DaemonConfiguration {
        try load(from: overrides.configPath ?? defaultPath).applying(overrides)
    }

    /// This configuration with the command-line flags applied; a bad flag value throws, naming the flag.
    ///
    /// Paths on the command line may be relative (to the directory devsyncd was started in), which suits running
    /// it from a source tree; the file insists on absolute paths because it has no such directory.
    public func applying(_ overrides: CommandLineOverrides) throws(ConfigurationError) -> DaemonConfiguration {
        var result = self
        if let profiles = overrides.profiles {
            guard !profiles.isEmpty, profiles.allSatisfy({ !$0.isEmpty }) else {
                throw ConfigurationError(file: "--profiles", message: "expected at least one non-empty directory")
            }
            result.profileDirectories = profiles
        }
        if let directory = overrides.stateDirectory {
            guard !directory.isEmpty else {
                throw ConfigurationError(file: "--state-dir", message: "expected a directory, got an empty string")
            }
            result.stateDirectory = directory
        }
        if let text = overrides.bus {
            guard let bus = Bus(parsing: text) else {
                throw ConfigurationError(
                    file: "--bus", message: "expected system, session or a D-Bus address such as unix:path=/run/x, got '\(text)'")
            }
            result.bus = bus
        }
        for (flag, value) in [("--hwdb", overrides.hardwareDatabase), ("--media-player-info", overrides.mediaPlayerInfo),
                              ("--modules-alias", overrides.modulesAlias)] where value?.isEmpty == true {
            throw ConfigurationError(file: flag, message: "expected a path, got an empty string")
        }
        if let file = overrides.hardwareDatabase { result.databases.hardwareDatabase = file }
        if let directory = overrides.mediaPlayerInfo { result.databases.mediaPlayerInfo = directory }
        if let file = overrides.modulesAlias { result.databases.modulesAlias = file }
        if let text = overrides.libmtp {
            // As the other paths here, a file may be relative (with a "/": `./libmtp.so`; without one the dynamic
            // loader looks the name up in its own directories).
            guard !text.isEmpty else {
                throw ConfigurationError(file: "--libmtp", message: "expected a library such as libmtp.so.9, a path, or none")
            }
            result.databases.libmtp = DatabaseLocations.libmtp(setting: text)
        }
        if let text = overrides.logLevel {
            guard let level = Self.logLevel(text) else {
                throw ConfigurationError(file: "--log-level", message: "expected \(Self.logLevelNames), got '\(text)'")
            }
            result.logLevel = level
        }
        return result
    }
}
