// SPDX-License-Identifier: Apache-2.0
// Hotplug latency and cold-plug time of UdevMonitor.USBDeviceSource under umockdev.
//
//   swift build -c release --package-path Benchmarks --product UdevHotplug && \
//       TMPDIR=/dev/shm LD_PRELOAD=libumockdev-preload.so.0 Benchmarks/.build/release/UdevHotplug \
//       [--hotplug-only] [--own-queue-only] [--databases [--modules-alias FILE]] [--distinct-ids]
//
// --databases makes the source read the system's hwdb, /usr/share/media-player-info and a modules.alias (the
// running kernel's, or FILE) for every device, as devsyncd does (docs/profiles.md, "Property sources").
//
// TMPDIR=/dev/shm puts umockdev's sysfs on tmpfs, in memory like the real sysfs; on the disk's ext4 every file
// umockdev creates and removes costs an inode allocation that no kernel sysfs has.
//
// Latency is measured from just before `umockdev_testbed_uevent` (which builds and sends the message
// synchronously through the preload, so its own cost is included and reported separately) to the moment the
// consumer's `for await` receives the folded `.arrived`: once with the consumer on the source's own queue, as
// devsyncd consumes it (no thread hop), once on the main actor (a wake-up of another thread included).

import BenchSupport
import Dispatch
import UmockdevSupport
import DeviceRegistry
import Foundation
import Glibc
import Logging
import UdevMonitor

/// A USB stick with one mass-storage interface, as the kernel lays it out and with the uevent properties the
/// kernel sends (PRODUCT, TYPE, BUSNUM, DEVNUM on the usb_device; PRODUCT, TYPE, INTERFACE on the interface).
func addStick(
    _ testbed: UnsafeMutablePointer<UMockdevTestbed>, parent: String, port: String, number: Int, product: UInt16 = 0x5567
) -> String {
    let productHex = String(format: "%04x", product)
    let device = addDevice(testbed, "usb", port, parent,
        [("idVendor", "0781"), ("idProduct", productHex), ("bcdDevice", "0100"), ("serial", "SN-\(port)"),
         ("manufacturer", "SanDisk"), ("product", "Cruzer Blade"), ("bNumInterfaces", " 1"), ("bConfigurationValue", "1"),
         ("busnum", "1"), ("devnum", "\(number % 128 + 2)")],
        [("DEVTYPE", "usb_device"), ("PRODUCT", "781/\(String(product, radix: 16))/100"), ("TYPE", "0/0/0"), ("BUSNUM", "001"),
         ("DEVNUM", String(format: "%03d", number % 128 + 2)), ("ID_VENDOR_FROM_DATABASE", "SanDisk Corp.")])
    _ = addDevice(testbed, "usb", "\(port):1.0", device,
        [("bInterfaceNumber", "00"), ("bInterfaceClass", "08"), ("bInterfaceSubClass", "06"), ("bInterfaceProtocol", "50")],
        [("DEVTYPE", "usb_interface"), ("PRODUCT", "781/\(String(product, radix: 16))/100"), ("TYPE", "0/0/0"), ("INTERFACE", "8/6/80")])
    return device
}

/// Microseconds of the sample `fraction` of the way up `sorted` nanoseconds.
func micros(_ sorted: [UInt64], _ fraction: Double) -> Double { Double(percentile(sorted, fraction)) / 1000 }

guard getenv("LD_PRELOAD").map({ String(cString: $0).contains("libumockdev-preload") }) == true else {
    print("run with LD_PRELOAD=libumockdev-preload.so.0")
    exit(2)
}
var logger = Logger(label: "bench")
logger.logLevel = .warning
let configuration: USBDeviceSource.Configuration = {
    let arguments = CommandLine.arguments
    guard arguments.contains("--databases") else { return .init() }
    let aliases = arguments.firstIndex(of: "--modules-alias").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
    return .init(databases: DatabaseLocations(modulesAlias: aliases))
}()
print("databases: \(configuration.databases.map { "hwdb (system), \($0.mediaPlayerInfo), \($0.resolvedModulesAlias)" } ?? "none")")

