// SPDX-License-Identifier: Apache-2.0
// The whole daemon, measured from outside (issue 6's figures, and issue 5's pairing figure end to end):
//
//   swift build -c release --product devsyncd            # in the repository root
//   swift build -c release --package-path Benchmarks --product DaemonEndToEnd && \
//       TMPDIR=/dev/shm LD_PRELOAD=libumockdev-preload.so.0 Benchmarks/.build/release/DaemonEndToEnd
//
// devsyncd runs as its own process under umockdev's preload (the testbed lives in this process, which sends the
// uevents), on a private dbus-daemon shared with dbusmock's bluez5. This process is also the client: a
// connection of the project's binding subscribed to the Manager's signals, as an applet would be, drives the
// phases; a plain libdbus connection on its own thread (Support/SignalStamps) times DeviceAdded as it reads it.
//
//   1. resident memory with 100 devices published, and again after 1,000 hotplugs;
//   2. wake-ups of every devsyncd thread over 10 idle seconds (context switches from /proc);
//   3. uevent sent → DeviceAdded received, 1,000 plug-ins of a new (pending) device, each unplugged again;
//   4. PropertiesChanged(Paired=true) from the bluez5 mock → DeviceAdded received, 300 pairings;
//   5. start with 500 devices present → org.devsync.Broker1 owned, which the daemon takes only once every
//      cold-plugged device is published (checked with ListDevices), 3 runs.
//
// Options: `--hotplugs N`, `--pairings N`, `--starts N` change the counts; `--stored` approves the 500 devices
// before the timed starts (known devices coming back, each with its state file); `--only start` runs phase 5 alone,
// `--only hotplug` phase 3 alone (no idle pause, no pairing), for profiling one of them (DEVSYNCD may name a
// wrapper script, e.g. one running devsyncd under `perf record`); `--daemon-log DIR` keeps each devsyncd's
// stderr at info level in DIR (its log lines carry no timestamps; the wrapper can add them).

import BenchSupport
import DBus
import Foundation
import Glibc
import Logging
import SignalStamps
import UmockdevSupport

// MARK: Set-up

/// One line to stdout at once, unbuffered, so that a figure survives a later crash.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

guard getenv("LD_PRELOAD").map({ String(cString: $0).contains("libumockdev-preload") }) == true else {
    say("run with LD_PRELOAD=libumockdev-preload.so.0 (and TMPDIR=/dev/shm), see the comment at the top")
    exit(2)
}
keepFilesOutOfDev()  // before anything opens a file: umockdev 0.17 aborts otherwise, now and then
let repository = URL(fileURLWithPath: #filePath)  // Benchmarks/Tools/DaemonEndToEnd/main.swift
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let devsyncd = ProcessInfo.processInfo.environment["DEVSYNCD"] ?? repository.appendingPathComponent(".build/release/devsyncd").path
guard FileManager.default.isExecutableFile(atPath: devsyncd) else {
    say("no devsyncd at \(devsyncd): run `swift build -c release --product devsyncd` in the repository root")
    exit(2)
}
/// `--hotplugs N` and `--pairings N` change the counts (at least 1 each).
func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count,
        let value = Int(CommandLine.arguments[index + 1]), value > 0 else { return fallback }
    return value
}
let hotplugs = option("--hotplugs", 1_000)
let pairings = option("--pairings", 300)
let startRuns = option("--starts", 3)
/// The value following `name` on the command line.
func textOption(_ name: String) -> String? {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else { return nil }
    return CommandLine.arguments[index + 1]
}
enum Phases { case all, start, hotplug }
let phases: Phases = switch textOption("--only") {
case nil: .all
case "start": .start
case "hotplug": .hotplug
case let other?: { say("--only takes start or hotplug, not \(other)"); exit(2) }()
}
let daemonLogDirectory = textOption("--daemon-log")
/// `--stored`: in phase 5 every one of the 500 devices is approved (stored) before the timed starts, so that
/// each start brings known devices back (and updates their state files) instead of announcing new ones.
let startsWithStoredDevices = CommandLine.arguments.contains("--stored")
var logger = Logger(label: "devsync.bench.daemon")
logger.logLevel = .warning

let scratch = URL(fileURLWithPath: "/tmp/devsync-daemon-bench-\(getpid())")
try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)

/// This process's environment without umockdev: only devsyncd is to see the testbed.
func plainEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["LD_PRELOAD"] = nil
    environment["UMOCKDEV_DIR"] = nil
    return environment
}

var children: [Process] = []
@MainActor func cleanUp() {
    for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL) }
    bus.stop()
    try? FileManager.default.removeItem(at: scratch)
}

