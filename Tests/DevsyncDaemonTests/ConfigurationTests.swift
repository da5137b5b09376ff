// SPDX-License-Identifier: Apache-2.0
import DevsyncDaemon
import UdevMonitor
import Foundation
import Logging
import Testing

@Suite("Daemon configuration")
struct ConfigurationTests {
    // The directories are those a plain `swift build` compiles in, the Makefile's default PREFIX=/usr/local
    // (`make install PREFIX=/usr` builds with /usr/share instead; tests/install-tree.sh checks that).
    @Test("without a file every setting has its documented default")
    func missingFileMeansDefaults() throws {
        let configuration = try DaemonConfiguration.load(from: "/nonexistent/devsync-\(UUID().uuidString)/devsyncd.conf")
        #expect(configuration.profileDirectories == ["/usr/local/share/devsync/fdi-profiles", "/etc/devsync/fdi-profiles"])
        #expect(DaemonConfiguration.defaultPath == "/etc/devsync/devsyncd.conf")
        #expect(configuration.stateDirectory == "/var/lib/devsync")
        #expect(configuration.bus == .system)
        #expect(configuration.approvalPolicy == .ask)
        #expect(configuration.ownerCallout == nil)
        #expect(configuration.ownerCalloutTimeout == .seconds(5))
        #expect(configuration.logLevel == .info)
        #expect(configuration == DaemonConfiguration())
    }

    @Test("every key of the [Daemon] section is read, around comments and blank lines")
    func everyKey() throws {
        let text = """
            # devsyncd configuration
            ; another comment style

            [Daemon]
            ProfileDirectories=/opt/profiles:/etc/devsync/local
              StateDirectory = /srv/devsync
            Bus=unix:path=/run/devsync-test/bus
            ApprovalPolicy=auto
            OwnerCallout=/usr/libexec/devsync-owner
            OwnerCalloutTimeout=2.5
            LogLevel=debug
            """
        let configuration = try DaemonConfiguration.parse(text, file: "devsyncd.conf")
        #expect(configuration.profileDirectories == ["/opt/profiles", "/etc/devsync/local"])
        #expect(configuration.stateDirectory == "/srv/devsync")
        #expect(configuration.bus == .address("unix:path=/run/devsync-test/bus"))
        #expect(configuration.approvalPolicy == .auto)
        #expect(configuration.ownerCallout == "/usr/libexec/devsync-owner")
        #expect(configuration.ownerCalloutTimeout == .milliseconds(2500))
        #expect(configuration.logLevel == .debug)
    }

    @Test("the device databases are the system's unless the file or the flags name others")
    func databaseLocations() throws {
        let defaults = DaemonConfiguration()
        #expect(defaults.databases.hardwareDatabase == nil)
        #expect(defaults.databases.mediaPlayerInfo == "/usr/share/media-player-info")
        #expect(defaults.databases.modulesAlias == nil)
        #expect(defaults.databases.resolvedModulesAlias.hasPrefix("/lib/modules/"))
        #expect(defaults.databases.resolvedModulesAlias.hasSuffix("/modules.alias"))
        let file = try DaemonConfiguration.parse("""
            [Daemon]
            HardwareDatabase=/srv/hwdb.bin
            MediaPlayerInfoDirectory=/srv/mpi
            ModulesAlias=/srv/modules.alias
            """, file: "c")
        #expect(file.databases.hardwareDatabase == "/srv/hwdb.bin" && file.databases.mediaPlayerInfo == "/srv/mpi")
        #expect(file.databases.modulesAlias == "/srv/modules.alias")
        #expect(try DaemonConfiguration.parse("[Daemon]\nHardwareDatabase=\n", file: "c").databases.hardwareDatabase == nil)
        #expect(throws: ConfigurationError.self) { try DaemonConfiguration.parse("[Daemon]\nModulesAlias=relative\n", file: "c") }
        guard case .run(let overrides) = try CommandLineOverrides.parse(
            ["--hwdb", "test/hwdb.bin", "--media-player-info=mpi", "--modules-alias", "aliases"]) else {
            Issue.record("not a run")
            return
        }
        let flagged = try file.applying(overrides)
        #expect(flagged.databases == DatabaseLocations(hardwareDatabase: "test/hwdb.bin", mediaPlayerInfo: "mpi", modulesAlias: "aliases"))
        #expect(throws: ConfigurationError.self) { try file.applying(CommandLineOverrides(hardwareDatabase: "")) }
    }

