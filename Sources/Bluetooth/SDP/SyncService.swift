// SPDX-License-Identifier: Apache-2.0
/// A service a sync engine can talk to, found in a device's SDP records, with the RFCOMM channel to dial.
public struct SyncService: Sendable, Hashable {
    /// The sync-relevant services devsync recognises.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A SyncML client (the phone syncs against a server on the computer).
        case syncMLClient = "syncml-client"
        /// IrMC Sync (0x1104): contacts, calendar, notes over OBEX.
        case irmcSync = "irmc-sync"
        /// OBEX Object Push (0x1105): vCards and vCalendars one at a time.
        case objectPush = "obex-object-push"
        /// OBEX File Transfer (0x1106).
        case fileTransfer = "obex-file-transfer"
        /// Phonebook Access, server role (0x112F).
        case phonebookAccess = "pbap-pse"
        /// Message Access, server role (0x1132).
        case messageAccess = "map-mas"

        /// The service class UUID that identifies the kind.
        public var serviceClass: BluetoothUUID {
            switch self {
            case .syncMLClient: .syncMLClient
            case .irmcSync: .irmcSync
            case .objectPush: .obexObjectPush
            case .fileTransfer: .obexFileTransfer
            case .phonebookAccess: .phonebookAccessServer
            case .messageAccess: .messageAccessServer
            }
        }

        /// The kind a service class identifies, if it is a sync service.
        public init?(serviceClass: BluetoothUUID) {
            guard let kind = Self.allCases.first(where: { $0.serviceClass == serviceClass }) else { return nil }
            self = kind
        }
    }

    /// What the service is.
    public var kind: Kind
    /// The RFCOMM channel the engine connects to.
    public var rfcommChannel: UInt8
    /// The service name the device gives, sanitized.
    public var name: String?
    /// The version of the matching profile descriptor, if the record gives one.
    public var profileVersion: UInt16?

    /// A service of `kind` on `rfcommChannel`.
    public init(kind: Kind, rfcommChannel: UInt8, name: String? = nil, profileVersion: UInt16? = nil) {
        self.kind = kind
        self.rfcommChannel = rfcommChannel
        self.name = name
        self.profileVersion = profileVersion
    }

    /// Classifies `record`: the first of its service classes that names a sync service decides the kind.
    /// Nil when the record is no sync service or offers no RFCOMM channel to dial.
    public init?(record: ServiceRecord) {
        guard let kind = record.serviceClasses.lazy.compactMap(Kind.init(serviceClass:)).first,
            let channel = record.rfcommChannel
        else { return nil }
        let version = record.profiles.first { $0.profile == kind.serviceClass }?.version
        self.init(kind: kind, rfcommChannel: channel, name: record.name, profileVersion: version)
    }

    /// The sync services among `records`, in record order.
    public static func services(in records: [ServiceRecord]) -> [SyncService] {
        records.compactMap(SyncService.init(record:))
    }
}
