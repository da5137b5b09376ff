// SPDX-License-Identifier: Apache-2.0
import Foundation

// What the stand-alone benchmarks in Tools/ share: a clock, percentiles, and a private dbus-daemon.

/// CLOCK_MONOTONIC in nanoseconds.
public func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The sample `fraction` of the way up `sorted` (sorted ascending, not empty): 0.5 is the median.
public func percentile<Sample>(_ sorted: [Sample], _ fraction: Double) -> Sample {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

/// A duration in microseconds.
public func microseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
}

/// A private `dbus-daemon` listening in a directory of its own, open to everyone on this machine (any user may
/// own any name, send and eavesdrop), as the benchmarks' mocks and clients need. `stop()` kills it and removes
/// the directory.
public final class PrivateBus {
    /// The address clients connect to (`unix:path=…`).
    public let address: String
    /// The bus's directory, for the benchmark's other temporary files too.
    public let directory: URL
    private let process: Process

    /// Starts the daemon (configuration `type` is `session` or `system`) and returns once it listens.
    public init(type: String = "session", label: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("devsync-\(label)-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let socket = directory.appendingPathComponent("bus").path
        let configuration = directory.appendingPathComponent("bus.conf")
        try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>\(type)</type>
              <listen>unix:path=\(socket)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
                <allow eavesdrop="true"/>
              </policy>
              <limit name="max_incoming_bytes">1000000000</limit>
              <limit name="max_outgoing_bytes">1000000000</limit>
            </busconfig>
            """.write(to: configuration, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        process.arguments = ["--config-file=\(configuration.path)", "--nofork", "--print-address"]
        // Never under umockdev's preload, even when the benchmark is.
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = nil
        environment["UMOCKDEV_DIR"] = nil
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try ChildProcess.run(process)
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        address = "unix:path=\(socket)"
    }

    /// The daemon's process id, for reading its CPU time.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Kills the daemon and removes the directory.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