// A private bus (never the host's), the "system" bus of everything below.
let bus = try PrivateBus(type: "system", label: "daemon-bench-bus")
let address = bus.address

let client = try await DBusConnection.connect(to: address, logger: logger)
let brokerName = "org.devsync.Broker1"
let managerPath = try DBusObjectPath("/org/devsync/Broker1")
let managerInterface = "org.devsync.Broker1.Manager"
let deviceInterface = "org.devsync.Broker1.Device"

// dbusmock's bluez5 with one adapter, before the daemon starts, as on a desktop.
let bluezOwners = try await client.nameOwnerChanges(of: "org.bluez")
let bluez = Process()
bluez.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
bluez.arguments = ["-m", "dbusmock", "--template", "bluez5"]
bluez.environment = plainEnvironment().merging(["DBUS_SYSTEM_BUS_ADDRESS": address]) { $1 }
bluez.standardOutput = FileHandle.nullDevice
bluez.standardError = FileHandle.nullDevice
try ChildProcess.run(bluez)
children.append(bluez)
for await change in bluezOwners where change.newOwner != nil { break }
@MainActor func callBlueZ(_ path: DBusObjectPath, _ interface: String, _ member: String, _ arguments: [DBusValue]) async throws {
    _ = try await client.call(destination: "org.bluez", path: path, interface: interface, member: member, arguments: arguments)
}
try await callBlueZ(.root, "org.bluez.Mock", "AddAdapter", [.string("hci0"), .string("bench")])

// MARK: umockdev

let testbed = umockdev_testbed_new()!  // sets UMOCKDEV_DIR in this process; devsyncd gets the same
let umockdevDirectory = String(cString: getenv("UMOCKDEV_DIR"))

@MainActor func addDevice(_ subsystem: String, _ name: String, _ parent: String?, _ attributes: [(String, String)],
               _ properties: [(String, String)]) -> String {
    UmockdevSupport.addDevice(testbed, subsystem, name, parent, attributes, properties)
}

let host = addDevice("pci", "0000:00:14.0", nil, [], [])
var nextDeviceNumber = 2

/// An MTP player (a sync device the shipped profiles know by class) with the uevent properties the kernel sends.
@MainActor @discardableResult
func addPlayer(port: String, serial: String) -> String {
    nextDeviceNumber += 1
    let number = String(nextDeviceNumber % 127 + 1)
    let device = addDevice("usb", port, host,
        [("idVendor", "1234"), ("idProduct", "5678"), ("bcdDevice", "0100"), ("serial", serial),
         ("manufacturer", "Bench"), ("product", "Player"), ("bNumInterfaces", " 1"), ("bConfigurationValue", "1"),
         ("busnum", "1"), ("devnum", number)],
        [("DEVTYPE", "usb_device"), ("PRODUCT", "1234/5678/100"), ("TYPE", "0/0/0"), ("BUSNUM", "001"),
         ("DEVNUM", String(repeating: "0", count: 3 - number.count) + number)])
    _ = addDevice("usb", "\(port):1.0", device,
        [("bInterfaceNumber", "00"), ("bInterfaceClass", "06"), ("bInterfaceSubClass", "01"), ("bInterfaceProtocol", "01"),
         ("interface", "MTP")],
        [("DEVTYPE", "usb_interface"), ("PRODUCT", "1234/5678/100"), ("TYPE", "0/0/0"), ("INTERFACE", "6/1/1")])
    return device
}

// MARK: The daemon

/// Starts devsyncd on the private bus with the shipped profiles and a fresh state directory; returns once it owns
/// its bus name, and the time that took.
@MainActor func startDaemon(_ label: String, stateFrom template: URL? = nil) async throws -> (Process, Duration) {
    let state = scratch.appendingPathComponent("state-\(label)")
    if let template {
        try FileManager.default.copyItem(at: template, to: state)
    } else {
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
    }
    let owners = try await client.nameOwnerChanges(of: brokerName)
    var environment = plainEnvironment()
    environment["LD_PRELOAD"] = "libumockdev-preload.so.0"
    environment["UMOCKDEV_DIR"] = umockdevDirectory
    environment["DBUS_SYSTEM_BUS_ADDRESS"] = address
    let daemon = Process()
    daemon.executableURL = URL(fileURLWithPath: devsyncd)
    // `--bus system` with DBUS_SYSTEM_BUS_ADDRESS set: the one connection serves the API and watches BlueZ,
    // as on a desktop.
    daemon.arguments = ["--bus", "system", "--state-dir", state.path,
                        "--log-level", daemonLogDirectory == nil ? "warning" : "info",
                        "--profiles", repository.appendingPathComponent("fdi-profiles").path]
    daemon.environment = environment
    daemon.standardOutput = FileHandle.nullDevice
    if let daemonLogDirectory {
        let log = "\(daemonLogDirectory)/devsyncd-\(label).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        daemon.standardError = FileHandle(forWritingAtPath: log)
    } else {
        daemon.standardError = FileHandle.nullDevice
    }
    let clock = ContinuousClock()
    let start = clock.now
    try ChildProcess.run(daemon)
    children.append(daemon)
    for await change in owners where change.newOwner != nil { break }
    return (daemon, clock.now - start)
}

