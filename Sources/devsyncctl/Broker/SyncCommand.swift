// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import DBus
import Dispatch
import FoundationEssentials
import Glibc

/// `devsyncctl sync DEVICE [ACTION]`: run a sync action and follow its job to the end.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync a device through its owner's sync engine and follow the job until it ends.",
        discussion: """
            Prints the job's progress (a bar on a terminal, one line per change otherwise; with --json one object \
            per line) and each message of the engine, its summary last. Interrupting (Ctrl-C) cancels the job; a second interrupt leaves it running. Exits 0 when the \
            sync succeeded, 5 when it failed, 6 when it was cancelled.
            """)

    @Argument(help: "The device's uid, or a prefix of it that names one device.")
    var device: String

    @Argument(help: "The action to run; see `devsyncctl actions DEVICE`.")
    var action: String = "sync-all"

    @Flag(help: "Do not let polkit ask for a password; fail instead.")
    var noInteraction = false

    @OptionGroup var bus: BusOptions

    /// What the job (or the bus) reports while we wait.
    enum JobEvent: Sendable {
        case progress(path: DBusObjectPath, fraction: Double?, message: String?)
        case finished(path: DBusObjectPath, state: String, error: String)
        case brokerGone
        case interrupted
    }

    func run() async throws {
        try await reportingFailures {
            let client = try await bus.connect()
            let device = try await client.device(self.device)
            // Subscribed before Invoke: a fast engine may finish the job before the reply reaches us.
            let events = try await subscribe(client.connection)
            let reply = try await client.call(
                device.path, Broker.deviceInterface, "Invoke",
                [.string(action), BrokerClient.options(noInteraction: noInteraction)])
            guard let job = reply.first?.objectPath else { throw BrokerFailure("the broker sent no job path") }
            let outcome = try await follow(job, events: events, device: device, client: client)
            if bus.json {
                try Output.jsonLine(JSONValue.object([
                    "job": .string(job.rawValue), "device": .string(device.uid), "action": .string(action),
                    "state": .string(outcome.state), "error": .string(outcome.error),
                ]))
            }
            switch outcome.state {
            case "succeeded":
                if !bus.json { print("\(device.uid): \(action) succeeded") }
            case "cancelled":
                throw BrokerFailure("\(device.uid): \(action) was cancelled", status: ExitStatus.syncCancelled)
            default:
                let reason = outcome.error.isEmpty ? "" : ": \(outcome.error)"
                throw BrokerFailure("\(device.uid): \(action) failed\(reason)", status: ExitStatus.syncFailed)
            }
        }
    }

    /// The job signals and the broker's disappearance, merged into one stream.
    private func subscribe(_ connection: DBusConnection) async throws -> AsyncStream<JobEvent> {
        // One subscription for the job's signals and the broker name's owner changes, so that they come in the
        // order the bus delivered them: a job that finished before the broker exited is reported as finished.
        let signals = try await connection.signals(matchingAny: [
            DBusMatchRule(sender: Broker.busName, pathNamespace: Broker.jobsPath),
            .nameOwnerChanged(of: Broker.busName),
        ])
        let (stream, continuation) = AsyncStream<JobEvent>.makeStream()
        let signalTask = Task {
            for await message in signals {
                if let change = DBusNameOwnerChange(message) {
                    if change.newOwner == nil { continuation.yield(.brokerGone) }
                    continue
                }
                guard let path = message.path else { continue }
                if message.interface == Broker.jobInterface, message.member == "Finished" {
                    continuation.yield(.finished(
                        path: path, state: message.arguments.first?.string ?? "failed",
                        error: message.arguments.dropFirst().first?.string ?? ""))
                } else if message.interface == Broker.propertiesInterface, message.member == "PropertiesChanged",
                    message.arguments.first?.string == Broker.jobInterface
                {
                    // The end is taken from Finished, which carries the state and the error sentence together.
                    let changed = message.arguments.dropFirst().first
                    let fraction = changed?["Progress"]?.unwrapped.double
                    let text = changed?["Message"]?.unwrapped.string
                    if fraction != nil || text != nil {
                        continuation.yield(.progress(path: path, fraction: fraction, message: text))
                    }
                }
            }
        }
        // Ctrl-C becomes an event, so the job can be cancelled rather than left running unwatched. The handler is
        // installed here, synchronously, before the job is invoked (a libdispatch signal source registers
        // asynchronously and had to be waited for); until then an interrupt just ends devsyncctl, before there is
        // a job to cancel.
        let interruptSource = try InterruptSource { continuation.yield(.interrupted) }
        continuation.onTermination = { _ in
            signalTask.cancel()
            interruptSource.cancel()
        }
        return stream
    }

    /// Prints progress until the job ends; returns its final state and error sentence.
    private func follow(
        _ job: DBusObjectPath, events: AsyncStream<JobEvent>, device: Device, client: BrokerClient
    ) async throws -> (state: String, error: String) {
        let bar = Output.isTerminal && !bus.json
        var lastPercent = -1
        func show(_ fraction: Double) {
            let percent = Int((min(max(fraction, 0), 1) * 100).rounded(.down))
            guard percent != lastPercent else { return }
            lastPercent = percent
            if bar {
                let width = 30
                let filled = percent * width / 100
                let line = "\r\(action) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(percent)%"
                Output.write(line, to: STDOUT_FILENO)
            } else if bus.json {
                try? Output.jsonLine(JSONValue.object(["job": .string(job.rawValue), "progress": .double(fraction)]))
            } else {
                print("\(device.uid): \(action) \(percent)%")
            }
            fflush(nil)
        }
        // The engine's messages ("Importing IMG_0002.JPG (2 of 3)", then its summary), one line each.
        var lastMessage = ""
        func say(_ message: String) {
            guard !message.isEmpty, message != lastMessage else { return }
            lastMessage = message
            if bus.json {
                try? Output.jsonLine(JSONValue.object(["job": .string(job.rawValue), "message": .string(message)]))
            } else {
                if bar && lastPercent >= 0 { print("") }
                print("\(device.uid): \(message)")
                if bar && lastPercent >= 0 { lastPercent = -1 }
            }
            fflush(nil)
        }
        defer { if bar && lastPercent >= 0 { print("") } }
        var cancelling = false
        for await event in events {
            switch event {
            case .progress(let path, let fraction, let message) where path == job:
                if let fraction { show(fraction) }
                if let message { say(message) }
            case .finished(let path, let state, let error) where path == job:
                if state == "succeeded" { show(1) }
                return (state, error)
            case .interrupted where !cancelling:
                cancelling = true
                if bar && lastPercent >= 0 { print("") }
                Output.error("devsyncctl: cancelling \(job.rawValue); interrupt again to leave it running")
                do {
                    _ = try await client.call(job, Broker.jobInterface, "Cancel", [BrokerClient.options(noInteraction: noInteraction)])
                } catch let failure as BrokerFailure where failure.status == ExitStatus.refused {
                    // It ended meanwhile: its Finished is on its way.
                }
            case .interrupted:
                throw BrokerFailure("\(job.rawValue) left running", status: 130)
            case .brokerGone:
                throw BrokerFailure("the devsync broker went away during the sync", status: ExitStatus.unavailable)
            default: continue
            }
        }
        throw BrokerFailure("the connection to the bus closed during the sync", status: ExitStatus.unavailable)
    }
}

