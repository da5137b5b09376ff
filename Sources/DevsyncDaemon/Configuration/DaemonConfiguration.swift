// SPDX-License-Identifier: Apache-2.0
import DevsyncBuild
import Logging
import UdevMonitor

/// How devsyncd is set up: where profiles and state live, which bus it serves, and how owners are found.
///
/// Built from the defaults, then `devsyncd.conf` (``defaultPath``, see ``load(from:)``), then the command line
/// (``applying(_:)``). `docs/configuration.md` documents every key.
public struct DaemonConfiguration: Sendable, Hashable {
    /// Which D-Bus bus the broker serves.
    public enum Bus: Sendable, Hashable, CustomStringConvertible {
        /// The system bus; libdbus honours `DBUS_SYSTEM_BUS_ADDRESS`.
        case system
        /// The session bus named by `DBUS_SESSION_BUS_ADDRESS`, for development.
        case session
        /// An explicit D-Bus address such as `unix:path=/run/devsync-test/bus`.
        case address(String)

        /// Parses `system`, `session` or a D-Bus address (`transport:key=value,…`); nil for anything else.
        public init?(parsing text: String) {
            switch text {
            case "system": self = .system
            case "session": self = .session
            default:
                // A D-Bus address is `transport:` followed by key=value pairs, several separated by `;`.
                guard let colon = text.firstIndex(of: ":"), colon != text.startIndex,
                    text[..<colon].allSatisfy({ $0.isLetter || $0 == "-" }),
                    !text.contains(where: { $0.isWhitespace })
                else { return nil }
                self = .address(text)
            }
        }

        /// The form the configuration file and `--bus` take.
        public var description: String {
            switch self {
            case .system: "system"
            case .session: "session"
            case .address(let address): address
            }
        }
    }

    /// What happens to a device seen for the first time.
    public enum ApprovalPolicy: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Ask over D-Bus (the approval request carries the suggested owner) and wait for a decision.
        case ask
        /// Approve it at once for the suggested owner (the active user), as a single-user desktop would.
        case auto

        /// The configuration file's spelling.
        public var description: String { rawValue }
    }

    /// Where the broker reads FDI profiles, in order; a later directory overrides an earlier one.
    public var profileDirectories: [String]
    /// Where the broker keeps its per-device state (a `version` file and one file per device).
    public var stateDirectory: String
    /// Which bus the broker serves.
    public var bus: Bus
    /// Whether new devices wait for a decision or are approved for the active user.
    public var approvalPolicy: ApprovalPolicy
    /// The absolute path of an executable that names a new device's owner, or nil for none.
    public var ownerCallout: String?
    /// How long the owner callout may run before it is killed.
    public var ownerCalloutTimeout: Duration
    /// The least severe level the daemon logs.
    public var logLevel: Logger.Level
    /// The hardware database, media-player-info and `modules.alias` read for `hwdb.*`, `mpi.*`, `kernel.drivers`.
    public var databases: DatabaseLocations

    /// The configuration file the daemon reads unless `--config` names another (`$(CONFIGDIR)/devsyncd.conf`).
    public static let defaultPath = BuildConfiguration.configurationFile

    /// A configuration; every parameter defaults to what a distribution package expects, the directories to
    /// those this build was configured for (``BuildConfiguration``).
    public init(
        profileDirectories: [String] = BuildConfiguration.profileDirectories,
        stateDirectory: String = BuildConfiguration.stateDirectory,
        bus: Bus = .system,
        approvalPolicy: ApprovalPolicy = .ask,
        ownerCallout: String? = nil,
        ownerCalloutTimeout: Duration = .seconds(5),
        logLevel: Logger.Level = .info,
        databases: DatabaseLocations = DatabaseLocations()
    ) {
        self.profileDirectories = profileDirectories
        self.stateDirectory = stateDirectory
        self.bus = bus
        self.approvalPolicy = approvalPolicy
        self.ownerCallout = ownerCallout
        self.ownerCalloutTimeout = ownerCalloutTimeout
        self.logLevel = logLevel
        self.databases = databases
    }
}

/// A configuration that cannot be used, with where and why: `devsyncd.conf:7:13: …`.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, or the command-line flag, that holds the bad setting.
    public var file: String
    /// The 1-based line, if the error is in a file.
    public var line: Int?
    /// The 1-based column, if the error is in a value.
    public var column: Int?
    /// What was wrong and what was expected.
    public var message: String

    /// An error at `file` (or a flag), optionally at a line and column.
    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, as compilers print it.
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return "\(location): \(message)"
    }
}
