// SPDX-License-Identifier: Apache-2.0
// devsyncd's resident memory under floods (issue 13, "Memory after floods"): does a quiet daemon give back what a
// burst of work took?
//
//   make release                                          # .build-static/release/devsyncd, as installed
//   swift build -c release --package-path Benchmarks --product FloodMemory && \
//       TMPDIR=/dev/shm LD_PRELOAD=libumockdev-preload.so.0 Benchmarks/.build/release/FloodMemory [--rounds 3]
//
// devsyncd runs as its own process under umockdev's preload on a private dbus-daemon (no BlueZ), with 100 MTP
// players present at start. Two floods, each measured as VmRSS of devsyncd at its baseline (settled), its peak
// (sampled every 10 ms while the flood runs), at the end of the flood and 5 s after devsyncd went quiet (its CPU
// time unchanged for a second: on a loaded machine it is still answering calls the clients gave up on):
//
//   1. calls: 10,050 method calls in flight at once from 150 connections (67 each, under dbus-daemon's default of
//      128 pending replies per connection), a mix of ListDevices, DeviceByUid of an unknown uid (an error reply),
//      Introspect, Properties.GetAll and, 1 call in 25, GetManagedObjects; `--rounds N` rounds (default 3);
//   2. a device storm: 2,500 distinct players plugged (each usb_device and its interface announced by an add
//      uevent, as the kernel does), and then unplugged (remove uevents, sysfs directories gone), as fast as
//      devsyncd reads them: each uevent waits until every monitor socket has room (`UeventPacing`; umockdev's
//      sender aborts when one is full). Pending devices are dropped: each `DeviceAdded` is followed by a
//      `DeviceRemoved`.
//
// The target (issue 13): at most 1.2 × the baseline 5 s after the call flood. `DEVSYNCD` may name another
// binary; `--devices N` changes the storm's size; `--calls-only` / `--storm-only` run one flood; `--hold N` keeps
// devsyncd running N seconds at the end (to attach gdb); `--no-descriptors` and `--unpaced` bring back the storm's
// old abort (see the storm below).

import BenchSupport
import DBus
import Foundation
import Glibc
import Logging
import UmockdevSupport

/// One line to stdout at once, unbuffered, so that a figure survives a later crash.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

guard getenv("LD_PRELOAD").map({ String(cString: $0).contains("libumockdev-preload") }) == true else {
    say("run with LD_PRELOAD=libumockdev-preload.so.0 (and TMPDIR=/dev/shm), see the comment at the top")
    exit(2)
}
keepFilesOutOfDev()  // before anything opens a file: umockdev 0.17 aborts otherwise, now and then
let repository = URL(fileURLWithPath: #filePath)  // Benchmarks/Tools/FloodMemory/main.swift
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let devsyncd = ProcessInfo.processInfo.environment["DEVSYNCD"]
    ?? repository.appendingPathComponent(".build-static/release/devsyncd").path
guard FileManager.default.isExecutableFile(atPath: devsyncd) else {
    say("no devsyncd at \(devsyncd): run `make release` in the repository root")
    exit(2)
}
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count,
        let value = Int(CommandLine.arguments[index + 1]), value > 0 else { return fallback }
    return value
}
let rounds = option("--rounds", 3)
let stormDevices = option("--devices", 2_500)
let runsCalls = !CommandLine.arguments.contains("--storm-only")
let runsStorm = !CommandLine.arguments.contains("--calls-only")
// Two switches that bring back how the storm used to end, to look at it (docs/benchmarks.md): players without
// `descriptors` (devsyncd falls back to libusb), and uevents sent without waiting for room.
let withDescriptors = !CommandLine.arguments.contains("--no-descriptors")
let paced = !CommandLine.arguments.contains("--unpaced")
/// Waits until umockdev can send a uevent without aborting (`UeventPacing`), unless `--unpaced`.
func pace() throws { if paced { try UeventPacing.waitForRoom() } }
let connectionsInFlood = 150
let callsPerConnection = 67
var logger = Logger(label: "devsync.bench.flood")
logger.logLevel = .warning

// Everything temporary (this, the bus, umockdev's testbed) is in the benchmark's own directory, which goes when
// the benchmark does, however it ends (`BenchmarkDirectory`); its children die with it (`ChildProcess`).
let scratch = URL(fileURLWithPath: BenchmarkDirectory.path).appendingPathComponent("flood")
try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)

// A private bus (never the host's), the "system" bus of devsyncd.
let bus = try PrivateBus(type: "system", label: "flood-bench-bus")
let address = bus.address
let client = try await DBusConnection.connect(to: address, logger: logger)
let brokerName = "org.devsync.Broker1"
let managerPath = try DBusObjectPath("/org/devsync/Broker1")
let managerInterface = "org.devsync.Broker1.Manager"

