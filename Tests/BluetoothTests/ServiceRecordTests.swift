// SPDX-License-Identifier: Apache-2.0
import Foundation
import CHeapProbe
import Testing
@testable import Bluetooth

@Suite("SDP records from bytes")
struct ServiceRecordTests {
    typealias E = SDPEncoding

    @Test("an IrMC Sync record yields its class, name, channel, profile and every attribute")
    func irmcSync() throws {
        let record = try ServiceRecord(bytes: SampleRecords.irmcSync)
        #expect(record.handle == 0x0001_0001)
        #expect(record.serviceClasses == [.irmcSync])
        #expect(record.serviceClasses.map(\.description) == ["00001104-0000-1000-8000-00805f9b34fb"])
        #expect(record.name == "IrMC Synchronization")
        #expect(record.rfcommChannel == 11)
        #expect(record.l2capPSM == nil)
        #expect(record.profiles == [.init(profile: .irmcSync, version: 0x0100)])
        #expect(record.protocolStack.map(\.protocol) == [.l2cap, .rfcomm, .obex])
        #expect(record.attributes[0x0301] == .sequence([.unsigned(1), .unsigned(3), .unsigned(5)]))
        #expect(record.attributes.count == 8)
    }

    @Test("a SyncML client record is recognised by its 128-bit vendor UUID")
    func syncMLClient() throws {
        let record = try ServiceRecord(bytes: SampleRecords.syncMLClient)
        #expect(record.serviceClasses.map(\.description) == ["00000002-0000-1000-8000-0002ee000002"])
        #expect(record.name == "SyncMLClient", "without a language base list the primary base 0x0100 is assumed")
        #expect(record.rfcommChannel == 10)
        #expect(record.profiles.first?.profile == .syncMLClient)
    }

    @Test("a Device ID record runs on L2CAP with a PSM and carries typed integers and a boolean")
    func pnpInformation() throws {
        let record = try ServiceRecord(bytes: SampleRecords.pnpInformation)
        #expect(record.serviceClasses == [BluetoothUUID(alias: 0x1200)], "a 32-bit UUID is widened like a 16-bit one")
        #expect(record.l2capPSM == 1)
        #expect(record.rfcommChannel == nil)
        #expect(record.attributes[0x0204] == .bool(true))
        #expect(record.attributes[0x0202]?.integer == 0x42)
    }

