// SPDX-License-Identifier: Apache-2.0
/// What one sync changed, per data type and side, from SyncEvolution's session report (`status.ini`).
public struct SyncSummary: Sendable, Equatable {
    /// Items added, updated and deleted on one side.
    public struct Changes: Sendable, Equatable {
        /// Items created.
        public var added = 0
        /// Items changed.
        public var updated = 0
        /// Items removed.
        public var deleted = 0
        /// Items SyncEvolution could not apply (rejected by the side's datastore).
        public var rejected = 0

        static func + (lhs: Changes, rhs: Changes) -> Changes {
            Changes(added: lhs.added + rhs.added, updated: lhs.updated + rhs.updated, deleted: lhs.deleted + rhs.deleted,
                    rejected: lhs.rejected + rhs.rejected)
        }

        /// Counts of each kind of change.
        public init(added: Int = 0, updated: Int = 0, deleted: Int = 0, rejected: Int = 0) {
            self.added = added
            self.updated = updated
            self.deleted = deleted
            self.rejected = rejected
        }
    }

    /// One datastore's result.
    public struct Datastore: Sendable, Equatable {
        /// SyncEvolution's datastore: `addressbook`, `calendar+todo` …
        public var name: String
        /// The data types it carried.
        public var dataTypes: [SyncDataType]
        /// How it was synced, as SyncEvolution says: `slow`, `two-way` …
        public var mode: String
        /// Changes made on this computer (the `@devsync` datastores).
        public var local: Changes
        /// Changes made on the phone.
        public var phone: Changes
    }

    /// One entry per datastore synced, in data type order.
    public var datastores: [Datastore]
    /// SyncEvolution's session directory (its log and the before/after backups), if found.
    public var sessionDirectory: String?

    /// One line for the user: "Synced contacts with Nokia E61i: here 2 added, 1 updated; on the phone 1 deleted."
    public func sentence(deviceName: String) -> String {
        let types = datastores.flatMap(\.dataTypes).map(\.rawValue)
        let what = types.count <= 1 ? types.joined() : types.dropLast().joined(separator: ", ") + " and " + types.last!
        let here = Self.describe(datastores.reduce(Changes()) { $0 + $1.local })
        let phone = Self.describe(datastores.reduce(Changes()) { $0 + $1.phone })
        let changes = [here.map { "here \($0)" }, phone.map { "on the phone \($0)" }].compactMap { $0 }
        let slow = datastores.contains { $0.mode == "slow" } ? " (a first, full comparison)" : ""
        return "Synced \(what) with \(deviceName)\(slow): " + (changes.isEmpty ? "nothing had changed." : changes.joined(separator: "; ") + ".")
    }

    static func describe(_ changes: Changes) -> String? {
        let parts = [(changes.added, "added"), (changes.updated, "updated"), (changes.deleted, "deleted"), (changes.rejected, "rejected")]
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// The datastore that carried `type`.
    public func datastore(for type: SyncDataType) -> Datastore? {
        datastores.first { $0.dataTypes.contains(type) }
    }
}

/// SyncEvolution's `status.ini`: `key = value` lines, per datastore `source-<name>-<field>`, the name as it is
/// (`source-calendar+todo-mode`, checked with SyncEvolution 2.0).
struct SessionStatus {
    var values: [String: String] = [:]

    init(text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: " \t")
            let value = line[line.index(after: equals)...].trimmingCharacters(in: " \t")
            values[key] = value
        }
    }

    /// The session's overall status: 200 or 0 for success, a SyncML or SyncEvolution code otherwise.
    var status: Int? { values["status"].flatMap { Int($0) } }

    func int(_ datastore: String, _ field: String) -> Int {
        values["source-\(datastore)-\(field)"].flatMap { Int($0) } ?? 0
    }

    func mode(_ datastore: String) -> String? { values["source-\(datastore)-mode"] }

    func changes(_ datastore: String, side: String) -> SyncSummary.Changes {
        SyncSummary.Changes(
            added: int(datastore, "stat-\(side)-added-total"),
            updated: int(datastore, "stat-\(side)-updated-total"),
            deleted: int(datastore, "stat-\(side)-removed-total"),
            rejected: rejected(datastore, side: side))
    }

    /// Rejections are counted per item state (`stat-local-added-reject`, `…-any-reject` …): their sum.
    func rejected(_ datastore: String, side: String) -> Int {
        let prefix = "source-\(datastore)-stat-\(side)-"
        return values.filter { $0.key.hasPrefix(prefix) && $0.key.hasSuffix("-reject") }.compactMap { Int($0.value) }.reduce(0, +)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
