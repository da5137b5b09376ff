// SPDX-License-Identifier: Apache-2.0
import DevsyncTestSupport
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

    /// Starts devsyncctl with `arguments`; with `blockingInterrupts`, with SIGINT blocked as a parent running on a
    /// libdispatch worker thread leaves it (python3 blocks it and execs devsyncctl, keeping the process).
    init(_ arguments: [String], blockingInterrupts: Bool = false) throws {
        process = Process()
        if blockingInterrupts {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [
                "-c",
                "import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}); os.execv(sys.argv[1], sys.argv[1:])",
                try binary().path,
            ] + arguments
        } else {
            process.executableURL = try binary()
            process.arguments = arguments
        }
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
        try ChildProcess.run(process)
    }

    /// Splits what the pipe delivers into lines, read on a thread of its own until end of file.
    ///
    /// (FileHandle's readabilityHandler was used first: under load its end of file sometimes never came, and a
    /// test waiting for a command's last line of standard error hung until its time limit.)
    private static func lines(of handle: FileHandle) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let descriptor = handle.fileDescriptor
        let reader = Thread {
            var pending = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                pending.append(contentsOf: buffer[0..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            if !pending.isEmpty { continuation.yield(String(decoding: pending, as: UTF8.self)) }
            continuation.finish()
            withExtendedLifetime(handle) {}
        }
        reader.start()
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
