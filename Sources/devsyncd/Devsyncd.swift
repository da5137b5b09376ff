// SPDX-License-Identifier: Apache-2.0
import CTaskPool
import DBus
import DevsyncDaemon
import Glibc
import Logging
import ServiceLifecycle

/// devsyncd, the device broker: parses its flags and runs the broker as a service (``BrokerDaemonService``).
///
/// No swift-argument-parser here (it would link FoundationEssentials into the daemon, ~2 MB resident): the five
/// flags are parsed by ``CommandLineOverrides/parse(_:)``. Exit statuses: devsyncd(8).
@main
enum Devsyncd {
    static func main() {
        // Before any task reaches the global executor: libdispatch's global queues would start a timer that
        // wakes the daemon every second, idle or not (Sources/CTaskPool/task_pool.c).
        devsync_task_pool_install(0)
        // A flood of D-Bus calls is answered mostly on the connection's queue, outside the pool, and its replies
        // are written out after the last call: counted there too, so that the memory it took is given back once
        // it is over (task_pool.c, "Giving memory back").
        DBusActivity.observer = { devsync_task_pool_note_work(UInt($0)) }
        // libdbus and libbluetooth write to sockets whose peer may vanish; that must be an EPIPE, not death.
        signal(SIGPIPE, SIG_IGN)

        // Not an async main: its main thread would end in dispatch_main's pthread_exit, whose forced unwind
        // reads the binary's whole unwind table (0.3 MB of .eh_frame_hdr, resident from then on; docs/
        // benchmarks.md, "devsyncd: memory"). The daemon runs as a task, and the main thread sleeps with every
        // signal blocked, so that the signals libdispatch reads from its signalfd (SIGTERM, SIGINT, SIGHUP)
        // stay pending for it as they did once the main thread had ended. The task ends the process.
        Task.detached {
            await run()
            exit(0)
        }
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
        while true { pause() }
    }

    /// Parses the flags and runs the broker until a signal or an error stops it.
    private static func run() async {
        let configuration: DaemonConfiguration
        do {
            switch try CommandLineOverrides.parse(Array(CommandLine.arguments.dropFirst())) {
            case .help:
                write(CommandLineOverrides.usage, to: 1)
                exit(0)
            case .version:
                write(CommandLineOverrides.versionLine, to: 1)
                exit(0)
            case .run(let overrides):
                configuration = try DaemonConfiguration.resolve(overrides)
            }
        } catch {
            fail("\(error)", status: 2)
        }
        // Structured journal entries when systemd connected stderr to the journal, text on stderr otherwise;
        // `systemctl service-log-level/-target` change both at run time (org.freedesktop.LogControl1).
        let automatic: LogControl.Target = JournalLogHandler.stderrIsJournal ? .journal : .console
        let logControl = LogControl(level: configuration.logLevel, target: automatic)
        LoggingSystem.bootstrap { _ in JournalLogHandler(control: logControl) }
        let logger = Logger(label: "devsyncd")

        // One service under swift-service-lifecycle: the group traps SIGTERM and SIGINT before the broker
        // starts and turns them into a graceful shutdown; the service itself handles SIGHUP.
        let group = ServiceGroup(
            services: [BrokerDaemonService(configuration: configuration, logControl: logControl, logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch let error as StartError {
            fail(error.message, status: error.step == .nameTaken ? 3 : 1)
        } catch {
            // BrokerDaemonService.BusClosed, logged by the service; anything else is logged here.
            if !(error is BrokerDaemonService.BusClosed) { logger.error("Stopped by an error", metadata: ["error": "\(error)"]) }
            exit(1)
        }
    }

    /// Writes `devsyncd: message` to stderr and exits.
    private static func fail(_ message: String, status: Int32) -> Never {
        write("devsyncd: \(message)\n", to: 2)
        exit(status)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(descriptor, bytes.baseAddress, bytes.count) }
    }
}