// MARK: umockdev

let testbed = umockdev_testbed_new()!  // sets UMOCKDEV_DIR in this process; devsyncd gets the same
let umockdevDirectory = String(cString: getenv("UMOCKDEV_DIR"))
let host = UmockdevSupport.addDevice(testbed, "pci", "0000:00:14.0", nil, [], [])
var nextDeviceNumber = 2

/// An MTP player (the shipped profiles know it by class), as the kernel shows one: its usb_device with the
/// uevent properties and the `descriptors` the kernel read at enumeration, announced by an add uevent, then its
/// interface, announced by its own; returns both syspaths. The descriptors are there before the device's uevent
/// (umockdev's add-from-string writes every attribute first), as on a real machine: without them devsyncd, which
/// may read the device before its interface directory exists, would ask libusb, whose context opens a udev
/// monitor of its own (see the storm below).
@MainActor @discardableResult
func addPlayer(port: String, serial: String) throws -> (device: String, interface: String) {
    nextDeviceNumber += 1
    let number = String(nextDeviceNumber % 127 + 1)
    let paddedNumber = String(repeating: "0", count: 3 - number.count) + number
    let syspath = "\(host)/\(port)"
    // Device descriptor (MTP class at the interface, vendor 1234, product 5678, bcdDevice 0100, one configuration),
    // then configuration 1 with interface 0, class 6/1/1 (still image, MTP), no endpoints.
    let descriptors = "120100020000004034127856000101020301090212000101008032090400000006010100"
    let record = """
        P: \(syspath.dropFirst("/sys".count))
        E: SUBSYSTEM=usb
        E: DEVTYPE=usb_device
        E: PRODUCT=1234/5678/100
        E: TYPE=0/0/0
        E: BUSNUM=001
        E: DEVNUM=\(paddedNumber)
        A: idVendor=1234
        A: idProduct=5678
        A: bcdDevice=0100
        A: serial=\(serial)
        A: manufacturer=Bench
        A: product=Player
        A: bNumInterfaces= 1
        A: bConfigurationValue=1
        A: busnum=1
        A: devnum=\(number)\(withDescriptors ? "\nH: descriptors=" + descriptors : "")


        """
    try pace()
    var error: UnsafeMutablePointer<GError>?
    guard umockdev_testbed_add_from_string(testbed, record, &error) != 0 else {
        let message = error.map { String(cString: $0.pointee.message) } ?? "?"
        say("umockdev cannot add \(syspath): \(message)")
        exit(1)
    }
    try pace()
    let interface = UmockdevSupport.addDevice(testbed, "usb", "\(port):1.0", syspath,
        [("bInterfaceNumber", "00"), ("bInterfaceClass", "06"), ("bInterfaceSubClass", "01"), ("bInterfaceProtocol", "01"),
         ("interface", "MTP")],
        [("DEVTYPE", "usb_interface"), ("PRODUCT", "1234/5678/100"), ("TYPE", "0/0/0"), ("INTERFACE", "6/1/1")])
    return (syspath, interface)
}

// MARK: Memory of the daemon

/// A /proc/PID/status field in kB (VmRSS, VmHWM, RssAnon).
@Sendable func status(_ pid: Int32, _ field: String) -> Int {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }
    return -1
}

/// The threads of `pid` and its open descriptors, which should not grow with a flood.
func threadsAndDescriptors(_ pid: Int32) -> (Int, Int) {
    let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"))?.count ?? -1
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count ?? -1
    return (threads, descriptors)
}