    @Test("LibMTP and --libmtp name the libmtp whose table names MTP devices, or none")
    func libmtpSetting() throws {
        #expect(DaemonConfiguration().databases.libmtp == "libmtp.so.9")
        func parsed(_ value: String) throws -> String? {
            try DaemonConfiguration.parse("[Daemon]\nLibMTP=\(value)\n", file: "c").databases.libmtp
        }
        #expect(try parsed("") == "libmtp.so.9")
        #expect(try parsed("none") == nil)
        #expect(try parsed("/opt/libmtp/lib/libmtp.so.9") == "/opt/libmtp/lib/libmtp.so.9")
        #expect(try parsed("libmtp.so.10") == "libmtp.so.10")
        // Relative to a working directory the daemon does not choose: refused, with the line and what was expected.
        #expect(throws: ConfigurationError.self) { try parsed("lib/libmtp.so.9") }
        #expect(throws: ConfigurationError.self) { try parsed("mtp") }
        let error = #expect(throws: ConfigurationError.self) { try parsed("./libmtp.so") }
        #expect(error?.description.hasPrefix("c:2:8: LibMTP: expected an absolute file, a library name such as libmtp.so.9") == true,
                "\(String(describing: error))")
        guard case .run(let none) = try CommandLineOverrides.parse(["--libmtp", "none"]),
              case .run(let local) = try CommandLineOverrides.parse(["--libmtp=./build/libmtp.so"]) else {
            Issue.record("not a run")
            return
        }
        #expect(try DaemonConfiguration().applying(none).databases.libmtp == nil)
        #expect(try DaemonConfiguration().applying(local).databases.libmtp == "./build/libmtp.so")
        #expect(throws: ConfigurationError.self) { try DaemonConfiguration().applying(CommandLineOverrides(libmtp: "")) }
    }

    @Test("Bus takes system, session or an address", arguments: [
        ("system", DaemonConfiguration.Bus.system), ("session", .session),
        ("unix:abstract=/tmp/dbus-x,guid=1234", .address("unix:abstract=/tmp/dbus-x,guid=1234")),
    ])
    func busValues(text: String, bus: DaemonConfiguration.Bus) throws {
        let configuration = try DaemonConfiguration.parse("[Daemon]\nBus=\(text)\n", file: "c")
        #expect(configuration.bus == bus)
    }

    @Test("every log level name is accepted", arguments: ["trace", "debug", "info", "notice", "warning", "error", "critical"])
    func logLevels(name: String) throws {
        let configuration = try DaemonConfiguration.parse("[Daemon]\nLogLevel=\(name)", file: "c")
        #expect(configuration.logLevel.rawValue == name)
    }

    @Test("an empty OwnerCallout means no callout")
    func emptyCallout() throws {
        let configuration = try DaemonConfiguration.parse("[Daemon]\nOwnerCallout=\n", file: "c")
        #expect(configuration.ownerCallout == nil)
    }

    @Test("the file is read from disk")
    func readsFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-conf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("devsyncd.conf").path
        try "[Daemon]\nApprovalPolicy=auto\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try DaemonConfiguration.load(from: path).approvalPolicy == .auto)
        #expect(try DaemonConfiguration.resolve(CommandLineOverrides(configPath: path)).approvalPolicy == .auto)
    }

    @Test("errors name file, line and column, and say what was expected", arguments: [
        ("[Daemon]\nApprovalPolicy=maybe\n", "devsyncd.conf:2:16: ApprovalPolicy: expected ask or auto, got 'maybe'"),
        ("[Daemon]\n# fine\nColour=blue\n", "devsyncd.conf:3:1: unknown key 'Colour'"),
        ("[Daemon]\nOwnerCallout=bin/owner\n", "devsyncd.conf:2:14: OwnerCallout: expected an absolute path"),
        ("[Daemon]\nOwnerCalloutTimeout=soon\n", "devsyncd.conf:2:21: OwnerCalloutTimeout: expected seconds"),
        ("[Daemon]\nOwnerCalloutTimeout=-1\n", "devsyncd.conf:2:21: OwnerCalloutTimeout: expected seconds"),
        ("[Daemon]\nLogLevel=loud\n", "devsyncd.conf:2:10: LogLevel: expected trace, debug"),
        ("[Daemon]\nBus=the big one\n", "devsyncd.conf:2:5: Bus: expected system, session or a D-Bus address"),
        ("[Daemon]\nStateDirectory=var/lib\n", "devsyncd.conf:2:16: StateDirectory: expected an absolute directory"),
        ("[Daemon]\nProfileDirectories=/a::/b\n", "devsyncd.conf:2:20: ProfileDirectories: expected absolute directories"),
        ("[Daemon]\nLogLevel=info\nLogLevel=debug\n", "devsyncd.conf:3:1: 'LogLevel' is already set on line 2"),
        ("LogLevel=info\n", "devsyncd.conf:1:1: key 'LogLevel' must follow the [Daemon] header"),
        ("[Broker]\n", "devsyncd.conf:1:1: unknown section [Broker]"),
        ("[Daemon]\njust words\n", "devsyncd.conf:2:1: expected Key=value"),
    ])
    func errors(text: String, expected: String) {
        #expect {
            _ = try DaemonConfiguration.parse(text, file: "devsyncd.conf")
        } throws: { error in
            (error as? ConfigurationError).map { "\($0)".hasPrefix(expected) } ?? false
        }
    }

    @Test("keys are case-sensitive, as documented")
    func caseSensitiveKeys() {
        #expect(throws: ConfigurationError.self) {
            _ = try DaemonConfiguration.parse("[Daemon]\nloglevel=debug\n", file: "c")
        }
    }

    @Test("command-line flags override the file; the profile flag replaces the whole list")
    func overrides() throws {
        let file = try DaemonConfiguration.parse(
            "[Daemon]\nProfileDirectories=/a:/b\nStateDirectory=/s\nBus=system\nLogLevel=error\nApprovalPolicy=auto\n",
            file: "c")
        let result = try file.applying(
            CommandLineOverrides(profiles: ["fdi-profiles"], stateDirectory: "/tmp/state", bus: "session", logLevel: "trace"))
        #expect(result.profileDirectories == ["fdi-profiles"])
        #expect(result.stateDirectory == "/tmp/state")
        #expect(result.bus == .session)
        #expect(result.logLevel == .trace)
        #expect(result.approvalPolicy == .auto, "a setting without a flag keeps the file's value")
        #expect(try file.applying(CommandLineOverrides()) == file)
    }

    @Test("a bad flag value names the flag")
    func badFlag() {
        #expect {
            _ = try DaemonConfiguration().applying(CommandLineOverrides(logLevel: "verbose"))
        } throws: { error in
            "\(error)".hasPrefix("--log-level: expected trace")
        }
        #expect {
            _ = try DaemonConfiguration().applying(CommandLineOverrides(bus: "nowhere"))
        } throws: { error in
            "\(error)".hasPrefix("--bus: expected system")
        }
        #expect(throws: ConfigurationError.self) {
            _ = try DaemonConfiguration().applying(CommandLineOverrides(profiles: []))
        }
    }

    @Test("devsyncd's command line: `--flag VALUE` and `--flag=VALUE`, --profiles repeatable, the last value wins")
    func commandLine() throws {
        let invocation = try CommandLineOverrides.parse([
            "--bus", "unix:path=/tmp/b=c", "--profiles=fdi-profiles", "--profiles", "/etc/x", "--state-dir", "/s",
            "--log-level", "info", "--log-level=debug", "--config", "/c.conf",
        ])
        #expect(invocation == .run(CommandLineOverrides(
            profiles: ["fdi-profiles", "/etc/x"], stateDirectory: "/s", bus: "unix:path=/tmp/b=c",
            configPath: "/c.conf", logLevel: "debug")))
        #expect(try CommandLineOverrides.parse([]) == .run(CommandLineOverrides()))
        #expect(try CommandLineOverrides.parse(["--bus", "system", "--help"]) == .help)
        #expect(try CommandLineOverrides.parse(["-h"]) == .help)
        #expect(try CommandLineOverrides.parse(["--log-level", "debug", "--version"]) == .version)
        #expect(CommandLineOverrides.usage.contains("--state-dir DIR"))
    }

    @Test("a wrong command line names the flag or argument", arguments: [
        (["--verbose"], "--verbose: unknown flag"),
        (["--bus"], "--bus: expected a value"),
        (["--colour=never"], "--colour: unknown flag"),
        (["session"], "session: unexpected argument"),
        (["-v"], "-v: unexpected argument"),
    ])
    func badCommandLine(arguments: [String], message: String) {
        #expect {
            _ = try CommandLineOverrides.parse(arguments)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    @Test("an unreadable configuration is an error, not the defaults")
    func directoryAsFile() {
        #expect {
            _ = try DaemonConfiguration.load(from: "/")
        } throws: { error in
            "\(error)".hasPrefix("/: cannot read")
        }
    }
}