func stopDaemon(_ daemon: Process) {
    daemon.terminate()
    daemon.waitUntilExit()
}

@MainActor func listDevices() async throws -> Int {
    let reply = try await client.call(destination: brokerName, path: managerPath, interface: managerInterface, member: "ListDevices")
    return reply.first?.arrayElements?.count ?? -1
}

/// A /proc/PID/status field in kB (VmRSS), or a /proc/PID/smaps_rollup one (Pss).
func memory(_ pid: Int32, _ field: String, file: String = "status") -> Int {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }
    return -1
}

/// Context switches so far of each thread of `pid`, by thread id (each one a wake-up or a preemption).
func contextSwitches(_ pid: Int32) -> [String: Int] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    var switches: [String: Int] = [:]
    for task in tasks {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.contains("ctxt_switches:") {
            switches[task, default: 0] += Int(line.split(separator: "\t").last ?? "") ?? 0
        }
    }
    return switches
}

func micros(_ duration: Duration) -> Double { microseconds(duration) }
func report(_ label: String, _ latencies: [Duration]) {
    let sorted = latencies.sorted()
    func at(_ fraction: Double) -> Double { micros(percentile(sorted, fraction)) }
    say(String(format: "%@: %d, p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, max %.0f µs", label, sorted.count,
                 at(0.5), at(0.9), at(0.99), micros(sorted.last!)))
}

// MARK: 1–4: a daemon with 100 devices

for index in 0..<100 { addPlayer(port: "1-\(index + 1)", serial: "P\(index)") }
defer { cleanUp() }
defer { g_object_unref(testbed) }  // umockdev removes its directory
var syspaths: [String] = []

if phases == .all {
    let stampsBefore = UeventStamps(number: 900_001)  // before devsyncd's monitor socket; see UeventStamps
    let (daemon, _) = try await startDaemon("hundred")
    let published = try await listDevices()
    precondition(published == 100, "expected 100 devices published, got \(published)")
    try await Task.sleep(for: .seconds(1))
    say("resident memory, 100 devices: VmRSS \(memory(daemon.processIdentifier, "VmRSS")) kB, Pss \(memory(daemon.processIdentifier, "Pss", file: "smaps_rollup")) kB")

    // Idle: after a settling pause (libdispatch retires idle worker threads after a few seconds, itself a wake-up
    // that is not the daemon's doing), count what every thread did in 10 s; a thread that appears counts whole.
    try await Task.sleep(for: .seconds(6))
    let before = contextSwitches(daemon.processIdentifier)
    try await Task.sleep(for: .seconds(10))
    let after = contextSwitches(daemon.processIdentifier)
    let idleSwitches = after.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) }
    say("idle 10 s: \(idleSwitches) context switches (threads: \(before.count) before, \(after.count) after, \(Set(before.keys).subtracting(after.keys).count) exited)")
    try await measureHotplugAndPairing(daemon, pairings: true, stampsBefore: stampsBefore)
    stopDaemon(daemon)
} else if phases == .hotplug {
    let stampsBefore = UeventStamps(number: 900_001)
    let (daemon, _) = try await startDaemon("hundred")
    try await measureHotplugAndPairing(daemon, pairings: false, stampsBefore: stampsBefore)
    stopDaemon(daemon)
}

