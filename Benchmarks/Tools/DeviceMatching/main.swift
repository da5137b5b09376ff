// SPDX-License-Identifier: Apache-2.0
// What the device databases and the kinds rules cost each device: the profile match, and the databases' lookup,
// CPU only (no sysfs, no uevent), timed with the monotonic clock.
//
//   swift build -c release --package-path Benchmarks --product DeviceMatching && \
//       Benchmarks/.build/release/DeviceMatching [--profiles DIR ...] [--modules-alias FILE] [--rounds N]
//
// Eight devices as devsyncd sees them (a Palm, an Android phone with adb, a Samsung, an MTP player, a camera, an
// iPhone, a USB stick, a Windows Mobile device: their usb.*, info.* and a realistic set of udev.* properties),
// matched against the profiles in DIR (default fdi-profiles; repeat --profiles to compare sets in the same rounds,
// the last is used for the other measures) with the compiled matcher, as the registry does:
//
//   match DIR        the device's own properties, matched (the daemon without the databases)
//   enrich + match   the databases asked first (a cache hit: a device seen before), then matched
//   enrich, hit      the databases asked alone, cache hit
//   enrich, miss     the databases asked for a device never seen (another product id each time): the hwdb
//                    lookup (sd-hwdb on the system's hwdb.bin), the .mpi index, modules.alias, libmtp's table for
//                    the MTP devices (a linear walk); 400 devices a batch, so one hwdb mapping and one dlopen
//   enrich, miss, one a batch   the same, each device a batch of its own: a device plugged in alone, whose
//                    lookup maps the hwdb and opens libmtp (for the four MTP devices) and closes them after
//   … no libmtp      the same two with libmtp's table not read (LibMTP=none)
//   no databases     the same enrich + match with the databases pointed at nonexistent paths
//
// The measures alternate round by round, so a machine shared with other work slows them alike; each round's
// figure is nanoseconds per device, and the median, min and max over the rounds are printed.

import BenchSupport
import DeviceRegistry
import Foundation
import Logging
import UdevMonitor

/// Keeps a result alive, so that the optimiser cannot drop the work that made it.
@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

let arguments = CommandLine.arguments
@MainActor func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
}
/// Every value of a repeatable option.
@MainActor func options(_ name: String) -> [String] {
    arguments.indices.filter { arguments[$0] == name && arguments.indices.contains($0 + 1) }.map { arguments[$0 + 1] }
}
let profileDirectories = options("--profiles").isEmpty ? ["fdi-profiles"] : options("--profiles")
let rounds = option("--rounds").flatMap(Int.init) ?? 9
var logger = Logger(label: "bench")
logger.logLevel = .error

/// One compiled matcher per profile directory, to compare profile sets in the same rounds.
let matchers: [(String, CompiledMatcher)] = profileDirectories.map { directory in
    let load = ProfileLoader(logger: logger).load(directories: [directory])
    guard load.errors.isEmpty, !load.profiles.rules.isEmpty else {
        print("cannot load the profiles in \(directory): \(load.errors)")
        exit(2)
    }
    print("profiles: \(directory) (\(load.profiles.rules.count) rules)")
    return (directory, CompiledMatcher(load.profiles))
}
let matcher = matchers[matchers.count - 1].1