/// SIGINT as events, through a self-pipe: the handler only writes one byte (async-signal-safe), and a read
/// source on the pipe's other end calls `onInterrupt` once per interrupt. `cancel()` puts the default action back.
private final class InterruptSource: Sendable {
    // DispatchSource's methods are thread-safe; the reference only keeps the source alive.
    nonisolated(unsafe) private let source: any DispatchSourceRead

    init(_ onInterrupt: @escaping @Sendable () -> Void) throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw BrokerFailure("cannot watch for Ctrl-C: \(String(cString: strerror(errno)))", status: ExitStatus.refused)
        }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: ends[0], queue: DispatchQueue(label: "devsyncctl.sigint"))
        source.setEventHandler { [readEnd = ends[0]] in
            var bytes = [UInt8](repeating: 0, count: 16)
            let count = read(readEnd, &bytes, bytes.count)
            for _ in 0..<max(0, count) { onInterrupt() }
        }
        source.setCancelHandler { [ends] in
            close(ends[0])
            close(ends[1])
        }
        self.source = source
        source.resume()
        interruptPipe = ends[1]
        signal(SIGINT) { _ in
            let saved = errno  // the interrupted code may be about to read it
            var byte: UInt8 = 1
            _ = write(interruptPipe, &byte, 1)
            errno = saved
        }
    }

    func cancel() {
        signal(SIGINT, SIG_DFL)
        interruptPipe = -1
        source.cancel()
    }
}

/// The write end of the interrupt pipe, for the signal handler (which may touch nothing but this and write).
nonisolated(unsafe) private var interruptPipe: Int32 = -1