// Cold-plug: 500 devices present before start, until the 500th arrival is consumed. Five runs, fresh testbeds.
var coldPlugTimes: [Double] = []
for _ in 0..<(CommandLine.arguments.contains("--hotplug-only") ? 0 : 5) {
    let testbed = umockdev_testbed_new()!
    let host = addDevice(testbed, "pci", "0000:00:14.0", nil, [], [])
    // --distinct-ids: every device another product id, so that each costs the databases a lookup (no cache hit).
    let distinct = CommandLine.arguments.contains("--distinct-ids")
    for index in 0..<500 {
        _ = addStick(testbed, parent: host, port: "\(1 + index / 100)-\(1 + index % 100)", number: index,
                     product: distinct ? UInt16(0x5000 + index) : 0x5567)
    }
    let source = USBDeviceSource(configuration: configuration, logger: logger)
    var iterator = source.events.makeAsyncIterator()
    let start = monotonicNanoseconds()
    try source.start()
    var arrivals = 0
    while arrivals < 500, let event = await iterator.next() { if case .arrived = event { arrivals += 1 } }
    precondition(arrivals == 500)
    coldPlugTimes.append(Double(monotonicNanoseconds() - start) / 1_000_000)
    source.stop()
    g_object_unref(testbed)
}
if !coldPlugTimes.isEmpty {
    coldPlugTimes.sort()
    print(String(format: "cold-plug: 500 devices, start() → 500th .arrived consumed: median %.1f ms (min %.1f, max %.1f, 5 runs)",
                 coldPlugTimes[2], coldPlugTimes[0], coldPlugTimes[4]))
}

/// A task executor over a serial queue, as devsyncd's D-Bus connection is: a consumer on it runs on the queue the
/// source reads udev on, so a folded arrival reaches it without waking another thread.
final class QueueTaskExecutor: TaskExecutor {
    let queue: DispatchQueue
    init(queue: DispatchQueue) { self.queue = queue }
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// An event as the consumer received it: whether it was an arrival, and when (CLOCK_REALTIME, CLOCK_MONOTONIC).
struct Delivery: Sendable {
    var arrived: Bool
    var realtime: UInt64
    var monotonic: UInt64

