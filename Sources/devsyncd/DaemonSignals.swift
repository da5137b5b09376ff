// SPDX-License-Identifier: Apache-2.0
import Dispatch
import Glibc

/// SIGTERM, SIGINT and SIGHUP as streams, read by dispatch signal sources on the daemon's own queue.
///
/// swift-service-lifecycle's `UnixSignalsSequence` registers its sources from a queue of its own, whose
/// libdispatch worker thread then exits 5 s later: a wakeup of an idle daemon that has just started
/// (docs/benchmarks.md, "Idle wakeups"). On the daemon's queue, which the main thread drains, registering and
/// delivering them costs no thread. Every thread blocks these signals, so one that arrives before a source is
/// registered stays pending until libdispatch's signalfd reads it.
struct DaemonSignals: Sendable {
    /// SIGTERM and SIGINT: stop gracefully.
    let shutdown: AsyncStream<Int32>
    /// SIGHUP: reload the profiles.
    let hangups: AsyncStream<Void>
    // Kept so that the sources live as long as the daemon.
    private let sources: [SendableSource]

    /// A dispatch source the daemon keeps for its lifetime; it is only resumed here and never touched again.
    private struct SendableSource: @unchecked Sendable {
        let source: any DispatchSourceSignal
    }

    init(queue: DispatchQueue) {
        let (shutdown, shutdownContinuation) = AsyncStream.makeStream(of: Int32.self)
        let (hangups, hangupContinuation) = AsyncStream.makeStream(of: Void.self)
        var sources: [SendableSource] = []
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            source.setEventHandler {
                if signal == SIGHUP { hangupContinuation.yield() } else { shutdownContinuation.yield(signal) }
            }
            source.resume()
            sources.append(SendableSource(source: source))
        }
        self.shutdown = shutdown
        self.hangups = hangups
        self.sources = sources
    }
}
