// SPDX-License-Identifier: Apache-2.0
import Logging

/// Asks a device's SDP server which services it offers, without ever blocking a thread or an event loop.
///
/// Each lookup runs on its own serial queue with a non-blocking socket (see `docs/bluetooth.md`) and is bounded by
/// `timeout`; it ends with the device's records or a typed ``SDPLookupError``.
public enum ServiceDiscovery {
    /// The default bound: a page can take 5 s, a slow phone a few more to answer.
    public static let defaultTimeout: Duration = .seconds(15)

    /// Every service record `address` offers.
    public static func records(
        at address: BluetoothAddress, timeout: Duration = defaultTimeout, logger: Logger
    ) async throws(SDPLookupError) -> [ServiceRecord] {
        logger.debug("SDP lookup started", metadata: ["address": "\(address)"])
        return try await records(from: .device(address), timeout: timeout, logger: logger)
    }

    /// The sync services `address` offers, each with the RFCOMM channel to dial.
    public static func syncServices(
        at address: BluetoothAddress, timeout: Duration = defaultTimeout, logger: Logger
    ) async throws(SDPLookupError) -> [SyncService] {
        SyncService.services(in: try await records(at: address, timeout: timeout, logger: logger))
    }

    /// Speaks SDP over an already connected socket, which the lookup takes over and closes.
    static func records(
        overConnectedSocket socket: Int32, address: BluetoothAddress, timeout: Duration, logger: Logger
    ) async throws(SDPLookupError) -> [ServiceRecord] {
        try await records(from: .connectedSocket(socket, address: address), timeout: timeout, logger: logger)
    }

    private static func records(
        from endpoint: SDPTransaction.Endpoint, timeout: Duration, logger: Logger
    ) async throws(SDPLookupError) -> [ServiceRecord] {
        let bytes = try await SDPTransaction(endpoint: endpoint, timeout: timeout, logger: logger).run().get()
        do {
            return try ServiceRecord.records(attributeLists: bytes)
        } catch {
            throw SDPLookupError(
                .protocolError, address: endpoint.address, reason: "the device sent malformed records: \(error)"
            )
        }
    }
}