/// Phases 3 and 4, with the Manager's signals followed by one iterator.
@MainActor func measureHotplugAndPairing(
    _ daemon: Process, pairings measuresPairings: Bool, stampsBefore: UeventStamps
) async throws {
    // The kernel's stamps of umockdev's datagrams to a socket opened before devsyncd's monitor and to one opened
    // after: umockdev sends to devsyncd's between them (UeventStamps).
    let stampsAfter = UeventStamps(number: 900_002)
    defer {
        stampsBefore.close()
        stampsAfter.close()
    }
    func drainStamps() -> UInt64? {
        guard let first = stampsBefore.lastStamp(), let second = stampsAfter.lastStamp() else { return nil }
        return first / 2 + second / 2
    }
    let signals = try await client.signals(matchingAny: [
        DBusMatchRule(sender: brokerName, path: managerPath, interface: managerInterface, member: "DeviceAdded"),
        DBusMatchRule(sender: brokerName, path: managerPath, interface: managerInterface, member: "DeviceRemoved"),
    ])
    // Two clients receive DeviceAdded. The timed one is a plain libdbus client on a thread of its own, blocked in
    // poll on its socket as a main-loop client (gdbus, sd-bus, dbus-python) is, which stamps each signal as it
    // reads it (Support/SignalStamps): one wake-up between dbus-daemon's send and the stamp. The project's binding
    // (this actor's iterator, which drives the loop) hands a signal from its connection's queue to the main
    // actor: one more wake-up, reported apart.
    guard let stamper = signal_stamps_start(
        address, "type='signal',interface='\(managerInterface)',member='DeviceAdded'") else { fatalError("no libdbus client") }
    defer { signal_stamps_stop(stamper) }
    /// The plain client's stamps of the DeviceAdded of `path` (monotonic and realtime ns), earlier ones skipped.
    func stamped(_ path: DBusObjectPath) -> (monotonic: UInt64, realtime: UInt64) {
        var member = [CChar](repeating: 0, count: 128)
        var argument = [CChar](repeating: 0, count: 512)
        var monotonic: UInt64 = 0
        var realtime: UInt64 = 0
        while signal_stamps_next(stamper, &member, member.count, &argument, argument.count, &monotonic, &realtime) == 0 {
            let text = String(decoding: argument.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text == path.rawValue { return (monotonic, realtime) }
        }
        fatalError("the libdbus client lost its connection")
    }
    var signalIterator = signals.makeAsyncIterator()
    func next(_ member: String) async -> DBusObjectPath {
        while let signal = await signalIterator.next(isolation: MainActor.shared) {
            if signal.member == member, let path = signal.arguments.first?.objectPath { return path }
        }
        fatalError("the signal stream ended before \(member)")
    }
    /// A pending device that leaves is dropped, as bolt drops a device it never stored: DeviceRemoved.
    func departed(_ path: DBusObjectPath) async {
        let removed = await next("DeviceRemoved")
        precondition(removed == path, "expected DeviceRemoved(\(path)), got \(removed)")
    }

    // Ten ports to plug into, each warmed up once: umockdev announces a device it adds with an add uevent.
    for index in 0..<10 {
        let syspath = addPlayer(port: "7-\(index + 1)", serial: "warm-\(index)")
        let path = await next("DeviceAdded")
        umockdev_testbed_uevent(testbed, syspath, "remove")
        await departed(path)
        syspaths.append(syspath)
        _ = drainStamps()  // a socket queues ten datagrams at most
    }
    var hotplugLatencies: [Duration] = []
    var onMainActorLatencies: [Duration] = []
    var fromKernelStamp: [Duration] = []
    let clock = ContinuousClock()
    let cpuBefore = cpuMilliseconds(daemon.processIdentifier)
    let switchesBefore = contextSwitches(daemon.processIdentifier)
    for cycle in 0..<hotplugs {
        let syspath = syspaths[cycle % syspaths.count]
        umockdev_testbed_set_attribute(testbed, syspath, "serial", "H\(cycle)")  // a new device each time
        let start = monotonicNanoseconds()
        umockdev_testbed_uevent(testbed, syspath, "add")
        let path = await next("DeviceAdded")
        let onMainActor = monotonicNanoseconds()
        let (received, receivedRealtime) = stamped(path)
        hotplugLatencies.append(.nanoseconds(Int64(received) - Int64(start)))
        onMainActorLatencies.append(.nanoseconds(Int64(onMainActor) - Int64(start)))
        if let sent = drainStamps() { fromKernelStamp.append(.nanoseconds(Int64(receivedRealtime) - Int64(sent))) }
        umockdev_testbed_uevent(testbed, syspath, "remove")
        await departed(path)
        _ = drainStamps()
    }
    report("uevent sent → DeviceAdded read by a plain libdbus client (new device)", hotplugLatencies)
    report("the same from the kernel's stamp of umockdev's send (its preparation left out)", fromKernelStamp)
    report("uevent sent → DeviceAdded through the project's binding, on the client's main actor", onMainActorLatencies)
    let switches = contextSwitches(daemon.processIdentifier).reduce(0) { $0 + $1.value - (switchesBefore[$1.key] ?? 0) }
    say(String(format: "devsyncd per plug-in and unplug: %.0f µs CPU, %.1f context switches",
               (cpuMilliseconds(daemon.processIdentifier) - cpuBefore) * 1000 / Double(hotplugs),
               Double(switches) / Double(hotplugs)))
    say("resident memory after \(hotplugs) hotplugs: VmRSS \(memory(daemon.processIdentifier, "VmRSS")) kB")
    guard measuresPairings else { return }

    let adapter = try DBusObjectPath("/org/bluez/hci0")
    var pairingLatencies: [Duration] = []
    for round in 0..<(pairings + 20) {
        let octets = [0x00, 0x1A, 0x7D, (round >> 8) & 0xFF, round & 0xFF, 0x13].map { String(format: "%02X", $0) }
        let device = try DBusObjectPath("/org/bluez/hci0/dev_" + octets.joined(separator: "_"))
        try await callBlueZ(.root, "org.bluez.Mock", "AddDevice", [.string("hci0"), .string(octets.joined(separator: ":")), .string("K750i")])
        try await callBlueZ(device, "org.freedesktop.DBus.Mock", "UpdateProperties", [
            // A phone offering a SyncML client and OBEX Object Push, as bluetoothd knows it from inquiry and SDP;
        // dbusmock leaves both empty.
        .string("org.bluez.Device1"), .vardict([
            "Class": .uint32(0x5a020c),
            "UUIDs": .array(.string, [.string("00000002-0000-1000-8000-0002ee000002"), .string("00001105-0000-1000-8000-00805f9b34fb")]),
        ]),
        ])
        let start = clock.now
        try await callBlueZ(device, "org.freedesktop.DBus.Mock", "UpdateProperties", [
            .string("org.bluez.Device1"), .vardict(["Paired": .bool(true)]),
        ])
        let path = await next("DeviceAdded")
        if round >= 20 { pairingLatencies.append(clock.now - start) }  // the first rounds warm up
        try await callBlueZ(adapter, "org.bluez.Adapter1", "RemoveDevice", [.objectPath(device)])
        await departed(path)
    }
    report("PropertiesChanged(Paired=true) sent → DeviceAdded received", pairingLatencies)
}
// MARK: 5: start with 500 devices present

if phases == .hotplug {
    await client.close()
    g_object_unref(testbed)
    cleanUp()  // exit() runs no defer
    exit(0)
}

for index in 0..<400 { addPlayer(port: "\(2 + index / 100)-\(1 + index % 100)", serial: "C\(index)") }
for syspath in syspaths { umockdev_testbed_remove_device(testbed, syspath) }
/// CPU time every thread of `pid` has run so far, in ms (`/proc/PID/task/*/schedstat`, nanoseconds); unlike the
/// wall time it hardly depends on what else the machine runs.
func cpuMilliseconds(_ pid: Int32) -> Double {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.reduce(0) { total, task in
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8)) ?? ""
        return total + (Double(text.split(separator: " ").first ?? "") ?? 0) / 1e6
    }
}
var stateTemplate: URL?
if startsWithStoredDevices {
    let (daemon, _) = try await startDaemon("stored")
    let reply = try await client.call(destination: brokerName, path: managerPath, interface: managerInterface, member: "ListDevices")
    for device in reply.first?.arrayElements ?? [] {
        guard let path = device.objectPath else { continue }
        _ = try await client.call(destination: brokerName, path: path, interface: deviceInterface, member: "Approve",
                                  arguments: [.string("root"), .vardict([:])])
    }
    stopDaemon(daemon)
    stateTemplate = scratch.appendingPathComponent("state-stored")
}
var starts: [Duration] = []
var startCPU: [Double] = []
var startSwitches: [Int] = []
for run in 0..<startRuns {
    let (daemon, elapsed) = try await startDaemon("cold-\(run)", stateFrom: stateTemplate)
    startCPU.append(cpuMilliseconds(daemon.processIdentifier))
    startSwitches.append(contextSwitches(daemon.processIdentifier).values.reduce(0, +))
    let count = try await listDevices()
    precondition(count == 500, "expected 500 devices published, got \(count)")
    starts.append(elapsed)
    stopDaemon(daemon)
}
starts.sort()
startCPU.sort()
startSwitches.sort()
say(String(format: "start with 500 devices → all published (bus name owned): median %.1f ms (min %.1f, max %.1f, %d runs); "
             + "devsyncd's CPU time by then: median %.1f ms, context switches: median %d",
             micros(starts[starts.count / 2]) / 1000, micros(starts[0]) / 1000, micros(starts[starts.count - 1]) / 1000,
             starts.count, startCPU[startCPU.count / 2], startSwitches[startSwitches.count / 2]))
await client.close()
