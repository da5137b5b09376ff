// SPDX-License-Identifier: Apache-2.0
import DeviceRegistry
import Logging

/// Finds the sync services a paired device offers; the watcher asks it once a device with a sync UUID arrives.
///
/// A protocol so that the watcher's plumbing can be tested without an adapter, and so that a daemon without
/// Bluetooth in its kernel can turn lookups off.
public protocol SyncServiceLookup: Sendable {
    /// The sync services at `address`, each with its RFCOMM channel; throws when the device cannot be asked.
    func syncServices(at address: BluetoothAddress, logger: Logger) async throws -> [SyncService]
}

/// The real lookup: an SDP query over L2CAP through ``ServiceDiscovery``, bounded by `timeout`.
public struct SDPSyncServiceLookup: SyncServiceLookup {
    /// The bound on one lookup, page included.
    public var timeout: Duration

    /// A lookup bounded by `timeout`.
    public init(timeout: Duration = ServiceDiscovery.defaultTimeout) {
        self.timeout = timeout
    }

    /// Asks the device's SDP server; without an adapter this fails at once as `noAdapter`.
    public func syncServices(at address: BluetoothAddress, logger: Logger) async throws -> [SyncService] {
        try await ServiceDiscovery.syncServices(at: address, timeout: timeout, logger: logger)
    }
}

extension SyncService.Kind {
    /// The property that publishes the kind's RFCOMM channel: `bluetooth.channel.irmc-sync`.
    public var channelKey: String { PropertyKey.bluetoothChannelPrefix + rawValue }
}

extension BluetoothUUID {
    /// Whether a device listing this UUID may offer a sync service worth an SDP lookup.
    var announcesSyncService: Bool { SyncService.Kind(serviceClass: self) != nil }
}