    @Test("a response with five records parses in order, and only the sync services are classified")
    func attributeListsAndClassification() throws {
        let records = try ServiceRecord.records(attributeLists: SampleRecords.attributeLists)
        #expect(records.map(\.handle) == [0x0001_0001, 0x0001_0002, 0x0001_0003, 0x0001_0004, 0x0001_0005])
        let services = SyncService.services(in: records)
        #expect(services == [
            SyncService(kind: .irmcSync, rfcommChannel: 11, name: "IrMC Synchronization", profileVersion: 0x0100),
            SyncService(kind: .syncMLClient, rfcommChannel: 10, name: "SyncMLClient", profileVersion: 0x0100),
            SyncService(kind: .objectPush, rfcommChannel: 9, name: "OBEX Object Push", profileVersion: 0x0102),
        ])
    }

    @Test("FTP, PBAP and MAP servers are sync services too; a service without RFCOMM is not dialable")
    func otherSyncKinds() throws {
        func service(_ uuid: UInt16, channel: UInt8?) throws -> SyncService? {
            let protocols = channel.map(E.obexOverRFCOMM(channel:)) ?? E.sequence([E.sequence([E.uuid16(0x0100)])])
            let bytes = E.record([(0x0001, E.sequence([E.uuid16(uuid)])), (0x0004, protocols)])
            return SyncService(record: try ServiceRecord(bytes: bytes))
        }
        #expect(try service(0x1106, channel: 7)?.kind == .fileTransfer)
        #expect(try service(0x112F, channel: 19)?.kind == .phonebookAccess)
        #expect(try service(0x1132, channel: 16)?.kind == .messageAccess)
        #expect(try service(0x1132, channel: 16)?.rfcommChannel == 16)
        #expect(try service(0x1106, channel: nil) == nil)
        #expect(try service(0x1101, channel: 1) == nil, "serial port is not a sync service")
    }

    @Test("a protocol descriptor alternative uses its first stack")
    func protocolAlternative() throws {
        let bytes = E.record([
            (0x0001, E.sequence([E.uuid16(0x1105)])),
            (0x0004, E.alternative([E.obexOverRFCOMM(channel: 4), E.obexOverRFCOMM(channel: 5)])),
        ])
        #expect(try ServiceRecord(bytes: bytes).rfcommChannel == 4)
    }

    @Test("a hostile service name is sanitized and bounded")
    func hostileServiceName() throws {
        let hostile = "\u{1B}]0;pwned\u{7}" + String(repeating: "Z", count: 1000)
        let record = try ServiceRecord(bytes: E.record([(0x0100, E.text(hostile))]))
        let name = try #require(record.name)
        #expect(!name.unicodeScalars.contains { $0.value < 0x20 })
        #expect(name.utf8.count <= 512)
    }

    @Test("a 16-bit-length string is read whole")
    func longTextString() throws {
        let description = String(repeating: "d", count: 300)
        let record = try ServiceRecord(bytes: E.record([(0x0101, E.text(description)), (0x0102, E.uint8(7))]))
        #expect(record.attributes[0x0101] == .text(description))
        #expect(record.attributes[0x0102] == .unsigned(7))
    }

    @Test("channels outside 1–30 are not dialable")
    func channelRange() throws {
        let bytes = E.record([(0x0004, E.obexOverRFCOMM(channel: 0))])
        #expect(try ServiceRecord(bytes: bytes).rfcommChannel == nil)
    }
}

@Suite("Hostile SDP bytes")
struct HostileSDPTests {
    typealias E = SDPEncoding

    @Test("every truncation of a record fails cleanly as truncated")
    func everyTruncation() {
        let bytes = SampleRecords.irmcSync
        for length in 0..<bytes.count {
            #expect(throws: SDPParseError.self) { try ServiceRecord(bytes: bytes.prefix(length)) }
            do {
                _ = try ServiceRecord(bytes: bytes.prefix(length))
            } catch {
                #expect(error.code == .truncated, "at length \(length): \(error)")
            }
        }
    }

    @Test("every truncation of a multi-record response fails cleanly")
    func responseTruncation() {
        let bytes = SampleRecords.attributeLists
        for length in stride(from: 0, to: bytes.count, by: 3) {
            #expect(throws: SDPParseError.self) { try ServiceRecord.records(attributeLists: bytes.prefix(length)) }
        }
    }

    @Test("libbluetooth alone reads a truncated record as a shorter one, which is why bytes are validated first")
    func libbluetoothTruncationIsSilent() {
        let bytes = SampleRecords.irmcSync
        let probe = RawRecordCalls.probe(Array(bytes.prefix(bytes.count - 10)))
        #expect(probe.scanned == bytes.count, "scanned claims the declared length, beyond the buffer")
        #expect(probe.attributes > 0 && probe.attributes < 8, "a partial record, and no error")
    }