    init(_ event: SourceEvent) {
        arrived = if case .arrived = event { true } else { false }
        (realtime, monotonic) = (realtimeNanoseconds(), monotonicNanoseconds())
    }
}

/// 1,000 remove/add cycles over ten present sticks, one at a time, on a fresh testbed. `start` starts the source;
/// `next` returns the consumer's next delivery. Stamps come from sockets numbered `stampNumber` and the next one.
@MainActor func measureHotplug(
    _ label: String, stampNumber: Int, start: () throws -> Void, next: @MainActor () async -> Delivery
) async throws {
    let testbed = umockdev_testbed_new()!
    defer { g_object_unref(testbed) }
    let host = addDevice(testbed, "pci", "0000:00:14.0", nil, [], [])
    // umockdev sends each uevent to its sockets one by one: stamps from one opened before the source's monitor
    // and one after, the earlier of which is never later than the send to the monitor.
    let stampsBefore = UeventStamps(number: stampNumber)
    try start()
    let stampsAfter = UeventStamps(number: stampNumber + 1)
    defer {
        stampsBefore.close()
        stampsAfter.close()
    }
    var devices: [String] = []
    for index in 0..<10 {
        devices.append(addStick(testbed, parent: host, port: "7-\(index + 1)", number: index))
        _ = await next()
        _ = (stampsBefore.lastStamp(), stampsAfter.lastStamp())  // a socket queues ten datagrams at most
    }
    var latencies: [UInt64] = []
    var sendCosts: [UInt64] = []
    var afterSend: [UInt64] = []
    var fromKernelStamp: [UInt64] = []
    var stampSpread: [UInt64] = []
    var beforeFirst = 0
    for cycle in 0..<1_000 {
        let device = devices[cycle % devices.count]
        umockdev_testbed_uevent(testbed, device, "remove")
        _ = await next()
        _ = (stampsBefore.lastStamp(), stampsAfter.lastStamp())  // the remove's
        let before = monotonicNanoseconds()
        umockdev_testbed_uevent(testbed, device, "add")
        let sent = monotonicNanoseconds()
        let delivery = await next()
        guard delivery.arrived else { fatalError("expected an arrival") }
        let delivered = delivery.monotonic - before
        if let first = stampsBefore.lastStamp(), let second = stampsAfter.lastStamp() {
            // umockdev sent to the monitor between the two (it sends to each socket in directory order).
            let (early, late) = (min(first, second), max(first, second))
            fromKernelStamp.append(delivery.realtime - min(delivery.realtime, early / 2 + late / 2))
            stampSpread.append(late - early)
            if first < second { beforeFirst += 1 }
        }
        latencies.append(delivered)
        sendCosts.append(sent - before)
        afterSend.append(delivered - min(delivered, sent - before))
    }
    latencies.sort()
    sendCosts.sort()
    afterSend.sort()
    fromKernelStamp.sort()
    stampSpread.sort()
    print("hotplug, \(label):")
    print(String(format: "  uevent sent (kernel stamps of umockdev's datagrams just before and after the monitor's) → .arrived delivered: p50 %.0f µs, p99 %.0f µs (%d; stamps %.0f µs apart at p50, socket opened first stamped first %d times)",
                 micros(fromKernelStamp, 0.5), micros(fromKernelStamp, 0.99), fromKernelStamp.count, micros(stampSpread, 0.5), beforeFirst))
    print(String(format: "  umockdev_testbed_uevent called → .arrived delivered: p50 %.0f µs, p99 %.0f µs, max %.0f µs",
                 micros(latencies, 0.5), micros(latencies, 0.99), Double(latencies.last!) / 1000))
    print(String(format: "  of which umockdev's synchronous send call: p50 %.0f µs, p99 %.0f µs; send call returned → delivered: p50 %.0f µs, p99 %.0f µs",
                 micros(sendCosts, 0.5), micros(sendCosts, 0.99), micros(afterSend, 0.5), micros(afterSend, 0.99)))
}

// The consumer on the source's queue, as devsyncd consumes: it stamps each event as it receives it and hands the
// stamp to this thread, which sends the next uevent (the sender must not be the source's thread: umockdev's send
// is a synchronous call).
if !CommandLine.arguments.contains("--own-queue-only") {
    let queue = DispatchQueue(label: "bench.udev")
    let source = USBDeviceSource(configuration: configuration, queue: queue, logger: logger)
    let (deliveries, delivered) = AsyncStream.makeStream(of: Delivery.self)
    let consumer = Task(executorPreference: QueueTaskExecutor(queue: queue)) {
        for await event in source.events { delivered.yield(Delivery(event)) }
        delivered.finish()
    }
    var iterator = deliveries.makeAsyncIterator()
    try await measureHotplug("consumer on the source's queue", stampNumber: 900_003, start: { try source.start() }) {
        await iterator.next(isolation: MainActor.shared)!
    }
    source.stop()
    await consumer.value
}

// The consumer on the main actor, a thread of its own: one wake-up more.
do {
    let source = USBDeviceSource(configuration: configuration, logger: logger)
    var iterator = source.events.makeAsyncIterator()
    try await measureHotplug("consumer on the main actor", stampNumber: 900_001, start: { try source.start() }) {
        Delivery(await iterator.next(isolation: MainActor.shared)!)
    }
    source.stop()
}
