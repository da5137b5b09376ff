// SPDX-License-Identifier: Apache-2.0
import DBus

/// A kind of work the engine runs for the broker: importing photos, syncing contacts with a SyncML phone.
///
/// Each one is registered with the broker as an `org.devsync.Engine1` object of its own
/// (`/org/devsync/Engine/<name>`), for its plugins and data types; the engine routes the broker's `Sync` and
/// `Cancel` calls to it, runs one job per call in a task of its own and reports for it. A new kind of work is one
/// type conforming to this protocol, added to the list `devsync-engine` starts with.
public protocol SyncWork: Sendable {
    /// A short lower-case name: the engine object's last path element and the logs' `work=` field.
    var name: String { get }
    /// The devices' plugins it serves (`ptp`, `mtp`, `syncml-obex-client` …).
    var plugins: [String] { get }
    /// The data types it syncs (`photos`, `contacts` …); the broker passes a job only those of them the action
    /// names.
    var datatypes: [String] { get }

    /// Runs one job and returns a summary line for the user ("Imported 3 new photos into …").
    ///
    /// Report progress through `progress` as the work goes. Throw a ``SyncFailure`` whose sentence tells the user
    /// what went wrong and what to do. When the task is cancelled, stop soon (`Task.isCancelled`, or a
    /// cancellation handler that interrupts a blocking call), keep what was done, and throw `CancellationError`.
    func run(_ request: SyncRequest, progress: JobProgress) async throws -> String
}

/// A job the broker asked for: which device, with which properties, and which data types.
public struct SyncRequest: Sendable {
    /// The broker's job path, which the engine's signals name.
    public var job: DBusObjectPath
    /// The device's uid.
    public var uid: String
    /// The data types to sync, already narrowed by the broker to those the work offered.
    public var datatypes: [String]
    /// The device's properties as the broker passed them (`usb.*`, `sync.*`, `bluetooth.*`, `Uid`, `Owner`).
    public var device: [String: DBusValue]

    /// Describes a job.
    public init(job: DBusObjectPath, uid: String, datatypes: [String], device: [String: DBusValue]) {
        self.job = job
        self.uid = uid
        self.datatypes = datatypes
        self.device = device
    }

    /// A text property of the device.
    public func string(_ key: String) -> String? { device[key]?.unwrapped.string }

    /// A numeric property of the device.
    public func integer(_ key: String) -> Int? {
        switch device[key]?.unwrapped {
        case .int32(let value)?: Int(value)
        case .uint32(let value)?: Int(value)
        case .int64(let value)?: Int(value)
        case .uint64(let value)?: Int(exactly: value)
        case .int16(let value)?: Int(value)
        case .uint16(let value)?: Int(value)
        case .byte(let value)?: Int(value)
        default: nil
        }
    }

    /// The device's name for people: its profile's vendor and model, else udev's (the hwdb's names, else the
    /// device's own strings), as the broker names it; else the uid. Most cameras and phones are named by no
    /// profile since the profiles stopped copying the databases' id lists.
    public var displayName: String {
        let vendor = [string("sync.vendor"), string("info.vendor")].compactMap { $0 }.first { !$0.isEmpty }
        let model = [string("sync.model"), string("info.product")].compactMap { $0 }.first { !$0.isEmpty }
        let name = [vendor, model].compactMap { $0 }.joined(separator: " ")
        return name.isEmpty ? uid : name
    }
}

/// How a job reports its progress: a fraction from 0 to 1 and a line for the user.
public struct JobProgress: Sendable {
    private let report: @Sendable (Double, String) async -> Void

    /// Progress that calls `report` (the engine sends it to the broker as `Progress`).
    public init(_ report: @escaping @Sendable (Double, String) async -> Void) {
        self.report = report
    }

    /// Reports `fraction` (clamped to 0…1) and `message`.
    public func callAsFunction(_ fraction: Double, _ message: String) async {
        await report(min(max(fraction.isFinite ? fraction : 0, 0), 1), message)
    }
}

/// A job that failed, with the sentence the user sees (`devsyncctl sync` prints it).
public struct SyncFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong and, where it helps, what to do about it.
    public var sentence: String

    /// A failure with its sentence.
    public init(_ sentence: String) { self.sentence = sentence }

    public var description: String { sentence }
}
