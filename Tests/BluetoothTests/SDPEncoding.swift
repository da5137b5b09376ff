// SPDX-License-Identifier: Apache-2.0
/// Encodes SDP data elements by hand, per Bluetooth Core Vol 3 Part B 3.2–3.3: a header byte of type (5 bits)
/// and size index (3 bits), then for strings and sequences an 8- or 16-bit length, then the data, big-endian.
/// The tests build real-shaped records with it instead of copying captured blobs.
enum SDPEncoding {
    static func header(type: UInt8, sizeIndex: UInt8) -> UInt8 { type << 3 | sizeIndex }

    static func uint8(_ value: UInt8) -> [UInt8] { [header(type: 1, sizeIndex: 0), value] }
    static func uint16(_ value: UInt16) -> [UInt8] { [header(type: 1, sizeIndex: 1)] + bigEndian(UInt64(value), 2) }
    static func uint32(_ value: UInt32) -> [UInt8] { [header(type: 1, sizeIndex: 2)] + bigEndian(UInt64(value), 4) }
    static func int16(_ value: Int16) -> [UInt8] {
        [header(type: 2, sizeIndex: 1)] + bigEndian(UInt64(UInt16(bitPattern: value)), 2)
    }
    static func bool(_ value: Bool) -> [UInt8] { [header(type: 5, sizeIndex: 0), value ? 1 : 0] }
    static func uuid16(_ value: UInt16) -> [UInt8] { [header(type: 3, sizeIndex: 1)] + bigEndian(UInt64(value), 2) }
    static func uuid32(_ value: UInt32) -> [UInt8] { [header(type: 3, sizeIndex: 2)] + bigEndian(UInt64(value), 4) }
    static func uuid128(_ high: UInt64, _ low: UInt64) -> [UInt8] {
        [header(type: 3, sizeIndex: 4)] + bigEndian(high, 8) + bigEndian(low, 8)
    }

    static func text(_ value: String) -> [UInt8] { sized(type: 4, Array(value.utf8)) }
    static func text(bytes: [UInt8]) -> [UInt8] { sized(type: 4, bytes) }
    static func url(_ value: String) -> [UInt8] { sized(type: 8, Array(value.utf8)) }
    static func sequence(_ elements: [[UInt8]]) -> [UInt8] { sized(type: 6, elements.flatMap { $0 }) }
    static func alternative(_ elements: [[UInt8]]) -> [UInt8] { sized(type: 7, elements.flatMap { $0 }) }

    /// A service record: a sequence of (uint16 attribute id, value) pairs in ascending id order.
    static func record(_ attributes: [(UInt16, [UInt8])]) -> [UInt8] {
        sequence(attributes.sorted { $0.0 < $1.0 }.map { uint16($0.0) + $0.1 })
    }

    /// The ProtocolDescriptorList of an OBEX service on `channel`: L2CAP, RFCOMM(channel), OBEX.
    static func obexOverRFCOMM(channel: UInt8) -> [UInt8] {
        sequence([sequence([uuid16(0x0100)]), sequence([uuid16(0x0003), uint8(channel)]), sequence([uuid16(0x0008)])])
    }

    /// English, UTF-8 (MIBenum 106), attributes at base 0x0100.
    static let languageBase = sequence([uint16(0x656E), uint16(0x006A), uint16(0x0100)])

    private static func sized(type: UInt8, _ body: [UInt8]) -> [UInt8] {
        if body.count < 0x100 { return [header(type: type, sizeIndex: 5), UInt8(body.count)] + body }
        return [header(type: type, sizeIndex: 6)] + bigEndian(UInt64(body.count), 2) + body
    }

    private static func bigEndian(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
}

/// Real-shaped records of sync-capable phones and PDAs.
enum SampleRecords {
    typealias E = SDPEncoding

    /// A Nokia-style IrMC Sync server on RFCOMM channel 11, name NUL-terminated as phones send it.
    static let irmcSync = E.record([
        (0x0000, E.uint32(0x0001_0001)),
        (0x0001, E.sequence([E.uuid16(0x1104)])),
        (0x0004, E.obexOverRFCOMM(channel: 11)),
        (0x0005, E.sequence([E.uuid16(0x1002)])),
        (0x0006, E.languageBase),
        (0x0009, E.sequence([E.sequence([E.uuid16(0x1104), E.uint16(0x0100)])])),
        (0x0100, E.text(bytes: Array("IrMC Synchronization".utf8) + [0])),
        (0x0301, E.sequence([E.uint8(0x01), E.uint8(0x03), E.uint8(0x05)])),
    ])

    /// A SyncML client on RFCOMM channel 10, identified by the SyncML vendor UUID.
    static let syncMLClient = E.record([
        (0x0000, E.uint32(0x0001_0002)),
        (0x0001, E.sequence([E.uuid128(0x0000_0002_0000_1000, 0x8000_0002_EE00_0002)])),
        (0x0004, E.obexOverRFCOMM(channel: 10)),
        (0x0005, E.sequence([E.uuid16(0x1002)])),
        (0x0009, E.sequence([E.sequence([E.uuid128(0x0000_0002_0000_1000, 0x8000_0002_EE00_0002), E.uint16(0x0100)])])),
        (0x0100, E.text("SyncMLClient")),
    ])

    /// OBEX Object Push on RFCOMM channel 9, profile 1.2, with its supported formats list.
    static let objectPush = E.record([
        (0x0000, E.uint32(0x0001_0003)),
        (0x0001, E.sequence([E.uuid16(0x1105)])),
        (0x0004, E.obexOverRFCOMM(channel: 9)),
        (0x0005, E.sequence([E.uuid16(0x1002)])),
        (0x0006, E.languageBase),
        (0x0009, E.sequence([E.sequence([E.uuid16(0x1105), E.uint16(0x0102)])])),
        (0x0100, E.text("OBEX Object Push")),
        (0x0303, E.sequence([E.uint8(0x01), E.uint8(0x02), E.uint8(0x03), E.uint8(0xFF)])),
    ])

    /// A hands-free audio gateway on channel 3: a phone service that is not a sync service.
    static let handsFreeGateway = E.record([
        (0x0000, E.uint32(0x0001_0004)),
        (0x0001, E.sequence([E.uuid16(0x111F), E.uuid16(0x1203)])),
        (0x0004, E.sequence([E.sequence([E.uuid16(0x0100)]), E.sequence([E.uuid16(0x0003), E.uint8(3)])])),
        (0x0009, E.sequence([E.sequence([E.uuid16(0x111E), E.uint16(0x0107)])])),
        (0x0100, E.text("Voice Gateway")),
        (0x0311, E.uint16(0x0001)),
    ])

    /// The Device ID (PnP Information) record: straight on L2CAP PSM 1, no RFCOMM.
    static let pnpInformation = E.record([
        (0x0000, E.uint32(0x0001_0005)),
        (0x0001, E.sequence([E.uuid32(0x0000_1200)])),
        (0x0004, E.sequence([E.sequence([E.uuid16(0x0100), E.uint16(0x0001)]), E.sequence([E.uuid16(0x0001)])])),
        (0x0200, E.uint16(0x0103)),
        (0x0201, E.uint16(0x0001)),
        (0x0202, E.uint16(0x0042)),
        (0x0203, E.uint16(0x0100)),
        (0x0204, E.bool(true)),
        (0x0205, E.uint16(0x0001)),
    ])

    /// A ServiceSearchAttribute response's AttributeLists holding every record above.
    static let attributeLists = E.sequence([irmcSync, syncMLClient, objectPush, handsFreeGateway, pnpInformation])
}
