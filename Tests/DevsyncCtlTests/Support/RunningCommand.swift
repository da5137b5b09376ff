import Foundation
import Synchronization

/// A `devsyncctl` that keeps running (`monitor`, `sync`): its output arrives line by line; the test signals it.
final class RunningCommand: Sendable {
    private let process: Process
    /// Standard output, one line at a time.
    let lines: AsyncStream<String>
    /// Standard error, one line at a time.
    let errorLines: AsyncStream<String>
    /// Yields the exit status once.
    private let exit: AsyncStream<Int32>

    init(_ arguments: [String]) throws {
        process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        lines = Self.lines(of: output.fileHandleForReading)
        errorLines = Self.lines(of: error.fileHandleForReading)
        let (exit, exited) = AsyncStream<Int32>.makeStream()
        self.exit = exit
        process.terminationHandler = { process in
            exited.yield(process.terminationStatus)
            exited.finish()
        }
        try process.run()
    }

    /// Splits what the pipe delivers into lines, without blocking a thread on read.
    private static func lines(of handle: FileHandle) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let pending = Mutex(Data())
        handle.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            let complete: [String] = pending.withLock { buffer in
                buffer.append(chunk)
                var found: [String] = []
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    found.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
                return found
            }
            for line in complete { continuation.yield(line) }
        }
        return stream
    }

    /// The next line of `stream`, or nil when the process closed it.
    static func next(_ stream: AsyncStream<String>) async -> String? {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next()
    }

    /// Sends SIGINT, as Ctrl-C does.
    func interrupt() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGINT) }
    }

    /// The exit status, once the process has ended.
    func status() async -> Int32? {
        var iterator = exit.makeAsyncIterator()
        return await iterator.next()
    }

    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    deinit { kill() }
}