/// The udev properties every USB device has (usb_id, hwdb, path_id), as a `udevadm info` of a phone shows them.
@MainActor func udev(_ vendor: String, _ model: String, _ vid: Int32, _ pid: Int32, _ more: [String: String] = [:]) -> [String: PropertyValue] {
    var properties: [String: String] = [
        "DEVNAME": "/dev/bus/usb/001/007", "DEVTYPE": "usb_device", "DRIVER": "usb", "SUBSYSTEM": "usb",
        "PRODUCT": "\(String(vid, radix: 16))/\(String(pid, radix: 16))/100", "TYPE": "0/0/0", "BUSNUM": "001", "DEVNUM": "007",
        "MAJOR": "189", "MINOR": "6", "ID_BUS": "usb", "ID_MODEL": model.replacingOccurrences(of: " ", with: "_"),
        "ID_MODEL_ENC": model, "ID_MODEL_ID": String(format: "%04x", pid), "ID_VENDOR": vendor.replacingOccurrences(of: " ", with: "_"),
        "ID_VENDOR_ENC": vendor, "ID_VENDOR_ID": String(format: "%04x", vid), "ID_REVISION": "0100",
        "ID_SERIAL": "\(vendor)_\(model)_0123456789", "ID_SERIAL_SHORT": "0123456789",
        "ID_PATH": "pci-0000:00:14.0-usb-0:2", "ID_PATH_TAG": "pci-0000_00_14_0-usb-0_2", "ID_FOR_SEAT": "usb-pci-0000_00_14_0-usb-0_2",
        "ID_VENDOR_FROM_DATABASE": vendor,
    ]
    properties.merge(more) { _, new in new }
    return Dictionary(uniqueKeysWithValues: properties.map { ("udev." + $0.key, PropertyValue.string($0.value)) })
}

@MainActor func usb(_ vid: Int32, _ pid: Int32, vendor: String, product: String, interfaces: [String], names: [String] = [],
         udev more: [String: String] = [:]) -> DeviceProperties {
    var properties: [String: PropertyValue] = [
        "info.subsystem": .string("usb"), "info.vendor": .string(vendor), "info.product": .string(product),
        "usb.vendor_id": .int(vid), "usb.product_id": .int(pid), "usb.device_revision_bcd": .int(0x0100),
        "usb.device_class": .int(0), "usb.device_subclass": .int(0), "usb.device_protocol": .int(0),
        "usb.bus_number": .int(1), "usb.linux.device_number": .int(7), "usb.serial": .string("0123456789"),
        "usb.product": .string(product), "usb.interfaces": .strlist(interfaces),
    ]
    if !names.isEmpty { properties["usb.interface_names"] = .strlist(names) }
    properties.merge(udev(vendor, product, vid, pid, more)) { _, new in new }
    return DeviceProperties(properties)
}

let mtp = ["ID_MTP_DEVICE": "1", "ID_MEDIA_PLAYER": "1"]
let devices: [DeviceProperties] = [
    usb(0x0830, 0x0061, vendor: "Palm, Inc.", product: "Palm Handheld", interfaces: ["ff/00/00"]),
    usb(0x18d1, 0x4ee2, vendor: "Google Inc.", product: "Pixel 7", interfaces: ["06/01/01", "ff/42/01"], names: ["MTP"], udev: mtp),
    usb(0x04e8, 0x6860, vendor: "Samsung Electronics Co., Ltd", product: "SAMSUNG_Android", interfaces: ["06/01/01", "ff/42/01"], names: ["MTP"], udev: mtp),
    usb(0x041e, 0x4130, vendor: "Creative Technology, Ltd", product: "ZEN Micro", interfaces: ["06/01/01"], names: ["MTP"], udev: mtp),
    usb(0x04a9, 0x3218, vendor: "Canon, Inc.", product: "Canon Digital Camera", interfaces: ["06/01/01"],
        udev: ["ID_GPHOTO2": "1", "GPHOTO2_DRIVER": "PTP"]),
    usb(0x05ac, 0x12a8, vendor: "Apple, Inc.", product: "iPhone", interfaces: ["06/01/01", "ff/fe/02", "ff/fd/01"],
        names: ["PTP", "Apple Mobile Device", "Apple USB Multiplexor"], udev: ["USBMUX_SUPPORTED": "1"]),
    usb(0x0781, 0x5567, vendor: "SanDisk Corp.", product: "Cruzer Blade", interfaces: ["08/06/50"]),
    usb(0x0bb4, 0x0b04, vendor: "HTC (High Tech Computer Corp.)", product: "Generic RNDIS", interfaces: ["e0/01/03", "0a/00/00"]),
]

