// SPDX-License-Identifier: Apache-2.0
import CTaskPool
import DBus
import DesktopAgent
import DevsyncBuild
import Dispatch
import Glibc
import Logging

/// devsync-agent, the per-user desktop side of devsync: asks about this user's new devices and offers their sync
/// actions as desktop notifications (devsync-agent(1)).
///
/// No Foundation and no swift-argument-parser: three flags are parsed here (docs/agent.md, "Size").
@main
enum DevsyncAgentProgram {
    static let usage = """
        Usage: devsync-agent [--log-level LEVEL]
               devsync-agent --version | --help

        Shows a notification when a device suggested to you is plugged in (Approve, Reject) and when one of yours can
        be synced (Sync now), with the sync's progress. Runs in your graphical session (systemd user unit
        devsync-agent.service, or XDG autostart). Buses: DBUS_SYSTEM_BUS_ADDRESS (default: the system bus) and
        DBUS_SESSION_BUS_ADDRESS (default: $XDG_RUNTIME_DIR/bus).

          --log-level LEVEL  trace, debug, info, notice (default), warning, error or critical
          --version          print the version and exit
          --help             print this help and exit

        """

    static func main() {
        // As devsyncd: Swift's global executor on a pthread pool, not libdispatch's global queues, whose timer
        // would wake an idle agent every second (Sources/CTaskPool/task_pool.c).
        devsync_task_pool_install(1)
        signal(SIGPIPE, SIG_IGN)
        var level = Logger.Level.notice
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--version":
                print("devsync-agent \(BuildConfiguration.version)")
                exit(0)
            case "--help", "-h":
                print(usage, terminator: "")
                exit(0)
            case "--log-level":
                guard let text = arguments.popFirst(), let parsed = Logger.Level(rawValue: text) else {
                    fail("--log-level takes trace, debug, info, notice, warning, error or critical")
                }
                level = parsed
            default:
                if argument.hasPrefix("--log-level="), let parsed = Logger.Level(rawValue: String(argument.dropFirst(12))) {
                    level = parsed
                } else {
                    fail("unknown argument \(argument)\n\(usage)")
                }
            }
        }
        let chosen = level
        LoggingSystem.bootstrap { _ in AgentLogHandler(level: chosen) }
        let logger = Logger(label: "devsync-agent")
        guard let user = userName() else { fail("your uid \(getuid()) has no user name; the broker knows owners by name") }

        let agent = DesktopAgent(user: user, buses: buses(), logger: logger)
        // SIGTERM (systemd stopping the unit at logout) and SIGINT end the agent after it withdrew its prompts.
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .main)
            source.setEventHandler { agent.stop() }
            source.resume()
            sources.append(source)
        }
        Task.detached {
            await agent.run()
            exit(0)
        }
        withExtendedLifetime(sources) { dispatchMain() }
    }

    /// The system bus from DBUS_SYSTEM_BUS_ADDRESS or the standard socket; the session bus from
    /// DBUS_SESSION_BUS_ADDRESS, else systemd's per-user socket.
    static func buses() -> DesktopAgent.Buses {
        let system = environment("DBUS_SYSTEM_BUS_ADDRESS") ?? "unix:path=/run/dbus/system_bus_socket"
        let session =
            environment("DBUS_SESSION_BUS_ADDRESS")
            ?? "unix:path=\(environment("XDG_RUNTIME_DIR") ?? "/run/user/\(getuid())")/bus"
        return DesktopAgent.Buses(system: system, session: session)
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// This process's user name (getpwuid_r), which the broker names owners by.
    static func userName() -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name
        else { return nil }
        return String(cString: name)
    }

    static func fail(_ message: String) -> Never {
        var text = "devsync-agent: \(message)\n"
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
        exit(2)
    }
}