    @Test("an element overrunning its sequence is malformed, with its offset")
    func overrun() {
        // The inner sequence claims 10 bytes but its parent only has 4 left.
        let bytes: [UInt8] = [0x35, 0x07] + E.uint16(0x0001) + [0x35, 0x0A, 0x19, 0x11, 0x04]
        #expect(throws: SDPParseError(.malformed, at: 5, "an element of 10 bytes overruns its sequence")) {
            try ServiceRecord(bytes: bytes)
        }
    }

    @Test(
        "invalid headers, non-integer attribute ids, trailing bytes and 32-bit strings are refused",
        arguments: [
            ([0x35, 0x03, 0x09, 0x00, 0x01], SDPParseError.Code.malformed),  // id without value
            ([0x35, 0x04, 0x09, 0x00, 0x01, 0xFF], .malformed),  // 0xFF is no type
            ([0x35, 0x04, 0x08, 0x01, 0x08, 0x05], .malformed),  // uint8 attribute id
            ([0x35, 0x05, 0x09, 0x00, 0x01, 0x1B, 0x00], .malformed),  // UUID with a 8-byte size index
            ([0x35, 0x05, 0x09, 0x00, 0x01, 0x08, 0x05, 0x00], .malformed),  // a byte after the record
            ([0x19, 0x11, 0x04], .malformed),  // not a sequence
            ([0x35, 0x09, 0x09, 0x01, 0x00, 0x27, 0x00, 0x00, 0x00, 0x01, 0x41], .unsupported),  // text32
        ] as [([UInt8], SDPParseError.Code)]
    )
    func refused(bytes: [UInt8], code: SDPParseError.Code) {
        do {
            let record = try ServiceRecord(bytes: bytes)
            Issue.record("parsed \(record)")
        } catch {
            #expect(error.code == code, "\(error)")
        }
    }

    @Test("an attribute id given twice is refused before libbluetooth, which leaks the second's data (found by fuzz-sdp)")
    func repeatedAttribute() {
        let record = E.record([(0x0000, E.uint32(1)), (0x0100, E.text("first")), (0x0100, E.sequence([E.text("second")]))])
        #expect(throws: SDPParseError(.malformed, at: 20, "attribute 0x100 appears twice in the record")) {
            try ServiceRecord(bytes: record)
        }
        #expect(throws: SDPParseError.self) { try ServiceRecord.records(attributeLists: E.sequence([SampleRecords.irmcSync, record])) }
    }

    @Test("sequences nested a thousand deep are refused before libbluetooth recurses into them")
    func deepNesting() {
        var value = E.uint8(1)
        for _ in 0..<1000 { value = E.sequence([value]) }
        do {
            _ = try ServiceRecord(bytes: E.record([(0x0300, value)]))
            Issue.record("parsed")
        } catch {
            #expect(error.code == .tooDeep)
        }
    }

    @Test("ten thousand random mutations of real records parse or fail cleanly, never crash")
    func mutationFuzz() {
        var generator = SplitMix64(seed: 0x5D9_1104)
        let seeds = [SampleRecords.irmcSync, SampleRecords.objectPush, SampleRecords.pnpInformation]
        var parsed = 0
        var refused = 0
        for round in 0..<10_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            if let record = try? ServiceRecord(bytes: bytes) {
                _ = (record.name, record.rfcommChannel, record.profiles, SyncService(record: record))
                parsed += 1
            } else {
                refused += 1
            }
        }
        #expect(parsed > 0 && refused > 0, "the mutations reach both outcomes (\(parsed) parsed, \(refused) refused)")
    }
}

/// A small deterministic generator, so a failing mutation can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("SDP record memory")
struct ServiceRecordMemoryTests {
    typealias E = SDPEncoding

    /// Bytes the C heap holds live now (every arena, and blocks of their own mapping): unlike the resident set,
    /// it falls again when another suite frees what it allocated beside this one.
    static func heapInUseKilobytes() -> Int {
        Int(devsync_heap_in_use()) / 1024
    }

    @Test("records with alternatives are freed whole (libbluetooth alone leaks their children)")
    func alternativesFreed() throws {
        let bytes = E.record([(0x0004, E.alternative([E.obexOverRFCOMM(channel: 4), E.obexOverRFCOMM(channel: 5)]))])
        _ = try ServiceRecord(bytes: bytes)
        // Leaking, each parse loses about 1 KiB: 50 MiB per round, against a bound of 16 MiB. The heap is the
        // whole test process's, and suites of other modules allocate beside this one, so one round can grow by
        // their doing; a leak grows every round, so the smallest growth of three is what is judged.
        var growths: [Int] = []
        for _ in 0..<3 {
            let before = Self.heapInUseKilobytes()
            for _ in 0..<50_000 { _ = try ServiceRecord(bytes: bytes) }
            growths.append(Self.heapInUseKilobytes() - before)
        }
        #expect(growths.min()! < 16 * 1024, "heap growth per round, KiB: \(growths)")
    }
}