let real = DeviceDatabases(locations: DatabaseLocations(modulesAlias: option("--modules-alias")), logger: logger)
let realProblems = real.load()
let none = DeviceDatabases(
    locations: DatabaseLocations(hardwareDatabase: "/nonexistent/hwdb.bin", mediaPlayerInfo: "/nonexistent/media-player-info",
                                 modulesAlias: "/nonexistent/modules.alias", libmtp: nil),
    logger: logger)
_ = none.load()
let withoutLibMTP = DeviceDatabases(locations: DatabaseLocations(modulesAlias: option("--modules-alias"), libmtp: nil), logger: logger)
_ = withoutLibMTP.load()
print("databases: \(realProblems.isEmpty ? "all read" : "problems: \(realProblems.map(\.description))"); the other measures use the last profiles")

/// Nanoseconds per device for `repetitions` passes over the devices.
@MainActor func timed(_ repetitions: Int, _ body: (DeviceProperties) -> Void) -> Double {
    let start = monotonicNanoseconds()
    for _ in 0..<repetitions {
        for device in devices { body(device) }
    }
    return Double(monotonicNanoseconds() - start) / Double(repetitions * devices.count)
}

var missProduct: Int32 = 0
let repetitions = 2_000
let measures: [(String, () -> Double)] = matchers.map { directory, matcher in
    ("match \(directory)", { timed(repetitions) { blackHole(matcher.match($0)) } })
} + [
    ("enrich + match, first profiles", { timed(repetitions) { device in
        var properties = device
        real.enrich(&properties)
        blackHole(matchers[0].1.match(properties))
    } }),
    ("enrich + match", { timed(repetitions) { device in
        var properties = device
        real.enrich(&properties)
        blackHole(matcher.match(properties))
    } }),
    ("no databases: enrich + match", { timed(repetitions) { device in
        var properties = device
        none.enrich(&properties)
        blackHole(matcher.match(properties))
    } }),
    ("enrich, hit", { timed(repetitions) { device in
        var properties = device
        real.enrich(&properties)
        blackHole(properties)
    } }),
    ("enrich, miss", { misses(real, oneBatchEach: false) }),
    ("enrich, miss, no libmtp", { misses(withoutLibMTP, oneBatchEach: false) }),
    ("enrich, miss, one a batch", { misses(real, oneBatchEach: true) }),
    ("enrich, miss, one a batch, no libmtp", { misses(withoutLibMTP, oneBatchEach: true) }),
]

/// Nanoseconds per device for 400 devices never seen (below the cache's 512): in one batch (one hwdb mapping and
/// one libmtp, as a cold-plug), or each in a batch of its own (a device plugged in alone).
@MainActor func misses(_ databases: DeviceDatabases, oneBatchEach: Bool) -> Double {
    databases.endBatch()  // the measures before left it open (a batch of hits)
    let result = timed(50) { device in
        var properties = device
        missProduct &+= 1
        properties["usb.product_id"] = .int(0x7000 + missProduct % 0x1000)
        properties["usb.device_revision_bcd"] = .int(missProduct)  // a new modalias even when the id repeats
        databases.enrich(&properties)
        if oneBatchEach { databases.endBatch() }
        blackHole(properties)
    }
    databases.endBatch()
    _ = databases.load()  // forget the findings, so the next round misses again
    return result
}

// Warm up every path once.
for (_, measure) in measures { _ = measure() }
var samples = [String: [Double]]()
for _ in 0..<rounds {
    for (name, measure) in measures { samples[name, default: []].append(measure()) }
}
for (name, _) in measures {
    let sorted = samples[name]!.sorted()
    print(name.padding(toLength: 40, withPad: " ", startingAt: 0)
        + String(format: " median %8.0f ns/device (min %.0f, max %.0f, %d rounds)", sorted[sorted.count / 2], sorted.first!, sorted.last!, sorted.count))
}