/// Reads VmRSS of a process every 10 ms on a thread of its own until stopped; the largest value is the peak.
final class PeakSampler: @unchecked Sendable {  // `peak` and `running` guarded by `lock`
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        let thread = Thread { [self] in
            while true {
                let rss = status(pid, "VmRSS")
                lock.lock()
                peak = max(peak, rss)
                let goOn = running
                lock.unlock()
                if !goOn { break }
                usleep(10_000)
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops sampling and returns the peak in kB.
    func stop() -> Int {
        lock.lock()
        running = false
        lock.unlock()
        done.wait()
        lock.lock()
        defer { lock.unlock() }
        return peak
    }
}

/// devsyncd's CPU time so far in clock ticks (utime + stime of /proc/PID/stat).
func cpuTicks(_ pid: Int32) -> Int {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    guard let close = text.lastIndex(of: ")") else { return -1 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
}

/// Waits until devsyncd used no CPU for a second (at most 300 s); returns how long that took.
func waitUntilQuiet(_ pid: Int32) async throws -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    var last = cpuTicks(pid)
    var quietSince = clock.now
    while clock.now - start < .seconds(300) {
        try await Task.sleep(for: .milliseconds(250))
        let now = cpuTicks(pid)
        if now != last { last = now; quietSince = clock.now }
        if clock.now - quietSince >= .seconds(1) { break }
    }
    return clock.now - start
}

func megabytes(_ kilobytes: Int) -> String { String(format: "%.1f MB", Double(kilobytes) / 1024) }

// MARK: The daemon

for index in 0..<100 { try addPlayer(port: "1-\(index + 1)", serial: "P\(index)") }
let state = scratch.appendingPathComponent("state")
try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
let owners = try await client.nameOwnerChanges(of: brokerName)
var environment = ProcessInfo.processInfo.environment
environment["UMOCKDEV_DIR"] = umockdevDirectory
environment["DBUS_SYSTEM_BUS_ADDRESS"] = address
let daemon = Process()
daemon.executableURL = URL(fileURLWithPath: devsyncd)
daemon.arguments = ["--bus", "system", "--state-dir", state.path, "--log-level", "warning",
                    "--profiles", repository.appendingPathComponent("fdi-profiles").path]
daemon.environment = environment
daemon.standardOutput = FileHandle.nullDevice
daemon.standardError = FileHandle.nullDevice
try ChildProcess.run(daemon)
for await change in owners where change.newOwner != nil { break }
let pid = daemon.processIdentifier

@MainActor func cleanUp() {
    if daemon.isRunning { kill(pid, SIGKILL) }
    bus.stop()
    try? FileManager.default.removeItem(at: scratch)
}
defer { cleanUp() }
defer { g_object_unref(testbed) }  // umockdev removes its directory

/// Waits until devsyncd's resident memory stops changing (libdispatch ends idle threads 5 s after their work).
func settle() async throws {
    try await Task.sleep(for: .seconds(6))
}

try await settle()
let baseline = status(pid, "VmRSS")
let (threadsAtStart, descriptorsAtStart) = threadsAndDescriptors(pid)
say("devsyncd \(devsyncd), 100 devices, load average \(loadAverage())")
say("baseline: VmRSS \(megabytes(baseline)) (RssAnon \(megabytes(status(pid, "RssAnon")))), \(threadsAtStart) threads, \(descriptorsAtStart) descriptors")

func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

/// Reports a flood: its peak, the end, and 5 s after the end, each against the baseline.
func report(_ label: String, peak: Int, end: Int, quiet: Duration, after: Int) {
    let (threads, descriptors) = threadsAndDescriptors(pid)
    say(String(format: "%@: peak %@, at the end %@, quiet %.1f s later, 5 s after that %@ (%.2f × baseline); %d threads, %d descriptors; load %@",
               label, megabytes(peak), megabytes(end), Double(quiet.components.seconds), megabytes(after),
               Double(after) / Double(baseline), threads, descriptors, loadAverage()))
}

// MARK: 1: calls

if runsCalls {
    var clients: [DBusConnection] = []
    for _ in 0..<connectionsInFlood { clients.append(try await DBusConnection.connect(to: address, logger: logger)) }
    let unknown = "usb-ffff-ffff-nothing"
    for round in 1...rounds {
        let sampler = PeakSampler(pid: pid)
        let outcomes = await withTaskGroup(of: String.self) { group in
            for connection in clients {
                for call in 0..<callsPerConnection {
                    group.addTask {
                        do {
                            switch call % 5 {
                            case 0:
                                _ = try await connection.call(
                                    destination: brokerName, path: managerPath, interface: managerInterface, member: "ListDevices")
                            case 1 where call % 25 == 1:  // 1 call in 25: its reply (~200 KB with 100 devices) is large
                                _ = try await connection.call(
                                    destination: brokerName, path: managerPath, interface: "org.freedesktop.DBus.ObjectManager",
                                    member: "GetManagedObjects")
                            case 2:
                                _ = try await connection.call(
                                    destination: brokerName, path: managerPath, interface: managerInterface, member: "DeviceByUid",
                                    arguments: [.string(unknown)])
                            case 1, 3:
                                _ = try await connection.call(
                                    destination: brokerName, path: managerPath, interface: "org.freedesktop.DBus.Introspectable",
                                    member: "Introspect")
                            default:
                                _ = try await connection.call(
                                    destination: brokerName, path: managerPath, interface: "org.freedesktop.DBus.Properties",
                                    member: "GetAll", arguments: [.string(managerInterface)])
                            }
                            return "answered"
                        } catch let error as DBusError where error.name.hasPrefix("org.devsync") {
                            return "answered"  // DeviceByUid's NoSuchDevice is an answer too
                        } catch let error as DBusError {
                            return error.name
                        } catch {
                            return "\(error)"
                        }
                    }
                }
            }
            var outcomes: [String: Int] = [:]
            for await outcome in group { outcomes[outcome, default: 0] += 1 }
            return outcomes
        }
        let end = status(pid, "VmRSS")
        let quiet = try await waitUntilQuiet(pid)
        try await Task.sleep(for: .seconds(5))
        let peak = max(sampler.stop(), end)
        let failures = outcomes.filter { $0.key != "answered" }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        report("calls, round \(round) (\(outcomes["answered"] ?? 0) of \(connectionsInFlood * callsPerConnection) answered\(failures.isEmpty ? "" : "; " + failures))",
               peak: peak, end: end, quiet: quiet, after: status(pid, "VmRSS"))
    }
    for connection in clients { await connection.close() }
    try await settle()
}

// MARK: 2: a device storm

if runsStorm {
    let signals = try await client.signals(matchingAny: [
        DBusMatchRule(sender: brokerName, path: managerPath, interface: managerInterface, member: "DeviceAdded"),
        DBusMatchRule(sender: brokerName, path: managerPath, interface: managerInterface, member: "DeviceRemoved"),
    ])
    var iterator = signals.makeAsyncIterator()
    /// Waits for `count` signals named `member` (others are skipped); gives up after 15 minutes.
    func await(_ count: Int, _ member: String) async {
        let timeout = Task {
            try await Task.sleep(for: .seconds(900))
            say("gave up: fewer than \(count) \(member) signals in 15 minutes")
            exit(1)
        }
        defer { timeout.cancel() }
        var seen = 0
        while seen < count, let signal = await iterator.next(isolation: MainActor.shared) {
            if signal.member == member { seen += 1 }
        }
    }
    _ = try await waitUntilQuiet(pid)  // a daemon still busy with calls is not what the storm starts from
    let before = status(pid, "VmRSS")
    let beforeAnonymous = status(pid, "RssAnon")
    let sampler = PeakSampler(pid: pid)
    let clock = ContinuousClock()
    // All plugged, then all unplugged, as fast as devsyncd reads its uevents: every uevent waits until each
    // monitor socket has room (`UeventPacing`), which is what keeps umockdev's sender from aborting.
    let plugStart = clock.now
    var plugged: [(device: String, interface: String)] = []
    for index in 0..<stormDevices {
        plugged.append(try addPlayer(port: "\(3 + index / 100)-\(1 + index % 100)", serial: "S\(index)"))
    }
    await await(stormDevices, "DeviceAdded")
    let plugTime = clock.now - plugStart
    let present = status(pid, "VmRSS")
    // Unplugged as the kernel does it: the interface's remove uevent, the device's, and their sysfs directories go.
    let unplugStart = clock.now
    for (device, interface) in plugged {
        try pace()
        umockdev_testbed_uevent(testbed, interface, "remove")
        try pace()
        umockdev_testbed_uevent(testbed, device, "remove")
        umockdev_testbed_remove_device(testbed, interface)
        umockdev_testbed_remove_device(testbed, device)
    }
    await await(stormDevices, "DeviceRemoved")
    let unplugTime = clock.now - unplugStart
    let end = status(pid, "VmRSS")
    let quiet = try await waitUntilQuiet(pid)
    try await Task.sleep(for: .seconds(5))
    let peak = max(sampler.stop(), end)
    let after = status(pid, "VmRSS")
    say(String(format: "before the storm: VmRSS %@ (RssAnon %@); %d devices present: VmRSS %@ (plugged in %.1f s); unplugged in %.1f s",
               megabytes(before), megabytes(beforeAnonymous), 100 + stormDevices, megabytes(present),
               Double(plugTime.components.seconds) + Double(plugTime.components.attoseconds) / 1e18,
               Double(unplugTime.components.seconds) + Double(unplugTime.components.attoseconds) / 1e18))
    report("\(stormDevices) devices plugged and unplugged", peak: peak, end: end, quiet: quiet, after: after)
    say(String(format: "5 s after quiet: RssAnon %@ (%.2f × before the storm); VmRSS %.2f × before the storm",
               megabytes(status(pid, "RssAnon")), Double(status(pid, "RssAnon")) / Double(beforeAnonymous),
               Double(after) / Double(before)))
}

// `--hold N`: keep devsyncd N more seconds (to attach gdb or heaptrack to it).
if CommandLine.arguments.contains("--hold") {
    say("holding devsyncd (pid \(pid)) for \(option("--hold", 60)) s")
    try await Task.sleep(for: .seconds(option("--hold", 60)))
}
await client.close()
