// SPDX-License-Identifier: Apache-2.0
import Logging
import SyncEngine
import SyncEvolution

/// Syncs contacts, calendar, to-dos and notes with a SyncML phone (plugin `syncml-obex-client`) through
/// SyncEvolution: over OBEX on Bluetooth, at the device's `bluetooth.address` and, when SDP found it, the RFCOMM
/// channel of its SyncML client record (`bluetooth.channel.syncml-client`); one SyncEvolution configuration per
/// phone (docs/syncevolution.md).
public struct SyncMLWork: SyncWork {
    public let name = "syncml"
    public let plugins = ["syncml-obex-client"]
    /// `contacts`, `calendar`, `todo`, `notes`: SyncEvolution's four datastores.
    public let datatypes = SyncDataType.allCases.map(\.rawValue)

    let command: SyncEvolutionCommand
    /// Where this computer's side of the data is kept.
    let store: LocalStore
    /// Test-only: the SyncEvolution context every phone is reached as (`local://@CONTEXT`), instead of Bluetooth.
    let testContext: String?

    /// The SyncML work with `command` (the process's environment, a 30-minute bound by default), keeping the
    /// computer's data in `store`; `testContext` makes every phone the local context of that name.
    public init(command: SyncEvolutionCommand, store: LocalStore = .syncEvolutionDefault, testContext: String? = nil) {
        self.command = command
        self.store = store
        self.testContext = testContext
    }

    /// The SyncML work as devsync-engine runs it: SyncEvolution with the process's environment, keeping the
    /// computer's data in SyncEvolution's default datastores, or as files below `storeDirectory`.
    public init(logger: Logger, storeDirectory: String? = nil, testContext: String? = nil) {
        self.init(
            command: SyncEvolutionCommand(logger: logger),
            store: storeDirectory.map { .files(directory: $0) } ?? .syncEvolutionDefault, testContext: testContext)
    }

    /// Who made the phone and which it is, as the broker's `Vendor` and `Model` are: from its profile
    /// (`sync.vendor`, `sync.model`), else from the device (`info.vendor`, `info.product`: BlueZ's name for a
    /// Bluetooth phone, "Nokia 6021").
    static func vendorAndModel(_ request: SyncRequest) -> (vendor: String, model: String) {
        let vendor = request.string("sync.vendor") ?? request.string("info.vendor") ?? ""
        let model = request.string("sync.model") ?? request.string("info.product") ?? ""
        return (vendor, model)
    }

    /// The phone's name in sentences: vendor and model ("Nokia 6021", not "Nokia Nokia 6021"), else its uid.
    static func displayName(_ request: SyncRequest) -> String {
        let (vendor, model) = vendorAndModel(request)
        let name = model.lowercased().hasPrefix(vendor.lowercased()) ? model : "\(vendor) \(model)"
        let trimmed = name.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        return trimmed.isEmpty ? request.uid : trimmed
    }

    /// The phone as SyncEvolution reaches it.
    func device(for request: SyncRequest) throws(SyncFailure) -> SyncEvolutionDevice {
        let (vendor, model) = Self.vendorAndModel(request)
        if let testContext {
            return SyncEvolutionDevice(vendor: vendor, model: model, peer: .localContext(testContext))
        }
        guard let address = request.string("bluetooth.address"), !address.isEmpty else {
            throw SyncFailure(
                "\(Self.displayName(request)) has no Bluetooth address; SyncEvolution reaches SyncML phones over Bluetooth only.")
        }
        return SyncEvolutionDevice(
            vendor: vendor, model: model, bluetoothAddress: address, channel: request.integer("bluetooth.channel.syncml-client"))
    }

    public func run(_ request: SyncRequest, progress: JobProgress) async throws -> String {
        let device = try device(for: request)
        let types = request.datatypes.compactMap(SyncDataType.init(devsyncName:))
        let name = Self.displayName(request)
        await progress(0, "Connecting to \(name)")
        // SyncEvolution reports from its child's queue, synchronously; the steps reach the broker in order through
        // one task.
        let (steps, sink) = AsyncStream.makeStream(of: (Double, String).self)
        let reporter = Task { for await (fraction, step) in steps { await progress(fraction, step) } }
        defer { sink.finish() }
        let summary: SyncSummary
        do throws(SyncEvolutionError) {
            let config = try await command.configuration(for: device, store: store)
            summary = try await config.run(dataTypes: types) { sink.yield(($0, $1)) }
        } catch {
            sink.finish()
            await reporter.value
            if error.code == .cancelled || Task.isCancelled { throw CancellationError() }
            throw SyncFailure(error.message)
        }
        sink.finish()
        await reporter.value
        return summary.sentence(deviceName: name)
    }
}
