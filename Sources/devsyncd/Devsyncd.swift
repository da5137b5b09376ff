// SPDX-License-Identifier: Apache-2.0
import CTaskPool
import DBus
import DevsyncDaemon
import Dispatch
import Glibc
import Logging
import ServiceLifecycle
import UdevMonitor

/// devsyncd, the device broker: parses its flags and runs the broker as a service (``BrokerDaemonService``).
///
/// No swift-argument-parser here (it would link FoundationEssentials into the daemon, ~2 MB resident): the five
/// flags are parsed by ``CommandLineOverrides/parse(_:)``. Exit statuses: devsyncd(8).
@main
enum Devsyncd {
    static func main() {
        // Before any other thread: one malloc arena, whose free top the trim after a burst gives back too
        // (task_pool.c; docs/benchmarks.md, "Memory after floods").
        devsync_malloc_one_arena()
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
        // benchmarks.md, "devsyncd: memory"). The daemon runs as a task. The main thread, with every signal
        // blocked (the signals libdispatch reads from its signalfd, SIGTERM, SIGINT and SIGHUP, stay pending for
        // it), is the thread of the daemon's one serial queue: that queue targets the main queue, which the main
        // thread drains, so that udev, the registry and the bus run on a thread that never exits (a libdispatch
        // worker would exit 5 s after each burst, an idle wakeup; Sources/CTaskPool/main_queue.c). The task
        // ends the process.
        let queue = DispatchQueue(label: "org.devsync.daemon", target: .main)
        Task.detached {
            await run(queue: queue)
            exit(0)
        }
        var all = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, nil)
        devsync_main_queue_run()
    }

    /// Parses the flags and runs the broker on `queue` until a signal or an error stops it.
    private static func run(queue: DispatchQueue) async {
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

        // One service under swift-service-lifecycle. The signals are read on the daemon's queue (DaemonSignals),
        // before the broker starts: SIGTERM and SIGINT become the group's graceful shutdown, SIGHUP a reload.
        let signals = DaemonSignals(queue: queue)
        let group = ServiceGroup(
            services: [
                BrokerDaemonService(
                    configuration: configuration, logControl: logControl, queue: queue, hangups: signals.hangups,
                    // Start-up is a burst like a flood: the cold-plug's and the exports' transient memory is
                    // given back once the daemon is quiet (task_pool.c, "Giving memory back").
                    onReady: { devsync_task_pool_note_work(4096) },
                    // A device storm is handled on the daemon's queue (udev, the registry, the bus's signals), where
                    // the pool sees little of it: without the uevents counted, no trim was due after 2,500 devices
                    // came and went, and 20 MB of free heap stayed (docs/benchmarks.md, "Memory after floods").
                    onUevents: { devsync_task_pool_note_work(UInt($0)) }, logger: logger)
            ],
            logger: logger)
        Task {
            for await signal in signals.shutdown {
                logger.debug("Shutdown signal", metadata: ["signal": "\(signal)"])
                await group.triggerGracefulShutdown()
            }
        }
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
