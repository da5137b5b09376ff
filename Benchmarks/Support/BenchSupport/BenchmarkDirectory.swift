// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The benchmark's own temporary directory, `/tmp/devsync-bench-PID`, made TMPDIR so that everything the benchmark,
/// umockdev and the private bus create lands in it, and removed when the process ends, however it ends.
///
/// A benchmark that dies (umockdev's abort(), a crash, SIGKILL, Ctrl-C) runs no `defer` and no `atexit`, and its
/// directories stayed in /tmp. The removal is therefore left to a watchdog: a shell, started before anything else,
/// that reads a pipe whose one writer is this process and removes the directory once the read ends, which the
/// kernel makes happen when this process is gone. It runs in a process group of its own (Foundation's), so the
/// terminal's Ctrl-C does not stop it first. The benchmark's children die with it by `--pdeathsig`
/// (``ChildProcess``).
public enum BenchmarkDirectory {
    /// The directory, `/tmp/devsync-bench-PID`.
    public static var path: String { "/tmp/devsync-bench-\(getpid())" }

    /// Creates the directory, points TMPDIR at it and starts its watchdog; later calls do nothing. Call it before
    /// anything creates a temporary file.
    public static func use() { _ = watchdog }

    private static let watchdog: Process? = {
        let directory = path
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            FileHandle.standardError.write(Data("cannot create \(directory): \(String(cString: strerror(errno)))\n".utf8))
            exit(2)
        }
        setenv("TMPDIR", directory, 1)
        var ends: [Int32] = [0, 0]
        // pipe2 is not in Swift's Glibc; nothing else is started yet, so setting close-on-exec after is as good.
        guard pipe(&ends) == 0 else { return nil }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // Reads until every writer is gone (end of file), then removes the directory; Ctrl-C and a hang-up are
        // ignored so that they cannot end it before the benchmark.
        process.arguments = ["-c", "trap '' INT HUP; cat >/dev/null; rm -rf -- \"$0\"", directory]
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = nil
        environment["UMOCKDEV_DIR"] = nil
        process.environment = environment
        process.standardInput = FileHandle(fileDescriptor: ends[0], closeOnDealloc: false)
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            FileHandle.standardError.write(Data("cannot start the cleanup watchdog: \(error)\n".utf8))
            exit(2)
        }
        close(ends[0])
        // ends[1] stays open (close-on-exec, so no child holds it) until the process ends.
        return process
    }()
}
