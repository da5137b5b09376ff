/// The settings the command line may override; nil leaves the file's (or the default) value.
///
/// devsyncd's main fills this from its flags; ``DaemonConfiguration/resolve(_:)`` applies it.
public struct CommandLineOverrides: Sendable, Hashable {
    /// `--profiles DIR` (repeatable): replaces the whole profile directory list.
    public var profiles: [String]?
    /// `--state-dir DIR`.
    public var stateDirectory: String?
    /// `--bus system|session|ADDRESS`.
    public var bus: String?
    /// `--config FILE`: the configuration file to read instead of `/etc/devsync/devsyncd.conf`.
    public var configPath: String?
    /// `--log-level LEVEL`.
    public var logLevel: String?

    /// Overrides; nil fields change nothing.
    public init(
        profiles: [String]? = nil, stateDirectory: String? = nil, bus: String? = nil, configPath: String? = nil,
        logLevel: String? = nil
    ) {
        self.profiles = profiles
        self.stateDirectory = stateDirectory
        self.bus = bus
        self.configPath = configPath
        self.logLevel = logLevel
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
        if let text = overrides.logLevel {
            guard let level = Self.logLevel(text) else {
                throw ConfigurationError(file: "--log-level", message: "expected \(Self.logLevelNames), got '\(text)'")
            }
            result.logLevel = level
        }
        return result
    }
}
