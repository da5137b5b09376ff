// SPDX-License-Identifier: Apache-2.0
// store-crash-writer <state-directory> <records> <first-generation>
//
// Rewrites `records` device records forever, generation after generation, and writes "<generation> <index>"
// to stdout after each save has returned. StoreCrashTests kills it with SIGKILL at random points and checks
// that every record is whole. The record content is a function of (index, generation): see
// `CrashRecord.make` in Tests/DeviceRegistryTests/StoreCrashTests.swift, which must stay identical.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DeviceRegistry
import Logging

func makeRecord(index: Int, generation: Int64) -> StoredDevice {
    StoredDevice(
        uid: "usb-0001-0002-rec\(index)", status: generation % 2 == 0 ? .approved : .rejected,
        owner: generation % 2 == 0 ? "owner\(generation)" : nil,
        vendor: String(repeating: "v", count: Int(generation % 200)), model: "generation \(generation)",
        kind: "pda", transport: .usb, plugin: "palm-sync",
        datatypes: (0..<Int(generation % 7)).map { "type\($0)" }, firstSeen: Int64(index), lastSeen: generation,
        stableId: true)
}

/// Writes a line to stderr without touching the C `stderr` global.
func complain(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let records = Int(arguments[2]), let first = Int64(arguments[3]) else {
    complain("usage: store-crash-writer <state-directory> <records> <first-generation>")
    exit(2)
}

do {
    let store = try DeviceStore(
        directory: arguments[1], logger: Logger(label: "store-crash-writer") { _ in SwiftLogNoOpLogHandler() })
    var generation = first
    while true {
        for index in 0..<records {
            try store.save(makeRecord(index: index, generation: generation))
            let line = Array("\(generation) \(index)\n".utf8)
            guard line.withUnsafeBytes({ write(1, $0.baseAddress, $0.count) }) == line.count else { exit(0) }
        }
        generation += 1
    }
} catch {
    complain("store-crash-writer: \(error)")
    exit(1)
}
