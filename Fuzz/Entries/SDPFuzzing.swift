// SPDX-License-Identifier: Apache-2.0
import Bluetooth

/// What a Bluetooth peer answers to a ServiceSearchAttribute request, unauthenticated and before pairing: the
/// Swift validator must stop everything libbluetooth's record parser would misread, and every accessor the
/// daemon calls on a record must cope with what got through.
enum SDPFuzzing {
    static func run(_ bytes: [UInt8]) -> String? {
        if let records = try? ServiceRecord.records(attributeLists: bytes) {
            for record in records {
                if let broken = check(record) { return broken }
            }
            _ = SyncService.services(in: records)
        }
        // The same bytes as one record (a record as a device stores it, and as the tests write them).
        if let record = try? ServiceRecord(bytes: bytes) {
            if let broken = check(record) { return broken }
            _ = SyncService.services(in: [record])
        }
        return nil
    }

    static func check(_ record: ServiceRecord) -> String? {
        _ = record.handle
        _ = record.serviceClasses
        _ = record.name
        _ = record.protocolStack
        _ = record.l2capPSM
        _ = record.profiles
        if let channel = record.rfcommChannel, !(1...30).contains(channel) {
            return "RFCOMM channel \(channel) is outside 1...30"
        }
        return nil
    }
}
