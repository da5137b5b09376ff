// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry

/// One SDP service record as a device advertises it: what the service is and how to reach it.
public struct ServiceRecord: Sendable, Hashable {
    /// Well-known attribute ids (Bluetooth Core, Vol 3 Part B, 5.1).
    public enum AttributeID {
        /// ServiceRecordHandle.
        public static let recordHandle: UInt16 = 0x0000
        /// ServiceClassIDList.
        public static let serviceClassIDList: UInt16 = 0x0001
        /// ProtocolDescriptorList.
        public static let protocolDescriptorList: UInt16 = 0x0004
        /// LanguageBaseAttributeIDList.
        public static let languageBaseAttributeIDList: UInt16 = 0x0006
        /// BluetoothProfileDescriptorList.
        public static let profileDescriptorList: UInt16 = 0x0009
        /// ServiceName, as an offset from the language base (0x0100 for the primary language).
        public static let serviceNameOffset: UInt16 = 0x0000
        /// The primary language base every record in the field uses.
        public static let primaryLanguageBase: UInt16 = 0x0100
    }

    /// A profile the service conforms to, and which version.
    public struct ProfileDescriptor: Sendable, Hashable {
        /// The profile's UUID.
        public var profile: BluetoothUUID
        /// The version, major in the high byte (`0x0102` is 1.2).
        public var version: UInt16

        /// A descriptor for `profile` at `version`.
        public init(profile: BluetoothUUID, version: UInt16) {
            self.profile = profile
            self.version = version
        }
    }

    /// Every attribute of the record, by id.
    public var attributes: [UInt16: SDPDataElement]

    /// A record with these attributes.
    public init(attributes: [UInt16: SDPDataElement]) { self.attributes = attributes }

    /// The record handle on the device.
    public var handle: UInt32? {
        attributes[AttributeID.recordHandle]?.integer.flatMap { UInt32(exactly: $0) }
    }

    /// The service classes, most specific first, as the record lists them.
    public var serviceClasses: [BluetoothUUID] {
        attributes[AttributeID.serviceClassIDList]?.elements?.compactMap(\.uuidValue) ?? []
    }

    /// The service name in the primary language, sanitized: a device chooses these bytes.
    public var name: String? {
        // The primary language's base is the third value of the first LanguageBaseAttributeIDList triple.
        let base = attributes[AttributeID.languageBaseAttributeIDList]?.elements?.dropFirst(2).first?.integer
            .flatMap { UInt16(exactly: $0) } ?? AttributeID.primaryLanguageBase
        let (id, overflow) = base.addingReportingOverflow(AttributeID.serviceNameOffset)
        guard !overflow, let text = attributes[id]?.textValue else { return nil }
        // Names are often sent NUL-terminated; drop the terminator rather than publish a replacement character.
        let trimmed = text.hasSuffix("\u{0}") ? String(text.unicodeScalars.dropLast()) : text
        return DeviceText.sanitize(trimmed)
    }

    /// The protocol stack of the primary access path, outermost first: each protocol and its parameters.
    ///
    /// A ProtocolDescriptorList is a sequence of descriptors, or an alternative of such sequences; for an
    /// alternative the first stack is taken.
    public var protocolStack: [(protocol: BluetoothUUID, parameters: [SDPDataElement])] {
        guard var list = attributes[AttributeID.protocolDescriptorList] else { return [] }
        if case .alternative(let stacks) = list, let first = stacks.first { list = first }
        guard case .sequence(let descriptors) = list else { return [] }
        return descriptors.compactMap { descriptor in
            guard case .sequence(let fields) = descriptor, let uuid = fields.first?.uuidValue else { return nil }
            return (uuid, Array(fields.dropFirst()))
        }
    }

    /// The RFCOMM server channel (1–30) the service listens on, if it runs over RFCOMM.
    public var rfcommChannel: UInt8? {
        guard let parameter = protocolStack.first(where: { $0.protocol == .rfcomm })?.parameters.first?.integer,
            (1...30).contains(parameter)
        else { return nil }
        return UInt8(parameter)
    }

    /// The L2CAP PSM, if the record names one (services directly on L2CAP; RFCOMM services usually do not).
    public var l2capPSM: UInt16? {
        protocolStack.first(where: { $0.protocol == .l2cap })?.parameters.first?.integer
            .flatMap { UInt16(exactly: $0) }
    }

    /// The profiles the service conforms to, with their versions.
    public var profiles: [ProfileDescriptor] {
        attributes[AttributeID.profileDescriptorList]?.elements?.compactMap { descriptor in
            guard case .sequence(let fields) = descriptor, fields.count >= 2, let uuid = fields[0].uuidValue,
                let version = fields[1].integer.flatMap({ UInt16(exactly: $0) })
            else { return nil }
            return ProfileDescriptor(profile: uuid, version: version)
        } ?? []
    }
}

extension ServiceRecord {
    /// Parses one service record: a data element sequence of (attribute id, value) pairs, as a device stores
    /// it and `sdp_extract_pdu` reads it. Trailing bytes after the record are an error.
    public init(bytes: some Collection<UInt8>) throws(SDPParseError) {
        let bytes = Array(bytes)
        let (end, count) = try DataElementValidator.validateRecord(bytes, at: 0, limit: bytes.count)
        guard end == bytes.count else {
            throw SDPParseError(.malformed, at: end, "\(bytes.count - end) bytes follow the record")
        }
        self.init(attributes: try CheckedRecordCalls.attributes(of: bytes, in: 0..<end, expectedAttributes: count))
    }

    /// Parses the AttributeLists of a ServiceSearchAttribute response: a data element sequence holding one
    /// record per matching service.
    public static func records(attributeLists bytes: some Collection<UInt8>) throws(SDPParseError) -> [ServiceRecord] {
        let bytes = Array(bytes)
        let outer = try DataElementValidator.header(in: bytes, at: 0, limit: bytes.count)
        guard outer.type == 6 else {
            throw SDPParseError(.malformed, at: 0, "the attribute lists must be a data element sequence")
        }
        guard outer.end == bytes.count else {
            throw SDPParseError(.malformed, at: outer.end, "\(bytes.count - outer.end) bytes follow the attribute lists")
        }
        var records: [ServiceRecord] = []
        var position = outer.payloadStart
        while position < outer.end {
            let (end, count) = try DataElementValidator.validateRecord(bytes, at: position, limit: outer.end)
            let attributes = try CheckedRecordCalls.attributes(of: bytes, in: position..<end, expectedAttributes: count)
            records.append(ServiceRecord(attributes: attributes))
            position = end
        }
        return records
    }
}
