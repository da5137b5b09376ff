// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Dispatch
import Logging
import ServiceLifecycle
import UnixSignals

/// devsyncd's broker as a swift-service-lifecycle `Service`: run it in a `ServiceGroup` whose graceful-shutdown
/// signals are SIGTERM and SIGINT.
///
/// ``run()`` traps SIGHUP first (its default action would end the daemon), then starts a ``RunningBroker``,
/// reloads the profiles and re-matches the present devices on each SIGHUP, and on graceful shutdown stops the
/// broker and returns. The group traps its signals before any service runs, so a SIGTERM that arrives while
/// the broker is still starting stops it as soon as it has started.
public struct BrokerDaemonService: Service {
    /// The bus connection closed under the broker: nobody is served any more, so the daemon should exit
    /// (with status 1; systemd restarts it or bus activation starts it again).
    public struct BusClosed: Error, CustomStringConvertible {
        /// A sentence for the log.
        public var description: String { "The bus connection closed" }
    }

    private let configuration: DaemonConfiguration
    private let additionalSources: @Sendable () -> [AsyncStream<SourceEvent>]
    private let logControl: LogControl?
    private let queue: DispatchQueue?
    private let hangups: AsyncStream<Void>?
    private let onReady: (@Sendable () -> Void)?
    private let onUevents: (@Sendable (Int) -> Void)?
    private let logger: Logger

    /// A service that will start the broker `configuration` describes.
    ///
    /// - Parameter additionalSources: made when the service runs; more device sources, as
    ///   ``RunningBroker/start(configuration:additionalSources:logControl:queue:logger:)`` takes them.
    /// - Parameter logControl: the log settings offered as `org.freedesktop.LogControl1`; nil for none.
    /// - Parameter queue: the broker's serial queue, as ``RunningBroker/start(configuration:additionalSources:logControl:queue:logger:)``
    ///   takes it; nil for a queue of its own.
    /// - Parameter hangups: one element per SIGHUP, when the caller reads the signal itself; nil traps SIGHUP
    ///   here (`UnixSignalsSequence`).
    /// - Parameter onReady: called once the broker has started and owns its name.
    /// - Parameter onUevents: as ``RunningBroker/start(configuration:additionalSources:logControl:queue:onUevents:logger:)``
    ///   takes it.
    public init(
        configuration: DaemonConfiguration,
        additionalSources: @escaping @Sendable () -> [AsyncStream<SourceEvent>] = { [] },
        logControl: LogControl? = nil,
        queue: DispatchQueue? = nil,
        hangups: AsyncStream<Void>? = nil,
        onReady: (@Sendable () -> Void)? = nil,
        onUevents: (@Sendable (Int) -> Void)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.additionalSources = additionalSources
        self.logControl = logControl
        self.queue = queue
        self.hangups = hangups
        self.onReady = onReady
        self.onUevents = onUevents
        self.logger = logger
    }

    /// Starts the broker and serves until graceful shutdown.
    ///
    /// - Throws: ``StartError`` when the broker cannot start; ``BusClosed`` when the bus goes away under it.
    public func run() async throws {
        let hangups: AsyncStream<Void>
        if let given = self.hangups {
            hangups = given
        } else {
            let trapped = await UnixSignalsSequence(trapping: .sighup)
            hangups = AsyncStream { continuation in
                let forwarding = Task {
                    for await _ in trapped { continuation.yield() }
                    continuation.finish()
                }
                continuation.onTermination = { _ in forwarding.cancel() }
            }
        }
        let broker = try await RunningBroker.start(
            configuration: configuration, additionalSources: additionalSources(), logControl: logControl, queue: queue,
            onUevents: onUevents, logger: logger)
        onReady?()

        enum Ending: Sendable { case shutdown, busClosed }
        let logger = logger
        let ending = await withTaskGroup(of: Ending?.self) { group in
            group.addTask {
                for await _ in hangups {
                    let result = await broker.reloadProfiles()
                    // Each problem was logged with its file:line:column as it was found; this line sums up.
                    logger.log(
                        level: result.errors.isEmpty ? .notice : .warning, "SIGHUP: profiles reloaded",
                        metadata: ["rules": "\(result.rules)", "problems": "\(result.errors.count)"])
                }
                return nil
            }
            group.addTask {
                await broker.waitUntilDisconnected()
                return .busClosed
            }
            group.addTask {
                // Throws only when cancelled, which only this group does.
                (try? await gracefulShutdown()).map { .shutdown }
            }
            var ending: Ending?
            while ending == nil, let next = await group.next() { ending = next }
            group.cancelAll()
            return ending ?? .shutdown
        }

        switch ending {
        case .shutdown:
            logger.notice("Stopping")
            await broker.stop()
        case .busClosed:
            logger.error("The bus connection closed; stopping")
            await broker.stop()
            throw BusClosed()
        }
    }
}
