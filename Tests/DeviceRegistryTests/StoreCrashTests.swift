// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import DeviceRegistry

/// The record the crash writer saves for (index, generation); identical to `makeRecord` in
/// Tests/StoreCrashWriter/main.swift.
enum CrashRecord {
    static func make(index: Int, generation: Int64) -> StoredDevice {
        StoredDevice(
            uid: "usb-0001-0002-rec\(index)", status: generation % 2 == 0 ? .approved : .rejected,
            owner: generation % 2 == 0 ? "owner\(generation)" : nil,
            vendor: String(repeating: "v", count: Int(generation % 200)), model: "generation \(generation)",
            kind: "pda", transport: .usb, plugin: "palm-sync",
            datatypes: (0..<Int(generation % 7)).map { "type\($0)" }, firstSeen: Int64(index), lastSeen: generation,
            stableId: true)
    }

    static func index(of uid: String) -> Int? { Int(uid.dropFirst("usb-0001-0002-rec".count)) }
}

@Suite("Store: crash safety")
struct StoreCrashTests {
    /// The writer executable, built next to the test bundle.
    static func writerExecutable() -> URL? {
        let test = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = test.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("store-crash-writer")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    @Test("a writer killed at random points leaves every record whole: the old version or the new, never torn")
    func killedWriterLeavesWholeRecords() async throws {
        let executable = try #require(Self.writerExecutable(), "store-crash-writer is not built next to the tests")
        let directory = TemporaryDirectory()
        let logger = LogCapture().logger
        let records = 3
        let store = try DeviceStore(directory: directory.path, logger: logger)
        for index in 0..<records { try store.save(CrashRecord.make(index: index, generation: 0)) }
        var onDisk = [Int64](repeating: 0, count: records)
        var generator = SystemRandomNumberGenerator()

        for round in 0..<30 {
            let nextGeneration = onDisk.max()! + 1
            let killAfter = Int.random(in: 1...(records * 4), using: &generator)
            // The writer is read, killed and waited for on a thread of its own: blocking a thread of the tests'
            // cooperative pool (two threads on two cores) for 30 rounds starves every other test meanwhile.
            let path = directory.path
            let (lines, killed) = try await Self.onOwnThread {
                let process = Process()
                process.executableURL = executable
                process.arguments = [path, "\(records)", "\(nextGeneration)"]
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                var reader = LineReader(output.fileHandleForReading)
                var lines: [String] = []  // one line per acknowledged save
                while lines.count < killAfter, let line = reader.next() { lines.append(line) }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                while let line = reader.next() { lines.append(line) }
                return (lines, process.terminationReason == .uncaughtSignal)
            }
            let acknowledged = try lines.map(Self.parse)
            #expect(killed, "round \(round)")

            // Every acknowledged save is on disk; the one after the last acknowledgement may or may not be.
            for (generation, index) in acknowledged { onDisk[index] = generation }
            let last = try #require(acknowledged.last)
            let inFlight = last.index + 1 < records ? (last.generation, last.index + 1) : (last.generation + 1, 0)

            let loaded = try DeviceStore(directory: directory.path, logger: logger).loadAll()
            #expect(loaded.count == records, "round \(round): a record was lost")
            for device in loaded {
                let index = try #require(CrashRecord.index(of: device.uid))
                #expect(device == CrashRecord.make(index: index, generation: device.lastSeen), "round \(round): torn")
                let allowed = index == inFlight.1 ? [onDisk[index], inFlight.0] : [onDisk[index]]
                #expect(allowed.contains(device.lastSeen), "round \(round): record \(index) is neither old nor new")
                onDisk[index] = device.lastSeen
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: store.devicesDirectory)
            #expect(names.sorted() == (0..<records).map { "usb-0001-0002-rec\($0)" }.sorted(), "round \(round)")
        }
    }

    /// Runs `body` on a new thread and returns its result, so that blocking in it leaves the pool alone.
    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    private static func parse(_ line: String) throws -> (generation: Int64, index: Int) {
        let fields = line.split(separator: " ")
        let generation = try #require(fields.first.flatMap { Int64($0) })
        let index = try #require(fields.last.flatMap { Int($0) })
        return (generation, index)
    }
}

/// Splits a pipe's output into lines as it arrives; nil at end of file.
struct LineReader {
    private let handle: FileHandle
    private var buffer = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    mutating func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}
